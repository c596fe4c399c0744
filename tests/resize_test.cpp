// resize: every device x dtype x channel count against a naive float64
// bilinear reference written here (up, down, non-integer scales, to and from
// 1x1 and single rows / columns), padded rows, error paths, and cv2.resize
// golden files (tests/golden/make_resample_golden.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "tandem/ops/resize.hpp"
#include "tests/support/image_helpers.hpp"
#include "tests/support/npy.hpp"
#include "tests/support/padded_rows.hpp"
#include "tests/support/simd_targets.hpp"
#include "tests/support/test_support.hpp"

namespace tandem {
namespace {

// OpenCV's INTER_LINEAR taps, computed independently of kernels/resize.cuh:
// s = float((d + 0.5) * (src / dst) - 0.5), x0 = floor(s), weight s - x0,
// taps clamped to the image with weight 0 outside.
struct RefTap {
  int i0, i1;
  double f;
};
RefTap ref_tap(int d, int src_n, int dst_n) {
  const double scale = 1.0 / (double(dst_n) / src_n);
  const float s = static_cast<float>((d + 0.5) * scale - 0.5);
  int i0 = static_cast<int>(std::floor(s));
  double f = double(s) - i0;
  if (i0 < 0) i0 = 0, f = 0;
  if (i0 >= src_n - 1) i0 = src_n - 1, f = 0;
  return {i0, std::min(i0 + 1, src_n - 1), f};
}

std::vector<double> ref_resize(const View& img, int dh, int dw) {
  const int sh = int(img.height()), sw = int(img.width()), C = int(img.channels());
  const std::vector<double> px = test::values(img);
  std::vector<double> out(std::size_t(dh) * dw * C);
  for (int y = 0; y < dh; ++y) {
    const RefTap ty = ref_tap(y, sh, dh);
    for (int x = 0; x < dw; ++x) {
      const RefTap tx = ref_tap(x, sw, dw);
      for (int c = 0; c < C; ++c) {
        auto at = [&](int yy, int xx) { return px[(std::size_t(yy) * sw + xx) * C + c]; };
        const double top = at(ty.i0, tx.i0) * (1 - tx.f) + at(ty.i0, tx.i1) * tx.f;
        const double bottom = at(ty.i1, tx.i0) * (1 - tx.f) + at(ty.i1, tx.i1) * tx.f;
        double v = top * (1 - ty.f) + bottom * ty.f;
        if (img.dtype != DType::f32) v = std::nearbyint(v);
        out[(std::size_t(y) * dw + x) * C + c] = v;
      }
    }
  }
  return out;
}

// u8: 11-bit weights (OpenCV's) move results by less than one step before
// rounding; u16: float arithmetic; f32: float arithmetic on values in [0, 1).
double tolerance(DType t) { return t == DType::f32 ? 1e-4 : 1.0; }

struct Case {
  DType dtype;
  int channels;
  double top;
};
const Case kCases[] = {{DType::u8, 1, 255},    {DType::u8, 3, 255},    {DType::u8, 4, 255},
                       {DType::u16, 1, 65535}, {DType::u16, 3, 65535}, {DType::u16, 4, 65535},
                       {DType::f32, 1, 1.0},   {DType::f32, 3, 1.0},   {DType::f32, 4, 1.0}};
// {src h, src w, dst h, dst w}: up, down, non-integer both ways, exact 2x, 1x1 in
// and out, single rows / columns, primes, sizes off the GPU's 32 x 8 block.
const int kShapes[][4] = {{1, 1, 1, 1},    {1, 1, 5, 7},     {7, 5, 1, 1},    {1, 17, 3, 40},
                          {19, 1, 7, 2},   {37, 53, 71, 103}, {37, 53, 11, 13}, {40, 60, 20, 30},
                          {33, 70, 50, 29}, {10, 10, 10, 10}, {64, 64, 33, 97}, {3, 200, 300, 2}};

std::string describe(const Case& k, const int* s) {
  return std::string(dtype_name(k.dtype)) + " x" + std::to_string(k.channels) + " " + std::to_string(s[0]) + "x" +
         std::to_string(s[1]) + " -> " + std::to_string(s[2]) + "x" + std::to_string(s[3]);
}

class ResizeTest : public test::DeviceTest {};

TEST_P(ResizeTest, MatchesNaiveBilinearForEveryDtypeAndChannels) {
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    std::uint64_t seed = 1;
    for (const Case& k : kCases)
      for (const auto& s : kShapes) {
        const Tensor img = test::random_image_upto(k.dtype, s[0], s[1], k.channels, seed++, k.top);
        const Tensor out = runner.run("resize", {{"width", std::to_string(s[3])}, {"height", std::to_string(s[2])}},
                                      img.view());
        ASSERT_EQ(out.view().height(), s[2]) << describe(k, s);
        ASSERT_EQ(out.view().width(), s[3]) << describe(k, s);
        ASSERT_EQ(out.view().channels(), k.channels) << describe(k, s);
        EXPECT_TRUE(test::all_near(out.view(), ref_resize(img.view(), s[2], s[3]), tolerance(k.dtype))) << describe(k, s);
      }
  });
}

