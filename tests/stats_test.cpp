// stats: every dtype x device x size against a two-pass long-double reference,
// f32 accuracy on a million values (also with a large mean and tiny spread,
// which breaks a naive one-pass variance), the cases an f32-partial-sum scheme
// can get wrong (large offset, many magnitudes, cancelling sums, sizes around
// the block and lane widths, constant arrays, tiny and huge values, NaN/inf at
// block edges), independence of the thread count, NaN/inf propagation, the
// host-side Stats convenience, the op table and the error paths.
#include "tandem/ops/stats.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <utility>

#include "tests/arrays_test_util.hpp"
#include "tests/support/simd_targets.hpp"

namespace tandem {
namespace {

namespace ta = test::arrays;

class StatsTest : public test::DeviceTest {};

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

// The CPU sums f32 input in f32 lanes (per block, around a shift near the
// block's mean; see host/stats.cpp): within ~1e-9 relative on such data, not
// the ~1e-15 of f64 accumulation that the other dtypes keep.
constexpr double kF32Rel = 1e-7;

/// An f32 tensor of n values f(i).
template <class F>
Tensor f32_tensor(std::int64_t n, F&& f) {
  Tensor t;
  throw_if_error(Tensor::create(DType::f32, {n}, Device::cpu(), t));
  float* p = t.view().ptr<float>();
  for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(f(i));
  return t;
}

/// The largest relative error of sum, mean and std (the outputs that are not exact).
double worst_rel(const View& got, const std::vector<double>& want) {
  double worst = 0;
  for (int i : {1, 4, 5}) {
    const double g = test::at(got, i), w = want[std::size_t(i)];
    worst = std::max(worst, w == 0 ? std::abs(g) : std::abs(g - w) / std::abs(w));
  }
  return worst;
}

/// The stats of x on r's device against the f64 reference: every output within
/// 1e-5 (relative) and sum, mean and std within `worst`.
void expect_near_reference(test::DeviceRunner& r, const View& x, double worst) {
  const std::vector<double> want = reference(x);
  const Tensor got = run_stats(r, x);
  EXPECT_TRUE(matches(got.view(), want, 1e-5));
  EXPECT_LE(worst_rel(got.view(), want), worst);
}

TEST_P(StatsTest, MatchesReferenceForEveryDtypeAndSize) {
  test::DeviceRunner r(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    std::uint64_t seed = 1;
    for (DType t : kAllDTypes)
      for (const auto& shape : ta::shapes()) {
        SCOPED_TRACE(std::string(dtype_name(t)) + " " + ta::shape_str(shape));
        Tensor x = test::random_tensor(t, shape, seed++, -3, 11);
        EXPECT_TRUE(matches(run_stats(r, x.view()).view(), reference(x.view()), t == DType::f32 ? kF32Rel : 1e-12));
      }
  });
}

TEST_P(StatsTest, F32MillionValuesWithinOneInHundredThousand) {
  test::DeviceRunner r(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
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
  });
}

// A large offset with a small spread: the f32 partial sums must be taken around
// a shift near the data (1e4 + 1e-2 noise: the noise is the 6th significant
// digit of each value, so sums around 0 in f32 would lose the std entirely).
TEST_P(StatsTest, F32LargeOffsetKeepsStd) {
  test::DeviceRunner r(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    std::mt19937_64 rng(31);
    std::normal_distribution<double> noise(0.0, 0.01);
    for (std::int64_t n : {std::int64_t(1000003), std::int64_t(10000000)}) {
      SCOPED_TRACE("n=" + std::to_string(n));
      Tensor x = f32_tensor(n, [&](std::int64_t) { return 1e4 + noise(rng); });
      expect_near_reference(r, x.view(), 1e-7);
    }
  });
}

