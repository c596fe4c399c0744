// gaussian: every dtype x channels x border x awkward size against a float64
// reference, padded strides, large apertures, errors, and OpenCV golden data;
// the u8 fixed-point path bit for bit against a scalar restatement of its
// integer algorithm, and within 1 of the float64 Gaussian.
#include "tandem/ops/gaussian.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <sstream>

#include "kernels/gaussian.cuh"
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

class GaussianTest : public test::DeviceTest {};

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
  test::for_each_simd_target_on(GetParam(), [&] {
    test::DeviceRunner runner(GetParam());
    const Case cases[] = {{1.3, 0}, {0.8, 4}};  // automatic aperture; one wider than the small images
    for_each_awkward_case(cases, [&](const Combo& c, const std::string& border, std::int64_t h, std::int64_t w,
                                     const Case& cs, std::uint64_t seed) { check(runner, c, h, w, cs, border, seed); });
  });
}

TEST_P(GaussianTest, SigmaZeroUsesOpenCVsApertureRule) {
  test::DeviceRunner runner(GetParam());
  for (int radius : {1, 2, 3, 5}) check(runner, {DType::u8, 1}, 29, 31, {0.0, radius}, "reflect101", 50 + radius);
}

TEST_P(GaussianTest, LargeApertures) {
  // Beyond the GPU's fused shared-memory tile these take the direct two-pass path.
  test::for_each_simd_target_on(GetParam(), [&] {
    test::DeviceRunner runner(GetParam());
    check(runner, {DType::u8, 1}, 41, 150, {9, 40}, "reflect101", 60);
    check(runner, {DType::u8, 4}, 37, 53, {20, 100}, "constant", 61);
    check(runner, {DType::f32, 1}, 37, 53, {25, 100}, "replicate", 62);
    check(runner, {DType::u16, 3}, 23, 19, {3, 0}, "reflect101", 63);
  });
}

TEST_P(GaussianTest, LargeImages) {
  test::DeviceRunner runner(GetParam());
  check(runner, {DType::u8, 3}, 1031, 777, {1.0, 0}, "reflect101", 70);
  check(runner, {DType::f32, 1}, 1031, 777, {1.5, 0}, "constant", 71);
}

TEST_P(GaussianTest, PaddedRowStrides) {
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

// ---------------------------------------------------------------------------
// The u8 fixed-point path (radius 1 .. kern::kGaussFxMaxRadius).

std::vector<std::uint16_t> fixed_weights(int r, double sigma) {
  std::vector<std::uint16_t> q(std::size_t(2 * r + 1));
  kern::gaussian_fixed_weights(2 * r + 1, sigma, q.data());
  return q;
}

// The integer algorithm of kernels/gaussian.cuh restated on whole images, in
// 64-bit arithmetic and with the test's own border rule: each pass is
// floor(p[r] q[r] / 2^16) + sum_{k<r} floor((p[k] + p[2r-k]) q[k] / 2^16), the
// horizontal one over pixels times 128, the vertical one over its results (a
// row outside the image in constant mode: the horizontal pass of a row of the
// value); the result is min(255, (s + 64 + r + 1) >> 7).
std::vector<double> ref_fixed(const View& img, double sigma, int radius, const std::string& border, double value) {
  const int r = radius > 0 ? radius : ref_radius(sigma, DType::u8);
  const auto q = fixed_weights(r, sigma);
  const auto pass = [&](auto get) {
    std::uint64_t s = (std::uint64_t(get(r)) * q[std::size_t(r)]) >> 16;
    for (int k = 0; k < r; ++k) s += ((std::uint64_t(get(k)) + get(2 * r - k)) * q[std::size_t(k)]) >> 16;
    return s;
  };
  const std::int64_t h = img.height(), w = img.width(), ch = img.channels();
  const std::uint64_t cval = std::uint64_t(ref_value(DType::u8, value));
  std::vector<std::uint64_t> hor(std::size_t(h * w * ch));
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x)
      for (std::int64_t c = 0; c < ch; ++c)
        hor[std::size_t((y * w + x) * ch + c)] = pass([&](int k) {
          const std::int64_t sx = ref_index(x - r + k, w, border);
          return (sx < 0 ? cval : std::uint64_t(test::pixel(img, y, sx, c))) * 128;
        });
  const std::uint64_t hconst = pass([&](int) { return cval * 128; });
  std::vector<double> out(hor.size());
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x)
      for (std::int64_t c = 0; c < ch; ++c) {
        const std::uint64_t s = pass([&](int k) {
          const std::int64_t sy = ref_index(y - r + k, h, border);
          return sy < 0 ? hconst : hor[std::size_t((sy * w + x) * ch + c)];
        });
        out[std::size_t((y * w + x) * ch + c)] = double(std::min<std::uint64_t>(255, (s + 64 + std::uint64_t(r) + 1) >> 7));
      }
  return out;
}

