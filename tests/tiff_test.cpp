// TIFF: decoding files OpenCV wrote (tests/golden/tiff, make_tiff_golden.py),
// tiled files written here with libtiff's own API, pages, encoding with each
// compression, refusals, and pages through the batch engine.
#include <gtest/gtest.h>
#include <tiffio.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "tandem/engine.hpp"
#include "tandem/io/codec.hpp"
#include "tandem/io/npy.hpp"
#include "tests/support/engine_support.hpp"
#include "tests/support/test_support.hpp"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using test::engine::same;
using test::engine::TempDir;

const fs::path kGolden = fs::path(TANDEM_SOURCE_DIR) / "tests" / "golden" / "tiff";

std::vector<std::byte> slurp(const fs::path& p) {
  std::vector<std::byte> b;
  EXPECT_TRUE(io::read_file(p.string(), b).ok()) << p;
  return b;
}

int compression_named(const std::string& name) {
  if (name.find("_lzw") != std::string::npos) return COMPRESSION_LZW;
  if (name.find("_deflate") != std::string::npos) return COMPRESSION_ADOBE_DEFLATE;
  if (name.find("_zstd") != std::string::npos) return COMPRESSION_ZSTD;
  return COMPRESSION_NONE;
}

TEST(Tiff, DecodesWhatOpenCvWrote) {
  std::size_t checked = 0;
  std::set<int> compressions;
  for (const auto& e : fs::directory_iterator(kGolden)) {
    if (e.path().extension() != ".tif" || e.path().stem().string().starts_with("pages")) continue;
    const std::string name = e.path().stem().string();
    const auto bytes = slurp(e.path());
    EXPECT_EQ(io::detect_format(bytes), io::Format::tiff) << name;
    Tensor want, got;
    ASSERT_TRUE(io::read_npy((kGolden / (name + ".npy")).string(), want).ok()) << name;
    const Status s = io::decode(bytes, name, got);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_TRUE(same(got.view(), want.view())) << name;
    io::ImageInfo info;
    ASSERT_TRUE(io::probe(bytes, name, info).ok());
    EXPECT_EQ(info.tiff_compression, compression_named(name)) << name;
    EXPECT_EQ(info.pages, 1);
    compressions.insert(info.tiff_compression);
    ++checked;
  }
  EXPECT_EQ(checked, 25u) << "tests/golden/tiff is incomplete";
  EXPECT_EQ(compressions.size(), 4u);
}

TEST(Tiff, EachPageIsItsOwnImage) {
  const auto bytes = slurp(kGolden / "pages3_u8_c1.tif");
  io::ImageInfo info;
  ASSERT_TRUE(io::probe(bytes, "pages", info).ok());
  EXPECT_EQ(info.pages, 3);
  for (int k = 0; k < 3; ++k) {
    Tensor want, got;
    ASSERT_TRUE(io::read_npy((kGolden / ("pages3_u8_c1.p" + std::to_string(k) + ".npy")).string(), want).ok());
    ASSERT_TRUE(io::probe(bytes, "pages", info, {.page = k}).ok());
    EXPECT_EQ(info.shape, std::vector<std::int64_t>(want.view().shape.begin(), want.view().shape.begin() + want.view().ndim));
    ASSERT_TRUE(io::decode(bytes, "pages", got, {.page = k}).ok());
    EXPECT_TRUE(same(got.view(), want.view())) << "page " << k;
  }
  Tensor t;
  const Status s = io::decode(bytes, "pages", t, {.page = 3});
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_NE(s.message().find("no page 3 (the file has 3)"), std::string::npos) << s.message();
  EXPECT_EQ(io::decode(slurp(kGolden / "u8_c1_none.tif"), "x", t, {.page = 1}).code(), Errc::invalid_argument);
}

