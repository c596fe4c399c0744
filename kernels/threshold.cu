#include "kernels/pointops_launch.cuh"
#include "kernels/threshold.cuh"

namespace tandem::cuda {

namespace {
template <class T>
Status run(const View& src, const View& dst, double value, void* stream) {
  const kern::ThresholdPlan<T> plan = kern::plan_threshold<T>(value);
  if (plan.mode == kern::ThresholdMode::compare)
    return pointops::map_elements<T>(src, dst, kern::ThresholdOp<T>{plan.thresh}, stream, "threshold kernel");
  // OpenCV's dst.setTo shortcut: every element is max or 0. The integer maxima 255 and
  // 65535 are all-ones bytes, so a byte memset writes them.
  const std::size_t row_bytes = std::size_t(dst.width() * dst.channels()) * sizeof(T);
  TANDEM_CUDA_TRY(cudaMemset2DAsync(dst.data, std::size_t(dst.row_stride()),
                                    plan.mode == kern::ThresholdMode::all_max ? 0xFF : 0x00, row_bytes,
                                    std::size_t(dst.height()), as_stream(stream)));
  return {};
}
}  // namespace

Status threshold(const View& src, const View& dst, const ThresholdParams& p, void* stream) {
  TANDEM_CUDA_TRY(cudaSetDevice(src.device.index));
  switch (src.dtype) {
    case DType::u8: return run<std::uint8_t>(src, dst, p.value, stream);
    case DType::u16: return run<std::uint16_t>(src, dst, p.value, stream);
    case DType::f32: return run<float>(src, dst, p.value, stream);
    default: return {Errc::internal, "threshold: unexpected dtype on CUDA"};
  }
}

}  // namespace tandem::cuda