TEST(GaussianFixedPoint, WeightsAreSymmetricSumTo65536AndStayNearFloat64) {
  for (int r = 1; r <= kern::kGaussFxMaxRadius; ++r)
    for (double sigma : {0.0, 0.05, 0.3, 0.5, 0.8, 1.0, r / 3.0, r / 2.0, double(r), 4.0 * r, 1e4}) {
      SCOPED_TRACE("radius " + std::to_string(r) + " sigma " + std::to_string(sigma));
      const auto q = fixed_weights(r, sigma);
      const auto w = ref_weights(r, sigma);
      std::int64_t sum = 0;
      double l1 = 0;
      for (int k = 0; k <= 2 * r; ++k) {
        const double want = w[std::size_t(k)] * 65536;
        const double got = q[std::size_t(k)];
        sum += q[std::size_t(k)];
        l1 += std::abs(got - want) / 65536;
        EXPECT_EQ(q[std::size_t(k)], q[std::size_t(2 * r - k)]) << "tap " << k;
        // Within one unit of the float64 weight, but for a centre capped at 2^16 - 2.
        if (!(k == r && want > 65534 && got == 65534)) EXPECT_LE(std::abs(got - want), 1.0) << "tap " << k;
      }
      EXPECT_EQ(sum, 65536);
      // The bound of kernels/gaussian.cuh under 1/2: weights (both passes) plus floors.
      EXPECT_LT(2 * 255 * l1 + (r + 1) / 128.0, 0.5);
    }
}

TEST(GaussianFixedPoint, PathChoice) {
  EXPECT_TRUE(kern::gaussian_fixed_point(DType::u8, 1));
  EXPECT_TRUE(kern::gaussian_fixed_point(DType::u8, kern::kGaussFxMaxRadius));
  EXPECT_FALSE(kern::gaussian_fixed_point(DType::u8, 0));
  EXPECT_FALSE(kern::gaussian_fixed_point(DType::u8, kern::kGaussFxMaxRadius + 1));
  EXPECT_FALSE(kern::gaussian_fixed_point(DType::u16, 3));
  EXPECT_FALSE(kern::gaussian_fixed_point(DType::f32, 3));
}

// Sigma 0.5 .. 8 with the automatic aperture, and explicit radii (with sigma 0:
// OpenCV's small tables and derived sigma), up to the widest fixed-point one.
const Case kFixedCases[] = {{0.5, 0}, {0.8, 0}, {1, 0},   {1.7, 0}, {2, 0},   {3.3, 0}, {5, 0},
                            {8, 0},   {0, 1},   {0, 3},   {1.2, 7}, {0.1, 2}, {4, 30}};

