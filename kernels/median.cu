// CUDA median filter. Every block stages its output tile plus a K - 1 halo in
// shared memory (replicate border, coalesced row loads), then each thread
// selects its pixel's median from the tile:
//  - K = 3, 5, 7: the selection network of kernels/median.cuh on registers,
//    all channels per thread;
//  - K >= 9: a bitwise radix select over the window's keys (one channel per
//    blockIdx.z), 8 / 16 / 32 passes over K*K shared-memory reads for
//    u8 / u16 / f32. Exact for any K; cost grows with K*K.
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/cuda_check.cuh"
#include "kernels/image_launch.cuh"
#include "kernels/median.cuh"

namespace tandem::cuda {
namespace {

// Stages the tw x th window of the image whose top-left pixel is (gx0, gy0), edge pixels
// replicated, with all the block's threads: put(i, ty, tx, pixel) for its cell i = ty * tw + tx,
// `pixel` pointing at the cell's first channel.
template <class T, int C, class Put>
__device__ __forceinline__ void stage_window(const char* __restrict__ src, std::int64_t src_stride, int H, int W,
                                             int gx0, int gy0, int tw, int th, Put put) {
  const int tid = threadIdx.y * kBlockX + threadIdx.x;
  for (int i = tid; i < tw * th; i += kBlockThreads) {
    const int ty = i / tw;
    const int tx = i - ty * tw;
    put(i, ty, tx,
        reinterpret_cast<const T*>(src + kern::clamp_index(gy0 + ty, H) * src_stride) +
            std::int64_t(kern::clamp_index(gx0 + tx, W)) * C);
  }
}

template <class T, int C, int K>
__global__ void __launch_bounds__(kBlockThreads)
    median_network_kernel(const char* __restrict__ src, std::int64_t src_stride, char* __restrict__ dst,
                          std::int64_t dst_stride, int H, int W) {
  constexpr int r = K / 2;
  constexpr int TW = kBlockX + K - 1;
  constexpr int TH = kBlockY + K - 1;
  __shared__ T tile[TH][TW * C];
  const int x = blockIdx.x * kBlockX + threadIdx.x;
  const int gx0 = blockIdx.x * kBlockX - r;
  for (int by = blockIdx.y; by * kBlockY < H; by += gridDim.y) {
    stage_window<T, C>(src, src_stride, H, W, gx0, by * kBlockY - r, TW, TH, [&](int, int ty, int tx, const T* p) {
#pragma unroll
      for (int c = 0; c < C; ++c) tile[ty][tx * C + c] = p[c];
    });
    __syncthreads();
    const int y = by * kBlockY + threadIdx.y;
    if (x < W && y < H) {
      T* out = reinterpret_cast<T*>(dst + y * dst_stride) + std::int64_t(x) * C;
      for (int c = 0; c < C; ++c) {
        T v[K * K];
#pragma unroll
        for (int dy = 0; dy < K; ++dy)
#pragma unroll
          for (int dx = 0; dx < K; ++dx) v[dy * K + dx] = tile[threadIdx.y + dy][(threadIdx.x + dx) * C + c];
        out[c] = kern::median_of<T, K * K>(v);
      }
    }
    __syncthreads();
  }
}

// Keys as stored in the tile: u8 / u16 are their own keys; f32 is stored as its key.
template <class T>
using TileKey = std::conditional_t<std::is_floating_point_v<T>, std::uint32_t, T>;

template <class T, int C>
__global__ void __launch_bounds__(kBlockThreads)
    median_radix_kernel(const char* __restrict__ src, std::int64_t src_stride, char* __restrict__ dst,
                        std::int64_t dst_stride, int H, int W, int K) {
  using Key = kern::MedianKey<T>;
  extern __shared__ unsigned char smem[];
  TileKey<T>* tile = reinterpret_cast<TileKey<T>*>(smem);
  const int r = K / 2;
  const int TW = kBlockX + K - 1;
  const int TH = kBlockY + K - 1;
  const int c = blockIdx.z;
  const int x = blockIdx.x * kBlockX + threadIdx.x;
  const int gx0 = blockIdx.x * kBlockX - r;
  for (int by = blockIdx.y; by * kBlockY < H; by += gridDim.y) {
    stage_window<T, C>(src, src_stride, H, W, gx0, by * kBlockY - r, TW, TH, [&](int i, int, int, const T* p) {
      tile[i] = static_cast<TileKey<T>>(Key::key(p[c]));
    });
    __syncthreads();
    const int y = by * kBlockY + threadIdx.y;
    if (x < W && y < H) {
      const TileKey<T>* w = tile + threadIdx.y * TW + threadIdx.x;
      const std::uint32_t k =
          kern::radix_select<Key::bits>(K, K * K / 2, [&](int dy, int dx) -> std::uint32_t { return w[dy * TW + dx]; });
      reinterpret_cast<T*>(dst + y * dst_stride)[std::int64_t(x) * C + c] = Key::value(k);
    }
    __syncthreads();
  }
}

template <class T, int C>
Status launch(const View& src, const View& dst, int K, cudaStream_t stream) {
  const int H = static_cast<int>(src.height());
  const int W = static_cast<int>(src.width());
  const dim3 block(kBlockX, kBlockY);
  const dim3 grid = image_grid(W, H);
  const auto* s = static_cast<const char*>(src.data);
  auto* d = static_cast<char*>(dst.data);
  if (K == 3) {
    median_network_kernel<T, C, 3><<<grid, block, 0, stream>>>(s, src.row_stride(), d, dst.row_stride(), H, W);
    return launch_status("median_network_kernel<3>");
  }
  if (K == 5) {
    median_network_kernel<T, C, 5><<<grid, block, 0, stream>>>(s, src.row_stride(), d, dst.row_stride(), H, W);
    return launch_status("median_network_kernel<5>");
  }
  if (K == 7) {
    median_network_kernel<T, C, 7><<<grid, block, 0, stream>>>(s, src.row_stride(), d, dst.row_stride(), H, W);
    return launch_status("median_network_kernel<7>");
  }
  const std::size_t smem = sizeof(TileKey<T>) * std::size_t(kBlockX + K - 1) * std::size_t(kBlockY + K - 1);
  int device = 0, limit = 0;
  TANDEM_CUDA_TRY(cudaGetDevice(&device));
  TANDEM_CUDA_TRY(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  if (smem > std::size_t(limit))
    return {Errc::unsupported, "median: a " + std::to_string(K) + "x" + std::to_string(K) + " window needs " +
                                   std::to_string(smem) + " bytes of shared memory per block; this GPU has " +
                                   std::to_string(limit)};
  auto* kernel = &median_radix_kernel<T, C>;
  TANDEM_CUDA_TRY(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  kernel<<<dim3(grid.x, grid.y, C), block, smem, stream>>>(s, src.row_stride(), d, dst.row_stride(), H, W, K);
  return launch_status("median_radix_kernel");
}

}  // namespace

Status median(const View& src, const View& dst, const MedianParams& p, void* stream) {
  return launch_on(src, stream, [&](auto tag, auto ch, cudaStream_t s) {
    return launch<decltype(tag), decltype(ch)::value>(src, dst, p.size, s);
  });
}

}  // namespace tandem::cuda
