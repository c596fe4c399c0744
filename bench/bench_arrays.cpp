// Microbenchmarks of the array group's CPU kernels: sort and cumsum through the
// op table, matmul through its API with B resident (the table entry reads B
// from a .npy file on every call).
#include "bench/bench_util.hpp"
#include "tandem/ops/matmul.hpp"

namespace {

void matmul_benchmark(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  tandem::Tensor a, b;
  if (!tandem::Tensor::create(tandem::DType::f32, {n, n}, tandem::Device::cpu(), a).ok() ||
      !tandem::Tensor::create(tandem::DType::f32, {n, n}, tandem::Device::cpu(), b).ok())
    return state.SkipWithError("cannot allocate the matrices");
  tandem::microbench::fill(a.view(), 1);
  tandem::microbench::fill(b.view(), 2);
  for (auto _ : state) {
    tandem::Tensor c;
    if (tandem::Status s = tandem::matmul(a.view(), b.view(), c, {}, tandem::Exec::cpu()); !s.ok()) {
      state.SkipWithError(s.message().c_str());
      break;
    }
    benchmark::DoNotOptimize(c.view().data);
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(n) * double(n) * double(n),
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void register_all() {
  tandem::microbench::register_array_ops({"sort", "cumsum"}, {100'000, 1'000'000, 10'000'000});
  benchmark::RegisterBenchmark("matmul/f32", matmul_benchmark)
      ->Arg(256)->Arg(512)->Arg(1024)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) { return tandem::microbench::run_main(argc, argv, register_all); }
