// histogram's vector binning (host/ops/histogram_hwy.cpp), on the best SIMD target the CPU has.
#pragma once

#include <cstdint>

#include "kernels/histogram.cuh"

namespace tandem::simd {
/// out[j] = b.bin(in[j]) + 1 for j < m (0: not counted), the bin edges computed as
/// kern::HistBins::edge<T> computes them (each product and sum rounded; f32: rounded to f32).
void histogram_bins(const std::uint16_t* in, int m, std::int32_t* out, const kern::HistBins& b);
void histogram_bins(const std::int32_t* in, int m, std::int32_t* out, const kern::HistBins& b);
void histogram_bins(const float* in, int m, std::int32_t* out, const kern::HistBins& b);
void histogram_bins(const double* in, int m, std::int32_t* out, const kern::HistBins& b);
}  // namespace tandem::simd
