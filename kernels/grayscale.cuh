// Luma math shared by the OpenMP loop (host/grayscale.cpp) and the CUDA kernel.
#pragma once

#include <cstdint>
#include <type_traits>

#include "kernels/common.cuh"
#include "tandem/ops/grayscale.hpp"

namespace tandem::kern {

// OpenCV 4's RGB2Gray<uchar> and <ushort> (imgproc color_rgb.simd.hpp: RY15, GY15, BY15,
// gray_shift = 15). OpenCV 3 used 14-bit weights (4899, 9617, 1868), which differ on about
// 0.26% of u8 triples; these match cv2 4.6 on all 2^24 of them.
inline constexpr std::uint32_t kGrayR15 = 9798;   // round(0.299 * 2^15)
inline constexpr std::uint32_t kGrayG15 = 19235;  // round(0.587 * 2^15)
inline constexpr std::uint32_t kGrayB15 = 3735;   // 2^15 - 9798 - 19235, so Y never exceeds max
inline constexpr int kGrayShift = 15;

/// Luma of one pixel. Integer types: exact fixed point (fits uint32 even for u16:
/// 65535 * 2^15 + 2^14 < 2^32). f32: R*0.299f + G*0.587f + B*0.114f, rounded after every
/// operation (no FMA contraction, so the CPU and GPU agree bit for bit).
template <class T>
TANDEM_HD T gray_pixel(T r, T g, T b) {
  if constexpr (std::is_floating_point_v<T>) {
#if defined(__CUDA_ARCH__)
    return __fadd_rn(__fadd_rn(__fmul_rn(r, 0.299f), __fmul_rn(g, 0.587f)), __fmul_rn(b, 0.114f));
#else
    return r * 0.299f + g * 0.587f + b * 0.114f;
#endif
  } else {
    const std::uint32_t y = std::uint32_t(r) * kGrayR15 + std::uint32_t(g) * kGrayG15 +
                            std::uint32_t(b) * kGrayB15 + (1u << (kGrayShift - 1));
    return static_cast<T>(y >> kGrayShift);
  }
}

/// Functor over a pixel of C interleaved channels (C = 3 or 4; alpha ignored).
template <class T, int C>
struct GrayOp {
  TANDEM_HD T operator()(const T* px) const { return gray_pixel<T>(px[0], px[1], px[2]); }
};

}  // namespace tandem::kern

namespace tandem::cuda {
/// Queues the conversion on `stream`; src has 3 or 4 channels (validated by the caller).
Status grayscale(const View& src, const View& dst, void* stream);
}  // namespace tandem::cuda
