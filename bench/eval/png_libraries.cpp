// Standalone comparison of the PNG and deflate libraries Debian 12 ships, on
// the batch job's kind of data (the evaluations recorded in docs/performance.md:
// "PNG codecs" in the second session, and "PNG and JPEG codecs" of 2026-12-06,
// after which tandem writes level-1 pixels through ISA-L's igzip and keeps
// libpng for the rest). Not part of the build: it needs
// libspng-dev and libdeflate-dev besides tandem's own packages.
//
//   g++ -O2 -std=c++20 bench/eval/png_libraries.cpp -o png_libraries -lspng -lpng -llodepng -ldeflate -lisal -lz
//   ./png_libraries --decode photos/*.png --encode sobel_outputs/*.png
//
// Decode inputs: any 8-bit RGB PNGs. Encode inputs: 8-bit RGB PNGs whose
// pixels are re-encoded (e.g. `tandem run -p "gaussian sigma=2 | sobel"`
// outputs). Times are the thread's CPU time, best of 5, per image.
#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <lodepng.h>
#include <png.h>
#include <spng.h>
#include <zlib.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

namespace {

using Bytes = std::vector<unsigned char>;

double cpu_ms() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e3 + double(ts.tv_nsec) * 1e-6;
}

double best_of(int reps, const std::function<void()>& f) {
  double b = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double t = cpu_ms();
    f();
    b = std::min(b, cpu_ms() - t);
  }
  return b;
}

Bytes slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

// ---- libpng (tandem's settings before lodepng)

struct Reader {
  const Bytes* in;
  std::size_t pos;
};
void read_fn(png_structp p, png_bytep out, std::size_t n) {
  auto* r = static_cast<Reader*>(png_get_io_ptr(p));
  if (n > r->in->size() - r->pos) png_error(p, "truncated");
  std::memcpy(out, r->in->data() + r->pos, n);
  r->pos += n;
}

void quiet(png_structp, png_const_charp) {}

bool libpng_decode(const Bytes& file, Bytes& img, bool ignore_adler) {
  png_structp p = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, quiet);
  png_infop info = png_create_info_struct(p);
  Reader r{&file, 0};
  std::vector<png_bytep> rows;
  if (setjmp(png_jmpbuf(p))) {
    png_destroy_read_struct(&p, &info, nullptr);
    return false;
  }
  png_set_read_fn(p, &r, read_fn);
  if (ignore_adler) png_set_option(p, PNG_IGNORE_ADLER32, PNG_OPTION_ON);
  png_read_info(p, info);
  png_set_interlace_handling(p);
  png_read_update_info(p, info);
  const std::size_t rb = png_get_rowbytes(p, info), h = png_get_image_height(p, info);
  img.resize(rb * h);
  rows.resize(h);
  for (std::size_t y = 0; y < h; ++y) rows[y] = img.data() + y * rb;
  png_read_image(p, rows.data());
  png_read_end(p, nullptr);
  png_destroy_read_struct(&p, &info, nullptr);
  return true;
}

void write_fn(png_structp p, png_bytep d, std::size_t n) {
  auto* out = static_cast<Bytes*>(png_get_io_ptr(p));
  out->insert(out->end(), d, d + n);
}
void flush_fn(png_structp) {}

// opencv_batch: level 1 with libpng's default filters and strategy, what
// cv2.imwrite(..., [IMWRITE_PNG_COMPRESSION, 1]) asks for; otherwise Sub + Z_RLE.
bool libpng_encode(const Bytes& img, unsigned w, unsigned h, Bytes& out, bool opencv_batch) {
  out.clear();
  png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(p);
  std::vector<png_bytep> rows(h);
  if (setjmp(png_jmpbuf(p))) {
    png_destroy_write_struct(&p, &info);
    return false;
  }
  png_set_write_fn(p, &out, write_fn, flush_fn);
  png_set_IHDR(p, info, w, h, 8, PNG_COLOR_TYPE_RGB, 0, 0, 0);
  png_set_compression_level(p, 1);
  if (!opencv_batch) {
    png_set_filter(p, 0, PNG_FILTER_SUB);
    png_set_compression_strategy(p, Z_RLE);
  }
  png_write_info(p, info);
  for (unsigned y = 0; y < h; ++y) rows[y] = const_cast<png_bytep>(img.data()) + std::size_t(y) * w * 3;
  png_write_image(p, rows.data());
  png_write_end(p, nullptr);
  png_destroy_write_struct(&p, &info);
  return true;
}

