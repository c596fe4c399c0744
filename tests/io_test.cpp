// io/: file primitives (read_file, atomic writes), NPY, and the image codecs.
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <iomanip>
#include <map>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <png.h>
#include <zlib.h>
// jpeglib.h needs FILE from cstdio first
#include <jpeglib.h>

#include "tandem/io/codec.hpp"
#include "tandem/io/file.hpp"
#include "tandem/io/npy.hpp"
#include "tests/support/test_support.hpp"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using io::NpyHeader;
using io::NpyReader;
using io::NpyWriter;

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "tandem-io-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  [[nodiscard]] std::string file(const std::string& name) const { return path_ + "/" + name; }
  [[nodiscard]] const std::string& path() const { return path_; }
  /// Names of every entry, sorted.
  [[nodiscard]] std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(path_)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::string path_;
};

std::vector<std::byte> to_bytes(std::string_view s) {
  std::vector<std::byte> b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}

void write_raw(const std::string& path, const std::vector<std::byte>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

std::vector<std::byte> slurp(const std::string& path) {
  std::vector<std::byte> b;
  throw_if_error(io::read_file(path, b));
  return b;
}

bool same_bytes(const View& a, const View& b) {
  if (!a.same_layout(b) || !a.is_contiguous() || !b.is_contiguous()) return false;
  return a.nbytes() == 0 || std::memcmp(a.data, b.data, a.nbytes()) == 0;
}

// ---------------------------------------------------------------------------
// read_file / atomic writes

TEST(File, ReadFileMissingAndDirectory) {
  TempDir dir;
  std::vector<std::byte> b;
  Status s = io::read_file(dir.file("nope.bin"), b);
  EXPECT_EQ(s.code(), Errc::io_error);
  EXPECT_NE(s.message().find("nope.bin"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("No such file"), std::string::npos) << s.message();
  s = io::read_file(dir.path(), b);
  EXPECT_EQ(s.code(), Errc::io_error);
  EXPECT_NE(s.message().find("directory"), std::string::npos) << s.message();
}

TEST(File, ReadFileEmptyAndContents) {
  TempDir dir;
  write_raw(dir.file("empty"), {});
  std::vector<std::byte> b(5);
  ASSERT_TRUE(io::read_file(dir.file("empty"), b).ok());
  EXPECT_TRUE(b.empty());
  std::vector<std::byte> big(300001);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = std::byte(i * 7);
  write_raw(dir.file("big"), big);
  ASSERT_TRUE(io::read_file(dir.file("big"), b).ok());
  EXPECT_EQ(b, big);
}

TEST(File, AtomicWriteLeavesNoTemporary) {
  TempDir dir;
  const auto data = to_bytes("hello, tandem");
  ASSERT_TRUE(io::write_file_atomic(dir.file("out.txt"), data).ok());
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.txt"});
  EXPECT_EQ(slurp(dir.file("out.txt")), data);
  // Overwrite an existing file, with fsync.
  const auto data2 = to_bytes("second");
  ASSERT_TRUE(io::write_file_atomic(dir.file("out.txt"), data2, {.fsync = true}).ok());
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.txt"});
  EXPECT_EQ(slurp(dir.file("out.txt")), data2);
}

TEST(File, AtomicWriteFailureDoesNotClobber) {
  TempDir dir;
  // The target is a non-empty directory: the rename fails, the temporary goes.
  fs::create_directory(dir.file("target"));
  write_raw(dir.file("target/keep"), to_bytes("keep"));
  Status s = io::write_file_atomic(dir.file("target"), to_bytes("x"));
  EXPECT_EQ(s.code(), Errc::io_error);
  EXPECT_NE(s.message().find("target"), std::string::npos) << s.message();
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"target"});
  EXPECT_EQ(slurp(dir.file("target/keep")), to_bytes("keep"));
  // Missing directory.
  s = io::write_file_atomic(dir.file("no/such/dir/out.bin"), to_bytes("x"));
  EXPECT_EQ(s.code(), Errc::io_error);
  EXPECT_NE(s.message().find("no/such/dir"), std::string::npos) << s.message();
  // An abandoned streaming write leaves the old file as it was and no temporary.
  write_raw(dir.file("old.bin"), to_bytes("old contents"));
  {
    io::AtomicFile f;
    ASSERT_TRUE(f.open(dir.file("old.bin")).ok());
    ASSERT_TRUE(f.write("new", 3).ok());
    EXPECT_TRUE(io::is_temporary_name(fs::path(f.temporary_path()).filename().string()));
    EXPECT_EQ(dir.entries().size(), 3u);  // target, old.bin, the temporary
  }  // destroyed without commit
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"old.bin", "target"}));
  EXPECT_EQ(slurp(dir.file("old.bin")), to_bytes("old contents"));
}

TEST(File, TemporaryNamesAndStaleRemoval) {
  TempDir dir;
  const std::string t = io::temporary_path_for(dir.file("a.png"));
  EXPECT_EQ(fs::path(t).parent_path().string(), dir.path());
  const std::string name = fs::path(t).filename().string();
  EXPECT_EQ(name.rfind(".a.png.tandem-tmp-" + std::to_string(::getpid()) + "-", 0), 0u) << name;
  EXPECT_TRUE(io::is_temporary_name(name));
  EXPECT_FALSE(io::is_temporary_name("a.png"));
  EXPECT_FALSE(io::is_temporary_name(".a.png.tandem-tmp-"));
  EXPECT_FALSE(io::is_temporary_name(".a.png.tandem-tmp-12x-3"));
  EXPECT_EQ(io::temporary_path_for("b.jpg").find('/'), std::string::npos);
  // A temporary of a dead process (PID far above pid_max), one of ours, and a normal file.
  write_raw(dir.file(".x.npy.tandem-tmp-99999999-0"), to_bytes("stale"));
  write_raw(dir.file(".y.npy.tandem-tmp-" + std::to_string(::getpid()) + "-7"), to_bytes("live"));
  write_raw(dir.file("z.npy"), to_bytes("keep"));
  std::int64_t removed = -1;
  ASSERT_TRUE(io::remove_stale_temporaries(dir.path(), removed).ok());
  EXPECT_EQ(removed, 1);
  EXPECT_EQ(dir.entries().size(), 2u);
  ASSERT_TRUE(io::remove_stale_temporaries(dir.path(), removed, /*all=*/true).ok());
  EXPECT_EQ(removed, 1);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"z.npy"});
  EXPECT_EQ(io::remove_stale_temporaries(dir.file("missing"), removed).code(), Errc::io_error);
}

// ---------------------------------------------------------------------------
// NPY

// The bytes of a .npy file with the header dict `dict` (padded here) and raw data.
std::vector<std::byte> make_npy_raw(std::string dict, const void* data, std::size_t nbytes, int major = 1) {
  const std::size_t prefix = major == 1 ? 10 : 12;
  const std::size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict += '\n';
  std::string out = "\x93NUMPY";
  out += char(major);
  out += char(0);
  const std::size_t hlen = dict.size();
  for (std::size_t i = 0; i < prefix - 8; ++i) out += char((hlen >> (8 * i)) & 0xff);
  out += dict;
  out.append(static_cast<const char*>(data), nbytes);
  return to_bytes(out);
}

std::vector<std::byte> make_npy(const std::string& descr, bool fortran, const std::string& shape,
                                const void* data, std::size_t nbytes, int major = 1) {
  return make_npy_raw("{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
                          ", 'shape': " + shape + ", }",
                      data, nbytes, major);
}

template <class T>
T bswap(T v) {
  T r;
  auto* s = reinterpret_cast<unsigned char*>(&v);
  auto* d = reinterpret_cast<unsigned char*>(&r);
  for (std::size_t i = 0; i < sizeof(T); ++i) d[i] = s[sizeof(T) - 1 - i];
  return r;
}

TEST(Npy, RoundTripEveryDtypeAndShape) {
  TempDir dir;
  const std::vector<std::vector<std::int64_t>> shapes = {{}, {0}, {7}, {1, 1}, {37, 53}, {3, 0, 2}, {2, 3, 5, 7}, {1, 17, 13, 3}};
  std::uint64_t seed = 1;
  for (DType t : kAllDTypes) {
    for (const auto& shape : shapes) {
      Tensor a = test::random_tensor(t, shape, seed++, -100.0, 100.0);
      const std::string path = dir.file(std::string(dtype_name(t)) + ".npy");
      ASSERT_TRUE(io::write_npy(path, a.view()).ok());
      Tensor b;
      const Status s = io::read_npy(path, b);
      ASSERT_TRUE(s.ok()) << s.message();
      EXPECT_TRUE(same_bytes(a.view(), b.view())) << a.view().describe() << " vs " << b.view().describe();
      std::vector<std::byte> enc;
      ASSERT_TRUE(io::encode_npy(a.view(), enc).ok());
      EXPECT_EQ(enc, slurp(path));
      EXPECT_EQ(enc.size() % 64, a.view().nbytes() % 64);  // header padded to 64
      Tensor c;
      ASSERT_TRUE(io::decode_npy(enc, "mem", c).ok());
      EXPECT_TRUE(same_bytes(a.view(), c.view()));
    }
  }
  EXPECT_EQ(dir.entries().size(), 6u);
}

TEST(Npy, WritesStridedViews) {
  TempDir dir;
  Tensor a = test::random_tensor(DType::i32, {9, 11, 4}, 3);
  // Every other row, the middle 5 columns, 2 of 4 channels: nothing contiguous.
  View v = a.view();
  v.data = a.view().ptr<char>() + v.strides[1] * 3 + 4;
  v.shape = {5, 5, 2};
  v.strides[0] *= 2;
  v.strides[2] = 8;  // channels 1 and 3
  ASSERT_TRUE(io::write_npy(dir.file("s.npy"), v).ok());
  Tensor b;
  ASSERT_TRUE(io::read_npy(dir.file("s.npy"), b).ok());
  ASSERT_EQ(b.view().ndim, 3);
  EXPECT_EQ(b.view().shape[0], 5);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 5; ++x)
      for (int c = 0; c < 2; ++c)
        EXPECT_EQ(b.view().ptr<std::int32_t>()[(y * 5 + x) * 2 + c],
                  a.view().ptr<std::int32_t>()[((2 * y) * 11 + x + 3) * 4 + 1 + 2 * c]);
}

