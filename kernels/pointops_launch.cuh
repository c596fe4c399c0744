// Grid drivers for the per-pixel ops (grayscale, threshold, invert, equalize); CUDA only.
// The per-pixel math lives in each stem's .cuh; these kernels only walk the image.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cuda_check.cuh"
#include "tandem/tensor.hpp"

namespace tandem::cuda::pointops {

inline constexpr int kBlock = 256;

/// An image as rows of `cols` units (elements or pixels) with byte strides. Images whose
/// rows are packed in both src and dst collapse to a single long row, so narrow images do
/// not leave most of a block idle.
struct Rows {
  const char* src = nullptr;
  char* dst = nullptr;
  std::int64_t src_stride = 0;  ///< bytes
  std::int64_t dst_stride = 0;  ///< bytes
  std::int64_t rows = 0;
  std::int64_t cols = 0;
};

/// Rows of `src` and `dst` (same height and width), `cols` units (elements for elementwise
/// ops, pixels for grayscale) per image row.
inline Rows make_rows(const View& src, const View& dst, std::int64_t cols) {
  Rows r;
  r.src = static_cast<const char*>(src.data);
  r.dst = static_cast<char*>(dst.data);
  r.src_stride = src.row_stride();
  r.dst_stride = dst.row_stride();
  r.rows = src.height();
  r.cols = cols;
  const std::int64_t src_row = src.width() * src.channels() * std::int64_t(src.elem_size());
  const std::int64_t dst_row = dst.width() * dst.channels() * std::int64_t(dst.elem_size());
  if (r.rows > 1 && r.src_stride == src_row && r.dst_stride == dst_row) {
    r.cols *= r.rows;
    r.rows = 1;
    r.src_stride = src_row * src.height();
    r.dst_stride = dst_row * dst.height();
  }
  return r;
}

/// A grid of about `units_per_row / kBlock` blocks per row, capped at about `max_blocks` in
/// all; the kernels' grid-stride loops cover the rest.
inline dim3 grid_for(std::int64_t rows, std::int64_t units_per_row, std::int64_t max_blocks = 65536) {
  const std::int64_t bx = std::clamp<std::int64_t>((units_per_row + kBlock - 1) / kBlock, 1, max_blocks);
  const std::int64_t by = std::clamp<std::int64_t>(rows, 1, std::max<std::int64_t>(1, max_blocks / bx));
  return dim3(static_cast<unsigned>(bx), static_cast<unsigned>(std::min<std::int64_t>(by, 65535)));
}

__device__ __forceinline__ std::int64_t thread_x() {
  return std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ std::int64_t stride_x() { return std::int64_t(gridDim.x) * blockDim.x; }

/// One output element per input pixel of C interleaved channels: d[x] = op(&s[x * C]).
template <class T, class U, int C, class Op>
__global__ void __launch_bounds__(kBlock) pixel_kernel(Rows r, Op op) {
  for (std::int64_t y = blockIdx.y; y < r.rows; y += gridDim.y) {
    const T* s = reinterpret_cast<const T*>(r.src + y * r.src_stride);
    U* d = reinterpret_cast<U*>(r.dst + y * r.dst_stride);
    for (std::int64_t x = thread_x(); x < r.cols; x += stride_x()) d[x] = op(s + x * C);
  }
}

/// d[x] = op(s[x]) with 16-byte loads and stores; needs src, dst and (when rows > 1) both
/// strides 16-byte aligned. The tail of each row that does not fill a vector is scalar.
template <class T, class Op>
__global__ void __launch_bounds__(kBlock) map_vec_kernel(Rows r, Op op) {
  constexpr int V = 16 / sizeof(T);
  union Vec {
    uint4 raw;
    T e[V];
  };
  for (std::int64_t y = blockIdx.y; y < r.rows; y += gridDim.y) {
    const T* s = reinterpret_cast<const T*>(r.src + y * r.src_stride);
    T* d = reinterpret_cast<T*>(r.dst + y * r.dst_stride);
    const std::int64_t nvec = r.cols / V;
    for (std::int64_t i = thread_x(); i < nvec; i += stride_x()) {
      Vec v;
      v.raw = reinterpret_cast<const uint4*>(s)[i];
#pragma unroll
      for (int k = 0; k < V; ++k) v.e[k] = op(v.e[k]);
      reinterpret_cast<uint4*>(d)[i] = v.raw;
    }
    for (std::int64_t x = nvec * V + thread_x(); x < r.cols; x += stride_x()) d[x] = op(s[x]);
  }
}

/// d[x] = op(s[x]) one element per thread, for views that are not 16-byte aligned.
template <class T, class Op>
__global__ void __launch_bounds__(kBlock) map_kernel(Rows r, Op op) {
  for (std::int64_t y = blockIdx.y; y < r.rows; y += gridDim.y) {
    const T* s = reinterpret_cast<const T*>(r.src + y * r.src_stride);
    T* d = reinterpret_cast<T*>(r.dst + y * r.dst_stride);
    for (std::int64_t x = thread_x(); x < r.cols; x += stride_x()) d[x] = op(s[x]);
  }
}

inline bool aligned16(const Rows& r) {
  const auto a = [](std::uintptr_t v) { return (v & 15u) == 0; };
  return a(reinterpret_cast<std::uintptr_t>(r.src)) && a(reinterpret_cast<std::uintptr_t>(r.dst)) &&
         (r.rows == 1 || (a(std::uintptr_t(r.src_stride)) && a(std::uintptr_t(r.dst_stride))));
}

/// Launches dst = op(src) elementwise (same dtype and shape) on `stream`.
template <class T, class Op>
Status map_elements(const View& src, const View& dst, Op op, void* stream, const char* what) {
  // The host checks of the point ops do not look at alignment; a misaligned
  // element access on the GPU would lose the device (check_aligned).
  TANDEM_TRY(check_aligned(src, dst, what));
  const Rows r = make_rows(src, dst, src.width() * src.channels());
  if (aligned16(r)) {
    constexpr int V = 16 / sizeof(T);
    map_vec_kernel<T><<<grid_for(r.rows, (r.cols + V - 1) / V), kBlock, 0, as_stream(stream)>>>(r, op);
  } else {
    map_kernel<T><<<grid_for(r.rows, r.cols), kBlock, 0, as_stream(stream)>>>(r, op);
  }
  return launch_status(what);
}

}  // namespace tandem::cuda::pointops
