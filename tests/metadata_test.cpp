// ICC profiles and EXIF carried from input to output (io::Metadata): the
// fixtures of data/metadata (make_fixtures.py: Pillow + exiftool) decoded,
// written in every format that holds metadata, and read back by Pillow
// (tests/support/read_metadata.py), an independent reader; the EXIF
// corrections checked byte by byte against hand-built blocks.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "host/engine/admission.hpp"
#include "io/codecs.hpp"
#include "tandem/io/codec.hpp"
#include "tandem/io/npy.hpp"
#include "tandem/pipeline.hpp"
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
  } cases[] = {{"phone.jpg", true, 1}, {"phone.jpg", false, 6}, {"phone.png", true, 6},
               {"phone.tif", true, 1}, {"phone.tif", false, 6}};
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
    // The JPEG's and the TIFF's orientation are applied to the pixels, not
    // the PNG's eXIf (as OpenCV 4.6's imread does).
    const bool turned = c.orient && std::string(c.file) != "phone.png";
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

// What an item's admission is charged for the metadata it carries to its output:
// the probe counts the ICC profile and EXIF a decode keeps (from the header: the
// JPEG's APP1 and APP2 segments, the PNG's iCCP and eXIf, the TIFF's tags), and
// the estimate holds them through every phase unless the run strips them.
TEST(Metadata, AdmissionIsChargedTheMetadataAnItemCarries) {
  Pipeline p;
  ASSERT_TRUE(Pipeline::parse("gaussian sigma=1 | resize width=30 height=20", p).ok());
  for (const char* file : {"phone.jpg", "phone.png", "phone.tif"}) {
    for (const bool orient : {true, false}) {
      SCOPED_TRACE(std::string(file) + (orient ? "" : " raw"));
      const auto bytes = slurp(kFixtures + file);
      io::Metadata meta;
      Tensor t;
      ASSERT_TRUE(decode_with_metadata(kFixtures + file, t, meta, orient).ok());
      EXPECT_GT(meta.icc.size(), 100000u);
      EXPECT_FALSE(meta.exif.empty());
      io::DecodeOptions o;
      o.apply_orientation = orient;
      io::ImageInfo info;
      ASSERT_TRUE(io::probe(bytes, file, info, o).ok());
      EXPECT_EQ(info.metadata_bytes, meta.icc.size() + meta.exif.size());
      const auto kept = engine::estimate_item(p, info, bytes.size(), true);
      const auto bare = engine::estimate_item(p, info, bytes.size(), false);
      EXPECT_EQ(kept.peak - bare.peak, info.metadata_bytes);
      EXPECT_EQ(kept.decoded, bare.decoded);
    }
  }
  // probe_file reads only the start of a file, more while the header is cut short.
  std::uint64_t size = 0;
  io::ImageInfo info;
  ASSERT_TRUE(io::probe_file(kFixtures + "phone.jpg", info, size).ok());
  EXPECT_GT(info.metadata_bytes, 100000u);
}

