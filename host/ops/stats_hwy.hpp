// stats' vector loops (host/ops/stats_hwy.cpp), on the best SIMD target the CPU has. The
// method and the error bounds are described at the top of host/ops/stats.cpp; every function
// gives the same result on every target (the lanes and their folding order are fixed).
#pragma once

#include <cstdint>

#include "host/ops/stats_blocks.hpp"

namespace tandem::simd {

/// f32: the shifted lane sums of the `blocks` full blocks of kF32Block values at p (32 f32
/// lanes per block, each block's shift the mean of 128 of its values), and their min/max.
void stats_f32_task_sums(const float* p, int blocks, stats_detail::LaneTask& out);

/// f32: s1 = sum(x - k), s2 = sum((x - k)^2) of m <= kF32Block values in the same 32 lanes,
/// and their min/max (meaningful when s1 and s2 are finite).
stats_detail::Shifted<float> stats_f32_shifted_sums(const float* p, std::int64_t m, float k);

/// f32: sum(x) in f64 lanes (where the f32 lane sums' error bound is too wide).
double stats_f64_sum(const float* p, std::int64_t m);

/// u16, i32, i64, f64: the same sums in 16 f64 lanes around k = double(p[0]), and min/max.
stats_detail::Shifted<std::uint16_t> stats_shifted_sums(const std::uint16_t* p, std::int64_t m);
stats_detail::Shifted<std::int32_t> stats_shifted_sums(const std::int32_t* p, std::int64_t m);
stats_detail::Shifted<std::int64_t> stats_shifted_sums(const std::int64_t* p, std::int64_t m);
stats_detail::Shifted<double> stats_shifted_sums(const double* p, std::int64_t m);

/// u8: exact sum(x), sum(x^2), min and max of m <= kTask values.
stats_detail::U8Sums stats_u8_sums(const std::uint8_t* p, std::int64_t m);

}  // namespace tandem::simd
