// cumsum vs an independent reference: a naive sequential prefix sum (exact
// wrapping 64-bit integers; double for floats).
#include "tandem/ops/cumsum.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <vector>

#include "tandem/io/npy.hpp"
#include "tests/arrays_test_util.hpp"
#include "tests/support/test_support.hpp"

namespace tandem {
namespace {

using Shape = std::vector<std::int64_t>;

template <class T>
std::vector<T> random_values(std::int64_t n, std::uint64_t seed) {
  return test::random_values<T>(n, seed, 100);
}

/// Sequential integer prefix sums, wrapping modulo 2^64 like NumPy's int64.
template <class T>
std::vector<std::int64_t> reference_int(const std::vector<T>& v) {
  std::vector<std::int64_t> out;
  std::uint64_t s = 0;
  for (T x : v) {
    s += static_cast<std::uint64_t>(static_cast<std::int64_t>(x));
    out.push_back(static_cast<std::int64_t>(s));
  }
  return out;
}

::testing::AssertionResult same_ints(const View& got, const std::vector<std::int64_t>& want) {
  if (got.dtype != DType::i64 || got.ndim != 1 || static_cast<std::size_t>(got.numel()) != want.size())
    return ::testing::AssertionFailure() << "got " << got.describe() << ", want i64 " << want.size();
  const auto* g = got.ptr<std::int64_t>();
  for (std::size_t i = 0; i < want.size(); ++i)
    if (g[i] != want[i]) return ::testing::AssertionFailure() << "[" << i << "] got " << g[i] << " want " << want[i];
  return ::testing::AssertionSuccess();
}

/// Floats: sequential double sums; the tolerance allows one f32 rounding of the
/// prefix (for f32 output) plus a double-rounding budget proportional to the
/// sum of magnitudes so far (the blocked/parallel order differs).
template <class T>
::testing::AssertionResult near_float(const View& got, const std::vector<T>& in) {
  if (got.dtype != dtype_of_v<T> || got.ndim != 1 || static_cast<std::size_t>(got.numel()) != in.size())
    return ::testing::AssertionFailure() << "got " << got.describe() << ", want " << dtype_name(dtype_of_v<T>) << " "
                                         << in.size();
  const T* g = got.ptr<T>();
  double s = 0, mag = 0;
  const double rel = std::is_same_v<T, float> ? std::ldexp(1.0, -23) : 0.0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    s += double(in[i]);
    mag += std::abs(double(in[i]));
    const double tol = rel * std::abs(s) + 1e-13 * mag + 1e-300;
    if (!(std::abs(double(g[i]) - s) <= tol))
      return ::testing::AssertionFailure() << "[" << i << "] got " << g[i] << " want " << s << " (tol " << tol << ")";
  }
  return ::testing::AssertionSuccess();
}

Tensor run_cumsum(test::DeviceRunner& runner, const View& host) {
  return test::arrays::run_alloc(runner, host, [](const View& in, Tensor& out, const Exec& exec) {
    return cumsum(in, out, CumsumParams{}, exec);
  });
}

template <class T>
void check(test::DeviceRunner& runner, const std::vector<T>& values, const Shape& shape) {
  Tensor host = test::host_tensor(values, shape);
  Tensor got = run_cumsum(runner, host.view());
  if constexpr (std::is_floating_point_v<T>)
    EXPECT_TRUE(near_float(got.view(), values)) << host.view().describe();
  else
    EXPECT_TRUE(same_ints(got.view(), reference_int(values))) << host.view().describe();
}

class CumsumTest : public test::DeviceTest {};

TEST_P(CumsumTest, EveryDtypeAndAwkwardShapes) {
  test::DeviceRunner runner(GetParam());
  const std::vector<Shape> shapes = {{1}, {2}, {1000003}, {1, 1}, {1, 301}, {301, 1}, {37, 53}, {3, 5, 7}, {1031, 777}};
  std::uint64_t seed = 1;
  for (DType t : kAllDTypes)
    for (const auto& shape : shapes)
      visit_dtype(t, [&](auto tag) {
        using T = decltype(tag);
        std::int64_t n = 1;
        for (auto d : shape) n *= d;
        check<T>(runner, random_values<T>(n, seed++), shape);
      });
}

TEST_P(CumsumTest, ThroughTheOpTable) {
  test::DeviceRunner runner(GetParam());
  const auto v = random_values<std::uint8_t>(40 * 41, 7);
  Tensor host = test::host_tensor(v, {40, 41});
  Tensor got = runner.run("cumsum", {}, host.view());
  EXPECT_TRUE(same_ints(got.view(), reference_int(v)));
}

TEST_P(CumsumTest, IntegersAccumulateInI64AndI64Wraps) {
  test::DeviceRunner runner(GetParam());
  // i32 sums far beyond the i32 range are exact in i64.
  const std::int32_t big = std::numeric_limits<std::int32_t>::max();
  std::vector<std::int32_t> i32(100000, big);
  i32[5] = std::numeric_limits<std::int32_t>::lowest();
  check<std::int32_t>(runner, i32, {std::int64_t(i32.size())});
  Tensor h32 = test::host_tensor(i32, {std::int64_t(i32.size())});
  EXPECT_EQ(run_cumsum(runner, h32.view()).view().ptr<std::int64_t>()[99999],
            std::int64_t(99999) * big + std::numeric_limits<std::int32_t>::lowest());
  // u16 and u8: all-max inputs.
  check<std::uint16_t>(runner, std::vector<std::uint16_t>(70001, 65535), {70001});
  check<std::uint8_t>(runner, std::vector<std::uint8_t>(70001, 255), {70001});
  // i64 overflow wraps modulo 2^64, as NumPy's int64 cumsum does.
  const std::int64_t max64 = std::numeric_limits<std::int64_t>::max();
  std::vector<std::int64_t> i64 = {max64, 1, -1, std::numeric_limits<std::int64_t>::lowest(), -1};
  Tensor h64 = test::host_tensor(i64, {5});
  Tensor got = run_cumsum(runner, h64.view());
  const std::vector<std::int64_t> want = {max64, std::numeric_limits<std::int64_t>::lowest(), max64, -1, -2};
  EXPECT_TRUE(same_ints(got.view(), want));
}

TEST_P(CumsumTest, F32AccumulatesInDouble) {
  test::DeviceRunner runner(GetParam());
  // A sequential f32 sum of a million 0.1f drifts by ~1%; a double accumulator does not.
  std::vector<float> v(1000000, 0.1f);
  Tensor host = test::host_tensor(v, {1000, 1000});
  Tensor got = run_cumsum(runner, host.view());
  ASSERT_EQ(got.view().dtype, DType::f32);
  const double exact = 1e6 * double(0.1f);
  EXPECT_NEAR(got.view().ptr<float>()[999999], exact, exact * 1e-7);
  EXPECT_TRUE(near_float(got.view(), v));
}

TEST_P(CumsumTest, NanAndInfPropagate) {
  test::DeviceRunner runner(GetParam());
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> v = {1, 2, inf, 3, -inf, 4};
  Tensor host = test::host_tensor(v, {6});
  Tensor got = run_cumsum(runner, host.view());
  const double* g = got.view().ptr<double>();
  EXPECT_EQ(g[1], 3);
  EXPECT_EQ(g[2], inf);
  EXPECT_EQ(g[3], inf);
  EXPECT_TRUE(std::isnan(g[4]));
  EXPECT_TRUE(std::isnan(g[5]));
}

TEST_P(CumsumTest, StridedAndZeroDimInputs) {
  test::DeviceRunner runner(GetParam());
  // A 300 x 301 u16 view with rows padded to 320 elements, then every third column of it.
  const auto backing = random_values<std::uint16_t>(300 * 320, 3);
  Tensor dev = runner.upload(test::host_tensor(backing, {300, 320}).view());
  View padded = View::image(dev.view().data, DType::u16, 300, 301, 1, GetParam(), 320 * 2);
  for (int step : {1, 3}) {
    View v = padded;
    v.shape[1] = (301 + step - 1) / step;
    v.strides[1] = 2 * step;
    std::vector<std::uint16_t> logical;
    for (int y = 0; y < 300; ++y)
      for (int x = 0; x < 301; x += step) logical.push_back(backing[std::size_t(y * 320 + x)]);
    Tensor out;
    const Status s = cumsum(v, out, CumsumParams{}, runner.exec());
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_TRUE(same_ints(runner.download(out.view()).view(), reference_int(logical))) << step;
  }
  // A 0-d array gives one element, as np.cumsum(np.float32(2.5)).
  Tensor scalar = runner.upload(test::host_tensor(std::vector<float>{2.5f}, {1}).view());
  View zero_d = scalar.view();
  zero_d.ndim = 0;
  Tensor out;
  ASSERT_TRUE(cumsum(zero_d, out, CumsumParams{}, runner.exec()).ok());
  Tensor got = runner.download(out.view());
  ASSERT_EQ(got.view().numel(), 1);
  EXPECT_EQ(got.view().ptr<float>()[0], 2.5f);
  // Empty input, empty output.
  Tensor empty;
  ASSERT_TRUE(Tensor::create(DType::i32, {0, 4}, GetParam(), empty).ok());
  ASSERT_TRUE(cumsum(empty.view(), out, CumsumParams{}, runner.exec()).ok());
  EXPECT_EQ(out.view().numel(), 0);
  EXPECT_EQ(out.view().dtype, DType::i64);
}

TEST_P(CumsumTest, ErrorsNameTheProblem) {
  test::DeviceRunner runner(GetParam());
  Tensor a, wrong_type, wrong_len, two_d;
  ASSERT_TRUE(Tensor::create(DType::i32, {4, 5}, GetParam(), a).ok());
  ASSERT_TRUE(Tensor::create(DType::i32, {20}, GetParam(), wrong_type).ok());
  ASSERT_TRUE(Tensor::create(DType::i64, {19}, GetParam(), wrong_len).ok());
  ASSERT_TRUE(Tensor::create(DType::i64, {4, 5}, GetParam(), two_d).ok());
  for (Tensor* dst : {&wrong_type, &wrong_len, &two_d}) {
    const Status s = cumsum(a.view(), dst->view(), CumsumParams{}, runner.exec());
    EXPECT_EQ(s.code(), Errc::invalid_argument);
    EXPECT_NE(s.message().find("1-D i64 array of 20 elements"), std::string::npos) << s.message();
  }
  Tensor host;
  ASSERT_TRUE(Tensor::create(DType::i64, {20}, Device::cpu(), host).ok());
  if (GetParam().is_cuda()) {
    const Status s = cumsum(a.view(), host.view(), CumsumParams{}, runner.exec());
    EXPECT_EQ(s.code(), Errc::invalid_argument);
    EXPECT_NE(s.message().find("dst is on cpu"), std::string::npos) << s.message();
  }
}

// np.cumsum results written by tests/golden/make_sortmat_golden.py (stored as int64).
TEST_P(CumsumTest, MatchesNumPyGolden) {
  test::DeviceRunner runner(GetParam());
  for (const char* name : {"sortmat_cumsum_u8", "sortmat_cumsum_i32"}) {
    Tensor in, want;
    ASSERT_TRUE(test::arrays::read_golden_pair(name, in, want)) << name;
    ASSERT_EQ(want.view().dtype, DType::i64);
    Tensor got = runner.run("cumsum", {}, in.view());
    const auto* w = want.view().ptr<std::int64_t>();
    EXPECT_TRUE(same_ints(got.view(), std::vector<std::int64_t>(w, w + want.view().numel()))) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Devices, CumsumTest, ::testing::ValuesIn(test::test_devices()), test::device_name);

TEST(CumsumCpu, BlockedScanAtOddThreadCounts) {
  const auto f = random_values<double>(1000003, 5);
  const auto i = random_values<std::int32_t>(1000003, 6);
  for (int threads : {1, 3, 7, 16}) {
    Tensor of, oi;
    ASSERT_TRUE(cumsum(test::host_tensor(f, {1000003}).view(), of, CumsumParams{}, Exec::cpu(threads)).ok());
    ASSERT_TRUE(cumsum(test::host_tensor(i, {1000003}).view(), oi, CumsumParams{}, Exec::cpu(threads)).ok());
    EXPECT_TRUE(near_float(of.view(), f)) << threads;
    EXPECT_TRUE(same_ints(oi.view(), reference_int(i))) << threads;
  }
}

}  // namespace
}  // namespace tandem
