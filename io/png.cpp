// PNG through libpng's full API (so 16-bit samples stay raw).
//
// libpng reports errors by longjmp. The functions that call setjmp
// (read_header, read_pixels, write_png) hold only plain C data, and every
// C++ object lives in their callers, so a longjmp never skips a destructor.
#include <png.h>
#include <zlib.h>
#if TANDEM_WITH_ISAL
#include <isa-l/igzip_lib.h>
#endif

#include <algorithm>
#include <bit>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "io/codecs.hpp"

namespace tandem::io::detail {

namespace {

constexpr bool kHostLittle = std::endian::native == std::endian::little;

// ---------------------------------------------------------------------------
// Reading

struct ReadCtx {
  const unsigned char* data;
  std::size_t size;
  std::size_t pos;
  png_structp png;
  png_infop info;
  char error[256];
  // libpng's own allocations (chunk data, row buffers, zlib state; never the
  // pixels, which tandem allocates) above this many bytes fail as out of memory.
  std::size_t alloc_cap;
  // Filled by read_header:
  png_uint_32 width, height;
  int channels, bit_depth;
  std::size_t rowbytes;
  int keep_exif;  // read eXIf chunks instead of skipping them
};

// libpng's message into `error`, in words that say what was checked.
void keep_error(char (&error)[256], png_const_charp msg) {
  const char* m = msg ? msg : "unknown libpng error";
  // zlib's words for a failed Adler-32 check.
  const bool adler = std::strstr(m, "incorrect data check") != nullptr;
  std::snprintf(error, sizeof error, "%s%s", m, adler ? ": the pixel data's Adler-32 checksum does not match" : "");
}

extern "C" void on_error(png_structp png, png_const_charp msg) {
  keep_error(static_cast<ReadCtx*>(png_get_error_ptr(png))->error, msg);
  png_longjmp(png, 1);
}

extern "C" void on_warning(png_structp, png_const_charp) {}  // benign by definition; stay quiet

extern "C" png_voidp capped_malloc(png_structp png, png_alloc_size_t n) {
  const auto* ctx = static_cast<const ReadCtx*>(png_get_mem_ptr(png));
  return n > ctx->alloc_cap ? nullptr : std::malloc(n);
}

extern "C" void capped_free(png_structp, png_voidp p) { std::free(p); }

// Before the header is known, no chunk tandem reads needs more than this
// (PLTE, tRNS and the header are tiny; an ICC profile is a few MB at most).
constexpr std::size_t kHeaderAllocCap = std::size_t(16) << 20;

// Ancillary chunks tandem never uses: skipped unread, whatever length they
// claim (libpng would allocate a tEXt chunk's claimed length to hold it).
// eXIf comes last: it is read when the caller keeps metadata.
constexpr png_byte kSkippedChunks[] = {
    't', 'E', 'X', 't', '\0', 'z', 'T', 'X', 't', '\0', 'i', 'T', 'X', 't', '\0', 's', 'P', 'L', 'T', '\0',
    'h', 'I', 'S', 'T', '\0', 'p', 'C', 'A', 'L', '\0', 's', 'C', 'A', 'L', '\0', 'e', 'X', 'I', 'f', '\0'};
constexpr int kSkippedCount = int(sizeof kSkippedChunks / 5);

extern "C" void on_read(png_structp png, png_bytep out, std::size_t n) {
  auto* ctx = static_cast<ReadCtx*>(png_get_io_ptr(png));
  if (n > ctx->size - ctx->pos) png_error(png, "unexpected end of data (the file is truncated)");
  std::memcpy(out, ctx->data + ctx->pos, n);
  ctx->pos += n;
}

// Reads the chunks before the pixels and sets up the transforms. 0 on success.
[[gnu::noinline]] int read_header(ReadCtx* c) {
  if (setjmp(png_jmpbuf(c->png))) return 1;
  png_set_read_fn(c->png, c, on_read);
  png_set_user_limits(c->png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);  // tandem applies its own limit
  png_set_chunk_malloc_max(c->png, kHeaderAllocCap);
  png_set_keep_unknown_chunks(c->png, PNG_HANDLE_CHUNK_NEVER, kSkippedChunks, kSkippedCount - (c->keep_exif ? 1 : 0));
  png_set_keep_unknown_chunks(c->png, PNG_HANDLE_CHUNK_NEVER, nullptr, 0);  // and every unknown chunk
  png_read_info(c->png, c->info);
  png_uint_32 w = 0, h = 0;
  int depth = 0, color = 0, interlace = 0;
  png_get_IHDR(c->png, c->info, &w, &h, &depth, &color, &interlace, nullptr, nullptr);
  if (color == PNG_COLOR_TYPE_PALETTE) {
    png_set_palette_to_rgb(c->png);
    if (png_get_valid(c->png, c->info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(c->png);
  }
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(c->png);
  // tandem images have 1, 3 or 4 channels: gray+alpha becomes RGBA.
  if (color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(c->png);
  if (depth == 16 && kHostLittle) png_set_swap(c->png);
  png_set_interlace_handling(c->png);
  png_read_update_info(c->png, c->info);
  c->width = png_get_image_width(c->png, c->info);
  c->height = png_get_image_height(c->png, c->info);
  c->channels = png_get_channels(c->png, c->info);
  c->bit_depth = png_get_bit_depth(c->png, c->info);
  c->rowbytes = png_get_rowbytes(c->png, c->info);
  return 0;
}

[[gnu::noinline]] int read_pixels(ReadCtx* c, png_bytepp rows, int read_end) {
  if (setjmp(png_jmpbuf(c->png))) return 1;
  png_read_image(c->png, rows);
  // The end's chunks (an eXIf after the pixels) go into the same info.
  if (read_end) png_read_end(c->png, c->keep_exif ? c->info : nullptr);
  return 0;
}

// ---------------------------------------------------------------------------
// Writing

#if TANDEM_WITH_ISAL
// At level 1 the pixels are compressed by ISA-L's igzip (its level 1) instead
// of libpng's zlib, about 3x faster for files ~7% larger (docs/performance.md);
// libpng still writes everything else (signature, IHDR, iCCP, eXIf, IEND, every
// CRC). Rows take the Sub filter, as libpng's path does at levels 1-3, and go
// to igzip kStripRows at a time, each strip's output an IDAT chunk.
constexpr std::size_t kStripRows = 32;
constexpr std::size_t kIdatBytes = std::size_t(256) << 10;

struct Igzip {
  isal_zstream st;
  std::vector<unsigned char> level_buf, strip, out;
};

// One row filtered with Sub into dst (the filter type byte, then the row),
// 16-bit samples big-endian as PNG stores them.
void sub_filter(const unsigned char* row, std::size_t rowbytes, std::size_t bpp, bool swap16, unsigned char* dst) {
  dst[0] = PNG_FILTER_VALUE_SUB;
  unsigned char* d = dst + 1;
  if (swap16) {
    for (std::size_t i = 0; i + 1 < rowbytes; i += 2) {
      d[i] = row[i + 1];
      d[i + 1] = row[i];
    }
  } else {
    std::memcpy(d, row, rowbytes);
  }
  for (std::size_t i = rowbytes; i-- > bpp;) d[i] = static_cast<unsigned char>(d[i] - d[i - bpp]);
}
#else
struct Igzip {};
#endif

struct WriteCtx {
  std::vector<std::byte>* out;
  const png_byte* icc;
  png_uint_32 icc_len;
  png_bytep exif;
  png_uint_32 exif_len;
  png_structp png;
  png_infop info;
  Igzip* igzip;  // set: the pixels go through igzip
  int out_of_memory;
  char error[256];
};

extern "C" void on_write_error(png_structp png, png_const_charp msg) {
  keep_error(static_cast<WriteCtx*>(png_get_error_ptr(png))->error, msg);
  png_longjmp(png, 1);
}

extern "C" void on_write(png_structp png, png_bytep data, std::size_t n) {
  auto* ctx = static_cast<WriteCtx*>(png_get_io_ptr(png));
  try {
    const auto* p = reinterpret_cast<const std::byte*>(data);
    ctx->out->insert(ctx->out->end(), p, p + n);
  } catch (...) {
    ctx->out_of_memory = 1;
  }
  if (ctx->out_of_memory) png_error(png, "out of memory");
}

extern "C" void on_flush(png_structp) {}

#if TANDEM_WITH_ISAL
// The pixel rows as IDAT chunks, then IEND (png_write_end would look for the
// IDATs libpng wrote itself). Reports failure through png_error.
void write_idat_igzip(WriteCtx* c, png_bytepp rows, png_uint_32 h, std::size_t rowbytes, std::size_t bpp, bool swap16) {
  Igzip* z = c->igzip;
  isal_deflate_init(&z->st);
  z->st.level = 1;
  z->st.level_buf = z->level_buf.data();
  z->st.level_buf_size = std::uint32_t(z->level_buf.size());
  z->st.gzip_flag = IGZIP_ZLIB;
  z->st.flush = NO_FLUSH;
  const std::size_t stride = rowbytes + 1;
  for (png_uint_32 y0 = 0; y0 < h; y0 += png_uint_32(kStripRows)) {
    const std::size_t n = std::min<std::size_t>(kStripRows, h - y0);
    for (std::size_t r = 0; r < n; ++r) sub_filter(rows[y0 + r], rowbytes, bpp, swap16, z->strip.data() + r * stride);
    z->st.next_in = z->strip.data();
    z->st.avail_in = std::uint32_t(n * stride);
    z->st.end_of_stream = y0 + n == h ? 1 : 0;
    for (;;) {
      z->st.next_out = z->out.data();
      z->st.avail_out = std::uint32_t(z->out.size());
      if (isal_deflate(&z->st) != COMP_OK) png_error(c->png, "igzip could not compress the pixels");
      const std::size_t made = z->out.size() - z->st.avail_out;
      if (made) png_write_chunk(c->png, reinterpret_cast<png_const_bytep>("IDAT"), z->out.data(), made);
      const bool done = z->st.end_of_stream ? z->st.internal_state.state == ZSTATE_END : z->st.avail_in == 0;
      if (done && z->st.avail_out != 0) break;
      if (made == 0) png_error(c->png, "igzip made no progress");
    }
  }
  png_write_chunk(c->png, reinterpret_cast<png_const_bytep>("IEND"), nullptr, 0);
}
#endif

[[gnu::noinline]] int write_png(WriteCtx* c, png_uint_32 w, png_uint_32 h, int depth, int color, int level, png_bytepp rows) {
  if (setjmp(png_jmpbuf(c->png))) return 1;
  png_set_write_fn(c->png, c, on_write, on_flush);
  png_set_IHDR(c->png, c->info, w, h, depth, color, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_set_compression_level(c->png, level);
  // A profile libpng finds wrong for the image is left out with a warning,
  // not an error that would lose the image.
  png_set_benign_errors(c->png, 1);
  if (c->icc_len) png_set_iCCP(c->png, c->info, "ICC profile", PNG_COMPRESSION_TYPE_BASE, c->icc, c->icc_len);
  if (c->exif_len) png_set_eXIf_1(c->png, c->info, c->exif_len, c->exif);
  // At the fast levels the adaptive filter search costs more than it saves;
  // the Sub filter with run-length matching is about twice as fast and, on
  // photos, as small (OpenCV's default PNG settings). Stored data needs no filter.
  if (level == 0) {
    png_set_filter(c->png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
  } else if (level <= 3) {
    png_set_filter(c->png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB);
    png_set_compression_strategy(c->png, Z_RLE);
  }
  png_write_info(c->png, c->info);
#if TANDEM_WITH_ISAL
  if (c->igzip) {
    const std::size_t bpp = std::size_t(png_get_channels(c->png, c->info)) * std::size_t(depth / 8);
    write_idat_igzip(c, rows, h, std::size_t(w) * bpp, bpp, depth == 16 && kHostLittle);
    return 0;
  }
#endif
  if (depth == 16 && kHostLittle) png_set_swap(c->png);
  png_write_image(c->png, rows);
  png_write_end(c->png, nullptr);
  return 0;
}

// The iCCP and eXIf chunks libpng read into `info`.
void keep_chunks(png_structp png, png_infop info, Metadata& meta) {
  png_charp icc_name = nullptr;
  int compression = 0;
  png_bytep icc = nullptr;
  png_uint_32 icc_len = 0;
  if (png_get_iCCP(png, info, &icc_name, &compression, &icc, &icc_len) && icc && meta.icc.empty())
    keep_metadata({reinterpret_cast<const std::byte*>(icc), icc_len}, "ICC profile", meta.icc, meta);
  png_bytep exif = nullptr;
  png_uint_32 exif_len = 0;
  if (png_get_eXIf_1(png, info, &exif_len, &exif) && exif && meta.exif.empty())
    keep_metadata({reinterpret_cast<const std::byte*>(exif), exif_len}, "EXIF", meta.exif, meta);
}

}  // namespace

Status png_decode(std::span<const std::byte> bytes, std::string_view name, bool strict, bool header_only,
                  const DstFn& get_dst, Metadata* meta) {
  ReadCtx ctx{};
  ctx.data = reinterpret_cast<const unsigned char*>(bytes.data());
  ctx.size = bytes.size();
  ctx.alloc_cap = kHeaderAllocCap;
  ctx.keep_exif = meta ? 1 : 0;
  ctx.png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, &ctx, on_error, on_warning, &ctx, capped_malloc,
                                     capped_free);
  if (!ctx.png) return {Errc::out_of_memory, quoted(name) + ": cannot create a PNG decoder"};
  ctx.info = png_create_info_struct(ctx.png);
  struct Cleanup {
    ReadCtx& c;
    ~Cleanup() { png_destroy_read_struct(&c.png, c.info ? &c.info : nullptr, nullptr); }
  } cleanup{ctx};
  if (!ctx.info) return {Errc::out_of_memory, quoted(name) + ": cannot create a PNG decoder"};
  auto failed = [&](const char* stage) {
    return Status{Errc::format_error, quoted(name) + ": corrupt PNG (" + std::string(ctx.error) + ") while " + stage};
  };
  if (read_header(&ctx) != 0) return failed("reading the header");
  ImageHeader h;
  h.height = ctx.height;
  h.width = ctx.width;
  h.channels = ctx.channels;
  h.dtype = ctx.bit_depth == 16 ? DType::u16 : DType::u8;
  if ((ctx.channels != 1 && ctx.channels != 3 && ctx.channels != 4) || (ctx.bit_depth != 8 && ctx.bit_depth != 16) ||
      ctx.rowbytes != std::size_t(h.width * h.channels) * dtype_size(h.dtype))
    return {Errc::internal, quoted(name) + ": unexpected PNG layout after transforms (" +
                                std::to_string(ctx.channels) + " channels, " + std::to_string(ctx.bit_depth) + " bits)"};
  View dst;
  TANDEM_TRY(get_dst(h, dst));
  if (header_only) {
    if (meta) keep_chunks(ctx.png, ctx.info, *meta);  // those before the pixels
    return {};
  }
  // Decoding needs a few rows of scratch (the filter's previous row, interlace
  // passes) besides the pixels: libpng may allocate in proportion to one row.
  ctx.alloc_cap = kHeaderAllocCap + 4 * (ctx.rowbytes + 64);
  std::vector<png_bytep> rows;
  try {
    rows.resize(std::size_t(h.height));
  } catch (const std::bad_alloc&) {
    return {Errc::out_of_memory, quoted(name) + ": out of memory for PNG row pointers"};
  }
  for (std::int64_t y = 0; y < h.height; ++y) rows[std::size_t(y)] = dst.row<png_byte>(y);
  if (read_pixels(&ctx, rows.data(), strict ? 1 : 0) != 0) return failed("reading the pixels");
  if (meta) keep_chunks(ctx.png, ctx.info, *meta);
  return {};
}

Status png_encode(const View& img, int level, const Metadata& meta, std::vector<std::byte>& out) {
  const std::int64_t c = img.channels();
  const int color = c == 1 ? PNG_COLOR_TYPE_GRAY : c == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGB_ALPHA;
  const int depth = img.dtype == DType::u16 ? 16 : 8;
  std::vector<png_bytep> rows;
  try {
    rows.resize(std::size_t(img.height()));
    out.clear();
    out.reserve(std::size_t(img.height() * img.width() * c) * img.elem_size() / 2 + 1024);
  } catch (const std::bad_alloc&) {
    return {Errc::out_of_memory, "PNG encoder: out of memory"};
  }
  for (std::int64_t y = 0; y < img.height(); ++y) rows[std::size_t(y)] = img.row<png_byte>(y);
  WriteCtx ctx{};
  ctx.out = &out;
  // libpng copies both blocks; it takes the EXIF by a non-const pointer only.
  ctx.icc = reinterpret_cast<const png_byte*>(meta.icc.data());
  ctx.icc_len = png_uint_32(meta.icc.size());
  ctx.exif = const_cast<png_bytep>(reinterpret_cast<const png_byte*>(meta.exif.data()));
  ctx.exif_len = png_uint_32(meta.exif.size());
#if TANDEM_WITH_ISAL
  // A strip must fit igzip's 32-bit input count; wider images take zlib.
  const std::size_t rowbytes = std::size_t(img.width() * c) * img.elem_size();
  std::unique_ptr<Igzip> igzip;
  if (level == 1 && (rowbytes + 1) * kStripRows < (std::size_t(1) << 31)) {
    igzip.reset(new (std::nothrow) Igzip);
    if (!igzip) return {Errc::out_of_memory, "PNG encoder: out of memory"};
    try {
      igzip->level_buf.resize(ISAL_DEF_LVL1_DEFAULT);
      igzip->strip.resize((rowbytes + 1) * std::min<std::size_t>(kStripRows, std::size_t(img.height())));
      igzip->out.resize(kIdatBytes);
    } catch (const std::bad_alloc&) {
      return {Errc::out_of_memory, "PNG encoder: out of memory"};
    }
    ctx.igzip = igzip.get();
  }
#endif
  ctx.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, on_write_error, on_warning);
  if (!ctx.png) return {Errc::out_of_memory, "cannot create a PNG encoder"};
  ctx.info = png_create_info_struct(ctx.png);
  struct Cleanup {
    WriteCtx& c;
    ~Cleanup() { png_destroy_write_struct(&c.png, c.info ? &c.info : nullptr); }
  } cleanup{ctx};
  if (!ctx.info) return {Errc::out_of_memory, "cannot create a PNG encoder"};
  if (write_png(&ctx, png_uint_32(img.width()), png_uint_32(img.height()), depth, color, level, rows.data()) != 0) {
    out.clear();
    return {ctx.out_of_memory ? Errc::out_of_memory : Errc::internal, "PNG encoder: " + std::string(ctx.error)};
  }
  return {};
}

}  // namespace tandem::io::detail
