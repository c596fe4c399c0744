// sort vs an independent reference: std::sort of each row with NumPy's NaN-last rule.
#include "tandem/ops/sort.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "tandem/io/npy.hpp"
#include "tests/arrays_test_util.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/simd_targets.hpp"

namespace tandem {
namespace {

using Shape = std::vector<std::int64_t>;

template <class T>
std::vector<T> random_values(std::int64_t n, std::uint64_t seed) {
  std::vector<T> v = test::random_values<T>(n, seed, 1000);
  if constexpr (std::is_floating_point_v<T>)
    // Some duplicates and zeros of both signs.
    for (std::size_t i = 0; i + 7 < v.size(); i += 97) v[i + 3] = v[i], v[i + 5] = T(-0.0), v[i + 7] = T(0.0);
  return v;
}

template <class T>
bool less_nan_last(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a)) return false;
    if (std::isnan(b)) return true;
  }
  return a < b;
}

/// The reference: each row of the C-order values sorted with std::sort.
template <class T>
std::vector<T> reference_sort(std::vector<T> v, std::int64_t row_length) {
  if (row_length > 0)
    for (std::size_t r = 0; r < v.size(); r += std::size_t(row_length))
      std::sort(v.begin() + std::ptrdiff_t(r), v.begin() + std::ptrdiff_t(r + std::size_t(row_length)),
                less_nan_last<T>);
  return v;
}

/// Exact comparison: NaN where the reference has NaN, equal (-0.0 == +0.0) elsewhere.
template <class T>
::testing::AssertionResult same_values(const View& got, const std::vector<T>& want) {
  if (got.dtype != dtype_of_v<T> || static_cast<std::size_t>(got.numel()) != want.size())
    return ::testing::AssertionFailure() << "got " << got.describe() << ", want " << want.size() << " x "
                                         << dtype_name(dtype_of_v<T>);
  const T* g = got.ptr<T>();
  std::int64_t nbad = 0;
  std::ostringstream os;
  for (std::size_t i = 0; i < want.size(); ++i) {
    bool ok = g[i] == want[i];
    if constexpr (std::is_floating_point_v<T>) ok = ok || (std::isnan(g[i]) && std::isnan(want[i]));
    if (!ok) {
      if (nbad < 5) os << "\n  [" << i << "] got " << +g[i] << " want " << +want[i];
      ++nbad;
    }
  }
  if (nbad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << nbad << " of " << want.size() << " elements differ" << os.str();
}

/// Sorts `host` on the runner's device through the allocating API and returns the host result.
Tensor run_sort(test::DeviceRunner& runner, const View& host) {
  return test::arrays::run_alloc(runner, host, [](const View& in, Tensor& out, const Exec& exec) {
    return sort(in, out, SortParams{}, exec);
  });
}

template <class T>
void check_shape(test::DeviceRunner& runner, const Shape& shape, std::uint64_t seed) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  const auto values = random_values<T>(n, seed);
  Tensor host = test::host_tensor(values, shape);
  Tensor got = run_sort(runner, host.view());
  EXPECT_TRUE(same_values(got.view(), reference_sort(values, shape.back())))
      << dtype_name(dtype_of_v<T>) << " " << host.view().describe();
}

class SortTest : public test::DeviceTest {};

TEST_P(SortTest, EveryDtypeAndAwkwardShapes) {
  test::DeviceRunner runner(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    const std::vector<Shape> shapes = {{1},     {2},        {17},      {1000003}, {1, 1},       {1, 300},
                                       {300, 1}, {37, 53},  {3, 5, 7}, {2, 3, 4, 5}, {3, 100003}, {1031, 257}};
    std::uint64_t seed = 1;
    for (DType t : kAllDTypes)
      for (const auto& shape : shapes)
        visit_dtype(t, [&](auto tag) { check_shape<decltype(tag)>(runner, shape, seed++); });
  });
}

TEST_P(SortTest, ThroughTheOpTable) {
  test::DeviceRunner runner(GetParam());
  const auto values = random_values<float>(7 * 129, 99);
  Tensor host = test::host_tensor(values, {7, 129});
  Tensor got = runner.run("sort", {}, host.view());
  EXPECT_TRUE(same_values(got.view(), reference_sort(values, 129)));
  const OpSpec* spec = find_op("sort");
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(spec->kind, OpKind::array);
  EXPECT_EQ(spec->dtypes.size(), 6u);
}

template <class T>
std::vector<T> specials() {
  using L = std::numeric_limits<T>;
  const T nan = L::quiet_NaN();
  const T neg_nan = std::copysign(L::quiet_NaN(), T(-1));
  T payload_nan;  // a NaN with a non-default payload
  if constexpr (sizeof(T) == 4) {
    const std::uint32_t b = 0x7FA00001u;
    std::memcpy(&payload_nan, &b, 4);
  } else {
    const std::uint64_t b = 0xFFF0000000000123ull;  // negative signalling NaN
    std::memcpy(&payload_nan, &b, 8);
  }
  return {T(3),        nan,         L::infinity(), T(-0.0),    -L::infinity(), neg_nan,   T(0.0),
          L::lowest(), L::max(),    L::denorm_min(), -L::denorm_min(), payload_nan, T(-2.5), L::min(),
          T(1),        nan,         T(-0.0),       T(1e-3)};
}

