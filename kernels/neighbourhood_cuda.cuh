// CUDA building blocks of the neighbourhood ops (gaussian, box, filter):
// shared-memory tiles with halos, the fused separable kernel, a 2-D tiled
// kernel, and direct fallbacks for apertures too large for shared memory.
// CUDA only (included by kernels/{gaussian,box,filter}.cu).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>
#include <utility>

#include "kernels/common.cuh"
#include "kernels/cuda_check.cuh"
#include "kernels/image_launch.cuh"
#include "tandem/tensor.hpp"

namespace tandem::cuda::nbh {

constexpr int kWarps = 8;      // blocks are 32 x kWarps threads
constexpr int kTileH = 32;     // output rows per block
// Output pixels per block row: 128 single-channel pixels, or 32 pixels of 3 or
// 4 channels, so a warp reads 96-128 consecutive elements per row.
template <int C>
constexpr int tile_w() {
  return C == 1 ? 128 : 32;
}
// Shared memory a block may take before the direct kernels are preferred (two
// blocks still fit an H100 SM).
constexpr std::size_t kSharedCap = 100 * 1024;

/// An image pair as the kernels see it.
struct Image {
  const char* src;
  long long src_stride;  // bytes
  char* dst;
  long long dst_stride;
  int height, width;
  kern::BorderMode mode;
};

inline Image make_image(const View& src, const View& dst, kern::BorderMode mode) {
  return {static_cast<const char*>(src.data), src.row_stride(), static_cast<char*>(dst.data), dst.row_stride(),
          int(src.height()), int(src.width()), mode};
}

template <class T>
__device__ __forceinline__ const T* src_row(const Image& im, int y) {
  return reinterpret_cast<const T*>(im.src + y * im.src_stride);
}
template <class T>
__device__ __forceinline__ T* dst_row(const Image& im, int y) {
  return reinterpret_cast<T*>(im.dst + y * im.dst_stride);
}

/// One warp stages pixels xs .. xs+npx-1 of a source row (all channels, as A)
/// into `out`, the border rule making up pixels outside the image; a null row
/// is a row outside the image in constant mode. Lane i reads element i, so the
/// loads are coalesced.
template <class T, int C, class A>
__device__ __forceinline__ void stage_row(A* out, const T* row, int xs, int npx, int width, kern::BorderMode mode,
                                          A cval) {
  const int n = npx * C;
  for (int e = threadIdx.x; e < n; e += 32) {
    A v = cval;
    if (row) {
      const int px = e / C;
      const int sx = kern::border_index(xs + px, width, mode);
      if (sx >= 0) v = static_cast<A>(__ldg(row + sx * C + (e - px * C)));
    }
    out[e] = v;
  }
}

// ---------------------------------------------------------------------------
// Separable filters. An Op provides:
//   using Acc;                      the accumulator type
//   int nx, ny, bx, by;            taps and taps before the centre, per direction
//   Acc cval;                       the outside value (constant mode)
//   Acc wx(int k), wy(int k);       the weights
//   Acc hconst();                   the horizontal pass of a row that is all cval
//   template <class T> T finish(Acc);
//   optionally OwnSums (a type) with hsum(get), vsum(get): the op's own sums of the
//                                    taps get(0..n-1), where they are not
//                                    sum w(k) * get(k) (gaussian's u8 fixed
//                                    point pairs its taps).

/// The sum of one pass (kH: horizontal) over the taps get(0..n-1): the op's own
/// hsum / vsum when it declares OwnSums, else sum w(k) * get(k) in order of k.
template <bool kH, class Op, class Get>
__device__ __forceinline__ typename Op::Acc sep_sum(const Op& op, const Get& get) {
  if constexpr (requires { typename Op::OwnSums; }) {
    if constexpr (kH)
      return op.hsum(get);
    else
      return op.vsum(get);
  } else {
    typename Op::Acc s = 0;
    const int n = kH ? op.nx : op.ny;
    for (int k = 0; k < n; ++k) s += (kH ? op.wx(k) : op.wy(k)) * get(k);
    return s;
  }
}
template <class Op>
__device__ __forceinline__ typename Op::Acc sep_h(const Op& op, const typename Op::Acc* p, int step) {
  return sep_sum<true>(op, [&](int k) { return p[k * step]; });
}
template <class Op>
__device__ __forceinline__ typename Op::Acc sep_v(const Op& op, const typename Op::Acc* p, int step) {
  return sep_sum<false>(op, [&](int k) { return p[k * step]; });
}

template <class Op, int C>
std::size_t sep_fused_smem(const Op& op) {
  constexpr int tw = tile_w<C>();
  return (std::size_t(kWarps) * (tw + op.nx - 1) * C + std::size_t(kTileH + op.ny - 1) * tw * C) *
         sizeof(typename Op::Acc);
}

/// Fused separable filter of one tile: each warp stages input rows (with the
/// horizontal halo) in its own shared row, runs the horizontal pass into the
/// shared `mid` rows (tile rows plus the vertical halo), then the block runs
/// the vertical pass from shared memory, so the intermediate never goes
/// through device memory.
template <class T, int C, class Op>
__global__ void __launch_bounds__(32 * kWarps) sep_fused(const __grid_constant__ Op op, const Image im) {
  using Acc = typename Op::Acc;
  constexpr int TW = tile_w<C>();
  constexpr int kMid = TW * C;  // elements per mid row
  extern __shared__ __align__(16) unsigned char smem_raw[];
  Acc* smem = reinterpret_cast<Acc*>(smem_raw);
  const int stage_len = (TW + op.nx - 1) * C;
  Acc* stage = smem + threadIdx.y * stage_len;
  Acc* mid = smem + kWarps * stage_len;
  const int x0 = blockIdx.x * TW, y0 = blockIdx.y * kTileH;
  const int tw = min(TW, im.width - x0), th = min(kTileH, im.height - y0);
  const int n = tw * C;
  const int rows = th + op.ny - 1;
  for (int j = threadIdx.y; j < rows; j += kWarps) {
    Acc* m = mid + j * kMid;
    const int sy = kern::border_index(y0 - op.by + j, im.height, im.mode);
    if (sy < 0) {
      const Acc h = op.hconst();
      for (int e = threadIdx.x; e < n; e += 32) m[e] = h;
      continue;
    }
    stage_row<T, C, Acc>(stage, src_row<T>(im, sy), x0 - op.bx, tw + op.nx - 1, im.width, im.mode, op.cval);
    __syncwarp();
    for (int e = threadIdx.x; e < n; e += 32) m[e] = sep_h(op, stage + e, C);
    __syncwarp();
  }
  __syncthreads();
  for (int j = threadIdx.y; j < th; j += kWarps) {
    T* out = dst_row<T>(im, y0 + j) + std::size_t(x0) * C;
    for (int e = threadIdx.x; e < n; e += 32) out[e] = op.template finish<T>(sep_v(op, mid + j * kMid + e, kMid));
  }
}

/// Direct horizontal pass for apertures too wide for the fused kernel: one
/// thread per element, reading through the cache, into a W*C x H temporary.
template <class T, int C, class Op>
__global__ void __launch_bounds__(256) sep_rows_direct(const __grid_constant__ Op op, const Image im,
                                                       typename Op::Acc* tmp) {
  using Acc = typename Op::Acc;
  const int e = blockIdx.x * blockDim.x + threadIdx.x;
  const int n = im.width * C;
  if (e >= n) return;
  const int px = e / C, c = e - px * C;
  for (int y = blockIdx.y; y < im.height; y += gridDim.y) {
    const T* row = src_row<T>(im, y);
    tmp[std::size_t(y) * n + e] = sep_sum<true>(op, [&](int k) {
      const int sx = kern::border_index(px - op.bx + k, im.width, im.mode);
      return sx < 0 ? op.cval : static_cast<Acc>(__ldg(row + sx * C + c));
    });
  }
}

/// Direct vertical pass over the temporary of sep_rows_direct.
template <class T, int C, class Op>
__global__ void __launch_bounds__(256) sep_cols_direct(const __grid_constant__ Op op, const Image im,
                                                       const typename Op::Acc* tmp) {
  using Acc = typename Op::Acc;
  const int e = blockIdx.x * blockDim.x + threadIdx.x;
  const int n = im.width * C;
  if (e >= n) return;
  for (int y = blockIdx.y; y < im.height; y += gridDim.y) {
    const Acc s = sep_sum<false>(op, [&](int k) {
      const int sy = kern::border_index(y - op.by + k, im.height, im.mode);
      return sy < 0 ? op.hconst() : tmp[std::size_t(sy) * n + e];
    });
    dst_row<T>(im, y)[e] = op.template finish<T>(s);
  }
}

/// The largest dynamic shared memory a block may use on the current device.
inline Status shared_limit(std::size_t& out) {
  int dev = 0, optin = 0;
  TANDEM_CUDA_TRY(cudaGetDevice(&dev));
  TANDEM_CUDA_TRY(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
  out = std::min<std::size_t>(std::size_t(optin), kSharedCap);
  return {};
}

/// Lets `kernel` use `bytes` of dynamic shared memory (needed above 48 KB).
template <class K>
Status allow_shared(K kernel, std::size_t bytes) {
  if (bytes <= 48 * 1024) return {};
  return to_status(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)),
                   "cudaFuncSetAttribute");
}

