// median: every device x dtype x channel count x window size against a naive
// sort of each window (exact), awkward sizes (windows larger than the image),
// padded rows, error paths, and cv2.medianBlur golden files
// (tests/golden/make_resample_golden.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "host/ops/neighbourhood.hpp"
#include "tandem/ops/median.hpp"
#include "tests/support/image_helpers.hpp"
#include "tests/pointops_test_util.hpp"
#include "tests/support/npy.hpp"
#include "tests/support/simd_targets.hpp"
#include "tests/support/test_support.hpp"

namespace tandem {
namespace {

// The median of every K x K window, edge pixels replicated: the middle element
// of the window in sorted order (std::nth_element puts exactly that element there).
std::vector<double> ref_median(const View& img, int K) {
  const int H = int(img.height()), W = int(img.width()), C = int(img.channels()), r = K / 2;
  const std::vector<double> px = test::values(img);
  std::vector<double> out(px.size()), win;
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x)
      for (int c = 0; c < C; ++c) {
        win.clear();
        for (int dy = -r; dy <= r; ++dy)
          for (int dx = -r; dx <= r; ++dx) {
            const int yy = std::clamp(y + dy, 0, H - 1), xx = std::clamp(x + dx, 0, W - 1);
            win.push_back(px[(std::size_t(yy) * W + xx) * C + c]);
          }
        std::nth_element(win.begin(), win.begin() + win.size() / 2, win.end());
        out[(std::size_t(y) * W + x) * C + c] = win[win.size() / 2];
      }
  return out;
}

struct Case {
  DType dtype;
  int channels;
  double top;  // values in [0, top]; small tops make many ties
};
const Case kCases[] = {{DType::u8, 1, 255},     {DType::u8, 3, 255},  {DType::u8, 4, 255}, {DType::u8, 1, 3},
                       {DType::u16, 1, 65535}, {DType::u16, 3, 65535}, {DType::f32, 1, 1.0},
                       {DType::u16, 4, 65535}, {DType::f32, 3, 1.0},   {DType::f32, 4, 1.0}};
const int kSizes[][2] = {{1, 1}, {1, 17}, {19, 1}, {2, 2}, {4, 3}, {37, 53}, {33, 70}, {9, 64}};

std::vector<int> windows_for(DType t) {
  if (t == DType::u8) return {1, 3, 5, 7, 9, 15, 31};
  return {1, 3, 5, 7, 9};
}

std::string describe(const Case& k, int K, int h, int w) {
  return std::string(dtype_name(k.dtype)) + " x" + std::to_string(k.channels) + " K=" + std::to_string(K) + " " +
         std::to_string(h) + "x" + std::to_string(w);
}

class MedianTest : public test::DeviceTest {};

TEST_P(MedianTest, MatchesNaiveSortExactly) {
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    std::uint64_t seed = 1;
    for (const Case& k : kCases)
      for (int K : windows_for(k.dtype))
        for (const auto& hw : kSizes) {
          const Tensor img = test::random_image_upto(k.dtype, hw[0], hw[1], k.channels, seed++, k.top);
          const Tensor out = runner.run("median", {{"size", std::to_string(K)}}, img.view());
          EXPECT_TRUE(test::all_near(out.view(), ref_median(img.view(), K), 0)) << describe(k, K, hw[0], hw[1]);
        }
  });
}

TEST_P(MedianTest, LargestWindows) {
  test::DeviceRunner runner(GetParam());
  // u8 up to 255 (larger than the image, and not), u16 / f32 up to 99.
  for (auto [dtype, c, K, h, w] : {std::tuple{DType::u8, 3, 255, 9, 14}, {DType::u8, 1, 255, 130, 7},
                                   {DType::u8, 1, 101, 70, 90}, {DType::u8, 4, 63, 20, 300},
                                   {DType::u16, 1, 99, 12, 40}, {DType::f32, 1, 99, 40, 9},
                                   {DType::f32, 1, 21, 40, 41}}) {
    const Tensor img = test::random_image_upto(dtype, h, w, c, std::uint64_t(K), dtype == DType::f32 ? 1.0 : 255);
    const Tensor out = runner.run("median", {{"size", std::to_string(K)}}, img.view());
    EXPECT_TRUE(test::all_near(out.view(), ref_median(img.view(), K), 0))
        << dtype_name(dtype) << " x" << c << " K=" << K << " " << h << "x" << w;
  }
}