// Magnitudes from 1e-30 to 1e30 (and 1e-5 to 1e5) with both signs, a slow ramp,
// a sine and rare large outliers: blocks whose squares overflow f32, whose
// shift is far from their mean or whose sums are dominated by one value.
TEST_P(StatsTest, F32ManyMagnitudesAndShapes) {
  test::DeviceRunner r(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    std::mt19937_64 rng(32);
    std::uniform_real_distribution<double> u(0, 1);
    const std::int64_t n = 1000003;
    const std::vector<std::pair<const char*, std::function<double(std::int64_t)>>> cases = {
        {"1e-30..1e30", [&](std::int64_t) { return (u(rng) < 0.5 ? -1 : 1) * std::pow(10.0, -30 + 60 * u(rng)); }},
        {"1e-5..1e5", [&](std::int64_t) { return std::pow(10.0, -5 + 10 * u(rng)); }},
        {"ramp", [&](std::int64_t i) { return 0.25 * double(i) + 3; }},
        {"sine", [&](std::int64_t i) { return 100 * std::sin(1e-4 * double(i)) + 3; }},
        {"outliers", [&](std::int64_t) { return u(rng) < 1e-3 ? 1e6 : u(rng); }},
        {"1e19 spread", [&](std::int64_t) { return 1e19 * (u(rng) - 0.3); }},
        {"tiny 1e-30", [&](std::int64_t) { return 1e-30 * (1 + u(rng)); }},
        {"subnormal", [&](std::int64_t) { return 1e-40 * (1 + u(rng)); }},
    };
    for (const auto& [name, f] : cases) {
      SCOPED_TRACE(name);
      Tensor x = f32_tensor(n, f);
      expect_near_reference(r, x.view(), 1e-6);
    }
  });
}

// Sums that cancel (mean near 0 next to the spread): the sum and mean must still
// be within 1e-5 of the f64 reference (the f32 partials are not enough there).
TEST_P(StatsTest, F32CancellingSums) {
  test::DeviceRunner r(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    std::mt19937_64 rng(33);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::uniform_real_distribution<double> u(0, 1);
    for (std::int64_t n : {std::int64_t(2047), std::int64_t(65537), std::int64_t(1000003)}) {
      SCOPED_TRACE("n=" + std::to_string(n));
      Tensor gauss = f32_tensor(n, [&](std::int64_t) { return normal(rng); });
      Tensor alternating = f32_tensor(n, [&](std::int64_t i) { return (i % 2 ? 1e3 : -1e3) + u(rng); });
      // Each half is well conditioned, the whole is not.
      Tensor halves = f32_tensor(n, [&](std::int64_t i) { return (2 * i < n ? 1e3 : -1e3) + normal(rng); });
      for (Tensor* x : {&gauss, &alternating, &halves})
        EXPECT_TRUE(matches(run_stats(r, x->view()).view(), reference(x->view()), 1e-5));
    }
  });
}

// Sizes around the lane (32), block (1024) and task (65536) widths.
TEST_P(StatsTest, F32SizesAroundBlockAndLaneWidths) {
  test::DeviceRunner r(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    std::mt19937_64 rng(34);
    std::uniform_real_distribution<double> u(-1, 1);
    for (std::int64_t n : {1, 7, 31, 32, 33, 1023, 1024, 1025, 2047, 2049, 65535, 65536, 65537, 65536 + 1024 + 5}) {
      SCOPED_TRACE("n=" + std::to_string(n));
      Tensor x = f32_tensor(n, [&](std::int64_t) { return 100 + u(rng); });
      expect_near_reference(r, x.view(), 1e-7);
    }
  });
}

// Constant arrays: std exactly 0 and sum, mean exact, for every dtype and for
// f32 values from subnormal to the largest finite.
TEST_P(StatsTest, AllEqualValuesHaveZeroStd) {
  test::DeviceRunner r(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    for (std::int64_t n : {std::int64_t(1), std::int64_t(1023), std::int64_t(1025), std::int64_t(65537),
                           std::int64_t(200003)}) {
      for (DType t : kAllDTypes) {
        SCOPED_TRACE(std::string(dtype_name(t)) + " n=" + std::to_string(n));
        Tensor x = ta::make_tensor(t, std::vector<double>(std::size_t(n), 200));
        EXPECT_TRUE(matches(run_stats(r, x.view()).view(), {double(n), 200.0 * double(n), 200, 200, 200, 0}, 0));
      }
      for (float v : {0.0f, 7.3f, -1e-30f, 1e-40f, 1e30f, -std::numeric_limits<float>::max()}) {
        SCOPED_TRACE("f32 " + std::to_string(v) + " n=" + std::to_string(n));
        Tensor x = f32_tensor(n, [&](std::int64_t) { return v; });
        const double d = v;
        EXPECT_TRUE(matches(run_stats(r, x.view()).view(), {double(n), d * double(n), d, d, d, 0}, 1e-15));
      }
    }
  });
}

