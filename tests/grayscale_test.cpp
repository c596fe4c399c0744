// grayscale: every dtype x channel count x size x device against an independent reference,
// padded strides, OpenCV golden data (bit-exact), and the error paths.
#include "tandem/ops/grayscale.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/pointops_test_util.hpp"
#include "tests/support/simd_targets.hpp"

namespace tandem {
namespace {

namespace pt = test::pointops;

class GrayscaleTest : public test::DeviceTest {};

// Independent reference in double. Integer types: OpenCV 4's 15-bit fixed point,
// floor(sum / 2^15 + 1/2), which double evaluates exactly (sums < 2^53, power-of-two
// division). f32: the real-valued BT.601 sum (tandem rounds in float, hence a tolerance).
std::vector<double> reference(const View& img) {
  const bool integer = dtype_is_integer(img.dtype);
  std::vector<double> out;
  out.reserve(std::size_t(img.height() * img.width()));
  for (std::int64_t y = 0; y < img.height(); ++y)
    for (std::int64_t x = 0; x < img.width(); ++x) {
      if (img.channels() == 1) {
        out.push_back(test::pixel(img, y, x, 0));
        continue;
      }
      const double r = test::pixel(img, y, x, 0), g = test::pixel(img, y, x, 1), b = test::pixel(img, y, x, 2);
      out.push_back(integer ? std::floor((9798.0 * r + 19235.0 * g + 3735.0 * b) / 32768.0 + 0.5)
                            : 0.299 * r + 0.587 * g + 0.114 * b);
    }
  return out;
}

double tolerance(DType t) { return t == DType::f32 ? 3e-7 : 0.0; }

TEST_P(GrayscaleTest, MatchesReferenceForEveryDtypeChannelsAndSize) {
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    pt::for_each_image([&](DType t, int c, const pt::Size2& sz, const Tensor& img) {
      SCOPED_TRACE(pt::label(t, sz.h, sz.w, c));
      Tensor out = pt::run_alloc(runner, img.view(), [](const View& s, Tensor& d, const Exec& e) {
        return grayscale(s, d, GrayscaleParams{}, e);
      });
      ASSERT_EQ(out.view().ndim, 2);
      EXPECT_EQ(out.view().dtype, t);
      EXPECT_EQ(out.view().height(), sz.h);
      EXPECT_EQ(out.view().width(), sz.w);
      EXPECT_TRUE(test::all_near(out.view(), reference(img.view()), tolerance(t)));
    });
  });
}

// The fixed-point weights really are BT.601: within rounding of the real-valued sum.
TEST_P(GrayscaleTest, IntegerResultsAreWithinRoundingOfBt601) {
  test::DeviceRunner runner(GetParam());
  for (DType t : {DType::u8, DType::u16}) {
    Tensor img = test::random_image(t, 61, 67, 3, 99);
    Tensor out = runner.run("grayscale", {}, img.view());
    std::vector<double> want;
    for (std::int64_t y = 0; y < 61; ++y)
      for (std::int64_t x = 0; x < 67; ++x)
        want.push_back(0.299 * test::pixel(img.view(), y, x, 0) + 0.587 * test::pixel(img.view(), y, x, 1) +
                       0.114 * test::pixel(img.view(), y, x, 2));
    EXPECT_TRUE(test::all_near(out.view(), want, t == DType::u8 ? 0.51 : 1.5)) << dtype_name(t);
  }
}

// Exhaustive over all 2^24 u8 RGB triples (one 4096 x 4096 image) against the reference.
TEST_P(GrayscaleTest, EveryU8TripleIsExact) {
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    Tensor img;
    ASSERT_TRUE(Tensor::create_image(DType::u8, 4096, 4096, 3, Device::cpu(), img).ok());
    auto* p = img.view().ptr<std::uint8_t>();
    for (std::int64_t i = 0; i < (std::int64_t(1) << 24); ++i) {
      p[3 * i] = std::uint8_t(i >> 16);
      p[3 * i + 1] = std::uint8_t(i >> 8);
      p[3 * i + 2] = std::uint8_t(i);
    }
    Tensor out = pt::run_alloc(runner, img.view(), [](const View& s, Tensor& d, const Exec& e) {
      return grayscale(s, d, GrayscaleParams{}, e);
    });
    ASSERT_EQ(out.view().numel(), std::int64_t(1) << 24);
    const auto* y = out.view().ptr<std::uint8_t>();
    std::int64_t bad = 0;
    for (std::int64_t i = 0; i < (std::int64_t(1) << 24); ++i) {
      const double r = double(i >> 16), g = double((i >> 8) & 255), b = double(i & 255);
      bad += y[i] != std::floor((9798.0 * r + 19235.0 * g + 3735.0 * b) / 32768.0 + 0.5);
    }
    EXPECT_EQ(bad, 0);
  });
}

