// JPEG through libjpeg-turbo's libjpeg API.
//
// libjpeg reports errors through error_exit, which must not return: it
// longjmps back into the function that called setjmp (read_header,
// read_pixels, write_jpeg). Those hold only plain C data; every C++ object
// lives in their callers, so a longjmp never skips a destructor. In strict
// mode warnings about corrupt data ("Premature end of JPEG file", "Corrupt
// JPEG data: ...") longjmp too, so a damaged file is an error and not a
// partly grey image.
#include <cstdio>  // jpeglib.h needs FILE
#include <csetjmp>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include <jpeglib.h>
#include <jerror.h>

#include "io/codecs.hpp"

namespace tandem::io::detail {

namespace {

// A progressive JPEG may hold a huge number of tiny scans that cost a full
// pass each; real files have at most a few dozen.
constexpr int kMaxScans = 1000;

struct ErrorMgr {
  jpeg_error_mgr pub;  // first: libjpeg sees a jpeg_error_mgr*
  std::jmp_buf jump;
  int strict;
  char message[JMSG_LENGTH_MAX + 64];
};

extern "C" void on_error_exit(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorMgr*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

extern "C" void on_emit_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;  // trace messages
  auto* err = reinterpret_cast<ErrorMgr*>(cinfo->err);
  const int code = cinfo->err->msg_code;
  // Warnings about metadata only leave the pixels intact.
  const bool benign = code == JWRN_JFIF_MAJOR || code == JWRN_BOGUS_ICC;
  cinfo->err->num_warnings++;
  if (err->strict && !benign) {
    (*cinfo->err->format_message)(cinfo, err->message);
    std::longjmp(err->jump, 1);
  }
}

extern "C" void on_output_message(j_common_ptr) {}  // never print to stderr

void init_errors(ErrorMgr* err, int strict) {
  jpeg_std_error(&err->pub);
  err->pub.error_exit = on_error_exit;
  err->pub.emit_message = on_emit_message;
  err->pub.output_message = on_output_message;
  err->strict = strict;
  err->message[0] = '\0';
}

// ---------------------------------------------------------------------------
// Reading

struct ReadCtx {
  jpeg_decompress_struct cinfo;
  ErrorMgr err;
  jpeg_progress_mgr progress;
  int created;
  int cmyk;
};

extern "C" void on_progress(j_common_ptr cinfo) {
  if (!cinfo->is_decompressor) return;
  auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->input_scan_number > kMaxScans) {
    auto* err = reinterpret_cast<ErrorMgr*>(cinfo->err);
    std::snprintf(err->message, sizeof err->message, "more than %d progressive scans", kMaxScans);
    std::longjmp(err->jump, 1);
  }
}

[[gnu::noinline]] int read_header(ReadCtx* c, const unsigned char* data, unsigned long size) {
  c->cinfo.err = &c->err.pub;
  if (setjmp(c->err.jump)) return 1;
  jpeg_create_decompress(&c->cinfo);
  c->created = 1;
  c->progress.progress_monitor = on_progress;
  c->cinfo.progress = &c->progress;
  jpeg_mem_src(&c->cinfo, data, size);
  jpeg_read_header(&c->cinfo, TRUE);
  if (c->cinfo.jpeg_color_space == JCS_CMYK || c->cinfo.jpeg_color_space == JCS_YCCK) {
    c->cmyk = 1;
    return 0;
  }
  c->cinfo.out_color_space = c->cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_calc_output_dimensions(&c->cinfo);
  return 0;
}

// Returns 0 on success, 1 on a libjpeg error, 2 when the decoder stalls.
[[gnu::noinline]] int read_pixels(ReadCtx* c, unsigned char* base, std::size_t stride) {
  if (setjmp(c->err.jump)) return 1;
  jpeg_start_decompress(&c->cinfo);
  while (c->cinfo.output_scanline < c->cinfo.output_height) {
    JSAMPROW row = base + std::size_t(c->cinfo.output_scanline) * stride;
    if (jpeg_read_scanlines(&c->cinfo, &row, 1) != 1) return 2;
  }
  jpeg_finish_decompress(&c->cinfo);
  return 0;
}

// ---------------------------------------------------------------------------
// Writing

struct WriteCtx {
  jpeg_compress_struct cinfo;
  ErrorMgr err;
  unsigned char* buffer;  // malloc'ed by libjpeg's memory destination
  unsigned long size;
  int created;
};

[[gnu::noinline]] int write_jpeg(WriteCtx* c, const unsigned char* base, std::size_t stride, unsigned w, unsigned h,
                                 int channels, int quality) {
  c->cinfo.err = &c->err.pub;
  if (setjmp(c->err.jump)) return 1;
  jpeg_create_compress(&c->cinfo);
  c->created = 1;
  jpeg_mem_dest(&c->cinfo, &c->buffer, &c->size);
  c->cinfo.image_width = w;
  c->cinfo.image_height = h;
  c->cinfo.input_components = channels;
  c->cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&c->cinfo);
  jpeg_set_quality(&c->cinfo, quality, TRUE);
  jpeg_start_compress(&c->cinfo, TRUE);
  while (c->cinfo.next_scanline < c->cinfo.image_height) {
    JSAMPROW row = const_cast<unsigned char*>(base) + std::size_t(c->cinfo.next_scanline) * stride;
    jpeg_write_scanlines(&c->cinfo, &row, 1);
  }
  jpeg_finish_compress(&c->cinfo);
  return 0;
}

}  // namespace

