// The one way an op declares itself: an OpDecl<P> names the op, binds each
// parameter to a field of its Params struct P, lists the exact input layouts,
// and gives the typed entry point. make_op() turns it into the OpSpec the
// table, the parser and `tandem ops` read, so a parameter's name, type,
// default, range and doc are spelled once, and check_params() is the one
// checker of those ranges for the parser and the typed API alike.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "tandem/border.hpp"
#include "tandem/op_table.hpp"

namespace tandem::detail {

/// A number as a user would write it: integers without a fraction, others in
/// their shortest round-trip form ("2047", "0.5", "1e+30").
std::string format_number(double v);

/// Checks one value against its declaration (range, choices); `as_written` is
/// how the value is shown in the message. The one range check of every op.
Status check_value(std::string_view op, const ParamSpec& p, const ParamValue& v, std::string_view as_written);

/// Checks every declared field of `params` (an object of the op's Params type)
/// against its range; the typed entry points and the parser both end here.
Status check_fields(std::string_view op, std::span<const ParamSpec> params, const void* params_object);

/// Every pair of `dtypes` and image `channels`.
std::vector<Layout> layouts_of(std::initializer_list<DType> dtypes, std::initializer_list<int> channels);
/// The layouts of the image ops: u8, u16 and f32 with 1, 3 or 4 channels (gray, RGB, RGBA).
inline std::vector<Layout> standard_image_layouts() {
  return layouts_of({DType::u8, DType::u16, DType::f32}, {1, 3, 4});
}
/// Arrays of any shape of `dtypes`.
std::vector<Layout> array_layouts(std::span<const DType> dtypes);

template <class F>
constexpr ParamType param_type_of() {
  if constexpr (std::is_same_v<F, double> || std::is_same_v<F, std::optional<double>>) return ParamType::number;
  else if constexpr (std::is_same_v<F, Border>) return ParamType::choice;
  else if constexpr (std::is_same_v<F, Matrix>) return ParamType::matrix;
  else if constexpr (std::is_same_v<F, LoadedFile>) return ParamType::path;
  else {
    static_assert(std::is_integral_v<F>, "a parameter field is a number, an integer, a Border, a Matrix or a file");
    return ParamType::integer;
  }
}

/// A parameter bound to the field `member` of P: field(&GaussianParams::sigma,
/// "sigma", "doc").in(0, 1e4). Its default is the field's value in P{}.
template <class P, class F>
class FieldDecl {
 public:
  FieldDecl(F P::*member, std::string_view name, std::string_view doc) {
    spec_.name = name;
    spec_.type = param_type_of<F>();
    spec_.doc = doc;
    // Unbounded unless declared: infinities pass (threshold T = inf, clamp's open bounds), NaN never does.
    spec_.min = -std::numeric_limits<double>::infinity();
    spec_.max = std::numeric_limits<double>::infinity();
    if constexpr (std::is_same_v<F, bool>) spec_.min = 0, spec_.max = 1;
    if constexpr (std::is_same_v<F, Border>) spec_.choices.assign(std::begin(kBorderNames), std::end(kBorderNames));
    if constexpr (std::is_same_v<F, std::optional<double>>) spec_.optional = true;
    spec_.store = [member](void* params, const ParamValue& v) {
      F& f = static_cast<P*>(params)->*member;
      if constexpr (std::is_same_v<F, Border>) f = parse_border(std::get<std::string>(v)).value_or(Border::reflect101);
      else if constexpr (std::is_same_v<F, LoadedFile>) {
        // A path set from C++ as text is read when the op first runs.
        if (const auto* text = std::get_if<std::string>(&v)) f = LoadedFile{*text, nullptr};
        else f = std::get<LoadedFile>(v);
      } else if constexpr (std::is_same_v<F, Matrix>) f = std::get<F>(v);
      else if constexpr (std::is_same_v<F, double> || std::is_same_v<F, std::optional<double>>)
        f = std::holds_alternative<double>(v) ? std::get<double>(v) : double(std::get<std::int64_t>(v));
      else f = static_cast<F>(std::get<std::int64_t>(v));
    };
    spec_.load = [member](const void* params) -> std::optional<ParamValue> {
      const F& f = static_cast<const P*>(params)->*member;
      if constexpr (std::is_same_v<F, Border>) return ParamValue(std::string(border_name(f)));
      else if constexpr (std::is_same_v<F, std::optional<double>>) {
        if (!f) return std::nullopt;
        return ParamValue(*f);
      } else if constexpr (std::is_same_v<F, Matrix> || std::is_same_v<F, LoadedFile>) return ParamValue(f);
      else if constexpr (std::is_same_v<F, double>) return ParamValue(f);
      else return ParamValue(static_cast<std::int64_t>(f));
    };
    if constexpr (!std::is_same_v<F, std::optional<double>> && !std::is_same_v<F, Matrix> &&
                  !std::is_same_v<F, LoadedFile>) {
      const P defaults{};
      const F& d = defaults.*member;
      if constexpr (std::is_same_v<F, Border>) spec_.default_value = border_name(d);
      else spec_.default_value = format_number(double(d));
    }
  }
  /// Inclusive bounds.
  FieldDecl& in(double lo, double hi) {
    spec_.min = lo;
    spec_.max = hi;
    return *this;
  }
  /// No default: the pipeline must give it (the field's value in P{} is a placeholder).
  FieldDecl& required() { return without_default(false); }
  /// For a file parameter: how to read it, once, when the pipeline is parsed.
  FieldDecl& opened_with(Status (*open)(LoadedFile&)) {
    spec_.open = open;
    return *this;
  }
  /// May be absent; the field then keeps its value in P{} (e.g. clamp's infinite bounds).
  FieldDecl& optional() { return without_default(true); }
  operator ParamSpec() const { return spec_; }  // NOLINT(google-explicit-constructor)

