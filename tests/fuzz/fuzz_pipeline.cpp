// libFuzzer harness for the pipeline parser and, with TANDEM_FUZZ_APPLY, for
// parse-and-apply: the first bytes choose a small random image (size, dtype,
// channels), the rest is the pipeline text, applied on the CPU.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "tandem/pipeline.hpp"
#include "tandem/tensor.hpp"

using namespace tandem;

namespace {

// File parameters (matmul's with=B.npy) are passed over: the parser reads the
// file, and a fuzzer that finds /dev/stdin or /proc would only time out.
bool names_a_file(std::string_view text) { return text.find("with") != std::string_view::npos; }

#ifdef TANDEM_FUZZ_APPLY
// Keeps the work per input small: no number longer than three digits (sizes,
// windows and bins stay below 1000).
bool small_enough(std::string_view text) {
  std::size_t run = 0;
  for (const char c : text) {
    run = (c >= '0' && c <= '9') ? run + 1 : 0;
    if (run > 3) return false;
  }
  return true;
}
#endif

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
#ifdef TANDEM_FUZZ_APPLY
  if (size < 4) return -1;
  const int h = 1 + data[0] % 23, w = 1 + data[1] % 29;
  const int channels = (data[2] & 3) == 0 ? 1 : (data[2] & 3) == 1 ? 3 : (data[2] & 3) == 2 ? 4 : 1;
  const DType dtypes[] = {DType::u8, DType::u16, DType::f32, DType::i32, DType::f64, DType::i64};
  const DType dtype = dtypes[(data[2] >> 2) % 6];
  const bool as_array = (data[2] >> 5) & 1;
  const std::uint8_t fill = data[3];
  data += 4;
  size -= 4;
#endif
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (names_a_file(text)) return -1;
  Pipeline p;
  ParseError error;
  if (!Pipeline::parse(text, p, &error).ok()) return 0;
#ifdef TANDEM_FUZZ_APPLY
  if (!small_enough(text)) return 0;
  Tensor src;
  const Status made = as_array ? Tensor::create(dtype, {std::int64_t(h) * w * channels}, Device::cpu(), src)
                               : Tensor::create_image(dtype, h, w, channels, Device::cpu(), src);
  if (!made.ok()) return 0;
  // Deterministic contents from the fill byte: a spread of values, NaN-free.
  auto* b = static_cast<std::uint8_t*>(src.view().data);
  const std::size_t n = src.view().nbytes();
  for (std::size_t i = 0; i < n; ++i) b[i] = std::uint8_t(fill + 37 * i);
  if (dtype == DType::f32)
    for (std::int64_t i = 0; i < src.view().numel(); ++i) src.view().ptr<float>()[i] = float((fill + 7 * i) % 300) - 40.f;
  if (dtype == DType::f64)
    for (std::int64_t i = 0; i < src.view().numel(); ++i) src.view().ptr<double>()[i] = double((fill + 11 * i) % 500) / 3 - 60;
  Exec exec;
  exec.threads = 1;
  Tensor out;
  (void)p.apply(src.view(), out, exec);
#endif
  return 0;
}
