// Test helpers shared by gaussian_test, box_test and filter_test: an
// independent float64 reference for 2-D correlation with OpenCV's border
// rules, the result comparison, and the OpenCV golden cases of
// tests/golden/filters_manifest.txt (made by make_filters_golden.py) with a
// minimal .npy reader.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/padded_rows.hpp"
#include "tests/support/simd_targets.hpp"
#include "tests/support/test_support.hpp"

namespace tandem::test::filters {

struct Combo {
  DType dtype;
  int channels;
};
/// Every dtype x channel combination the three ops accept.
inline const std::vector<Combo>& combos() {
  static const std::vector<Combo> c{{DType::u8, 1},  {DType::u8, 3},  {DType::u8, 4},
                                    {DType::u16, 1}, {DType::u16, 3}, {DType::u16, 4},
                                    {DType::f32, 1}, {DType::f32, 3}, {DType::f32, 4}};
  return c;
}
inline std::string combo_name(const Combo& c) { return std::string(dtype_name(c.dtype)) + "x" + std::to_string(c.channels); }

inline const std::vector<std::string>& borders() {
  static const std::vector<std::string> b{"reflect101", "replicate", "constant"};
  return b;
}

/// Index of coordinate p in [0, n) by the border rule, written independently
/// of kern::border_index: reflect101 is periodic with period 2n - 2.
inline std::int64_t ref_index(std::int64_t p, std::int64_t n, const std::string& border) {
  if (p >= 0 && p < n) return p;
  if (border == "constant") return -1;
  if (border == "replicate") return p < 0 ? 0 : n - 1;
  if (n == 1) return 0;
  const std::int64_t period = 2 * n - 2;
  std::int64_t q = ((p % period) + period) % period;
  return q < n ? q : period - q;
}

/// The outside value as the op uses it: rounded half to even and saturated for integer dtypes.
inline double ref_value(DType t, double v) {
  if (t == DType::f32) return double(float(v));
  const double hi = t == DType::u8 ? 255 : 65535;
  return std::clamp(std::nearbyint(v), 0.0, hi);
}

/// dst(y, x, c) = sum_{i,j} k(i, j) * src(y - ay + i, x - ax + j, c), in double.
inline std::vector<double> correlate(const View& img, const std::vector<double>& k, int kh, int kw, int ay, int ax,
                                     const std::string& border, double value) {
  const std::int64_t h = img.height(), w = img.width(), ch = img.channels();
  const double v = ref_value(img.dtype, value);
  std::vector<double> src(std::size_t(h * w * ch));
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x)
      for (std::int64_t c = 0; c < ch; ++c) src[std::size_t((y * w + x) * ch + c)] = pixel(img, y, x, c);
  // Index tables per kernel offset keep the naive loop affordable.
  std::vector<std::int64_t> ys(std::size_t(h * kh)), xs(std::size_t(w * kw));
  for (std::int64_t y = 0; y < h; ++y)
    for (int i = 0; i < kh; ++i) ys[std::size_t(y * kh + i)] = ref_index(y - ay + i, h, border);
  for (std::int64_t x = 0; x < w; ++x)
    for (int j = 0; j < kw; ++j) xs[std::size_t(x * kw + j)] = ref_index(x - ax + j, w, border);
  std::vector<double> out(src.size());
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x)
      for (std::int64_t c = 0; c < ch; ++c) {
        double s = 0;
        for (int i = 0; i < kh; ++i) {
          const std::int64_t sy = ys[std::size_t(y * kh + i)];
          for (int j = 0; j < kw; ++j) {
            const double wt = k[std::size_t(i * kw + j)];
            if (wt == 0) continue;
            const std::int64_t sx = xs[std::size_t(x * kw + j)];
            s += wt * (sy < 0 || sx < 0 ? v : src[std::size_t((sy * w + sx) * ch + c)]);
          }
        }
        out[std::size_t((y * w + x) * ch + c)] = s;
      }
  return out;
}