 private:
  FieldDecl& without_default(bool optional) {
    spec_.default_value.clear();
    spec_.optional = optional;
    return *this;
  }

  ParamSpec spec_;
};

template <class P, class F>
FieldDecl<P, F> field(F P::*member, std::string_view name, std::string_view doc) {
  return {member, name, doc};
}

/// The `border` and `value` parameters of the neighbourhood ops.
template <class P>
ParamSpec border_field(Border P::*member) {
  return field(member, "border",
               "pixels outside the image: reflect101 = gfedcb|abcdefgh|gfedcba (OpenCV BORDER_REFLECT_101), "
               "replicate = aaa|abc..h|hhh, constant = `value`");
}
template <class P>
ParamSpec value_field(double P::*member) {
  return field(member, "value",
               "the outside pixel value for border=constant, rounded half to even and saturated to the dtype")
      .in(-1e30, 1e30);
}

/// The Params of an op that takes none (stats).
struct NoParams {};

/// The declaration of one op whose parameters live in P.
template <class P>
struct OpDecl {
  std::string_view name{};
  OpKind kind = OpKind::image;
  std::string_view doc{};        ///< one line
  std::string_view semantics{};  ///< the reference it equals
  std::vector<ParamSpec> params{};
  std::vector<Layout> layouts{};
  /// The typed allocating entry point (it validates `p` through check_params).
  Status (*run)(const View& src, Tensor& dst, const P& p, const Exec& exec) = nullptr;
  /// Data-independent checks across fields (e.g. clamp min <= max), beyond the
  /// declared ranges; also run when a pipeline is parsed.
  Status (*check)(const P& p) = nullptr;
  std::vector<std::string_view> outputs{};
  bool elementwise = false;
  OpCombineFn combine{};  ///< see OpSpec: streaming a reduction in chunks
  OpFinishFn finish{};
  std::function<const OpSpec*(const OpArgs&)> first_pass{};
  std::function<void(OpArgs&, const View&)> complete{};
};

/// Fills a P from parsed arguments through the declared binders.
template <class P>
P params_from(std::span<const ParamSpec> params, const OpArgs& args) {
  P p{};
  for (const ParamSpec& ps : params) {
    const auto it = args.values().find(ps.name);
    if (it != args.values().end()) ps.store(&p, it->second);
  }
  return p;
}

template <class P>
OpSpec make_op(OpDecl<P> d) {
  OpSpec s;
  s.name = d.name;
  s.kind = d.kind;
  s.doc = d.doc;
  s.semantics = d.semantics;
  s.params = std::move(d.params);
  s.layouts = std::move(d.layouts);
  s.dtypes.clear();
  s.channels = 0;
  for (const Layout& l : s.layouts) {
    bool seen = false;
    for (DType t : s.dtypes) seen = seen || t == l.dtype;
    if (!seen) s.dtypes.push_back(l.dtype);
    s.channels |= l.channels > 0 ? (1u << l.channels) : kAnyChannels;
  }
  s.outputs = std::move(d.outputs);
  s.elementwise = d.elementwise;
  s.combine = std::move(d.combine);
  s.finish = std::move(d.finish);
  s.first_pass = std::move(d.first_pass);
  s.complete = std::move(d.complete);
  s.run = [run = d.run, params = s.params](const OpArgs& args, const View& src, Tensor& dst, const Exec& exec) {
    return run(src, dst, params_from<P>(params, args), exec);
  };
  if (d.check)
    s.check = [check = d.check, params = s.params](const OpArgs& args) { return check(params_from<P>(params, args)); };
  return s;
}

/// The checks of a typed entry point: every field of `p` in its declared
/// range (the same check the parser makes), then the op's cross-field `check`.
template <class P>
Status check_params(const OpSpec& spec, const P& p, Status (*check)(const P&) = nullptr) {
  TANDEM_TRY(check_fields(spec.name, spec.params, &p));
  return check ? check(p) : Status{};
}

/// The view form of an op (`op(src, const View& dst, params, exec)`): it fills a preallocated output.
template <class P>
using IntoFn = Status (*)(const View& src, const View& dst, const P& p, const Exec& exec);

/// The allocating form of an op (`op(src, Tensor& dst, params, exec)`):
/// `make` allocates the result on the op's device once the caller's checks
/// passed, `into` fills it, and `dst` is replaced only when both succeed.
template <class Make, class Into>
Status into_new(Tensor& dst, Make&& make, Into&& into) {
  Tensor out;
  TANDEM_TRY(make(out));
  TANDEM_TRY(into(out.view()));
  dst = std::move(out);
  return {};
}

/// The output of an image op's allocating form: an image of src's dtype, `height` x `width` x
/// `channels`, where 0 keeps src's (an H x W x 1 input gives H x W); or, `like_src`, src's very
/// shape (H x W x 1 stays 3-D), for the ops whose output must have the input's layout.
struct ImageOut {
  std::int64_t height = 0, width = 0, channels = 0;
  bool like_src = false;
};

/// The allocating form of an image op, whole: `checked` is what the op's checks of src and p
/// found (made before anything is allocated, so bad input is reported as such); then the output
/// `out` is allocated on exec.device and the op's view form `into` fills it.
template <class P>
Status into_new_image(std::string_view op, const Status& checked, const View& src, Tensor& dst, const P& p,
                      const Exec& exec, IntoFn<P> into, ImageOut out = {}) {
  TANDEM_TRY(checked);
  return into_new(
      dst,
      [&](Tensor& t) {
        const Status made =
            out.like_src
                ? Tensor::create_like(src, exec.device, t)
                : Tensor::create_image(src.dtype, out.height ? out.height : src.height(),
                                       out.width ? out.width : src.width(),
                                       out.channels ? out.channels : src.channels(), exec.device, t);
        return made.with_context(std::string(op) + ": allocating the output");
      },
      [&](const View& v) { return into(src, v, p, exec); });
}

}  // namespace tandem::detail

/// The one registry line of an op file: defines detail::<stem>_ops(), which
/// host/ops/op_table.cpp lists for every stem of cmake/TandemOps.cmake.
#define TANDEM_OP_SPECS(stem, ...)                                  \
  namespace detail {                                               \
  std::span<const OpSpec* const> stem##_ops() {                   \
    static const OpSpec* const ops[] = {__VA_ARGS__};              \
    return ops;                                                    \
  }                                                                \
  }