// Large enough for several threads' bands, and (K = 3, u16 x4 and f32 x3) rows of more
// than one 4 KiB piece of sorted columns.
TEST_P(MedianTest, LargeImages) {
  test::DeviceRunner runner(GetParam());
  for (auto [dtype, c, K] : {std::tuple{DType::u8, 3, 3}, {DType::u8, 1, 5}, {DType::u8, 1, 9},
                             {DType::u16, 1, 5}, {DType::f32, 1, 7}, {DType::u16, 4, 3}, {DType::f32, 3, 3}}) {
    const Tensor img = test::random_image_upto(dtype, 1031, 777, c, 5, dtype == DType::f32 ? 1.0 : 255);
    const Tensor out = runner.run("median", {{"size", std::to_string(K)}}, img.view());
    EXPECT_TRUE(test::all_near(out.view(), ref_median(img.view(), K), 0))
        << dtype_name(dtype) << " x" << c << " K=" << K;
  }
}

TEST_P(MedianTest, PaddedRowsInAndOut) {
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    for (const Case& k : kCases)
      for (int K : {3, 5, 11}) {
        const Tensor img = test::random_image_upto(k.dtype, 23, 41, k.channels, 5, k.top);
        const Tensor zeros = test::random_image_upto(k.dtype, 23, 41, k.channels, 6, 0);
        test::PaddedImage src = test::padded_image(img.view(), GetParam(), 5, runner.exec().stream);
        test::PaddedImage dst = test::padded_image(zeros.view(), GetParam(), 9, runner.exec().stream);
        MedianParams p;
        p.size = K;
        ASSERT_TRUE(median(src.view, dst.view, p, runner.exec()).ok());
        const Tensor out = runner.download(dst.view);
        EXPECT_TRUE(test::all_near(out.view(), ref_median(img.view(), K), 0)) << describe(k, K, 23, 41);
      }
  });
}

// K = 3 on integers walks bands of 4 rows where source and output fill more
// than half the shared cache (8 rows otherwise): with the cache set to 1 byte,
// rows that start anywhere (padded), bands cut short at the bottom, one
// vector's width (the column path) up to many vectors per row.
TEST_P(MedianTest, ShortBandsMatchOnEveryTarget) {
  const test::pointops::SharedCacheOf tiny(1);
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    for (const Case& k : kCases) {
      if (k.dtype == DType::f32) continue;
      for (auto [h, w] : {std::pair{5, 1}, {7, 131}, {4, 1700}, {9, 67}}) {
        const Tensor img = test::random_image_upto(k.dtype, h, w, k.channels, std::uint64_t(h * w), k.top);
        const Tensor zeros = test::random_image_upto(k.dtype, h, w, k.channels, 6, 0);
        test::PaddedImage src = test::padded_image(img.view(), GetParam(), 3, runner.exec().stream);
        test::PaddedImage dst = test::padded_image(zeros.view(), GetParam(), 7, runner.exec().stream);
        MedianParams p;
        p.size = 3;
        ASSERT_TRUE(median(src.view, dst.view, p, runner.exec()).ok());
        const Tensor out = runner.download(dst.view);
        EXPECT_TRUE(test::all_near(out.view(), ref_median(img.view(), 3), 0)) << describe(k, 3, h, w);
      }
    }
  });
}

TEST_P(MedianTest, FloatOrderIncludesSignedZerosAndInfinities) {
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    Tensor img = test::random_image_upto(DType::f32, 17, 19, 1, 3, 1.0);
    float* p = img.view().ptr<float>();
    const float specials[] = {-0.0f, 0.0f, -1e30f, 1e-40f, -std::numeric_limits<float>::infinity(),
                              std::numeric_limits<float>::infinity(), -3.5f};
    for (int i = 0; i < 17 * 19; i += 2) p[i] = specials[(i / 2) % 7];
    for (int K : {3, 5, 7}) {
      const Tensor out = runner.run("median", {{"size", std::to_string(K)}}, img.view());
      EXPECT_TRUE(test::all_near(out.view(), ref_median(img.view(), K), 0)) << "K=" << K;
    }
  });
}

TEST_P(MedianTest, GpuMatchesCpuBitForBit) {
  if (GetParam().is_cpu()) GTEST_SKIP() << "compares the CUDA result with the CPU one";
  test::DeviceRunner gpu(GetParam()), cpu(Device::cpu());
  for (const Case& k : kCases)
    for (int K : {3, 5, 7, 9}) {
      const Tensor img = test::random_image_upto(k.dtype, 131, 97, k.channels, 11, k.top);
      const Tensor a = gpu.run("median", {{"size", std::to_string(K)}}, img.view());
      const Tensor b = cpu.run("median", {{"size", std::to_string(K)}}, img.view());
      EXPECT_TRUE(test::all_near(a.view(), test::values(b.view()), 0)) << describe(k, K, 131, 97);
    }
}

