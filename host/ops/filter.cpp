// filter: validation, dispatch and the op-table entry; the OpenMP
// implementation and its vector code are in filter_hwy.cpp.
#include "tandem/ops/filter.hpp"

#include <cmath>
#include <cstdint>
#include <span>

#include "host/ops/neighbourhood.hpp"
#include "host/ops/dispatch.hpp"
#include "host/ops/op_decl.hpp"
#include "host/core/parallel.hpp"
#include "kernels/filter.cuh"
#include "tandem/config.hpp"
#include "tandem/op_table.hpp"

namespace tandem {
namespace {

// The kernel's shape and weights do not depend on the image: checked when parsed.
Status check_kernel(const FilterParams& p) {
  const Matrix& k = p.kernel;
  if (k.rows < 1 || k.cols < 1 || k.rows % 2 == 0 || k.cols % 2 == 0)
    return {Errc::invalid_argument, "filter: parameter 'kernel' must have an odd number of rows and of columns; got " +
                                        std::to_string(k.rows) + " x " + std::to_string(k.cols)};
  if (std::int64_t(k.rows) * k.cols > kFilterMaxTaps)
    return {Errc::invalid_argument, "filter: parameter 'kernel' has " + std::to_string(std::int64_t(k.rows) * k.cols) +
                                        " elements, more than the maximum " + std::to_string(kFilterMaxTaps)};
  if (k.values.size() != std::size_t(k.rows) * std::size_t(k.cols))
    return {Errc::invalid_argument, "filter: the kernel has " + std::to_string(k.values.size()) + " values for " +
                                        std::to_string(k.rows) + " x " + std::to_string(k.cols)};
  for (double v : k.values)
    if (!(std::abs(v) <= kFilterMaxWeight))
      return {Errc::invalid_argument, "filter: parameter 'kernel' has a weight " + detail::format_number(v) +
                                          "; weights must be finite with magnitude at most 1e30"};
  return {};
}

// After the checks: the op itself, on the host.
Status filter_on_cpu(const View& src, const View& dst, const FilterParams& p, const Exec& exec) {
  const kern::BorderMode mode = nbh::to_mode(p.border);
  return nbh::filter_cpu(src, dst, p.kernel, mode, nbh::outside_value(src.dtype, p.value), cpu_threads(exec));
}

const detail::ImageOp<FilterParams>& op() {
  static const detail::ImageOp<FilterParams> o({
      .name = "filter",
      .doc = "2-D correlation with an odd-sized kernel (every channel independently)",
      .semantics = "cv2.filter2D(img, -1, kernel, anchor=(-1,-1), delta=0, borderType=border): not flipped, anchor "
                   "at the centre, float accumulation, zero weights skipped, rounded half to even and saturated",
      .params = {detail::field(&FilterParams::kernel, "kernel",
                               "the weights, rows separated by ';' (e.g. 0,-1,0;-1,5,-1;0,-1,0); odd numbers of rows "
                               "and columns, at most 4096 elements, |w| <= 1e30")
                     .required(),
                 detail::border_field(&FilterParams::border), detail::value_field(&FilterParams::value)},
      .layouts = detail::standard_image_layouts(),
      .run = filter,
      .check = check_kernel,
  }, nbh::kChecks, filter, filter_on_cpu);
  return o;
}

}  // namespace

Status filter(const View& src, const View& dst, const FilterParams& p, const Exec& exec) {
  return op().run(src, dst, p, exec, [&](auto stream) { return cuda::filter(src, dst, p, stream); });
}

Status filter(const View& src, Tensor& dst, const FilterParams& p, const Exec& exec) {
  return op().run(src, dst, p, exec);
}

TANDEM_OP_SPECS(filter, &op().spec())

}  // namespace tandem