// A tiled TIFF written with libtiff's own calls (tiles overhang the image's
// right and bottom edges).
std::vector<std::byte> write_tiled(const View& img, std::uint16_t compression, std::uint16_t planar = PLANARCONFIG_CONTIG,
                                   std::uint16_t sample_format = 0) {
  TempDir dir;
  const std::string path = dir.str("t.tif");
  TIFF* t = TIFFOpen(path.c_str(), "w");
  const auto c = std::uint16_t(img.channels());
  TIFFSetField(t, TIFFTAG_IMAGEWIDTH, std::uint32_t(img.width()));
  TIFFSetField(t, TIFFTAG_IMAGELENGTH, std::uint32_t(img.height()));
  TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, c);
  TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, std::uint16_t(8 * img.elem_size()));
  TIFFSetField(t, TIFFTAG_SAMPLEFORMAT,
               sample_format ? sample_format : img.dtype == DType::f32 ? SAMPLEFORMAT_IEEEFP : SAMPLEFORMAT_UINT);
  TIFFSetField(t, TIFFTAG_PHOTOMETRIC, c == 1 ? PHOTOMETRIC_MINISBLACK : PHOTOMETRIC_RGB);
  TIFFSetField(t, TIFFTAG_PLANARCONFIG, planar);
  if (c == 4) {
    const std::uint16_t extra[] = {EXTRASAMPLE_ASSOCALPHA};
    TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 1, extra);
  }
  TIFFSetField(t, TIFFTAG_COMPRESSION, compression);
  TIFFSetField(t, TIFFTAG_TILEWIDTH, 16u);
  TIFFSetField(t, TIFFTAG_TILELENGTH, 16u);
  const std::size_t px = std::size_t(c) * img.elem_size();
  std::vector<unsigned char> tile(16 * 16 * px);
  for (std::int64_t y = 0; y < img.height(); y += 16)
    for (std::int64_t x = 0; x < img.width(); x += 16) {
      std::fill(tile.begin(), tile.end(), 0xee);
      for (std::int64_t r = 0; r < 16 && y + r < img.height(); ++r)
        for (std::int64_t q = 0; q < 16 && x + q < img.width(); ++q)
          std::memcpy(&tile[(std::size_t(r) * 16 + std::size_t(q)) * px], img.row<unsigned char>(y + r) + std::size_t(x + q) * px, px);
      TIFFWriteTile(t, tile.data(), std::uint32_t(x), std::uint32_t(y), 0, 0);
    }
  TIFFClose(t);
  return slurp(path);
}

TEST(Tiff, TilesAreAssembled) {
  struct Case {
    DType dtype;
    int channels;
    std::uint16_t compression;
  };
  for (const Case k : {Case{DType::u8, 3, COMPRESSION_ADOBE_DEFLATE}, Case{DType::u16, 4, COMPRESSION_LZW},
                       Case{DType::f32, 1, COMPRESSION_NONE}, Case{DType::u8, 1, COMPRESSION_ZSTD}}) {
    const Tensor img = test::random_image(k.dtype, 37, 53, k.channels, 11);
    Tensor got;
    const Status s = io::decode(write_tiled(img.view(), k.compression), "tiled", got);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_TRUE(same(got.view(), img.view())) << img.view().describe();
  }
}

TEST(Tiff, EncodesEveryLayoutWithEachCompression) {
  for (const DType t : {DType::u8, DType::u16, DType::f32})
    for (const int c : {1, 3, 4})
      for (const auto comp : {io::TiffCompression::none, io::TiffCompression::lzw, io::TiffCompression::deflate,
                              io::TiffCompression::zstd}) {
        const Tensor img = test::random_image(t, 29, 31, c, std::uint64_t(c * 10 + int(t)));
        std::vector<std::byte> bytes;
        ASSERT_TRUE(io::encode(img.view(), io::Format::tiff, {.tiff_compression = comp}, bytes).ok());
        io::ImageInfo info;
        ASSERT_TRUE(io::probe(bytes, "enc", info).ok());
        EXPECT_EQ(info.tiff_compression, static_cast<int>(comp));
        Tensor got;
        ASSERT_TRUE(io::decode(bytes, "enc", got).ok());
        EXPECT_TRUE(same(got.view(), img.view())) << img.view().describe() << " compression " << int(comp);
      }
  std::vector<std::byte> bytes;
  const Tensor i32 = test::random_tensor(DType::i32, {4, 4}, 1);
  EXPECT_EQ(io::encode(i32.view(), io::Format::tiff, {}, bytes).code(), Errc::unsupported);
}

