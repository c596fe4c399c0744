// stats: every dtype x device x size against a two-pass long-double reference,
// f32 accuracy on a million values (also with a large mean and tiny spread,
// which breaks a naive one-pass variance), NaN/inf propagation, the host-side
// Stats convenience, the op table and the error paths.
#include "tandem/ops/stats.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "tests/arrays_test_util.hpp"

namespace tandem {
namespace {

namespace ta = test::arrays;

class StatsTest : public ::testing::TestWithParam<Device> {};

constexpr double kInf = std::numeric_limits<double>::infinity();

/// NumPy semantics of a.astype(np.float64): size, sum, min, max, mean, std(ddof=0),
/// computed two-pass in long double; NaN anywhere gives NaN.
std::vector<double> reference(const View& x) {
  const std::vector<double> v = ta::values(x);
  const double n = double(v.size());
  long double sum = 0;
  double mn = kInf, mx = -kInf;
  bool nan = false;
  for (double e : v) {
    sum += e;
    nan = nan || std::isnan(e);
    mn = std::min(mn, e);
    mx = std::max(mx, e);
  }
  const long double mean = sum / n;
  long double m2 = 0;
  for (double e : v) m2 += (e - mean) * (e - mean);
  if (nan) mn = mx = std::nan("");
  return {n, double(sum), mn, mx, double(mean), double(std::sqrt(m2 / n))};
}

Tensor run_stats(test::DeviceRunner& r, const View& x) {
  return ta::run_alloc(r, x, [](const View& s, Tensor& d, const Exec& e) { return stats(s, d, e); });
}

// Relative tolerance on sum/mean/std; count, min and max are exact.
::testing::AssertionResult matches(const View& got, const std::vector<double>& want, double rel) {
  if (got.dtype != DType::f64 || got.ndim != 1 || got.shape[0] != 6)
    return ::testing::AssertionFailure() << "output is " << got.describe();
  std::ostringstream bad;
  for (int i = 0; i < 6; ++i) {
    const double g = test::at(got, i), w = want[std::size_t(i)];
    const double tol = (i == 1 || i == 4 || i == 5) ? rel * std::max(std::abs(w), 1e-300) : 0.0;
    const bool ok = std::isnan(w) ? std::isnan(g) : (std::isinf(w) ? g == w : std::abs(g - w) <= tol);
    if (!ok) bad << " " << kStatsOutputs[i] << ": got " << g << " want " << w << ";";
  }
  if (bad.str().empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad.str();
}

TEST_P(StatsTest, MatchesReferenceForEveryDtypeAndSize) {
  TANDEM_SKIP_IF_UNAVAILABLE(GetParam());
  test::DeviceRunner r(GetParam());
  std::uint64_t seed = 1;
  for (DType t : kAllDTypes)
    for (const auto& shape : ta::shapes()) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " " + ta::shape_str(shape));
      Tensor x = test::random_tensor(t, shape, seed++, -3, 11);
      EXPECT_TRUE(matches(run_stats(r, x.view()).view(), reference(x.view()), 1e-12));
    }
}

TEST_P(StatsTest, F32MillionValuesWithinOneInHundredThousand) {
  TANDEM_SKIP_IF_UNAVAILABLE(GetParam());
  test::DeviceRunner r(GetParam());
  const std::int64_t n = 1000003;
  Tensor uniform = test::random_tensor(DType::f32, {n}, 11, 0, 1);
  // A large mean with a small spread: E[x^2] - E[x]^2 in f64 loses ~8 of 16 digits here.
  Tensor offset;
  ASSERT_TRUE(Tensor::create(DType::f32, {n}, Device::cpu(), offset).ok());
  std::mt19937_64 rng(12);
  std::normal_distribution<double> noise(0.0, 0.01);
  for (std::int64_t i = 0; i < n; ++i) offset.view().ptr<float>()[i] = static_cast<float>(1e4 + noise(rng));
  Tensor huge = test::random_tensor(DType::f32, {n}, 13, 1e7, 1e7 + 3);
  for (Tensor* x : {&uniform, &offset, &huge}) {
    const std::vector<double> want = reference(x->view());
    EXPECT_TRUE(matches(run_stats(r, x->view()).view(), want, 1e-5));
    // In practice far better than the 1e-5 the API promises.
    EXPECT_TRUE(matches(run_stats(r, x->view()).view(), want, 1e-9));
  }
}

TEST_P(StatsTest, OneElementAndConstantHaveZeroStd) {
  TANDEM_SKIP_IF_UNAVAILABLE(GetParam());
  test::DeviceRunner r(GetParam());
  EXPECT_TRUE(matches(run_stats(r, ta::make_tensor(DType::f32, {2.5f}).view()).view(), {1, 2.5, 2.5, 2.5, 2.5, 0}, 0));
  Tensor c = ta::make_tensor(DType::u8, std::vector<double>(70001, 200));
  EXPECT_TRUE(matches(run_stats(r, c.view()).view(), {70001, 200.0 * 70001, 200, 200, 200, 0}, 1e-15));
}

TEST_P(StatsTest, NaNPropagatesAndInfinityAsNumPy) {
  TANDEM_SKIP_IF_UNAVAILABLE(GetParam());
  test::DeviceRunner r(GetParam());
  const double nan = std::nan("");
  for (DType t : {DType::f32, DType::f64})
    for (std::int64_t n : {std::int64_t(1), std::int64_t(7), std::int64_t(1000003)}) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " n=" + std::to_string(n));
      Tensor x = test::random_tensor(t, {n}, 21, -1, 1);
      visit_dtype(t, [&](auto tag) {
        using T = decltype(tag);
        x.view().ptr<T>()[n / 2] = std::numeric_limits<T>::quiet_NaN();
      });
      EXPECT_TRUE(matches(run_stats(r, x.view()).view(), {double(n), nan, nan, nan, nan, nan}, 0));
    }
  for (DType t : {DType::f32, DType::f64}) {
    SCOPED_TRACE(dtype_name(t));
    // np.std([1, inf, 2]) is nan (inf - inf); sum and mean are inf.
    EXPECT_TRUE(matches(run_stats(r, ta::make_tensor(t, {1, kInf, 2}).view()).view(), {3, kInf, 1, kInf, kInf, nan}, 0));
    EXPECT_TRUE(matches(run_stats(r, ta::make_tensor(t, {kInf, 1, 2}).view()).view(), {3, kInf, 1, kInf, kInf, nan}, 0));
    EXPECT_TRUE(
        matches(run_stats(r, ta::make_tensor(t, {-kInf, 1, kInf}).view()).view(), {3, nan, -kInf, kInf, nan, nan}, 0));
  }
}

