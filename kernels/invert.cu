#include "kernels/invert.cuh"
#include "kernels/pointops_launch.cuh"

namespace tandem::cuda {

Status invert(const View& src, const View& dst, void* stream) {
  TANDEM_CUDA_TRY(cudaSetDevice(src.device.index));
  switch (src.dtype) {
    case DType::u8:
      return pointops::map_elements<std::uint8_t>(src, dst, kern::InvertOp<std::uint8_t>{}, stream, "invert kernel");
    case DType::u16:
      return pointops::map_elements<std::uint16_t>(src, dst, kern::InvertOp<std::uint16_t>{}, stream, "invert kernel");
    case DType::f32:
      return pointops::map_elements<float>(src, dst, kern::InvertOp<float>{}, stream, "invert kernel");
    default: return {Errc::internal, "invert: unexpected dtype on CUDA"};
  }
}

}  // namespace tandem::cuda
