// Microbenchmarks of the filters group's CPU kernels (gaussian, box, filter) through the op table.
#include "bench/bench_util.hpp"

namespace {
void register_all() { tandem::microbench::register_image_ops({"gaussian", "box", "filter"}, {512, 2048, 4096}); }
}  // namespace

int main(int argc, char** argv) { return tandem::microbench::run_main(argc, argv, register_all); }
