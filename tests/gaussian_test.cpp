// gaussian: every dtype x channels x border x awkward size against a float64
// reference, padded strides, large apertures, errors, and OpenCV golden data.
#include "tandem/ops/gaussian.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "tests/filters_support.hpp"
#include "tests/support/simd_targets.hpp"
#include "tests/support/test_support.hpp"

namespace tandem {
namespace {

using namespace test::filters;

// OpenCV's automatic aperture, restated: cvRound(sigma * (u8 ? 3 : 4) * 2 + 1) | 1.
int ref_radius(double sigma, DType t) {
  return (int(std::nearbyint(sigma * (t == DType::u8 ? 3 : 4) * 2 + 1)) | 1) / 2;
}

// 1-D weights as cv::getGaussianKernel(2r+1, sigma), in double.
std::vector<double> ref_weights(int r, double sigma) {
  const int n = 2 * r + 1;
  if (sigma <= 0) {
    if (n == 3) return {0.25, 0.5, 0.25};
    if (n == 5) return {1 / 16., 4 / 16., 6 / 16., 4 / 16., 1 / 16.};
    if (n == 7) return {1 / 32., 3.5 / 32., 7 / 32., 9 / 32., 7 / 32., 3.5 / 32., 1 / 32.};
    sigma = 0.3 * ((n - 1) * 0.5 - 1) + 0.8;
  }
  std::vector<double> w(static_cast<std::size_t>(n));
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += w[std::size_t(i)] = std::exp(-double(i - r) * (i - r) / (2 * sigma * sigma));
  for (double& x : w) x /= sum;
  return w;
}

std::vector<double> ref_gaussian(const View& img, double sigma, int radius, const std::string& border, double value) {
  const int r = radius > 0 ? radius : ref_radius(sigma, img.dtype);
  const auto g = ref_weights(r, sigma);
  const int n = 2 * r + 1;
  std::vector<double> k(std::size_t(n * n));
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) k[std::size_t(i * n + j)] = g[std::size_t(i)] * g[std::size_t(j)];
  return correlate(img, k, n, n, r, r, border, value);
}

class GaussianTest : public ::testing::TestWithParam<Device> {};

struct Case {
  double sigma;
  int radius;
};

void check(test::DeviceRunner& runner, const Combo& c, std::int64_t h, std::int64_t w, const Case& cs,
           const std::string& border, std::uint64_t seed) {
  std::map<std::string, std::string, std::less<>> params{{"sigma", std::to_string(cs.sigma)}};
  if (cs.radius) params["radius"] = std::to_string(cs.radius);
  std::ostringstream what;
  what << "sigma " << cs.sigma << " radius " << cs.radius;
  check_against_ref(
      runner, "gaussian", params, c, h, w, border, seed, 1,
      [&](const View& img, const std::string& b, double value) {
        return ref_gaussian(img, cs.sigma, cs.radius, b, value);
      },
      what.str());
}

TEST_P(GaussianTest, MatchesReferenceOnAwkwardSizes) {
  TANDEM_SKIP_IF_UNAVAILABLE(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    test::DeviceRunner runner(GetParam());
    const Case cases[] = {{1.3, 0}, {0.8, 4}};  // automatic aperture; one wider than the small images
    for_each_awkward_case(cases, [&](const Combo& c, const std::string& border, std::int64_t h, std::int64_t w,
                                     const Case& cs, std::uint64_t seed) { check(runner, c, h, w, cs, border, seed); });
  });
}

TEST_P(GaussianTest, SigmaZeroUsesOpenCVsApertureRule) {
  TANDEM_SKIP_IF_UNAVAILABLE(GetParam());
  test::DeviceRunner runner(GetParam());
  for (int radius : {1, 2, 3, 5}) check(runner, {DType::u8, 1}, 29, 31, {0.0, radius}, "reflect101", 50 + radius);
}

TEST_P(GaussianTest, LargeApertures) {
  // Beyond the GPU's fused shared-memory tile these take the direct two-pass path.
  TANDEM_SKIP_IF_UNAVAILABLE(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    test::DeviceRunner runner(GetParam());
    check(runner, {DType::u8, 1}, 41, 150, {9, 40}, "reflect101", 60);
    check(runner, {DType::u8, 4}, 37, 53, {20, 100}, "constant", 61);
    check(runner, {DType::f32, 1}, 37, 53, {25, 100}, "replicate", 62);
    check(runner, {DType::u16, 3}, 23, 19, {3, 0}, "reflect101", 63);
  });
}

TEST_P(GaussianTest, LargeImages) {
  TANDEM_SKIP_IF_UNAVAILABLE(GetParam());
  test::DeviceRunner runner(GetParam());
  check(runner, {DType::u8, 3}, 1031, 777, {1.0, 0}, "reflect101", 70);
  check(runner, {DType::f32, 1}, 1031, 777, {1.5, 0}, "constant", 71);
}

