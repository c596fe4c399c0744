// Shared pieces of the Google Benchmark programs: each program covers one op
// group and registers a benchmark per (op, size, channels) for the ops of that
// group that this build's op table has, so a program still builds and runs
// while some ops are missing. Inputs are made once per benchmark and the CPU
// kernels are timed through the op table (run_op), wall-clock (OpenMP).
#pragma once

#include <benchmark/benchmark.h>
#include <malloc.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli/tools/bench.hpp"
#include "tandem/tandem.hpp"

namespace tandem::microbench {

/// Deterministic values: u8 full range, other integers 0..65535, floats in (0, 1].
inline void fill(const View& v, std::uint64_t seed) {
  const std::int64_t n = v.numel();
  visit_dtype(v.dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = v.ptr<T>();
    std::uint64_t z = seed;
    for (std::int64_t i = 0; i < n; ++i) {
      z = z * 6364136223846793005ull + 1442695040888963407ull;
      const std::uint64_t r = z >> 33;
      if constexpr (std::is_floating_point_v<T>) p[i] = T(double(r + 1) * 0x1.0p-31);
      else if constexpr (sizeof(T) == 1) p[i] = T(r & 0xFF);
      else p[i] = T(r & 0xFFFF);
    }
  });
}

/// Times `op` (bench defaults + `params`) on a host input of `shape`.
inline void op_benchmark(benchmark::State& state, const OpSpec* spec, std::string params,
                         std::vector<std::int64_t> shape, DType dtype) {
  std::vector<std::pair<std::string, std::string>> kv, base;
  std::map<std::string, std::string, std::less<>> raw;
  (void)bench::parse_kv(bench::bench_params(std::string(spec->name), shape), base);
  (void)bench::parse_kv(params, kv);
  for (auto& [k, v] : base) raw[k] = v;
  for (auto& [k, v] : kv) raw[k] = v;
  OpArgs args;
  if (Status s = parse_args(*spec, raw, args); !s.ok()) return state.SkipWithError(s.message().c_str());
  Tensor in;
  if (Status s = Tensor::create(dtype, std::span<const std::int64_t>(shape.data(), shape.size()), Device::cpu(), in);
      !s.ok())
    return state.SkipWithError(s.message().c_str());
  fill(in.view(), 42);
  const Exec exec = Exec::cpu();
  std::size_t out_bytes = 0;
  for (auto _ : state) {
    Tensor dst;
    if (Status s = run_op(*spec, args, in.view(), dst, exec); !s.ok()) {
      state.SkipWithError(s.message().c_str());
      break;
    }
    out_bytes = dst.view().nbytes();
    benchmark::DoNotOptimize(dst.view().data);
  }
  const bool image = spec->kind == OpKind::image && shape.size() >= 2;
  state.SetItemsProcessed(state.iterations() * (image ? shape[0] * shape[1] : in.view().numel()));
  state.SetBytesProcessed(state.iterations() * std::int64_t(in.view().nbytes() + out_bytes));
  state.SetLabel(bench::shape_text(shape) + " " + dtype_name(dtype) + (raw.empty() ? "" : " ") +
                 [&] {
                   std::string s;
                   for (auto& [k, v] : raw) s += (s.empty() ? "" : " ") + k + "=" + v;
                   return s;
                 }());
}

/// The op `name` of the table, or nullptr after a note on stderr (an op this build leaves out).
inline const OpSpec* find_bench_op(const std::string& name) {
  const OpSpec* spec = find_op(name);
  if (!spec) std::fprintf(stderr, "note: op '%s' is not in this build; not benchmarked\n", name.c_str());
  return spec;
}

/// Registers `fn` as `label`, timed in real time (OpenMP) and reported in milliseconds.
template <class F>
void register_real_time(const std::string& label, F fn) {
  benchmark::RegisterBenchmark(label.c_str(), std::move(fn))->UseRealTime()->Unit(benchmark::kMillisecond);
}

/// Registers op_benchmark of `spec` on a random `dtype` input of `shape` as `label`, in real time.
inline void register_op(const std::string& label, const OpSpec* spec, const std::vector<std::int64_t>& shape,
                        DType dtype) {
  register_real_time(label, [spec, shape, dtype](benchmark::State& st) { op_benchmark(st, spec, "", shape, dtype); });
}

/// Registers image benchmarks for each op in `ops` present in the table, on
/// square sizes x {gray, RGB} (channel counts the op refuses are left out).
inline void register_image_ops(const std::vector<std::string>& ops, const std::vector<std::int64_t>& sizes,
                               DType dtype = DType::u8) {
  for (const auto& name : ops) {
    const OpSpec* spec = find_bench_op(name);
    if (!spec) continue;
    for (int ch : {1, 3}) {
      if (!(spec->channels & (1u << ch))) continue;
      for (std::int64_t n : sizes) {
        std::vector<std::int64_t> shape{n, n};
        if (ch > 1) shape.push_back(ch);
        register_op(name + "/" + bench::shape_text(shape), spec, shape, dtype);
      }
    }
  }
}

/// Registers 1-d array benchmarks for each op in `ops` present in the table.
inline void register_array_ops(const std::vector<std::string>& ops, const std::vector<std::int64_t>& sizes,
                               DType dtype = DType::f32) {
  for (const auto& name : ops) {
    const OpSpec* spec = find_bench_op(name);
    if (!spec) continue;
    for (std::int64_t n : sizes) register_op(name + "/" + std::to_string(n), spec, {n}, dtype);
  }
}

/// main() of every program: outputs are allocated per call, so keep freed
/// blocks in the heap (no mmap/munmap and page faults per iteration).
inline int run_main(int argc, char** argv, void (*register_all)()) {
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace tandem::microbench