TEST(Npy, FortranOrderIsTransposed) {
  TempDir dir;
  // 2x3 float64 in column-major order: a[i][j] = 10*i + j.
  const double col_major[] = {0, 10, 1, 11, 2, 12};
  write_raw(dir.file("f2.npy"), make_npy("<f8", true, "(2, 3)", col_major, sizeof col_major));
  Tensor t;
  ASSERT_TRUE(io::read_npy(dir.file("f2.npy"), t).ok());
  ASSERT_EQ(t.view().ndim, 2);
  EXPECT_EQ(t.view().shape[0], 2);
  EXPECT_EQ(t.view().shape[1], 3);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) EXPECT_EQ(t.view().ptr<double>()[i * 3 + j], 10 * i + j);
  // 3-D, 2x3x4, with a[i][j][k] = 100i + 10j + k stored with i fastest.
  std::vector<std::int32_t> f;
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < 3; ++j)
      for (int i = 0; i < 2; ++i) f.push_back(100 * i + 10 * j + k);
  const auto bytes = make_npy("<i4", true, "(2, 3, 4)", f.data(), f.size() * 4);
  ASSERT_TRUE(io::decode_npy(bytes, "f3", t).ok());
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) EXPECT_EQ(t.view().ptr<std::int32_t>()[(i * 3 + j) * 4 + k], 100 * i + 10 * j + k);
  // The chunked reader delivers storage order and says so.
  write_raw(dir.file("f3.npy"), bytes);
  NpyReader r;
  ASSERT_TRUE(r.open(dir.file("f3.npy")).ok());
  EXPECT_TRUE(r.header().fortran_order);
  std::vector<std::int32_t> raw(24);
  ASSERT_TRUE(r.read_elements(0, 24, raw.data()).ok());
  EXPECT_EQ(raw, f);
}

TEST(Npy, BigEndianIsSwapped) {
  const std::uint16_t u16[] = {bswap<std::uint16_t>(1), bswap<std::uint16_t>(0xABCD), bswap<std::uint16_t>(65535)};
  Tensor t;
  ASSERT_TRUE(io::decode_npy(make_npy(">u2", false, "(3,)", u16, sizeof u16), "be", t).ok());
  EXPECT_EQ(t.view().dtype, DType::u16);
  EXPECT_EQ(t.view().ptr<std::uint16_t>()[1], 0xABCD);
  EXPECT_EQ(t.view().ptr<std::uint16_t>()[2], 65535);
  const std::int32_t i32[] = {bswap<std::int32_t>(-5), bswap<std::int32_t>(123456789)};
  ASSERT_TRUE(io::decode_npy(make_npy(">i4", false, "(2,)", i32, sizeof i32), "be", t).ok());
  EXPECT_EQ(t.view().ptr<std::int32_t>()[0], -5);
  EXPECT_EQ(t.view().ptr<std::int32_t>()[1], 123456789);
  const double f64[] = {bswap(-1.5), bswap(3.25e100)};
  ASSERT_TRUE(io::decode_npy(make_npy(">f8", false, "(1, 2)", f64, sizeof f64), "be", t).ok());
  EXPECT_EQ(t.view().ptr<double>()[0], -1.5);
  EXPECT_EQ(t.view().ptr<double>()[1], 3.25e100);
  const std::int16_t i16[] = {bswap<std::int16_t>(-32768), bswap<std::int16_t>(300)};
  ASSERT_TRUE(io::decode_npy(make_npy(">i2", false, "(2,)", i16, sizeof i16), "be", t).ok());
  EXPECT_EQ(t.view().dtype, DType::i32);
  EXPECT_EQ(t.view().ptr<std::int32_t>()[0], -32768);
  EXPECT_EQ(t.view().ptr<std::int32_t>()[1], 300);
}

TEST(Npy, HeaderVersions2And3) {
  const float v[] = {1.5f, -2.0f, 7.0f, 0.25f};
  for (int major : {2, 3}) {
    Tensor t;
    const Status s = io::decode_npy(make_npy("<f4", false, "(2, 2)", v, sizeof v, major), "v", t);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(t.view().ptr<float>()[3], 0.25f);
  }
  Tensor t;
  const Status s = io::decode_npy(make_npy("<f4", false, "(2, 2)", v, sizeof v, 4), "v4.npy", t);
  EXPECT_EQ(s.code(), Errc::unsupported);
  EXPECT_NE(s.message().find("v4.npy"), std::string::npos);
  // A writer header that must grow past 64 KiB switches to version 2.0: not
  // reachable with 8 dims, but a v1 header of odd length still parses.
  std::string dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (2L, 1L), }   \n";
  std::string legacy = std::string("\x93NUMPY\x01", 7) + '\0' + char(dict.size()) + '\0' + dict + "\x05\x06";
  const Status ls = io::decode_npy(to_bytes(legacy), "legacy", t);
  ASSERT_TRUE(ls.ok()) << ls.message();
  EXPECT_EQ(t.view().ptr<std::uint8_t>()[1], 6);
}

TEST(Npy, LosslessWidening) {
  Tensor t;
  const std::uint8_t b1[] = {0, 1, 2, 255};
  ASSERT_TRUE(io::decode_npy(make_npy("|b1", false, "(4,)", b1, 4), "b", t).ok());
  EXPECT_EQ(t.view().dtype, DType::u8);
  EXPECT_EQ(std::vector<std::uint8_t>(t.view().ptr<std::uint8_t>(), t.view().ptr<std::uint8_t>() + 4),
            (std::vector<std::uint8_t>{0, 1, 1, 1}));
  const std::int8_t i1[] = {-128, -1, 0, 127};
  ASSERT_TRUE(io::decode_npy(make_npy("|i1", false, "(4,)", i1, 4), "i1", t).ok());
  EXPECT_EQ(t.view().dtype, DType::i32);
  EXPECT_EQ(t.view().ptr<std::int32_t>()[0], -128);
  EXPECT_EQ(t.view().ptr<std::int32_t>()[3], 127);
  const std::uint32_t u4[] = {0, 4294967295u};
  ASSERT_TRUE(io::decode_npy(make_npy("<u4", false, "(2,)", u4, 8), "u4", t).ok());
  EXPECT_EQ(t.view().dtype, DType::i64);
  EXPECT_EQ(t.view().ptr<std::int64_t>()[1], 4294967295LL);
  // float16: 1.0, -2.5, 65504 (max), smallest subnormal, +inf, NaN
  const std::uint16_t f2[] = {0x3C00, 0xC100, 0x7BFF, 0x0001, 0x7C00, 0x7E00};
  ASSERT_TRUE(io::decode_npy(make_npy("<f2", false, "(6,)", f2, sizeof f2), "f2", t).ok());
  EXPECT_EQ(t.view().dtype, DType::f32);
  const float* f = t.view().ptr<float>();
  EXPECT_EQ(f[0], 1.0f);
  EXPECT_EQ(f[1], -2.5f);
  EXPECT_EQ(f[2], 65504.0f);
  EXPECT_EQ(f[3], std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isinf(f[4]) && f[4] > 0);
  EXPECT_TRUE(std::isnan(f[5]));
}

TEST(Npy, RefusesWhatItCannotHold) {
  TempDir dir;
  const char data[64] = {};
  struct Case { const char* descr; const char* says; };
  for (Case c : {Case{"<c8", "complex64"}, Case{"<u8", "uint64"}, Case{"|O", "object"}, Case{"<U3", "unicode"},
                 Case{"|S4", "bytes"}, Case{"<M8[ns]", "datetime64"}, Case{"<f16", "float128"}}) {
    const std::string path = dir.file("bad.npy");
    write_raw(path, make_npy(c.descr, false, "(2,)", data, sizeof data));
    Tensor t;
    const Status s = io::read_npy(path, t);
    EXPECT_EQ(s.code(), Errc::unsupported) << c.descr << ": " << s.message();
    EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(c.descr), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(c.says), std::string::npos) << s.message();
  }
  // Structured dtype: descr is a list.
  const auto st = make_npy_raw("{'descr': [('a', '<i4'), ('b', '<f4')], 'fortran_order': False, 'shape': (1,), }", data, 8);
  Tensor t;
  Status s = io::decode_npy(st, "structured.npy", t);
  EXPECT_EQ(s.code(), Errc::unsupported) << s.message();
  EXPECT_NE(s.message().find("structured"), std::string::npos) << s.message();
}

TEST(Npy, CorruptFilesAreFormatErrors) {
  TempDir dir;
  Tensor t;
  const std::int32_t v[6] = {1, 2, 3, 4, 5, 6};
  auto good = make_npy("<i4", false, "(2, 3)", v, sizeof v);
  // Truncated data, in memory and on disk.
  auto cut = good;
  cut.resize(cut.size() - 5);
  Status s = io::decode_npy(cut, "cut.npy", t);
  EXPECT_EQ(s.code(), Errc::format_error);
  EXPECT_NE(s.message().find("truncated"), std::string::npos) << s.message();
  write_raw(dir.file("cut.npy"), cut);
  s = io::read_npy(dir.file("cut.npy"), t);
  EXPECT_EQ(s.code(), Errc::format_error);
  EXPECT_NE(s.message().find("cut.npy"), std::string::npos) << s.message();
  // Truncated header, bad magic, empty, malformed dicts, bad shapes.
  for (std::size_t n : {0u, 3u, 9u, 11u, 40u}) {
    std::vector<std::byte> head(good.begin(), good.begin() + std::ptrdiff_t(n));
    EXPECT_EQ(io::decode_npy(head, "h", t).code(), Errc::format_error) << n;
  }
  auto bad = good;
  bad[1] = std::byte('X');
  EXPECT_EQ(io::decode_npy(bad, "m", t).code(), Errc::format_error);
  for (const char* shape : {"(2, -3)", "(2, 'a')", "[2, 3]", "(99999999999, 99999999999)", "(2, 3"}) {
    s = io::decode_npy(make_npy("<i4", false, shape, v, sizeof v), "s", t);
    EXPECT_EQ(s.code(), Errc::format_error) << shape << ": " << s.message();
  }
  s = io::decode_npy(make_npy_raw("{'descr': '<i4', 'fortran_order': False}", v, sizeof v), "ns", t);
  EXPECT_EQ(s.code(), Errc::format_error);
  EXPECT_NE(s.message().find("shape"), std::string::npos) << s.message();
  // Nine dimensions: valid NPY, more than tandem holds.
  s = io::decode_npy(make_npy("|u1", false, "(1, 1, 1, 1, 1, 1, 1, 1, 1)", v, 1), "nine.npy", t);
  EXPECT_EQ(s.code(), Errc::unsupported) << s.message();
  // Random garbage never crashes.
  std::mt19937 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    auto g = good;
    for (int k = 0; k < 4; ++k) g[rng() % g.size()] = std::byte(rng());
    g.resize(rng() % (g.size() + 1));
    (void)io::decode_npy(g, "fuzz", t);
  }
}

