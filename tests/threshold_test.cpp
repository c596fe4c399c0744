// threshold: every dtype x channel count x size x device against an independent reference,
// fractional and out-of-range T, padded strides and in place, OpenCV golden data
// (bit-exact), and the error paths.
#include "tandem/ops/threshold.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>

#include "tests/pointops_test_util.hpp"
#include "tests/support/simd_targets.hpp"

namespace tandem {
namespace {

namespace pt = test::pointops;

class ThresholdTest : public test::DeviceTest {};

double type_max(DType t) { return t == DType::u8 ? 255.0 : t == DType::u16 ? 65535.0 : 1.0; }

// Independent reference: integer images compare with floor(T) in double (covering T below
// 0 and at/above the maximum without special cases); f32 compares with T rounded to float.
std::vector<double> reference(const View& img, double t) {
  const double cut = dtype_is_integer(img.dtype) ? std::floor(t) : double(static_cast<float>(t));
  std::vector<double> out = pt::values(img);
  for (double& v : out) v = v > cut ? type_max(img.dtype) : 0.0;
  return out;
}

std::vector<double> thresholds(DType t) {
  const double inf = std::numeric_limits<double>::infinity();
  if (t == DType::f32) return {0.5, 0.1, 1.0 / 3, 0.0, -0.25, 1.0, 2.0, -inf, inf};
  const double m = type_max(t);
  return {127, 127.5, 0, 0.75, -0.5, -1, -1e12, m - 1, m - 0.5, m, m + 0.5, 1e6, 1e12, inf, -inf};
}

Tensor run_threshold(test::DeviceRunner& runner, const View& img, double t) {
  return pt::run_alloc(runner, img, [t](const View& s, Tensor& d, const Exec& e) {
    return threshold(s, d, ThresholdParams{t}, e);
  });
}

TEST_P(ThresholdTest, MatchesReferenceForEveryDtypeChannelsAndSize) {
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    pt::for_each_image([&](DType t, int c, const pt::Size2& sz, const Tensor& img) {
      for (double T : {thresholds(t)[0], thresholds(t)[1]}) {
        SCOPED_TRACE(pt::label(t, sz.h, sz.w, c) + " T=" + std::to_string(T));
        Tensor out = run_threshold(runner, img.view(), T);
        ASSERT_EQ(out.view().ndim, img.view().ndim);
        EXPECT_EQ(out.view().channels(), c);
        EXPECT_TRUE(test::all_near(out.view(), reference(img.view(), T), 0.0));
      }
    });
  });
}

TEST_P(ThresholdTest, FractionalAndOutOfRangeThresholds) {
  test::DeviceRunner runner(GetParam());
  for (DType t : {DType::u8, DType::u16, DType::f32}) {
    Tensor img = test::random_image(t, 37, 53, 3, 7);
    // Values at and around the interesting cut points.
    for (std::int64_t i = 0; i < 6; ++i)
      visit_dtype(t, [&](auto tag) {
        using T = decltype(tag);
        const double m = type_max(t);
        const double special[] = {0, 1, m, m - 1, std::floor(m / 2), std::floor(m / 2) + 1};
        img.view().ptr<T>()[i] = t == DType::f32 ? T(special[i] / 2) : T(special[i]);
      });
    for (double T : thresholds(t)) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " T=" + std::to_string(T));
      Tensor out = run_threshold(runner, img.view(), T);
      EXPECT_TRUE(test::all_near(out.view(), reference(img.view(), T), 0.0));
    }
  }
}

TEST_P(ThresholdTest, FloatThresholdIsRoundedToFloatFirst) {
  test::DeviceRunner runner(GetParam());
  Tensor img;
  ASSERT_TRUE(Tensor::create_image(DType::f32, 1, 3, 1, Device::cpu(), img).ok());
  float* p = img.view().ptr<float>();
  p[0] = 0.1f;
  p[1] = std::nextafter(0.1f, 1.0f);
  p[2] = std::numeric_limits<float>::quiet_NaN();
  // 0.0999999999 rounds to 0.1f, so 0.1f is not above it (as in OpenCV); NaN gives 0.
  Tensor out = run_threshold(runner, img.view(), 0.0999999999);
  EXPECT_TRUE(test::all_near(out.view(), {0.0, 1.0, 0.0}, 0.0));
}

TEST_P(ThresholdTest, PaddedStridesAndInPlace) {
  const Device dev = GetParam();
  pt::for_each_layout_on(dev, 300, [&](test::DeviceRunner& runner, DType t, int c, std::uint64_t& seed) {
    for (double T : {thresholds(t)[0], -1.0, 1e6})
      for (bool aligned : {false, true}) {
        SCOPED_TRACE(pt::label(t, 37, 53, c) + " T=" + std::to_string(T) + (aligned ? " aligned" : ""));
        Tensor img = test::random_image(t, 37, 53, c, seed++);
        pt::check_padded_and_in_place(runner, dev, img.view(), aligned, "threshold", reference(img.view(), T), 0.0,
                                      [&](const View& s, const View& d) {
                                        return threshold(s, d, ThresholdParams{T}, runner.exec());
                                      });
      }
  });
}