TEST_P(GaussianTest, FixedPointIsBitExactAndWithinOneOfFloat64) {
  test::for_each_simd_target_on(GetParam(), [&] {
    test::DeviceRunner runner(GetParam());
    const std::pair<std::int64_t, std::int64_t> sizes[] = {{1, 1}, {1, 9}, {9, 1}, {3, 70}, {29, 37}, {40, 131}};
    std::uint64_t seed = 300;
    for (int ch : {1, 3, 4})
      for (const auto& border : borders())
        for (auto [h, w] : sizes)
          for (const Case& cs : kFixedCases) {
            const Tensor img = test::random_image(DType::u8, h, w, ch, ++seed);
            std::map<std::string, std::string, std::less<>> params{{"sigma", std::to_string(cs.sigma)},
                                                                   {"border", border}};
            if (cs.radius) params["radius"] = std::to_string(cs.radius);
            const double value = border == "constant" ? 77 : 0;
            if (border == "constant") params["value"] = "77";
            const Tensor got = runner.run("gaussian", params, img.view());
            std::ostringstream what;
            what << "u8x" << ch << " " << h << "x" << w << " sigma " << cs.sigma << " radius " << cs.radius << " "
                 << border;
            // to_dtype leaves the reference's integers as they are: tolerance 0 is equality.
            EXPECT_TRUE(matches(got.view(), ref_fixed(img.view(), cs.sigma, cs.radius, border, value), 0))
                << what.str();
            EXPECT_TRUE(test::all_near(got.view(), ref_gaussian(img.view(), cs.sigma, cs.radius, border, value), 1.0))
                << what.str() << " (float64 Gaussian)";
          }
  });
}

TEST_P(GaussianTest, FixedPointKeepsConstantImagesAndExtremes) {
  // A constant image stays constant (the compensation of the floors is exact
  // there up to the widest radius); 0/255 stripes stay within [0, 255].
  test::for_each_simd_target_on(GetParam(), [&] {
    test::DeviceRunner runner(GetParam());
    for (int v : {0, 1, 128, 254, 255})
      for (int r : {1, 4, kern::kGaussFxMaxRadius}) {
        Tensor img;
        ASSERT_TRUE(Tensor::create(DType::u8, {19, 45, 3}, Device::cpu(), img).ok());
        std::fill_n(static_cast<std::uint8_t*>(img.view().data), 19 * 45 * 3, std::uint8_t(v));
        const Tensor got = runner.run("gaussian", {{"sigma", "20"}, {"radius", std::to_string(r)}}, img.view());
        EXPECT_TRUE(test::all_near(got.view(), std::vector<double>(19 * 45 * 3, v), 0)) << v << " radius " << r;
      }
    const Tensor stripes = [] {
      Tensor t;
      throw_if_error(Tensor::create(DType::u8, {33, 64, 1}, Device::cpu(), t));
      auto* p = static_cast<std::uint8_t*>(t.view().data);
      for (int i = 0; i < 33 * 64; ++i) p[i] = (i / 3) % 2 ? 255 : 0;
      return t;
    }();
    for (const auto& border : borders()) {
      const Tensor got = runner.run("gaussian", {{"sigma", "1.1"}, {"border", border}}, stripes.view());
      EXPECT_TRUE(matches(got.view(), ref_fixed(stripes.view(), 1.1, 0, border, 0), 0)) << border;
    }
  });
}

TEST_P(GaussianTest, FixedPointPaddedStridesAndThreadCounts) {
  test::for_each_simd_target_on(GetParam(), [&] {
    GaussianParams p;
    p.sigma = 2.6;
    p.border = Border::constant;
    p.value = 300;  // saturates to 255
    test::DeviceRunner padded_runner(GetParam());
    for (int ch : {1, 3, 4}) {
      const Tensor img = test::random_image(DType::u8, 23, 37, ch, 400 + std::uint64_t(ch));
      const Tensor got = test::run_padded_rows(padded_runner, img.view(), 23, 37, 6, 10, [&](const View& s, const View& d) {
        return gaussian(s, d, p, padded_runner.exec());
      });
      EXPECT_TRUE(matches(got.view(), ref_fixed(img.view(), 2.6, 0, "constant", 300), 0)) << ch;
    }
    // Wide enough for two column blocks at sigma 5; strips vary with the thread count.
    const Tensor wide = test::random_image(DType::u8, 61, 2600, 3, 410);
    test::DeviceRunner runner(GetParam());
    GaussianParams w;
    w.sigma = 5;
    check_thread_counts(runner, wide.view(), ref_fixed(wide.view(), 5, 0, "reflect101", 0), 0,
                        [&](const View& in, Tensor& out, const Exec& exec) { return gaussian(in, out, w, exec); });
  });
}

TEST_P(GaussianTest, MatchesOpenCV) { check_golden("gaussian", GetParam()); }

TEST_P(GaussianTest, RejectsBadInputsAndParameters) {
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