TEST(Npy, ChunkedReaderMatchesWholeRead) {
  TempDir dir;
  Tensor a = test::random_tensor(DType::f32, {1000, 37}, 11, -1, 1);
  ASSERT_TRUE(io::write_npy(dir.file("a.npy"), a.view()).ok());
  NpyReader r;
  ASSERT_TRUE(r.open(dir.file("a.npy")).ok());
  EXPECT_EQ(r.header().dtype, DType::f32);
  EXPECT_EQ(r.header().shape, (std::vector<std::int64_t>{1000, 37}));
  EXPECT_EQ(r.header().numel, 37000);
  EXPECT_EQ(r.header().data_offset % 64, 0u);
  // Concurrent reads of disjoint ranges.
  std::vector<float> got(37000);
  std::vector<std::thread> threads;
  std::vector<Status> st(4);
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] { st[i] = r.read_elements(i * 9250, 9250, got.data() + i * 9250); });
  for (auto& th : threads) th.join();
  for (auto& s : st) ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(std::memcmp(got.data(), a.view().data, got.size() * 4), 0);
  EXPECT_EQ(r.read_elements(36999, 2, got.data()).code(), Errc::invalid_argument);
  EXPECT_EQ(r.read_elements(-1, 1, got.data()).code(), Errc::invalid_argument);
  EXPECT_TRUE(r.read_elements(37000, 0, got.data()).ok());
  // A converting read (big-endian int16 -> i32) spanning several scratch chunks.
  std::vector<std::int16_t> be(700001);
  for (std::size_t i = 0; i < be.size(); ++i) be[i] = bswap<std::int16_t>(std::int16_t(i * 31));
  write_raw(dir.file("be.npy"), make_npy(">i2", false, "(700001,)", be.data(), be.size() * 2));
  ASSERT_TRUE(r.open(dir.file("be.npy")).ok());
  EXPECT_EQ(r.header().dtype, DType::i32);
  EXPECT_EQ(r.header().descr, ">i2");
  std::vector<std::int32_t> wide(700000);
  ASSERT_TRUE(r.read_elements(1, 700000, wide.data()).ok());
  for (std::size_t i = 0; i < wide.size(); ++i) ASSERT_EQ(wide[i], std::int16_t((i + 1) * 31)) << i;
  EXPECT_EQ(r.open(dir.file("missing.npy")).code(), Errc::io_error);
  EXPECT_FALSE(r.is_open());
  EXPECT_EQ(r.open(dir.path()).code(), Errc::io_error);
}

TEST(Npy, StreamingWriterWithOpenRowCount) {
  TempDir dir;
  Tensor a = test::random_tensor(DType::u16, {123, 5, 3}, 5);
  NpyWriter w;
  const std::int64_t shape[] = {-1, 5, 3};
  ASSERT_TRUE(w.open(dir.file("s.npy"), DType::u16, shape).ok());
  EXPECT_EQ(dir.entries().size(), 1u);
  EXPECT_TRUE(io::is_temporary_name(dir.entries()[0]));
  // Rows in uneven chunks.
  std::int64_t row = 0;
  for (std::int64_t n : {1, 50, 0, 72}) {
    ASSERT_TRUE(w.append(a.view().ptr<std::uint16_t>() + row * 15, n * 15).ok());
    row += n;
  }
  ASSERT_TRUE(w.finish().ok());
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"s.npy"});
  Tensor b;
  ASSERT_TRUE(io::read_npy(dir.file("s.npy"), b).ok());
  EXPECT_TRUE(same_bytes(a.view(), b.view()));
  // A fixed shape with the wrong count fails and leaves nothing behind.
  const std::int64_t fixed[] = {4, 4};
  ASSERT_TRUE(w.open(dir.file("f.npy"), DType::u16, fixed).ok());
  ASSERT_TRUE(w.append(a.view().data, 15).ok());
  EXPECT_EQ(w.append(a.view().data, 2).code(), Errc::invalid_argument);
  EXPECT_EQ(w.finish().code(), Errc::invalid_argument);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"s.npy"});
  // Not a whole number of rows.
  ASSERT_TRUE(w.open(dir.file("g.npy"), DType::u16, shape).ok());
  ASSERT_TRUE(w.append(a.view().data, 16).ok());
  EXPECT_EQ(w.finish().code(), Errc::invalid_argument);
  // Abandoned writer.
  { NpyWriter w2; ASSERT_TRUE(w2.open(dir.file("h.npy"), DType::f32, shape).ok()); }
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"s.npy"});
  // View of the wrong dtype.
  ASSERT_TRUE(w.open(dir.file("i.npy"), DType::f32, shape).ok());
  EXPECT_EQ(w.append(a.view()).code(), Errc::invalid_argument);
}

// NumPy itself reads what tandem writes (skipped without python3 + numpy).
TEST(Npy, NumpyReadsOurFiles) {
  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) GTEST_SKIP() << "python3 with numpy not available";
  TempDir dir;
  Tensor a = test::random_tensor(DType::f64, {3, 4}, 9, -1, 1);
  ASSERT_TRUE(io::write_npy(dir.file("a.npy"), a.view()).ok());
  const std::int64_t shape[] = {-1, 2};
  NpyWriter w;
  ASSERT_TRUE(w.open(dir.file("b.npy"), DType::i64, shape).ok());
  const std::int64_t rows[] = {1, -2, 3, 1LL << 40};
  ASSERT_TRUE(w.append(rows, 4).ok());
  ASSERT_TRUE(w.finish().ok());
  std::ostringstream cmd;
  cmd << "/usr/bin/python3 -c \"import numpy as np; a = np.load('" << dir.file("a.npy") << "'); b = np.load('"
      << dir.file("b.npy") << "'); assert a.shape == (3, 4) and a.dtype == np.float64; assert abs(a[2, 3] - ("
      << std::setprecision(17) << a.view().ptr<double>()[11] << ")) < 1e-15; assert b.shape == (2, 2) and b[1, 1] == 2**40\"";
  EXPECT_EQ(std::system(cmd.str().c_str()), 0) << cmd.str();
}

// ---------------------------------------------------------------------------
// Image codecs

using io::DecodeOptions;
using io::EncodeOptions;
using io::Format;

// Pixel (y, x, c) of a packed host image as an integer.
std::int64_t px(const View& v, std::int64_t y, std::int64_t x, std::int64_t c) {
  return std::llround(test::pixel(v, y, x, c));
}

// Same dtype and shape, and equal samples (views may have padded rows).
::testing::AssertionResult same_image(const View& a, const View& b) {
  if (a.dtype != b.dtype || a.height() != b.height() || a.width() != b.width() || a.channels() != b.channels())
    return ::testing::AssertionFailure() << a.describe() << " vs " << b.describe();
  const std::size_t row = std::size_t(a.width() * a.channels()) * a.elem_size();
  for (std::int64_t y = 0; y < a.height(); ++y)
    if (std::memcmp(a.row<char>(y), b.row<char>(y), row) != 0)
      return ::testing::AssertionFailure() << "row " << y << " differs (" << a.describe() << ")";
  return ::testing::AssertionSuccess();
}

Tensor decode_ok(const std::vector<std::byte>& bytes, const std::string& name, const DecodeOptions& o = {}) {
  Tensor t;
  const Status s = io::decode(bytes, name, t, o);
  EXPECT_TRUE(s.ok()) << s.message();
  return t;
}

std::vector<std::byte> encode_ok(const View& v, Format f, const EncodeOptions& o = {}) {
  std::vector<std::byte> b;
  const Status s = io::encode(v, f, o, b);
  EXPECT_TRUE(s.ok()) << s.message();
  return b;
}

// A smooth image (what JPEG is made for), with a little noise.
Tensor smooth_image(std::int64_t h, std::int64_t w, std::int64_t c, std::uint64_t seed) {
  Tensor t;
  throw_if_error(Tensor::create_image(DType::u8, h, w, c, Device::cpu(), t));
  std::mt19937 rng{unsigned(seed)};
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x)
      for (std::int64_t k = 0; k < c; ++k) {
        const double v = 128 + 70 * std::sin(x / (6.0 + k)) * std::cos(y / (9.0 - k)) + int(rng() % 5) - 2;
        t.view().row<std::uint8_t>(y)[x * c + k] = std::uint8_t(std::clamp(v, 0.0, 255.0));
      }
  return t;
}

struct Size { std::int64_t h, w; };
const Size kSizes[] = {{1, 1}, {1, 7}, {7, 1}, {37, 53}, {64, 33}, {129, 250}};

TEST(Codec, LosslessRoundTrips) {
  std::uint64_t seed = 100;
  struct Case { Format f; DType t; std::int64_t c; };
  std::vector<Case> cases;
  for (DType t : {DType::u8, DType::u16}) {
    for (std::int64_t c : {1, 3, 4}) cases.push_back({Format::png, t, c});
    cases.push_back({Format::pgm, t, 1});
    cases.push_back({Format::ppm, t, 3});
  }
  for (DType t : kAllDTypes)
    for (std::int64_t c : {1, 3, 4}) cases.push_back({Format::npy, t, c});
  for (const Case& k : cases) {
    for (Size sz : kSizes) {
      SCOPED_TRACE(std::string(io::format_name(k.f)) + " " + dtype_name(k.t) + " " + std::to_string(sz.h) + "x" +
                   std::to_string(sz.w) + "x" + std::to_string(k.c));
      Tensor a = test::random_image(k.t, sz.h, sz.w, k.c, seed++);
      const auto bytes = encode_ok(a.view(), k.f);
      EXPECT_EQ(io::detect_format(bytes), k.f);
      Tensor b = decode_ok(bytes, "rt");
      EXPECT_TRUE(same_image(a.view(), b.view()));
      io::ImageInfo info;
      ASSERT_TRUE(io::probe(bytes, "rt", info).ok());
      EXPECT_EQ(info.format, k.f);
      EXPECT_EQ(info.dtype, k.t);
      EXPECT_EQ(info.height(), sz.h);
      EXPECT_EQ(info.width(), sz.w);
      EXPECT_EQ(info.channels(), k.c);
    }
  }
}

TEST(Codec, PngCompressionLevelsAndPaddedRows) {
  // Smooth 16-bit pixels, so the compression level makes a difference.
  Tensor s8 = smooth_image(31, 17, 3, 5);
  Tensor a;
  throw_if_error(Tensor::create_image(DType::u16, 31, 17, 3, Device::cpu(), a));
  for (std::int64_t i = 0; i < a.view().numel(); ++i) a.view().ptr<std::uint16_t>()[i] = std::uint16_t(s8.view().ptr<std::uint8_t>()[i] * 257);
  // The same pixels in a view with padded rows.
  Tensor padded;
  throw_if_error(Tensor::create(DType::u8, {31, 17 * 3 * 2 + 40}, Device::cpu(), padded));
  View pv = View::image(padded.view().data, DType::u16, 31, 17, 3, Device::cpu(), 17 * 3 * 2 + 40);
  throw_if_error(copy(a.view(), pv));
  std::size_t size0 = 0, size9 = 0;
  for (int level : {0, 1, 6, 9}) {
    const auto bytes = encode_ok(pv, Format::png, {.png_compression = level});
    if (level == 0) size0 = bytes.size();
    if (level == 9) size9 = bytes.size();
    Tensor b = decode_ok(bytes, "lvl");
    EXPECT_TRUE(same_image(a.view(), b.view())) << level;
  }
  EXPECT_GT(size0, size9);
  std::vector<std::byte> out;
  EXPECT_EQ(io::encode(a.view(), Format::png, {.png_compression = 10}, out).code(), Errc::invalid_argument);
  // PGM/PPM and JPEG from padded rows too.
  Tensor g = test::random_image(DType::u8, 9, 11, 3, 6);
  Tensor gp;
  throw_if_error(Tensor::create(DType::u8, {9, 64}, Device::cpu(), gp));
  View gv = View::image(gp.view().data, DType::u8, 9, 11, 3, Device::cpu(), 64);
  throw_if_error(copy(g.view(), gv));
  EXPECT_TRUE(same_image(decode_ok(encode_ok(gv, Format::ppm), "p").view(), g.view()));
  EXPECT_EQ(io::decode(encode_ok(gv, Format::jpeg), "j", padded).code(), Errc::ok);
}

