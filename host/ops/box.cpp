// box: validation, dispatch and the op-table entry; the OpenMP implementation
// and its vector code are in box_hwy.cpp.
#include "tandem/ops/box.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <span>

#include "host/ops/neighbourhood.hpp"
#include "host/ops/dispatch.hpp"
#include "host/ops/op_decl.hpp"
#include "host/core/parallel.hpp"
#include "kernels/box.cuh"
#include "tandem/config.hpp"
#include "tandem/op_table.hpp"

namespace tandem {
namespace {

// After the checks: the op itself, on the host.
Status box_on_cpu(const View& src, const View& dst, const BoxParams& p, const Exec& exec) {
  const kern::BorderMode mode = nbh::to_mode(p.border);
  const int threads = cpu_threads(exec);
  const int k = p.size;
  return nbh::box_cpu(src, dst, k, mode, nbh::outside_value(src.dtype, p.value), threads);
}

const detail::ImageOp<BoxParams>& op() {
  static const detail::ImageOp<BoxParams> o({
      .name = "box",
      .doc = "normalised box filter: the mean of each K x K window (every channel independently)",
      .semantics = "cv2.blur(img, (K,K), borderType=border): anchor K/2 (also for even K); integer results exact "
                   "(window sum / K^2 rounded half to even)",
      .params = {detail::field(&BoxParams::size, "size",
                               "K, the window side; the window of pixel x spans x - K/2 .. x - K/2 + K - 1")
                     .in(1, kBoxMaxSize),
                 detail::border_field(&BoxParams::border), detail::value_field(&BoxParams::value)},
      .layouts = detail::standard_image_layouts(),
      .run = box,
  }, nbh::kChecks, box, box_on_cpu);
  return o;
}

}  // namespace

Status box(const View& src, const View& dst, const BoxParams& p, const Exec& exec) {
  return op().run(src, dst, p, exec, [&](auto stream) { return cuda::box(src, dst, p, stream); });
}

Status box(const View& src, Tensor& dst, const BoxParams& p, const Exec& exec) {
  return op().run(src, dst, p, exec);
}

TANDEM_OP_SPECS(box, &op().spec())

}  // namespace tandem
