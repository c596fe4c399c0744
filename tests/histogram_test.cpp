// histogram: every dtype x device x size x bin count against an independent
// reference (edges from np.linspace's formula, bins found by binary search),
// values exactly on edges, constant arrays, explicit ranges that exclude
// values, NaN, the bin edges, the op table, the error paths, and NumPy golden
// files compared exactly.
#include "tandem/ops/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <tuple>

#include "tests/arrays_test_util.hpp"
#include "tests/support/simd_targets.hpp"

namespace tandem {
namespace {

namespace ta = test::arrays;

class HistogramTest : public test::DeviceTest {};

constexpr double kInf = std::numeric_limits<double>::infinity();

struct Ref {
  std::vector<double> edges;
  std::vector<double> counts;
};

/// np.histogram(x, bins, range): edges = np.linspace(first, last, bins + 1) in
/// f64 (rounded to f32 for f32 input, NumPy's bin dtype then); bin i holds
/// edges[i] <= x < edges[i+1], the last bin also x == edges[bins].
Ref reference(const View& x, std::int64_t bins, std::optional<double> mn = {}, std::optional<double> mx = {}) {
  const std::vector<double> v = ta::values(x);
  double first = 0, last = 1;
  if (mn) {
    first = *mn;
    last = *mx;
  } else if (!v.empty()) {
    first = *std::min_element(v.begin(), v.end());
    last = *std::max_element(v.begin(), v.end());
  }
  if (first == last) {
    first -= 0.5;
    last += 0.5;
  }
  Ref r;
  const double step = (last - first) / double(bins);
  for (std::int64_t i = 0; i < bins; ++i) r.edges.push_back(double(i) * step + first);
  r.edges.push_back(last);
  if (x.dtype == DType::f32)
    for (double& e : r.edges) e = static_cast<float>(e);
  r.counts.assign(std::size_t(bins), 0.0);
  for (double e : v) {
    if (!(e >= r.edges.front() && e <= r.edges.back())) continue;
    auto i = std::upper_bound(r.edges.begin(), r.edges.end(), e) - r.edges.begin() - 1;
    if (i == bins) i = bins - 1;
    r.counts[std::size_t(i)] += 1;
  }
  return r;
}

Tensor run_hist(test::DeviceRunner& r, const View& x, const HistogramParams& p) {
  return ta::run_alloc(r, x, [&](const View& s, Tensor& d, const Exec& e) { return histogram(s, d, p, e); });
}

std::vector<double> edges_of(test::DeviceRunner& r, const View& host, const HistogramParams& p) {
  Tensor dev = r.upload(host);
  std::vector<double> e;
  throw_if_error(histogram_edges(dev.view(), p, e, r.exec()));
  return e;
}

::testing::AssertionResult same(const std::vector<double>& got, const std::vector<double>& want) {
  if (got.size() != want.size()) return ::testing::AssertionFailure() << got.size() << " vs " << want.size() << " edges";
  for (std::size_t i = 0; i < got.size(); ++i)
    if (!(got[i] == want[i]))
      return ::testing::AssertionFailure() << "edge " << i << ": got " << got[i] << " want " << want[i];
  return ::testing::AssertionSuccess();
}

void check(test::DeviceRunner& r, const View& x, const HistogramParams& p) {
  const Ref want = reference(x, p.bins, p.min, p.max);
  Tensor got = run_hist(r, x, p);
  EXPECT_EQ(got.view().dtype, DType::i64);
  EXPECT_TRUE(ta::all_close(got.view(), want.counts, 0));
  EXPECT_TRUE(same(edges_of(r, x, p), want.edges));
}

TEST_P(HistogramTest, MatchesReferenceForEveryDtypeSizeAndBinCount) {
  test::DeviceRunner r(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    std::uint64_t seed = 1;
    for (DType t : kAllDTypes)
      for (const auto& shape : ta::shapes()) {
        Tensor x = test::random_tensor(t, shape, seed++, -3, 11);
        const bool big = shape.size() == 1 && shape[0] > 100000;
        const std::vector<std::int64_t> bin_counts = big ? std::vector<std::int64_t>{10, 777}
                                                         : std::vector<std::int64_t>{1, 7, 10, 256, 1000};
        for (std::int64_t bins : bin_counts) {
          SCOPED_TRACE(std::string(dtype_name(t)) + " " + ta::shape_str(shape) + " bins=" + std::to_string(bins));
          check(r, x.view(), {bins, {}, {}});
          if (dtype_is_float(t)) check(r, x.view(), {bins, -1.5, 7.25});
          else check(r, x.view(), {bins, 100, 60000.5});
        }
      }
  });
}

TEST_P(HistogramTest, ValuesExactlyOnEdgesAndOneUlpAside) {
  test::DeviceRunner r(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    const struct {
      double lo, hi;
      std::int64_t bins;
    } cases[] = {{0, 1, 3}, {0, 1, 10}, {0, 1, 49}, {-1.3, 2.9, 7}, {1e-3, 1e3, 1000}, {-0.7, 0.3, 6}, {0, 255, 17}};
    for (const auto& c : cases)
      for (DType t : {DType::f32, DType::f64}) {
        SCOPED_TRACE(std::string(dtype_name(t)) + " [" + std::to_string(c.lo) + ", " + std::to_string(c.hi) +
                     "] bins=" + std::to_string(c.bins));
        // The edges of this dtype, and their neighbours.
        const Tensor probe = ta::make_tensor(t, {0.0});
        const std::vector<double> edges = reference(probe.view(), c.bins, c.lo, c.hi).edges;
        std::vector<double> v;
        for (double e : edges) {
          if (t == DType::f32) {
            const float f = static_cast<float>(e);
            v.insert(v.end(), {f, std::nextafter(f, -INFINITY), std::nextafter(f, INFINITY)});
          } else {
            v.insert(v.end(), {e, std::nextafter(e, -kInf), std::nextafter(e, kInf)});
          }
        }
        Tensor x = ta::make_tensor(t, v);
        check(r, x.view(), {c.bins, c.lo, c.hi});
        // Autodetected: the range is [min, max] of these values.
        check(r, x.view(), {c.bins, {}, {}});
      }
    // Integers on integer edges: [0, 255] in 17 bins of 15.
    std::vector<double> v;
    for (int i = 0; i < 256; ++i) v.push_back(i);
    for (DType t : {DType::u8, DType::i32}) {
      Tensor x = ta::make_tensor(t, v);
      check(r, x.view(), {17, 0, 255});
      Tensor got = run_hist(r, x.view(), {17, 0, 255});
      EXPECT_EQ(test::at(got.view(), 0), 15);
      EXPECT_EQ(test::at(got.view(), 16), 16);  // the last edge 255 is in the last bin
    }
  });
}

