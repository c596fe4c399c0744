// equalize: u8 gray images of every size on every device against an independent
// re-statement of cv::equalizeHist, flat and narrow histograms, more pixels than a float
// counts exactly, padded strides and in place, OpenCV golden data (bit-exact), and the
// error paths (RGB input in particular).
#include "tandem/ops/equalize.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "tests/pointops_test_util.hpp"
#include "tests/support/simd_targets.hpp"

namespace tandem {
namespace {

namespace pt = test::pointops;

class EqualizeTest : public test::DeviceTest {};

// cv::equalizeHist as its source reads (imgproc/src/histogram.cpp), restated here:
// int counts, float scale = 255.f / (total - hist[first]), lut = saturate(lrintf(sum * scale))
// with sum an int accumulated from the bin after `first`; a constant image is filled with
// its value.
std::vector<double> reference(const View& img) {
  std::vector<std::int64_t> hist(256, 0);
  for (std::int64_t y = 0; y < img.height(); ++y)
    for (std::int64_t x = 0; x < img.width(); ++x) ++hist[static_cast<int>(test::pixel(img, y, x, 0))];
  int i = 0;
  while (hist[i] == 0) ++i;
  const int total = static_cast<int>(img.height() * img.width());
  std::vector<double> lut(256, -1.0);  // bins below the first are never looked up
  if (hist[i] == total) {
    std::fill(lut.begin(), lut.end(), double(i));
  } else {
    const float scale = 255.f / float(total - int(hist[i]));
    int sum = 0;
    for (lut[i++] = 0; i < 256; ++i) {
      sum += int(hist[i]);
      const long r = std::lrintf(float(sum) * scale);
      lut[i] = double(r < 0 ? 0 : r > 255 ? 255 : r);
    }
  }
  std::vector<double> out;
  out.reserve(std::size_t(img.height() * img.width()));
  for (std::int64_t y = 0; y < img.height(); ++y)
    for (std::int64_t x = 0; x < img.width(); ++x) out.push_back(lut[static_cast<int>(test::pixel(img, y, x, 0))]);
  return out;
}

// u8 gray images with values drawn from [lo, hi] (narrow ranges make big LUT steps).
Tensor image_in_range(std::int64_t h, std::int64_t w, int lo, int hi, std::uint64_t seed) {
  Tensor t;
  throw_if_error(Tensor::create_image(DType::u8, h, w, 1, Device::cpu(), t));
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  auto* p = t.view().ptr<std::uint8_t>();
  for (std::int64_t i = 0; i < h * w; ++i) p[i] = static_cast<std::uint8_t>(d(rng));
  return t;
}

Tensor run_equalize(test::DeviceRunner& runner, const View& img) {
  return pt::run_alloc(runner, img, [](const View& s, Tensor& d, const Exec& e) {
    return equalize(s, d, EqualizeParams{}, e);
  });
}

TEST_P(EqualizeTest, MatchesReferenceForEverySizeAndRange) {
  test::DeviceRunner runner(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    std::uint64_t seed = 1;
    struct Range {
      int lo, hi;
    };
    for (const auto& sz : pt::sizes())
      for (Range r : {Range{0, 255}, Range{100, 103}, Range{0, 1}, Range{250, 255}, Range{37, 37}}) {
        SCOPED_TRACE(pt::label(DType::u8, sz.h, sz.w, 1) + " values " + std::to_string(r.lo) + ".." +
                     std::to_string(r.hi));
        Tensor img = image_in_range(sz.h, sz.w, r.lo, r.hi, seed++);
        Tensor out = run_equalize(runner, img.view());
        ASSERT_EQ(out.view().ndim, 2);
        EXPECT_TRUE(test::all_near(out.view(), reference(img.view()), 0.0));
      }
  });
}

TEST_P(EqualizeTest, SkewedHistogramAndConstantImages) {
  test::DeviceRunner runner(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    // Mostly one value with a thin tail: most LUT entries land near rounding ties.
    Tensor img = image_in_range(211, 307, 0, 255, 5);
    auto* p = img.view().ptr<std::uint8_t>();
    std::mt19937_64 rng(6);
    for (std::int64_t i = 0; i < 211 * 307; ++i)
      if (rng() % 16 != 0) p[i] = 200;
    EXPECT_TRUE(test::all_near(run_equalize(runner, img.view()).view(), reference(img.view()), 0.0));
    for (int v : {0, 77, 255}) {
      Tensor flat = image_in_range(13, 17, v, v, 1);
      Tensor out = run_equalize(runner, flat.view());
      EXPECT_TRUE(test::all_near(out.view(), std::vector<double>(13 * 17, double(v)), 0.0)) << v;
    }
  });
}

// More than 2^24 pixels: OpenCV's int counts become float before the multiply and lose
// low bits; tandem must round the same way.
TEST_P(EqualizeTest, CountsBeyondFloatPrecision) {
  test::DeviceRunner runner(GetParam());
  const std::int64_t h = 4099, w = 4111;  // 16.85M pixels > 2^24
  Tensor img = image_in_range(h, w, 0, 255, 9);
  auto* p = img.view().ptr<std::uint8_t>();
  for (std::int64_t i = 0; i < h * w; ++i) p[i] = static_cast<std::uint8_t>(p[i] % 7 == 0 ? p[i] : 60 + p[i] % 5);
  Tensor out = run_equalize(runner, img.view());
  ASSERT_EQ(out.view().numel(), h * w);
  // Compare LUT-wise (cheaper than the generic walk): one reference per input value.
  const std::vector<double> want = reference(img.view());
  std::int64_t bad = 0;
  const auto* y = out.view().ptr<std::uint8_t>();
  for (std::int64_t i = 0; i < h * w; ++i) bad += double(y[i]) != want[std::size_t(i)];
  EXPECT_EQ(bad, 0);
}

