// Inputs that the sanitizers and fuzzers found to break tandem (kept in
// tests/data/fuzz-regressions/), and the arithmetic behind the fixes. Each file
// there must be refused with a clear error naming it, never crash or hang; a
// new crash found by scripts/fuzz.sh goes into that folder with its fix.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "host/core/shape.hpp"
#include "support/test_support.hpp"
#include "tandem/io/codec.hpp"
#include "tandem/io/npy.hpp"
#include "tandem/pipeline.hpp"
#include "tandem/topology.hpp"

namespace tandem {
namespace {

namespace fs = std::filesystem;

std::string regressions_dir() { return std::string(TANDEM_SOURCE_DIR) + "/tests/data/fuzz-regressions"; }

std::vector<std::byte> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> c((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> b(c.size());
  for (std::size_t i = 0; i < c.size(); ++i) b[i] = std::byte(static_cast<unsigned char>(c[i]));
  return b;
}

// The peak of the process's address space (VmPeak, KiB): what libpng's
// allocation of a claimed chunk length shows up in even when never touched.
long vm_peak_kib() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "VmPeak:") {
      long kib = 0;
      in >> kib;
      return kib;
    }
    in.ignore(1 << 12, '\n');
  }
  return -1;
}

// ---------------------------------------------------------------------------
// Shape arithmetic (host/core/shape.hpp)

TEST(ShapeExtent, CountsElementsAndBytes) {
  detail::ShapeExtent e;
  const std::int64_t s[] = {3, 5, 7};
  ASSERT_TRUE(detail::shape_extent(s, 4, e));
  EXPECT_EQ(e.numel, 105);
  EXPECT_EQ(e.bytes, 420);
  ASSERT_TRUE(detail::shape_extent(std::span<const std::int64_t>(), 8, e));  // a 0-d array: one element
  EXPECT_EQ(e.numel, 1);
  EXPECT_EQ(e.bytes, 8);
  const std::int64_t empty[] = {4, 0, 9};
  ASSERT_TRUE(detail::shape_extent(empty, 2, e));
  EXPECT_EQ(e.numel, 0);
  EXPECT_EQ(e.bytes, 0);
  const std::int64_t edge[] = {std::int64_t(1) << 31, std::int64_t(1) << 31};  // 2^62 elements of 1 byte fit
  ASSERT_TRUE(detail::shape_extent(edge, 1, e));
  EXPECT_EQ(e.bytes, std::int64_t(1) << 62);
}

TEST(ShapeExtent, RefusesWhatOverflowsEvenWhenEmpty) {
  detail::ShapeExtent e;
  const std::int64_t zero_first[] = {0, std::int64_t(1) << 40, std::int64_t(1) << 40};  // strides of 2^80 bytes
  EXPECT_FALSE(detail::shape_extent(zero_first, 1, e));
  const std::int64_t zero_last[] = {std::int64_t(1) << 62, 4, 0};
  EXPECT_FALSE(detail::shape_extent(zero_last, 4, e));
  const std::int64_t bytes_over[] = {std::int64_t(1) << 32, std::int64_t(1) << 30};  // 2^62 elements x 4 bytes
  EXPECT_FALSE(detail::shape_extent(bytes_over, 4, e));
  EXPECT_TRUE(detail::shape_extent(bytes_over, 1, e));
  const std::int64_t negative[] = {3, -1};
  EXPECT_FALSE(detail::shape_extent(negative, 1, e));
  std::int64_t r = 7;
  EXPECT_FALSE(detail::checked_mul(INT64_MAX / 2 + 1, 2, r));
  EXPECT_EQ(r, 7);
  EXPECT_FALSE(detail::checked_add(INT64_MAX, 1, r));
  EXPECT_TRUE(detail::checked_add(INT64_MAX - 1, 1, r));
  EXPECT_EQ(r, INT64_MAX);
}

TEST(ShapeArithmetic, ViewNumelOfAnEmptyShapeDoesNotMultiplyFirst) {
  // (2^62, 4, 0): the product of the first two overflows before the 0 is seen.
  View v;
  v.ndim = 3;
  v.shape = {std::int64_t(1) << 62, 4, 0};
  EXPECT_EQ(v.numel(), 0);
  v.shape = {std::int64_t(1) << 62, 4, 2};  // an unchecked view saturates instead of wrapping
  EXPECT_EQ(v.numel(), INT64_MAX);
  const View a = View::array(nullptr, DType::u8, {0, std::int64_t(1) << 40, std::int64_t(1) << 40});
  EXPECT_EQ(a.numel(), 0);
  EXPECT_EQ(a.strides[2], 1);
  EXPECT_EQ(a.strides[1], std::int64_t(1) << 40);
  EXPECT_EQ(a.strides[0], INT64_MAX);
}

