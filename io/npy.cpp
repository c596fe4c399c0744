// NumPy .npy reading (versions 1-3, C/Fortran order, both byte orders, lossless
// dtype widening) and writing (whole arrays, chunked reads, streamed writes).
#include "tandem/io/npy.hpp"

#include "host/core/shape.hpp"
#include "io/codecs.hpp"
#include "io/npy_format.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

namespace tandem::io {

namespace {

using detail::quoted;
using namespace npy_format;

// Calls f(ptr, bytes) for each C-order run of contiguous elements of a view.
template <class F>
void for_each_run(const View& v, F&& f) {
  const std::size_t es = v.elem_size();
  if (v.ndim == 0) {
    if (v.data) f(static_cast<const unsigned char*>(v.data), es);
    return;
  }
  if (v.numel() == 0) return;
  // Trailing dims that are packed form one run.
  int k = v.ndim;
  std::int64_t run = 1;
  while (k > 0 && (v.shape[k - 1] == 1 || v.strides[k - 1] == std::int64_t(es) * run)) {
    run *= v.shape[k - 1];
    --k;
  }
  if (k == 0) {
    f(static_cast<const unsigned char*>(v.data), std::size_t(run) * es);
    return;
  }
  std::int64_t idx[kMaxDims] = {};
  const auto* base = static_cast<const unsigned char*>(v.data);
  std::int64_t off = 0;
  for (;;) {
    f(base + off, std::size_t(run) * es);
    int d = k - 1;
    for (; d >= 0; --d) {
      if (++idx[d] < v.shape[d]) {
        off += v.strides[d];
        break;
      }
      off -= v.strides[d] * (v.shape[d] - 1);
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

Status check_host(const View& v, const char* what) {
  if (!v.device.is_cpu())
    return {Errc::invalid_argument, std::string(what) + ": the array must be in host memory, got " + v.describe()};
  if (v.ndim > kMaxDims || v.ndim < 0) return {Errc::invalid_argument, std::string(what) + ": bad rank"};
  if (!v.data && v.numel() > 0) return {Errc::invalid_argument, std::string(what) + ": null data"};
  return {};
}

Status check_rank(const NpyHeader& h, std::string_view name) {
  if (h.shape.size() > std::size_t(kMaxDims))
    return {Errc::unsupported, quoted(name) + ": arrays of " + std::to_string(h.shape.size()) +
                                   " dimensions are not supported (at most " + std::to_string(kMaxDims) + ")"};
  return {};
}

// Fills `dst` (contiguous, the header's logical shape and dtype) from
// storage-order elements delivered by read(dst, count), already converted.
template <class ReadFn>
Status fill_view(const NpyHeader& h, std::string_view name, void* dst, ReadFn&& read) {
  if (h.numel == 0) return {};
  if (h.fortran_order && h.shape.size() > 1) {
    Tensor storage;
    std::vector<std::int64_t> flat{h.numel};
    TANDEM_TRY(Tensor::create(h.dtype, flat, Device::cpu(), storage).with_context("reading " + quoted(name)));
    TANDEM_TRY(read(storage.view().data, h.numel));
    fortran_to_c(storage.view().data, dst, h.shape, dtype_size(h.dtype));
    return {};
  }
  return read(dst, h.numel);
}

// Allocates `out` for the header's logical shape and fills it.
template <class ReadFn>
Status fill_tensor(const NpyHeader& h, std::string_view name, Tensor& out, ReadFn&& read) {
  TANDEM_TRY(check_rank(h, name));
  Tensor t;
  TANDEM_TRY(Tensor::create(h.dtype, h.shape, Device::cpu(), t).with_context("reading " + quoted(name)));
  TANDEM_TRY(fill_view(h, name, t.view().data, read));
  out = std::move(t);
  return {};
}

Status check_data(const NpyHeader& h, std::span<const std::byte> bytes, std::string_view name) {
  const std::uint64_t have = bytes.size() - h.data_offset;
  if (have < h.data_bytes())
    return format_error(name, "truncated NPY data: the header promises " + std::to_string(h.data_bytes()) +
                                  " bytes, the file holds " + std::to_string(have));
  return {};
}

}  // namespace

// ---------------------------------------------------------------------------

Status decode_npy(std::span<const std::byte> bytes, std::string_view name, Tensor& out) {
  NpyHeader h;
  TANDEM_TRY(parse_npy_header(bytes, name, h));
  TANDEM_TRY(check_data(h, bytes, name));
  const FileType ft = file_type_of(h);
  const auto* src = reinterpret_cast<const unsigned char*>(bytes.data()) + h.data_offset;
  return fill_tensor(h, name, out, [&](void* dst, std::int64_t count) {
    convert(src, std::size_t(count), ft, h.dtype, dst);
    return Status{};
  });
}

Status detail::npy_decode_into(std::span<const std::byte> bytes, std::string_view name, const NpyHeader& h,
                               const View& dst) {
  TANDEM_TRY(check_rank(h, name));
  TANDEM_TRY(check_data(h, bytes, name));
  bool match = dst.dtype == h.dtype && dst.ndim == int(h.shape.size()) && dst.device.is_cpu() &&
               dst.is_contiguous() && (dst.data || h.numel == 0);
  for (int i = 0; match && i < dst.ndim; ++i) match = dst.shape[i] == h.shape[std::size_t(i)];
  if (!match)
    return {Errc::invalid_argument, "decode_into " + quoted(name) + ": the destination " + dst.describe() +
                                        " is not a contiguous host view of the file's " + dtype_name(h.dtype) +
                                        " array"};
  const FileType ft = file_type_of(h);
  const auto* src = reinterpret_cast<const unsigned char*>(bytes.data()) + h.data_offset;
  return fill_view(h, name, dst.data, [&](void* d, std::int64_t count) {
    convert(src, std::size_t(count), ft, h.dtype, d);
    return Status{};
  });
}

Status read_npy(const std::string& path, Tensor& out) {
  NpyReader r;
  TANDEM_TRY(r.open(path));
  return fill_tensor(r.header(), path, out,
                     [&](void* dst, std::int64_t count) { return r.read_elements(0, count, dst); });
}

Status encode_npy(const View& v, std::vector<std::byte>& out) {
  TANDEM_TRY(check_host(v, "encode_npy"));
  const std::string prelude =
      make_prelude(dict_text(v.dtype, std::span<const std::int64_t>(v.shape.data(), std::size_t(v.ndim)), ""), 0);
  try {
    out.clear();
    out.reserve(prelude.size() + v.nbytes());
    const auto* p = reinterpret_cast<const std::byte*>(prelude.data());
    out.insert(out.end(), p, p + prelude.size());
    for_each_run(v, [&](const unsigned char* run, std::size_t n) {
      const auto* r = reinterpret_cast<const std::byte*>(run);
      out.insert(out.end(), r, r + n);
    });
  } catch (const std::bad_alloc&) {
    out.clear();
    return {Errc::out_of_memory, "encode_npy: out of memory for " + v.describe()};
  }
  return {};
}

Status write_npy(const std::string& path, const View& v, const AtomicWriteOptions& options) {
  TANDEM_TRY(check_host(v, "write_npy"));
  NpyWriter w;
  TANDEM_TRY(w.open(path, v.dtype, std::span<const std::int64_t>(v.shape.data(), std::size_t(v.ndim)), options));
  TANDEM_TRY(w.append(v));
  return w.finish();
}

// ---------------------------------------------------------------------------

void NpyReader::Close::operator()(State& f) const noexcept {
  if (f.fd >= 0) ::close(f.fd);
  f.fd = -1;
}

void NpyReader::close() noexcept { Close{}(*f_); }

namespace {
// Reads exactly `size` bytes at `offset`; a short file is a format error.
Status pread_all(int fd, void* dst, std::size_t size, std::uint64_t offset, const std::string& path) {
  auto* p = static_cast<char*>(dst);
  while (size > 0) {
    const ssize_t n = ::pread(fd, p, std::min<std::size_t>(size, std::size_t(1) << 30), off_t(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return {Errc::io_error, "cannot read " + quoted(path) + ": " + errno_message(errno)};
    }
    if (n == 0) return format_error(path, "the file ended early (truncated, or changed while reading)");
    p += n;
    size -= std::size_t(n);
    offset += std::uint64_t(n);
  }
  return {};
}
}  // namespace

Status NpyReader::open(const std::string& path) {
  close();
  int fd = -1;
  std::uint64_t file_size = 0;
  TANDEM_TRY(open_regular_file(path, fd, file_size));
  f_->fd = fd;
  f_->path = path;
  unsigned char pre[12] = {};
  const std::size_t pre_n = std::min<std::uint64_t>(12, file_size);
  Status s = pread_all(fd, pre, pre_n, 0, path);
  std::size_t header_total = pre_n;
  if (s.ok() && pre_n >= 10 && std::memcmp(pre, kMagic, 6) == 0) {
    if (pre[6] == 1) header_total = 10 + (std::size_t(pre[8]) | std::size_t(pre[9]) << 8);
    else if (pre_n == 12)
      header_total = 12 + (std::size_t(pre[8]) | std::size_t(pre[9]) << 8 | std::size_t(pre[10]) << 16 |
                           std::size_t(pre[11]) << 24);
    header_total = std::min<std::uint64_t>({header_total, file_size, kMaxHeaderBytes + 12});
  }
  std::vector<std::byte> head(header_total);
  if (s.ok()) s = pread_all(fd, head.data(), head.size(), 0, path);
  NpyHeader h;
  if (s.ok()) s = parse_npy_header(head, path, h);
  if (s.ok() && file_size - h.data_offset < h.data_bytes())
    s = format_error(path, "truncated NPY data: the header promises " + std::to_string(h.data_bytes()) +
                               " bytes, the file holds " + std::to_string(file_size - h.data_offset));
  if (!s.ok()) {
    close();
    return s;
  }
  f_->header = std::move(h);
#ifdef POSIX_FADV_SEQUENTIAL
  (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  return {};
}

Status NpyReader::read_elements(std::int64_t offset, std::int64_t count, void* dst) const {
  if (f_->fd < 0) return {Errc::invalid_argument, "NpyReader::read_elements: no file is open"};
  if (offset < 0 || count < 0 || offset > f_->header.numel || count > f_->header.numel - offset)
    return {Errc::invalid_argument, "NpyReader::read_elements: elements [" + std::to_string(offset) + ", +" +
                                        std::to_string(count) + ") are outside " + quoted(f_->path) + " (" +
                                        std::to_string(f_->header.numel) + " elements)"};
  if (count == 0) return {};
  if (!dst) return {Errc::invalid_argument, "NpyReader::read_elements: null destination"};
  const FileType ft = file_type_of(f_->header);
  const std::size_t fs = f_->header.file_itemsize;
  const std::uint64_t start = f_->header.data_offset + std::uint64_t(offset) * fs;
  if (!needs_conversion(ft, f_->header.dtype)) {
    TANDEM_TRY(pread_all(f_->fd, dst, std::size_t(count) * fs, start, f_->path));
    if (ft.swap) byteswap_inplace(dst, std::size_t(count), fs);
    return {};
  }
  const std::size_t per_chunk = std::max<std::size_t>(1, kChunkBytes / fs);
  std::unique_ptr<unsigned char[]> scratch(new (std::nothrow) unsigned char[std::min<std::size_t>(std::size_t(count), per_chunk) * fs]);
  if (!scratch) return {Errc::out_of_memory, "NpyReader: out of memory for a read buffer"};
  auto* out = static_cast<unsigned char*>(dst);
  const std::size_t es = dtype_size(f_->header.dtype);
  for (std::int64_t done = 0; done < count;) {
    const std::size_t n = std::min<std::size_t>(per_chunk, std::size_t(count - done));
    TANDEM_TRY(pread_all(f_->fd, scratch.get(), n * fs, start + std::uint64_t(done) * fs, f_->path));
    convert(scratch.get(), n, ft, f_->header.dtype, out + std::size_t(done) * es);
    done += std::int64_t(n);
  }
  return {};
}

// ---------------------------------------------------------------------------

Status NpyWriter::open(const std::string& path, DType dtype, std::span<const std::int64_t> shape,
                       const AtomicWriteOptions& options) {
  file_.abort();
  written_ = 0;
  if (shape.size() > std::size_t(kMaxDims))
    return {Errc::invalid_argument, "NpyWriter: " + quoted(path) + ": at most " + std::to_string(kMaxDims) + " dimensions"};
  open_rows_ = !shape.empty() && shape[0] == -1;
  std::vector<std::int64_t> known(shape.begin(), shape.end());
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0 && !(i == 0 && open_rows_))
      return {Errc::invalid_argument, "NpyWriter: " + quoted(path) + ": negative dimension in the shape"};
  }
  if (open_rows_) known[0] = 1;
  tandem::detail::ShapeExtent whole, row;
  if (!tandem::detail::shape_extent(known, dtype_size(dtype), whole) ||
      !tandem::detail::shape_extent(std::span(known).subspan(known.empty() ? 0 : 1), dtype_size(dtype), row))
    return {Errc::invalid_argument, "NpyWriter: " + quoted(path) + ": shape too large"};
  row_elems_ = row.numel;
  total_ = open_rows_ ? -1 : whole.numel;
  dtype_ = dtype;
  shape_.assign(shape.begin(), shape.end());
  // Reserve room for the widest possible row count when it is filled in at the end.
  const std::string prelude =
      make_prelude(dict_text(dtype, shape, open_rows_ ? std::string(20, '9') : std::string()), 0);
  if (prelude.empty()) return {Errc::invalid_argument, "NpyWriter: header too large"};
  header_size_ = prelude.size();
  TANDEM_TRY(file_.open(path, options));
  Status s = file_.write(prelude.data(), prelude.size());
  if (!s.ok()) file_.abort();
  return s;
}

Status NpyWriter::append(const void* data, std::int64_t count) {
  if (!file_.is_open()) return {Errc::invalid_argument, "NpyWriter::append: no file is open"};
  if (count < 0) return {Errc::invalid_argument, "NpyWriter::append: negative count"};
  if (total_ >= 0 && count > total_ - written_)
    return {Errc::invalid_argument, "NpyWriter::append: " + quoted(file_.path()) + ": more elements than the shape holds"};
  const Status s = file_.write(data, std::size_t(count) * dtype_size(dtype_));
  if (!s.ok()) return s;
  written_ += count;
  return {};
}

Status NpyWriter::append(const View& v) {
  TANDEM_TRY(check_host(v, "NpyWriter::append"));
  if (v.dtype != dtype_)
    return {Errc::invalid_argument, "NpyWriter::append: " + quoted(file_.path()) + " holds " + dtype_name(dtype_) +
                                        ", got " + v.describe()};
  if (v.is_contiguous() || v.ndim == 0) return append(v.data, v.numel());
  // Gather small runs so a strided view does not turn into many tiny writes.
  std::vector<unsigned char> stage;
  const std::size_t es = v.elem_size();
  Status s;
  try {
    stage.reserve(kChunkBytes);
  } catch (const std::bad_alloc&) {
    return {Errc::out_of_memory, "NpyWriter::append: out of memory"};
  }
  auto flush = [&] {
    if (s.ok() && !stage.empty()) s = append(stage.data(), std::int64_t(stage.size() / es));
    stage.clear();
  };
  for_each_run(v, [&](const unsigned char* run, std::size_t n) {
    if (!s.ok()) return;
    if (n >= kChunkBytes) {
      flush();
      if (s.ok()) s = append(run, std::int64_t(n / es));
      return;
    }
    if (stage.size() + n > kChunkBytes) flush();
    stage.insert(stage.end(), run, run + n);
  });
  flush();
  return s;
}

Status NpyWriter::finish() {
  if (!file_.is_open()) return {Errc::invalid_argument, "NpyWriter::finish: no file is open"};
  if (open_rows_) {
    if (row_elems_ > 0 && written_ % row_elems_ != 0) {
      const std::string p = file_.path();
      file_.abort();
      return {Errc::invalid_argument, "NpyWriter::finish: " + quoted(p) + ": " + std::to_string(written_) +
                                          " elements are not a whole number of rows of " + std::to_string(row_elems_)};
    }
    std::vector<std::int64_t> shape = shape_;
    shape[0] = row_elems_ > 0 ? written_ / row_elems_ : 0;
    const std::string prelude = make_prelude(dict_text(dtype_, shape, ""), header_size_);
    if (prelude.size() != header_size_) {
      file_.abort();
      return {Errc::internal, "NpyWriter::finish: header size changed"};
    }
    const Status s = file_.write_at(0, prelude.data(), prelude.size());
    if (!s.ok()) {
      file_.abort();
      return s;
    }
  } else {
    const std::int64_t expected = total_;
    if (written_ != expected) {
      const std::string p = file_.path();
      file_.abort();
      return {Errc::invalid_argument, "NpyWriter::finish: " + quoted(p) + ": wrote " + std::to_string(written_) +
                                          " of " + std::to_string(expected) + " elements"};
    }
  }
  return file_.commit();
}

}  // namespace tandem::io
