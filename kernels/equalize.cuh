// cv::equalizeHist's LUT rule, shared by the OpenMP path (host/equalize.cpp) and the CUDA
// LUT kernel, so the float rounding is written once.
#pragma once

#include <cstdint>

#include "kernels/common.cuh"
#include "tandem/ops/equalize.hpp"

namespace tandem::kern {

inline constexpr int kEqualizeBins = 256;

/// What the LUT needs from the histogram: the first non-empty bin and its count.
struct EqualizeLutInfo {
  int first = 0;               ///< first bin with a non-zero count
  std::uint64_t first_count = 0;
  bool constant = false;       ///< every pixel is in bin `first`
  float scale = 0;             ///< 255.f / float(total - first_count), as OpenCV (float)
};

// Counts are 64-bit: an image may hold more than 2^32 pixels (each side only has to fit in int).
TANDEM_HD EqualizeLutInfo equalize_info(int first, std::uint64_t first_count, std::uint64_t total) {
  EqualizeLutInfo info;
  info.first = first;
  info.first_count = first_count;
  info.constant = first_count == total;
  // OpenCV: float scale = (hist_sz - 1.f)/(total - hist[i]); the int difference becomes float.
  if (!info.constant) info.scale = 255.f / static_cast<float>(total - first_count);
  return info;
}

/// lut[bin] given cdf = hist[0] + ... + hist[bin] (inclusive). OpenCV accumulates
/// sum = cdf - hist[first] in int and stores saturate_cast<uchar>(sum * scale): the int
/// becomes float, one float multiply, then round half to even. Bins below `first` hold no
/// pixels (OpenCV leaves them uninitialised); they map to 0 here.
TANDEM_HD std::uint8_t equalize_lut_entry(int bin, std::uint64_t cdf, const EqualizeLutInfo& info) {
  if (info.constant) return static_cast<std::uint8_t>(info.first);  // OpenCV: dst.setTo(first)
  if (bin <= info.first) return 0;
  const float v = static_cast<float>(cdf - info.first_count) * info.scale;
  return saturate<std::uint8_t>(v);
}

}  // namespace tandem::kern

namespace tandem::cuda {
/// Queues histogram, LUT build and mapping on `stream` (no host synchronisation);
/// src/dst validated by the caller.
Status equalize(const View& src, const View& dst, void* stream);
}  // namespace tandem::cuda