TEST(ShapeArithmetic, TensorCreateRefusesByteCountsThatWrap) {
  Tensor t;
  // 2^62 f32 elements: 2^64 bytes, which wraps size_t to 0 (an empty buffer).
  Status s = Tensor::create(DType::f32, {std::int64_t(1) << 32, std::int64_t(1) << 30}, Device::cpu(), t);
  EXPECT_EQ(s.code(), Errc::out_of_memory) << s.message();
  EXPECT_NE(s.message().find("f32 4294967296x1073741824"), std::string::npos) << s.message();
  EXPECT_TRUE(t.empty());
  s = Tensor::create(DType::u8, {0, std::int64_t(1) << 40, std::int64_t(1) << 40}, Device::cpu(), t);
  EXPECT_EQ(s.code(), Errc::out_of_memory) << s.message();
  s = Tensor::create(DType::u8, {0, 1 << 20, 1 << 20}, Device::cpu(), t);  // empty, with strides that fit
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(t.view().numel(), 0);
}

TEST(ShapeArithmetic, HostBlocksLargerThanTheMachineAreRefusedBeforeTheAllocator) {
  // 2^50 bytes fits every count but no machine: refused by size, not by the
  // allocator (whose failure AddressSanitizer turns into an abort).
  Buffer b;
  const Status s = Buffer::allocate(std::size_t(1) << 50, MemKind::host, b);
  EXPECT_EQ(s.code(), Errc::out_of_memory);
  EXPECT_NE(s.message().find("memory and swap"), std::string::npos) << s.message();
  EXPECT_EQ(b.data(), nullptr);
}

// ---------------------------------------------------------------------------
// The kept inputs

TEST(FuzzRegressions, NpyShapesWhoseStridesOverflowAreRefused) {
  for (const char* f : {"npy-zero-dim-strides-overflow.npy", "npy-fortran-numel-overflow.npy"}) {
    const std::string path = regressions_dir() + "/" + f;
    io::NpyHeader h;
    const auto bytes = read_bytes(path);
    const Status s = io::parse_npy_header(bytes, path, h);
    EXPECT_EQ(s.code(), Errc::format_error) << f << ": " << s.message();
    EXPECT_NE(s.message().find("too large"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(f), std::string::npos) << s.message();
  }
}

// Decodes the kept input `name` (`size` bytes) into `s`; returns by how many MiB
// the process's address-space peak grew meanwhile.
long decode_growth_mib(const std::string& name, std::size_t size, Status& s) {
  const std::string path = regressions_dir() + "/" + name;
  const auto bytes = read_bytes(path);
  EXPECT_EQ(bytes.size(), size) << name;
  const long before = vm_peak_kib();
  EXPECT_GT(before, 0);
  Tensor t;
  s = io::decode(bytes, path, t);
  return (vm_peak_kib() - before) / 1024;
}

TEST(FuzzRegressions, PngTextChunkClaimingGigabytesCostsNoMemory) {
  // A 219-byte PNG whose tEXt chunk claims 0x50000000 bytes: libpng allocated
  // that length + 1 (1.25 GiB) inside png_read_info before tandem skipped text.
  Status s;
  const long grown_mib = decode_growth_mib("png-text-chunk-claims-1280MiB.png", 219, s);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("png-text-chunk-claims-1280MiB.png"), std::string::npos) << s.message();
  // The defect reserved 1280 MiB. The bound leaves room for a library thread
  // (OpenBLAS's, OpenMP's) that makes its first malloc arena in this window:
  // glibc reserves 128 MiB to align a 64 MiB arena, seen once under ctest -j2.
  EXPECT_LT(grown_mib, 512) << "decoding a 219-byte PNG grew the address space by " << grown_mib << " MiB";
}