TEST_P(MedianTest, MatchesOpenCVGoldenFiles) {
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    const std::pair<const char*, std::vector<int>> cases[] = {
        {"u8c3", {3, 5, 7, 15}}, {"u8c1small", {15}}, {"u16c1", {3, 5}}, {"f32c1", {3, 5}}};
    for (const auto& [tag, ks] : cases) {
      Tensor in;
      ASSERT_TRUE(test::read_npy(test::golden_path(std::string("resample_median_in_") + tag + ".npy"), in).ok()) << tag;
      for (int K : ks) {
        const std::string name = std::string("resample_median_out_") + tag + "_k" + std::to_string(K) + ".npy";
        Tensor want;
        ASSERT_TRUE(test::read_npy(test::golden_path(name), want).ok()) << name;
        const Tensor out = runner.run("median", {{"size", std::to_string(K)}}, in.view());
        EXPECT_TRUE(test::all_near(out.view(), test::values(want.view()), 0)) << name;
      }
    }
  });
}

INSTANTIATE_TEST_SUITE_P(Devices, MedianTest, ::testing::ValuesIn(test::test_devices()), test::device_name);

// ---- errors ------------------------------------------------------------------

bool mentions(const Status& s, const std::string& what) { return s.message().find(what) != std::string::npos; }

// u16 / f32 with K >= 9 keep the window's K row pointers and K*K 32-bit keys in
// one scratch block per thread. The pointers once followed the keys, so after
// an odd number of keys they sat on a 4-byte boundary: a misaligned pointer
// (undefined behaviour, flagged by -fsanitize=alignment for every odd K).
TEST(MedianScratch, RowPointersAreAlignedForEveryWindow) {
  for (int k = 9; k <= kMedianMaxSizeWide; k += 2) {
    const nbh::MedianSelectLayout l = nbh::median_select_layout(k);
    EXPECT_EQ(l.rows % alignof(const void*), 0u) << "K=" << k;
    EXPECT_EQ(l.keys % alignof(std::uint32_t), 0u) << "K=" << k;
    const std::size_t rows_end = l.rows + sizeof(const void*) * std::size_t(k);
    const std::size_t keys_end = l.keys + sizeof(std::uint32_t) * std::size_t(k) * std::size_t(k);
    EXPECT_TRUE(rows_end <= l.keys || keys_end <= l.rows) << "K=" << k << ": the two arrays overlap";
    EXPECT_GE(l.bytes, std::max(rows_end, keys_end)) << "K=" << k;
  }
}

TEST(MedianErrors, RejectsBadWindowSizes) {
  Tensor out;
  const Tensor u8 = test::random_image_upto(DType::u8, 8, 8, 1, 1, 255);
  const Tensor f32 = test::random_image_upto(DType::f32, 8, 8, 1, 1, 1);
  for (int K : {0, 2, 4, -3, 257}) {
    MedianParams p;
    p.size = K;
    const Status s = median(u8.view(), out, p, Exec::cpu());
    EXPECT_EQ(s.code(), Errc::invalid_argument) << K;
    // Outside [1, 255] the declared range says so; inside it, even sizes are refused as even.
    EXPECT_TRUE(mentions(s, "median") && mentions(s, K == 2 || K == 4 ? "must be odd" : "[1, 255]")) << s.message();
  }
  MedianParams big;
  big.size = 101;
  const Status s = median(f32.view(), out, big, Exec::cpu());
  EXPECT_TRUE(mentions(s, "at most 99 for f32")) << s.message();
  big.size = 99;
  EXPECT_TRUE(median(f32.view(), out, big, Exec::cpu()).ok());
  // Through the op table: size is required and bounded.
  const OpSpec* spec = find_op("median");
  ASSERT_NE(spec, nullptr);
  OpArgs args;
  EXPECT_TRUE(mentions(parse_args(*spec, {}, args), "needs parameter size"));
  EXPECT_TRUE(mentions(parse_args(*spec, {{"size", "300"}}, args), "out of range"));
}

TEST(MedianErrors, RejectsUnsupportedInputsAndBadOutputs) {
  Tensor out;
  for (auto [dtype, c] : {std::pair{DType::i32, 1}, {DType::u16, 2}, {DType::f32, 5}, {DType::u8, 2}}) {
    const Tensor img = test::random_image_upto(dtype, 4, 4, c, 1, 1);
    const Status s = median(img.view(), out, MedianParams{}, Exec::cpu());
    EXPECT_EQ(s.code(), Errc::unsupported) << s.message();
  }
  const Tensor img = test::random_image_upto(DType::u16, 6, 5, 3, 1, 255);
  Tensor wrong;
  ASSERT_TRUE(Tensor::create_image(DType::u16, 6, 5, 1, Device::cpu(), wrong).ok());
  EXPECT_TRUE(mentions(median(img.view(), wrong.view(), MedianParams{}, Exec::cpu()), "output must be u16 6x5x3"));
  EXPECT_TRUE(mentions(median(img.view(), img.view(), MedianParams{}, Exec::cpu()), "overlaps"));
  Exec gpu_no_stream{Device::cuda(0), nullptr, 0};
  EXPECT_TRUE(mentions(median(img.view(), out, MedianParams{}, gpu_no_stream), "input is on cpu"));
}

}  // namespace
}  // namespace tandem