// Where input and output do not fit in the shared cache, the output is written with
// non-temporal stores from the first address aligned to the vector (pointops::stream_output):
// packed, with odd row padding (every row starts unaligned) and in place, on every target,
// with the cache taken to be 64 KiB so that small images stream.
TEST_P(ThresholdTest, OutputsLargerThanTheCacheToo) {
  const pt::SharedCacheOf small(64 << 10);
  test::for_each_simd_target_on(GetParam(), [&] {
    const Device dev = GetParam();
    test::DeviceRunner runner(dev);
    for (DType t : {DType::u8, DType::f32}) {
      const std::int64_t w = t == DType::u8 ? 257 : 67;  // 4 channels: 131 KiB either way, in place too
      Tensor img = test::random_image(t, 131, w, 4, 77);
      const double T = t == DType::u8 ? 127.0 : 0.5;
      const std::vector<double> want = reference(img.view(), T);
      EXPECT_TRUE(test::all_near(run_threshold(runner, img.view(), T).view(), want, 0.0)) << dtype_name(t);
      pt::check_padded_and_in_place(runner, dev, img.view(), false, "threshold", want, 0.0,
                                    [&](const View& s, const View& d) {
                                      return threshold(s, d, ThresholdParams{T}, runner.exec());
                                    });
    }
  });
}

TEST_P(ThresholdTest, MatchesOpenCvGoldenExactly) {
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    for (const char* name : {"thresh_u8", "thresh_u8c3", "thresh_u16", "thresh_f32"}) {
      const std::string base = std::string("pointops_") + name;
      Tensor in = pt::load_npy(pt::golden_path(base + "_in.npy"));
      Tensor ts = pt::load_npy(pt::golden_path(base + "_T.npy"));
      Tensor want = pt::load_npy(pt::golden_path(base + "_out.npy"));
      ASSERT_FALSE(in.empty() || ts.empty() || want.empty()) << name;
      ASSERT_EQ(want.view().shape[0], ts.view().numel()) << name;
      for (std::int64_t k = 0; k < ts.view().numel(); ++k) {
        const double T = test::at(ts.view(), k);
        SCOPED_TRACE(std::string(name) + " T=" + std::to_string(T));
        // Through the op table, as a pipeline would: value as text.
        char text[64];
        std::snprintf(text, sizeof text, "%.17g", T);
        Tensor out = runner.run("threshold", {{"value", text}}, in.view());
        EXPECT_TRUE(test::all_near(out.view(), pt::values(pt::slice(want.view(), k)), 0.0));
      }
    }
  });
}

TEST_P(ThresholdTest, RejectsBadInputsWithAClearStatus) {
  test::DeviceRunner runner(GetParam());
  const Exec& exec = runner.exec();
  Tensor dst;
  Tensor i32 = runner.upload(test::random_image(DType::i32, 4, 5, 1, 1).view());
  EXPECT_TRUE(pt::fails_with(threshold(i32.view(), dst, {1}, exec), Errc::unsupported, {"threshold", "i32"}));
  Tensor two = runner.upload(test::random_image(DType::u16, 4, 5, 2, 1).view());
  EXPECT_TRUE(pt::fails_with(threshold(two.view(), dst, {1}, exec), Errc::unsupported, {"2-channel"}));
  Tensor img = runner.upload(test::random_image(DType::u8, 4, 5, 3, 1).view());
  EXPECT_TRUE(pt::fails_with(threshold(img.view(), dst, {std::nan("")}, exec), Errc::invalid_argument,
                             {"threshold", "NaN"}));
  Tensor gray;
  ASSERT_TRUE(Tensor::create_image(DType::u8, 4, 5, 1, GetParam(), gray).ok());
  EXPECT_TRUE(pt::fails_with(threshold(img.view(), gray.view(), {1}, exec), Errc::invalid_argument,
                             {"dst must be u8 4x5x3"}));
  // The table insists on a value and parses it as a number.
  const OpSpec* spec = find_op("threshold");
  ASSERT_NE(spec, nullptr);
  OpArgs args;
  EXPECT_TRUE(pt::fails_with(parse_args(*spec, {}, args), Errc::invalid_argument, {"threshold", "value"}));
  EXPECT_TRUE(pt::fails_with(parse_args(*spec, {{"value", "high"}}, args), Errc::invalid_argument, {"value"}));
  EXPECT_TRUE(parse_args(*spec, {{"value", "127.5"}}, args).ok());
  EXPECT_EQ(args.number("value"), 127.5);
}

INSTANTIATE_TEST_SUITE_P(Devices, ThresholdTest, ::testing::ValuesIn(test::test_devices()), test::device_name);

}  // namespace
}  // namespace tandem