/// The reference as the dtype stores it: rounded half to even and saturated for integers.
inline std::vector<double> to_dtype(std::vector<double> v, DType t) {
  if (t == DType::f32) {
    for (double& x : v) x = double(float(x));
    return v;
  }
  const double hi = t == DType::u8 ? 255 : 65535;
  for (double& x : v) x = std::clamp(std::nearbyint(x), 0.0, hi);
  return v;
}

/// Compares an op's result with a reference: integers within `int_tol`, f32
/// within 1e-4 relative to max(1, the reference's largest magnitude).
inline ::testing::AssertionResult matches(const View& got, const std::vector<double>& ref, int int_tol) {
  if (got.dtype != DType::f32) return all_near(got, to_dtype(ref, got.dtype), int_tol);
  double scale = 1;
  for (double x : ref) scale = std::max(scale, std::abs(x));
  return all_near(got, ref, 1e-4 * scale);
}

/// A host copy of `img` whose rows are padded by `pad` bytes (for stride tests).
struct Padded {
  Buffer buf;
  View view;
};
inline Padded padded_copy(const View& img, std::int64_t pad) {
  Padded p;
  const std::int64_t stride = img.width() * img.channels() * std::int64_t(img.elem_size()) + pad;
  throw_if_error(Buffer::allocate(std::size_t(stride * img.height()), MemKind::host, p.buf));
  std::memset(p.buf.data(), 0xAB, p.buf.size());
  p.view = View::image(p.buf.data(), img.dtype, img.height(), img.width(), img.channels(), Device::cpu(), stride);
  throw_if_error(copy(img, p.view));
  return p;
}

// ---------------------------------------------------------------------------
// OpenCV golden data.

/// Reads a C-order .npy file (format 1.0, little-endian u1/u2/f4) into a host tensor.
inline Tensor read_npy(const std::string& path) {
  Tensor t;
  throw_if_error(io::read_npy(path, t));  // the project's reader, checked against NumPy in io_test
  return t;
}

struct GoldenCase {
  std::string op, input, output;
  double tol;  // > 0: integer units; < 0: relative for f32
  std::map<std::string, std::string, std::less<>> params;
};

inline std::string golden_dir() { return std::string(TANDEM_SOURCE_DIR) + "/tests/golden/"; }

