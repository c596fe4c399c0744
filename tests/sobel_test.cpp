// sobel: every device x dtype x channel count x border mode against a naive
// float64 reference written here, awkward sizes, padded rows, error paths, and
// OpenCV golden files (tests/golden/make_resample_golden.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "tandem/ops/sobel.hpp"
#include "tests/support/image_helpers.hpp"
#include "tests/support/npy.hpp"
#include "tests/support/padded_rows.hpp"
#include "tests/support/simd_targets.hpp"
#include "tests/support/test_support.hpp"

namespace tandem {
namespace {

// The border rules, written independently of kernels/common.cuh.
int ref_index(int p, int n, Border b) {
  if (p >= 0 && p < n) return p;
  if (b == Border::constant) return -1;
  if (b == Border::replicate || n == 1) return std::clamp(p, 0, n - 1);
  const int period = 2 * n - 2;  // reflect101: ... 2 1 | 0 1 2 ... n-1 | n-2 ...
  int q = ((p % period) + period) % period;
  return q < n ? q : period - q;
}

double dtype_max(DType t) {
  return t == DType::u8 ? 255.0 : t == DType::u16 ? 65535.0 : std::numeric_limits<double>::infinity();
}

// Rounds half to even and saturates for integer dtypes; floats pass.
double ref_store(double v, DType t) {
  if (dtype_is_float(t)) return static_cast<float>(v);
  return std::clamp(std::nearbyint(v), 0.0, dtype_max(t));
}

std::vector<double> ref_sobel(const View& img, Border b, double value) {
  const int H = int(img.height()), W = int(img.width()), C = int(img.channels());
  const std::vector<double> px = test::values(img);
  const double outside = dtype_is_float(img.dtype) ? double(float(value)) : ref_store(value, img.dtype);
  auto at = [&](int y, int x, int c) {
    const int yy = ref_index(y, H, b), xx = ref_index(x, W, b);
    return yy < 0 || xx < 0 ? outside : px[(std::size_t(yy) * W + xx) * C + c];
  };
  static const int kx[3][3] = {{-1, 0, 1}, {-2, 0, 2}, {-1, 0, 1}};
  std::vector<double> out(px.size());
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x)
      for (int c = 0; c < C; ++c) {
        double gx = 0, gy = 0;
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 3; ++j) {
            gx += kx[i][j] * at(y + i - 1, x + j - 1, c);
            gy += kx[j][i] * at(y + i - 1, x + j - 1, c);
          }
        out[(std::size_t(y) * W + x) * C + c] = ref_store(std::sqrt(gx * gx + gy * gy), img.dtype);
      }
  return out;
}

// u8: gx, gy and gx^2 + gy^2 are exact in float, so the float result is exact.
// u16: gx^2 + gy^2 rounds in float. f32: float arithmetic.
double tolerance(DType t) { return t == DType::u8 ? 0.0 : t == DType::u16 ? 1.0 : 1e-5; }

struct Case {
  DType dtype;
  int channels;
  double top;  // input values in [0, top]
};
const Case kCases[] = {{DType::u8, 1, 255},     {DType::u8, 3, 255},  {DType::u8, 4, 255},
                       {DType::u16, 1, 65535}, {DType::u16, 3, 3000}, {DType::f32, 1, 1.0},
                       {DType::u16, 4, 3000},  {DType::f32, 3, 1.0},  {DType::f32, 4, 1.0}};
const Border kBorders[] = {Border::reflect101, Border::replicate, Border::constant};
// 1x1, single rows and columns, primes, sizes off the GPU's 32 x 8 tile.
const int kSizes[][2] = {{1, 1}, {1, 17}, {19, 1}, {2, 2}, {3, 5}, {37, 53}, {33, 70}, {9, 64}};

double border_value(DType t) { return t == DType::f32 ? 0.25 : 7.5; }  // 7.5 rounds to 8