TEST_P(GaussianTest, PaddedRowStrides) {
  TANDEM_SKIP_IF_UNAVAILABLE(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    GaussianParams p;
    p.sigma = 1.7;
    p.border = Border::replicate;
    check_padded_strides(
        GetParam(), 80, 1, [&](const View& s, const View& d, const Exec& e) { return gaussian(s, d, p, e); },
        [](const View& img) { return ref_gaussian(img, 1.7, 0, "replicate", 0); });
  });
}

TEST_P(GaussianTest, ThreadCountsAndColumnBlocks) {
  // A wide image is cut into column blocks and strips; results must not depend on the cut.
  TANDEM_SKIP_IF_UNAVAILABLE(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    const Tensor img = test::random_image(DType::u8, 61, 2600, 3, 90);
    const auto ref = ref_gaussian(img.view(), 1.5, 0, "reflect101", 0);
    test::DeviceRunner runner(GetParam());
    GaussianParams p;
    p.sigma = 1.5;
    check_thread_counts(runner, img.view(), ref, 1,
                        [&](const View& in, Tensor& out, const Exec& exec) { return gaussian(in, out, p, exec); });
  });
}

TEST_P(GaussianTest, MatchesOpenCV) {
  TANDEM_SKIP_IF_UNAVAILABLE(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    check_golden("gaussian", GetParam());
  });
}

TEST_P(GaussianTest, RejectsBadInputsAndParameters) {
  TANDEM_SKIP_IF_UNAVAILABLE(GetParam());
  test::DeviceRunner runner(GetParam());
  const Exec& exec = runner.exec();
  const auto status = [&](const Tensor& host, const GaussianParams& p) {
    Tensor in = runner.upload(host.view());
    Tensor out;
    return gaussian(in.view(), out, p, exec);
  };
  const auto expect = [](const Status& s, Errc code, const char* needle) {
    expect_refusal(s, code, "gaussian", needle);
  };
  const Tensor u8 = test::random_image(DType::u8, 8, 9, 1, 3);
  GaussianParams ok;
  expect(status(test::random_image(DType::i32, 8, 9, 1, 3), ok), Errc::unsupported, "i32");
  // The refusal names the layouts gaussian accepts.
  expect(status(test::random_image(DType::u16, 8, 9, 2, 3), ok), Errc::unsupported,
         "2-channel u16 images (accepts u8 x1/3/4, u16 x1/3/4, f32 x1/3/4)");
  GaussianParams p;
  p.sigma = -1;
  expect(status(u8, p), Errc::invalid_argument, "sigma");
  p.sigma = 0;
  expect(status(u8, p), Errc::invalid_argument, "radius");
  p = {};
  p.radius = kGaussianMaxRadius + 1;
  expect(status(u8, p), Errc::invalid_argument, "radius");
  p = {};
  p.sigma = 500;  // automatic radius 1500
  expect(status(u8, p), Errc::invalid_argument, "smaller radius");
  p = {};
  p.value = std::nan("");
  p.border = Border::constant;
  expect(status(u8, p), Errc::invalid_argument, "value");

  Tensor in = runner.upload(u8.view());
  Tensor wrong;
  ASSERT_TRUE(Tensor::create(DType::u8, {8, 10}, exec.device, wrong).ok());
  expect(gaussian(in.view(), wrong.view(), ok, exec), Errc::invalid_argument, "output");
  expect(gaussian(in.view(), in.view(), ok, exec), Errc::invalid_argument, "overlap");
  View empty = in.view();
  empty.shape[0] = 0;
  expect(gaussian(empty, wrong.view(), ok, exec), Errc::invalid_argument, "empty");
  if (exec.device.is_cuda()) {
    Exec no_stream = exec;
    no_stream.stream = nullptr;
    Tensor out;
    expect(gaussian(in.view(), out, ok, no_stream), Errc::invalid_argument, "stream");
    expect(gaussian(u8.view(), out, ok, exec), Errc::invalid_argument, "cpu");
  }
  // Through the op table: parameters are parsed and checked before anything runs.
  const OpSpec* spec = find_op("gaussian");
  ASSERT_NE(spec, nullptr);
  OpArgs args;
  EXPECT_FALSE(parse_args(*spec, {{"border", "wrap"}}, args).ok());
  EXPECT_FALSE(parse_args(*spec, {{"sigma", "-2"}}, args).ok());
  EXPECT_FALSE(parse_args(*spec, {{"radius", "1.5"}}, args).ok());
}

INSTANTIATE_TEST_SUITE_P(Devices, GaussianTest, ::testing::ValuesIn(test::test_devices()), test::device_name);

}  // namespace
}  // namespace tandem