/// Grid rows for the direct kernels (they loop over the rest).
inline unsigned direct_grid_rows(int height) { return unsigned(std::min(height, 65535)); }

/// Runs a separable Op on `im`: fused when its tile fits in shared memory,
/// else two direct passes through a temporary allocated on the stream.
template <class T, int C, class Op>
Status run_separable(const Op& op, const Image& im, cudaStream_t stream, const char* name) {
  using Acc = typename Op::Acc;
  std::size_t limit = 0;
  TANDEM_TRY(shared_limit(limit));
  const std::size_t smem = sep_fused_smem<Op, C>(op);
  constexpr int TW = tile_w<C>();
  const unsigned gx = unsigned((im.width + TW - 1) / TW), gy = unsigned((im.height + kTileH - 1) / kTileH);
  if (smem <= limit && gy <= 65535) {
    TANDEM_TRY(allow_shared(sep_fused<T, C, Op>, smem));
    sep_fused<T, C, Op><<<dim3(gx, gy), dim3(32, kWarps), smem, stream>>>(op, im);
    return launch_status(name);
  }
  const std::size_t n = std::size_t(im.width) * C;
  void* tmp = nullptr;
  TANDEM_CUDA_TRY(cudaMallocAsync(&tmp, n * std::size_t(im.height) * sizeof(Acc), stream));
  const dim3 grid(unsigned((n + 255) / 256), direct_grid_rows(im.height));
  const Status s = [&] {
    sep_rows_direct<T, C, Op><<<grid, 256, 0, stream>>>(op, im, static_cast<Acc*>(tmp));
    TANDEM_TRY(launch_status(name));
    sep_cols_direct<T, C, Op><<<grid, 256, 0, stream>>>(op, im, static_cast<const Acc*>(tmp));
    return launch_status(name);
  }();
  // Freed on the stream after both passes, also when a launch failed.
  const Status f = to_status(cudaFreeAsync(tmp, stream), "cudaFreeAsync");
  return s.ok() ? f : s;
}

// The (dtype, channels) dispatch of every image kernel (kernels/image_launch.cuh).
using cuda::dispatch;

}  // namespace tandem::cuda::nbh
