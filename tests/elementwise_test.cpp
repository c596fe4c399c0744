// Elementwise ops (affine, clamp, abs, sqrt, exp, log, pow, normalize): every op
// x dtype x device x size against references written here with NumPy's
// semantics (f64 math; f32 emulated in float where NumPy computes in f32),
// NaN/inf behaviour, result dtypes, the op table, and the error paths.
#include "tandem/ops/elementwise.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tests/arrays_test_util.hpp"

namespace tandem {
namespace {

namespace ta = test::arrays;

class ElementwiseTest : public test::DeviceTest {};

constexpr double kInf = std::numeric_limits<double>::infinity();

DType float_dtype(DType t) { return t == DType::f32 ? DType::f32 : DType::f64; }

// --- references -------------------------------------------------------------
// Each returns the expected value (as double) of one element x of dtype t.

double ref_affine(double x, DType t, double a, double b) {
  if (t == DType::f32) {  // NumPy: f32 * f32(a), rounded, + f32(b), rounded
    const float p = static_cast<float>(x) * static_cast<float>(a);
    return static_cast<float>(p + static_cast<float>(b));
  }
  const double p = x * a;
  return p + b;
}

double ref_clamp(double x, DType t, double lo, double hi) {
  if (std::isnan(x)) return x;
  if (dtype_is_integer(t)) {
    lo = std::ceil(lo);
    hi = std::floor(hi);
  } else if (t == DType::f32) {
    lo = static_cast<float>(lo);
    hi = static_cast<float>(hi);
  }
  const double m = x > lo ? x : lo;
  return m < hi ? m : hi;
}

double ref_abs(double x, DType t) {
  if (t == DType::i32 && x == double(std::numeric_limits<std::int32_t>::min())) return x;  // NumPy wraps
  if (t == DType::i64 && x == double(std::numeric_limits<std::int64_t>::min())) return x;
  return std::fabs(x);
}

double ref_sqrt(double x, DType t) { return t == DType::f32 ? std::sqrt(static_cast<float>(x)) : std::sqrt(x); }

// --- running ------------------------------------------------------------------

Tensor run_affine(test::DeviceRunner& r, const View& x, double a, double b) {
  return ta::run_alloc(r, x, [&](const View& s, Tensor& d, const Exec& e) { return affine(s, d, {a, b}, e); });
}
Tensor run_clamp(test::DeviceRunner& r, const View& x, double lo, double hi) {
  return ta::run_alloc(r, x, [&](const View& s, Tensor& d, const Exec& e) { return clamp(s, d, {lo, hi}, e); });
}
Tensor run_unary(test::DeviceRunner& r, const View& x, UnaryFn f) {
  return ta::run_alloc(r, x, [&](const View& s, Tensor& d, const Exec& e) { return unary(s, d, {f}, e); });
}
Tensor run_power(test::DeviceRunner& r, const View& x, double p) {
  return ta::run_alloc(r, x, [&](const View& s, Tensor& d, const Exec& e) { return power(s, d, {p}, e); });
}
Tensor run_normalize(test::DeviceRunner& r, const View& x) {
  return ta::run_alloc(r, x, [&](const View& s, Tensor& d, const Exec& e) { return normalize(s, d, {}, e); });
}

template <class F>
std::vector<double> map(const View& x, F f) {
  std::vector<double> v = ta::values(x);
  for (double& e : v) e = f(e);
  return v;
}

// Calls body(t, x) for every dtype and every shape of ta::shapes(), in a SCOPED_TRACE naming
// both: x = ta::input(t, shape, seed, lo, hi, specials) with seeds seed, seed + 1, ...
// (floats in [lo, hi), with NaN, infinities and signed zeros if `specials`; integers over their range).
template <class Body>
void for_each_input(std::uint64_t seed, double lo, double hi, bool specials, Body&& body) {
  for (DType t : kAllDTypes)
    for (const auto& shape : ta::shapes()) {
      SCOPED_TRACE(std::string(dtype_name(t)) + " " + ta::shape_str(shape));
      const Tensor x = ta::input(t, shape, seed++, lo, hi, specials);
      body(t, x);
    }
}

void expect_shape(const View& got, const View& in, DType want) {
  EXPECT_EQ(got.dtype, want);
  ASSERT_EQ(got.ndim, in.ndim);
  for (int i = 0; i < in.ndim; ++i) EXPECT_EQ(got.shape[i], in.shape[i]);
}

// --- tests --------------------------------------------------------------------

TEST_P(ElementwiseTest, AffineMatchesNumPyForEveryDtype) {
  test::DeviceRunner r(GetParam());
  for_each_input(100, -4, 60, true, [&](DType t, const Tensor& x) {
    for (const auto& ab : {std::pair{2.5, -1.0}, std::pair{0.1, 0.7}, std::pair{-3.0, 1e6}}) {
      const double a = ab.first, b = ab.second;  // clang 14 cannot capture structured bindings
      Tensor y = run_affine(r, x.view(), a, b);
      expect_shape(y.view(), x.view(), float_dtype(t));
      // Bit-exact: both devices round after the product and after the sum.
      EXPECT_TRUE(ta::all_close(y.view(), map(x.view(), [&](double v) { return ref_affine(v, t, a, b); }), 0));
    }
  });
}

TEST_P(ElementwiseTest, ClampKeepsDtypeAndMatchesNpClip) {
  test::DeviceRunner r(GetParam());
  for_each_input(200, -2, 2, true, [&](DType t, const Tensor& x) {
    const double bounds[][2] = {{-0.5, 0.75}, {10.5, 300.2}, {-kInf, 1000}, {7, kInf}, {-1e30, 1e30}, {3, 3}};
    for (const auto& bd : bounds) {
      SCOPED_TRACE("[" + std::to_string(bd[0]) + ", " + std::to_string(bd[1]) + "]");
      if (dtype_is_integer(t) && std::ceil(bd[0]) > std::floor(bd[1])) continue;
      Tensor y = run_clamp(r, x.view(), bd[0], bd[1]);
      expect_shape(y.view(), x.view(), t);
      EXPECT_TRUE(ta::all_close(y.view(), map(x.view(), [&](double v) { return ref_clamp(v, t, bd[0], bd[1]); }),
                                0, 0, dtype_is_float(t)));
    }
  });
}

TEST_P(ElementwiseTest, ClampSignedZeroAndNaNAsNumPy) {
  test::DeviceRunner r(GetParam());
  for (DType t : {DType::f32, DType::f64}) {
    Tensor x = ta::make_tensor(t, {-0.0, 0.0, std::nan(""), -kInf, kInf, 0.5, -3});
    Tensor y = run_clamp(r, x.view(), 0.0, 1.0);
    // np.clip(-0.0, 0, 1) is +0.0 (max(-0.0, 0.0) keeps the second operand).
    EXPECT_TRUE(ta::all_close(y.view(), {0.0, 0.0, std::nan(""), 0.0, 1.0, 0.5, 0.0}, 0, 0, true));
    Tensor z = run_clamp(r, x.view(), -kInf, kInf);
    EXPECT_TRUE(ta::all_close(z.view(), ta::values(x.view()), 0, 0, true));
  }
}

TEST_P(ElementwiseTest, ClampIntegerBoundsRoundInwardAndSaturate) {
  test::DeviceRunner r(GetParam());
  Tensor u8 = ta::make_tensor(DType::u8, {0, 1, 2, 3, 4, 254, 255});
  EXPECT_TRUE(ta::all_close(run_clamp(r, u8.view(), 1.5, 3.5).view(), {2, 2, 2, 3, 3, 3, 3}, 0));
  EXPECT_TRUE(ta::all_close(run_clamp(r, u8.view(), -100, 1000).view(), ta::values(u8.view()), 0));
  const double lo64 = double(std::numeric_limits<std::int64_t>::min());
  Tensor i64 = ta::make_tensor(DType::i64, {lo64, -5, 0, 5});
  EXPECT_TRUE(ta::all_close(run_clamp(r, i64.view(), -1e300, 1e300).view(), ta::values(i64.view()), 0));
  EXPECT_TRUE(ta::all_close(run_clamp(r, i64.view(), -2.5, 2.5).view(), {-2, -2, 0, 2}, 0));
}

TEST_P(ElementwiseTest, AbsKeepsDtypeAndWrapsTheMostNegativeInteger) {
  test::DeviceRunner r(GetParam());
  for_each_input(300, -4, 60, true, [&](DType t, const Tensor& x) {
    Tensor y = run_unary(r, x.view(), UnaryFn::abs);
    expect_shape(y.view(), x.view(), t);
    EXPECT_TRUE(ta::all_close(y.view(), map(x.view(), [&](double v) { return ref_abs(v, t); }), 0, 0, true));
  });
  Tensor i32 = ta::make_tensor(DType::i32, {-2147483648.0, -2147483647.0, -1, 0, 5});
  EXPECT_TRUE(ta::all_close(run_unary(r, i32.view(), UnaryFn::abs).view(), {-2147483648.0, 2147483647.0, 1, 0, 5}, 0));
  Tensor i64 = ta::make_tensor(DType::i64, {-9223372036854775808.0, -7});
  EXPECT_TRUE(ta::all_close(run_unary(r, i64.view(), UnaryFn::abs).view(), {-9223372036854775808.0, 7}, 0));
}

TEST_P(ElementwiseTest, SqrtExpLogMatchNumPyForEveryDtype) {
  test::DeviceRunner r(GetParam());
  for_each_input(400, -4, 60, true, [&](DType t, const Tensor& x) {
    // sqrt is correctly rounded on both devices: exact.
    Tensor s = run_unary(r, x.view(), UnaryFn::sqrt);
    expect_shape(s.view(), x.view(), float_dtype(t));
    EXPECT_TRUE(ta::all_close(s.view(), map(x.view(), [&](double v) { return ref_sqrt(v, t); }), 0));
    // exp/log: libm and CUDA's are within a few ulp of the f64 reference.
    const double tol = t == DType::f32 ? 3e-6 : 1e-14;
    Tensor e = run_unary(r, x.view(), UnaryFn::exp);
    expect_shape(e.view(), x.view(), float_dtype(t));
    // Results below the normal range may differ in their last subnormal bits.
    const double tiny = t == DType::f32 ? 1e-38 : 1e-300;
    EXPECT_TRUE(ta::all_close(e.view(), map(x.view(), [&](double v) {
      const double y = std::exp(v);
      return t == DType::f32 ? double(static_cast<float>(y)) : y;  // overflow to inf where f32 does
    }), tol, tiny));
    Tensor l = run_unary(r, x.view(), UnaryFn::log);
    expect_shape(l.view(), x.view(), float_dtype(t));
    EXPECT_TRUE(ta::all_close(l.view(), map(x.view(), [](double v) { return std::log(v); }), tol));
  });
}

TEST_P(ElementwiseTest, NaNAndInfinityAsNumPy) {
  test::DeviceRunner r(GetParam());
  const double nan = std::nan("");
  for (DType t : {DType::f32, DType::f64}) {
    SCOPED_TRACE(dtype_name(t));
    Tensor x = ta::make_tensor(t, {-1, 0, -0.0, kInf, -kInf, nan, 1});
    EXPECT_TRUE(ta::all_close(run_unary(r, x.view(), UnaryFn::sqrt).view(), {nan, 0, -0.0, kInf, nan, nan, 1}, 0, 0, true));
    EXPECT_TRUE(ta::all_close(run_unary(r, x.view(), UnaryFn::log).view(), {nan, -kInf, -kInf, kInf, nan, nan, 0}, 0));
    EXPECT_TRUE(ta::all_close(run_unary(r, x.view(), UnaryFn::exp).view(), {std::exp(-1.0), 1, 1, kInf, 0, nan, std::exp(1.0)},
                              3e-7));
    EXPECT_TRUE(ta::all_close(run_unary(r, x.view(), UnaryFn::abs).view(), {1, 0, 0, kInf, kInf, nan, 1}, 0, 0, true));
    EXPECT_TRUE(ta::all_close(run_power(r, x.view(), 0.5).view(), {nan, 0, 0, kInf, kInf, nan, 1}, 0));
    EXPECT_TRUE(ta::all_close(run_power(r, x.view(), -1).view(), {-1, kInf, -kInf, 0, -0.0, nan, 1}, 0, 0, true));
    EXPECT_TRUE(ta::all_close(run_affine(r, x.view(), 2, 1).view(), {-1, 1, 1, kInf, -kInf, nan, 3}, 0));
  }
  // Integer zero: log gives -inf in f64.
  Tensor z = ta::make_tensor(DType::u8, {0, 1});
  EXPECT_TRUE(ta::all_close(run_unary(r, z.view(), UnaryFn::log).view(), {-kInf, 0}, 0));
}

TEST_P(ElementwiseTest, PowMatchesNumPyForEveryDtype) {
  test::DeviceRunner r(GetParam());
  for_each_input(500, -3, 20, true, [&](DType t, const Tensor& x) {
    for (double p : {2.0, 0.5, -1.5, 3.0, 1.0 / 3}) {
      SCOPED_TRACE("p=" + std::to_string(p));
      Tensor y = run_power(r, x.view(), p);
      expect_shape(y.view(), x.view(), float_dtype(t));
      const double tol = t == DType::f32 ? 4e-6 : 1e-14;
      const double tiny = t == DType::f32 ? 1e-38 : 1e-300;  // subnormal results
      EXPECT_TRUE(ta::all_close(y.view(), map(x.view(), [&](double v) {
        if (t == DType::f32) {
          const double e = static_cast<float>(p);
          return double(static_cast<float>(std::pow(v, e)));
        }
        return std::pow(v, p);
      }), tol, tiny));
    }
  });
}

TEST_P(ElementwiseTest, NormalizeMatchesNumPyForEveryDtype) {
  test::DeviceRunner r(GetParam());
  for_each_input(600, -7, 13, false, [&](DType t, const Tensor& x) {
    const std::vector<double> v = ta::values(x.view());
    double mn = v[0], mx = v[0];
    for (double e : v) mn = std::min(mn, e), mx = std::max(mx, e);
    Tensor y = run_normalize(r, x.view());
    expect_shape(y.view(), x.view(), float_dtype(t));
    std::vector<double> want(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (mx == mn) want[i] = 0;
      else if (t == DType::f32)  // NumPy: (a - min) and (max - min) rounded to f32, then divided in f32
        want[i] = static_cast<float>(static_cast<float>(v[i] - mn) / static_cast<float>(mx - mn));
      else
        want[i] = (v[i] - mn) / (mx - mn);
    }
    EXPECT_TRUE(ta::all_close(y.view(), want, 0));
    // And within rounding of the exact value.
    for (std::size_t i = 0; i < v.size(); i += 997) {
      const double exact = mx == mn ? 0 : (v[i] - mn) / (mx - mn);
      EXPECT_NEAR(test::at(y.view(), std::int64_t(i)), exact, t == DType::f32 ? 3e-7 : 1e-15);
    }
  });
}

TEST_P(ElementwiseTest, NormalizeConstantGivesZerosAndNaNPropagates) {
  test::DeviceRunner r(GetParam());
  for (DType t : kAllDTypes) {
    SCOPED_TRACE(dtype_name(t));
    Tensor c = ta::make_tensor(t, std::vector<double>(1001, 42.0));
    EXPECT_TRUE(ta::all_close(run_normalize(r, c.view()).view(), std::vector<double>(1001, 0.0), 0));
  }
  const double nan = std::nan("");
  for (DType t : {DType::f32, DType::f64}) {
    std::vector<double> v(100003);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = double(i % 17);
    v[77777] = nan;
    Tensor x = ta::make_tensor(t, v);
    EXPECT_TRUE(ta::all_close(run_normalize(r, x.view()).view(), std::vector<double>(v.size(), nan), 0));
    // An infinity: finite values map to 0 (x - min) / inf, inf itself to nan, as NumPy.
    Tensor y = ta::make_tensor(t, {0, 1, kInf});
    EXPECT_TRUE(ta::all_close(run_normalize(r, y.view()).view(), {0, 0, nan}, 0));
  }
}

TEST_P(ElementwiseTest, PreallocatedAndInPlace) {
  test::DeviceRunner r(GetParam());
  Tensor x = ta::input(DType::f32, {1031, 777}, 9, -5, 5, false);
  const std::vector<double> want = map(x.view(), [](double v) { return ref_affine(v, DType::f32, 3, -2); });
  Tensor d = r.upload(x.view());
  ASSERT_TRUE(affine(d.view(), d.view(), {3, -2}, r.exec()).ok());
  EXPECT_TRUE(ta::all_close(r.download(d.view()).view(), want, 0));
  ASSERT_TRUE(normalize(d.view(), d.view(), {}, r.exec()).ok());
  Tensor back = r.download(d.view());
  double mn = kInf, mx = -kInf;
  for (double v : want) mn = std::min(mn, v), mx = std::max(mx, v);
  EXPECT_EQ(test::at(back.view(), 0), static_cast<float>(static_cast<float>(want[0] - mn) / static_cast<float>(mx - mn)));
}

TEST_P(ElementwiseTest, OpTableEntriesRunWithNumPyDtypes) {
  test::DeviceRunner r(GetParam());
  Tensor x = ta::make_tensor(DType::u16, {0, 1, 4, 9, 65535});
  Tensor a = r.run("affine", {{"scale", "0.5"}, {"offset", "1"}}, x.view());
  EXPECT_EQ(a.view().dtype, DType::f64);
  EXPECT_TRUE(ta::all_close(a.view(), {1, 1.5, 3, 5.5, 32768.5}, 0));
  Tensor c = r.run("clamp", {{"max", "5"}}, x.view());
  EXPECT_EQ(c.view().dtype, DType::u16);
  EXPECT_TRUE(ta::all_close(c.view(), {0, 1, 4, 5, 5}, 0));
  EXPECT_TRUE(ta::all_close(r.run("sqrt", {}, x.view()).view(), {0, 1, 2, 3, std::sqrt(65535.0)}, 0));
  EXPECT_TRUE(ta::all_close(r.run("pow", {{"p", "2"}}, x.view()).view(), {0, 1, 16, 81, 65535.0 * 65535.0}, 0));
  EXPECT_TRUE(ta::all_close(r.run("normalize", {}, x.view()).view(), {0, 1 / 65535.0, 4 / 65535.0, 9 / 65535.0, 1}, 0));
  EXPECT_EQ(r.run("abs", {}, x.view()).view().dtype, DType::u16);
  EXPECT_EQ(r.run("exp", {}, x.view()).view().dtype, DType::f64);
  EXPECT_EQ(r.run("log", {}, ta::make_tensor(DType::f32, {1}).view()).view().dtype, DType::f32);
  for (const char* name : {"affine", "clamp", "abs", "sqrt", "exp", "log", "pow", "normalize"}) {
    const OpSpec* s = find_op(name);
    ASSERT_NE(s, nullptr) << name;
    EXPECT_EQ(s->kind, OpKind::array);
    EXPECT_EQ(s->dtypes.size(), 6u);
    EXPECT_FALSE(s->doc.empty());
  }
}

TEST_P(ElementwiseTest, ErrorsNameTheOpAndTheReason) {
  test::DeviceRunner r(GetParam());
  Tensor x = r.upload(ta::make_tensor(DType::u8, {1, 2, 3}).view());
  Tensor wrong;
  ASSERT_TRUE(Tensor::create(DType::u8, {3}, GetParam(), wrong).ok());
  Status s = affine(x.view(), wrong.view(), {}, r.exec());
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_NE(s.message().find("affine: output must be f64"), std::string::npos) << s.message();
  Tensor shape;
  ASSERT_TRUE(Tensor::create(DType::f64, {4}, GetParam(), shape).ok());
  s = unary(x.view(), shape.view(), {UnaryFn::sqrt}, r.exec());
  EXPECT_NE(s.message().find("sqrt: output shape differs"), std::string::npos) << s.message();
  Tensor out;
  s = clamp(x.view(), out, {5, 1}, r.exec());
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_NE(s.message().find("greater than max"), std::string::npos) << s.message();
  s = clamp(x.view(), out, {1.2, 1.8}, r.exec());
  EXPECT_NE(s.message().find("no u8 value lies in"), std::string::npos) << s.message();
  s = clamp(x.view(), out, {std::nan(""), 1}, r.exec());
  EXPECT_NE(s.message().find("NaN"), std::string::npos) << s.message();
  Tensor empty;
  ASSERT_TRUE(Tensor::create(DType::f32, {0}, GetParam(), empty).ok());
  s = normalize(empty.view(), out, {}, r.exec());
  EXPECT_NE(s.message().find("normalize: input is empty"), std::string::npos) << s.message();
  // Empty input is fine for the pointwise ops (as NumPy).
  Tensor e2;
  EXPECT_TRUE(affine(empty.view(), e2, {}, r.exec()).ok());
  // Padded rows are not contiguous.
  View strided = View::array(x.view().data, DType::u8, {2, 1}, GetParam());
  strided.strides[0] = 2;
  s = unary(strided, out, {UnaryFn::abs}, r.exec());
  EXPECT_NE(s.message().find("contiguous"), std::string::npos) << s.message();
  // Wrong device for the exec.
  if (GetParam().is_cuda()) {
    Tensor host = ta::make_tensor(DType::f32, {1, 2});
    s = unary(host.view(), out, {UnaryFn::exp}, r.exec());
    EXPECT_NE(s.message().find("input is on cpu"), std::string::npos) << s.message();
    Exec no_stream = r.exec();
    no_stream.stream = nullptr;
    s = unary(x.view(), out, {UnaryFn::abs}, no_stream);
    EXPECT_NE(s.message().find("stream"), std::string::npos) << s.message();
  }
  // Op-table parameter errors.
  OpArgs args;
  s = parse_args(*find_op("pow"), {}, args);
  EXPECT_NE(s.message().find("pow needs parameter p"), std::string::npos) << s.message();
}

INSTANTIATE_TEST_SUITE_P(Devices, ElementwiseTest, ::testing::ValuesIn(test::test_devices()), test::device_name);

}  // namespace
}  // namespace tandem
