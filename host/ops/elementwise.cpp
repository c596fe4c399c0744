// Elementwise ops: validation, device dispatch, the OpenMP implementation and
// the op-table entries.  The per-element math is in kernels/elementwise.cuh.
#include "tandem/ops/elementwise.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>

#include "host/ops/dispatch.hpp"
#include "host/ops/minmax.hpp"
#include "host/ops/op_decl.hpp"
#include "host/core/parallel.hpp"
#include "kernels/elementwise.cuh"
#include "tandem/config.hpp"
#include "tandem/op_table.hpp"

namespace tandem {
namespace {

using cuda::EwArgs;
using cuda::EwKind;

// Elements per OpenMP work item: big enough to amortise scheduling, small
// enough to balance odd sizes across cores.
constexpr std::int64_t kChunk = std::int64_t(1) << 15;

const char* kind_name(EwKind k) {
  switch (k) {
    case EwKind::affine: return "affine";
    case EwKind::clamp: return "clamp";
    case EwKind::abs: return "abs";
    case EwKind::sqrt: return "sqrt";
    case EwKind::exp: return "exp";
    case EwKind::log: return "log";
    case EwKind::pow: return "pow";
    case EwKind::normalize: return "normalize";
  }
  return "?";
}

DType result_dtype(EwKind k, DType in) {
  return (k == EwKind::clamp || k == EwKind::abs) ? in : elementwise_float_dtype(in);
}

Status fail(EwKind k, Errc code, const std::string& why) {
  return {code, std::string(kind_name(k)) + ": " + why};
}

Status check(EwKind k, const View& src, const View& dst, const Exec& exec) {
  if (!(src.device == exec.device))
    return fail(k, Errc::invalid_argument, "input is on " + src.device.str() + " but the op runs on " + exec.device.str());
  if (!(dst.device == exec.device))
    return fail(k, Errc::invalid_argument, "output is on " + dst.device.str() + " but the op runs on " + exec.device.str());
  if (exec.device.is_cuda() && !exec.stream)
    return fail(k, Errc::invalid_argument, "a CUDA stream is required to run on " + exec.device.str());
  if (!src.is_contiguous()) return fail(k, Errc::invalid_argument, "input must be contiguous; got " + src.describe());
  if (!dst.is_contiguous()) return fail(k, Errc::invalid_argument, "output must be contiguous; got " + dst.describe());
  bool same_shape = src.ndim == dst.ndim;
  for (int i = 0; same_shape && i < src.ndim; ++i) same_shape = src.shape[i] == dst.shape[i];
  if (!same_shape)
    return fail(k, Errc::invalid_argument, "output shape differs from the input's (" + dst.describe() + " vs " + src.describe() + ")");
  const DType want = result_dtype(k, src.dtype);
  if (dst.dtype != want)
    return fail(k, Errc::invalid_argument, std::string("output must be ") + dtype_name(want) + " for " +
                                               dtype_name(src.dtype) + " input; got " + dtype_name(dst.dtype));
  if (src.numel() > 0 && (!src.data || !dst.data)) return fail(k, Errc::invalid_argument, "null data pointer");
  if (k == EwKind::normalize && src.numel() == 0)
    return fail(k, Errc::invalid_argument, "input is empty (min and max are undefined)");
  return {};
}

// The integer bounds clamp uses: [ceil(lo), floor(hi)] saturated to T.
template <class T>
T saturated_bound(double v) {
  constexpr double lo = double(std::numeric_limits<T>::lowest());
  constexpr double hi = double(std::numeric_limits<T>::max());  // 2^63 for i64: compare with >=
  if (v <= lo) return std::numeric_limits<T>::lowest();
  if (v >= hi) return std::numeric_limits<T>::max();
  return static_cast<T>(v);
}

// Beyond the declared fields: the bounds must make an interval (checked when parsed).
Status check_bounds(const ClampParams& p) {
  if (std::isnan(p.min) || std::isnan(p.max)) return fail(EwKind::clamp, Errc::invalid_argument, "bounds must not be NaN");
  if (p.min > p.max)
    return fail(EwKind::clamp, Errc::invalid_argument,
                "parameter 'min' (" + detail::format_number(p.min) + ") is greater than max (" +
                    detail::format_number(p.max) + ")");
  return {};
}

Status clamp_args(const View& src, const ClampParams& p, EwArgs& a) {
  TANDEM_TRY(check_bounds(p));
  a.kind = EwKind::clamp;
  a.a = p.min;
  a.b = p.max;
  return visit_dtype(src.dtype, [&](auto tag) -> Status {
    using T = decltype(tag);
    if constexpr (std::is_integral_v<T>) {
      const T lo = saturated_bound<T>(std::ceil(p.min));
      const T hi = saturated_bound<T>(std::floor(p.max));
      if (lo > hi || std::ceil(p.min) > double(std::numeric_limits<T>::max()) ||
          std::floor(p.max) < double(std::numeric_limits<T>::lowest()))
        return fail(EwKind::clamp, Errc::invalid_argument,
                    std::string("no ") + dtype_name(src.dtype) + " value lies in [" + detail::format_number(p.min) +
                        ", " + detail::format_number(p.max) + "]");
      a.ilo = lo;
      a.ihi = hi;
    }
    return {};
  });
}

// ---------------------------------------------------------------------------
// OpenMP implementation.
// ---------------------------------------------------------------------------

/// pow with p = 2 on the CPU (see run_cpu).
template <class T>
struct SquareFn {
  using R = kern::float_result_t<T>;
  R operator()(T x) const {
    const R v = static_cast<R>(x);
    return v * v;
  }
};

// The functor is copied into each work item: inside the OpenMP region it is
// otherwise reached through a pointer that float stores to `out` may alias,
// and the loop would stay scalar.
template <class T, class R, class F>
void cpu_map(const T* __restrict in, R* __restrict out, std::int64_t n, F f, int threads) {
  const std::int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (chunks > 1)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const F g = f;
    const std::int64_t b = c * kChunk;
    const std::int64_t e = std::min(n, b + kChunk);
    for (std::int64_t i = b; i < e; ++i) out[i] = g(in[i]);
  }
}

// In-place (dst == src) is allowed, so the map cannot promise no aliasing then.
template <class T, class R, class F>
void cpu_map_maybe_inplace(const T* in, R* out, std::int64_t n, F f, int threads) {
  if (static_cast<const void*>(in) == static_cast<const void*>(out)) {
    const std::int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (chunks > 1)
    for (std::int64_t c = 0; c < chunks; ++c) {
      const F g = f;
      const std::int64_t b = c * kChunk;
      const std::int64_t e = std::min(n, b + kChunk);
      for (std::int64_t i = b; i < e; ++i) out[i] = g(in[i]);
    }
  } else {
    cpu_map(in, out, n, f, threads);
  }
}


Status run_cpu(const View& src, const View& dst, const EwArgs& a, const Exec& exec) {
  const std::int64_t n = src.numel();
  const int threads = cpu_threads(exec);
  visit_dtype(src.dtype, [&](auto tag) {
    using T = decltype(tag);
    using R = kern::float_result_t<T>;
    const T* in = src.ptr<const T>();
    switch (a.kind) {
      case EwKind::affine:
        cpu_map_maybe_inplace(in, dst.ptr<R>(), n, kern::AffineFn<T>{R(a.a), R(a.b)}, threads);
        break;
      case EwKind::clamp:
        if constexpr (std::is_integral_v<T>)
          cpu_map_maybe_inplace(in, dst.ptr<T>(), n, kern::ClampFn<T>{T(a.ilo), T(a.ihi)}, threads);
        else
          cpu_map_maybe_inplace(in, dst.ptr<T>(), n, kern::ClampFn<T>{T(a.a), T(a.b)}, threads);
        break;
      case EwKind::abs: cpu_map_maybe_inplace(in, dst.ptr<T>(), n, kern::AbsFn<T>{}, threads); break;
      case EwKind::sqrt: cpu_map_maybe_inplace(in, dst.ptr<R>(), n, kern::SqrtFn<T>{}, threads); break;
      case EwKind::exp: cpu_map_maybe_inplace(in, dst.ptr<R>(), n, kern::ExpFn<T>{}, threads); break;
      case EwKind::log: cpu_map_maybe_inplace(in, dst.ptr<R>(), n, kern::LogFn<T>{}, threads); break;
      case EwKind::pow:
        // p = 2: x * x, bit-identical to powf/pow(x, 2) (glibc returns the
        // correctly rounded square) and a plain multiply instead of a libm call.
        if (a.a == 2.0)
          cpu_map_maybe_inplace(in, dst.ptr<R>(), n, SquareFn<T>{}, threads);
        else
          cpu_map_maybe_inplace(in, dst.ptr<R>(), n, kern::PowFn<T>{R(a.a)}, threads);
        break;
      case EwKind::normalize: {
        const kern::MinMax<T> mm = cpu_minmax(in, n, threads);
        cpu_map_maybe_inplace(in, dst.ptr<R>(), n, kern::NormalizeFn<T>::make(mm.min, mm.max), threads);
        break;
      }
    }
  });
  return {};
}

Status dispatch(const View& src, const View& dst, const EwArgs& a, const Exec& exec) {
  TANDEM_TRY(check(a.kind, src, dst, exec));
  if (src.numel() == 0) return {};
  return detail::on_device(kind_name(a.kind), src, dst, a, exec, run_cpu, [&](auto stream) {
    return cuda::elementwise(src, dst, a, stream).with_context(kind_name(a.kind));
  });
}

Status allocate(EwKind k, const View& src, Tensor& dst, const Exec& exec) {
  if (!(src.device == exec.device))
    return fail(k, Errc::invalid_argument, "input is on " + src.device.str() + " but the op runs on " + exec.device.str());
  if (!src.is_contiguous()) return fail(k, Errc::invalid_argument, "input must be contiguous; got " + src.describe());
  return Tensor::create(result_dtype(k, src.dtype), std::span<const std::int64_t>(src.shape.data(), std::size_t(src.ndim)),
                        exec.device, dst)
      .with_context(kind_name(k));
}

EwKind unary_kind(UnaryFn f) {
  switch (f) {
    case UnaryFn::abs: return EwKind::abs;
    case UnaryFn::sqrt: return EwKind::sqrt;
    case UnaryFn::exp: return EwKind::exp;
    case UnaryFn::log: return EwKind::log;
  }
  return EwKind::abs;
}

}  // namespace