// NaN and +-inf at block and task edges of the f32 and f64 paths (and in the
// last, partial block).
TEST_P(StatsTest, NonFiniteAtBlockEdges) {
  test::DeviceRunner r(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    const double nan = std::nan("");
    const std::int64_t n = 2 * 65536 + 1027;
    for (DType t : {DType::f32, DType::f64}) {
      Tensor x = test::random_tensor(t, {n}, 41, 5, 6);
      const double lowest = reference(x.view())[2];
      auto set = [&](std::int64_t i, double v) {
        visit_dtype(t, [&](auto tag) {
          using T = decltype(tag);
          x.view().ptr<T>()[i] = static_cast<T>(v);
        });
      };
      for (std::int64_t at : {std::int64_t(0), std::int64_t(1023), std::int64_t(1024), std::int64_t(2047),
                              std::int64_t(2048), std::int64_t(65535), std::int64_t(65536), n - 1027, n - 1}) {
        SCOPED_TRACE(std::string(dtype_name(t)) + " at " + std::to_string(at));
        const double keep = test::at(x.view(), at), other = test::at(x.view(), at == 0 ? n - 1 : 0);
        set(at, nan);
        EXPECT_TRUE(matches(run_stats(r, x.view()).view(), {double(n), nan, nan, nan, nan, nan}, 0));
        set(at, kInf);  // sum and mean inf, std nan (inf - inf)
        const double low = keep == lowest ? reference(x.view())[2] : lowest;
        EXPECT_TRUE(matches(run_stats(r, x.view()).view(), {double(n), kInf, low, kInf, kInf, nan}, 0));
        set(at == 0 ? n - 1 : 0, -kInf);  // inf - inf: sum nan, min -inf
        EXPECT_TRUE(matches(run_stats(r, x.view()).view(), {double(n), nan, -kInf, kInf, nan, nan}, 0));
        set(at, keep);
        set(at == 0 ? n - 1 : 0, other);
      }
    }
  });
}

// Fixed tasks merged in a fixed order: the same bits whatever the thread count
// (also when the f32 sum is recomputed in f64).
TEST(StatsCpu, ResultDoesNotDependOnThreadCount) {
  std::mt19937_64 rng(51);
  std::normal_distribution<double> normal(0.0, 1.0);
  const std::int64_t n = 700001;
  std::vector<Tensor> inputs;
  inputs.push_back(f32_tensor(n, [&](std::int64_t) { return 3 + normal(rng); }));
  inputs.push_back(f32_tensor(n, [&](std::int64_t) { return normal(rng); }));  // cancelling sum
  for (DType t : kAllDTypes) inputs.push_back(test::random_tensor(t, {n}, 52, -3, 11));
  for (const Tensor& x : inputs) {
    SCOPED_TRACE(dtype_name(x.view().dtype));
    double first[6];
    for (int threads : {1, 2, 3, 8}) {
      double out[6];
      ASSERT_TRUE(stats(x.view(), View::array(out, DType::f64, {6}), Exec::cpu(threads)).ok());
      if (threads == 1) std::memcpy(first, out, sizeof out);
      EXPECT_EQ(std::memcmp(first, out, sizeof out), 0) << "threads=" << threads;
    }
  }
}