TEST_P(ResizeTest, IdentitySizeCopiesExactly) {
  test::DeviceRunner runner(GetParam());
  for (const Case& k : kCases) {
    const Tensor img = test::random_image_upto(k.dtype, 13, 29, k.channels, 3, k.top);
    const Tensor out = runner.run("resize", {{"width", "29"}, {"height", "13"}}, img.view());
    EXPECT_TRUE(test::all_near(out.view(), test::values(img.view()), 0)) << dtype_name(k.dtype);
  }
}

TEST_P(ResizeTest, LargeImages) {
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    for (const Case& k : {kCases[1], kCases[3], kCases[6]})
      for (auto [h, w] : {std::pair{1031, 777}, {311, 1500}}) {
        const Tensor img = test::random_image_upto(k.dtype, 1031, 777, k.channels, 9, k.top);
        const Tensor out =
            runner.run("resize", {{"width", std::to_string(w)}, {"height", std::to_string(h)}}, img.view());
        EXPECT_TRUE(test::all_near(out.view(), ref_resize(img.view(), h, w), tolerance(k.dtype)))
            << dtype_name(k.dtype) << " -> " << h << "x" << w;
      }
  });
}

// Halving u8 exactly: both weights are 1/2, so the result is the rounded mean of
// each 2x2 block, (a + b + c + d + 2) >> 2 (OpenCV's INTER_LINEAR gives the same:
// its 11-bit weights are 1024 each). Widths around the CPU's vector blocks (32
// gray pixels, 8 colour pixels), padded rows in and out.
TEST_P(ResizeTest, ExactHalvingOfU8IsTheRoundedMeanOf2x2Blocks) {
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    for (int c : {1, 3, 4})
      for (int dw : {1, 7, 8, 9, 10, 11, 31, 32, 33, 45, 64, 77, 130}) {
        const int dh = 3 + dw % 4;
        const Tensor img = test::random_image(DType::u8, 2 * dh, 2 * dw, c, static_cast<std::uint64_t>(dw * 10 + c));
        const View s = img.view();
        std::vector<double> want;
        for (int y = 0; y < dh; ++y)
          for (int x = 0; x < dw; ++x)
            for (int ch = 0; ch < c; ++ch) {
              int sum = 0;
              for (int dy = 0; dy < 2; ++dy)
                for (int dx = 0; dx < 2; ++dx) sum += int(test::pixel(s, 2 * y + dy, 2 * x + dx, ch));
              want.push_back((sum + 2) >> 2);
            }
        const Tensor zeros = test::random_image_upto(DType::u8, dh, dw, c, 1, 0);
        test::PaddedImage src = test::padded_image(s, GetParam(), 5, runner.exec().stream);
        test::PaddedImage dst = test::padded_image(zeros.view(), GetParam(), 3, runner.exec().stream);
        ASSERT_TRUE(resize(src.view, dst.view, ResizeParams{}, runner.exec()).ok());
        EXPECT_TRUE(test::all_near(runner.download(dst.view).view(), want, 0)) << "c=" << c << " dw=" << dw;
        const Tensor packed = runner.run("resize", {{"width", std::to_string(dw)}, {"height", std::to_string(dh)}}, s);
        EXPECT_TRUE(test::all_near(packed.view(), want, 0)) << "packed c=" << c << " dw=" << dw;
      }
  });
}