std::string describe(const Case& k, Border b, int h, int w) {
  return std::string(dtype_name(k.dtype)) + " x" + std::to_string(k.channels) + " " + border_name(b) + " " +
         std::to_string(h) + "x" + std::to_string(w);
}

class SobelTest : public test::DeviceTest {};

TEST_P(SobelTest, MatchesNaiveReferenceForEveryDtypeChannelsAndBorder) {
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    std::uint64_t seed = 1;
    for (const Case& k : kCases)
      for (Border b : kBorders)
        for (const auto& hw : kSizes) {
          const Tensor img = test::random_image_upto(k.dtype, hw[0], hw[1], k.channels, seed++, k.top);
          const double v = border_value(k.dtype);
          const Tensor out =
              runner.run("sobel", {{"border", border_name(b)}, {"value", std::to_string(v)}}, img.view());
          ASSERT_EQ(out.view().height(), hw[0]);
          EXPECT_TRUE(test::all_near(out.view(), ref_sobel(img.view(), b, v), tolerance(k.dtype)))
              << describe(k, b, hw[0], hw[1]);
        }
  });
}

TEST_P(SobelTest, LargeImages) {
  test::DeviceRunner runner(GetParam());
  for (const Case& k : {kCases[1], kCases[4], kCases[5]})
    for (Border b : {Border::reflect101, Border::constant}) {
      const Tensor img = test::random_image_upto(k.dtype, 1031, 777, k.channels, 99, k.top);
      const Tensor out = runner.run("sobel", {{"border", border_name(b)}, {"value", "3"}}, img.view());
      EXPECT_TRUE(test::all_near(out.view(), ref_sobel(img.view(), b, 3), tolerance(k.dtype)))
          << describe(k, b, 1031, 777);
    }
}

TEST_P(SobelTest, ConstantBorderValueSaturatesToTheDtype) {
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    const Tensor img = test::random_image_upto(DType::u8, 5, 6, 1, 7, 40);
    for (double v : {300.0, -20.0}) {
      const Tensor out = runner.run("sobel", {{"border", "constant"}, {"value", std::to_string(v)}}, img.view());
      EXPECT_TRUE(test::all_near(out.view(), ref_sobel(img.view(), Border::constant, v), 0)) << v;
    }
  });
}

TEST_P(SobelTest, PaddedRowsInAndOut) {
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    for (const Case& k : kCases) {
      const Tensor img = test::random_image_upto(k.dtype, 23, 41, k.channels, 5, k.top);
      SobelParams p;
      p.border = Border::replicate;
      const Tensor out = test::run_padded_rows(runner, img.view(), 23, 41, 7, 3, [&](const View& s, const View& d) {
        return sobel(s, d, p, runner.exec());
      });
      EXPECT_TRUE(test::all_near(out.view(), ref_sobel(img.view(), Border::replicate, 0), tolerance(k.dtype)))
          << dtype_name(k.dtype) << " x" << k.channels;
    }
  });
}

// The CUDA kernel evaluates kern::sobel_pixel in float, every step rounded
// (__fmul_rn, __fadd_rn, sqrt, rint), and GpuMatchesCpuBitForBit holds only if
// the CPU does the same on every SIMD target: no fused multiply-add, no
// reassociation. The reference rounds each step explicitly (a float product or
// sum taken exactly in double, then rounded once to float), independent of
// the compiler's contraction rules.
float mul_rn(float a, float b) { return float(double(a) * double(b)); }  // exact in double
float add_rn(float a, float b) { return float(double(a) + double(b)); }  // exact, or far from a float tie
float sub_rn(float a, float b) { return add_rn(a, -b); }
float smooth3_rn(float a, float b, float c) { return add_rn(add_rn(a, mul_rn(2.0f, b)), c); }

