// ICC profiles and EXIF carried from input to output (io::Metadata): the
// fixtures of data/metadata (make_fixtures.py: Pillow + exiftool) decoded,
// written in every format that holds metadata, and read back by Pillow
// (tests/support/read_metadata.py), an independent reader; the EXIF
// corrections checked byte by byte against hand-built blocks.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "io/codecs.hpp"
#include "tandem/io/codec.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/test_support.hpp"

namespace tandem {
namespace {

namespace fs = std::filesystem;

const std::string kFixtures = std::string(TANDEM_SOURCE_DIR) + "/data/metadata/";

std::vector<std::byte> slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<char> c((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::byte> b(c.size());
  std::memcpy(b.data(), c.data(), c.size());
  return b;
}

bool have_pillow() {
  static const bool yes = std::system("/usr/bin/python3 -c 'import PIL' >/dev/null 2>&1") == 0;
  return yes;
}

// Pillow's reading of `path` (read_metadata.py's one line, without the newline).
std::string pillow_reads(const std::string& path) {
  const auto r = test::run_command({"/usr/bin/python3", std::string(TANDEM_SOURCE_DIR) + "/tests/support/read_metadata.py", path});
  EXPECT_EQ(r.rc, 0) << r.err;
  std::string s = r.out;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

// The value of `key=` in a read_metadata.py line.
std::string field(const std::string& line, const std::string& key) {
  const auto at = line.find(key + "=");
  if (at == std::string::npos) return "";
  const auto end = line.find(' ', at);
  return line.substr(at + key.size() + 1, end == std::string::npos ? std::string::npos : end - at - key.size() - 1);
}

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("tandem-metadata-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

Status decode_with_metadata(const std::string& path, Tensor& t, io::Metadata& meta, bool orient = true) {
  io::DecodeOptions o;
  o.metadata = &meta;
  o.apply_orientation = orient;
  return io::read_image(path, t, o);
}

TEST(Metadata, DecodingKeepsTheFixturesProfileAndExif) {
  const auto icc = slurp(kFixtures + "profile.icc");
  ASSERT_EQ(icc.size(), 100600u) << "data/metadata/profile.icc";
  struct Case {
    const char* file;
    bool orient;
    int orientation;  // in the EXIF kept; 0: no EXIF
  } cases[] = {{"phone.jpg", true, 1}, {"phone.jpg", false, 6}, {"phone.png", true, 6}, {"phone.tif", true, 0}};
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.file) + (c.orient ? "" : " raw"));
    Tensor t;
    io::Metadata meta;
    meta.dropped.push_back("stale");  // a decode replaces what was there
    ASSERT_TRUE(decode_with_metadata(kFixtures + c.file, t, meta, c.orient).ok());
    EXPECT_EQ(meta.icc, icc);  // two APP2 segments joined, in the JPEG
    EXPECT_TRUE(meta.dropped.empty());
    if (c.orientation == 0) {
      EXPECT_TRUE(meta.exif.empty());
      continue;
    }
    ASSERT_GE(meta.exif.size(), 8u);
    EXPECT_EQ(io::detail::exif_orientation(meta.exif), c.orientation);
    // Only the JPEG's orientation is applied to the pixels (as OpenCV does).
    const bool turned = c.orient && std::string(c.file) == "phone.jpg";
    EXPECT_EQ(t.view().width(), turned ? 37 : 61);
  }
  // Without DecodeOptions::metadata nothing is kept, and probing never fills it.
  Tensor t;
  ASSERT_TRUE(io::read_image(kFixtures + "phone.jpg", t).ok());
  io::Metadata meta;
  io::DecodeOptions o;
  o.metadata = &meta;
  io::ImageInfo info;
  const auto bytes = slurp(kFixtures + "phone.jpg");
  ASSERT_TRUE(io::probe(bytes, "phone.jpg", info, o).ok());
  EXPECT_TRUE(meta.empty());
}

// Each fixture written as PNG, JPEG and TIFF at another size (as after a
// resize): Pillow finds the same profile, orientation 1 where tandem turned
// the pixels, the EXIF's pixel dimensions of the output, no thumbnail.
TEST(Metadata, EveryOutputFormatHoldsWhatPillowReadsBack) {
  if (!have_pillow()) GTEST_SKIP() << "/usr/bin/python3 with Pillow (python3-pil) not available";
  TempDir dir;
  for (const char* input : {"phone.jpg", "phone.png", "phone.tif"}) {
    const std::string in = pillow_reads(kFixtures + input);
    Tensor t;
    io::Metadata meta;
    ASSERT_TRUE(decode_with_metadata(kFixtures + input, t, meta).ok()) << input;
    const Tensor small = test::random_image(DType::u8, 19, 23, 3, 7);
    const Tensor gray = test::random_image(DType::u8, 19, 23, 1, 8);
    for (const char* ext : {"png", "jpg", "tif"}) {
      SCOPED_TRACE(std::string(input) + " -> " + ext);
      io::EncodeOptions eo;
      eo.metadata = &meta;
      const std::string out = dir.file(std::string("out.") + ext), out_gray = dir.file(std::string("gray.") + ext);
      ASSERT_TRUE(io::write_image(out, small.view(), eo).ok());
      ASSERT_TRUE(io::write_image(out_gray, gray.view(), eo).ok());
      const std::string got = pillow_reads(out), got_gray = pillow_reads(out_gray);
      EXPECT_EQ(field(got, "size"), "23x19");
      EXPECT_EQ(field(got, "icc"), field(in, "icc"));
      EXPECT_EQ(field(got_gray, "icc"), "-");  // an RGB profile does not describe gray pixels
      if (std::string(ext) == "tif") continue;  // tandem writes no EXIF into TIFF
      if (std::string(input) == "phone.tif") {
        EXPECT_EQ(field(got, "orientation"), "-");
        continue;
      }
      EXPECT_EQ(field(got, "orientation"), std::string(input) == "phone.jpg" ? "1" : "6");
      EXPECT_EQ(field(got, "pixels"), "23x19");
      EXPECT_EQ(field(got, "make"), "tandem-test");
      EXPECT_EQ(field(got, "thumbnail"), "0");
      EXPECT_EQ(field(got_gray, "make"), "tandem-test");
    }
  }
}

// A little EXIF writer for the byte-level tests.
struct ExifBuilder {
  bool le;
  std::vector<std::byte> b;
  void u16(unsigned v) {
    const unsigned char x[2] = {static_cast<unsigned char>(le ? v : v >> 8), static_cast<unsigned char>(le ? v >> 8 : v)};
    for (unsigned char c : x) b.push_back(std::byte(c));
  }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b.push_back(std::byte(v >> (le ? 8 * i : 24 - 8 * i)));
  }
  void entry(unsigned tag, unsigned type, std::uint32_t value) {
    u16(tag);
    u16(type);
    u32(1);
    if (type == 3) {
      u16(value);
      u16(0);
    } else {
      u32(value);
    }
  }
  // Header; IFD0 at 8 (orientation, width, height, Exif IFD pointer; next: IFD1);
  // Exif IFD at 62 (PixelXDimension SHORT, PixelYDimension LONG); IFD1 at 92.
  static std::vector<std::byte> make(bool le, unsigned orientation, unsigned width_type, std::uint32_t w,
                                     std::uint32_t h, std::uint32_t next_ifd) {
    ExifBuilder e{le, {}};
    e.b = {std::byte(le ? 'I' : 'M'), std::byte(le ? 'I' : 'M')};
    e.u16(42);
    e.u32(8);
    e.u16(4);
    e.entry(0x0100, width_type, w);
    e.entry(0x0101, 3, h);
    e.entry(0x0112, 3, orientation);
    e.entry(0x8769, 4, 62);
    e.u32(next_ifd);
    e.u16(2);
    e.entry(0xA002, 3, w);
    e.entry(0xA003, 4, h);
    e.u32(0);
    e.u16(0);  // IFD1: empty
    e.u32(0);
    return e.b;
  }
};

// Blocks over kMaxMetadataBytes are left out when read, with a note; an EXIF
// too large for one JPEG segment is not written to a JPEG.
TEST(Metadata, OversizedBlocksAreLeftOutWithANote) {
  auto icc = slurp(kFixtures + "profile.icc");
  icc.resize(io::kMaxMetadataBytes + 4096, std::byte{0});
  const auto n = static_cast<std::uint32_t>(icc.size());  // the profile header's size field
  for (int i = 0; i < 4; ++i) icc[std::size_t(i)] = std::byte(n >> (24 - 8 * i));
  io::Metadata big;
  big.icc = icc;
  const Tensor img = test::random_image(DType::u8, 9, 13, 3, 3);
  for (io::Format f : {io::Format::png, io::Format::jpeg, io::Format::tiff}) {
    SCOPED_TRACE(io::format_name(f));
    io::EncodeOptions eo;
    eo.metadata = &big;
    std::vector<std::byte> bytes;
    ASSERT_TRUE(io::encode(img.view(), f, eo, bytes).ok());
    Tensor t;
    io::Metadata meta;
    io::DecodeOptions o;
    o.metadata = &meta;
    ASSERT_TRUE(io::decode(bytes, "big", t, o).ok());
    EXPECT_TRUE(meta.icc.empty());
    ASSERT_EQ(meta.dropped.size(), 1u);
    EXPECT_EQ(meta.dropped[0], "ICC profile of " + std::to_string(icc.size()) + " bytes left out (over 4194304 bytes)");
  }
  io::Metadata long_exif;
  long_exif.exif = ExifBuilder::make(false, 1, 3, 13, 9, 0);
  long_exif.exif.resize(70000);  // a block with a large tail (as maker notes make)
  io::EncodeOptions eo;
  eo.metadata = &long_exif;
  std::vector<std::byte> bytes;
  ASSERT_TRUE(io::encode(img.view(), io::Format::jpeg, eo, bytes).ok());
  io::Metadata meta;
  io::DecodeOptions o;
  o.metadata = &meta;
  Tensor t;
  ASSERT_TRUE(io::decode(bytes, "long", t, o).ok());
  EXPECT_TRUE(meta.exif.empty());
  // PNG's eXIf has no such limit.
  ASSERT_TRUE(io::encode(img.view(), io::Format::png, eo, bytes).ok());
  ASSERT_TRUE(io::decode(bytes, "long", t, o).ok());
  EXPECT_EQ(meta.exif.size(), 70000u);
}

TEST(Metadata, ExifEditsAreInPlaceInBothByteOrders) {
  for (bool le : {true, false}) {
    SCOPED_TRACE(le ? "II" : "MM");
    auto exif = ExifBuilder::make(le, 6, 3, 4000, 3000, 92);
    ASSERT_EQ(exif.size(), 98u);
    EXPECT_EQ(io::detail::exif_orientation(exif), 6);
    ASSERT_TRUE(io::detail::exif_edit(exif, {.orientation = 1}));
    EXPECT_EQ(exif, ExifBuilder::make(le, 1, 3, 4000, 3000, 92));
    // A width SHORT cannot hold becomes a LONG in the same entry.
    ASSERT_TRUE(io::detail::exif_edit(exif, {.width = 70000, .height = 17, .drop_thumbnail = true}));
    auto want = ExifBuilder::make(le, 1, 4, 70000, 17, 0);
    // PixelXDimension was a SHORT too: the builder writes it as the width's type.
    EXPECT_EQ(exif.size(), want.size());
    EXPECT_EQ(std::vector<std::byte>(exif.begin(), exif.begin() + 62), std::vector<std::byte>(want.begin(), want.begin() + 62));
    ExifBuilder pixel_x{le, {}};
    pixel_x.entry(0xA002, 4, 70000);
    EXPECT_EQ(std::vector<std::byte>(exif.begin() + 64, exif.begin() + 76), pixel_x.b);
    EXPECT_EQ(std::vector<std::byte>(exif.begin() + 76, exif.end()), std::vector<std::byte>(want.begin() + 76, want.end()));
  }
}

// Every truncation and random corruption of a valid block is read or refused
// without reading outside it (the sanitizer builds check that).
TEST(Metadata, DamagedExifIsNeverReadOutOfBounds) {
  const auto good = ExifBuilder::make(true, 3, 3, 640, 480, 92);
  for (std::size_t n = 0; n <= good.size(); ++n) {
    std::vector<std::byte> cut(good.begin(), good.begin() + std::ptrdiff_t(n));
    const int o = io::detail::exif_orientation(cut);
    EXPECT_TRUE(o == 1 || o == 3) << n;
    const bool ok = io::detail::exif_edit(cut, {.orientation = 1, .width = 9, .height = 9, .drop_thumbnail = true});
    EXPECT_EQ(ok, n >= 62) << n;  // IFD0 whole: 8 + 2 + 4 x 12 + 4
  }
  std::mt19937 rng(11);
  for (int i = 0; i < 2000; ++i) {
    auto bad = good;
    for (int k = 0; k < 4; ++k) bad[rng() % bad.size()] = std::byte(rng());
    const int o = io::detail::exif_orientation(bad);
    EXPECT_TRUE(o >= 1 && o <= 8);
    (void)io::detail::exif_edit(bad, {.orientation = 1, .width = 9, .height = 9, .drop_thumbnail = true});
  }
}

// The CLI keeps metadata by default, corrected after a resize and the
// orientation; --strip-metadata writes none.
TEST(Metadata, RunKeepsOrStripsIt) {
  if (!have_pillow()) GTEST_SKIP() << "/usr/bin/python3 with Pillow (python3-pil) not available";
  TempDir dir;
  fs::create_directories(dir.file("in"));
  fs::copy_file(kFixtures + "phone.jpg", dir.file("in/phone.jpg"));
  const std::string in = pillow_reads(kFixtures + "phone.jpg");
  for (const char* ext : {"png", "jpg"}) {
    SCOPED_TRACE(ext);
    const std::string kept = dir.file(std::string("kept_") + ext), raw = dir.file(std::string("raw_") + ext),
                      bare = dir.file(std::string("bare_") + ext);
    const std::vector<std::string> base{TANDEM_CLI, "run", "-q", "-p", "resize width=30 height=20", "--format", ext};
    auto run = [&](const std::string& out, std::vector<std::string> extra) {
      auto args = base;
      args.insert(args.end(), {"-o", out});
      args.insert(args.end(), extra.begin(), extra.end());
      args.push_back(dir.file("in"));
      const auto r = test::run_command(args);
      EXPECT_EQ(r.rc, 0) << r.err;
      return pillow_reads(out + "/phone." + ext);
    };
    const std::string k = run(kept, {}), r = run(raw, {"--raw-orientation"}), b = run(bare, {"--strip-metadata"});
    EXPECT_EQ(k, "size=30x20 icc=" + field(in, "icc") + " orientation=1 pixels=30x20 make=tandem-test thumbnail=0");
    EXPECT_EQ(r, "size=30x20 icc=" + field(in, "icc") + " orientation=6 pixels=30x20 make=tandem-test thumbnail=0");
    EXPECT_EQ(b, "size=30x20 icc=- orientation=- pixels=- make=- thumbnail=0");
  }
}

}  // namespace
}  // namespace tandem