// CPU/GPU same math: u16 and f32 interpolate in float with each product and each sum rounded
// once (no fused multiply-add; the CUDA kernel rounds with __fmul_rn / __fadd_rn), so the
// CPU result must equal this scalar reference bit for bit on every SIMD target. volatile
// forces the rounding of every step here whatever the compiler's contraction setting.
float rounded(float x) {
  volatile float v = x;
  return v;
}
float lerp_each_step(float s0, float s1, float a0, float a1) { return rounded(rounded(s0 * a0) + rounded(s1 * a1)); }
struct FloatTap {
  int i0, i1;
  float w0, w1;
};
FloatTap float_tap(int d, int src_n, int dst_n) {
  volatile double pos = (d + 0.5) * (1.0 / (double(dst_n) / src_n));
  const float s = static_cast<float>(pos - 0.5);
  int i0 = static_cast<int>(std::floor(s));
  float f = s - std::floor(s);
  if (i0 < 0) i0 = 0, f = 0;
  if (i0 >= src_n - 1) i0 = src_n - 1, f = 0;
  return {i0, std::min(i0 + 1, src_n - 1), rounded(1.0f - f), f};
}

// The expected dh x dw resize of img, element by element from the float taps:
// f(ty, tx, at) is one output element, at(row, col) the input element of its channel.
template <class F>
std::vector<double> tap_reference(const View& img, int dh, int dw, F&& f) {
  const int sh = int(img.height()), sw = int(img.width()), C = int(img.channels());
  const std::vector<double> px = test::values(img);
  std::vector<double> want;
  for (int y = 0; y < dh; ++y) {
    const FloatTap ty = float_tap(y, sh, dh);
    for (int x = 0; x < dw; ++x) {
      const FloatTap tx = float_tap(x, sw, dw);
      for (int c = 0; c < C; ++c)
        want.push_back(f(ty, tx, [&](int yy, int xx) { return px[(std::size_t(yy) * sw + xx) * C + c]; }));
    }
  }
  return want;
}

TEST_P(ResizeTest, FloatLerpsRoundEachStepLikeTheGpu) {
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    for (const Case& k : {kCases[3], kCases[4], kCases[6], kCases[7], kCases[8]})
      for (const auto& s : {std::array<int, 4>{37, 53, 71, 103}, {64, 64, 33, 97}, {41, 300, 29, 111}}) {
        const Tensor img = test::random_image_upto(k.dtype, s[0], s[1], k.channels, 17, k.top);
        const Tensor out = runner.run("resize", {{"width", std::to_string(s[3])}, {"height", std::to_string(s[2])}},
                                      img.view());
        const int C = k.channels;
        const std::vector<double> want =
            tap_reference(img.view(), s[2], s[3], [&](const FloatTap& ty, const FloatTap& tx, auto px) {
              auto at = [&](int yy, int xx) { return float(px(yy, xx)); };
              const float h0 = lerp_each_step(at(ty.i0, tx.i0), at(ty.i0, tx.i1), tx.w0, tx.w1);
              const float h1 = lerp_each_step(at(ty.i1, tx.i0), at(ty.i1, tx.i1), tx.w0, tx.w1);
              float v = lerp_each_step(h0, h1, ty.w0, ty.w1);
              if (k.dtype == DType::u16) v = std::nearbyint(std::clamp(v, 0.0f, 65535.0f));
              return double(v);
            });
        EXPECT_TRUE(test::all_near(out.view(), want, 0)) << dtype_name(k.dtype) << " x" << C;
      }
  });
}