std::vector<double> ref_sobel_float_steps(const View& img, Border b, double value) {
  const int H = int(img.height()), W = int(img.width()), C = int(img.channels());
  const std::vector<double> px = test::values(img);
  const float outside = dtype_is_float(img.dtype) ? float(value) : float(ref_store(value, img.dtype));
  auto at = [&](int y, int x, int c) {
    const int yy = ref_index(y, H, b), xx = ref_index(x, W, b);
    return yy < 0 || xx < 0 ? outside : float(px[(std::size_t(yy) * W + xx) * C + c]);
  };
  std::vector<double> out(px.size());
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x)
      for (int c = 0; c < C; ++c) {
        float a[3][3];
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 3; ++j) a[i][j] = at(y + i - 1, x + j - 1, c);
        const float gx = sub_rn(smooth3_rn(a[0][2], a[1][2], a[2][2]), smooth3_rn(a[0][0], a[1][0], a[2][0]));
        const float gy = smooth3_rn(sub_rn(a[2][0], a[0][0]), sub_rn(a[2][1], a[0][1]), sub_rn(a[2][2], a[0][2]));
        const float m = std::sqrt(add_rn(mul_rn(gx, gx), mul_rn(gy, gy)));
        out[(std::size_t(y) * W + x) * C + c] = dtype_is_float(img.dtype) ? double(m) : ref_store(m, img.dtype);
      }
  return out;
}

TEST_P(SobelTest, CpuRoundsEveryStepAsTheGpuDoes) {
  if (!GetParam().is_cpu()) GTEST_SKIP() << "checks the CPU's vector code";
  test::for_each_simd_target([&] {
    test::DeviceRunner runner(GetParam());
    std::uint64_t seed = 300;
    for (const Case& k : kCases)
      for (Border b : kBorders) {
        // Full-range u16 makes gx^2 + gy^2 round in float; f32 rounds everywhere.
        const Tensor img = test::random_image_upto(k.dtype, 29, 83, k.channels, seed++, k.top);
        const double v = border_value(k.dtype);
        const Tensor out = runner.run("sobel", {{"border", border_name(b)}, {"value", std::to_string(v)}}, img.view());
        EXPECT_TRUE(test::all_near(out.view(), ref_sobel_float_steps(img.view(), b, v), 0))
            << describe(k, b, 29, 83);
      }
  });
}

TEST_P(SobelTest, GpuMatchesCpuBitForBit) {
  if (GetParam().is_cpu()) GTEST_SKIP() << "compares the CUDA result with the CPU one";
  test::DeviceRunner gpu(GetParam()), cpu(Device::cpu());
  for (const Case& k : kCases) {
    const Tensor img = test::random_image_upto(k.dtype, 131, 97, k.channels, 11, k.top);
    const Tensor a = gpu.run("sobel", {{"border", "reflect101"}}, img.view());
    const Tensor b = cpu.run("sobel", {{"border", "reflect101"}}, img.view());
    EXPECT_TRUE(test::all_near(a.view(), test::values(b.view()), 0)) << dtype_name(k.dtype);
  }
}

TEST_P(SobelTest, MatchesOpenCVGoldenFiles) {
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    for (const char* tag : {"u8c3", "u16c1", "f32c1"})
      for (Border b : kBorders) {
        Tensor in, want;
        ASSERT_TRUE(test::read_npy(test::golden_path(std::string("resample_sobel_in_") + tag + ".npy"), in).ok());
        const std::string name = std::string("resample_sobel_out_") + tag + "_" + border_name(b) + ".npy";
        ASSERT_TRUE(test::read_npy(test::golden_path(name), want).ok()) << name;
        const Tensor out = runner.run("sobel", {{"border", border_name(b)}}, in.view());
        EXPECT_TRUE(test::all_near(out.view(), test::values(want.view()), tolerance(in.view().dtype))) << name;
      }
  });
}

INSTANTIATE_TEST_SUITE_P(Devices, SobelTest, ::testing::ValuesIn(test::test_devices()), test::device_name);

// ---- errors ------------------------------------------------------------------

bool mentions(const Status& s, const std::string& what) { return s.message().find(what) != std::string::npos; }