// ---- libspng (zlib underneath, no hook for another)

bool spng_decode_rgb(const Bytes& file, Bytes& img, bool ignore_adler) {
  spng_ctx* c = spng_ctx_new(ignore_adler ? SPNG_CTX_IGNORE_ADLER32 : 0);
  spng_set_png_buffer(c, file.data(), file.size());
  std::size_t n = 0;
  bool ok = spng_decoded_image_size(c, SPNG_FMT_PNG, &n) == 0;
  if (ok) {
    img.resize(n);
    ok = spng_decode_image(c, img.data(), n, SPNG_FMT_PNG, 0) == 0;
  }
  spng_ctx_free(c);
  return ok;
}

bool spng_encode_rgb(const Bytes& img, unsigned w, unsigned h, Bytes& out) {
  spng_ctx* c = spng_ctx_new(SPNG_CTX_ENCODER);
  spng_set_option(c, SPNG_ENCODE_TO_BUFFER, 1);
  spng_set_option(c, SPNG_IMG_COMPRESSION_LEVEL, 1);
  spng_set_option(c, SPNG_FILTER_CHOICE, SPNG_FILTER_CHOICE_SUB);
  spng_set_option(c, SPNG_IMG_COMPRESSION_STRATEGY, Z_RLE);
  spng_ihdr ih{w, h, 8, SPNG_COLOR_TYPE_TRUECOLOR, 0, 0, 0};
  spng_set_ihdr(c, &ih);
  bool ok = spng_encode_image(c, img.data(), img.size(), SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE) == 0;
  if (ok) {
    std::size_t n = 0;
    int err = 0;
    auto* buf = static_cast<unsigned char*>(spng_get_png_buffer(c, &n, &err));
    out.assign(buf, buf + n);
    std::free(buf);
  }
  spng_ctx_free(c);
  return ok;
}

// ---- lodepng with a custom zlib: libdeflate or ISA-L

enum class Z { libdeflate, isal };

struct ZCtx {
  Z which;
  std::size_t expect;
};

unsigned inflate_cb(unsigned char** out, std::size_t* outsize, const unsigned char* in, std::size_t insize,
                    const LodePNGDecompressSettings* s) {
  const auto* c = static_cast<const ZCtx*>(s->custom_context);
  const std::size_t cap = (s->max_output_size ? std::min<std::size_t>(s->max_output_size, insize * 8 + 4096) : c->expect) + 1;
  auto* buf = static_cast<unsigned char*>(std::malloc(cap));
  std::size_t n = 0;
  bool ok = false;
  if (c->which == Z::libdeflate) {
    libdeflate_decompressor* d = libdeflate_alloc_decompressor();
    ok = libdeflate_zlib_decompress(d, in, insize, buf, cap, &n) == LIBDEFLATE_SUCCESS;
    libdeflate_free_decompressor(d);
  } else {
    auto* st = static_cast<inflate_state*>(std::malloc(sizeof(inflate_state)));
    isal_inflate_init(st);
    st->crc_flag = ISAL_ZLIB;
    st->next_in = const_cast<unsigned char*>(in);
    st->avail_in = std::uint32_t(insize);
    st->next_out = buf;
    st->avail_out = std::uint32_t(cap);
    ok = isal_inflate(st) == ISAL_DECOMP_OK && st->block_state == ISAL_BLOCK_FINISH;
    n = st->total_out;
    std::free(st);
  }
  if (!ok) return std::free(buf), 1;
  *out = buf;
  *outsize = n;
  return 0;
}

