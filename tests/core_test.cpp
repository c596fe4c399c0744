// The data model and the op-table machinery (params parsing, input checks).
#include <gtest/gtest.h>
#include <hwy/targets.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstring>
#include <sstream>

#include "host/core/simd.hpp"
#include "tests/support/simd_targets.hpp"
#include "tests/support/test_support.hpp"

namespace tandem {
namespace {

TEST(DType, NamesRoundTrip) {
  for (DType t : kAllDTypes) {
    auto parsed = parse_dtype(dtype_name(t));
    ASSERT_TRUE(parsed.has_value()) << dtype_name(t);
    EXPECT_EQ(*parsed, t);
  }
  EXPECT_EQ(parse_dtype("float32"), DType::f32);
  EXPECT_FALSE(parse_dtype("f16").has_value());
  EXPECT_EQ(dtype_size(DType::u16), 2u);
  EXPECT_EQ(dtype_size(DType::f64), 8u);
}

TEST(View, ArrayStridesAreCOrder) {
  View v = View::array(nullptr, DType::f32, {2, 3, 5});
  EXPECT_EQ(v.ndim, 3);
  EXPECT_EQ(v.strides[2], 4);
  EXPECT_EQ(v.strides[1], 20);
  EXPECT_EQ(v.strides[0], 60);
  EXPECT_EQ(v.numel(), 30);
  EXPECT_TRUE(v.is_contiguous());
  EXPECT_TRUE(v.is_image());
  EXPECT_EQ(v.channels(), 5);
}

TEST(View, PaddedImageIsImageButNotContiguous) {
  View v = View::image(nullptr, DType::u8, 4, 7, 3, Device::cpu(), 32);
  EXPECT_TRUE(v.is_image());
  EXPECT_FALSE(v.is_contiguous());
  EXPECT_EQ(v.row_stride(), 32);
  EXPECT_EQ(v.width(), 7);
  EXPECT_EQ(v.describe(), "u8 4x7x3 on cpu");
}

TEST(Tensor, CreateAndCopyHost) {
  Tensor a = test::random_tensor(DType::i32, {3, 4}, 1);
  Tensor b;
  ASSERT_TRUE(Tensor::create_like(a.view(), Device::cpu(), b).ok());
  ASSERT_TRUE(copy(a.view(), b.view()).ok());
  for (int i = 0; i < 12; ++i) EXPECT_EQ(test::at(a.view(), i), test::at(b.view(), i));
  Tensor c;
  ASSERT_TRUE(Tensor::create(DType::i32, {4, 3}, Device::cpu(), c).ok());
  const Status s = copy(a.view(), c.view());
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_NE(s.message().find("does not match"), std::string::npos);
}

// A freed large host block serves the next request of its size, pages and all:
// writing the reused block faults no page in (a fresh 4 MiB block faults ~1024).
TEST(Tensor, LargeHostBlocksAreReusedWithoutPageFaults) {
  const auto minor_faults = [] {
    rusage u{};
    getrusage(RUSAGE_THREAD, &u);
    return u.ru_minflt;
  };
  constexpr std::size_t kBytes = std::size_t(4) << 20;
  void* first = nullptr;
  {
    Buffer b;
    ASSERT_TRUE(Buffer::allocate(kBytes, MemKind::host, b).ok());
    std::memset(b.data(), 1, kBytes);
    first = b.data();
  }
  Buffer again;
  ASSERT_TRUE(Buffer::allocate(kBytes, MemKind::host, again).ok());
  EXPECT_EQ(again.data(), first);
  const long f0 = minor_faults();
  std::memset(again.data(), 2, kBytes);
  EXPECT_LT(minor_faults() - f0, 64) << "the reused block faulted its pages in again";
  // Other sizes, and memory bound to a NUMA node, do not take it.
  Buffer other;
  ASSERT_TRUE(Buffer::allocate(kBytes + 8192, MemKind::host, other).ok());
  EXPECT_NE(other.data(), first);
}

TEST(Tensor, RefusesHugeAllocationWithStatus) {
  Tensor t;
  const Status s = Tensor::create(DType::f64, {std::int64_t(1) << 40, 1 << 20}, Device::cpu(), t);
  EXPECT_EQ(s.code(), Errc::out_of_memory);
}

TEST(Tensor, DeviceMemoryWithoutGpuIsAnErrorNotACrash) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a GPU is present; this checks the no-GPU path";
  Tensor t;
  const Status s = Tensor::create(DType::f32, {16}, Device::cuda(0), t);
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(s.message().empty());
}

// copy() to a device and back, on every device: a 1-D array (one linear
// copy on the GPU), padded rows on both sides, and a one-row view whose
// unused row stride is smaller than its row (no pitch to honour).
class CopyTest : public test::DeviceTest {};

::testing::AssertionResult same_elements(const View& got, const View& want) {
  std::vector<double> w(static_cast<std::size_t>(want.numel()));
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = test::at(want, static_cast<std::int64_t>(i));
  return test::all_near(got, w, 0);
}

TEST_P(CopyTest, RoundTripsKeepEveryElement) {
  test::DeviceRunner runner(GetParam());
  const Tensor line = test::random_tensor(DType::f32, {100003}, 11);
  EXPECT_TRUE(same_elements(runner.download(runner.upload(line.view()).view()).view(), line.view()));

  // Padded host image -> padded device image -> packed host image.
  const Tensor img = test::random_image(DType::u8, 37, 53, 3, 12);
  Tensor host_pad, dev_pad;
  ASSERT_TRUE(Tensor::create(DType::u8, {37, 192}, Device::cpu(), host_pad).ok());
  ASSERT_TRUE(Tensor::create(DType::u8, {37, 176}, GetParam(), dev_pad).ok());
  const View hp = View::image(host_pad.view().data, DType::u8, 37, 53, 3, Device::cpu(), 192);
  const View dp = View::image(dev_pad.view().data, DType::u8, 37, 53, 3, GetParam(), 176);
  ASSERT_TRUE(copy(img.view(), hp).ok());
  ASSERT_TRUE(copy(hp, dp, runner.exec().stream).ok());
  EXPECT_TRUE(same_elements(runner.download(dp).view(), img.view()));

  // One row of 100 bytes whose row stride says 1.
  const Tensor row = test::random_tensor(DType::u8, {1, 100}, 13);
  View odd = row.view();
  odd.strides[0] = 1;
  Tensor dev_row;
  ASSERT_TRUE(Tensor::create(DType::u8, {1, 100}, GetParam(), dev_row).ok());
  ASSERT_TRUE(copy(odd, dev_row.view(), runner.exec().stream).ok());
  EXPECT_TRUE(same_elements(runner.download(dev_row.view()).view(), row.view()));
}

INSTANTIATE_TEST_SUITE_P(Devices, CopyTest, ::testing::ValuesIn(test::test_devices()), test::device_name);

TEST(Status, ContextIsPrepended) {
  Status s(Errc::io_error, "No such file");
  EXPECT_EQ(s.with_context("reading a.png").message(), "reading a.png: No such file");
  EXPECT_TRUE(Status().with_context("x").ok());
}

TEST(Device, CudaStatusIsASentence) {
  EXPECT_FALSE(cuda_status().empty());
  if (!cuda_compiled()) EXPECT_EQ(cuda_device_count(), 0);
}

// TANDEM_SIMD values: `best`, and per architecture the targets it may cap at;
// each disables exactly the better targets.
TEST(Simd, CapValuesDisableTheBetterTargets) {
  std::int64_t disabled = -1;
  ASSERT_TRUE(detail::parse_simd_cap("best", disabled).ok());
  EXPECT_EQ(disabled, 0);
#if defined(__x86_64__)
  const std::int64_t avx3 = 1LL << 8, avx2 = 1LL << 9, sse4 = 1LL << 11;  // Highway's HWY_AVX3, _AVX2, _SSE4
  ASSERT_TRUE(detail::parse_simd_cap("avx2", disabled).ok());
  EXPECT_NE(disabled & avx3, 0);
  EXPECT_EQ(disabled & (avx2 | sse4), 0);
  ASSERT_TRUE(detail::parse_simd_cap("avx512", disabled).ok());
  EXPECT_EQ(disabled & (avx3 | avx2 | sse4), 0);
  ASSERT_TRUE(detail::parse_simd_cap("scalar", disabled).ok());
  EXPECT_EQ(disabled & (avx3 | avx2 | sse4), avx3 | avx2 | sse4);
#endif
  for (const char* bad : {"", "AVX2", "avx-2", "neon9", "fastest"}) {
    const Status s = detail::parse_simd_cap(bad, disabled);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.code(), Errc::invalid_argument);
    EXPECT_NE(s.message().find(std::string("TANDEM_SIMD='") + bad + "'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("accepted values: best, "), std::string::npos) << s.message();
  }
}

// Every TANDEM_SIMD value the error message offers caps at a target this build
// has code for: none leaves the kernels with no target (Arm, where Highway
// compiles no scalar fallback, offers no `scalar`).
TEST(Simd, EveryAcceptedCapKeepsACompiledTarget) {
  std::int64_t disabled = 0;
  const std::string msg = detail::parse_simd_cap("fastest", disabled).message();
  const std::string key = "accepted values: ";
  ASSERT_NE(msg.find(key), std::string::npos) << msg;
  std::stringstream list(msg.substr(msg.find(key) + key.size()));
  int values = 0;
  for (std::string value; std::getline(list, value, ',');) {
    value.erase(0, value.find_first_not_of(' '));
    ASSERT_TRUE(detail::parse_simd_cap(value, disabled).ok()) << value;
    EXPECT_NE(HWY_TARGETS & ~disabled, 0) << "TANDEM_SIMD=" << value << " leaves no compiled target";
    ++values;
  }
  EXPECT_GE(values, 3) << msg;  // best and at least two targets
  if ((HWY_TARGETS & (HWY_SCALAR | HWY_EMU128)) == 0) {
    EXPECT_FALSE(detail::parse_simd_cap("scalar", disabled).ok());
    EXPECT_FALSE(detail::parse_simd_cap("emu128", disabled).ok());
  }
}

// for_each_simd_target visits every target within the cap, best first, each
// one the target in use while it runs, and restores the best one afterwards.
TEST(Simd, ForEachTargetRestrictsTheKernelsToEachTarget) {
  ASSERT_TRUE(detail::simd_ready().ok());
  const std::vector<std::int64_t> bits = detail::simd_target_bits();
  ASSERT_FALSE(bits.empty());
  const std::string best = simd_target_name();
  EXPECT_EQ(best, detail::simd_target_name(bits.front()));
  const std::vector<std::string> supported = simd_supported_targets();
  EXPECT_NE(std::find(supported.begin(), supported.end(), best), supported.end());
  std::vector<std::string> seen;
  test::for_each_simd_target([&] { seen.push_back(simd_target_name()); });
  ASSERT_EQ(seen.size(), bits.size());
  for (std::size_t i = 0; i < bits.size(); ++i) EXPECT_EQ(seen[i], detail::simd_target_name(bits[i]));
  EXPECT_EQ(simd_target_name(), best);
#if defined(__x86_64__)
  // The fallback every x86 build has: SCALAR with GCC 12, EMU128 where the compiler builds it (clang).
  EXPECT_TRUE(supported.back() == "SCALAR" || supported.back() == "EMU128") << supported.back();
#endif
}

}  // namespace
}  // namespace tandem
