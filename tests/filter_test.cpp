// filter: every dtype x channels x border x awkward size x kernel shape
// against a float64 reference, padded strides, large kernels, zero taps,
// the CPU's vectorised rounding helpers, errors, and OpenCV golden data.
#include "tandem/ops/filter.hpp"

#include <gtest/gtest.h>

#include <climits>
#include <cmath>
#include <random>
#include <sstream>

#include "host/ops/neighbourhood.hpp"
#include "kernels/box.cuh"
#include "tests/filters_support.hpp"
#include "tests/support/simd_targets.hpp"
#include "tests/support/test_support.hpp"

namespace tandem {
namespace {

using namespace test::filters;

Matrix random_kernel(int rows, int cols, std::uint64_t seed, double lo = -1, double hi = 1) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> d(lo, hi);
  Matrix m{rows, cols, {}};
  for (int i = 0; i < rows * cols; ++i) m.values.push_back(d(rng));
  return m;
}

std::string matrix_text(const Matrix& m) {
  std::ostringstream os;
  os.precision(17);
  for (int i = 0; i < m.rows; ++i)
    for (int j = 0; j < m.cols; ++j) os << (j ? "," : i ? ";" : "") << m.values[std::size_t(i * m.cols + j)];
  return os.str();
}

std::vector<double> ref_filter(const View& img, const Matrix& k, const std::string& border, double value) {
  // The op uses the weights as float; so does the reference.
  std::vector<double> w;
  for (double v : k.values) w.push_back(double(float(v)));
  return correlate(img, w, k.rows, k.cols, k.rows / 2, k.cols / 2, border, value);
}

class FilterTest : public test::DeviceTest {};

void check(test::DeviceRunner& runner, const Combo& c, std::int64_t h, std::int64_t w, const Matrix& k,
           const std::string& border, std::uint64_t seed) {
  check_against_ref(
      runner, "filter", {{"kernel", matrix_text(k)}}, c, h, w, border, seed, 1,
      [&](const View& img, const std::string& b, double value) { return ref_filter(img, k, b, value); },
      "kernel " + std::to_string(k.rows) + "x" + std::to_string(k.cols));
}

TEST_P(FilterTest, MatchesReferenceOnAwkwardSizes) {
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    // Signed weights (results saturate), one smoothing kernel (they stay in range).
    const Matrix kernels[] = {random_kernel(1, 1, 1), random_kernel(3, 3, 2), random_kernel(1, 5, 3),
                              random_kernel(7, 3, 4), random_kernel(5, 9, 5, 0, 0.05)};
    for_each_awkward_case(kernels, [&](const Combo& c, const std::string& border, std::int64_t h, std::int64_t w,
                                       const Matrix& k, std::uint64_t seed) { check(runner, c, h, w, k, border, seed); });
  });
}

TEST_P(FilterTest, LargeKernels) {
  // 63x63 needs more than 48 KB of shared memory per GPU block; 3x801 and
  // 9x455 (4095 taps, the most but one) go to the direct GPU kernel.
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    check(runner, {DType::u8, 1}, 37, 53, random_kernel(63, 63, 10, 0, 0.0005), "reflect101", 20);
    check(runner, {DType::u16, 3}, 11, 29, random_kernel(3, 801, 11, 0, 0.002), "replicate", 21);
    check(runner, {DType::f32, 1}, 7, 9, random_kernel(9, 455, 12), "constant", 22);
    check(runner, {DType::u8, 4}, 17, 19, random_kernel(31, 31, 13, -0.001, 0.003), "constant", 23);
  });
}

TEST_P(FilterTest, LargeImages) {
  test::DeviceRunner runner(GetParam());
  check(runner, {DType::u8, 3}, 1031, 777, random_kernel(3, 5, 30, -0.3, 0.6), "reflect101", 31);
  check(runner, {DType::u16, 1}, 1031, 777, random_kernel(5, 5, 32, -0.1, 0.2), "constant", 33);
}

TEST_P(FilterTest, ZeroTapsAreSkipped) {
  // As OpenCV's filter engine: a NaN only spreads through non-zero weights.
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    Tensor img = test::random_image(DType::f32, 9, 11, 1, 40);
    img.view().row<float>(4)[5] = std::nanf("");
    const Tensor got = runner.run("filter", {{"kernel", "0,0,0;0,2,0;0,0,0"}}, img.view());
    for (int y = 0; y < 9; ++y)
      for (int x = 0; x < 11; ++x) {
        const float g = got.view().row<float>(y)[x];
        if (y == 4 && x == 5) {
          EXPECT_TRUE(std::isnan(g));
        } else {
          EXPECT_EQ(g, 2 * img.view().row<float>(y)[x]) << y << "," << x;
        }
      }
    const Tensor zero = runner.run("filter", {{"kernel", "0,0,0"}}, img.view());
    for (std::int64_t i = 0; i < zero.view().numel(); ++i) EXPECT_EQ(test::at(zero.view(), i), 0.0);
  });
}

TEST_P(FilterTest, PaddedRowStrides) {
  test::for_each_simd_target_on(GetParam(), [&] {
    const Matrix k = random_kernel(3, 5, 50);
    FilterParams p;
    p.kernel = k;
    p.border = Border::constant;
    p.value = 3;
    check_padded_strides(
        GetParam(), 51, 1, [&](const View& s, const View& d, const Exec& e) { return filter(s, d, p, e); },
        [&](const View& img) { return ref_filter(img, k, "constant", 3); });
  });
}