TEST(Codec, JpegRoundTripIsClose) {
  for (std::int64_t c : {1, 3}) {
    for (Size sz : {Size{1, 1}, Size{7, 3}, Size{37, 53}, Size{200, 301}}) {
      SCOPED_TRACE(std::to_string(sz.h) + "x" + std::to_string(sz.w) + "x" + std::to_string(c));
      Tensor a = smooth_image(sz.h, sz.w, c, 7);
      const auto bytes = encode_ok(a.view(), Format::jpeg);
      EXPECT_EQ(io::detect_format(bytes), Format::jpeg);
      Tensor b = decode_ok(bytes, "j");
      ASSERT_EQ(b.view().dtype, DType::u8);
      ASSERT_EQ(b.view().height(), sz.h);
      ASSERT_EQ(b.view().width(), sz.w);
      ASSERT_EQ(b.view().channels(), c);
      double sum = 0, worst = 0;
      const std::int64_t n = a.view().numel();
      for (std::int64_t i = 0; i < n; ++i) {
        const double d = std::abs(test::at(a.view(), i) - test::at(b.view(), i));
        sum += d;
        worst = std::max(worst, d);
      }
      EXPECT_LT(sum / double(n), c == 1 ? 2.0 : 3.5);
      EXPECT_LT(worst, 40);
    }
  }
  // Quality matters.
  Tensor a = smooth_image(120, 160, 3, 8);
  const auto q30 = encode_ok(a.view(), Format::jpeg, {.jpeg_quality = 30});
  const auto q95 = encode_ok(a.view(), Format::jpeg, {.jpeg_quality = 95});
  EXPECT_LT(q30.size(), q95.size());
  std::vector<std::byte> out;
  EXPECT_EQ(io::encode(a.view(), Format::jpeg, {.jpeg_quality = 0}, out).code(), Errc::invalid_argument);
  EXPECT_EQ(io::encode(a.view(), Format::jpeg, {.jpeg_quality = 101}, out).code(), Errc::invalid_argument);
}

TEST(Codec, EncodeRefusesWhatTheFormatCannotHold) {
  std::vector<std::byte> out;
  struct Case { DType t; std::int64_t c; Format f; Errc code; const char* says; };
  for (Case k : {Case{DType::f32, 3, Format::png, Errc::unsupported, "f32"},
                 Case{DType::i32, 1, Format::png, Errc::unsupported, "i32"},
                 Case{DType::u8, 2, Format::png, Errc::unsupported, "2"},
                 Case{DType::u8, 4, Format::jpeg, Errc::unsupported, "alpha"},
                 Case{DType::u16, 3, Format::jpeg, Errc::unsupported, "u16"},
                 Case{DType::u8, 2, Format::jpeg, Errc::unsupported, "2"},
                 Case{DType::u8, 3, Format::pgm, Errc::unsupported, "ppm"},
                 Case{DType::u8, 1, Format::ppm, Errc::unsupported, "pgm"},
                 Case{DType::u8, 4, Format::ppm, Errc::unsupported, "4"},
                 Case{DType::f64, 1, Format::pgm, Errc::unsupported, "f64"}}) {
    Tensor a = test::random_image(k.t, 4, 5, k.c, 1);
    const Status s = io::encode(a.view(), k.f, {}, out);
    EXPECT_EQ(s.code(), k.code) << io::format_name(k.f) << " " << dtype_name(k.t) << " " << k.c << ": " << s.message();
    EXPECT_NE(s.message().find(k.says), std::string::npos) << s.message();
  }
  // Not an image, empty, or not in host memory.
  Tensor v = test::random_tensor(DType::u8, {2, 3, 4, 5}, 1);
  EXPECT_EQ(io::encode(v.view(), Format::png, {}, out).code(), Errc::invalid_argument);
  EXPECT_TRUE(io::encode(v.view(), Format::npy, {}, out).ok());  // NPY takes any array
  Tensor e;
  throw_if_error(Tensor::create_image(DType::u8, 0, 5, 3, Device::cpu(), e));
  EXPECT_EQ(io::encode(e.view(), Format::png, {}, out).code(), Errc::invalid_argument);
  std::uint8_t dummy[16] = {};
  View gpu = View::image(dummy, DType::u8, 2, 2, 1, Device::cuda(0));
  const Status s = io::encode(gpu, Format::png, {}, out);
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_NE(s.message().find("host memory"), std::string::npos) << s.message();
}

TEST(Codec, FormatNamesDetectionAndExtensions) {
  for (Format f : {Format::png, Format::jpeg, Format::pgm, Format::ppm, Format::npy})
    EXPECT_EQ(io::parse_format(io::format_name(f)), f);
  EXPECT_EQ(io::parse_format("JPG"), Format::jpeg);
  EXPECT_FALSE(io::parse_format("gif").has_value());
  EXPECT_EQ(io::format_from_path("a/b/c.PNG"), Format::png);
  EXPECT_EQ(io::format_from_path("x.jpeg"), Format::jpeg);
  EXPECT_EQ(io::format_from_path("x.jpe"), Format::jpeg);
  EXPECT_EQ(io::format_from_path("dir.png/x.npy"), Format::npy);
  EXPECT_FALSE(io::format_from_path("dir.png/noext").has_value());
  EXPECT_FALSE(io::format_from_path(".png").has_value());
  EXPECT_EQ(io::detect_format(to_bytes("P5\n1 1\n255\n\x01")), Format::pgm);
  EXPECT_EQ(io::detect_format(to_bytes("P3 1 1 255 1 2 3")), Format::ppm);
  EXPECT_EQ(io::detect_format(to_bytes("P4#c\n")), Format::pgm);
  EXPECT_FALSE(io::detect_format(to_bytes("P7\nWIDTH 1")).has_value());
  EXPECT_FALSE(io::detect_format(to_bytes("Pizza")).has_value());
  EXPECT_FALSE(io::detect_format({}).has_value());
}

TEST(Codec, DecodeIntoPreallocatedViews) {
  Tensor a = test::random_image(DType::u16, 13, 21, 4, 2);
  const auto png = encode_ok(a.view(), Format::png);
  Tensor buf;
  throw_if_error(Tensor::create(DType::u8, {13, 21 * 8 + 64}, Device::cpu(), buf));
  View dst = View::image(buf.view().data, DType::u16, 13, 21, 4, Device::cpu(), 21 * 8 + 64);
  ASSERT_TRUE(io::decode_into(png, "into", dst).ok());
  EXPECT_TRUE(same_image(a.view(), dst));
  View wrong = View::image(buf.view().data, DType::u16, 13, 20, 4, Device::cpu(), 21 * 8 + 64);
  Status s = io::decode_into(png, "into.png", wrong);
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_NE(s.message().find("into.png"), std::string::npos) << s.message();
  Tensor g = smooth_image(16, 16, 3, 1);
  const auto jpg = encode_ok(g.view(), Format::jpeg);
  Tensor gd;
  throw_if_error(Tensor::create_image(DType::u8, 16, 16, 3, Device::cpu(), gd));
  ASSERT_TRUE(io::decode_into(jpg, "j", gd.view()).ok());
  EXPECT_TRUE(same_image(gd.view(), decode_ok(jpg, "j").view()));
  Tensor n = test::random_tensor(DType::f32, {3, 4, 5}, 2);
  const auto npy = encode_ok(n.view(), Format::npy);
  Tensor nd;
  throw_if_error(Tensor::create(DType::f32, {3, 4, 5}, Device::cpu(), nd));
  ASSERT_TRUE(io::decode_into(npy, "n", nd.view()).ok());
  EXPECT_TRUE(same_bytes(n.view(), nd.view()));
  throw_if_error(Tensor::create(DType::f32, {3, 20}, Device::cpu(), nd));
  EXPECT_EQ(io::decode_into(npy, "n", nd.view()).code(), Errc::invalid_argument);
}

// ---- the bundled photos, against OpenCV (tests/golden/make_io_golden.py)

struct Golden {
  std::int64_t h = 0, w = 0, c = 0;
  std::string dtype;
  std::int64_t sum = 0;
  std::vector<std::pair<std::pair<std::int64_t, std::int64_t>, std::vector<std::int64_t>>> samples;
};

std::map<std::string, Golden> load_golden() {
  std::map<std::string, Golden> out;
  std::ifstream f(std::string(TANDEM_SOURCE_DIR) + "/tests/golden/io_golden.txt");
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string name;
    Golden g;
    ls >> name >> g.h >> g.w >> g.c >> g.dtype >> g.sum;
    std::string tok;
    while (ls >> tok) {
      std::int64_t y = 0, x = 0;
      char comma = 0, eq = 0;
      std::istringstream ts(tok);
      ts >> y >> comma >> x >> eq;
      std::vector<std::int64_t> vals;
      std::string v;
      while (std::getline(ts, v, '/')) vals.push_back(std::stoll(v));
      g.samples.push_back({{y, x}, vals});
    }
    out[name] = g;
  }
  return out;
}

TEST(Photos, DecodeMatchesOpenCV) {
  const auto golden = load_golden();
  ASSERT_GE(golden.size(), 9u) << "tests/golden/io_golden.txt missing or short";
  for (const auto& [name, g] : golden) {
    SCOPED_TRACE(name);
    Tensor t;
    const Status s = io::read_image(test::data_dir() + "/images/" + name, t);
    ASSERT_TRUE(s.ok()) << s.message();
    const View& v = t.view();
    EXPECT_EQ(v.height(), g.h);
    EXPECT_EQ(v.width(), g.w);
    EXPECT_EQ(v.channels(), g.c);
    EXPECT_EQ(dtype_name(v.dtype), g.dtype);
    std::int64_t sum = 0;
    for (std::int64_t i = 0; i < v.numel(); ++i) sum += std::llround(test::at(v, i));
    EXPECT_EQ(sum, g.sum);
    for (const auto& [yx, vals] : g.samples)
      for (std::size_t k = 0; k < vals.size(); ++k)
        EXPECT_EQ(px(v, yx.first, yx.second, std::int64_t(k)), vals[k]) << "at " << yx.first << "," << yx.second;
  }
}