// u8 interpolates in 11-bit fixed point (OpenCV's INTER_RESIZE_COEF_BITS): weights
// rint(w * 2048), the exact integer sum of pixel x weight x weight, rounded by
// (sum + 2^21) >> 22 -- the integers the CUDA kernel computes, so the CPU must give them bit
// for bit on every SIMD target, whichever order its passes take. Shapes: downscales wide
// enough for the row chunks and the vector blocks with tails, an upscale, odd sizes.
TEST_P(ResizeTest, U8IsTheExactFixedPointSumOnEveryTarget) {
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    for (const int C : {1, 3, 4})
      for (const auto& s : {std::array<int, 4>{37, 2111, 13, 781}, {29, 1001, 11, 370}, {64, 64, 33, 97},
                            {17, 300, 40, 611}, {9, 4100, 4, 1517}}) {
        const Tensor img = test::random_image_upto(DType::u8, s[0], s[1], C, 23 + C, 255);
        const Tensor out = runner.run("resize", {{"width", std::to_string(s[3])}, {"height", std::to_string(s[2])}},
                                      img.view());
        const auto fixed = [](float w) { return static_cast<std::int64_t>(std::nearbyint(w * 2048.0f)); };
        const std::vector<double> want =
            tap_reference(img.view(), s[2], s[3], [&](const FloatTap& ty, const FloatTap& tx, auto px) {
              auto at = [&](int yy, int xx) { return std::int64_t(px(yy, xx)); };
              const std::int64_t h0 = at(ty.i0, tx.i0) * fixed(tx.w0) + at(ty.i0, tx.i1) * fixed(tx.w1);
              const std::int64_t h1 = at(ty.i1, tx.i0) * fixed(tx.w0) + at(ty.i1, tx.i1) * fixed(tx.w1);
              const std::int64_t sum = h0 * fixed(ty.w0) + h1 * fixed(ty.w1);
              return double(std::min<std::int64_t>(255, (sum + (std::int64_t(1) << 21)) >> 22));
            });
        EXPECT_TRUE(test::all_near(out.view(), want, 0))
            << "x" << C << " " << s[0] << "x" << s[1] << " -> " << s[2] << "x" << s[3];
      }
  });
}

TEST_P(ResizeTest, PaddedRowsInAndOut) {
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    for (const Case& k : kCases) {
      const Tensor img = test::random_image_upto(k.dtype, 23, 41, k.channels, 5, k.top);
      const Tensor out = test::run_padded_rows(runner, img.view(), 30, 17, 7, 5, [&](const View& s, const View& d) {
        return resize(s, d, ResizeParams{}, runner.exec());  // size from dst
      });
      EXPECT_TRUE(test::all_near(out.view(), ref_resize(img.view(), 30, 17), tolerance(k.dtype)))
          << dtype_name(k.dtype) << " x" << k.channels;
    }
  });
}

TEST_P(ResizeTest, GpuMatchesCpuBitForBit) {
  if (GetParam().is_cpu()) GTEST_SKIP() << "compares the CUDA result with the CPU one";
  test::DeviceRunner gpu(GetParam()), cpu(Device::cpu());
  for (const Case& k : kCases)
    for (auto [h, w] : {std::pair{53, 301}, {300, 71}}) {
      const Tensor img = test::random_image_upto(k.dtype, 131, 97, k.channels, 11, k.top);
      const std::map<std::string, std::string, std::less<>> p{{"width", std::to_string(w)}, {"height", std::to_string(h)}};
      const Tensor a = gpu.run("resize", p, img.view());
      const Tensor b = cpu.run("resize", p, img.view());
      EXPECT_TRUE(test::all_near(a.view(), test::values(b.view()), 0)) << dtype_name(k.dtype) << " x" << k.channels;
    }
}