// CPU/GPU same math: f32 luma is R * 0.299f + G * 0.587f + B * 0.114f with each product and
// sum rounded once (the CUDA kernel's __fmul_rn / __fadd_rn), so every SIMD target must equal
// this scalar reference bit for bit (volatile forces each rounding here).
TEST_P(GrayscaleTest, F32RoundsEachStepLikeTheGpu) {
  auto rounded = [](float x) {
    volatile float v = x;
    return float(v);
  };
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    for (int c : {3, 4}) {
      Tensor img = test::random_image(DType::f32, 67, 131, c, 41 + c);
      Tensor out = runner.run("grayscale", {}, img.view());
      std::vector<double> want;
      for (std::int64_t y = 0; y < 67; ++y)
        for (std::int64_t x = 0; x < 131; ++x) {
          const float r = float(test::pixel(img.view(), y, x, 0)), g = float(test::pixel(img.view(), y, x, 1)),
                      b = float(test::pixel(img.view(), y, x, 2));
          want.push_back(rounded(rounded(rounded(r * 0.299f) + rounded(g * 0.587f)) + rounded(b * 0.114f)));
        }
      EXPECT_TRUE(test::all_near(out.view(), want, 0.0)) << c << " channels";
    }
  });
}

TEST_P(GrayscaleTest, PaddedRowStridesInAndOut) {
  const Device dev = GetParam();
  pt::for_each_layout_on(dev, 500, [&](test::DeviceRunner& runner, DType t, int c, std::uint64_t& seed) {
    for (const auto& sz : {pt::Size2{37, 53}, pt::Size2{1, 5}, pt::Size2{129, 31}}) {
      SCOPED_TRACE(pt::label(t, sz.h, sz.w, c));
      const std::int64_t es = std::int64_t(dtype_size(t));
      Tensor img = test::random_image(t, sz.h, sz.w, c, seed++);
      pt::Padded src = pt::to_device(runner, dev, pt::pad_host(img.view(), 3 * es));
      pt::Padded dst = pt::pad_blank(runner, dev, t, sz.h, sz.w, 1, 7 * es);
      const Status s = grayscale(src.view, dst.view, GrayscaleParams{}, runner.exec());
      ASSERT_TRUE(s.ok()) << s.message();
      bool intact = false;
      pt::Padded got = pt::download(runner, dst, intact);
      EXPECT_TRUE(intact) << "grayscale wrote into the row padding";
      EXPECT_TRUE(test::all_near(got.view, reference(img.view()), tolerance(t)));
    }
  });
}

// Where input and output do not fit in the shared cache, the gray output is written with
// non-temporal stores from the first address aligned to the vector: packed and with odd row
// padding on both sides, every dtype and input layout, on every target, with the cache taken
// to be 64 KiB so that small images stream.
TEST_P(GrayscaleTest, OutputsLargerThanTheCacheToo) {
  const pt::SharedCacheOf small(64 << 10);
  const Device dev = GetParam();
  pt::for_each_layout_on(dev, 900, [&](test::DeviceRunner& runner, DType t, int c, std::uint64_t& seed) {
    const std::int64_t es = std::int64_t(dtype_size(t)), h = 131, w = 257;
    Tensor img = test::random_image(t, h, w, c, seed++);
    SCOPED_TRACE(pt::label(t, h, w, c));
    const std::vector<double> want = reference(img.view());
    Tensor out = pt::run_alloc(runner, img.view(), [](const View& s, Tensor& d, const Exec& e) {
      return grayscale(s, d, GrayscaleParams{}, e);
    });
    EXPECT_TRUE(test::all_near(out.view(), want, tolerance(t)));
    pt::Padded src = pt::to_device(runner, dev, pt::pad_host(img.view(), 5 * es));
    pt::Padded dst = pt::pad_blank(runner, dev, t, h, w, 1, 3 * es);
    ASSERT_TRUE(grayscale(src.view, dst.view, GrayscaleParams{}, runner.exec()).ok());
    bool intact = false;
    pt::Padded got = pt::download(runner, dst, intact);
    EXPECT_TRUE(intact) << "grayscale wrote into the row padding";
    EXPECT_TRUE(test::all_near(got.view, want, tolerance(t)));
  });
}