bool lodepng_decode_rgb(const Bytes& file, Bytes& img, Z which, bool crc) {
  LodePNGState st;
  lodepng_state_init(&st);
  unsigned w = 0, h = 0;
  ZCtx c{which, 0};
  bool ok = lodepng_inspect(&w, &h, &st, file.data(), file.size()) == 0;
  if (ok) {
    c.expect = std::size_t(h) * (1 + (std::size_t(w) * lodepng_get_bpp(&st.info_png.color) + 7) / 8);
    st.decoder.zlibsettings.custom_zlib = inflate_cb;
    st.decoder.zlibsettings.custom_context = &c;
    st.decoder.color_convert = 0;
    st.decoder.ignore_crc = crc ? 0 : 1;
    st.decoder.read_text_chunks = 0;
    unsigned char* out = nullptr;
    ok = lodepng_decode(&out, &w, &h, &st, file.data(), file.size()) == 0;
    if (ok) img.assign(out, out + lodepng_get_raw_size(w, h, &st.info_png.color));
    std::free(out);
  }
  lodepng_state_cleanup(&st);
  return ok;
}

unsigned deflate_cb(unsigned char** out, std::size_t* outsize, const unsigned char* in, std::size_t insize,
                    const LodePNGCompressSettings* s) {
  const auto* c = static_cast<const ZCtx*>(s->custom_context);
  const std::size_t cap = insize + insize / 16 + 1024;
  auto* buf = static_cast<unsigned char*>(std::malloc(cap));
  if (c->which == Z::libdeflate) {
    libdeflate_compressor* d = libdeflate_alloc_compressor(1);
    *outsize = libdeflate_zlib_compress(d, in, insize, buf, cap);
    libdeflate_free_compressor(d);
  } else {
    struct Mem {
      isal_zstream st;
      unsigned char level_buf[ISAL_DEF_LVL1_DEFAULT];
    };
    auto* m = static_cast<Mem*>(std::malloc(sizeof(Mem)));
    isal_deflate_init(&m->st);
    m->st.gzip_flag = IGZIP_ZLIB;
    m->st.level = 1;
    m->st.level_buf = m->level_buf;
    m->st.level_buf_size = sizeof m->level_buf;
    m->st.end_of_stream = 1;
    m->st.next_in = const_cast<unsigned char*>(in);
    m->st.avail_in = std::uint32_t(insize);
    m->st.next_out = buf;
    m->st.avail_out = std::uint32_t(cap);
    *outsize = isal_deflate(&m->st) == COMP_OK && m->st.avail_in == 0 ? m->st.total_out : 0;
    std::free(m);
  }
  if (*outsize == 0) return std::free(buf), 1;
  *out = buf;
  return 0;
}

bool lodepng_encode_rgb(const Bytes& img, unsigned w, unsigned h, Bytes& out, Z which) {
  LodePNGState st;
  lodepng_state_init(&st);
  ZCtx c{which, 0};
  st.info_raw.colortype = st.info_png.color.colortype = LCT_RGB;
  st.info_raw.bitdepth = st.info_png.color.bitdepth = 8;
  st.encoder.auto_convert = 0;
  const Bytes filters(h, 1);  // Sub
  st.encoder.filter_strategy = LFS_PREDEFINED;
  st.encoder.predefined_filters = filters.data();
  st.encoder.zlibsettings.custom_zlib = deflate_cb;
  st.encoder.zlibsettings.custom_context = &c;
  unsigned char* buf = nullptr;
  std::size_t n = 0;
  const bool ok = lodepng_encode(&buf, &n, img.data(), w, h, &st) == 0;
  if (ok) out.assign(buf, buf + n);
  std::free(buf);
  lodepng_state_cleanup(&st);
  return ok;
}

// ---- the deflate layers alone