// CPU/GPU same math: edge i is i * step + first with the product and the sum each rounded
// (np.linspace; the CUDA side's __dmul_rn / __dadd_rn), never one fused multiply-add. The
// ranges are chosen so that a fused i * step + first differs on some edges (checked first,
// so the comparison can fail); volatile forces each rounding of the reference. Values on
// those edges and one ulp below must land in the bins the rounded edges give.
TEST_P(HistogramTest, EdgesRoundEachStepLikeTheGpu) {
  test::DeviceRunner r(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    auto rounded = [](double x) {
      volatile double v = x;
      return double(v);
    };
    for (const auto& [lo, hi, bins] : {std::tuple{0.1, 0.7, std::int64_t(1000)}, {-1.3, 2.9, 997}, {1e-3, 1e3, 4096}}) {
      SCOPED_TRACE("[" + std::to_string(lo) + ", " + std::to_string(hi) + "] bins=" + std::to_string(bins));
      const double step = rounded((hi - lo) / double(bins));
      std::vector<double> want;
      int fused_differs = 0;
      for (std::int64_t i = 0; i < bins; ++i) {
        want.push_back(rounded(rounded(double(i) * step) + lo));
        fused_differs += std::fma(double(i), step, lo) != want.back();
      }
      want.push_back(hi);
      ASSERT_GT(fused_differs, 0) << "no edge tells fused from rounded: pick another range";
      std::vector<double> v;
      for (double e : want) v.insert(v.end(), {e, std::nextafter(e, -kInf)});
      Tensor x = ta::make_tensor(DType::f64, v);
      EXPECT_TRUE(same(edges_of(r, x.view(), {bins, lo, hi}), want));
      std::vector<double> counts(std::size_t(bins), 0.0);
      for (double e : v) {
        if (!(e >= want.front() && e <= want.back())) continue;
        auto i = std::upper_bound(want.begin(), want.end(), e) - want.begin() - 1;
        counts[std::size_t(std::min<std::int64_t>(i, bins - 1))] += 1;
      }
      EXPECT_TRUE(ta::all_close(run_hist(r, x.view(), {bins, lo, hi}).view(), counts, 0));
    }
  });
}

