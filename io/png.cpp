// PNG through libpng's full API (so 16-bit samples stay raw).
//
// libpng reports errors by longjmp. The functions that call setjmp
// (read_header, read_pixels, write_png) hold only plain C data, and every
// C++ object lives in their callers, so a longjmp never skips a destructor.
#include <png.h>
#include <zlib.h>

#include <bit>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

struct WriteCtx {
  std::vector<std::byte>* out;
  const png_byte* icc;
  png_uint_32 icc_len;
  png_bytep exif;
  png_uint_32 exif_len;
  png_structp png;
  png_infop info;
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
  ctx.keep_exif = meta && !header_only ? 1 : 0;
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
  if (header_only) return {};
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