TEST_P(StatsTest, HostConvenienceReturnsTheStruct) {
  TANDEM_SKIP_IF_UNAVAILABLE(GetParam());
  test::DeviceRunner r(GetParam());
  Tensor x = ta::make_tensor(DType::i32, {2, 4, 4, 4, 5, 5, 7, 9}, {2, 4});
  Tensor dev = r.upload(x.view());
  Stats s;
  ASSERT_TRUE(stats(dev.view(), s, r.exec()).ok());
  EXPECT_EQ(s.count, 8);
  EXPECT_EQ(s.sum, 40);
  EXPECT_EQ(s.min, 2);
  EXPECT_EQ(s.max, 9);
  EXPECT_EQ(s.mean, 5);
  EXPECT_NEAR(s.std, 2.0, 1e-15);
}

TEST_P(StatsTest, OpTableEntry) {
  TANDEM_SKIP_IF_UNAVAILABLE(GetParam());
  test::DeviceRunner r(GetParam());
  const OpSpec* spec = find_op("stats");
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(spec->kind, OpKind::reduction);
  ASSERT_EQ(spec->outputs.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(spec->outputs[std::size_t(i)], kStatsOutputs[i]);
  Tensor x = ta::make_tensor(DType::u16, {1, 2, 3, 4});
  EXPECT_TRUE(matches(r.run("stats", {}, x.view()).view(), {4, 10, 1, 4, 2.5, std::sqrt(1.25)}, 1e-15));
}

TEST_P(StatsTest, Errors) {
  TANDEM_SKIP_IF_UNAVAILABLE(GetParam());
  test::DeviceRunner r(GetParam());
  Tensor empty, out;
  ASSERT_TRUE(Tensor::create(DType::f32, {0}, GetParam(), empty).ok());
  Status s = stats(empty.view(), out, r.exec());
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_NE(s.message().find("stats: input is empty"), std::string::npos) << s.message();
  Tensor x = r.upload(ta::make_tensor(DType::f32, {1, 2}).view());
  Tensor bad;
  ASSERT_TRUE(Tensor::create(DType::f32, {6}, GetParam(), bad).ok());
  s = stats(x.view(), bad.view(), r.exec());
  EXPECT_NE(s.message().find("f64 tensor of shape [6]"), std::string::npos) << s.message();
  View strided = View::array(x.view().data, DType::f32, {1, 1}, GetParam());
  strided.shape[0] = 2;  // every other element: not contiguous (rejected before any read)
  strided.strides[0] = 8;
  s = stats(strided, out, r.exec());
  EXPECT_NE(s.message().find("contiguous"), std::string::npos) << s.message();
}

// NumPy golden file (tests/golden/make_arrays_golden.py): an f32 array with a
// large mean and a small spread, statistics of x.astype(np.float64).
TEST_P(StatsTest, MatchesNumPyGoldenFile) {
  TANDEM_SKIP_IF_UNAVAILABLE(GetParam());
  test::DeviceRunner r(GetParam());
  Tensor x, want;
  ASSERT_TRUE(ta::read_npy("arrays_stats_f32_x.npy", x));
  ASSERT_TRUE(ta::read_npy("arrays_stats_f32_expected.npy", want));
  ASSERT_EQ(x.view().dtype, DType::f32);
  EXPECT_TRUE(matches(run_stats(r, x.view()).view(), ta::values(want.view()), 1e-5));
}

INSTANTIATE_TEST_SUITE_P(Devices, StatsTest, ::testing::ValuesIn(test::test_devices()), test::device_name);

}  // namespace
}  // namespace tandem