template <class T>
void check_specials(test::DeviceRunner& runner) {
  // One row of specials, many rows of specials, and a long row with 10% NaNs.
  const auto row = specials<T>();
  const auto n = static_cast<std::int64_t>(row.size());
  {
    Tensor host = test::host_tensor(row, {n});
    EXPECT_TRUE(same_values(run_sort(runner, host.view()).view(), reference_sort(row, n)));
  }
  {
    std::vector<T> many;
    std::mt19937 rng(5);
    for (int r = 0; r < 40; ++r) {
      auto shuffled = row;
      std::shuffle(shuffled.begin(), shuffled.end(), rng);
      many.insert(many.end(), shuffled.begin(), shuffled.end());
    }
    Tensor host = test::host_tensor(many, {4, 10, n});
    EXPECT_TRUE(same_values(run_sort(runner, host.view()).view(), reference_sort(many, n)));
  }
  {
    auto big = random_values<T>(1000003, 11);
    for (std::size_t i = 0; i < big.size(); i += 10) big[i] = row[(i / 10) % row.size()];
    Tensor host = test::host_tensor(big, {std::int64_t(big.size())});
    Tensor got = run_sort(runner, host.view());
    const auto want = reference_sort(big, std::int64_t(big.size()));
    EXPECT_TRUE(same_values(got.view(), want));
    EXPECT_TRUE(std::isnan(got.view().ptr<T>()[big.size() - 1]));
  }
}

TEST_P(SortTest, NanInfAndSignedZeroFloats) {
  test::DeviceRunner runner(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    check_specials<float>(runner);
    check_specials<double>(runner);
  });
}

TEST_P(SortTest, IntegerExtremes) {
  test::DeviceRunner runner(GetParam());
  auto check = [&](auto tag) {
    using T = decltype(tag);
    using L = std::numeric_limits<T>;
    std::vector<T> v = {L::max(), T(0), L::lowest(), T(1), L::max(), T(L::max() - 1), T(L::lowest() + 1), T(7)};
    if constexpr (std::is_signed_v<T>) v.push_back(T(-1));
    Tensor host = test::host_tensor(v, {std::int64_t(v.size())});
    EXPECT_TRUE(same_values(run_sort(runner, host.view()).view(), reference_sort(v, std::int64_t(v.size()))))
        << dtype_name(dtype_of_v<T>);
  };
  check(std::uint8_t{});
  check(std::uint16_t{});
  check(std::int32_t{});
  check(std::int64_t{});
}

TEST_P(SortTest, StridedInputAndInPlace) {
  test::DeviceRunner runner(GetParam());
  test::for_each_simd_target_on(GetParam(), [&] {
    // A 37 x 53 i32 view with padded rows (row stride 64 elements) inside a bigger buffer.
    const auto backing = random_values<std::int32_t>(37 * 64, 21);
    Tensor host_backing = test::host_tensor(backing, {37, 64});
    Tensor dev_backing = runner.upload(host_backing.view());
    View padded = View::image(dev_backing.view().data, DType::i32, 37, 53, 1, GetParam(), 64 * 4);
    std::vector<std::int32_t> logical;
    for (int y = 0; y < 37; ++y) logical.insert(logical.end(), backing.begin() + y * 64, backing.begin() + y * 64 + 53);
    const auto want = reference_sort(logical, 53);
    {
      Tensor out;
      ASSERT_TRUE(sort(padded, out, SortParams{}, runner.exec()).ok());
      EXPECT_TRUE(same_values(runner.download(out.view()).view(), want));
    }
    // Every other column: a non-unit stride along the sorted axis.
    {
      View cols = padded;
      cols.shape[1] = 32;
      cols.strides[1] = 8;
      std::vector<std::int32_t> picked;
      for (int y = 0; y < 37; ++y)
        for (int x = 0; x < 32; ++x) picked.push_back(backing[std::size_t(y * 64 + 2 * x)]);
      Tensor out;
      ASSERT_TRUE(sort(cols, out, SortParams{}, runner.exec()).ok());
      EXPECT_TRUE(same_values(runner.download(out.view()).view(), reference_sort(picked, 32)));
    }
    // In place on a contiguous array.
    {
      const auto v = random_values<double>(5 * 1001, 22);
      Tensor host = test::host_tensor(v, {5, 1001});
      Tensor dev = runner.upload(host.view());
      const Status s = sort(dev.view(), dev.view(), SortParams{}, runner.exec());
      ASSERT_TRUE(s.ok()) << s.message();
      EXPECT_TRUE(same_values(runner.download(dev.view()).view(), reference_sort(v, 1001)));
    }
  });
}

