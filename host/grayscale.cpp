// grayscale: RGB(A) -> luma (cv2.COLOR_RGB2GRAY / COLOR_RGBA2GRAY). Validation, dispatch,
// the OpenMP implementation and the op-table entry.
#include "tandem/ops/grayscale.hpp"

#include <cstring>
#include <span>

#include "host/pointops_common.hpp"
#include "kernels/grayscale.cuh"
#include "tandem/config.hpp"
#include "tandem/op_table.hpp"

namespace tandem {

namespace {

constexpr std::string_view kOp = "grayscale";

// One row of n pixels. Written as plain indexed loads so GCC vectorises the strided
// deinterleave (check with -fopt-info-vec-optimized).
template <class T, int C>
TANDEM_POINTOPS_CLONES void gray_row(const T* __restrict s, T* __restrict d, std::int64_t n) {
  const kern::GrayOp<T, C> op;
  for (std::int64_t i = 0; i < n; ++i) d[i] = op(s + C * i);
}

template <class T>
void gray_cpu(const View& src, const View& dst, const Exec& exec) {
  const pointops::RowLayout l = pointops::row_layout(src, dst, src.width());
  const int c = int(src.channels());
  pointops::parallel_rows(exec, l.rows, l.cols, std::int64_t(1) << 15,
                          [&](std::int64_t y, std::int64_t x0, std::int64_t x1) {
                            const T* s = pointops::row_ptr<T>(src, l.src_stride, y) + x0 * c;
                            T* d = pointops::row_ptr_mut<T>(dst, l.dst_stride, y) + x0;
                            const std::int64_t n = x1 - x0;
                            if (c == 1) {
                              if (d != s) std::memcpy(d, s, std::size_t(n) * sizeof(T));
                            } else if (c == 3) {
                              gray_row<T, 3>(s, d, n);
                            } else {
                              gray_row<T, 4>(s, d, n);
                            }
                          });
}

Status check(const View& src, const Exec& exec) {
  return pointops::check_src(kOp, src, exec, {DType::u8, DType::u16, DType::f32}, {1, 3, 4});
}

}  // namespace

Status grayscale(const View& src, const View& dst, const GrayscaleParams&, const Exec& exec) {
  TANDEM_TRY(check(src, exec));
  TANDEM_TRY(pointops::check_dst(kOp, src, dst, 1));
  if (exec.device.is_cuda()) {
    // A 1-channel image is a plain (possibly re-strided) copy.
    if (src.channels() == 1) return copy(src, dst, exec.stream).with_context("grayscale");
#if TANDEM_WITH_CUDA
    return cuda::grayscale(src, dst, exec.stream);
#else
    return {Errc::unsupported, pointops::cat("grayscale on ", exec.device.str(), ": ", cuda_status())};
#endif
  }
  switch (src.dtype) {
    case DType::u8: gray_cpu<std::uint8_t>(src, dst, exec); break;
    case DType::u16: gray_cpu<std::uint16_t>(src, dst, exec); break;
    default: gray_cpu<float>(src, dst, exec); break;
  }
  return {};
}

Status grayscale(const View& src, Tensor& dst, const GrayscaleParams& p, const Exec& exec) {
  TANDEM_TRY(check(src, exec));
  return pointops::allocate_and_run(kOp, src, 1, dst, exec,
                                    [&](const View& out) { return grayscale(src, out, p, exec); });
}

namespace detail {

std::span<const OpSpec* const> grayscale_ops() {
  static const OpSpec spec{
      .name = "grayscale",
      .kind = OpKind::image,
      .doc = "BT.601 luma of an RGB/RGBA image (alpha ignored) -> H x W; u8/u16 in OpenCV 4's 15-bit "
             "fixed point (exact), f32 in float; a 1-channel image is copied",
      .semantics = "cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) (COLOR_RGBA2GRAY for 4 channels); "
                   "Y = (9798 R + 19235 G + 3735 B + 2^14) >> 15 for u8/u16",
      .params = {},
      .dtypes = {DType::u8, DType::u16, DType::f32},
      .channels = kChannels134,
      .run = [](const OpArgs&, const View& src, Tensor& dst, const Exec& exec) {
        return grayscale(src, dst, GrayscaleParams{}, exec);
      },
      .outputs = {},
  };
  static const OpSpec* const specs[] = {&spec};
  return specs;
}

}  // namespace detail
}  // namespace tandem
