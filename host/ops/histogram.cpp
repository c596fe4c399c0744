#include "host/ops/op_decl.hpp"
// histogram: range resolution (NumPy's _get_outer_edges), validation, device
// dispatch, the OpenMP implementation and the op-table entry.  The bin
// function is in kernels/histogram.cuh.
#include "tandem/ops/histogram.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "host/core/simd.hpp"
#include "host/ops/dispatch.hpp"
#include "host/ops/histogram_hwy.hpp"
#include "host/ops/minmax.hpp"
#include "host/core/parallel.hpp"
#include "kernels/histogram.cuh"
#include "tandem/config.hpp"
#include "tandem/op_table.hpp"

namespace tandem {
namespace {

constexpr std::int64_t kMaxBins = 100'000'000;
constexpr std::int64_t kChunk = std::int64_t(1) << 15;
// Per-thread private counts up to this many bins; above, shared atomic counts.
constexpr std::int64_t kPrivateBins = std::int64_t(1) << 16;

Status fail(Errc code, const std::string& why) { return {code, "histogram: " + why}; }

const OpSpec& spec();

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// Beyond the declared fields: a range needs both ends, finite and in order
// (checked when a pipeline is parsed).
Status check_range(const HistogramParams& p) {
  if (p.min.has_value() != p.max.has_value())
    return fail(Errc::invalid_argument, "give both min and max (the range), or neither");
  if (p.min) {
    if (!std::isfinite(*p.min) || !std::isfinite(*p.max))
      return fail(Errc::invalid_argument, "supplied range of [" + num(*p.min) + ", " + num(*p.max) + "] is not finite");
    if (*p.min > *p.max)
      return fail(Errc::invalid_argument, "max must be larger than min (got min " + num(*p.min) + ", max " + num(*p.max) + ")");
  }
  return {};
}

Status check_src(const View& src, const Exec& exec) {
  if (!(src.device == exec.device))
    return fail(Errc::invalid_argument, "input is on " + src.device.str() + " but the op runs on " + exec.device.str());
  if (exec.device.is_cuda() && !exec.stream)
    return fail(Errc::invalid_argument, "a CUDA stream is required to run on " + exec.device.str());
  if (!src.is_contiguous()) return fail(Errc::invalid_argument, "input must be contiguous; got " + src.describe());
  if (src.numel() > 0 && !src.data) return fail(Errc::invalid_argument, "null input data pointer");
  return {};
}


// Min/max of host data, as f64 and (integers) exactly.
Status minmax_on_cpu(const View& src, const View&, cuda::DataMinMax* const& result, const Exec& exec) {
  visit_dtype(src.dtype, [&](auto tag) {
    using T = decltype(tag);
    const kern::MinMax<T> mm = cpu_minmax(src.ptr<const T>(), src.numel(), cpu_threads(exec));
    *result = cuda::DataMinMax::of(mm.min, mm.max);
  });
  return {};
}

/// Min/max of the data on its device, as f64 and (integers) exactly.
Status data_minmax(const View& src, const Exec& exec, cuda::DataMinMax& out) {
  // The range is needed now, on the host: on a sim device, once the queued work is done.
  if (exec.device.is_sim()) {
    TANDEM_TRY(detail::wait_for("histogram", exec));
    return minmax_on_cpu(src, src, &out, Exec::cpu(1));
  }
  return detail::on_device("histogram", src, src, &out, exec, minmax_on_cpu, [&](auto stream) {
    return cuda::data_minmax(src, out, stream).with_context("histogram");
  });
}

/// NumPy's _get_outer_edges + _get_bin_edges + histogram's `norm`.
Status resolve_bins(const View& src, const HistogramParams& p, const Exec& exec, kern::HistBins& b) {
  TANDEM_TRY(detail::check_params(spec(), p, check_range));
  TANDEM_TRY(check_src(src, exec));
  double first = 0, last = 1, denom = 1;
  if (p.min) {
    first = *p.min;
    last = *p.max;
    if (first == last) {
      first -= 0.5;
      last += 0.5;
    }
    denom = last - first;
  } else if (src.numel() > 0) {
    cuda::DataMinMax mm;
    TANDEM_TRY(data_minmax(src, exec, mm));
    if (!std::isfinite(mm.min) || !std::isfinite(mm.max))
      return fail(Errc::invalid_argument, "autodetected range of [" + num(mm.min) + ", " + num(mm.max) +
                                              "] is not finite (give min and max to skip NaN/inf)");
    first = mm.min;
    last = mm.max;
    if (first == last) {
      first -= 0.5;
      last += 0.5;
      denom = last - first;
    } else if (dtype_is_integer(src.dtype)) {
      // NumPy subtracts integer bounds in the unsigned type: exact difference.
      denom = static_cast<double>(static_cast<std::uint64_t>(mm.imax) - static_cast<std::uint64_t>(mm.imin));
    } else {
      denom = last - first;
    }
  }
  const double delta = last - first;
  if (!std::isfinite(delta) || !std::isfinite(denom))
    return fail(Errc::invalid_argument, "range [" + num(first) + ", " + num(last) + "] is too wide (max - min overflows)");
  b.first = first;
  b.last = last;
  b.delta = delta;
  b.n = p.bins;
  b.step = delta / static_cast<double>(p.bins);
  b.norm = static_cast<double>(p.bins) / denom;
  visit_dtype(src.dtype, [&](auto tag) {
    b.lo = b.template edge<decltype(tag)>(0);
    b.hi = b.template edge<decltype(tag)>(p.bins);
  });
  return {};
}

constexpr int kBlock = 512;
// Bins up to this many are counted into kLanes interleaved private copies, so
// runs of equal bins do not serialise on one counter.
constexpr std::int64_t kLaneBins = 4096;
constexpr int kLanes = 4;

// Counts the bins of in[0, n) into counts[0, nbins); bin_block(in + b, m, idx) writes
// idx[j] = bin + 1 of in[b + j] for j < m <= kBlock (0 = not counted).
template <class T, class BinBlock>
void cpu_count(const T* in, std::int64_t n, std::int64_t nbins, std::int64_t* counts, int threads, BinBlock bin_block) {
  std::fill(counts, counts + nbins, std::int64_t(0));
  const std::int64_t chunks = (n + kChunk - 1) / kChunk;
  if (chunks == 0) return;
  if (nbins > kPrivateBins) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (chunks > 1)
    for (std::int64_t c = 0; c < chunks; ++c) {
      const std::int64_t e = std::min(n, (c + 1) * kChunk);
      std::int32_t idx[kBlock];
      for (std::int64_t b = c * kChunk; b < e; b += kBlock) {
        const int m = static_cast<int>(std::min<std::int64_t>(kBlock, e - b));
        bin_block(in + b, m, idx);
        for (int j = 0; j < m; ++j)
          if (idx[j] > 0) {
#pragma omp atomic relaxed
            ++counts[idx[j] - 1];
          }
      }
    }
    return;
  }
  const int lanes = nbins <= kLaneBins ? kLanes : 1;
  const std::size_t stride = static_cast<std::size_t>(nbins) + 1;  // slot 0: not counted
#pragma omp parallel num_threads(threads) if (chunks > 1)
  {
    std::vector<std::int64_t> mine(stride * std::size_t(lanes), 0);
    std::int32_t idx[kBlock];
#pragma omp for schedule(dynamic, 1) nowait
    for (std::int64_t c = 0; c < chunks; ++c) {
      const std::int64_t e = std::min(n, (c + 1) * kChunk);
      for (std::int64_t b = c * kChunk; b < e; b += kBlock) {
        const int m = static_cast<int>(std::min<std::int64_t>(kBlock, e - b));
        bin_block(in + b, m, idx);
        if (lanes == kLanes) {
          std::int64_t* l0 = mine.data();
          std::int64_t* l1 = l0 + stride;
          std::int64_t* l2 = l1 + stride;
          std::int64_t* l3 = l2 + stride;
          int j = 0;
          for (; j + 4 <= m; j += 4) {
            ++l0[idx[j]];
            ++l1[idx[j + 1]];
            ++l2[idx[j + 2]];
            ++l3[idx[j + 3]];
          }
          for (; j < m; ++j) ++l0[idx[j]];
        } else {
          for (int j = 0; j < m; ++j) ++mine[static_cast<std::size_t>(idx[j])];
        }
      }
    }
#pragma omp critical(tandem_hist_merge)
    for (std::int64_t k = 0; k < nbins; ++k)
      for (int l = 0; l < lanes; ++l) counts[k] += mine[std::size_t(l) * stride + std::size_t(k) + 1];
  }
}

template <class T>
void cpu_histogram(const T* in, std::int64_t n, const kern::HistBins& b, std::int64_t* counts, int threads) {
  if constexpr (std::is_same_v<T, std::uint8_t> || std::is_same_v<T, std::uint16_t>) {
    // Few distinct values: bin each one once with the same function, then count
    // through the table (u16 only when the array dwarfs the table).
    constexpr std::int64_t values = std::int64_t(std::numeric_limits<T>::max()) + 1;
    if (values <= 256 || n >= 4 * values) {
      std::vector<std::int32_t> lut(static_cast<std::size_t>(values));
      for (std::int64_t v = 0; v < values; ++v) lut[std::size_t(v)] = static_cast<std::int32_t>(b.bin(static_cast<T>(v)) + 1);
      const std::int32_t* table = lut.data();
      cpu_count(in, n, b.n, counts, threads, [table](const T* x, int m, std::int32_t* idx) {
        for (int j = 0; j < m; ++j) idx[j] = table[x[j]];
      });
      return;
    }
  }
  if constexpr (std::is_same_v<T, std::int64_t>) {
    // i64 beyond 2^53 rounds to f64 as static_cast does, one by one.
    cpu_count(in, n, b.n, counts, threads, [&b](const T* x, int m, std::int32_t* idx) {
      for (int j = 0; j < m; ++j) idx[j] = static_cast<std::int32_t>(b.bin(x[j]) + 1);
    });
  } else if constexpr (!std::is_same_v<T, std::uint8_t>) {
    cpu_count(in, n, b.n, counts, threads,
              [&b](const T* x, int m, std::int32_t* idx) { simd::histogram_bins(x, m, idx, b); });
  }
}

Status histogram_on_cpu(const View& src, const View& dst, const kern::HistBins& b, const Exec& exec) {
  TANDEM_TRY(detail::simd_ready());  // the TANDEM_SIMD cap, before the first vector kernel
  visit_dtype(src.dtype, [&](auto tag) {
    using T = decltype(tag);
    cpu_histogram(src.ptr<const T>(), src.numel(), b, dst.ptr<std::int64_t>(), cpu_threads(exec));
  });
  return {};
}


}  // namespace