TEST_P(HistogramTest, ManyBinsUseTheGlobalAndAtomicPaths) {
  test::DeviceRunner r(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    Tensor x = test::random_tensor(DType::f32, {1000003}, 5, -1, 1);
    for (std::int64_t bins : {12288, 12289, 20000, 70000}) {
      SCOPED_TRACE("bins=" + std::to_string(bins));
      check(r, x.view(), {bins, {}, {}});
    }
  });
}

TEST_P(HistogramTest, ConstantArrayUsesHalfUnitRange) {
  test::DeviceRunner r(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    for (DType t : kAllDTypes) {
      SCOPED_TRACE(dtype_name(t));
      Tensor x = ta::make_tensor(t, std::vector<double>(1001, 5));
      // np.histogram(np.full(n, 5), bins=4) -> [0, 0, n, 0], edges 4.5 .. 5.5
      EXPECT_TRUE(ta::all_close(run_hist(r, x.view(), {4, {}, {}}).view(), {0, 0, 1001, 0}, 0));
      EXPECT_TRUE(same(edges_of(r, x.view(), {4, {}, {}}), {4.5, 4.75, 5, 5.25, 5.5}));
      EXPECT_TRUE(ta::all_close(run_hist(r, x.view(), {3, {}, {}}).view(), {0, 1001, 0}, 0));
      EXPECT_TRUE(ta::all_close(run_hist(r, x.view(), {1, {}, {}}).view(), {1001}, 0));
      // An explicit empty range [5, 5] widens the same way.
      EXPECT_TRUE(ta::all_close(run_hist(r, x.view(), {2, 5, 5}).view(), {0, 1001}, 0));
    }
  });
}

TEST_P(HistogramTest, ExplicitRangeIgnoresValuesOutside) {
  test::DeviceRunner r(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    std::vector<double> v;
    for (int i = 0; i < 10; ++i) v.push_back(i);
    for (DType t : kAllDTypes) {
      SCOPED_TRACE(dtype_name(t));
      Tensor x = ta::make_tensor(t, v);
      EXPECT_TRUE(ta::all_close(run_hist(r, x.view(), {4, 2.5, 6.5}).view(), {1, 1, 1, 1}, 0));
      EXPECT_TRUE(ta::all_close(run_hist(r, x.view(), {3, 2, 6}).view(), {2, 1, 2}, 0));
      EXPECT_TRUE(ta::all_close(run_hist(r, x.view(), {5, 20, 30}).view(), {0, 0, 0, 0, 0}, 0));
      EXPECT_TRUE(ta::all_close(run_hist(r, x.view(), {2, -100, 100}).view(), {0, 10}, 0));
    }
  });
}

TEST_P(HistogramTest, NaNAndInfinity) {
  test::DeviceRunner r(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    for (DType t : {DType::f32, DType::f64}) {
      SCOPED_TRACE(dtype_name(t));
      Tensor x = ta::make_tensor(t, {0, 1, std::nan(""), 2, kInf, -kInf, 3});
      // With a range, NaN and infinities are simply outside it.
      EXPECT_TRUE(ta::all_close(run_hist(r, x.view(), {3, 0, 3}).view(), {1, 1, 2}, 0));
      // Without, NumPy refuses: the autodetected range is not finite.
      Tensor dev = r.upload(x.view());
      Tensor out;
      Status s = histogram(dev.view(), out, {3, {}, {}}, r.exec());
      EXPECT_EQ(s.code(), Errc::invalid_argument);
      EXPECT_NE(s.message().find("autodetected range of [nan, nan] is not finite"), std::string::npos) << s.message();
      Tensor y = r.upload(ta::make_tensor(t, {0, kInf}).view());
      s = histogram(y.view(), out, {3, {}, {}}, r.exec());
      EXPECT_NE(s.message().find("autodetected range of [0, inf] is not finite"), std::string::npos) << s.message();
    }
  });
}