TEST(FuzzRegressions, TiffTileLargerThanItsImageIsRefusedUnallocated) {
  // A 296-byte TIFF of a 13x9 gray image whose TileLength tag says 234881026:
  // libtiff's tile size (3053453338 bytes) was allocated before any pixel was read.
  Status s;
  const long grown_mib = decode_growth_mib("tiff-tile-claims-2800MiB.tif", 296, s);
  EXPECT_EQ(s.code(), Errc::format_error) << s.message();
  EXPECT_NE(s.message().find("tiff-tile-claims-2800MiB.tif"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("bytes for an image of 117)"), std::string::npos) << s.message();
  EXPECT_LT(grown_mib, 512) << "decoding a 296-byte TIFF grew the address space by " << grown_mib << " MiB";
}

TEST(FuzzRegressions, PngTextChunksAreSkippedNotRead) {
  // The same kind of chunk, complete and small, in a valid image: skipped, pixels intact.
  Tensor img;
  ASSERT_TRUE(Tensor::create_image(DType::u8, 3, 5, 1, Device::cpu(), img).ok());
  for (int i = 0; i < 15; ++i) img.view().ptr<std::uint8_t>()[i] = std::uint8_t(17 * i);
  std::vector<std::byte> png;
  ASSERT_TRUE(io::encode(img.view(), io::Format::png, {}, png).ok());
  // Insert a tEXt chunk after IHDR (8-byte signature + 25-byte IHDR chunk).
  const std::string text = "Comment";
  std::vector<std::byte> chunk;
  auto put32 = [&](std::uint32_t v) {
    for (int k = 3; k >= 0; --k) chunk.push_back(std::byte((v >> (8 * k)) & 0xff));
  };
  const std::string body = "tEXt" + text + std::string(1, '\0') + "hello";
  put32(std::uint32_t(body.size() - 4));
  for (char c : body) chunk.push_back(std::byte(static_cast<unsigned char>(c)));
  put32(std::uint32_t(crc32(0, reinterpret_cast<const Bytef*>(body.data()), uInt(body.size()))));
  png.insert(png.begin() + 33, chunk.begin(), chunk.end());
  Tensor back;
  const Status s = io::decode(png, "with-text.png", back);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_TRUE(back.view().same_layout(img.view()));
  EXPECT_EQ(std::memcmp(back.view().data, img.view().data, 15), 0);
}

TEST(FuzzRegressions, MalformedTopologyXmlIsRefusedNotACrash) {
  // hwloc 2.9 dereferences NULL loading these (a PU without a usable
  // complete_cpuset); tandem loads untrusted XML in a child process first.
  for (const char* f : {"topology-pu-cpuset-mangled.xml", "topology-pu-without-complete-cpuset.xml"}) {
    const std::string path = regressions_dir() + "/" + f;
    Topology t;
    const Status s = Topology::load_xml(path, t);
    EXPECT_EQ(s.code(), Errc::format_error) << f << ": " << s.message();
    EXPECT_NE(s.message().find(f), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("not a valid hwloc XML topology"), std::string::npos) << s.message();
  }
  // The file it was made from still loads.
  Topology good;
  const Status s = Topology::load_xml(test::data_dir() + "/topologies/workstation-1gpu.xml", good);
  EXPECT_TRUE(s.ok()) << s.message();
}

// Every kept input, whatever its kind: refused with its name, no crash.
TEST(FuzzRegressions, EveryKeptInputIsRefusedCleanly) {
  int seen = 0;
  for (const auto& entry : fs::directory_iterator(regressions_dir())) {
    const std::string path = entry.path().string();
    const std::string ext = entry.path().extension().string();
    const std::string name = entry.path().filename().string();
    Status s;
    if (ext == ".xml") {
      Topology t;
      s = Topology::load_xml(path, t);
    } else if (ext == ".pipeline") {
      std::ifstream in(path);
      const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      Pipeline p;
      s = Pipeline::parse(text, p);
      if (s.ok()) continue;  // a pipeline that parses is kept for what applying it did
    } else {
      Tensor t;
      s = io::decode(read_bytes(path), path, t);
    }
    ++seen;
    EXPECT_FALSE(s.ok()) << name << " was accepted";
    EXPECT_FALSE(s.message().empty()) << name;
    if (ext != ".pipeline") EXPECT_NE(s.message().find(name), std::string::npos) << name << ": " << s.message();
  }
  EXPECT_GE(seen, 5);
}

}  // namespace
}  // namespace tandem
