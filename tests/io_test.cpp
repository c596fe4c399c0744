// io/: file primitives (read_file, atomic writes), NPY, and the image codecs.
#include <gtest/gtest.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

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

}  // namespace
}  // namespace tandem