TEST_P(SortTest, EmptyArraysAreFine) {
  test::DeviceRunner runner(GetParam());
  for (const Shape& shape : {Shape{0}, Shape{3, 0}, Shape{0, 5}}) {
    Tensor in;
    ASSERT_TRUE(Tensor::create(DType::f32, shape, GetParam(), in).ok());
    Tensor out;
    const Status s = sort(in.view(), out, SortParams{}, runner.exec());
    EXPECT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(out.view().numel(), 0);
  }
}

TEST_P(SortTest, ErrorsNameTheProblem) {
  test::DeviceRunner runner(GetParam());
  Tensor a, b, c;
  ASSERT_TRUE(Tensor::create(DType::f32, {4, 5}, GetParam(), a).ok());
  ASSERT_TRUE(Tensor::create(DType::f32, {5, 4}, GetParam(), b).ok());
  ASSERT_TRUE(Tensor::create(DType::f64, {4, 5}, GetParam(), c).ok());
  Status s = sort(a.view(), b.view(), SortParams{}, runner.exec());
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_NE(s.message().find("f32 5x4"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("f32 4x5"), std::string::npos) << s.message();
  s = sort(a.view(), c.view(), SortParams{}, runner.exec());
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  View scalar = a.view();
  scalar.ndim = 0;
  s = sort(scalar, scalar, SortParams{}, runner.exec());
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_NE(s.message().find("rank"), std::string::npos) << s.message();
  // Input on another device than the exec.
  Tensor host_in = test::host_tensor(std::vector<float>(20, 1.f), {4, 5});
  if (GetParam().is_cuda()) {
    s = sort(host_in.view(), a.view(), SortParams{}, runner.exec());
    EXPECT_EQ(s.code(), Errc::invalid_argument);
    EXPECT_NE(s.message().find("cpu"), std::string::npos) << s.message();
    View strided_dst = b.view();
    strided_dst.shape[0] = 4;
    strided_dst.shape[1] = 5;
    strided_dst.strides[0] = 40;
    s = sort(a.view(), strided_dst, SortParams{}, runner.exec());
    EXPECT_EQ(s.code(), Errc::unsupported) << s.message();
  } else {
    s = sort(host_in.view(), host_in.view(), SortParams{}, Exec{Device::cuda(0), nullptr, 0});
    EXPECT_FALSE(s.ok());
  }
}

template <class T>
std::vector<T> values_of(const View& v) {
  std::vector<T> out(static_cast<std::size_t>(v.numel()));
  if (!out.empty()) std::memcpy(out.data(), v.data, out.size() * sizeof(T));
  return out;
}

// np.sort results written by tests/golden/make_sortmat_golden.py.
TEST_P(SortTest, MatchesNumPyGolden) {
  test::DeviceRunner runner(GetParam());
  for (const char* name : {"sortmat_sort_f64", "sortmat_sort_f32"}) {
    Tensor in, want;
    ASSERT_TRUE(test::arrays::read_golden_pair(name, in, want)) << name;
    Tensor got = runner.run("sort", {}, in.view());
    ASSERT_TRUE(got.view().same_layout(want.view())) << got.view().describe() << " vs " << want.view().describe();
    if (want.view().dtype == DType::f64)
      EXPECT_TRUE(same_values(got.view(), values_of<double>(want.view()))) << name;
    else
      EXPECT_TRUE(same_values(got.view(), values_of<float>(want.view()))) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Devices, SortTest, ::testing::ValuesIn(test::test_devices()), test::device_name);

// The CPU's parallel paths at thread counts that do not divide the sizes.
TEST(SortCpu, ParallelRadixAtOddThreadCounts) {
  for (int threads : {1, 3, 8}) {
    for (const Shape& shape : {Shape{1000003}, Shape{3, 200003}}) {
      const auto f = random_values<float>(shape.size() == 1 ? shape[0] : shape[0] * shape[1], 31 + threads);
      const auto i = random_values<std::int64_t>(std::int64_t(f.size()), 41 + threads);
      Tensor hf = test::host_tensor(f, shape), hi = test::host_tensor(i, shape);
      Tensor of, oi;
      ASSERT_TRUE(sort(hf.view(), of, SortParams{}, Exec::cpu(threads)).ok());
      ASSERT_TRUE(sort(hi.view(), oi, SortParams{}, Exec::cpu(threads)).ok());
      EXPECT_TRUE(same_values(of.view(), reference_sort(f, shape.back()))) << threads;
      EXPECT_TRUE(same_values(oi.view(), reference_sort(i, shape.back()))) << threads;
    }
  }
  // Small non-negative i64 values: most radix passes are skipped.
  std::vector<std::int64_t> small(300001);
  for (std::size_t k = 0; k < small.size(); ++k) small[k] = std::int64_t((k * 7919) % 1000);
  Tensor hs = test::host_tensor(small, {std::int64_t(small.size())});
  Tensor os;
  ASSERT_TRUE(sort(hs.view(), os, SortParams{}, Exec::cpu(4)).ok());
  EXPECT_TRUE(same_values(os.view(), reference_sort(small, std::int64_t(small.size()))));
}

}  // namespace
}  // namespace tandem