Status jpeg_decode(std::span<const std::byte> bytes, std::string_view name, bool strict, bool header_only,
                   const DstFn& get_dst) {
  auto ctx = std::unique_ptr<ReadCtx>(new (std::nothrow) ReadCtx{});
  if (!ctx) return {Errc::out_of_memory, quoted(name) + ": cannot create a JPEG decoder"};
  init_errors(&ctx->err, strict ? 1 : 0);
  struct Cleanup {
    ReadCtx& c;
    ~Cleanup() {
      if (c.created) jpeg_destroy_decompress(&c.cinfo);
    }
  } cleanup{*ctx};
  auto failed = [&](const char* stage) {
    return Status{Errc::format_error, quoted(name) + ": corrupt JPEG (" + std::string(ctx->err.message) + ") while " + stage};
  };
  if (read_header(ctx.get(), reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size())) != 0)
    return failed("reading the header");
  if (ctx->cmyk)
    return {Errc::unsupported, quoted(name) + ": CMYK/YCCK JPEGs are not supported (tandem decodes gray and RGB JPEGs)"};
  ImageHeader h;
  h.dtype = DType::u8;
  h.height = ctx->cinfo.output_height;
  h.width = ctx->cinfo.output_width;
  h.channels = ctx->cinfo.output_components;
  if (h.channels != 1 && h.channels != 3)
    return {Errc::unsupported, quoted(name) + ": JPEG with " + std::to_string(h.channels) + " output components"};
  View dst;
  TANDEM_TRY(get_dst(h, dst));
  if (header_only) return {};
  const int rc = read_pixels(ctx.get(), static_cast<unsigned char*>(dst.data), std::size_t(dst.row_stride()));
  if (rc == 1) return failed("decoding the pixels");
  if (rc == 2) return {Errc::format_error, quoted(name) + ": corrupt JPEG (the decoder stopped early)"};
  return {};
}

Status jpeg_encode(const View& img, int quality, std::vector<std::byte>& out) {
  auto ctx = std::unique_ptr<WriteCtx>(new (std::nothrow) WriteCtx{});
  if (!ctx) return {Errc::out_of_memory, "cannot create a JPEG encoder"};
  init_errors(&ctx->err, 1);
  struct Cleanup {
    WriteCtx& c;
    ~Cleanup() {
      if (c.created) jpeg_destroy_compress(&c.cinfo);
      std::free(c.buffer);
    }
  } cleanup{*ctx};
  if (write_jpeg(ctx.get(), static_cast<const unsigned char*>(img.data), std::size_t(img.row_stride()),
                 unsigned(img.width()), unsigned(img.height()), int(img.channels()), quality) != 0)
    return {Errc::internal, "JPEG encoder: " + std::string(ctx->err.message)};
  try {
    const auto* p = reinterpret_cast<const std::byte*>(ctx->buffer);
    out.assign(p, p + ctx->size);
  } catch (const std::bad_alloc&) {
    out.clear();
    return {Errc::out_of_memory, "JPEG encoder: out of memory"};
  }
  return {};
}

}  // namespace tandem::io::detail
