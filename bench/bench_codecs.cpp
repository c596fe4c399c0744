// Microbenchmarks of the image codecs on the batch job's kind of data: a
// photo-like 1024x768 RGB image (smooth noise and gradients, as
// bench/compare.py makes) and its `gaussian sigma=2 | sobel` output. The CPU
// column is the calling thread's time (the codecs are single-threaded), the
// steadier number on a shared machine.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "bench/bench_util.hpp"
#include "tandem/io/codec.hpp"

namespace {

using namespace tandem;

constexpr std::int64_t kH = 768, kW = 1024;

// Bilinear upsampling of a coarse random grid, plus gradients and a little noise.
Tensor photo_like(std::uint64_t seed) {
  Tensor t;
  if (!Tensor::create_image(DType::u8, kH, kW, 3, Device::cpu(), t).ok()) std::abort();
  constexpr std::int64_t cell = 16, gh = kH / cell + 2, gw = kW / cell + 2;
  std::vector<float> grid(std::size_t(gh * gw * 3));
  std::uint64_t z = seed;
  auto next = [&] {
    z = z * 6364136223846793005ull + 1442695040888963407ull;
    return float(z >> 40) * 0x1.0p-24f;
  };
  for (float& g : grid) g = next();
  for (std::int64_t y = 0; y < kH; ++y) {
    auto* row = t.view().row<std::uint8_t>(y);
    const float fy = float(y) / cell, wy = fy - std::floor(fy);
    const auto y0 = std::int64_t(fy);
    for (std::int64_t x = 0; x < kW; ++x) {
      const float fx = float(x) / cell, wx = fx - std::floor(fx);
      const auto x0 = std::int64_t(fx);
      for (std::int64_t c = 0; c < 3; ++c) {
        auto g = [&](std::int64_t gy, std::int64_t gx) { return grid[std::size_t((gy * gw + gx) * 3 + c)]; };
        const float v = (g(y0, x0) * (1 - wx) + g(y0, x0 + 1) * wx) * (1 - wy) + (g(y0 + 1, x0) * (1 - wx) + g(y0 + 1, x0 + 1) * wx) * wy;
        const float grad = 0.5f * float(x) / kW + 0.3f * float(y) / kH + 0.04f * (next() - 0.5f);
        row[x * 3 + c] = std::uint8_t(std::clamp((v + grad) / 1.8f * 255.0f, 0.0f, 255.0f));
      }
    }
  }
  return t;
}

// `gaussian sigma=2 | sobel` through the op table; empty when an op is missing.
Tensor edges_of(const View& img) {
  Tensor cur;
  View src = img;
  for (auto [name, params] : {std::pair{"gaussian", "sigma=2"}, std::pair{"sobel", ""}}) {
    const OpSpec* spec = find_op(name);
    if (!spec) return {};
    std::map<std::string, std::string, std::less<>> raw;
    std::vector<std::pair<std::string, std::string>> kv;
    (void)bench::parse_kv(params, kv);
    for (auto& [k, v] : kv) raw[k] = v;
    OpArgs args;
    Tensor dst;
    if (!parse_args(*spec, raw, args).ok() || !run_op(*spec, args, src, dst, Exec::cpu()).ok()) return {};
    cur = std::move(dst);
    src = cur.view();
  }
  return cur;
}

void decode_bench(benchmark::State& state, std::vector<std::byte> bytes) {
  Tensor t;
  for (auto _ : state)
    if (Status s = io::decode(bytes, "bench.png", t); !s.ok()) return state.SkipWithError(s.message().c_str());
  state.counters["file_MB"] = double(bytes.size()) / 1e6;
}

void encode_bench(benchmark::State& state, const View& img, io::Format f, io::EncodeOptions o) {
  std::vector<std::byte> out;
  for (auto _ : state)
    if (Status s = io::encode(img, f, o, out); !s.ok()) return state.SkipWithError(s.message().c_str());
  state.counters["file_MB"] = double(out.size()) / 1e6;
}

void register_all() {
  static Tensor photo = photo_like(7);
  static Tensor edges = edges_of(photo.view());
  std::vector<std::byte> png;
  for (int level : {1, 6}) {
    if (!io::encode(photo.view(), io::Format::png, {.png_compression = level}, png).ok()) std::abort();
    benchmark::RegisterBenchmark(("png_decode/photo_level" + std::to_string(level)).c_str(), decode_bench, png)
        ->Unit(benchmark::kMillisecond);
  }
  for (int level : {1, 6})
    benchmark::RegisterBenchmark(("png_encode/photo_level" + std::to_string(level)).c_str(), encode_bench,
                                 photo.view(), io::Format::png, io::EncodeOptions{.png_compression = level})
        ->Unit(benchmark::kMillisecond);
  if (edges.empty()) {
    std::fprintf(stderr, "note: gaussian or sobel is not in this build; no png_encode/edges case\n");
  } else {
    benchmark::RegisterBenchmark("png_encode/edges_level1", encode_bench, edges.view(), io::Format::png,
                                 io::EncodeOptions{})
        ->Unit(benchmark::kMillisecond);
    if (!io::encode(edges.view(), io::Format::png, {}, png).ok()) std::abort();
    benchmark::RegisterBenchmark("png_decode/edges_level1", decode_bench, png)->Unit(benchmark::kMillisecond);
  }
  if (!io::encode(photo.view(), io::Format::jpeg, {}, png).ok()) std::abort();
  benchmark::RegisterBenchmark("jpeg_decode/photo_q90", decode_bench, png)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("jpeg_encode/photo_q90", encode_bench, photo.view(), io::Format::jpeg,
                               io::EncodeOptions{})
      ->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) { return tandem::microbench::run_main(argc, argv, register_all); }
