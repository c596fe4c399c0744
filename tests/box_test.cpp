// box: every dtype x channels x border x awkward size (odd and even K) against
// an exact float64 reference, padded strides, huge windows, errors, and
// OpenCV golden data.
#include "tandem/ops/box.hpp"

#include <gtest/gtest.h>

#include "tests/filters_support.hpp"
#include "tests/support/simd_targets.hpp"
#include "tests/support/test_support.hpp"

namespace tandem {
namespace {

using namespace test::filters;

// Window sums (exact in double for integer images) divided once by K^2;
// the window of x is x - K/2 .. x - K/2 + K - 1.
std::vector<double> ref_box(const View& img, int k, const std::string& border, double value) {
  auto sums = correlate(img, std::vector<double>(std::size_t(k) * k, 1.0), k, k, k / 2, k / 2, border, value);
  for (double& s : sums) s /= double(k) * k;
  return sums;
}

class BoxTest : public test::DeviceTest {};

// Integer results are exact on both devices (integer or double sums, one division).
void check(test::DeviceRunner& runner, const Combo& c, std::int64_t h, std::int64_t w, int k,
           const std::string& border, std::uint64_t seed) {
  check_against_ref(
      runner, "box", {{"size", std::to_string(k)}}, c, h, w, border, seed, 0,
      [&](const View& img, const std::string& b, double value) { return ref_box(img, k, b, value); },
      "K " + std::to_string(k));
}

TEST_P(BoxTest, MatchesReferenceOnAwkwardSizes) {
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    for_each_awkward_case(std::vector<int>{1, 2, 3, 6, 9},
                          [&](const Combo& c, const std::string& border, std::int64_t h, std::int64_t w, int k,
                              std::uint64_t seed) { check(runner, c, h, w, k, border, seed); });
  });
}

TEST_P(BoxTest, HugeWindows) {
  // Windows far larger than the image; u16 with K > 181 sums in 64 bits (CPU)
  // or double (GPU); beyond the fused tile the GPU takes the direct path.
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    check(runner, {DType::u8, 3}, 37, 53, 64, "reflect101", 40);
    check(runner, {DType::u16, 1}, 37, 53, 201, "replicate", 41);
    check(runner, {DType::u16, 3}, 19, 23, 182, "constant", 42);
    check(runner, {DType::f32, 1}, 29, 31, 250, "reflect101", 43);
    check(runner, {DType::u8, 1}, 5, 400, 301, "reflect101", 44);
  });
}

TEST_P(BoxTest, LargeImages) {
  test::DeviceRunner runner(GetParam());
  check(runner, {DType::u8, 4}, 1031, 777, 5, "reflect101", 50);
  check(runner, {DType::f32, 1}, 1031, 777, 4, "constant", 51);
}

TEST_P(BoxTest, PaddedRowStrides) {
  test::for_each_simd_target_on(GetParam(), [&] {
    BoxParams p;
    p.size = 4;
    p.border = Border::reflect101;
    check_padded_strides(
        GetParam(), 60, 0, [&](const View& s, const View& d, const Exec& e) { return box(s, d, p, e); },
        [](const View& img) { return ref_box(img, 4, "reflect101", 0); });
  });
}

TEST_P(BoxTest, ThreadCountsAndColumnBlocks) {
  test::for_each_simd_target_on(GetParam(), [&] {
    const Tensor img = test::random_image(DType::u16, 61, 4200, 3, 70);
    const auto ref = ref_box(img.view(), 7, "replicate", 0);
    test::DeviceRunner runner(GetParam());
    BoxParams p;
    p.size = 7;
    p.border = Border::replicate;
    check_thread_counts(runner, img.view(), ref, 0,
                        [&](const View& in, Tensor& out, const Exec& exec) { return box(in, out, p, exec); });
  });
}

TEST_P(BoxTest, MatchesOpenCV) { check_golden("box", GetParam()); }

TEST_P(BoxTest, RejectsBadInputsAndParameters) {
  test::DeviceRunner runner(GetParam());
  const Exec& exec = runner.exec();
  const auto status = [&](const Tensor& host, const BoxParams& p) {
    Tensor in = runner.upload(host.view());
    Tensor out;
    return box(in.view(), out, p, exec);
  };
  const auto expect = [](const Status& s, Errc code, const char* needle) { expect_refusal(s, code, "box", needle); };
  const Tensor u8 = test::random_image(DType::u8, 8, 9, 1, 3);
  BoxParams ok;
  expect(status(test::random_image(DType::f64, 8, 9, 1, 3), ok), Errc::unsupported, "f64");
  expect(status(test::random_image(DType::u8, 8, 9, 2, 3), ok), Errc::unsupported, "u8 8x9x2");
  BoxParams p;
  p.size = 0;
  expect(status(u8, p), Errc::invalid_argument, "size");
  p.size = kBoxMaxSize + 1;
  expect(status(u8, p), Errc::invalid_argument, "size");
  p = {};
  p.border = static_cast<Border>(7);
  expect(status(u8, p), Errc::invalid_argument, "border");

  Tensor in = runner.upload(u8.view());
  Tensor wrong;
  ASSERT_TRUE(Tensor::create(DType::u16, {8, 9}, exec.device, wrong).ok());
  expect(box(in.view(), wrong.view(), ok, exec), Errc::invalid_argument, "output");
  // Overlapping rows (dst one row below src in the same buffer) are refused too.
  View shifted = in.view();
  shifted.shape[0] = 7;
  View below = shifted;
  below.data = static_cast<char*>(below.data) + below.row_stride();
  expect(box(shifted, below, ok, exec), Errc::invalid_argument, "overlap");
  const OpSpec* spec = find_op("box");
  ASSERT_NE(spec, nullptr);
  OpArgs args;
  EXPECT_FALSE(parse_args(*spec, {{"size", "0"}}, args).ok());
  EXPECT_FALSE(parse_args(*spec, {{"size", "3"}, {"radius", "1"}}, args).ok());
}

INSTANTIATE_TEST_SUITE_P(Devices, BoxTest, ::testing::ValuesIn(test::test_devices()), test::device_name);

}  // namespace
}  // namespace tandem