// Each fixture written as PNG, JPEG and TIFF at another size (as after a
// resize): Pillow finds the same profile, orientation 1 where tandem turned
// the pixels, the EXIF's pixel dimensions of the output, no thumbnail, and
// the fixture's Make, DateTimeOriginal, ExposureTime and GPSLatitude (a
// TIFF's EXIF and GPS IFDs read from phone.tif, or written into a TIFF output).
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
      // phone.png's orientation 6 is not applied but carried: Pillow turns a TIFF by its tag.
      const bool shown_turned = std::string(input) == "phone.png" && std::string(ext) == "tif";
      EXPECT_EQ(field(got, "size"), shown_turned ? "19x23" : "23x19");
      EXPECT_EQ(field(got, "icc"), field(in, "icc"));
      EXPECT_EQ(field(got_gray, "icc"), "-");  // an RGB profile does not describe gray pixels
      EXPECT_EQ(field(got, "orientation"), std::string(input) == "phone.png" ? "6" : "1");
      EXPECT_EQ(field(got, "pixels"), "23x19");
      EXPECT_EQ(field(got, "make"), "tandem-test");
      EXPECT_EQ(field(got, "thumbnail"), "0");
      EXPECT_EQ(field(got, "date"), "2026:12:06_05:00:00");
      EXPECT_EQ(field(got, "date"), field(in, "date"));
      // Only phone.tif has an ExposureTime (1/60); libtiff 4.5 keeps a
      // rational as a 32-bit float, so through a TIFF output it is 1/60 to 7 digits.
      EXPECT_EQ(field(got, "exposure"), std::string(input) == "phone.tif" ? "0.016667" : "-");
      // Only phone.tif has a GPS IFD (GPSLatitude 48.8566 N).
      EXPECT_EQ(field(got, "gps"), std::string(input) == "phone.tif" ? "48.8566N" : "-");
      EXPECT_EQ(field(got_gray, "make"), "tandem-test");
      EXPECT_TRUE(meta.dropped.empty()) << meta.dropped.front();
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
  std::vector<std::string> notes;
  eo.dropped = &notes;
  std::vector<std::byte> bytes;
  ASSERT_TRUE(io::encode(img.view(), io::Format::jpeg, eo, bytes).ok());
  EXPECT_EQ(notes, std::vector<std::string>{"EXIF of 70000 bytes left out (one JPEG segment holds 65527)"});
  io::Metadata meta;
  io::DecodeOptions o;
  o.metadata = &meta;
  Tensor t;
  ASSERT_TRUE(io::decode(bytes, "long", t, o).ok());
  EXPECT_TRUE(meta.exif.empty());
  // PNG's eXIf has no such limit.
  notes.clear();
  ASSERT_TRUE(io::encode(img.view(), io::Format::png, eo, bytes).ok());
  EXPECT_TRUE(notes.empty());
  ASSERT_TRUE(io::decode(bytes, "long", t, o).ok());
  EXPECT_EQ(meta.exif.size(), 70000u);

  // tandem run says what it left out of which output, on stderr and in its JSON.
  TempDir dir;
  fs::create_directories(dir.file("in"));
  {
    std::ofstream(dir.file("in/long.png"), std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    io::EncodeOptions with_icc;
    with_icc.metadata = &big;
    ASSERT_TRUE(io::encode(img.view(), io::Format::png, with_icc, bytes).ok());
    std::ofstream(dir.file("in/big.png"), std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  }
  const auto r = test::run_command({TANDEM_CLI, "run", "-p", "invert", "--format", "jpg", "-o", dir.file("out"),
                                    "--json", dir.file("in")});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("tandem: note: " + dir.file("in/long.png") +
                       ": EXIF of 70000 bytes left out (one JPEG segment holds 65527)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("tandem: note: " + dir.file("in/big.png") + ": ICC profile of " + std::to_string(icc.size()) +
                       " bytes left out (over 4194304 bytes)"), std::string::npos) << r.err;
  const auto notes_at = r.out.find("\"notes\"");
  ASSERT_NE(notes_at, std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"EXIF of 70000 bytes left out (one JPEG segment holds 65527)\"", notes_at), std::string::npos)
      << r.out;
  const auto quiet = test::run_command({TANDEM_CLI, "run", "-q", "-p", "invert", "--format", "jpg", "-o",
                                        dir.file("out2"), dir.file("in")});
  EXPECT_EQ(quiet.rc, 0) << quiet.err;
  EXPECT_EQ(quiet.err.find("note:"), std::string::npos) << quiet.err;
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
  const Tensor tiny = test::random_image(DType::u8, 3, 2, 3, 5);
  std::mt19937 rng(11);
  for (int i = 0; i < 2000; ++i) {
    auto bad = good;
    for (int k = 0; k < 4; ++k) bad[rng() % bad.size()] = std::byte(rng());
    const int o = io::detail::exif_orientation(bad);
    EXPECT_TRUE(o >= 1 && o <= 8);
    (void)io::detail::exif_edit(bad, {.orientation = 1, .width = 9, .height = 9, .drop_thumbnail = true});
    io::detail::ExifFields fields;
    std::vector<std::string> notes;
    std::vector<std::byte> block;
    if (io::detail::exif_fields(bad, 0, fields, notes)) (void)io::detail::build_exif(fields, block);
    if (i % 20 == 0) {
      io::Metadata meta;
      meta.exif = bad;
      io::EncodeOptions eo;
      eo.metadata = &meta;
      std::vector<std::byte> out;
      EXPECT_TRUE(io::encode(tiny.view(), io::Format::tiff, eo, out).ok());
    }
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
  for (const char* ext : {"png", "jpg", "tif"}) {
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
    const std::string date = " date=2026:12:06_05:00:00 exposure=- gps=-";
    EXPECT_EQ(k, "size=30x20 icc=" + field(in, "icc") + " orientation=1 pixels=30x20 make=tandem-test thumbnail=0" + date);
    // Pillow shows a TIFF turned by its Orientation tag: 20x30.
    EXPECT_EQ(r, std::string("size=") + (std::string(ext) == "tif" ? "20x30" : "30x20") + " icc=" + field(in, "icc") +
                     " orientation=6 pixels=30x20 make=tandem-test thumbnail=0" + date);
    EXPECT_EQ(b, "size=30x20 icc=- orientation=- pixels=- make=- thumbnail=0 date=- exposure=- gps=-");
  }
}


