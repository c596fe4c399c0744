// CUDA Sobel magnitude: one thread per output pixel (all channels); each block
// stages its (32 + 2) x (8 + 2) tile with a one-pixel halo in shared memory as
// float, reading rows coalesced, then applies kern::sobel_pixel.
#include <algorithm>
#include <cstdint>

#include "kernels/cuda_check.cuh"
#include "kernels/image_launch.cuh"
#include "kernels/sobel.cuh"

namespace tandem::cuda {
namespace {

template <class T, int C>
__global__ void __launch_bounds__(kBlockThreads)
    sobel_kernel(const char* __restrict__ src, std::int64_t src_stride, char* __restrict__ dst,
                 std::int64_t dst_stride, int H, int W, kern::BorderMode mode, float cval) {
  constexpr int TW = kBlockX + 2;
  constexpr int TH = kBlockY + 2;
  __shared__ float tile[TH][TW][C];
  const int tid = threadIdx.y * kBlockX + threadIdx.x;
  const int x = blockIdx.x * kBlockX + threadIdx.x;
  const int gx0 = blockIdx.x * kBlockX - 1;
  // Grid-stride over row tiles, so any height fits in gridDim.y.
  for (int by = blockIdx.y; by * kBlockY < H; by += gridDim.y) {
    const int gy0 = by * kBlockY - 1;
    for (int i = tid; i < TW * TH; i += kBlockThreads) {
      const int ty = i / TW;
      const int tx = i - ty * TW;
      const int sy = kern::border_index(gy0 + ty, H, mode);
      const int sx = kern::border_index(gx0 + tx, W, mode);
      if (sy < 0 || sx < 0) {
#pragma unroll
        for (int c = 0; c < C; ++c) tile[ty][tx][c] = cval;
      } else {
        const T* p = reinterpret_cast<const T*>(src + sy * src_stride) + std::int64_t(sx) * C;
#pragma unroll
        for (int c = 0; c < C; ++c) tile[ty][tx][c] = static_cast<float>(p[c]);
      }
    }
    __syncthreads();
    const int y = by * kBlockY + threadIdx.y;
    if (x < W && y < H) {
      T* out = reinterpret_cast<T*>(dst + y * dst_stride) + std::int64_t(x) * C;
      const int tx = threadIdx.x + 1;
      const int ty = threadIdx.y + 1;
#pragma unroll
      for (int c = 0; c < C; ++c)
        out[c] = kern::sobel_pixel<T>(tile[ty - 1][tx - 1][c], tile[ty - 1][tx][c], tile[ty - 1][tx + 1][c],
                                      tile[ty][tx - 1][c], tile[ty][tx + 1][c], tile[ty + 1][tx - 1][c],
                                      tile[ty + 1][tx][c], tile[ty + 1][tx + 1][c]);
    }
    __syncthreads();
  }
}

template <class T, int C>
Status launch(const View& src, const View& dst, const SobelParams& p, cudaStream_t stream) {
  const int H = static_cast<int>(src.height());
  const int W = static_cast<int>(src.width());
  const float cval = static_cast<float>(kern::saturate<T>(p.value));
  sobel_kernel<T, C><<<image_grid(W, H), dim3(kBlockX, kBlockY), 0, stream>>>(
      static_cast<const char*>(src.data), src.row_stride(), static_cast<char*>(dst.data), dst.row_stride(), H, W,
      static_cast<kern::BorderMode>(p.border), cval);
  return launch_status("sobel_kernel");
}

}  // namespace

Status sobel(const View& src, const View& dst, const SobelParams& p, void* stream) {
  return launch_on(src, stream, [&](auto tag, auto ch, cudaStream_t s) {
    return launch<decltype(tag), decltype(ch)::value>(src, dst, p, s);
  });
}

}  // namespace tandem::cuda
