/// @file npy.hpp
/// @brief NumPy .npy files: whole-array reads and writes, a chunked reader
///        (pread) for arrays larger than memory, and a streaming writer.
///
/// Reading accepts format versions 1.0, 2.0 and 3.0, C and Fortran order,
/// either byte order, and these dtypes (converted losslessly where tandem has
/// no exact match):
///
/// | file             | tandem |
/// |------------------|--------|
/// | b1 (bool)        | u8 (0/1) |
/// | u1               | u8     |
/// | u2               | u16    |
/// | u4               | i64    |
/// | i1, i2, i4       | i32    |
/// | i8               | i64    |
/// | f2 (half)        | f32    |
/// | f4               | f32    |
/// | f8               | f64    |
///
/// uint64, float128, complex, strings, datetimes, objects and structured
/// dtypes are refused (Errc::unsupported) with a message naming the file and
/// the dtype. Writing uses version 1.0 (2.0 when the header needs it), C order
/// and the host's byte order ('|u1', '<u2', '<i4', '<i8', '<f4', '<f8' on x86).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/io/file.hpp"
#include "tandem/status.hpp"
#include "tandem/tensor.hpp"

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem::io {

/// @brief Reads a whole .npy file into a new host tensor (C order, converted
///        to a tandem dtype as in the table above; Fortran arrays are transposed).
Status read_npy(const std::string& path, Tensor& out);

/// @brief Writes a host view (any strides) as a .npy file, atomically.
Status write_npy(const std::string& path, const View& v, const AtomicWriteOptions& options = {});

/// @brief Decodes a .npy file held in memory (`name` is used in messages).
Status decode_npy(std::span<const std::byte> bytes, std::string_view name, Tensor& out);

/// @brief Encodes a host view (any strides) as the bytes of a .npy file.
Status encode_npy(const View& v, std::vector<std::byte>& out);

/// @brief What a .npy header says, and how its elements are delivered.
struct NpyHeader {
  int major = 1, minor = 0;        ///< format version
  std::string descr;               ///< dtype as written in the file, e.g. "<f4", ">i2", "|b1"
  DType dtype = DType::u8;         ///< the tandem dtype elements are converted to
  std::size_t file_itemsize = 0;   ///< bytes per element in the file
  bool fortran_order = false;      ///< elements are stored column-major
  std::vector<std::int64_t> shape; ///< logical shape (empty for a 0-d array)
  std::int64_t numel = 1;          ///< product of shape
  std::uint64_t data_offset = 0;   ///< where the elements start in the file
  /// @brief True when the tandem dtype is wider than the file's (bool, int8,
  ///        int16, uint32, float16): NumPy would keep the narrower type.
  [[nodiscard]] bool widened() const noexcept {
    const char kind = descr.empty() ? '?' : descr[descr[0] == '<' || descr[0] == '>' || descr[0] == '|' || descr[0] == '=' ? 1 : 0];
    return kind == 'b' || file_itemsize != dtype_size(dtype);
  }
  /// @brief Bytes of element data in the file (numel * file_itemsize).
  [[nodiscard]] std::uint64_t data_bytes() const noexcept {
    return std::uint64_t(numel) * file_itemsize;
  }
};

/// @brief Parses the header at the start of `bytes` (which must hold all of
///        it; 10 bytes tell its length). `name` is used in messages.
Status parse_npy_header(std::span<const std::byte> bytes, std::string_view name, NpyHeader& out);

/// @brief Chunked reader of a .npy file with pread(2): read_elements may be
///        called concurrently from several threads on one open reader.
class NpyReader {
 public:
  /// @brief Opens `path` and parses its header (checks the file holds all the data).
  Status open(const std::string& path);
  void close() noexcept;
  [[nodiscard]] bool is_open() const noexcept { return f_->fd >= 0; }
  [[nodiscard]] const NpyHeader& header() const noexcept { return f_->header; }
  [[nodiscard]] const std::string& path() const noexcept { return f_->path; }

  /// @brief Reads elements [offset, offset + count) in the file's STORAGE order
  ///        (C order, or column-major when header().fortran_order) into `dst`,
  ///        converted to header().dtype (count * dtype_size bytes, host memory).
  Status read_elements(std::int64_t offset, std::int64_t count, void* dst) const;

 private:
  struct State {
    int fd = -1;
    std::string path;
    NpyHeader header;
  };
  struct Close {
    void operator()(State& f) const noexcept;
  };
  Unique<State, Close> f_;
};

/// @brief Streaming writer: writes the header, then appends elements in C
///        order; finish() renames the temporary into place (see AtomicFile).
///        shape[0] may be -1 when the number of rows is not known in advance:
///        the header reserves room and finish() writes the count appended.
class NpyWriter {
 public:
  NpyWriter() = default;
  ~NpyWriter() = default;  ///< an unfinished file is removed
  NpyWriter(NpyWriter&&) noexcept = default;
  NpyWriter& operator=(NpyWriter&&) noexcept = default;

  Status open(const std::string& path, DType dtype, std::span<const std::int64_t> shape,
              const AtomicWriteOptions& options = {});
  /// @brief Appends `count` elements of the writer's dtype from host memory.
  Status append(const void* data, std::int64_t count);
  /// @brief Appends all elements of a host view of the writer's dtype (any strides), in C order.
  Status append(const View& v);
  /// @brief Checks the element count (a whole number of rows when shape[0] was -1),
  ///        completes the header and renames the file into place.
  Status finish();
  /// @brief Abandons the file (removes the temporary).
  void abort() noexcept { file_.abort(); }
  [[nodiscard]] std::int64_t elements_written() const noexcept { return written_; }

 private:
  AtomicFile file_;
  DType dtype_ = DType::u8;
  std::vector<std::int64_t> shape_;
  bool open_rows_ = false;       // shape[0] == -1
  std::int64_t row_elems_ = 1;   // product of shape[1:]
  std::int64_t total_ = 0;       // product of shape, -1 when shape[0] is open
  std::int64_t written_ = 0;
  std::size_t header_size_ = 0;
};

}  // namespace tandem::io

#pragma GCC visibility pop
