// Microbenchmarks of the pointops group's CPU kernels (grayscale, threshold, invert, equalize) through the op table.
#include "bench/bench_util.hpp"

namespace {
void register_all() { tandem::microbench::register_image_ops({"grayscale", "threshold", "invert", "equalize"}, {512, 2048, 4096}); }
}  // namespace

int main(int argc, char** argv) { return tandem::microbench::run_main(argc, argv, register_all); }