TEST_P(ResizeTest, MatchesOpenCVGoldenFiles) {
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    const std::pair<const char*, std::vector<std::pair<int, int>>> cases[] = {
        {"u8c3", {{67, 53}, {17, 13}, {29, 41}, {20, 15}, {1, 1}}},
        {"f32c1", {{67, 53}, {17, 13}, {29, 41}, {20, 15}, {1, 1}}},
        {"u16c1", {{67, 53}, {17, 13}, {29, 41}}}};
    for (const auto& [tag, sizes] : cases) {
      Tensor in;
      ASSERT_TRUE(test::read_npy(test::golden_path(std::string("resample_resize_in_") + tag + ".npy"), in).ok()) << tag;
      for (auto [w, h] : sizes) {
        const std::string name = std::string("resample_resize_out_") + tag + "_" + std::to_string(w) + "x" +
                                 std::to_string(h) + ".npy";
        Tensor want;
        ASSERT_TRUE(test::read_npy(test::golden_path(name), want).ok()) << name;
        const Tensor out =
            runner.run("resize", {{"width", std::to_string(w)}, {"height", std::to_string(h)}}, in.view());
        EXPECT_TRUE(test::all_near(out.view(), test::values(want.view()), tolerance(in.view().dtype))) << name;
      }
    }
  });
}

INSTANTIATE_TEST_SUITE_P(Devices, ResizeTest, ::testing::ValuesIn(test::test_devices()), test::device_name);

// ---- errors ------------------------------------------------------------------

bool mentions(const Status& s, const std::string& what) { return s.message().find(what) != std::string::npos; }

TEST(ResizeErrors, RejectsBadSizes) {
  const Tensor img = test::random_image_upto(DType::u8, 8, 8, 3, 1, 255);
  Tensor out;
  for (auto [w, h] : {std::pair<std::int64_t, std::int64_t>{0, 5}, {5, 0}, {-1, 3}, {kResizeMaxSide + 1, 2}}) {
    ResizeParams p;
    p.width = w;
    p.height = h;
    const Status s = resize(img.view(), out, p, Exec::cpu());
    EXPECT_EQ(s.code(), Errc::invalid_argument) << w << "x" << h;
    EXPECT_TRUE(mentions(s, "resize: parameter '") && mentions(s, "out of range") && mentions(s, "[1, 1048576]"))
        << s.message();
  }
  const OpSpec* spec = find_op("resize");
  ASSERT_NE(spec, nullptr);
  OpArgs args;
  EXPECT_TRUE(mentions(parse_args(*spec, {{"width", "10"}}, args), "needs parameter height"));
  EXPECT_TRUE(mentions(parse_args(*spec, {{"width", "0"}, {"height", "3"}}, args), "out of range"));
}

TEST(ResizeErrors, RejectsUnsupportedInputsAndBadOutputs) {
  Tensor out;
  ResizeParams p;
  p.width = 4;
  p.height = 4;
  for (auto [dtype, c] : {std::pair{DType::i32, 1}, {DType::f64, 3}, {DType::u8, 2}, {DType::u16, 5}}) {
    const Tensor img = test::random_image_upto(dtype, 4, 4, c, 1, 1);
    EXPECT_EQ(resize(img.view(), out, p, Exec::cpu()).code(), Errc::unsupported) << dtype_name(dtype) << c;
  }
  const Tensor img = test::random_image_upto(DType::f32, 6, 5, 3, 1, 1);
  Tensor dst;
  ASSERT_TRUE(Tensor::create_image(DType::f32, 4, 4, 3, Device::cpu(), dst).ok());
  p.width = 5;  // disagrees with dst
  EXPECT_TRUE(mentions(resize(img.view(), dst.view(), p, Exec::cpu()), "output must be f32 4x5x3"));
  EXPECT_TRUE(resize(img.view(), dst.view(), ResizeParams{}, Exec::cpu()).ok());
  EXPECT_TRUE(mentions(resize(img.view(), img.view(), ResizeParams{}, Exec::cpu()), "overlaps"));
  Exec gpu_no_stream{Device::cuda(0), nullptr, 0};
  p.width = 4;
  EXPECT_TRUE(mentions(resize(img.view(), out, p, gpu_no_stream), "input is on cpu"));
}

}  // namespace
}  // namespace tandem