TEST(Photos, SizesMatchSourcesMd) {
  std::ifstream f(test::data_dir() + "/images/SOURCES.md");
  ASSERT_TRUE(f.good());
  std::string line;
  int checked = 0;
  while (std::getline(f, line)) {
    if (line.rfind("| ", 0) != 0 || (line.find(".png") == std::string::npos && line.find(".jpg") == std::string::npos)) continue;
    std::vector<std::string> cols;
    std::istringstream ls(line);
    std::string col;
    while (std::getline(ls, col, '|')) {
      col.erase(0, col.find_first_not_of(' '));
      col.erase(col.find_last_not_of(' ') + 1);
      cols.push_back(col);
    }
    ASSERT_GE(cols.size(), 3u) << line;
    const std::string& name = cols[1];
    std::int64_t w = 0, h = 0;
    char x = 0;
    std::istringstream(cols[2]) >> w >> x >> h;
    SCOPED_TRACE(name);
    std::vector<std::byte> bytes;
    ASSERT_TRUE(io::read_file(test::data_dir() + "/images/" + name, bytes).ok());
    io::ImageInfo info;
    const Status ps = io::probe(bytes, name, info);
    ++checked;
    ASSERT_TRUE(ps.ok()) << ps.message();
    EXPECT_EQ(info.width(), w);
    EXPECT_EQ(info.height(), h);
    if (cols[2].find("gray") != std::string::npos) {
      EXPECT_EQ(info.channels(), 1);
    }
    if (cols[2].find("RGB") != std::string::npos) {
      EXPECT_EQ(info.channels(), 3);
    }
    EXPECT_EQ(info.format, name.ends_with(".png") ? Format::png : Format::jpeg);
  }
  EXPECT_EQ(checked, 9);
}

TEST(Photos, TruncatedJpegIsAnError) {
  const std::string path = test::data_dir() + "/broken/truncated.jpg";
  Tensor t;
  Status s = io::read_image(path, t);
  EXPECT_EQ(s.code(), Errc::format_error) << s.message();
  EXPECT_NE(s.message().find("truncated.jpg"), std::string::npos) << s.message();
  EXPECT_TRUE(t.empty());
  // It is cut inside the header, so even lenient decoding fails.
  EXPECT_EQ(io::read_image(path, t, {.strict = false}).code(), Errc::format_error);
}

// ---- corrupt input