TEST(SobelErrors, RejectsUnsupportedDtypesAndChannels) {
  Tensor out;
  const Exec cpu = Exec::cpu();
  for (auto [dtype, c] : {std::pair{DType::i32, 1}, {DType::f64, 1}, {DType::u16, 2}, {DType::f32, 5}, {DType::u8, 2}}) {
    const Tensor img = test::random_image_upto(dtype, 4, 4, c, 1, 1);
    const Status s = sobel(img.view(), out, SobelParams{}, cpu);
    EXPECT_EQ(s.code(), Errc::unsupported) << s.message();
    EXPECT_TRUE(mentions(s, "sobel") && mentions(s, dtype_name(dtype))) << s.message();
  }
}

TEST(SobelErrors, RejectsBadOutputsAndParams) {
  const Exec cpu = Exec::cpu();
  const Tensor img = test::random_image_upto(DType::u8, 6, 5, 3, 1, 255);
  Tensor wrong_shape, wrong_dtype;
  ASSERT_TRUE(Tensor::create_image(DType::u8, 5, 6, 3, Device::cpu(), wrong_shape).ok());
  ASSERT_TRUE(Tensor::create_image(DType::u16, 6, 5, 3, Device::cpu(), wrong_dtype).ok());
  Status s = sobel(img.view(), wrong_shape.view(), {}, cpu);
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_TRUE(mentions(s, "output must be u8 6x5x3")) << s.message();
  s = sobel(img.view(), wrong_dtype.view(), {}, cpu);
  EXPECT_TRUE(mentions(s, "output must be")) << s.message();
  s = sobel(img.view(), img.view(), {}, cpu);
  EXPECT_TRUE(mentions(s, "overlaps")) << s.message();
  SobelParams nan_value;
  nan_value.border = Border::constant;
  nan_value.value = std::nan("");
  Tensor out;
  s = sobel(img.view(), out, nan_value, cpu);
  EXPECT_TRUE(mentions(s, "finite")) << s.message();
  SobelParams bad_border;
  bad_border.border = static_cast<Border>(7);
  EXPECT_TRUE(mentions(sobel(img.view(), out, bad_border, cpu), "border")) ;
  // Through the op table: unknown choices name the valid ones.
  const OpSpec* spec = find_op("sobel");
  ASSERT_NE(spec, nullptr);
  OpArgs args;
  s = parse_args(*spec, {{"border", "wrap"}}, args);
  EXPECT_TRUE(mentions(s, "reflect101|replicate|constant")) << s.message();
}

TEST(SobelErrors, RejectsNonImagesEmptyInputsAndDeviceMismatch) {
  Tensor out;
  Tensor arr;
  ASSERT_TRUE(Tensor::create(DType::u8, {2, 3, 4, 5}, Device::cpu(), arr).ok());
  EXPECT_TRUE(mentions(sobel(arr.view(), out, {}, Exec::cpu()), "needs an image"));
  Tensor empty;
  ASSERT_TRUE(Tensor::create(DType::u8, {0, 5}, Device::cpu(), empty).ok());
  EXPECT_TRUE(mentions(sobel(empty.view(), out, {}, Exec::cpu()), "empty"));
  Tensor raw;
  ASSERT_TRUE(Tensor::create(DType::u8, {64}, Device::cpu(), raw).ok());
  const View odd_rows = View::image(raw.view().data, DType::u16, 3, 4, 1, Device::cpu(), 9);
  EXPECT_TRUE(mentions(sobel(odd_rows, out, {}, Exec::cpu()), "element boundaries"));
  const Tensor img = test::random_image_upto(DType::u8, 4, 4, 1, 1, 255);
  Exec gpu_no_stream{Device::cuda(0), nullptr, 0};
  const Status s = sobel(img.view(), out, {}, gpu_no_stream);
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_TRUE(mentions(s, "input is on cpu")) << s.message();
}

}  // namespace
}  // namespace tandem
