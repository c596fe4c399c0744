// Admission: the byte budget (--io-memory) that bounds what the items in
// flight hold. Each item is charged, before it is read, the peak its header
// says it will reach (file, decoded pixels, what the pipeline's stages
// allocate, the encoded output); the charge is given back when it has been
// written (or has failed). An item whose peak exceeds the whole budget is
// refused instead of admitted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "host/engine/queue.hpp"
#include "tandem/io/codec.hpp"
#include "tandem/io/npy.hpp"
#include "tandem/pipeline.hpp"

namespace tandem::engine {

/// The budget when the run names none: 1/8 of RAM, 64 MiB to 4 GiB.
std::size_t default_io_memory();

/// What an item will hold, from its header.
struct ItemEstimate {
  std::uint64_t decoded = 0;  ///< bytes of the decoded input
  std::uint64_t peak = 0;     ///< bytes held at the item's peak, from read to write
};

/// The estimate for a file of `file_bytes` whose header says `info` (nullopt:
/// no header could be read; decoding will report why) run through `pipeline`.
/// The peak is the largest of: the file and the decoded input (decode); the
/// decoded input, a stage's input and its output (compute, for each stage);
/// the result and its encoding (write). Image ops keep the dtype (resize sets
/// the size, grayscale one channel); array ops are charged 8 bytes an element.
/// `keeps_metadata`: the item carries its ICC profile and EXIF
/// (ImageInfo::metadata_bytes) to its output, held through every phase.
ItemEstimate estimate_item(const Pipeline& pipeline, const std::optional<io::ImageInfo>& info,
                           std::uint64_t file_bytes, bool keeps_metadata);

/// Memory a streamed .npy holds at once when chunks of `chunk_bytes` input
/// bytes flow (a few chunks in and out of flight, results up to 8 bytes an element).
std::uint64_t stream_footprint(std::size_t chunk_bytes, std::size_t element_size);

/// The batch engine runs ops on an array in its own dtype, as NumPy would:
/// a .npy whose dtype tandem only reads by widening it (bool, int8, int16,
/// uint32, float16) is refused, naming the file's dtype, rather than computed
/// in a wider type with results NumPy would not give (abs(int8 -128)).
Status check_npy_dtype(const std::string& path, const io::NpyHeader& h);

class Admission {
 public:
  explicit Admission(std::size_t limit) : budget_(limit ? limit : default_io_memory()) {}

  /// Waits until `bytes` fit (the caller refuses items larger than the
  /// budget); false when cancelled meanwhile.
  bool acquire(std::size_t bytes) { return budget_.acquire(bytes); }
  void release(std::size_t bytes) { budget_.release(bytes); }
  void cancel() { budget_.cancel(); }

  [[nodiscard]] std::size_t limit() const { return budget_.limit(); }
  [[nodiscard]] std::size_t peak() const { return budget_.peak(); }

 private:
  MemoryBudget budget_;
};

}  // namespace tandem::engine
