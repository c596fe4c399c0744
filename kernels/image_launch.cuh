// The launch skeleton the image kernels share (sobel, median, resize, and the
// neighbourhood ops): blocks of 32 x 8 threads over the output, a grid whose
// rows of blocks stop at CUDA's gridDim.y limit (the kernels loop over the
// rest), and the dispatch from an image's (dtype, channels) to the kernel
// instantiation for it (launch_on). CUDA only.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/cuda_check.cuh"
#include "tandem/dtype.hpp"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

namespace tandem::cuda {

constexpr int kBlockX = 32;  // a warp per block row: coalesced row reads
constexpr int kBlockY = 8;
constexpr int kBlockThreads = kBlockX * kBlockY;
constexpr int kMaxGridY = 65535;

/// The grid of kBlockX x kBlockY blocks over a w x h output. Taller outputs
/// get kMaxGridY rows of blocks; the kernels stride over the rest.
inline dim3 image_grid(int w, int h) {
  return dim3(unsigned((w + kBlockX - 1) / kBlockX), unsigned(std::min((h + kBlockY - 1) / kBlockY, kMaxGridY)));
}

/// Calls f(std::integral_constant<int, C>{}) for C = channels: 1, 3 or 4.
template <class F>
Status dispatch_channels(int channels, F&& f) {
  using std::integral_constant;
  if (channels == 1) return f(integral_constant<int, 1>{});
  if (channels == 3) return f(integral_constant<int, 3>{});
  if (channels == 4) return f(integral_constant<int, 4>{});
  return {Errc::internal, "unsupported channel count reached the CUDA launcher"};
}

/// Calls f(T{}, std::integral_constant<int, C>{}) for the image layouts the
/// image ops declare: T = u8, u16 or f32, C = 1, 3 or 4.
template <class F>
Status dispatch(DType t, int channels, F&& f) {
  if (t == DType::u8) return dispatch_channels(channels, [&](auto c) { return f(std::uint8_t{}, c); });
  if (t == DType::u16) return dispatch_channels(channels, [&](auto c) { return f(std::uint16_t{}, c); });
  if (t == DType::f32) return dispatch_channels(channels, [&](auto c) { return f(float{}, c); });
  return {Errc::internal, "unsupported dtype reached the CUDA launcher"};
}

/// The entry of an image kernel: makes src's device current, then calls
/// f(T{}, std::integral_constant<int, C>{}, stream) for src's layout.
template <class F>
Status launch_on(const View& src, void* stream, F&& f) {
  TANDEM_CUDA_TRY(cudaSetDevice(src.device.index));
  const cudaStream_t s = as_stream(stream);
  return dispatch(src.dtype, int(src.channels()), [&](auto tag, auto ch) { return f(tag, ch, s); });
}

}  // namespace tandem::cuda