Status histogram(const View& src, const View& dst, const HistogramParams& p, const Exec& exec) {
  TANDEM_TRY(detail::check_params(spec(), p, check_range));
  TANDEM_TRY(check_src(src, exec));
  if (!(dst.device == exec.device))
    return fail(Errc::invalid_argument, "output is on " + dst.device.str() + " but the op runs on " + exec.device.str());
  if (dst.dtype != DType::i64 || dst.ndim != 1 || dst.shape[0] != p.bins || !dst.is_contiguous() || !dst.data)
    return fail(Errc::invalid_argument, "output must be a contiguous i64 tensor of shape [" + std::to_string(p.bins) +
                                            "]; got " + dst.describe());
  kern::HistBins b;
  TANDEM_TRY(resolve_bins(src, p, exec, b));
  return detail::on_device("histogram", src, dst, b, exec, histogram_on_cpu, [&](auto stream) {
    return cuda::histogram(src, dst, b, stream).with_context("histogram");
  });
}

Status histogram(const View& src, Tensor& dst, const HistogramParams& p, const Exec& exec) {
  TANDEM_TRY(detail::check_params(spec(), p, check_range));
  TANDEM_TRY(check_src(src, exec));
  TANDEM_TRY(Tensor::create(DType::i64, {p.bins}, exec.device, dst).with_context("histogram"));
  return histogram(src, dst.view(), p, exec);
}

