// grayscale: RGB(A) -> luma (cv2.COLOR_RGB2GRAY / COLOR_RGBA2GRAY). Validation, dispatch,
// the OpenMP implementation and the op-table entry.
#include "tandem/ops/grayscale.hpp"

#include <cstring>
#include <span>

#include "host/core/simd.hpp"
#include "host/ops/dispatch.hpp"
#include "host/ops/grayscale_hwy.hpp"
#include "host/ops/op_decl.hpp"
#include "host/ops/pointops_common.hpp"
#include "kernels/grayscale.cuh"
#include "tandem/config.hpp"
#include "tandem/op_table.hpp"

namespace tandem {

namespace {

template <class T>
void gray_cpu(const View& src, const View& dst, const Exec& exec) {
  const pointops::RowLayout l = pointops::row_layout(src, dst, src.width());
  const int c = int(src.channels());
  const bool stream = pointops::stream_output(src, dst);
  pointops::parallel_rows(exec, l.rows, l.cols, std::int64_t(1) << 15,
                          [&](std::int64_t y, std::int64_t x0, std::int64_t x1) {
                            const T* s = pointops::row_ptr<T>(src, l.src_stride, y) + x0 * c;
                            T* d = pointops::row_ptr_mut<T>(dst, l.dst_stride, y) + x0;
                            const std::int64_t n = x1 - x0;
                            if (c == 1) {
                              if (d != s) std::memcpy(d, s, std::size_t(n) * sizeof(T));
                            } else {
                              simd::gray_row(s, d, n, c, stream);
                            }
                          });
}

// After the checks: the op itself, on the host.
Status grayscale_on_cpu(const View& src, const View& dst, const GrayscaleParams&, const Exec& exec) {
  TANDEM_TRY(detail::simd_ready());  // the TANDEM_SIMD cap, before the first vector kernel
  switch (src.dtype) {
    case DType::u8: gray_cpu<std::uint8_t>(src, dst, exec); break;
    case DType::u16: gray_cpu<std::uint16_t>(src, dst, exec); break;
    default: gray_cpu<float>(src, dst, exec); break;
  }
  return {};
}

const detail::ImageOp<GrayscaleParams>& op() {
  static const detail::ImageOp<GrayscaleParams> o({
      .name = "grayscale",
      .doc = "BT.601 luma of an RGB/RGBA image (alpha ignored) -> H x W; u8/u16 in OpenCV 4's 15-bit "
             "fixed point (exact), f32 in float; a 1-channel image is copied",
      .semantics = "cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) (COLOR_RGBA2GRAY for 4 channels); "
                   "Y = (9798 R + 19235 G + 3735 B + 2^14) >> 15 for u8/u16",
      .layouts = detail::standard_image_layouts(),
      .run = grayscale,
  }, pointops::kGrayChecks, grayscale, grayscale_on_cpu);
  return o;
}

}  // namespace

Status grayscale(const View& src, const View& dst, const GrayscaleParams& p, const Exec& exec) {
  return op().run(src, dst, p, exec, [&](auto stream) {
    // A 1-channel image is a plain (possibly re-strided) copy.
    return src.channels() == 1 ? copy(src, dst, stream).with_context("grayscale") : cuda::grayscale(src, dst, stream);
  });
}

Status grayscale(const View& src, Tensor& dst, const GrayscaleParams& p, const Exec& exec) {
  return op().run(src, dst, p, exec);
}

TANDEM_OP_SPECS(grayscale, &op().spec())

}  // namespace tandem
