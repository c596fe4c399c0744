// Microbenchmarks of the elementwise group's CPU kernels (affine, clamp, abs, sqrt, exp, log, pow, normalize) through the op table.
#include "bench/bench_util.hpp"

namespace {
void register_all() { tandem::microbench::register_array_ops({"affine", "clamp", "abs", "sqrt", "exp", "log", "pow", "normalize"}, {100'000, 1'000'000, 10'000'000}); }
}  // namespace

int main(int argc, char** argv) { return tandem::microbench::run_main(argc, argv, register_all); }