TEST(Codec, EmptyGarbageAndUnsupportedFiles) {
  TempDir dir;
  Tensor t;
  write_raw(dir.file("empty.png"), {});
  Status s = io::read_image(dir.file("empty.png"), t);
  EXPECT_EQ(s.code(), Errc::format_error);
  EXPECT_NE(s.message().find("empty.png"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("empty"), std::string::npos) << s.message();
  std::mt19937 rng(3);
  std::vector<std::byte> garbage(1000);
  for (auto& b : garbage) b = std::byte(rng());
  garbage[0] = std::byte(0x42);
  s = io::decode(garbage, "garbage.jpg", t);
  EXPECT_EQ(s.code(), Errc::format_error);
  EXPECT_NE(s.message().find("garbage.jpg"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("not a PNG"), std::string::npos) << s.message();
  // The right magic, then garbage.
  for (const char* magic : {"\x89PNG\r\n\x1a\n", "\xff\xd8\xff", "P6\n", "\x93NUMPY"}) {
    auto g = garbage;
    std::memcpy(g.data(), magic, std::strlen(magic));
    s = io::decode(g, "g", t);
    EXPECT_FALSE(s.ok());
    EXPECT_TRUE(s.code() == Errc::format_error || s.code() == Errc::unsupported) << s.message();
  }
  s = io::decode(to_bytes("GIF89a\x01\x00\x01\x00"), "anim.gif", t);
  EXPECT_EQ(s.code(), Errc::unsupported);
  EXPECT_NE(s.message().find("GIF"), std::string::npos) << s.message();
  // Missing file and directory.
  EXPECT_EQ(io::read_image(dir.file("missing.png"), t).code(), Errc::io_error);
  s = io::read_image(dir.path(), t);
  EXPECT_EQ(s.code(), Errc::io_error);
  EXPECT_NE(s.message().find(dir.path()), std::string::npos) << s.message();
}

TEST(Codec, PngCutInHalf) {
  std::vector<std::byte> bytes;
  ASSERT_TRUE(io::read_file(test::data_dir() + "/images/astronaut.png", bytes).ok());
  bytes.resize(bytes.size() / 2);
  Tensor t;
  const Status s = io::decode(bytes, "astronaut-half.png", t);
  EXPECT_EQ(s.code(), Errc::format_error);
  EXPECT_NE(s.message().find("astronaut-half.png"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("truncated"), std::string::npos) << s.message();
  // Every prefix of a small PNG fails cleanly; only the whole file decodes.
  Tensor a = test::random_image(DType::u8, 9, 7, 3, 1);
  const auto png = encode_ok(a.view(), Format::png);
  for (std::size_t n = 0; n < png.size(); ++n)
    EXPECT_FALSE(io::decode(std::span(png).first(n), "prefix", t).ok()) << n;
  EXPECT_TRUE(io::decode(png, "whole", t).ok());
}

// A PNG whose header claims w x h (valid CRCs; no pixel data).
std::vector<std::byte> png_header_only(std::uint32_t w, std::uint32_t h) {
  std::string s = "\x89PNG\r\n\x1a\n";
  auto be32 = [&](std::uint32_t v) {
    for (int i = 3; i >= 0; --i) s += char((v >> (8 * i)) & 0xff);
  };
  auto chunk = [&](const char* type, const std::string& data) {
    be32(std::uint32_t(data.size()));
    const std::string td = std::string(type, 4) + data;
    s += td;
    be32(std::uint32_t(crc32(0, reinterpret_cast<const Bytef*>(td.data()), uInt(td.size()))));
  };
  std::string ihdr;
  for (std::uint32_t v : {w, h})
    for (int i = 3; i >= 0; --i) ihdr += char((v >> (8 * i)) & 0xff);
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB
  chunk("IHDR", ihdr);
  chunk("IDAT", std::string("\x78\x01\x01\x00\x00\xff\xff", 7));  // never reached
  chunk("IEND", "");
  return to_bytes(s);
}

TEST(Codec, HugeHeadersAreRefusedBeforeAllocating) {
  Tensor t;
  // PNG claiming 100000 x 100000 RGB (30 GB).
  const auto png = png_header_only(100000, 100000);
  io::ImageInfo info;
  const Status ps = io::probe(png, "huge.png", info);
  ASSERT_TRUE(ps.ok()) << ps.message();
  EXPECT_EQ(info.width(), 100000);
  Status s = io::decode(png, "huge.png", t);
  EXPECT_EQ(s.code(), Errc::unsupported) << s.message();
  EXPECT_NE(s.message().find("huge.png"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("100000x100000"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("max_pixels"), std::string::npos) << s.message();
  // JPEG claiming 65000 x 65000: patch the SOF of a real one.
  Tensor g = smooth_image(16, 16, 3, 1);
  auto jpg = encode_ok(g.view(), Format::jpeg);
  bool patched = false;
  for (std::size_t i = 0; i + 9 < jpg.size(); ++i)
    if (jpg[i] == std::byte(0xff) && jpg[i + 1] == std::byte(0xc0)) {
      for (std::size_t k : {i + 5, i + 7}) {
        jpg[k] = std::byte(65000 >> 8);
        jpg[k + 1] = std::byte(65000 & 0xff);
      }
      patched = true;
      break;
    }
  ASSERT_TRUE(patched);
  s = io::decode(jpg, "huge.jpg", t);
  EXPECT_EQ(s.code(), Errc::unsupported) << s.message();
  EXPECT_NE(s.message().find("65000x65000"), std::string::npos) << s.message();
  s = io::decode(to_bytes("P5\n200000 300000\n255\n"), "huge.pgm", t);
  EXPECT_EQ(s.code(), Errc::unsupported) << s.message();
  const char none[1] = {};
  s = io::decode(make_npy("<f4", false, "(100000, 100000)", none, 0), "huge.npy", t);
  EXPECT_EQ(s.code(), Errc::unsupported) << s.message();
  // A small limit applies to ordinary images.
  Tensor a = test::random_image(DType::u8, 37, 53, 1, 1);
  s = io::decode(encode_ok(a.view(), Format::pgm), "small.pgm", t, {.max_pixels = 37 * 53 - 1});
  EXPECT_EQ(s.code(), Errc::unsupported);
  EXPECT_TRUE(io::decode(encode_ok(a.view(), Format::pgm), "small.pgm", t, {.max_pixels = 37 * 53}).ok());
}

// --max-pixels counts bytes too: a 16-bit RGBA pixel is worth two 8-bit RGBA
// ones. max_bytes caps what any decode may allocate.
TEST(Codec, DeepPixelsAndMaxBytesAreCheckedFromTheHeader) {
  Tensor t;
  const Tensor deep = test::random_image(DType::u16, 100, 100, 4, 7);  // 80000 bytes
  const Tensor rgba = test::random_image(DType::u8, 100, 100, 4, 8);   // 40000 bytes
  const auto deep_png = encode_ok(deep.view(), Format::png);
  const auto rgba_png = encode_ok(rgba.view(), Format::png);
  Status s = io::decode(deep_png, "deep.png", t, {.max_pixels = 15000});
  EXPECT_EQ(s.code(), Errc::unsupported) << s.message();
  EXPECT_NE(s.message().find("deep.png': png of 100x100x4 u16 decodes to 80000 bytes, more than 4 x DecodeOptions::max_pixels (15000"),
            std::string::npos) << s.message();
  EXPECT_TRUE(io::decode(deep_png, "deep.png", t, {.max_pixels = 20000}).ok());
  EXPECT_TRUE(io::decode(rgba_png, "rgba.png", t, {.max_pixels = 15000}).ok());
  s = io::decode(rgba_png, "rgba.png", t, {.max_bytes = 39999});
  EXPECT_EQ(s.code(), Errc::out_of_memory) << s.message();
  EXPECT_NE(s.message().find("decodes to 40000 bytes, more than the 39999 bytes allowed"), std::string::npos) << s.message();
  ASSERT_TRUE(io::decode(rgba_png, "rgba.png", t, {.max_bytes = 40000}).ok());
  EXPECT_TRUE(same_bytes(t.view(), rgba.view()));
  const std::vector<std::byte> npy = [&] {
    std::vector<std::byte> b;
    EXPECT_TRUE(io::encode_npy(deep.view(), b).ok());
    return b;
  }();
  EXPECT_EQ(io::decode(npy, "deep.npy", t, {.max_bytes = 79999}).code(), Errc::out_of_memory);
  EXPECT_TRUE(io::decode(npy, "deep.npy", t, {.max_bytes = 80000}).ok());
}

// probe_file reads only the start of a file, more when metadata comes before
// the pixels; a FIFO is refused at once (nothing writes to it: a blocking
// open would never return).
TEST(Codec, ProbeFileReadsPastLargeMetadataAndRefusesFifos) {
  TempDir dir;
  const Tensor img = test::random_image(DType::u16, 31, 47, 3, 9);
  auto png = encode_ok(img.view(), Format::png);
  // A 300 KB tEXt chunk right after IHDR (offset 8 + 25).
  std::string body = "tEXtComment";
  body += '\0';
  body += std::string(300000, 'x');
  std::vector<std::byte> chunk;
  auto put32 = [&](std::uint32_t v) {
    for (int k = 3; k >= 0; --k) chunk.push_back(std::byte(v >> (8 * k)));
  };
  put32(std::uint32_t(body.size() - 4));
  for (char c : body) chunk.push_back(std::byte(c));
  put32(std::uint32_t(crc32(0, reinterpret_cast<const Bytef*>(body.data()), uInt(body.size()))));
  png.insert(png.begin() + 33, chunk.begin(), chunk.end());
  write_raw(dir.file("meta.png"), png);
  io::ImageInfo info;
  std::uint64_t size = 0;
  const Status s = io::probe_file(dir.file("meta.png"), info, size);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(size, png.size());
  EXPECT_EQ(info.shape, (std::vector<std::int64_t>{31, 47, 3}));
  EXPECT_EQ(info.dtype, DType::u16);
  EXPECT_EQ(io::decoded_bytes(info), 31u * 47 * 3 * 2);
  Tensor t;
  ASSERT_TRUE(io::read_image(dir.file("meta.png"), t).ok());
  EXPECT_TRUE(same_bytes(t.view(), img.view()));

  ASSERT_EQ(::mkfifo(dir.file("pipe.png").c_str(), 0644), 0);
  const auto t0 = std::chrono::steady_clock::now();
  const Status f = io::probe_file(dir.file("pipe.png"), info, size);
  EXPECT_EQ(f.code(), Errc::io_error);
  EXPECT_NE(f.message().find("pipe.png': it is a FIFO (named pipe), not a regular file"), std::string::npos) << f.message();
  EXPECT_EQ(io::read_image(dir.file("pipe.png"), t).code(), Errc::io_error);
  io::NpyReader r;
  EXPECT_EQ(r.open(dir.file("pipe.png")).code(), Errc::io_error);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
}

// EXIF orientation 1..8 (both byte orders) is applied as OpenCV's imread
// applies it (tests/golden/make_exif_golden.py); apply_orientation = false
// gives the stored pixels, and probe reports the oriented size.
TEST(Jpeg, ExifOrientationAsOpenCvShowsIt) {
  const std::string dir = std::string(TANDEM_SOURCE_DIR) + "/tests/golden/exif/";
  Tensor raw;
  ASSERT_TRUE(io::read_npy(dir + "raw.npy", raw).ok());
  for (int k = 1; k <= 8; ++k) {
    const std::string name = dir + "orient" + std::to_string(k) + ".jpg";
    std::vector<std::byte> bytes;
    ASSERT_TRUE(io::read_file(name, bytes).ok());
    Tensor want, got, stored;
    ASSERT_TRUE(io::read_npy(dir + "orient" + std::to_string(k) + ".npy", want).ok());
    ASSERT_TRUE(io::decode(bytes, name, got).ok());
    EXPECT_TRUE(got.view().same_layout(want.view())) << k << ": " << got.view().describe();
    EXPECT_TRUE(same_bytes(got.view(), want.view())) << "orientation " << k;
    io::ImageInfo info;
    ASSERT_TRUE(io::probe(bytes, name, info).ok());
    EXPECT_EQ(info.height(), k < 5 ? 24 : 40) << k;
    io::DecodeOptions keep;
    keep.apply_orientation = false;
    ASSERT_TRUE(io::decode(bytes, name, stored, keep).ok());
    EXPECT_TRUE(same_bytes(stored.view(), raw.view())) << "orientation " << k << " kept raw";
  }
}

// Mutated and cut-short files of every format: errors, never crashes.
TEST(Codec, FuzzedInputNeverCrashes) {
  std::vector<std::vector<std::byte>> seeds;
  seeds.push_back(encode_ok(test::random_image(DType::u8, 12, 10, 3, 1).view(), Format::png));
  seeds.push_back(encode_ok(test::random_image(DType::u16, 5, 6, 4, 1).view(), Format::png));
  seeds.push_back(encode_ok(smooth_image(24, 20, 3, 1).view(), Format::jpeg));
  seeds.push_back(encode_ok(smooth_image(17, 9, 1, 1).view(), Format::jpeg));
  seeds.push_back(encode_ok(test::random_image(DType::u16, 5, 6, 1, 1).view(), Format::pgm));
  seeds.push_back(to_bytes("P3\n# c\n2 2\n255\n1 2 3  4 5 6\n7 8 9 10 11 12\n"));
  seeds.push_back(to_bytes("P1\n3 2\n010\n1 1 1\n"));
  seeds.push_back(encode_ok(test::random_tensor(DType::f32, {3, 4}, 1).view(), Format::npy));
  std::mt19937 rng(11);
  int decoded = 0;
  // TANDEM_IO_FUZZ=N runs N trials (e.g. a long run under a sanitizer build).
  const char* env = std::getenv("TANDEM_IO_FUZZ");
  const int trials = env ? std::atoi(env) : 3000;
  for (int trial = 0; trial < trials; ++trial) {
    auto b = seeds[std::size_t(trial) % seeds.size()];
    const int flips = int(rng() % 6);
    for (int k = 0; k < flips; ++k) b[rng() % b.size()] = std::byte(rng());
    if (rng() % 3 == 0) b.resize(rng() % b.size());
    Tensor t;
    const Status s = io::decode(b, "fuzz", t, {.max_pixels = 1 << 20});
    if (s.ok()) {
      ++decoded;
      EXPECT_FALSE(t.empty());
    } else {
      EXPECT_FALSE(s.message().empty());
    }
  }
  EXPECT_GT(decoded, 0);
}

// ---- PNG variants written with libpng directly

struct PngSpec {
  PngSpec(std::uint32_t w_, std::uint32_t h_, int depth_, int color_, int interlace_ = PNG_INTERLACE_NONE)
      : w(w_), h(h_), depth(depth_), color(color_), interlace(interlace_) {}
  std::uint32_t w = 0, h = 0;
  int depth = 8, color = PNG_COLOR_TYPE_GRAY, interlace = PNG_INTERLACE_NONE;
  std::vector<std::vector<png_byte>> rows;  // as PNG stores them (big-endian 16-bit, packed low bits)
  std::vector<png_color> palette;
  std::vector<png_byte> trans;
};

struct PngOut {
  std::vector<std::byte>* out;
};
extern "C" void test_png_write(png_structp png, png_bytep d, std::size_t n) {
  auto* o = static_cast<PngOut*>(png_get_io_ptr(png));
  o->out->insert(o->out->end(), reinterpret_cast<std::byte*>(d), reinterpret_cast<std::byte*>(d) + n);
}
extern "C" void test_png_flush(png_structp) {}

[[gnu::noinline]] int write_png_c(png_structp png, png_infop info, const PngSpec* s, PngOut* o, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return 1;
  png_set_write_fn(png, o, test_png_write, test_png_flush);
  png_set_IHDR(png, info, s->w, s->h, s->depth, s->color, s->interlace, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (!s->palette.empty()) png_set_PLTE(png, info, s->palette.data(), int(s->palette.size()));
  if (!s->trans.empty()) png_set_tRNS(png, info, s->trans.data(), int(s->trans.size()), nullptr);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  return 0;
}

std::vector<std::byte> write_png(PngSpec& s) {
  std::vector<std::byte> out;
  PngOut o{&out};
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  std::vector<png_bytep> rows;
  for (auto& r : s.rows) rows.push_back(r.data());
  const int rc = write_png_c(png, info, &s, &o, rows.data());
  png_destroy_write_struct(&png, &info);
  EXPECT_EQ(rc, 0);
  return out;
}

TEST(PngVariants, PaletteLowBitGrayAndGrayAlpha) {
  std::mt19937 rng(5);
  // 8-bit palette without transparency -> RGB.
  PngSpec p(13, 5, 8, PNG_COLOR_TYPE_PALETTE);
  for (int i = 0; i < 200; ++i) p.palette.push_back({png_byte(rng()), png_byte(rng()), png_byte(rng())});
  for (std::uint32_t y = 0; y < p.h; ++y) {
    p.rows.emplace_back();
    for (std::uint32_t x = 0; x < p.w; ++x) p.rows.back().push_back(png_byte(rng() % 200));
  }
  Tensor t = decode_ok(write_png(p), "pal8");
  ASSERT_EQ(t.view().channels(), 3);
  ASSERT_EQ(t.view().dtype, DType::u8);
  for (std::uint32_t y = 0; y < p.h; ++y)
    for (std::uint32_t x = 0; x < p.w; ++x) {
      const png_color c = p.palette[p.rows[y][x]];
      EXPECT_EQ(px(t.view(), y, x, 0), c.red);
      EXPECT_EQ(px(t.view(), y, x, 1), c.green);
      EXPECT_EQ(px(t.view(), y, x, 2), c.blue);
    }
  // 4-bit palette with tRNS for the first 3 entries -> RGBA.
  PngSpec q(7, 3, 4, PNG_COLOR_TYPE_PALETTE);
  for (int i = 0; i < 16; ++i) q.palette.push_back({png_byte(i * 16), png_byte(255 - i), png_byte(i)});
  q.trans = {0, 100, 200};
  std::vector<std::vector<int>> idx(3, std::vector<int>(7));
  for (std::uint32_t y = 0; y < q.h; ++y) {
    q.rows.emplace_back(4, 0);
    for (std::uint32_t x = 0; x < q.w; ++x) {
      idx[y][x] = int(rng() % 16);
      q.rows[y][x / 2] |= png_byte(idx[y][x] << (x % 2 ? 0 : 4));
    }
  }
  t = decode_ok(write_png(q), "pal4");
  ASSERT_EQ(t.view().channels(), 4);
  for (std::uint32_t y = 0; y < q.h; ++y)
    for (std::uint32_t x = 0; x < q.w; ++x) {
      const int i = idx[y][x];
      EXPECT_EQ(px(t.view(), y, x, 0), i * 16);
      EXPECT_EQ(px(t.view(), y, x, 1), 255 - i);
      EXPECT_EQ(px(t.view(), y, x, 3), i < 3 ? q.trans[std::size_t(i)] : 255);
    }
  // 1-, 2- and 4-bit gray -> u8 scaled to 0..255 (as libpng and OpenCV do).
  for (int bits : {1, 2, 4}) {
    PngSpec g(11, 4, bits, PNG_COLOR_TYPE_GRAY);
    std::vector<std::vector<int>> val(4, std::vector<int>(11));
    const int per = 8 / bits;
    for (std::uint32_t y = 0; y < g.h; ++y) {
      g.rows.emplace_back((11 + per - 1) / per, 0);
      for (std::uint32_t x = 0; x < g.w; ++x) {
        val[y][x] = int(rng() % (1u << bits));
        g.rows[y][x / per] |= png_byte(val[y][x] << (8 - bits * (int(x % per) + 1)));
      }
    }
    t = decode_ok(write_png(g), "gray" + std::to_string(bits));
    ASSERT_EQ(t.view().channels(), 1);
    ASSERT_EQ(t.view().dtype, DType::u8);
    for (std::uint32_t y = 0; y < g.h; ++y)
      for (std::uint32_t x = 0; x < g.w; ++x) EXPECT_EQ(px(t.view(), y, x, 0), val[y][x] * 255 / ((1 << bits) - 1)) << bits;
  }
  // Gray + alpha, 8 and 16 bits -> RGBA with gray in R, G, B.
  for (int depth : {8, 16}) {
    PngSpec ga(5, 3, depth, PNG_COLOR_TYPE_GRAY_ALPHA);
    const int bps = depth / 8;
    for (std::uint32_t y = 0; y < ga.h; ++y) {
      ga.rows.emplace_back();
      for (std::uint32_t i = 0; i < ga.w * 2 * std::uint32_t(bps); ++i) ga.rows.back().push_back(png_byte(rng()));
    }
    t = decode_ok(write_png(ga), "ga");
    ASSERT_EQ(t.view().channels(), 4);
    ASSERT_EQ(t.view().dtype, depth == 8 ? DType::u8 : DType::u16);
    for (std::uint32_t y = 0; y < ga.h; ++y)
      for (std::uint32_t x = 0; x < ga.w; ++x) {
        auto sample = [&](int k) {
          const png_byte* p0 = ga.rows[y].data() + (x * 2 + std::uint32_t(k)) * std::uint32_t(bps);
          return bps == 1 ? std::int64_t(p0[0]) : std::int64_t(p0[0] << 8 | p0[1]);
        };
        for (int c = 0; c < 3; ++c) EXPECT_EQ(px(t.view(), y, x, c), sample(0));
        EXPECT_EQ(px(t.view(), y, x, 3), sample(1));
      }
  }
}

TEST(PngVariants, SixteenBitInterlacedAndGray16) {
  std::mt19937 rng(9);
  // Adam7-interlaced 16-bit RGB: raw big-endian samples come back as u16 values.
  PngSpec s(19, 11, 16, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_ADAM7);
  for (std::uint32_t y = 0; y < s.h; ++y) {
    s.rows.emplace_back();
    for (std::uint32_t i = 0; i < s.w * 6; ++i) s.rows.back().push_back(png_byte(rng()));
  }
  Tensor t = decode_ok(write_png(s), "rgb16i");
  ASSERT_EQ(t.view().dtype, DType::u16);
  ASSERT_EQ(t.view().channels(), 3);
  for (std::uint32_t y = 0; y < s.h; ++y)
    for (std::uint32_t x = 0; x < s.w; ++x)
      for (int c = 0; c < 3; ++c) {
        const png_byte* p = s.rows[y].data() + (x * 3 + std::uint32_t(c)) * 2;
        EXPECT_EQ(px(t.view(), y, x, c), p[0] << 8 | p[1]);
      }
  PngSpec g(3, 2, 16, PNG_COLOR_TYPE_GRAY);
  g.rows = {{0x12, 0x34, 0xff, 0xff, 0x00, 0x01}, {0x80, 0x00, 0x00, 0x00, 0xab, 0xcd}};
  t = decode_ok(write_png(g), "g16");
  EXPECT_EQ(px(t.view(), 0, 0, 0), 0x1234);
  EXPECT_EQ(px(t.view(), 0, 1, 0), 0xffff);
  EXPECT_EQ(px(t.view(), 1, 2, 0), 0xabcd);
  // And tandem's 16-bit PNG writes big-endian samples as the format requires.
  Tensor a;
  throw_if_error(Tensor::create_image(DType::u16, 1, 1, 1, Device::cpu(), a));
  a.view().ptr<std::uint16_t>()[0] = 0x1234;
  const auto bytes = encode_ok(a.view(), Format::png);
  // Decode with libpng's simplified API as an independent reader.
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  ASSERT_TRUE(png_image_begin_read_from_memory(&img, bytes.data(), bytes.size()));
  img.format = PNG_FORMAT_LINEAR_Y;
  std::uint16_t v = 0;
  ASSERT_TRUE(png_image_finish_read(&img, nullptr, &v, 0, nullptr));
  EXPECT_NEAR(v, 0x1234, 1);  // linear format, no gamma change for a 16-bit file
}

// ---- PNG integrity: cut short, flipped bytes, checksums

// Offset of the first chunk of `type` (its length field), or npos.
std::size_t find_chunk(const std::vector<std::byte>& b, const char* type, std::size_t from = 8) {
  for (std::size_t p = from; p + 12 <= b.size();) {
    const auto u = [&](std::size_t i) { return std::uint32_t(b[p + i]); };
    const std::uint32_t len = u(0) << 24 | u(1) << 16 | u(2) << 8 | u(3);
    if (std::memcmp(&b[p + 4], type, 4) == 0) return p;
    p += 12 + std::size_t(len);
  }
  return std::string::npos;
}

std::uint32_t chunk_length(const std::vector<std::byte>& b, std::size_t p) {
  return std::uint32_t(b[p]) << 24 | std::uint32_t(b[p + 1]) << 16 | std::uint32_t(b[p + 2]) << 8 | std::uint32_t(b[p + 3]);
}

// Recomputes the CRC of the chunk at p (independently of the code under test: zlib's crc32).
void fix_crc(std::vector<std::byte>& b, std::size_t p) {
  const std::uint32_t len = chunk_length(b, p);
  const auto crc = std::uint32_t(crc32(0, reinterpret_cast<const Bytef*>(&b[p + 4]), uInt(len + 4)));
  for (int i = 0; i < 4; ++i) b[p + 8 + len + std::size_t(i)] = std::byte(crc >> (24 - 8 * i));
}

TEST(PngIntegrity, FlippedIdatByteIsACrcError) {
  auto png = slurp(test::data_dir() + "/images/astronaut.png");
  const std::size_t idat = find_chunk(png, "IDAT");
  ASSERT_NE(idat, std::string::npos);
  png[idat + 8 + chunk_length(png, idat) / 2] ^= std::byte(0x10);
  Tensor t;
  const Status s = io::decode(png, "flipped.png", t);
  EXPECT_EQ(s.code(), Errc::format_error) << s.message();
  EXPECT_NE(s.message().find("flipped.png"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("CRC"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("IDAT"), std::string::npos) << s.message();
  EXPECT_TRUE(t.empty());
  // A corrupt header is reported by probe too.
  png = slurp(test::data_dir() + "/images/astronaut.png");
  png[16 + 3] ^= std::byte(1);  // IHDR width
  io::ImageInfo info;
  EXPECT_EQ(io::probe(png, "ihdr.png", info).code(), Errc::format_error);
}

// With the chunk CRC made to match, the zlib layer (structure, Adler-32) still
// catches the change.
TEST(PngIntegrity, FlippedPixelDataWithAValidCrcIsStillAnError) {
  const auto orig = slurp(test::data_dir() + "/images/astronaut.png");
  const std::size_t idat = find_chunk(orig, "IDAT");
  const std::uint32_t len = chunk_length(orig, idat);
  for (std::uint32_t at : {2u, 100u, len / 3, len / 2, len - 1}) {
    auto png = orig;
    png[idat + 8 + at] ^= std::byte(0x5a);
    fix_crc(png, idat);
    Tensor t;
    const Status s = io::decode(png, "recrc.png", t);
    EXPECT_EQ(s.code(), Errc::format_error) << at << ": " << s.message();
    EXPECT_NE(s.message().find("recrc.png"), std::string::npos) << s.message();
  }
  // The Adler-32 trailer: the last 4 bytes of the last IDAT chunk.
  Tensor a = test::random_image(DType::u8, 23, 19, 3, 3);
  auto png = encode_ok(a.view(), Format::png);
  std::size_t last = find_chunk(png, "IDAT");
  for (std::size_t p = last; (p = find_chunk(png, "IDAT", p + 12 + chunk_length(png, p))) != std::string::npos;) last = p;
  png[last + 8 + chunk_length(png, last) - 1] ^= std::byte(1);
  fix_crc(png, last);
  Tensor t;
  const Status s = io::decode(png, "adler.png", t);
  EXPECT_EQ(s.code(), Errc::format_error) << s.message();
  EXPECT_NE(s.message().find("Adler-32"), std::string::npos) << s.message();
}

// As libpng does by default, a damaged ancillary chunk (text, time) is skipped.
TEST(PngIntegrity, BadCrcInAnAncillaryChunkIsIgnored) {
  const auto orig = slurp(test::data_dir() + "/images/astronaut.png");
  auto png = orig;
  const std::size_t text = find_chunk(png, "tEXt");
  ASSERT_NE(text, std::string::npos);
  png[text + 8] ^= std::byte(0x20);
  Tensor a = decode_ok(orig, "orig");
  Tensor b = decode_ok(png, "text");
  EXPECT_TRUE(same_image(a.view(), b.view()));
}

TEST(PngIntegrity, CutShort) {
  Tensor a = test::random_image(DType::u16, 31, 29, 4, 8);
  const auto png = encode_ok(a.view(), Format::png);
  ASSERT_EQ(find_chunk(png, "IEND"), png.size() - 12);
  const std::size_t idat = find_chunk(png, "IDAT");
  // Without IEND (whole or in part): an error when strict, the pixels otherwise.
  for (std::size_t cut : {12u, 5u, 1u}) {
    const std::vector<std::byte> b(png.begin(), png.end() - std::ptrdiff_t(cut));
    Tensor t;
    Status s = io::decode(b, "noend.png", t);
    EXPECT_EQ(s.code(), Errc::format_error) << s.message();
    EXPECT_NE(s.message().find("noend.png"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("truncated"), std::string::npos) << s.message();
    s = io::decode(b, "noend.png", t, {.strict = false});
    ASSERT_TRUE(s.ok()) << cut << ": " << s.message();
    EXPECT_TRUE(same_image(a.view(), t.view()));
  }
  // Cut inside the pixel data: an error either way, naming the file.
  for (std::size_t keep : {idat + 8, idat + 40, png.size() - 30}) {
    const std::vector<std::byte> b(png.begin(), png.begin() + std::ptrdiff_t(keep));
    for (bool strict : {true, false}) {
      Tensor t;
      const Status s = io::decode(b, "cut.png", t, {.strict = strict});
      EXPECT_EQ(s.code(), Errc::format_error) << keep << " " << strict << ": " << s.message();
      EXPECT_NE(s.message().find("cut.png"), std::string::npos) << s.message();
      EXPECT_NE(s.message().find("truncated"), std::string::npos) << s.message();
    }
  }
}

// OpenCV (libpng underneath) reads what tandem writes and tandem reads what
// OpenCV writes, every sample equal: 8/16-bit, 1/3/4 channels, odd sizes,
// several compression levels (so every PNG filter type occurs; level 1 is
// igzip's deflate in strips of 32 rows). Pillow (its own PNG reader, when
// installed) opens every file and agrees on what it can hold (8-bit, 16-bit
// gray). Skipped without /usr/bin/python3 with cv2 and numpy.
TEST(PngInterop, OpenCvAgrees) {
  if (std::system("/usr/bin/python3 -c 'import cv2, numpy' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "/usr/bin/python3 with cv2 and numpy not available";
  TempDir dir;
  std::vector<std::string> names;
  std::uint64_t seed = 40;
  for (DType t : {DType::u8, DType::u16})
    for (std::int64_t c : {1, 3, 4})
      for (Size sz : {Size{1, 1}, Size{37, 53}, Size{129, 250}})
        for (int level : {0, 1, 6}) {
          const std::string name = std::string(dtype_name(t)) + "_" + std::to_string(c) + "_" + std::to_string(sz.h) +
                                   "x" + std::to_string(sz.w) + "_" + std::to_string(level);
          // Random pixels with smooth stretches, so the filters and matching have work to do.
          Tensor a = test::random_image(t, sz.h, sz.w, c, seed++);
          const std::size_t n = std::size_t(a.view().numel());
          for (std::size_t i = 0; i < n / 2; ++i) {
            if (t == DType::u8) a.view().ptr<std::uint8_t>()[i] = std::uint8_t(i / 7);
            else a.view().ptr<std::uint16_t>()[i] = std::uint16_t(i * 37);
          }
          ASSERT_TRUE(io::write_npy(dir.file(name + ".npy"), a.view()).ok());
          ASSERT_TRUE(io::write_image(dir.file(name + ".png"), a.view(), {.png_compression = level}).ok());
          names.push_back(name);
        }
  // The script checks cv2's reading of tandem's files and writes cv2's own
  // (levels 0..9, OpenCV's default filters) for tandem to read back.
  std::ofstream(dir.file("check.py")) << R"(import sys, cv2, numpy as np
try:
    from PIL import Image
except ImportError:
    Image = None
d = sys.argv[1]
bad = 0
for i, name in enumerate(open(d + "/names.txt").read().split()):
    ref = np.load(d + "/" + name + ".npy")
    if Image is not None:
        pil = Image.open(d + "/" + name + ".png")
        pil.load()
        if (ref.dtype == np.uint8 or ref.ndim == 2) and not np.array_equal(np.asarray(pil).astype(ref.dtype), ref):
            print("Pillow reads", name, "differently"); bad += 1
    img = cv2.imread(d + "/" + name + ".png", cv2.IMREAD_UNCHANGED)
    if ref.ndim == 3:
        img = img[..., [2, 1, 0]] if ref.shape[2] == 3 else img[..., [2, 1, 0, 3]]
    if img.shape != ref.shape or img.dtype != ref.dtype or not np.array_equal(img, ref):
        print("cv2 reads", name, "differently"); bad += 1
    bgr = ref if ref.ndim == 2 else (ref[..., [2, 1, 0]] if ref.shape[2] == 3 else ref[..., [2, 1, 0, 3]])
    assert cv2.imwrite(d + "/" + name + ".cv.png", np.ascontiguousarray(bgr), [cv2.IMWRITE_PNG_COMPRESSION, i % 10])
sys.exit(1 if bad else 0)
)";
  {
    std::ofstream list(dir.file("names.txt"));
    for (const auto& n : names) list << n << "\n";
  }
  const std::string cmd = "/usr/bin/python3 " + dir.file("check.py") + " " + dir.path();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  for (const auto& n : names) {
    Tensor ref, got;
    ASSERT_TRUE(io::read_npy(dir.file(n + ".npy"), ref).ok());
    const Status s = io::read_image(dir.file(n + ".cv.png"), got);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_TRUE(same_image(ref.view(), got.view())) << n;
  }
}

// ---- JPEG variants written with libjpeg directly

std::vector<std::byte> write_jpeg_raw(int w, int h, int comps, J_COLOR_SPACE space, bool progressive,
                                      const std::vector<std::uint8_t>& pixels) {
  jpeg_compress_struct c{};
  jpeg_error_mgr err{};
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buf, &size);
  c.image_width = JDIMENSION(w);
  c.image_height = JDIMENSION(h);
  c.input_components = comps;
  c.in_color_space = space;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 95, TRUE);
  if (progressive) jpeg_simple_progression(&c);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<std::uint8_t*>(pixels.data()) + std::size_t(c.next_scanline) * std::size_t(w * comps);
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  std::vector<std::byte> out(reinterpret_cast<std::byte*>(buf), reinterpret_cast<std::byte*>(buf) + size);
  jpeg_destroy_compress(&c);
  std::free(buf);
  return out;
}

TEST(JpegVariants, ProgressiveGrayAndCmyk) {
  Tensor a = smooth_image(40, 56, 3, 4);
  std::vector<std::uint8_t> rgb(a.view().ptr<std::uint8_t>(), a.view().ptr<std::uint8_t>() + a.view().numel());
  Tensor prog = decode_ok(write_jpeg_raw(56, 40, 3, JCS_RGB, true, rgb), "progressive");
  Tensor base = decode_ok(write_jpeg_raw(56, 40, 3, JCS_RGB, false, rgb), "baseline");
  ASSERT_EQ(prog.view().channels(), 3);
  double diff = 0;
  for (std::int64_t i = 0; i < prog.view().numel(); ++i) diff += std::abs(test::at(prog.view(), i) - test::at(a.view(), i));
  EXPECT_LT(diff / double(prog.view().numel()), 3.0);
  Tensor g = smooth_image(21, 30, 1, 2);
  std::vector<std::uint8_t> gray(g.view().ptr<std::uint8_t>(), g.view().ptr<std::uint8_t>() + g.view().numel());
  Tensor gd = decode_ok(write_jpeg_raw(30, 21, 1, JCS_GRAYSCALE, true, gray), "gray");
  EXPECT_EQ(gd.view().ndim, 2);
  EXPECT_EQ(gd.view().width(), 30);
  std::vector<std::uint8_t> cmyk(std::size_t(8 * 8 * 4), 77);
  Tensor t;
  const Status s = io::decode(write_jpeg_raw(8, 8, 4, JCS_CMYK, false, cmyk), "print.jpg", t);
  EXPECT_EQ(s.code(), Errc::unsupported) << s.message();
  EXPECT_NE(s.message().find("CMYK"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("print.jpg"), std::string::npos) << s.message();
  // A JPEG cut anywhere after its header is an error in strict mode.
  const auto whole = write_jpeg_raw(56, 40, 3, JCS_RGB, false, rgb);
  for (std::size_t n : {whole.size() / 2, whole.size() - 2, whole.size() - 50}) {
    const Status cut = io::decode(std::span(whole).first(n), "cut.jpg", t);
    EXPECT_EQ(cut.code(), Errc::format_error) << n;
    EXPECT_NE(cut.message().find("Premature end of JPEG file"), std::string::npos) << cut.message();
    EXPECT_NE(cut.message().find("cut.jpg"), std::string::npos) << cut.message();
  }
  // Lenient decoding accepts what libjpeg can recover (the rest is filled in).
  EXPECT_TRUE(io::decode(std::span(whole).first(whole.size() / 2), "cut.jpg", t, {.strict = false}).ok());
  EXPECT_EQ(t.view().height(), 40);
}

// ---- PGM/PPM details

TEST(Pnm, AsciiCommentsMaxvalAndBitmaps) {
  Tensor t = decode_ok(to_bytes("P2\n# a comment\n3 2 # trailing\n15\n0 1 2\n13 14 15\n"), "a.pgm");
  ASSERT_EQ(t.view().dtype, DType::u8);
  EXPECT_EQ(px(t.view(), 1, 2, 0), 15);  // raw values, not rescaled
  t = decode_ok(to_bytes("P3 2 1 1000 1 2 3 998 999 1000"), "a.ppm");
  ASSERT_EQ(t.view().dtype, DType::u16);
  ASSERT_EQ(t.view().channels(), 3);
  EXPECT_EQ(px(t.view(), 0, 1, 2), 1000);
  t = decode_ok(to_bytes("P1\n# bits\n5 2\n10100\n0 1 0 1 1"), "a.pbm");
  EXPECT_EQ(px(t.view(), 0, 0, 0), 0);    // 1 = black
  EXPECT_EQ(px(t.view(), 0, 1, 0), 255);
  EXPECT_EQ(px(t.view(), 1, 4, 0), 0);
  t = decode_ok(to_bytes("P4\n10 2\n\xa5\x40\xff\xc0"), "b.pbm");
  EXPECT_EQ(px(t.view(), 0, 0, 0), 0);
  EXPECT_EQ(px(t.view(), 0, 1, 0), 255);
  EXPECT_EQ(px(t.view(), 0, 9, 0), 0);
  EXPECT_EQ(px(t.view(), 1, 9, 0), 0);
  // Binary with a comment right after the maxval, and 16-bit big-endian.
  t = decode_ok(to_bytes(std::string("P5 2 1 65535#c\n\x01\x02\xff\xfe", 20)), "c.pgm");
  EXPECT_EQ(px(t.view(), 0, 0, 0), 0x0102);
  EXPECT_EQ(px(t.view(), 0, 1, 0), 0xfffe);
  Tensor bad;
  for (const char* s : {"P5\n2 2\n255\n\x01\x02\x03", "P5 2 2 255", "P2 2 1 255 1", "P2 2 1 255 1 x",
                        "P2 2 1 10 1 11", "P5 0 2 255\n", "P5 2 2 70000\n", "P6\n-1 2 255\n", "P1 2 1 0 2",
                        "P5 1 1 15\n\x10", "P5 99999999999 1 255\n"}) {
    const Status st = io::decode(to_bytes(s), "bad.pgm", bad);
    EXPECT_EQ(st.code(), Errc::format_error) << s << ": " << st.message();
    EXPECT_NE(st.message().find("bad.pgm"), std::string::npos) << st.message();
  }
}

// ---- files

TEST(Codec, ReadAndWriteImageFiles) {
  TempDir dir;
  Tensor a = test::random_image(DType::u8, 10, 12, 3, 1);
  for (const char* name : {"a.png", "a.PPM", "a.npy", "a.pnm"}) {
    ASSERT_TRUE(io::write_image(dir.file(name), a.view()).ok()) << name;
    Tensor b;
    ASSERT_TRUE(io::read_image(dir.file(name), b).ok()) << name;
    EXPECT_TRUE(same_image(a.view(), b.view())) << name;
  }
  ASSERT_TRUE(io::write_image(dir.file("a.jpg"), a.view(), {.jpeg_quality = 80}).ok());
  ASSERT_TRUE(io::write_image(dir.file("noext"), a.view(), {}, Format::png).ok());
  EXPECT_EQ(io::detect_format(slurp(dir.file("a.pnm"))), Format::ppm);
  EXPECT_EQ(io::detect_format(slurp(dir.file("noext"))), Format::png);
  Status s = io::write_image(dir.file("a.gif"), a.view());
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_NE(s.message().find("a.gif"), std::string::npos) << s.message();
  // A refused encoding writes nothing, and leaves an existing file alone.
  Tensor f = test::random_image(DType::f32, 4, 4, 3, 1);
  s = io::write_image(dir.file("a.png"), f.view());
  EXPECT_EQ(s.code(), Errc::unsupported);
  EXPECT_NE(s.message().find("a.png"), std::string::npos) << s.message();
  Tensor b;
  ASSERT_TRUE(io::read_image(dir.file("a.png"), b).ok());
  EXPECT_TRUE(same_image(a.view(), b.view()));
  for (const auto& e : dir.entries()) EXPECT_FALSE(io::is_temporary_name(e)) << e;
  EXPECT_EQ(dir.entries().size(), 6u);
}

}  // namespace
}  // namespace tandem
