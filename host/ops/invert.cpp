// invert: max - x per element. Validation, dispatch, the OpenMP implementation and the
// op-table entry.
#include "tandem/ops/invert.hpp"

#include <span>

#include "host/core/simd.hpp"
#include "host/ops/dispatch.hpp"
#include "host/ops/invert_hwy.hpp"
#include "host/ops/op_decl.hpp"
#include "host/ops/pointops_common.hpp"
#include "kernels/invert.cuh"
#include "tandem/config.hpp"
#include "tandem/op_table.hpp"

namespace tandem {

namespace {

// The row loop (host/ops/invert_hwy.cpp) also runs in place.
template <class T>
void invert_cpu(const View& src, const View& dst, const Exec& exec) {
  const bool stream = pointops::stream_output(src, dst);
  pointops::map_rows<T>(src, dst, exec,
                        [stream](const T* s, T* d, std::int64_t n) { simd::invert_row(s, d, n, stream); });
}

// After the checks: the op itself, on the host.
Status invert_on_cpu(const View& src, const View& dst, const InvertParams&, const Exec& exec) {
  TANDEM_TRY(detail::simd_ready());  // the TANDEM_SIMD cap, before the first vector kernel
  switch (src.dtype) {
    case DType::u8: invert_cpu<std::uint8_t>(src, dst, exec); break;
    case DType::u16: invert_cpu<std::uint16_t>(src, dst, exec); break;
    default: invert_cpu<float>(src, dst, exec); break;
  }
  return {};
}

const detail::ImageOp<InvertParams>& op() {
  static const detail::ImageOp<InvertParams> o({
      .name = "invert",
      .doc = "negative: max - x per channel (255 - x for u8, 65535 - x for u16, 1 - x for f32), exact",
      .semantics = "cv2.bitwise_not(img) for u8/u16 (= max - x); 1.0 - img for f32",
      .layouts = detail::standard_image_layouts(),
      .run = invert,
  }, pointops::kChecks, invert, invert_on_cpu);
  return o;
}

}  // namespace

Status invert(const View& src, const View& dst, const InvertParams& p, const Exec& exec) {
  return op().run(src, dst, p, exec, [&](auto stream) { return cuda::invert(src, dst, stream); });
}

Status invert(const View& src, Tensor& dst, const InvertParams& p, const Exec& exec) {
  return op().run(src, dst, p, exec);
}

TANDEM_OP_SPECS(invert, &op().spec())

}  // namespace tandem