TEST_P(EqualizeTest, PaddedStridesAndInPlace) {
  const Device dev = GetParam();
  test::DeviceRunner runner(dev);
  test::for_each_simd_target_on(GetParam(), [&] {
    std::uint64_t seed = 40;
    for (const auto& sz : {pt::Size2{37, 53}, pt::Size2{1, 300}, pt::Size2{300, 1}, pt::Size2{67, 129}})
      for (bool aligned : {false, true}) {
        SCOPED_TRACE(pt::label(DType::u8, sz.h, sz.w, 1) + (aligned ? " aligned" : ""));
        Tensor img = image_in_range(sz.h, sz.w, 30, 90, seed++);
        pt::Padded src = pt::to_device(runner, dev, pt::pad_host(img.view(), pt::pad_bytes(sz.w, 5, aligned)));
        pt::Padded dst = pt::pad_blank(runner, dev, DType::u8, sz.h, sz.w, 1, pt::pad_bytes(sz.w, 3, aligned));
        ASSERT_TRUE(equalize(src.view, dst.view, EqualizeParams{}, runner.exec()).ok());
        bool intact = false;
        pt::Padded got = pt::download(runner, dst, intact);
        EXPECT_TRUE(intact) << "equalize wrote into the row padding";
        EXPECT_TRUE(test::all_near(got.view, reference(img.view()), 0.0));
        ASSERT_TRUE(equalize(src.view, src.view, EqualizeParams{}, runner.exec()).ok());
        got = pt::download(runner, src, intact);
        EXPECT_TRUE(intact);
        EXPECT_TRUE(test::all_near(got.view, reference(img.view()), 0.0));
      }
  });
}

TEST_P(EqualizeTest, MatchesOpenCvGoldenExactly) {
  test::DeviceRunner runner(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    Tensor in = pt::load_npy(pt::golden_path("pointops_eq_in.npy"));
    Tensor want = pt::load_npy(pt::golden_path("pointops_eq_out.npy"));
    ASSERT_FALSE(in.empty() || want.empty());
    for (std::int64_t k = 0; k < in.view().shape[0]; ++k) {
      SCOPED_TRACE("pointops_eq_in[" + std::to_string(k) + "]");
      Tensor out = runner.run("equalize", {}, pt::slice(in.view(), k));
      EXPECT_TRUE(test::all_near(out.view(), pt::values(pt::slice(want.view(), k)), 0.0));
    }
    Tensor big = pt::load_npy(pt::golden_path("pointops_eq_big_in.npy"));
    Tensor big_want = pt::load_npy(pt::golden_path("pointops_eq_big_out.npy"));
    ASSERT_FALSE(big.empty() || big_want.empty());
    EXPECT_TRUE(test::all_near(runner.run("equalize", {}, big.view()).view(), pt::values(big_want.view()), 0.0));
  });
}

TEST_P(EqualizeTest, RejectsBadInputsWithAClearStatus) {
  test::DeviceRunner runner(GetParam());
  const Exec& exec = runner.exec();
  Tensor dst;
  Tensor rgb = runner.upload(test::random_image(DType::u8, 4, 5, 3, 1).view());
  EXPECT_TRUE(pt::fails_with(equalize(rgb.view(), dst, {}, exec), Errc::unsupported,
                             {"equalize", "1-channel", "3 channels", "grayscale"}));
  // The generic table path refuses it too.
  const OpSpec* spec = find_op("equalize");
  ASSERT_NE(spec, nullptr);
  EXPECT_TRUE(pt::fails_with(run_op(*spec, OpArgs{}, rgb.view(), dst, exec), Errc::unsupported,
                             {"equalize", "3-channel"}));
  Tensor u16 = runner.upload(test::random_image(DType::u16, 4, 5, 1, 1).view());
  EXPECT_TRUE(pt::fails_with(equalize(u16.view(), dst, {}, exec), Errc::unsupported, {"equalize", "u16"}));
  Tensor f32 = runner.upload(test::random_image(DType::f32, 4, 5, 1, 1).view());
  EXPECT_TRUE(pt::fails_with(equalize(f32.view(), dst, {}, exec), Errc::unsupported, {"equalize", "f32"}));
  Tensor gray = runner.upload(test::random_image(DType::u8, 4, 5, 1, 1).view());
  Tensor small;
  ASSERT_TRUE(Tensor::create_image(DType::u8, 4, 4, 1, GetParam(), small).ok());
  EXPECT_TRUE(pt::fails_with(equalize(gray.view(), small.view(), {}, exec), Errc::invalid_argument,
                             {"dst must be u8 4x5"}));
}

INSTANTIATE_TEST_SUITE_P(Devices, EqualizeTest, ::testing::ValuesIn(test::test_devices()), test::device_name);

}  // namespace
}  // namespace tandem
