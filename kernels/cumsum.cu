// cumsum on CUDA: one CUB DeviceScan::InclusiveSum over a transform iterator
// that widens each element to the accumulator type (uint64 or double); the
// output pointer narrows back (int64, f32). Strided inputs are first gathered
// into a contiguous scratch buffer.
#include <cub/device/device_scan.cuh>
#include <thrust/iterator/transform_iterator.h>

#include "kernels/cuda_check.cuh"
#include "kernels/cumsum.cuh"
#include "kernels/strided.cuh"

namespace tandem::cuda {
namespace {

template <class T>
struct Identity {
  __device__ T operator()(T v) const { return v; }
};

template <class T>
Status cumsum_typed(const View& src, const View& dst, cudaStream_t stream) {
  using Out = typename kern::CumsumTypes<T>::Out;
  const std::int64_t n = src.numel();
  if (n == 0) return {};
  TANDEM_TRY(use_device(dst));

  const T* in = static_cast<const T*>(src.data);
  Scratch packed(stream);
  if (!src.is_contiguous()) {
    TANDEM_TRY(packed.allocate(std::size_t(n) * sizeof(T), "cumsum: cudaMallocAsync"));
    TANDEM_TRY(gather<T>(src, packed.as<T>(), Identity<T>{}, stream));
    in = packed.as<T>();
  }
  const auto widened = thrust::make_transform_iterator(in, kern::CumsumLoad<T>{});
  Out* out = static_cast<Out*>(dst.data);
  std::size_t temp_bytes = 0;
  TANDEM_CUDA_TRY(cub::DeviceScan::InclusiveSum(nullptr, temp_bytes, widened, out, n, stream));
  Scratch temp(stream);
  TANDEM_TRY(temp.allocate(temp_bytes, "cumsum: cudaMallocAsync (CUB temp storage)"));
  TANDEM_CUDA_TRY(cub::DeviceScan::InclusiveSum(temp.get(), temp_bytes, widened, out, n, stream));
  return {};
}

}  // namespace

Status cumsum(const View& src, const View& dst, void* stream) {
  return launch_by_dtype(src, dst, stream, "cumsum",
                         [&](auto tag, cudaStream_t s) { return cumsum_typed<decltype(tag)>(src, dst, s); });
}

}  // namespace tandem::cuda
