// Helpers shared by the array-op tests (elementwise, stats, histogram): running
// an API call on a device, comparisons where NaN must match NaN, special float
// inputs, and a minimal .npy (format 1.0) reader for the NumPy golden files.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/test_support.hpp"

namespace tandem::test::arrays {

/// Uploads `host` to the runner's device, runs `call(src, dst, exec)` (which
/// allocates dst on the device), checks its Status and downloads dst.
template <class F>
Tensor run_alloc(DeviceRunner& runner, const View& host, F&& call) {
  Tensor in = runner.upload(host);
  Tensor out;
  const Status s = call(in.view(), out, runner.exec());
  if (!s.ok()) throw Error(s);
  return runner.download(out.view());
}

/// All elements of a host view as double, flat C order.
inline std::vector<double> values(const View& v) {
  std::vector<double> out(static_cast<std::size_t>(v.numel()));
  for (std::int64_t i = 0; i < v.numel(); ++i) out[std::size_t(i)] = at(v, i);
  return out;
}

/// A host tensor holding `vals` converted to `dtype` (static_cast).
inline Tensor make_tensor(DType dtype, const std::vector<double>& vals, std::vector<std::int64_t> shape = {}) {
  if (shape.empty()) shape = {static_cast<std::int64_t>(vals.size())};
  Tensor t;
  throw_if_error(Tensor::create(dtype, shape, Device::cpu(), t));
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    for (std::size_t i = 0; i < vals.size(); ++i) t.view().ptr<T>()[i] = static_cast<T>(vals[i]);
  });
  return t;
}

/// |got - want| <= abs_tol + rel_tol * |want| elementwise; NaN must meet NaN,
/// infinities must be equal; with `signed_zero` the sign of zeros must agree too.
inline ::testing::AssertionResult all_close(const View& got, const std::vector<double>& want, double rel_tol,
                                            double abs_tol = 0, bool signed_zero = false) {
  if (static_cast<std::size_t>(got.numel()) != want.size())
    return ::testing::AssertionFailure() << "size " << got.numel() << " != reference size " << want.size();
  std::ostringstream bad;
  std::int64_t nbad = 0;
  for (std::int64_t i = 0; i < got.numel(); ++i) {
    const double g = at(got, i);
    const double w = want[std::size_t(i)];
    bool ok;
    if (std::isnan(w) || std::isnan(g)) ok = std::isnan(w) && std::isnan(g);
    else if (std::isinf(w) || std::isinf(g)) ok = g == w;
    else ok = std::abs(g - w) <= abs_tol + rel_tol * std::abs(w);
    if (ok && signed_zero && g == 0 && w == 0) ok = std::signbit(g) == std::signbit(w);
    if (!ok) {
      if (nbad < 6) bad << "\n  [" << i << "] got " << g << " want " << w;
      ++nbad;
    }
  }
  if (nbad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << nbad << " of " << got.numel() << " elements differ (rel " << rel_tol
                                       << ", abs " << abs_tol << ")" << bad.str();
}

/// Sizes every op is tried on: a single element, a small odd size, and a large
/// prime-ish size that no tile or block divides.
inline std::vector<std::vector<std::int64_t>> shapes() { return {{1}, {7}, {3, 5, 7}, {1000003}}; }

inline std::string shape_str(const std::vector<std::int64_t>& s) {
  std::string r;
  for (auto d : s) r += (r.empty() ? "" : "x") + std::to_string(d);
  return r;
}

/// A random host tensor with, for float dtypes, values spread over [lo, hi)
/// plus specials at fixed places (NaN, +-inf, +-0, tiny, huge) when `specials`.
inline Tensor input(DType t, const std::vector<std::int64_t>& shape, std::uint64_t seed, double lo, double hi,
                    bool specials) {
  Tensor x = random_tensor(t, shape, seed, lo, hi);
  if (specials && dtype_is_float(t)) {
    const double inf = std::numeric_limits<double>::infinity();
    const double sp[] = {std::nan(""), inf, -inf, 0.0, -0.0, 1e-30, -1e-30, 1.0, -1.0, 1e30};
    const std::int64_t n = x.view().numel();
    visit_dtype(t, [&](auto tag) {
      using T = decltype(tag);
      for (std::int64_t i = 0; i < 10 && i * 7 + 3 < n; ++i) x.view().ptr<T>()[i * 7 + 3] = static_cast<T>(sp[i]);
    });
  }
  return x;
}

/// Reads tests/golden/NAME into a host tensor with the project's reader (itself
/// checked against NumPy in io_test); a 0-d array becomes shape [1].
inline ::testing::AssertionResult read_npy(const std::string& name, Tensor& out) {
  const std::string path = std::string(TANDEM_SOURCE_DIR) + "/tests/golden/" + name;
  Tensor t;
  const Status s = io::read_npy(path, t);
  if (!s.ok()) return ::testing::AssertionFailure() << s.message();
  if (t.view().ndim == 0) t.view() = View::array(t.view().data, t.view().dtype, {1});
  out = std::move(t);
  return ::testing::AssertionSuccess();
}

/// A golden case: its input tests/golden/NAME_in.npy and NumPy's result NAME_out.npy.
inline ::testing::AssertionResult read_golden_pair(const std::string& name, Tensor& in, Tensor& want) {
  ::testing::AssertionResult read = read_npy(name + "_in.npy", in);
  if (!read) return read;
  return read_npy(name + "_out.npy", want);
}

}  // namespace tandem::test::arrays
