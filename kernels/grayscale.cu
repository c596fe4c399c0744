#include "kernels/grayscale.cuh"
#include "kernels/pointops_launch.cuh"

namespace tandem::cuda {

namespace {
template <class T, int C>
Status launch_gray(const View& src, const View& dst, void* stream) {
  TANDEM_TRY(check_aligned(src, dst, "grayscale"));  // a misaligned u16/f32 access is sticky
  const pointops::Rows r = pointops::make_rows(src, dst, src.width());
  pointops::pixel_kernel<T, T, C><<<pointops::grid_for(r.rows, r.cols), pointops::kBlock, 0,
                                   as_stream(stream)>>>(r, kern::GrayOp<T, C>{});
  return launch_status("grayscale kernel");
}

template <class T>
Status dispatch_channels(const View& src, const View& dst, void* stream) {
  if (src.channels() == 4) return launch_gray<T, 4>(src, dst, stream);
  return launch_gray<T, 3>(src, dst, stream);
}
}  // namespace

Status grayscale(const View& src, const View& dst, void* stream) {
  TANDEM_CUDA_TRY(cudaSetDevice(src.device.index));
  switch (src.dtype) {
    case DType::u8: return dispatch_channels<std::uint8_t>(src, dst, stream);
    case DType::u16: return dispatch_channels<std::uint16_t>(src, dst, stream);
    case DType::f32: return dispatch_channels<float>(src, dst, stream);
    default: return {Errc::internal, "grayscale: unexpected dtype on CUDA"};
  }
}

}  // namespace tandem::cuda
