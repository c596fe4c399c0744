// Microbenchmarks of the pointops group's CPU kernels (grayscale, threshold, invert, equalize) through the op table,
// and their bound: the same bytes copied through the point ops' scheduler.
#include <cstring>

#include "bench/bench_util.hpp"
#include "host/ops/pointops_common.hpp"

namespace {

// copy/NxN: an NxN u8 image copied by memcpy through pointops::map_rows (the pieces of
// 64 Ki elements handed to the threads in order, an output allocated per call as the op
// benchmarks do). No point op can be much faster than this; threshold and invert at
// 4096 gray sit beside it (docs/performance.md).
void copy_benchmark(benchmark::State& state, std::int64_t n) {
  using namespace tandem;
  Tensor in;
  if (Status s = Tensor::create(DType::u8, {n, n}, Device::cpu(), in); !s.ok())
    return state.SkipWithError(s.message().c_str());
  microbench::fill(in.view(), 42);
  const Exec exec = Exec::cpu();
  for (auto _ : state) {
    Tensor dst;
    if (Status s = Tensor::create_like(in.view(), Device::cpu(), dst); !s.ok()) {
      state.SkipWithError(s.message().c_str());
      break;
    }
    pointops::map_rows<std::uint8_t>(in.view(), dst.view(), exec,
                                     [](const std::uint8_t* s, std::uint8_t* d, std::int64_t k) {
                                       std::memcpy(d, s, std::size_t(k));
                                     });
    benchmark::DoNotOptimize(dst.view().data);
  }
  state.SetBytesProcessed(state.iterations() * 2 * n * n);
  state.SetLabel(bench::shape_text({n, n}) + " " + dtype_name(DType::u8));
}

void register_all() {
  tandem::microbench::register_image_ops({"grayscale", "threshold", "invert", "equalize"}, {512, 2048, 4096});
  for (std::int64_t n : {512, 2048, 4096})
    tandem::microbench::register_real_time("copy/" + tandem::bench::shape_text({n, n}),
                                           [n](benchmark::State& st) { copy_benchmark(st, n); });
}

}  // namespace

int main(int argc, char** argv) { return tandem::microbench::run_main(argc, argv, register_all); }
