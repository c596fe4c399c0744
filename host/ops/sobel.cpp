// sobel: validation, dispatch and the op-table entry; the OpenMP implementation
// and its vector code are in sobel_hwy.cpp.
#include "tandem/ops/sobel.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <new>
#include <span>

#include "host/ops/image_checks.hpp"
#include "host/ops/neighbourhood.hpp"
#include "host/ops/dispatch.hpp"
#include "host/ops/op_decl.hpp"
#include "host/core/parallel.hpp"
#include "kernels/sobel.cuh"
#include "tandem/config.hpp"
#include "tandem/op_table.hpp"

namespace tandem {
namespace {

// After the checks: the op itself, on the host.
Status sobel_on_cpu(const View& src, const View& dst, const SobelParams& p, const Exec& exec) {
  return nbh::sobel_cpu(src, dst, nbh::to_mode(p.border), nbh::outside_value(src.dtype, p.value), cpu_threads(exec));
}

const detail::ImageOp<SobelParams>& op() {
  static const detail::ImageOp<SobelParams> o({
      .name = "sobel",
      .doc = "Sobel gradient magnitude per channel: sqrt(gx^2 + gy^2) of the 3x3 Sobel derivatives, "
             "rounded half to even and saturated to the input dtype",
      .semantics = "m = cv2.magnitude(cv2.Sobel(img, CV_32F, 1, 0, ksize=3, borderType=B), "
                   "cv2.Sobel(img, CV_32F, 0, 1, ksize=3, borderType=B)); np.rint(m) saturated to the dtype "
                   "(f32: m itself)",
      .params = {detail::border_field(&SobelParams::border), detail::value_field(&SobelParams::value)},
      .layouts = detail::standard_image_layouts(),
      .run = sobel,
  }, detail::kSameSizeImageChecks, sobel, sobel_on_cpu);
  return o;
}

}  // namespace

Status sobel(const View& src, const View& dst, const SobelParams& p, const Exec& exec) {
  return op().run(src, dst, p, exec, [&](auto stream) { return cuda::sobel(src, dst, p, stream); });
}

Status sobel(const View& src, Tensor& dst, const SobelParams& p, const Exec& exec) {
  return op().run(src, dst, p, exec);
}

TANDEM_OP_SPECS(sobel, &op().spec())

}  // namespace tandem
