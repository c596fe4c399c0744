// CUDA launchers of the elementwise ops: one grid-stride kernel around the
// shared functors of kernels/elementwise.cuh, plus normalize, whose min/max
// reduction (CUB) leaves its result in device memory for the kernel to read,
// so nothing waits on the host.
#include <cub/device/device_reduce.cuh>

#include <algorithm>

#include "kernels/cuda_check.cuh"
#include "kernels/elementwise.cuh"
#include "kernels/elementwise_launch.cuh"

namespace tandem::cuda {
namespace {

constexpr int kBlock = 256;

int grid_for(std::int64_t n) {
  // Grid-stride loops: enough blocks to fill an H100 several times over,
  // capped so tiny launches stay tiny and huge ones reuse threads.
  const std::int64_t blocks = (n + kBlock - 1) / kBlock;
  return static_cast<int>(std::clamp<std::int64_t>(blocks, 1, 132 * 32));
}

template <class T, class R, class F>
__global__ void map_kernel(const T* in, R* out, std::int64_t n, F f) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) out[i] = f(in[i]);
}

// The functor is built on the device from the reduction's result.
template <class T>
__global__ void normalize_kernel(const T* in, kern::float_result_t<T>* out, std::int64_t n,
                                 const kern::MinMax<T>* mm) {
  const kern::MinMax<T> m = *mm;
  const auto f = kern::NormalizeFn<T>::make(m.min, m.max);
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) out[i] = f(in[i]);
}

template <class T, class R, class F>
Status launch_map(const T* in, R* out, std::int64_t n, F f, cudaStream_t s, const char* name) {
  map_kernel<<<grid_for(n), kBlock, 0, s>>>(in, out, n, f);
  return launch_status(name);
}

template <class T>
Status normalize_impl(const T* in, kern::float_result_t<T>* out, std::int64_t n, cudaStream_t s) {
  kern::MinMax<T>* mm = nullptr;
  TANDEM_TRY(device_minmax(in, n, &mm, s));
  normalize_kernel<T><<<grid_for(n), kBlock, 0, s>>>(in, out, n, mm);
  const Status st = launch_status("normalize_kernel");
  const Status freed = to_status(cudaFreeAsync(mm, s), "cudaFreeAsync");
  return st.ok() ? freed : st;
}

template <class T>
Status run(const View& src, const View& dst, const EwArgs& a, cudaStream_t s) {
  using R = kern::float_result_t<T>;
  const T* in = src.ptr<const T>();
  const std::int64_t n = src.numel();
  switch (a.kind) {
    case EwKind::affine: return launch_map(in, dst.ptr<R>(), n, kern::AffineFn<T>{R(a.a), R(a.b)}, s, "affine");
    case EwKind::clamp:
      if constexpr (std::is_integral_v<T>)
        return launch_map(in, dst.ptr<T>(), n, kern::ClampFn<T>{T(a.ilo), T(a.ihi)}, s, "clamp");
      else
        return launch_map(in, dst.ptr<T>(), n, kern::ClampFn<T>{T(a.a), T(a.b)}, s, "clamp");
    case EwKind::abs: return launch_map(in, dst.ptr<T>(), n, kern::AbsFn<T>{}, s, "abs");
    case EwKind::sqrt: return launch_map(in, dst.ptr<R>(), n, kern::SqrtFn<T>{}, s, "sqrt");
    case EwKind::exp: return launch_map(in, dst.ptr<R>(), n, kern::ExpFn<T>{}, s, "exp");
    case EwKind::log: return launch_map(in, dst.ptr<R>(), n, kern::LogFn<T>{}, s, "log");
    case EwKind::pow: return launch_map(in, dst.ptr<R>(), n, kern::PowFn<T>{R(a.a)}, s, "pow");
    case EwKind::normalize: return normalize_impl(in, dst.ptr<R>(), n, s);
  }
  return {Errc::internal, "unknown elementwise kind"};
}

}  // namespace

template <class T>
Status device_minmax(const T* in, std::int64_t n, kern::MinMax<T>** out, cudaStream_t s) {
  *out = nullptr;
  kern::MinMax<T>* mm = nullptr;
  TANDEM_CUDA_TRY(cudaMallocAsync(reinterpret_cast<void**>(&mm), sizeof(kern::MinMax<T>), s));
  void* temp = nullptr;
  const Status st = [&]() -> Status {
    std::size_t temp_bytes = 0;
    const auto init = kern::MinMax<T>::identity();
    TANDEM_CUDA_TRY(cub::DeviceReduce::TransformReduce(nullptr, temp_bytes, in, mm, n, kern::MinMaxMerge{},
                                                       kern::ToMinMax<T>{}, init, s));
    TANDEM_CUDA_TRY(cudaMallocAsync(&temp, temp_bytes, s));
    TANDEM_CUDA_TRY(cub::DeviceReduce::TransformReduce(temp, temp_bytes, in, mm, n, kern::MinMaxMerge{},
                                                       kern::ToMinMax<T>{}, init, s));
    return {};
  }();
  const Status freed = temp ? to_status(cudaFreeAsync(temp, s), "cudaFreeAsync") : Status{};
  if (!st.ok() || !freed.ok()) {
    ignore_error(cudaFreeAsync(mm, s));
    return st.ok() ? freed : st;
  }
  *out = mm;
  return {};
}

#define TANDEM_INSTANTIATE_MINMAX(T) \
  template Status device_minmax<T>(const T*, std::int64_t, kern::MinMax<T>**, cudaStream_t);
TANDEM_INSTANTIATE_MINMAX(std::uint8_t)
TANDEM_INSTANTIATE_MINMAX(std::uint16_t)
TANDEM_INSTANTIATE_MINMAX(std::int32_t)
TANDEM_INSTANTIATE_MINMAX(std::int64_t)
TANDEM_INSTANTIATE_MINMAX(float)
TANDEM_INSTANTIATE_MINMAX(double)
#undef TANDEM_INSTANTIATE_MINMAX

Status elementwise(const View& src, const View& dst, const EwArgs& a, void* stream) {
  TANDEM_TRY(check_aligned(src, dst, "elementwise"));  // a misaligned access would lose the device
  TANDEM_CUDA_TRY(cudaSetDevice(src.device.index));
  const cudaStream_t s = as_stream(stream);
  return visit_dtype(src.dtype, [&](auto tag) { return run<decltype(tag)>(src, dst, a, s); });
}

}  // namespace tandem::cuda