Bytes idat_stream(const Bytes& file) {
  Bytes z;
  for (std::size_t p = 8; p + 12 <= file.size();) {
    const std::size_t n = std::size_t(file[p]) << 24 | std::size_t(file[p + 1]) << 16 | std::size_t(file[p + 2]) << 8 | file[p + 3];
    if (std::memcmp(&file[p + 4], "IDAT", 4) == 0) z.insert(z.end(), file.begin() + std::ptrdiff_t(p + 8), file.begin() + std::ptrdiff_t(p + 8 + n));
    p += 12 + n;
  }
  return z;
}

Bytes sub_filtered(const Bytes& img, unsigned w, unsigned h) {
  const std::size_t rb = std::size_t(w) * 3;
  Bytes raw((rb + 1) * h);
  for (std::size_t y = 0; y < h; ++y) {
    unsigned char* r = &raw[y * (rb + 1)];
    const unsigned char* s = img.data() + y * rb;
    r[0] = 1;
    for (std::size_t x = 0; x < rb; ++x) r[1 + x] = static_cast<unsigned char>(s[x] - (x >= 3 ? s[x - 3] : 0));
  }
  return raw;
}

struct Row {
  const char* name;
  double ms = 0;
  double bytes = 0;
  int n = 0;
};

void add(Row& r, double ms, std::size_t bytes = 0) {
  r.ms += ms;
  r.bytes += double(bytes);
  ++r.n;
}