TEST(Tiff, RefusesWhatItDoesNotRead) {
  Tensor t;
  const Tensor s16 = test::random_image(DType::u16, 20, 20, 1, 2);
  Status s = io::decode(write_tiled(s16.view(), COMPRESSION_NONE, PLANARCONFIG_CONTIG, SAMPLEFORMAT_INT), "signed.tif", t);
  EXPECT_EQ(s.code(), Errc::unsupported);
  EXPECT_NE(s.message().find("'signed.tif': TIFF with 16-bit, 1 samples per pixel signed samples"), std::string::npos)
      << s.message();
  const Tensor rgb = test::random_image(DType::u8, 20, 20, 3, 3);
  s = io::decode(write_tiled(rgb.view(), COMPRESSION_NONE, PLANARCONFIG_SEPARATE), "planes.tif", t);
  EXPECT_EQ(s.code(), Errc::unsupported);
  EXPECT_NE(s.message().find("separate sample planes"), std::string::npos) << s.message();
  // Cut short anywhere: an error naming the file, never a crash or a partial image.
  const auto whole = slurp(kGolden / "u16_c3_lzw.tif");
  for (std::size_t n : {std::size_t(4), std::size_t(8), whole.size() / 3, whole.size() / 2, whole.size() - 20}) {
    const std::vector<std::byte> cut(whole.begin(), whole.begin() + std::ptrdiff_t(n));
    s = io::decode(cut, "cut.tif", t);
    EXPECT_FALSE(s.ok()) << n;
    EXPECT_NE(s.message().find("cut.tif"), std::string::npos) << s.message();
  }
}

// Through tandem run's engine: each page is an item written as NAME.pK.tif,
// with the input's compression.
TEST(Tiff, PagesAreItemsWrittenWithTheInputsCompression) {
  TempDir in, out;
  fs::copy_file(kGolden / "pages3_u8_c1.tif", in.path() / "pages.tif");
  fs::copy_file(kGolden / "u16_c4_lzw.tif", in.path() / "rgba.tif");
  RunOptions o = test::engine::cpu_options(out.str());
  o.inputs = {in.str()};
  RunSummary sum;
  ASSERT_TRUE(run_batch(test::engine::parse("invert"), o, sum).ok());
  EXPECT_EQ(sum.ok, 4u);
  EXPECT_EQ(sum.failed, 0u);
  for (int k = 0; k < 3; ++k) {
    Tensor page, got;
    ASSERT_TRUE(io::read_npy((kGolden / ("pages3_u8_c1.p" + std::to_string(k) + ".npy")).string(), page).ok());
    ASSERT_TRUE(io::read_image(out.str("pages.p" + std::to_string(k) + ".tif"), got).ok()) << k;
    EXPECT_TRUE(same(got.view(), test::engine::direct(test::engine::parse("invert"), page.view()).view())) << k;
  }
  // --resume finds every page's output.
  o.resume = true;
  ASSERT_TRUE(run_batch(test::engine::parse("invert"), o, sum).ok());
  EXPECT_EQ(sum.skipped, 4u);
  EXPECT_EQ(sum.ok, 0u);
  io::ImageInfo info;
  ASSERT_TRUE(io::probe(slurp(out.path() / "rgba.tif"), "rgba", info).ok());
  EXPECT_EQ(info.tiff_compression, COMPRESSION_LZW);
  EXPECT_EQ(info.shape, (std::vector<std::int64_t>{37, 53, 4}));
}

}  // namespace
}  // namespace tandem
