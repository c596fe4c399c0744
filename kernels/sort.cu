// sort on CUDA: gather the (possibly strided) input into a contiguous buffer,
// canonicalising NaNs so they sort last, then CUB: DeviceRadixSort for one row,
// DeviceSegmentedSort for several; both with a DoubleBuffer so the scratch is
// one extra copy of the data plus CUB's temp storage.
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_segmented_sort.cuh>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>

#include "kernels/cuda_check.cuh"
#include "kernels/sort.cuh"
#include "kernels/strided.cuh"

namespace tandem::cuda {
namespace {

template <class T>
struct CanonicalNan {
  __device__ T operator()(T v) const { return kern::canonical_nan(v); }
};

/// Start of row r = r * row length (segments are the rows of a C-order array).
struct RowStart {
  std::int64_t length;
  __host__ __device__ std::int64_t operator()(std::int64_t r) const { return r * length; }
};

template <class T>
Status sort_typed(const View& src, const View& dst, cudaStream_t stream) {
  const std::int64_t n = src.numel();
  const std::int64_t len = src.shape[src.ndim - 1];
  if (n == 0 || len == 0) return {};
  const std::int64_t rows = n / len;
  TANDEM_TRY(use_device(dst));

  Scratch keys(stream);
  TANDEM_TRY(keys.allocate(std::size_t(n) * sizeof(T), "sort: cudaMallocAsync"));
  TANDEM_TRY(gather<T>(src, keys.as<T>(), CanonicalNan<T>{}, stream));
  if (len == 1) {  // nothing to sort
    return to_status(cudaMemcpyAsync(dst.data, keys.get(), std::size_t(n) * sizeof(T), cudaMemcpyDeviceToDevice,
                                     stream),
                     "sort: cudaMemcpyAsync");
  }

  cub::DoubleBuffer<T> buffers(keys.as<T>(), static_cast<T*>(dst.data));
  const auto starts = thrust::make_transform_iterator(thrust::counting_iterator<std::int64_t>(0), RowStart{len});
  auto run = [&](void* temp, std::size_t& temp_bytes) -> cudaError_t {
    if (rows == 1) return cub::DeviceRadixSort::SortKeys(temp, temp_bytes, buffers, n, 0, int(sizeof(T) * 8), stream);
    return cub::DeviceSegmentedSort::SortKeys(temp, temp_bytes, buffers, n, rows, starts, starts + 1, stream);
  };
  std::size_t temp_bytes = 0;
  TANDEM_CUDA_TRY(run(nullptr, temp_bytes));
  Scratch temp(stream);
  TANDEM_TRY(temp.allocate(temp_bytes, "sort: cudaMallocAsync (CUB temp storage)"));
  TANDEM_TRY(to_status(run(temp.get(), temp_bytes), rows == 1 ? "cub::DeviceRadixSort::SortKeys"
                                                                : "cub::DeviceSegmentedSort::SortKeys"));
  if (buffers.Current() != dst.data)
    TANDEM_CUDA_TRY(cudaMemcpyAsync(dst.data, buffers.Current(), std::size_t(n) * sizeof(T),
                                    cudaMemcpyDeviceToDevice, stream));
  return {};
}

}  // namespace

Status sort(const View& src, const View& dst, void* stream) {
  return launch_by_dtype(src, dst, stream, "sort",
                         [&](auto tag, cudaStream_t s) { return sort_typed<decltype(tag)>(src, dst, s); });
}

}  // namespace tandem::cuda