TEST_P(GrayscaleTest, MatchesOpenCvGoldenExactly) {
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    for (const char* name : {"gray_u8_rgb", "gray_u8_rgba", "gray_u16_rgb", "gray_u16_rgba", "gray_u8_hard"}) {
      SCOPED_TRACE(name);
      Tensor in = pt::load_npy(pt::golden_path(std::string("pointops_") + name + "_in.npy"));
      Tensor want = pt::load_npy(pt::golden_path(std::string("pointops_") + name + "_out.npy"));
      ASSERT_FALSE(in.empty());
      ASSERT_FALSE(want.empty());
      Tensor out = runner.run("grayscale", {}, in.view());
      ASSERT_EQ(out.view().ndim, 2);
      EXPECT_TRUE(test::all_near(out.view(), pt::values(want.view()), 0.0));
    }
  });
}

TEST_P(GrayscaleTest, RejectsBadInputsWithAClearStatus) {
  test::DeviceRunner runner(GetParam());
  const Exec& exec = runner.exec();
  Tensor dst;
  {
    Tensor img = runner.upload(test::random_image(DType::i32, 4, 5, 3, 1).view());
    EXPECT_TRUE(pt::fails_with(grayscale(img.view(), dst, {}, exec), Errc::unsupported, {"grayscale", "i32"}));
  }
  {
    Tensor img = runner.upload(test::random_image(DType::u8, 4, 5, 2, 1).view());
    EXPECT_TRUE(pt::fails_with(grayscale(img.view(), dst, {}, exec), Errc::unsupported, {"grayscale", "2-channel"}));
  }
  Tensor rgb = runner.upload(test::random_image(DType::u8, 4, 5, 3, 1).view());
  {
    Tensor wrong;
    ASSERT_TRUE(Tensor::create_image(DType::u8, 4, 6, 1, GetParam(), wrong).ok());
    EXPECT_TRUE(pt::fails_with(grayscale(rgb.view(), wrong.view(), {}, exec), Errc::invalid_argument,
                               {"grayscale", "dst must be u8 4x5"}));
    Tensor three;
    ASSERT_TRUE(Tensor::create_image(DType::u8, 4, 5, 3, GetParam(), three).ok());
    EXPECT_TRUE(pt::fails_with(grayscale(rgb.view(), three.view(), {}, exec), Errc::invalid_argument, {"dst"}));
    Tensor u16;
    ASSERT_TRUE(Tensor::create_image(DType::u16, 4, 5, 1, GetParam(), u16).ok());
    EXPECT_TRUE(pt::fails_with(grayscale(rgb.view(), u16.view(), {}, exec), Errc::invalid_argument, {"dst"}));
  }
  {
    Tensor empty;
    ASSERT_TRUE(Tensor::create_image(DType::u8, 0, 5, 3, GetParam(), empty).ok());
    EXPECT_TRUE(pt::fails_with(grayscale(empty.view(), dst, {}, exec), Errc::invalid_argument, {"empty"}));
  }
  // Device mismatches never reach a kernel.
  Tensor host = test::random_image(DType::u8, 4, 5, 3, 1);
  const Exec cuda_exec{Device::cuda(0), nullptr, 0};
  EXPECT_TRUE(pt::fails_with(grayscale(host.view(), dst, {}, cuda_exec), Errc::invalid_argument, {"input is on cpu"}));
  View fake_gpu = host.view();
  fake_gpu.device = Device::cuda(0);
  EXPECT_TRUE(pt::fails_with(grayscale(fake_gpu, dst, {}, cuda_exec), Errc::invalid_argument, {"stream"}));
}

TEST(GrayscaleTable, DeclaresItself) {
  const OpSpec* spec = find_op("grayscale");
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(spec->kind, OpKind::image);
  EXPECT_TRUE(spec->params.empty());
  EXPECT_EQ(spec->dtypes.size(), 3u);
  EXPECT_EQ(spec->channels, kChannels134);
  EXPECT_NE(spec->semantics.find("COLOR_RGB2GRAY"), std::string_view::npos);
}

INSTANTIATE_TEST_SUITE_P(Devices, GrayscaleTest, ::testing::ValuesIn(test::test_devices()), test::device_name);

}  // namespace
}  // namespace tandem
