// Thread CPU time of one CPU op at 1 thread into a preallocated output, for
// bench/cpu_ratios.py (ratios against OpenCV that hold on a machine shared with other
// jobs, where wall-clock medians count waiting as work).
//   tandem_cpu_time OP SIZE CHANNELS REPEATS [VALUE]
// OP: resize-0.5, resize-0.37, grayscale, threshold (VALUE: its T, default 127), invert,
// gaussian-S (sigma S). SIZE: N (N x N) or WxH.
// Prints the mean milliseconds per call after one untimed call.
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tandem/ops/gaussian.hpp"
#include "tandem/ops/grayscale.hpp"
#include "tandem/ops/invert.hpp"
#include "tandem/ops/resize.hpp"
#include "tandem/ops/threshold.hpp"
#include "tandem/tensor.hpp"

namespace {

double thread_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

int usage() {
  std::fprintf(stderr,
               "usage: tandem_cpu_time OP SIZE CHANNELS REPEATS [VALUE]\n"
               "  OP: resize-0.5 resize-0.37 grayscale threshold invert gaussian-S\n"
               "  SIZE: N or WxH\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tandem;
  if (argc < 5) return usage();
  const std::string op = argv[1];
  long long width = 0, height = 0;
  if (std::sscanf(argv[2], "%lldx%lld", &width, &height) != 2) width = height = std::atoll(argv[2]);
  const std::int64_t channels = std::atoll(argv[3]);
  const int repeats = std::atoi(argv[4]);
  if (width < 1 || height < 1 || repeats < 1 || (channels != 1 && channels != 3 && channels != 4)) return usage();
  Tensor src, dst;
  if (!Tensor::create_image(DType::u8, height, width, channels, Device::cpu(), src).ok()) return 1;
  auto* p = src.view().ptr<std::uint8_t>();
  std::uint64_t z = 42;
  for (std::int64_t i = 0; i < src.view().numel(); ++i) p[i] = std::uint8_t((z = z * 6364136223846793005ull + 1) >> 56);
  std::int64_t oh = height, ow = width, oc = channels;
  if (op.rfind("resize-", 0) == 0) {
    const double scale = std::atof(op.c_str() + 7);
    oh = std::max<std::int64_t>(1, std::llround(double(height) * scale));
    ow = std::max<std::int64_t>(1, std::llround(double(width) * scale));
  }
  if (op == "grayscale") oc = 1;
  if (!Tensor::create_image(DType::u8, oh, ow, oc, Device::cpu(), dst).ok()) return 1;
  Exec exec = Exec::cpu();
  exec.threads = 1;
  auto call = [&]() -> Status {
    if (op.rfind("resize-", 0) == 0) return resize(src.view(), dst.view(), ResizeParams{ow, oh}, exec);
    if (op == "grayscale") return grayscale(src.view(), dst.view(), GrayscaleParams{}, exec);
    if (op == "threshold") return threshold(src.view(), dst.view(), ThresholdParams{argc > 5 ? std::atof(argv[5]) : 127.0}, exec);
    if (op == "invert") return invert(src.view(), dst.view(), InvertParams{}, exec);
    if (op.rfind("gaussian-", 0) == 0) {
      GaussianParams g;
      g.sigma = std::atof(op.c_str() + 9);
      return gaussian(src.view(), dst.view(), g, exec);
    }
    return {Errc::invalid_argument, "unknown op " + op};
  };
  if (const Status s = call(); !s.ok()) {
    std::fprintf(stderr, "tandem_cpu_time: %s\n", s.message().c_str());
    return 1;
  }
  const double t0 = thread_seconds();
  for (int i = 0; i < repeats; ++i) (void)call();
  std::printf("%.6f\n", (thread_seconds() - t0) / repeats * 1e3);
  return 0;
}
