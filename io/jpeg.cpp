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
#include <utility>
#include <vector>

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

[[gnu::noinline]] int read_header(ReadCtx* c, const unsigned char* data, unsigned long size, int want_icc) {
  c->cinfo.err = &c->err.pub;
  if (setjmp(c->err.jump)) return 1;
  jpeg_create_decompress(&c->cinfo);
  c->created = 1;
  c->progress.progress_monitor = on_progress;
  c->cinfo.progress = &c->progress;
  jpeg_mem_src(&c->cinfo, data, size);
  jpeg_save_markers(&c->cinfo, JPEG_APP0 + 1, 0xffff);  // APP1: EXIF (its orientation)
  if (want_icc) jpeg_save_markers(&c->cinfo, JPEG_APP0 + 2, 0xffff);  // APP2: ICC profile
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

// The metadata segments to write: APP1 (whole, "Exif\0\0" included) and the ICC profile.
struct Markers {
  const unsigned char* app1;
  unsigned app1_len;
  const unsigned char* icc;
  unsigned icc_len;
};

[[gnu::noinline]] int write_jpeg(WriteCtx* c, const unsigned char* base, std::size_t stride, unsigned w, unsigned h,
                                 int channels, int quality, const Markers* markers) {
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
  if (markers->app1_len) jpeg_write_marker(&c->cinfo, JPEG_APP0 + 1, markers->app1, markers->app1_len);
  if (markers->icc_len) jpeg_write_icc_profile(&c->cinfo, markers->icc, markers->icc_len);
  while (c->cinfo.next_scanline < c->cinfo.image_height) {
    JSAMPROW row = const_cast<unsigned char*>(base) + std::size_t(c->cinfo.next_scanline) * stride;
    jpeg_write_scanlines(&c->cinfo, &row, 1);
  }
  jpeg_finish_compress(&c->cinfo);
  return 0;
}

// The EXIF block of the first APP1 "Exif\0\0" segment (a TIFF structure), empty if none.
std::span<const std::byte> exif_block(const jpeg_decompress_struct& cinfo) {
  for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next)
    if (m->marker == JPEG_APP0 + 1 && m->data_length >= 14 && std::memcmp(m->data, "Exif\0\0", 6) == 0)
      return {reinterpret_cast<const std::byte*>(m->data) + 6, std::size_t(m->data_length) - 6};
  return {};
}

// The ICC profile of the saved APP2 segments, joined by libjpeg-turbo (which
// mallocs it, or reports running out of memory through error_exit). A bad
// segment sequence is only a warning (JWRN_BOGUS_ICC, benign): no profile.
[[gnu::noinline]] int read_icc(ReadCtx* c, JOCTET** icc, unsigned int* len) {
  if (setjmp(c->err.jump)) return 1;
  return jpeg_read_icc_profile(&c->cinfo, icc, len) ? 0 : 1;
}

void keep_icc(ReadCtx* c, Metadata& meta) {
  JOCTET* icc = nullptr;
  unsigned int len = 0;
  if (read_icc(c, &icc, &len) == 0 && icc)
    keep_metadata({reinterpret_cast<const std::byte*>(icc), len}, "ICC profile", meta.icc, meta);
  std::free(icc);
}

}  // namespace

Status jpeg_decode(std::span<const std::byte> bytes, std::string_view name, bool strict, bool header_only,
                   const DstFn& get_dst, bool apply_orientation, Metadata* meta) {
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
  if (read_header(ctx.get(), reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()),
                  meta ? 1 : 0) != 0)
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
  const int o = apply_orientation ? exif_orientation(exif_block(ctx->cinfo)) : 1;
  if (o >= 5) std::swap(h.height, h.width);
  View dst;
  TANDEM_TRY(get_dst(h, dst));
  // Copied now: finishing the decompression frees the saved markers.
  if (meta) {
    keep_icc(ctx.get(), *meta);
    keep_metadata(exif_block(ctx->cinfo), "EXIF", meta->exif, *meta);
    // The pixels will be upright: a viewer must not turn them again.
    if (o != 1) exif_edit(meta->exif, {.orientation = 1});
  }
  if (header_only) return {};
  // Oriented: decoded into scratch rows first, then moved into place.
  std::vector<unsigned char> raw;
  const std::size_t raw_stride = std::size_t(ctx->cinfo.output_width) * std::size_t(h.channels);
  if (o != 1) {
    try {
      raw.resize(raw_stride * ctx->cinfo.output_height);
    } catch (const std::bad_alloc&) {
      return {Errc::out_of_memory, quoted(name) + ": out of memory to orient the JPEG"};
    }
  }
  const int rc = o == 1 ? read_pixels(ctx.get(), static_cast<unsigned char*>(dst.data), std::size_t(dst.row_stride()))
                        : read_pixels(ctx.get(), raw.data(), raw_stride);
  if (rc == 1) return failed("decoding the pixels");
  if (rc == 2) return {Errc::format_error, quoted(name) + ": corrupt JPEG (the decoder stopped early)"};
  if (o != 1)
    orient_pixels(raw.data(), raw_stride, ctx->cinfo.output_height, ctx->cinfo.output_width, std::size_t(h.channels), o, dst);
  return {};
}

Status jpeg_encode(const View& img, int quality, const Metadata& meta, std::vector<std::byte>& out) {
  std::vector<unsigned char> app1;
  if (!meta.exif.empty() && meta.exif.size() <= kMaxJpegExifBytes) {
    try {
      app1.assign({'E', 'x', 'i', 'f', 0, 0});
      const auto* e = reinterpret_cast<const unsigned char*>(meta.exif.data());
      app1.insert(app1.end(), e, e + meta.exif.size());
    } catch (const std::bad_alloc&) {
      return {Errc::out_of_memory, "JPEG encoder: out of memory"};
    }
  }
  const Markers markers{app1.data(), unsigned(app1.size()), reinterpret_cast<const unsigned char*>(meta.icc.data()),
                        unsigned(meta.icc.size())};
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
                 unsigned(img.width()), unsigned(img.height()), int(img.channels()), quality, &markers) != 0)
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