// The orientation fixtures: 8 pages of the same 7x5 raw pixels, page p tagged
// Orientation p + 1, and NumPy's view of each page (make_fixtures.py checks
// it against OpenCV's imreadmulti and Pillow's exif_transpose).
struct OrientKind {
  const char* name;
  DType dtype;
  std::int64_t channels;
};
constexpr OrientKind kOrientKinds[] = {
    {"gray8", DType::u8, 1}, {"gray16", DType::u16, 1}, {"rgb8", DType::u8, 3}, {"rgb16", DType::u16, 3}};
constexpr std::int64_t kRawH = 5, kRawW = 7;

// Row `page` of orient_<kind>.npy: that page as a viewer shows it, packed.
std::vector<std::byte> oriented_reference(const OrientKind& k, int page) {
  Tensor want;
  EXPECT_TRUE(io::read_npy(kFixtures + "orient_" + k.name + ".npy", want).ok());
  const std::size_t n = std::size_t(kRawH * kRawW * k.channels) * dtype_size(k.dtype);
  EXPECT_EQ(want.view().nbytes(), std::int64_t(8 * n));
  const auto* row = static_cast<const std::byte*>(want.view().data) + std::size_t(page) * n;
  return {row, row + n};
}

// Page `page`, turned by its orientation or not, its metadata kept in `meta`.
io::DecodeOptions page_options(int page, bool orient, io::Metadata& meta) {
  io::DecodeOptions opt;
  opt.page = page;
  opt.apply_orientation = orient;
  opt.metadata = &meta;
  return opt;
}

std::vector<std::byte> packed(const View& v) {
  const auto* p = static_cast<const std::byte*>(v.data);
  return {p, p + v.nbytes()};
}

// Every page of a multi-page TIFF is turned by its own Orientation tag, as
// NumPy turns the raw pixels, gray and RGB, 8 and 16 bit; the header says the
// turned size; DecodeOptions::apply_orientation = false keeps the stored pixels
// and carries the page's orientation in the EXIF kept.
TEST(Metadata, TiffOrientationIsAppliedToEveryPageAsNumPyTurnsIt) {
  for (const OrientKind& k : kOrientKinds) {
    const std::string path = kFixtures + "orient_" + k.name + ".tif";
    const auto bytes = slurp(path);
    const auto raw = oriented_reference(k, 0);
    for (int page = 0; page < 8; ++page) {
      const int o = page + 1;
      for (const bool orient : {true, false}) {
        SCOPED_TRACE(std::string(k.name) + " orientation " + std::to_string(o) + (orient ? "" : " raw"));
        io::Metadata meta;
        const io::DecodeOptions opt = page_options(page, orient, meta);
        Tensor t;
        ASSERT_TRUE(io::decode(bytes, path, t, opt).ok());
        const bool sideways = orient && o >= 5;
        EXPECT_EQ(t.view().dtype, k.dtype);
        EXPECT_EQ(t.view().height(), sideways ? kRawW : kRawH);
        EXPECT_EQ(t.view().width(), sideways ? kRawH : kRawW);
        EXPECT_EQ(t.view().channels(), k.channels);
        EXPECT_EQ(packed(t.view()), orient ? oriented_reference(k, page) : raw);
        io::ImageInfo info;
        ASSERT_TRUE(io::probe(bytes, path, info, opt).ok());
        EXPECT_EQ(info.shape, std::vector<std::int64_t>(t.view().shape.begin(), t.view().shape.begin() + t.view().ndim));
        EXPECT_EQ(info.tiff_turned, orient && o != 1);  // the admission charges the scratch copy then
        // Only the orientation is there to carry: nothing once it is applied.
        if (orient || o == 1) EXPECT_TRUE(meta.exif.empty());
        else EXPECT_EQ(io::detail::exif_orientation(meta.exif), o);
        EXPECT_TRUE(meta.dropped.empty());
      }
    }
  }
}