inline std::vector<GoldenCase> golden_cases(const std::string& op) {
  std::ifstream f(golden_dir() + "filters_manifest.txt");
  std::vector<GoldenCase> out;
  for (std::string line; std::getline(f, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream is(line);
    GoldenCase c;
    is >> c.op >> c.input >> c.output >> c.tol;
    for (std::string kv; is >> kv;) {
      const auto eq = kv.find('=');
      c.params[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    if (c.op == op) out.push_back(std::move(c));
  }
  return out;
}

/// Runs every golden case of `op` on `device` (on the CPU once per SIMD target)
/// and checks it against OpenCV's output.
inline void check_golden(const std::string& op, Device device) {
  const auto cases = golden_cases(op);
  ASSERT_FALSE(cases.empty()) << "no golden cases for " << op << " in " << golden_dir();
  for_each_simd_target_with_runner(device, [&](DeviceRunner& runner) {
    for (const GoldenCase& c : cases) {
      SCOPED_TRACE(c.output);
      const Tensor in = read_npy(golden_dir() + c.input);
      const Tensor want = read_npy(golden_dir() + c.output);
      const Tensor got = runner.run(op, c.params, in.view());
      ASSERT_TRUE(got.view().same_layout(want.view())) << got.view().describe() << " vs " << want.view().describe();
      std::vector<double> ref(std::size_t(want.view().numel()));
      double scale = 1;
      for (std::size_t i = 0; i < ref.size(); ++i) {
        ref[i] = at(want.view(), std::int64_t(i));
        scale = std::max(scale, std::abs(ref[i]));
      }
      EXPECT_TRUE(all_near(got.view(), ref, c.tol > 0 ? c.tol : -c.tol * scale));
    }
  });
}

}  // namespace tandem::test::filters

namespace tandem::test::filters {

/// The `value` parameter the tests use for constant borders: a half-way value
/// for integers (so rounding half to even is exercised), in range for f32.
inline std::string test_value(DType t) {
  return t == DType::u8 ? "201.5" : t == DType::u16 ? "40000.5" : "0.25";
}

/// The image sizes of the awkward-size tests: one pixel, one row, one
/// column, tiny and even, odd and larger than most kernels.
inline const std::vector<std::pair<std::int64_t, std::int64_t>>& awkward_sizes() {
  static const std::vector<std::pair<std::int64_t, std::int64_t>> s{{1, 1}, {1, 17}, {13, 1}, {4, 6}, {37, 53}};
  return s;
}

/// Calls `f(combo, border, h, w, case, seed)` for every combo x border x
/// awkward size x case, with seeds 1, 2, 3, ... in that order.
template <class Cases, class F>
void for_each_awkward_case(const Cases& cases, F&& f) {
  std::uint64_t seed = 1;
  for (const Combo& c : combos())
    for (const auto& border : borders())
      for (auto [h, w] : awkward_sizes())
        for (const auto& cs : cases) f(c, border, h, w, cs, seed++);
}

/// Runs `op` with `params` and `border` (and test_value for constant
/// borders) on a random h x w image of `c`, and checks the result against
/// `ref(img, border, value)` within `int_tol`; `what` names the case.
template <class Ref>
void check_against_ref(DeviceRunner& runner, const std::string& op,
                       std::map<std::string, std::string, std::less<>> params, const Combo& c, std::int64_t h,
                       std::int64_t w, const std::string& border, std::uint64_t seed, int int_tol, Ref&& ref,
                       const std::string& what) {
  const Tensor img = random_image(c.dtype, h, w, c.channels, seed);
  params["border"] = border;
  if (border == "constant") params["value"] = test_value(c.dtype);
  const Tensor got = runner.run(op, params, img.view());
  const double value = border == "constant" ? std::stod(test_value(c.dtype)) : 0;
  EXPECT_TRUE(matches(got.view(), ref(img.view(), border, value), int_tol))
      << combo_name(c) << " " << h << "x" << w << " " << what << " " << border;
}

/// For every combo: a random 23x37 image (of `seed`) run by `op(src, dst,
/// exec)` on `device`, from and into images whose rows are padded (by 6 and
/// 10 elements), must match `ref(img)` within `int_tol`.
template <class Op, class Ref>
void check_padded_strides(Device device, std::uint64_t seed, int int_tol, Op&& op, Ref&& ref) {
  DeviceRunner runner(device);
  for (const Combo& c : combos()) {
    const Tensor img = random_image(c.dtype, 23, 37, c.channels, seed);
    const Tensor got = run_padded_rows(runner, img.view(), 23, 37, 6, 10,
                                       [&](const View& s, const View& d) { return op(s, d, runner.exec()); });
    EXPECT_TRUE(matches(got.view(), ref(img.view()), int_tol)) << combo_name(c);
  }
}

/// `op(in, out, exec)` on `img` with 1, 3 and 8 threads must match `ref`
/// within `int_tol` each time.
template <class Op>
void check_thread_counts(DeviceRunner& runner, const View& img, const std::vector<double>& ref, int int_tol,
                         Op&& op) {
  for (int threads : {1, 3, 8}) {
    Exec exec = runner.exec();
    exec.threads = threads;
    Tensor in = runner.upload(img);
    Tensor out;
    ASSERT_TRUE(op(in.view(), out, exec).ok());
    EXPECT_TRUE(matches(runner.download(out.view()).view(), ref, int_tol)) << threads << " threads";
  }
}

/// A refusal of `op`: the code, and a message that names the op and `needle`.
inline void expect_refusal(const Status& s, Errc code, const char* op, const char* needle) {
  EXPECT_EQ(s.code(), code) << s.message();
  EXPECT_NE(s.message().find(op), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
}

}  // namespace tandem::test::filters