// ---------------------------------------------------------------------------
// Public API.
// ---------------------------------------------------------------------------

Status affine(const View& src, const View& dst, const AffineParams& p, const Exec& exec) {
  EwArgs a;
  a.kind = EwKind::affine;
  a.a = p.scale;
  a.b = p.offset;
  return dispatch(src, dst, a, exec);
}
Status affine(const View& src, Tensor& dst, const AffineParams& p, const Exec& exec) {
  TANDEM_TRY(allocate(EwKind::affine, src, dst, exec));
  return affine(src, dst.view(), p, exec);
}

Status clamp(const View& src, const View& dst, const ClampParams& p, const Exec& exec) {
  EwArgs a;
  TANDEM_TRY(clamp_args(src, p, a));
  return dispatch(src, dst, a, exec);
}
Status clamp(const View& src, Tensor& dst, const ClampParams& p, const Exec& exec) {
  EwArgs a;
  TANDEM_TRY(clamp_args(src, p, a));  // before allocating, so bad bounds cost nothing
  TANDEM_TRY(allocate(EwKind::clamp, src, dst, exec));
  return dispatch(src, dst.view(), a, exec);
}

Status unary(const View& src, const View& dst, const UnaryParams& p, const Exec& exec) {
  EwArgs a;
  a.kind = unary_kind(p.fn);
  return dispatch(src, dst, a, exec);
}
Status unary(const View& src, Tensor& dst, const UnaryParams& p, const Exec& exec) {
  TANDEM_TRY(allocate(unary_kind(p.fn), src, dst, exec));
  return unary(src, dst.view(), p, exec);
}

