// libFuzzer harness for one decoder (TANDEM_FUZZ_FORMAT: png, jpeg, pnm, npy, tiff)
// or, without it, for format detection and every decoder behind it.
// Inputs of another format are passed over, so each harness spends its time
// in its own decoder. Every input must give a Status, never a crash, a leak, a
// hang or an allocation beyond the pixel limit. The metadata a decode keeps
// (ICC profile, EXIF) is written again into a 1x1 PNG, JPEG and TIFF, so the
// EXIF corrections and the metadata writers see every mutation too.
#include <cstddef>
#include <cstdint>
#include <span>

#include "tandem/io/codec.hpp"

using namespace tandem;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
#ifdef TANDEM_FUZZ_FORMAT
  const auto format = io::detect_format(bytes);
  if (!format) return -1;  // not in the corpus
  const io::Format f = *format;
  const bool mine =
      (TANDEM_FUZZ_FORMAT == 0 && f == io::Format::png) || (TANDEM_FUZZ_FORMAT == 1 && f == io::Format::jpeg) ||
      (TANDEM_FUZZ_FORMAT == 2 && (f == io::Format::pgm || f == io::Format::ppm)) ||
      (TANDEM_FUZZ_FORMAT == 3 && f == io::Format::npy) || (TANDEM_FUZZ_FORMAT == 4 && f == io::Format::tiff);
  if (!mine) return -1;
#endif
  io::ImageInfo info;
  (void)io::probe(bytes, "fuzz", info);
  // 4 Mi pixels: enough for any mutation of the seeds, small enough that the
  // fuzzer's memory limit only ever catches a real leak or bomb.
  io::DecodeOptions opts;
  opts.max_pixels = std::int64_t(1) << 22;
  io::Metadata meta;
  for (bool strict : {true, false}) {
    opts.strict = strict;
    opts.metadata = strict ? &meta : nullptr;
    Tensor t;
    // Leniency only changes what happens to a damaged file: one that decodes
    // strictly decodes the same way leniently.
    if (io::decode(bytes, "fuzz", t, opts).ok()) break;
  }
  if (!meta.empty()) {
    std::uint8_t px[3] = {1, 2, 3};
    const View one = View::image(px, DType::u8, 1, 1, 3);
    io::EncodeOptions eo;
    eo.metadata = &meta;
    std::vector<std::byte> out;
    for (io::Format f : {io::Format::png, io::Format::jpeg, io::Format::tiff}) (void)io::encode(one, f, eo, out);
  }
  return 0;
}