// orient_pixels on images larger than its 16 x 256 tiles, odd sizes, padded
// rows on both sides and every pixel size (the sizes it specialises and one
// it does not), against the eight orientations composed from three plain
// moves: mirror (left-right), flip (top-bottom) and transpose.
TEST(Metadata, OrientPixelsTurnsEveryPixelSizeAcrossTiles) {
  constexpr std::int64_t h = 37, w = 519;
  std::mt19937 rng(11);
  for (const std::size_t pb : {1, 2, 3, 4, 5, 6, 8, 12, 16}) {
    const std::size_t src_stride = w * pb + 9;
    std::vector<unsigned char> src(h * src_stride);
    for (auto& b : src) b = static_cast<unsigned char>(rng());
    // Pixel (y, x) of a packed h x w image as a vector of pb bytes.
    using Image = std::vector<std::vector<std::vector<unsigned char>>>;
    Image raw(h, std::vector<std::vector<unsigned char>>(w));
    for (std::int64_t y = 0; y < h; ++y)
      for (std::int64_t x = 0; x < w; ++x) raw[y][x].assign(&src[y * src_stride + x * pb], &src[y * src_stride + x * pb] + pb);
    auto mirror = [](Image m) { for (auto& r : m) std::reverse(r.begin(), r.end()); return m; };
    auto flip = [](Image m) { std::reverse(m.begin(), m.end()); return m; };
    auto transpose = [](const Image& m) {
      Image t(m[0].size(), std::vector<std::vector<unsigned char>>(m.size()));
      for (std::size_t y = 0; y < m.size(); ++y)
        for (std::size_t x = 0; x < m[0].size(); ++x) t[x][y] = m[y][x];
      return t;
    };
    const Image want[9] = {{}, raw, mirror(raw), flip(mirror(raw)), flip(raw), transpose(raw),
                           mirror(transpose(raw)), flip(mirror(transpose(raw))), flip(transpose(raw))};
    for (int o = 1; o <= 8; ++o) {
      SCOPED_TRACE("pixel bytes " + std::to_string(pb) + ", orientation " + std::to_string(o));
      const Image& expect = want[o];
      const auto oh = std::int64_t(expect.size()), ow = std::int64_t(expect[0].size());
      const std::int64_t dst_stride = ow * std::int64_t(pb) + 5;
      std::vector<unsigned char> out(oh * dst_stride, 0xEE);
      io::detail::orient_pixels(src.data(), src_stride, h, w, pb, o,
                                View::image(out.data(), DType::u8, oh, ow, std::int64_t(pb), Device::cpu(), dst_stride));
      std::int64_t wrong = 0;
      for (std::int64_t y = 0; y < oh; ++y) {
        for (std::int64_t x = 0; x < ow; ++x)
          wrong += !std::equal(expect[y][x].begin(), expect[y][x].end(), &out[y * dst_stride + x * pb]);
        for (std::int64_t pad = ow * std::int64_t(pb); pad < dst_stride; ++pad) wrong += out[y * dst_stride + pad] != 0xEE;
      }
      EXPECT_EQ(wrong, 0);
    }
  }
}