TEST_P(FilterTest, ThreadCountsAndColumnBlocks) {
  test::for_each_simd_target_on(GetParam(), [&] {
    const Tensor img = test::random_image(DType::u8, 47, 2100, 4, 60);
    const Matrix k = random_kernel(5, 3, 61);
    const auto ref = ref_filter(img.view(), k, "reflect101", 0);
    test::DeviceRunner runner(GetParam());
    FilterParams p;
    p.kernel = k;
    check_thread_counts(runner, img.view(), ref, 1,
                        [&](const View& in, Tensor& out, const Exec& exec) { return filter(in, out, p, exec); });
  });
}

TEST_P(FilterTest, MatchesOpenCV) { check_golden("filter", GetParam()); }

TEST_P(FilterTest, RejectsBadInputsAndParameters) {
  test::DeviceRunner runner(GetParam());
  const Exec& exec = runner.exec();
  const Tensor u8 = test::random_image(DType::u8, 8, 9, 1, 3);
  Tensor in = runner.upload(u8.view());
  const auto run = [&](const Matrix& k) {
    FilterParams p;
    p.kernel = k;
    Tensor out;
    return filter(in.view(), out, p, exec);
  };
  const auto expect = [](const Status& s, Errc code, const char* needle) { expect_refusal(s, code, "filter", needle); };
  expect(run(Matrix{2, 3, std::vector<double>(6, 1.0)}), Errc::invalid_argument, "odd");
  expect(run(Matrix{3, 4, std::vector<double>(12, 1.0)}), Errc::invalid_argument, "odd");
  expect(run(Matrix{0, 0, {}}), Errc::invalid_argument, "odd");
  expect(run(Matrix{3, 3, std::vector<double>(8, 1.0)}), Errc::invalid_argument, "values");
  expect(run(Matrix{65, 65, std::vector<double>(65 * 65, 1.0)}), Errc::invalid_argument, "maximum");
  expect(run(Matrix{1, 3, {1, 1e40, 1}}), Errc::invalid_argument, "finite");
  {
    Tensor img = runner.upload(test::random_image(DType::i64, 8, 9, 1, 3).view());
    FilterParams p;
    p.kernel = Matrix{1, 1, {1}};
    Tensor out;
    expect(filter(img.view(), out, p, exec), Errc::unsupported, "i64");
  }
  const OpSpec* spec = find_op("filter");
  ASSERT_NE(spec, nullptr);
  OpArgs args;
  EXPECT_FALSE(parse_args(*spec, {}, args).ok());                                // kernel is required
  EXPECT_FALSE(parse_args(*spec, {{"kernel", "1,2;3"}}, args).ok());             // ragged rows
  // Well-formed but 2 rows: refused when parsed, before any image is read.
  expect(parse_args(*spec, {{"kernel", "1,2,3;4,5,6"}}, args), Errc::invalid_argument, "odd");
}

INSTANTIATE_TEST_SUITE_P(Devices, FilterTest, ::testing::ValuesIn(test::test_devices()), test::device_name);

// The CPU stores results with vectorisable rounding; they must equal
// kern::saturate / kern::box_finish, ties included.
TEST(FilterRounding, VectorisedStoresEqualSaturate) {
  test::for_each_simd_target([] {
    std::vector<float> in;
    for (int i = -3; i <= 65540; ++i) {
      in.push_back(float(i) + 0.5f);
      in.push_back(float(i) + 0.4999f);
      in.push_back(float(i) - 0.25f);
    }
    in.push_back(-1e30f);
    in.push_back(1e30f);
    std::vector<std::uint8_t> o8(in.size());
    std::vector<std::uint16_t> o16(in.size());
    nbh::store_saturated(o8.data(), in.data(), int(in.size()));
    nbh::store_saturated(o16.data(), in.data(), int(in.size()));
    for (std::size_t i = 0; i < in.size(); ++i) {
      ASSERT_EQ(o8[i], kern::saturate<std::uint8_t>(in[i])) << in[i];
      ASSERT_EQ(o16[i], kern::saturate<std::uint16_t>(in[i])) << in[i];
    }
    // Window sums of u16 windows: K = 4, 6, 10 (even areas: exact ties; 1/36
    // and 1/100 are inexact), 3, and 724 and 725 (either side of the switch from
    // the reciprocal to division); every tie within the range is included.
    for (double k : {4.0, 6.0, 10.0, 3.0, 724.0, 725.0}) {
      const double area = k * k;
      const std::int64_t top = std::min<std::int64_t>(std::int64_t(area) * 65535, INT32_MAX);
      const std::int64_t step = std::max<std::int64_t>(1, top / 3000000);
      std::vector<std::int32_t> sums;
      for (std::int64_t s = 0; s <= top; s += step) sums.push_back(std::int32_t(s));
      for (std::int64_t m = 0; m < 65535 && (2 * m + 1) * std::int64_t(area) / 2 <= top; m += 1 + m / 64)
        if (std::int64_t(area) % 2 == 0) sums.push_back(std::int32_t((2 * m + 1) * std::int64_t(area) / 2));
      std::vector<std::uint16_t> out(sums.size());
      nbh::store_mean(out.data(), sums.data(), int(sums.size()), area);
      for (std::size_t i = 0; i < sums.size(); ++i)
        ASSERT_EQ(out[i], kern::box_finish<std::uint16_t>(sums[i], area)) << sums[i];
    }
  });
}

}  // namespace
}  // namespace tandem