Status power(const View& src, const View& dst, const PowerParams& p, const Exec& exec) {
  EwArgs a;
  a.kind = EwKind::pow;
  a.a = p.p;
  return dispatch(src, dst, a, exec);
}
Status power(const View& src, Tensor& dst, const PowerParams& p, const Exec& exec) {
  TANDEM_TRY(allocate(EwKind::pow, src, dst, exec));
  return power(src, dst.view(), p, exec);
}

Status normalize(const View& src, const View& dst, const NormalizeParams&, const Exec& exec) {
  EwArgs a;
  a.kind = EwKind::normalize;
  return dispatch(src, dst, a, exec);
}
Status normalize(const View& src, Tensor& dst, const NormalizeParams& p, const Exec& exec) {
  if (src.numel() == 0) return fail(EwKind::normalize, Errc::invalid_argument, "input is empty (min and max are undefined)");
  TANDEM_TRY(allocate(EwKind::normalize, src, dst, exec));
  return normalize(src, dst.view(), p, exec);
}

// ---------------------------------------------------------------------------
// Op table.
// ---------------------------------------------------------------------------

namespace {

std::vector<Layout> all_dtypes() { return detail::array_layouts(kAllDTypes); }

template <UnaryFn F>
Status run_unary(const View& src, Tensor& dst, const UnaryParams&, const Exec& exec) {
  return unary(src, dst, UnaryParams{F}, exec);
}

#define TANDEM_FLOAT_RULE "f32 -> f32, f64 -> f64, integers -> f64"

// An elementwise op: any dtype, any shape, streamable unless `whole_array`.
template <class P>
OpSpec array_op(std::string_view name, std::string_view doc, std::string_view semantics, std::vector<ParamSpec> params,
                Status (*run)(const View&, Tensor&, const P&, const Exec&), Status (*check)(const P&) = nullptr,
                bool whole_array = false) {
  return detail::make_op<P>({.name = name,
                             .kind = OpKind::array,
                             .doc = doc,
                             .semantics = semantics,
                             .params = std::move(params),
                             .layouts = all_dtypes(),
                             .run = run,
                             .check = check,
                             .elementwise = !whole_array});
}

const OpSpec kAffine = array_op<AffineParams>(
    "affine", "x * scale + offset elementwise (" TANDEM_FLOAT_RULE "; f32 computed in f32)",
    "a * scale + offset in NumPy (rounded after * and after +)",
    {detail::field(&AffineParams::scale, "scale", "multiplier"),
     detail::field(&AffineParams::offset, "offset", "added after scaling")},
    [](const View& src, Tensor& dst, const AffineParams& p, const Exec& exec) { return affine(src, dst, p, exec); });

const OpSpec kClamp = array_op<ClampParams>(
    "clamp", "clip values to [min, max], keeping the dtype (integer bounds rounded inward and saturated)",
    "np.clip(a, min, max) (NaN passes through)",
    {detail::field(&ClampParams::min, "min", "lower bound; none if absent").optional(),
     detail::field(&ClampParams::max, "max", "upper bound (>= min); none if absent").optional()},
    [](const View& src, Tensor& dst, const ClampParams& p, const Exec& exec) { return clamp(src, dst, p, exec); },
    check_bounds);

const OpSpec kAbs = array_op<UnaryParams>("abs", "absolute value, keeping the dtype (abs(INT_MIN) wraps as in NumPy)",
                                          "np.abs(a)", {}, run_unary<UnaryFn::abs>);

const OpSpec kSqrt = array_op<UnaryParams>(
    "sqrt", "square root (" TANDEM_FLOAT_RULE "; NumPy gives f16/f32 for u8/u16); sqrt(x<0) = nan", "np.sqrt(a)", {},
    run_unary<UnaryFn::sqrt>);

const OpSpec kExp = array_op<UnaryParams>("exp", "e^x (" TANDEM_FLOAT_RULE "; NumPy gives f16/f32 for u8/u16)",
                                          "np.exp(a)", {}, run_unary<UnaryFn::exp>);

const OpSpec kLog = array_op<UnaryParams>(
    "log", "natural log (" TANDEM_FLOAT_RULE "; NumPy gives f16/f32 for u8/u16); log(0) = -inf, log(x<0) = nan",
    "np.log(a)", {}, run_unary<UnaryFn::log>);

const OpSpec kPow = array_op<PowerParams>(
    "pow", "x ** p with a float exponent (" TANDEM_FLOAT_RULE ")", "np.power(a, float(p))",
    {detail::field(&PowerParams::p, "p", "exponent").required()},
    [](const View& src, Tensor& dst, const PowerParams& p, const Exec& exec) { return power(src, dst, p, exec); });

const OpSpec kNormalize = array_op<NormalizeParams>(
    "normalize",
    "(x - min) / (max - min) over the whole array (" TANDEM_FLOAT_RULE
    "); a constant array gives zeros (NumPy: nan); NaN anywhere gives all NaN",
    "(a - a.min()) / (a.max() - a.min()) in NumPy; integers computed in f64", {},
    [](const View& src, Tensor& dst, const NormalizeParams& p, const Exec& exec) {
      return normalize(src, dst, p, exec);
    },
    nullptr, /*whole_array=*/true);

#undef TANDEM_FLOAT_RULE

}  // namespace

TANDEM_OP_SPECS(elementwise, &kAffine, &kClamp, &kAbs, &kSqrt, &kExp, &kLog, &kPow, &kNormalize)

}  // namespace tandem