// A TIFF written from raw pixels carries their orientation (Pillow reads the
// tag; decoded again with the orientation applied it shows what the input
// showed); written from turned pixels it claims none.
TEST(Metadata, TiffOutputsSayTheOrientationOfTheirPixels) {
  if (!have_pillow()) GTEST_SKIP() << "/usr/bin/python3 with Pillow (python3-pil) not available";
  TempDir dir;
  for (const OrientKind& k : {kOrientKinds[1], kOrientKinds[2]}) {
    const auto bytes = slurp(kFixtures + "orient_" + k.name + ".tif");
    for (int page = 0; page < 8; ++page) {
      const int o = page + 1;
      SCOPED_TRACE(std::string(k.name) + " orientation " + std::to_string(o));
      for (const bool orient : {true, false}) {
        io::Metadata meta;
        Tensor t;
        ASSERT_TRUE(io::decode(bytes, k.name, t, page_options(page, orient, meta)).ok());
        io::EncodeOptions eo;
        eo.metadata = &meta;
        const std::string out = dir.file(std::string(k.name) + (orient ? "_up.tif" : "_raw.tif"));
        ASSERT_TRUE(io::write_image(out, t.view(), eo).ok());
        EXPECT_EQ(field(pillow_reads(out), "orientation"), orient || o == 1 ? "-" : std::to_string(o));
        Tensor shown;
        ASSERT_TRUE(io::read_image(out, shown).ok());
        EXPECT_EQ(packed(shown.view()), oriented_reference(k, page));
      }
    }
  }
}

// `tandem run` turns every page of a multi-page TIFF (outputs named by page).
TEST(Metadata, RunTurnsEveryTiffPage) {
  TempDir dir;
  fs::create_directories(dir.file("in"));
  fs::copy_file(kFixtures + "orient_rgb8.tif", dir.file("in/orient.tif"));
  const auto r = test::run_command({TANDEM_CLI, "run", "-q", "-p", "invert", "--format", "png", "-o", dir.file("out"), dir.file("in")});
  ASSERT_EQ(r.rc, 0) << r.err;
  for (int page = 0; page < 8; ++page) {
    SCOPED_TRACE(page);
    Tensor t;
    ASSERT_TRUE(io::read_image(dir.file("out/orient.p" + std::to_string(page) + ".png"), t).ok());
    auto want = oriented_reference(kOrientKinds[2], page);
    for (auto& b : want) b = std::byte(255 - std::to_integer<int>(b));
    EXPECT_EQ(t.view().width(), page + 1 >= 5 ? kRawH : kRawW);
    EXPECT_EQ(packed(t.view()), want);
  }
}

// The EXIF fields of a block, rebuilt into a block of their own, read back
// the same (both byte orders: Pillow writes big-endian EXIF, exiftool's TIFF
// is little-endian); the rebuilt block has no thumbnail.
TEST(Metadata, ExifFieldsRebuildTheSameBlock) {
  for (const char* input : {"phone.jpg", "phone.tif"}) {
    SCOPED_TRACE(input);
    Tensor t;
    io::Metadata meta;
    ASSERT_TRUE(decode_with_metadata(kFixtures + input, t, meta, false).ok());
    io::detail::ExifFields a, b;
    std::vector<std::string> notes;
    ASSERT_TRUE(io::detail::exif_fields(meta.exif, 0, a, notes));
    EXPECT_EQ(a.little_endian, std::string(input) == "phone.tif");
    EXPECT_EQ(a.orientation, 6);
    EXPECT_EQ(a.ifd0.size(), 2u);  // Make, Model
    EXPECT_GE(a.exif.size(), 3u);  // DateTimeOriginal, PixelXDimension, PixelYDimension, ...
    EXPECT_EQ(a.gps.size(), std::string(input) == "phone.tif" ? 3u : 0u);  // version, latitude and its reference
    std::vector<std::byte> block;
    ASSERT_TRUE(io::detail::build_exif(a, block));
    ASSERT_TRUE(io::detail::exif_fields(block, 0, b, notes));
    EXPECT_TRUE(notes.empty());
    EXPECT_EQ(b.orientation, 6);
    for (const auto& [x, y] : {std::pair{&a.ifd0, &b.ifd0}, std::pair{&a.exif, &b.exif}, std::pair{&a.gps, &b.gps}}) {
      ASSERT_EQ(x->size(), y->size());
      for (std::size_t i = 0; i < x->size(); ++i) {
        EXPECT_EQ((*x)[i].tag, (*y)[i].tag);
        EXPECT_EQ((*x)[i].type, (*y)[i].type);
        EXPECT_EQ((*x)[i].count, (*y)[i].count);
        EXPECT_TRUE(std::equal((*x)[i].value.begin(), (*x)[i].value.end(), (*y)[i].value.begin(), (*y)[i].value.end()));
      }
    }
  }
  // Nothing to carry: no block.
  std::vector<std::byte> block;
  EXPECT_FALSE(io::detail::build_exif({}, block));
}

}  // namespace
}  // namespace tandem