TEST_P(HistogramTest, EmptyInputCountsNothing) {
  test::DeviceRunner r(GetParam());
  Tensor empty, out;
  ASSERT_TRUE(Tensor::create(DType::f32, {0}, GetParam(), empty).ok());
  ASSERT_TRUE(histogram(empty.view(), out, {4, {}, {}}, r.exec()).ok());
  EXPECT_TRUE(ta::all_close(r.download(out.view()).view(), {0, 0, 0, 0}, 0));
  std::vector<double> e;
  ASSERT_TRUE(histogram_edges(empty.view(), {4, {}, {}}, e, r.exec()).ok());
  EXPECT_TRUE(same(e, {0, 0.25, 0.5, 0.75, 1}));  // NumPy's [0, 1] for empty input
}

TEST_P(HistogramTest, OpTableEntry) {
  test::DeviceRunner r(GetParam());
  const OpSpec* spec = find_op("histogram");
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(spec->kind, OpKind::histogram);
  Tensor x = ta::make_tensor(DType::u8, {0, 1, 2, 3, 4, 5, 6, 7, 8});
  Tensor h = r.run("histogram", {{"bins", "4"}, {"min", "0"}, {"max", "8"}}, x.view());
  EXPECT_EQ(h.view().dtype, DType::i64);
  EXPECT_TRUE(ta::all_close(h.view(), {2, 2, 2, 3}, 0));
  EXPECT_TRUE(ta::all_close(r.run("histogram", {}, x.view()).view(), {1, 1, 1, 1, 0, 1, 1, 1, 1, 1}, 0));
  OpArgs args;
  Status s = parse_args(*spec, {{"bins", "0"}}, args);
  EXPECT_NE(s.message().find("out of range"), std::string::npos) << s.message();
}

TEST_P(HistogramTest, Errors) {
  test::DeviceRunner r(GetParam());
  Tensor x = r.upload(ta::make_tensor(DType::f32, {1, 2, 3}).view());
  Tensor out;
  auto msg = [&](const HistogramParams& p) { return histogram(x.view(), out, p, r.exec()).message(); };
  EXPECT_NE(msg({0, {}, {}}).find("parameter 'bins' is out of range: 0; expected bins (integer in [1, 100000000]"), std::string::npos);
  EXPECT_NE(msg({4, 1.0, {}}).find("give both min and max"), std::string::npos);
  EXPECT_NE(msg({4, 3.0, 1.0}).find("max must be larger than min"), std::string::npos);
  EXPECT_NE(msg({4, -kInf, 1.0}).find("supplied range of [-inf, 1] is not finite"), std::string::npos);
  EXPECT_NE(msg({4, -1e308, 1e308}).find("too wide"), std::string::npos);
  Tensor wrong;
  ASSERT_TRUE(Tensor::create(DType::i32, {4}, GetParam(), wrong).ok());
  const Status s = histogram(x.view(), wrong.view(), {4, {}, {}}, r.exec());
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_NE(s.message().find("i64 tensor of shape [4]"), std::string::npos) << s.message();
}

// ---------------------------------------------------------------------------
// NumPy golden files (tests/golden/make_arrays_golden.py).
// ---------------------------------------------------------------------------

TEST_P(HistogramTest, MatchesNumPyGoldenFilesExactly) {
  test::DeviceRunner r(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    for (const char* name : {"f64_range", "f64_auto", "f64_narrow", "f32_range", "f32_auto", "f32_const", "i32_auto",
                             "u8_range", "u16_auto", "i64_big"}) {
      SCOPED_TRACE(name);
      const std::string base = std::string("arrays_hist_") + name;
      Tensor x, params, counts, edges;
      ASSERT_TRUE(ta::read_npy(base + "_x.npy", x));
      ASSERT_TRUE(ta::read_npy(base + "_params.npy", params));
      ASSERT_TRUE(ta::read_npy(base + "_counts.npy", counts));
      ASSERT_TRUE(ta::read_npy(base + "_edges.npy", edges));
      const std::vector<double> pv = ta::values(params.view());
      HistogramParams p;
      p.bins = static_cast<std::int64_t>(pv[0]);
      if (pv[1] != 0) {
        p.min = pv[2];
        p.max = pv[3];
      }
      Tensor got = run_hist(r, x.view(), p);
      EXPECT_TRUE(ta::all_close(got.view(), ta::values(counts.view()), 0));
      EXPECT_TRUE(same(edges_of(r, x.view(), p), ta::values(edges.view())));
    }
  });
}

INSTANTIATE_TEST_SUITE_P(Devices, HistogramTest, ::testing::ValuesIn(test::test_devices()), test::device_name);

}  // namespace
}  // namespace tandem