Status histogram_edges(const View& src, const HistogramParams& p, std::vector<double>& edges, const Exec& exec) {
  kern::HistBins b;
  TANDEM_TRY(resolve_bins(src, p, exec, b));
  edges.resize(static_cast<std::size_t>(b.n + 1));
  visit_dtype(src.dtype, [&](auto tag) {
    for (std::int64_t i = 0; i <= b.n; ++i) edges[static_cast<std::size_t>(i)] = b.template edge<decltype(tag)>(i);
  });
  return {};
}

// ---------------------------------------------------------------------------
// Op table.
// ---------------------------------------------------------------------------

namespace {

// Streaming: chunk counts add up (every chunk is binned over the same range).
Status combine_counts(Tensor& acc, const View& chunk) {
  if (!acc.view().data) {
    TANDEM_TRY(Tensor::create_like(chunk, Device::cpu(), acc));
    std::memset(acc.view().data, 0, acc.view().nbytes());
  }
  auto* a = acc.view().ptr<std::int64_t>();
  const auto* add = chunk.ptr<const std::int64_t>();
  for (std::int64_t i = 0; i < chunk.numel(); ++i) a[i] += add[i];
  return {};
}

Status finish_counts(Tensor& acc) {
  if (!acc.view().data) return {Errc::invalid_argument, "empty array"};
  return {};
}

// Streaming without a range: chunks can only be added up over one range, the
// whole input's min and max, which a first streamed pass of stats finds.
const OpSpec* range_pass(const OpArgs& args) {
  return args.has("min") && args.has("max") ? nullptr : find_op("stats");
}
void set_range(OpArgs& args, const View& stats) {
  if (!args.has("min")) args.set("min", stats.ptr<const double>()[2]);
  if (!args.has("max")) args.set("max", stats.ptr<const double>()[3]);
}

const OpSpec& spec() {
  static const OpSpec s = detail::make_op<HistogramParams>({
    .name = "histogram",
    .kind = OpKind::histogram,
    .doc = "counts in `bins` equal-width bins over [min, max] (default: the data's min and max; last bin closed; "
           "values outside and NaN ignored), i64 [bins]; f32 input binned against f32-rounded edges as NumPy",
    .semantics = "np.histogram(a, bins=bins, range=(min, max))[0]",
    .params = {detail::field(&HistogramParams::bins, "bins", "number of equal-width bins").in(1, double(kMaxBins)),
               detail::field(&HistogramParams::min, "min", "lower end of the range (with max); default a.min()"),
               detail::field(&HistogramParams::max, "max",
                             "upper end of the range (with min, >= min); default a.max()")},
    .layouts = detail::array_layouts(kAllDTypes),
    .run = histogram,
    .check = check_range,
    .combine = combine_counts,
    .finish = finish_counts,
    .first_pass = range_pass,
    .complete = set_range,
  });
  return s;
}

}  // namespace

TANDEM_OP_SPECS(histogram, &spec())

}  // namespace tandem
