// CUDA bilinear resize: one thread per output pixel (all channels). The four
// source pixels are gathered through the read-only cache: unlike a stencil,
// neighbouring output blocks share almost no source pixels when downscaling
// and the reuse when upscaling stays within L1, so no shared-memory tile is
// staged. Taps and arithmetic come from kernels/resize.cuh (same bits as the CPU).
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/cuda_check.cuh"
#include "kernels/image_launch.cuh"
#include "kernels/resize.cuh"

namespace tandem::cuda {
namespace {

template <class T, int C>
__global__ void __launch_bounds__(kBlockThreads)
    resize_kernel(const char* __restrict__ src, std::int64_t src_stride, int sh, int sw, char* __restrict__ dst,
                  std::int64_t dst_stride, int dh, int dw, double scale_x, double scale_y) {
  const int dx = blockIdx.x * kBlockX + threadIdx.x;
  if (dx >= dw) return;
  const kern::LinearTap tx = kern::linear_tap(dx, scale_x, sw);
  for (int dy = blockIdx.y * kBlockY + threadIdx.y; dy < dh; dy += gridDim.y * kBlockY) {
    const kern::LinearTap ty = kern::linear_tap(dy, scale_y, sh);
    const T* r0 = reinterpret_cast<const T*>(src + ty.i0 * src_stride);
    const T* r1 = reinterpret_cast<const T*>(src + ty.i1 * src_stride);
    const std::int64_t o0 = std::int64_t(tx.i0) * C;
    const std::int64_t o1 = std::int64_t(tx.i1) * C;
    T* out = reinterpret_cast<T*>(dst + dy * dst_stride) + std::int64_t(dx) * C;
    if constexpr (std::is_same_v<T, std::uint8_t>) {
      const int a0 = kern::fixed_weight(1.0f - tx.f), a1 = kern::fixed_weight(tx.f);
      const int b0 = kern::fixed_weight(1.0f - ty.f), b1 = kern::fixed_weight(ty.f);
#pragma unroll
      for (int c = 0; c < C; ++c) {
        const int h0 = kern::resize_h_fixed(__ldg(r0 + o0 + c), __ldg(r0 + o1 + c), a0, a1);
        const int h1 = kern::resize_h_fixed(__ldg(r1 + o0 + c), __ldg(r1 + o1 + c), a0, a1);
        out[c] = kern::resize_v_fixed(h0, h1, b0, b1);
      }
    } else {
      const float a0 = 1.0f - tx.f, a1 = tx.f;
      const float b0 = 1.0f - ty.f, b1 = ty.f;
#pragma unroll
      for (int c = 0; c < C; ++c) {
        const float h0 = kern::resize_lerp(float(__ldg(r0 + o0 + c)), float(__ldg(r0 + o1 + c)), a0, a1);
        const float h1 = kern::resize_lerp(float(__ldg(r1 + o0 + c)), float(__ldg(r1 + o1 + c)), a0, a1);
        out[c] = kern::resize_store<T>(kern::resize_lerp(h0, h1, b0, b1));
      }
    }
  }
}

template <class T, int C>
Status launch(const View& src, const View& dst, cudaStream_t stream) {
  const int sh = static_cast<int>(src.height()), sw = static_cast<int>(src.width());
  const int dh = static_cast<int>(dst.height()), dw = static_cast<int>(dst.width());
  resize_kernel<T, C><<<image_grid(dw, dh), dim3(kBlockX, kBlockY), 0, stream>>>(
      static_cast<const char*>(src.data), src.row_stride(), sh, sw, static_cast<char*>(dst.data), dst.row_stride(),
      dh, dw, kern::resize_scale(sw, dw), kern::resize_scale(sh, dh));
  return launch_status("resize_kernel");
}

}  // namespace

Status resize(const View& src, const View& dst, void* stream) {
  return launch_on(src, stream, [&](auto tag, auto ch, cudaStream_t s) {
    return launch<decltype(tag), decltype(ch)::value>(src, dst, s);
  });
}

}  // namespace tandem::cuda