void print(const char* title, const std::vector<Row>& rows) {
  std::printf("%s\n", title);
  for (const Row& r : rows)
    if (r.n) {
      if (r.bytes > 0) std::printf("  %-44s %8.2f ms %10.0f bytes\n", r.name, r.ms / r.n, r.bytes / r.n);
      else std::printf("  %-44s %8.2f ms\n", r.name, r.ms / r.n);
    }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> dec, enc;
  std::vector<std::string>* to = &dec;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--decode") to = &dec;
    else if (a == "--encode") to = &enc;
    else to->push_back(a);
  }
  const int reps = 5;
  std::vector<Row> d = {{"libpng (tandem before)"}, {"libpng, PNG_IGNORE_ADLER32"}, {"libspng"},
                        {"libspng, SPNG_CTX_IGNORE_ADLER32"}, {"lodepng + libdeflate, lodepng's CRC"},
                        {"lodepng + libdeflate, CRC off"}, {"lodepng + ISA-L, lodepng's CRC"}, {"lodepng + ISA-L, CRC off"},
                        {"inflate alone: zlib"}, {"inflate alone: libdeflate"}, {"inflate alone: ISA-L"}};
  for (const auto& path : dec) {
    const Bytes file = slurp(path);
    Bytes ref, img;
    if (!libpng_decode(file, ref, false)) {
      std::fprintf(stderr, "%s: libpng cannot read it\n", path.c_str());
      continue;
    }
    auto check = [&](bool ok) {
      if (!ok || img != ref) std::fprintf(stderr, "%s: a decoder disagrees with libpng\n", path.c_str());
    };
    add(d[0], best_of(reps, [&] { libpng_decode(file, img, false); }));
    add(d[1], best_of(reps, [&] { check(libpng_decode(file, img, true)); }));
    add(d[2], best_of(reps, [&] { check(spng_decode_rgb(file, img, false)); }));
    add(d[3], best_of(reps, [&] { check(spng_decode_rgb(file, img, true)); }));
    add(d[4], best_of(reps, [&] { check(lodepng_decode_rgb(file, img, Z::libdeflate, true)); }));
    add(d[5], best_of(reps, [&] { check(lodepng_decode_rgb(file, img, Z::libdeflate, false)); }));
    add(d[6], best_of(reps, [&] { check(lodepng_decode_rgb(file, img, Z::isal, true)); }));
    add(d[7], best_of(reps, [&] { check(lodepng_decode_rgb(file, img, Z::isal, false)); }));
    const Bytes z = idat_stream(file);
    Bytes raw(ref.size() * 2 + 65536);
    add(d[8], best_of(reps, [&] {
          uLongf n = uLongf(raw.size());
          uncompress(raw.data(), &n, z.data(), uLong(z.size()));
        }));
    add(d[9], best_of(reps, [&] {
          libdeflate_decompressor* x = libdeflate_alloc_decompressor();
          std::size_t n = 0;
          libdeflate_zlib_decompress(x, z.data(), z.size(), raw.data(), raw.size(), &n);
          libdeflate_free_decompressor(x);
        }));
    add(d[10], best_of(reps, [&] {
          auto* st = static_cast<inflate_state*>(std::malloc(sizeof(inflate_state)));
          isal_inflate_init(st);
          st->crc_flag = ISAL_ZLIB;
          st->next_in = const_cast<unsigned char*>(z.data());
          st->avail_in = std::uint32_t(z.size());
          st->next_out = raw.data();
          st->avail_out = std::uint32_t(raw.size());
          isal_inflate(st);
          std::free(st);
        }));
  }
  std::vector<Row> e = {{"libpng Sub + Z_RLE, level 1 (tandem before)"}, {"libpng, OpenCV's batch settings"},
                        {"libspng Sub + Z_RLE, level 1"}, {"lodepng Sub + libdeflate 1"}, {"lodepng Sub + ISA-L 1"},
                        {"deflate alone: zlib 1 Z_RLE"}, {"deflate alone: libdeflate 1"}, {"deflate alone: ISA-L 1"}};
  for (const auto& path : enc) {
    const Bytes file = slurp(path);
    Bytes img, out, back;
    if (!libpng_decode(file, img, false)) continue;
    unsigned w = 0, h = 0;
    {
      LodePNGState st;
      lodepng_state_init(&st);
      lodepng_inspect(&w, &h, &st, file.data(), file.size());
      lodepng_state_cleanup(&st);
    }
    if (img.size() != std::size_t(w) * h * 3) {
      std::fprintf(stderr, "%s: not 8-bit RGB, skipped\n", path.c_str());
      continue;
    }
    auto timed = [&](Row& r, const std::function<bool()>& f) {
      const double ms = best_of(reps, [&] { f(); });
      if (!libpng_decode(out, back, false) || back != img) std::fprintf(stderr, "%s: %s round trip differs\n", path.c_str(), r.name);
      add(r, ms, out.size());
    };
    timed(e[0], [&] { return libpng_encode(img, w, h, out, false); });
    timed(e[1], [&] { return libpng_encode(img, w, h, out, true); });
    timed(e[2], [&] { return spng_encode_rgb(img, w, h, out); });
    timed(e[3], [&] { return lodepng_encode_rgb(img, w, h, out, Z::libdeflate); });
    timed(e[4], [&] { return lodepng_encode_rgb(img, w, h, out, Z::isal); });
    const Bytes raw = sub_filtered(img, w, h);
    Bytes z(raw.size() * 2);
    std::size_t zn = 0;
    double ms = best_of(reps, [&] {
          z_stream s{};
          deflateInit2(&s, 1, Z_DEFLATED, 15, 8, Z_RLE);
          s.next_in = const_cast<unsigned char*>(raw.data());
          s.avail_in = uInt(raw.size());
          s.next_out = z.data();
          s.avail_out = uInt(z.size());
          deflate(&s, Z_FINISH);
          zn = s.total_out;
          deflateEnd(&s);
        });
    add(e[5], ms, zn);
    ms = best_of(reps, [&] {
          libdeflate_compressor* x = libdeflate_alloc_compressor(1);
          zn = libdeflate_zlib_compress(x, raw.data(), raw.size(), z.data(), z.size());
          libdeflate_free_compressor(x);
        });
    add(e[6], ms, zn);
    ZCtx c{Z::isal, 0};
    LodePNGCompressSettings s{};
    s.custom_context = &c;
    ms = best_of(reps, [&] {
      unsigned char* o = nullptr;
      deflate_cb(&o, &zn, raw.data(), raw.size(), &s);
      std::free(o);
    });
    add(e[7], ms, zn);
  }
  print("decode, ms per image (CPU time)", d);
  print("encode, ms per image (CPU time) and bytes", e);
  return 0;
}
