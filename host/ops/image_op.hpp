// The two typed entry points of an image op, written once. An op file gives
// its declaration (OpDecl), the checks of its family (ImageChecks: the
// neighbourhood ops, the same-size image ops, the point ops each have one),
// its view form and its CPU implementation; ImageOp makes the checks in the
// one order every op uses (input, declared ranges, cross-field check, checks
// that need the input, output) and sends the op to its device once.
#pragma once

#include <string_view>
#include <utility>

#include "host/ops/dispatch.hpp"
#include "host/ops/op_decl.hpp"
#include "tandem/op_table.hpp"

namespace tandem::detail {

/// How the ops of one family check their input and output, and what their
/// allocating form allocates.
struct ImageChecks {
  /// The input: a declared layout, on exec.device, within the family's size limits.
  Status (*src)(const OpSpec& spec, const View& src, const Exec& exec) = nullptr;
  /// A preallocated output, once the input and the parameters passed.
  Status (*dst)(const OpSpec& spec, const View& src, const View& dst, const Exec& exec) = nullptr;
  ImageOut out{};
};

/// An image op: its OpSpec and its two entry points. The op file keeps it in
/// a function-local static and its entry points are one call each.
template <class P>
class ImageOp {
 public:
  /// `into` is the op's view form (the allocating form fills its new output
  /// with it), `cpu` its host implementation after the checks (what a sim
  /// device runs too); `with_src` checks what the parameters mean for this
  /// input (gaussian's automatic radius depends on the dtype).
  ImageOp(OpDecl<P> decl, const ImageChecks& checks, IntoFn<P> into, IntoFn<P> cpu,
          Status (*with_src)(const View& src, const P& p) = nullptr)
      : cross_(decl.check), checks_(checks), into_(into), cpu_(cpu), with_src_(with_src),
        spec_(make_op(std::move(decl))) {}

  [[nodiscard]] const OpSpec& spec() const { return spec_; }

  /// The checks both forms make, before anything is allocated or queued.
  Status check(const View& src, const P& p, const Exec& exec) const {
    TANDEM_TRY(checks_.src(spec_, src, exec));
    TANDEM_TRY(check_params(spec_, p, cross_));
    return with_src_ ? with_src_(src, p) : Status{};
  }

  /// check(), then the preallocated output.
  Status check_into(const View& src, const View& dst, const P& p, const Exec& exec) const {
    TANDEM_TRY(check(src, p, exec));
    return checks_.dst(spec_, src, dst, exec);
  }

  /// The view form: the checks, then the op on exec.device (`cuda` as for on_device).
  template <class Cuda>
  Status run(const View& src, const View& dst, const P& p, const Exec& exec, Cuda&& cuda) const {
    TANDEM_TRY(check_into(src, dst, p, exec));
    return on_device(spec_.name, src, dst, p, exec, cpu_, std::forward<Cuda>(cuda));
  }

  /// The allocating form: the checks, then the output the family allocates, filled by the view form.
  Status run(const View& src, Tensor& dst, const P& p, const Exec& exec) const {
    return into_new_image(spec_.name, check(src, p, exec), src, dst, p, exec, into_, checks_.out);
  }

 private:
  Status (*cross_)(const P&);
  ImageChecks checks_;
  IntoFn<P> into_;
  IntoFn<P> cpu_;
  Status (*with_src_)(const View&, const P&);
  OpSpec spec_;
};

}  // namespace tandem::detail