// The vector loops keep their lanes and folding order whatever the vector width: the same
// bits on every SIMD target (AVX-512, AVX2, SSE4 and the scalar lane arrays here), for every
// dtype, sizes around the lane, block and task widths, a cancelling f32 sum (its f64
// recomputation) and f32 blocks redone around their mean (a shift far from it).
TEST(StatsCpu, SameBitsOnEveryTarget) {
  std::mt19937_64 rng(53);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<Tensor> inputs;
  for (std::int64_t n : {1, 5, 31, 33, 1023, 1025, 2049, 65537, 300007}) {
    inputs.push_back(f32_tensor(n, [&](std::int64_t) { return 3 + normal(rng); }));
    inputs.push_back(f32_tensor(n, [&](std::int64_t) { return normal(rng); }));
    inputs.push_back(f32_tensor(n, [&](std::int64_t i) { return (i % 1024 < 512 ? 1e4 : -1e4) + normal(rng); }));
    for (DType t : kAllDTypes) inputs.push_back(test::random_tensor(t, {n}, std::uint64_t(n), -3, 11));
  }
  for (const Tensor& x : inputs) {
    SCOPED_TRACE(std::string(dtype_name(x.view().dtype)) + " n=" + std::to_string(x.view().numel()));
    double first[6];
    bool have = false;
    test::for_each_simd_target([&] {
      double out[6];
      ASSERT_TRUE(stats(x.view(), View::array(out, DType::f64, {6}), Exec::cpu(2)).ok());
      if (!have) std::memcpy(first, out, sizeof out);
      have = true;
      for (int i = 0; i < 6; ++i)
        if (!(std::isnan(first[i]) && std::isnan(out[i]))) EXPECT_EQ(first[i], out[i]) << kStatsOutputs[i];
    });
  }
}

// u8 sums are exact integers: sum exact, std to the last bits.
TEST_P(StatsTest, U8IsExact) {
  test::DeviceRunner r(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    for (std::int64_t n : {std::int64_t(1), std::int64_t(65536), std::int64_t(65537), std::int64_t(1000003)}) {
      SCOPED_TRACE("n=" + std::to_string(n));
      Tensor x = test::random_tensor(DType::u8, {n}, 61);
      std::int64_t s1 = 0, s2 = 0;
      for (std::int64_t i = 0; i < n; ++i) {
        const std::int64_t v = x.view().ptr<std::uint8_t>()[i];
        s1 += v;
        s2 += v * v;
      }
      const Tensor got = run_stats(r, x.view());
      EXPECT_EQ(test::at(got.view(), 1), double(s1));
      const double var = (double(n) * double(s2) - double(s1) * double(s1)) / (double(n) * double(n));
      EXPECT_NEAR(test::at(got.view(), 5), std::sqrt(var), 1e-13 * std::sqrt(var));
    }
  });
}

TEST_P(StatsTest, OneElementAndConstantHaveZeroStd) {
  test::DeviceRunner r(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    EXPECT_TRUE(matches(run_stats(r, ta::make_tensor(DType::f32, {2.5f}).view()).view(), {1, 2.5, 2.5, 2.5, 2.5, 0}, 0));
    Tensor c = ta::make_tensor(DType::u8, std::vector<double>(70001, 200));
    EXPECT_TRUE(matches(run_stats(r, c.view()).view(), {70001, 200.0 * 70001, 200, 200, 200, 0}, 1e-15));
  });
}

TEST_P(StatsTest, NaNPropagatesAndInfinityAsNumPy) {
  test::DeviceRunner r(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
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
  });
}

TEST_P(StatsTest, HostConvenienceReturnsTheStruct) {
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
  test::DeviceRunner r(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    Tensor x, want;
    ASSERT_TRUE(ta::read_npy("arrays_stats_f32_x.npy", x));
    ASSERT_TRUE(ta::read_npy("arrays_stats_f32_expected.npy", want));
    ASSERT_EQ(x.view().dtype, DType::f32);
    EXPECT_TRUE(matches(run_stats(r, x.view()).view(), ta::values(want.view()), 1e-5));
  });
}

INSTANTIATE_TEST_SUITE_P(Devices, StatsTest, ::testing::ValuesIn(test::test_devices()), test::device_name);

}  // namespace
}  // namespace tandem
