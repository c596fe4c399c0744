// `tandem run` as a user runs it: exit codes, messages, --json, --trace,
// Ctrl-C, and --resume after the process was killed outright.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <pty.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "host/core/sanitizers.hpp"
#include "tandem/io/codec.hpp"
#include "tandem/io/npy.hpp"
#include "tests/support/test_support.hpp"

extern char** environ;

namespace tandem {
namespace {

namespace fs = std::filesystem;

struct Proc {
  pid_t pid = -1;
  fs::path out, err;
};

// Starts the tandem binary as user `uid` (fork, setuid, exec), stdout/stderr to files in `dir`.
Proc start_as(uid_t uid, const std::vector<std::string>& args, const fs::path& dir) {
  static int n = 0;
  Proc p;
  p.out = dir / ("stdout-as" + std::to_string(n));
  p.err = dir / ("stderr-as" + std::to_string(n++));
  std::vector<std::string> all{TANDEM_CLI};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  p.pid = fork();
  if (p.pid == 0) {
    const int o = ::open(p.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
    const int e = ::open(p.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0 || setgid(uid) != 0 || setuid(uid) != 0) _exit(127);
    execv(TANDEM_CLI, argv.data());
    _exit(127);
  }
  return p;
}

// Starts the tandem binary with `args`, stdout/stderr to files in `dir`.
Proc start(const std::vector<std::string>& args, const fs::path& dir) {
  static int n = 0;
  Proc p;
  p.out = dir / ("stdout" + std::to_string(n));
  p.err = dir / ("stderr" + std::to_string(n++));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, p.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, p.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  std::vector<std::string> all{TANDEM_CLI};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (posix_spawn(&p.pid, TANDEM_CLI, &fa, nullptr, argv.data(), environ) != 0) p.pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return p;
}

int wait_exit(const Proc& p, long* max_rss_kib = nullptr) {
  int status = 0;
  rusage u{};
  wait4(p.pid, &status, 0, &u);
  if (max_rss_kib) *max_rss_kib = u.ru_maxrss;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string slurp(const fs::path& f) {
  std::ifstream in(f, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

struct Result {
  int code;
  std::string out, err;
};

class RunCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tandem-cli-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "in");
    // Keep the throughput cache out of the user's home.
    setenv("XDG_CACHE_HOME", (dir_ / "cache").c_str(), 1);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result run(const std::vector<std::string>& args) {
    Proc p = start(args, dir_);
    const int code = wait_exit(p);
    return {code, slurp(p.out), slurp(p.err)};
  }
  void make_images(int n, int size) {
    for (int i = 0; i < n; ++i) {
      Tensor img = test::random_image(DType::u8, size, size + i % 7, 3, static_cast<std::uint64_t>(i));
      ASSERT_TRUE(io::write_image((dir_ / "in" / ("img" + std::to_string(1000 + i) + ".png")).string(), img.view()).ok());
    }
  }
  std::string in() const { return (dir_ / "in").string(); }
  // Files under the output directory (0 when it does not exist).
  std::size_t outputs() const {
    std::error_code ec;
    std::size_t n = 0;
    for (fs::recursive_directory_iterator it(out(), ec), end; !ec && it != end; it.increment(ec))
      n += it->is_regular_file() ? 1 : 0;
    return n;
  }
  std::string out() const { return (dir_ / "out").string(); }
  fs::path dir_;
};

TEST_F(RunCli, HelpTeaches) {
  const Result r = run({"run", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("Examples:"), std::string::npos);
  EXPECT_NE(r.out.find("--io-memory"), std::string::npos);
  EXPECT_NE(r.out.find("Exit status"), std::string::npos);
}

TEST_F(RunCli, UsageErrorsExit2WithAHint) {
  Result r = run({"run", "-p", "invert", in()});  // no -o
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--output"), std::string::npos);
  EXPECT_NE(r.err.find("--help"), std::string::npos);
  r = run({"run", "-p", "invert", "-o", out(), "--device", "tpu", in()});
  EXPECT_EQ(r.code, 2);
  r = run({"run", "-p", "invert", "-o", out(), "--io-memory", "lots", in()});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("not a size"), std::string::npos);
}

// Parameter checks that need no image fail before any input is read: exit 2
// with the caret on the parameter, nothing written.
TEST_F(RunCli, BadParametersExit2WithACaretBeforeReadingInputs) {
  make_images(1, 9);
  const std::pair<std::string, std::string> cases[] = {
      {"median size=4", "^ median: parameter 'size' must be odd"},
      {"filter kernel=1,2,3,4", "^ filter: parameter 'kernel' must have an odd number"},
      {"clamp min=5 max=1", "^ clamp: parameter 'min' (5) is greater than max (1)"},
      {"matmul with=/no/such/B.npy", "^ matmul: parameter 'with': cannot load B from '/no/such/B.npy'"},
  };
  for (const auto& [pipeline, message] : cases) {
    const Result r = run({"run", "-p", pipeline, "-o", out(), in()});
    EXPECT_EQ(r.code, 2) << pipeline << "\n" << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
    const auto key = pipeline.find(' ') + 1;  // the first parameter
    const auto caret_at = r.err.find('^') - (r.err.rfind('\n', r.err.find('^')) + 1);
    EXPECT_EQ(caret_at, std::string("pipeline: ").size() + key) << r.err;
    EXPECT_FALSE(fs::exists(out()));
  }
}

// The library names options by field; the command line speaks of its flags.
TEST_F(RunCli, MessagesNameTheFlagsTheUserTyped) {
  make_images(2, 16);
  Result r = run({"run", "-p", "invert", "-o", out(), "--glob", "*.tiff", in()});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("(check the input paths and --glob)"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("glob patterns"), std::string::npos) << r.err;
  if (cuda_device_count() == 0) {
    r = run({"run", "-p", "invert", "-o", out(), "--device", "gpu", in()});
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("--device gpu: "), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("device = gpu"), std::string::npos) << r.err;
  }
}

TEST_F(RunCli, PipelineErrorShowsACaret) {
  const Result r = run({"run", "-p", "gaussian sigma=2 | sobl", "-o", out(), in()});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("pipeline: gaussian sigma=2 | sobl"), std::string::npos) << r.err;
  const auto caret_line = r.err.substr(r.err.find('^') - r.err.substr(0, r.err.find('^')).rfind('\n') - 1);
  EXPECT_NE(r.err.find("^ unknown op 'sobl'"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out()));  // nothing created on a usage error
  (void)caret_line;
}

TEST_F(RunCli, SomeItemsFailExit1AndJsonSummary) {
  make_images(3, 24);
  std::ofstream(dir_ / "in" / "broken.png") << "definitely not a png";
  const Result r = run({"run", "-p", "gaussian sigma=1 | sobel", "-o", out(), "--json", in()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("broken.png"), std::string::npos) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["ok"], 3);
  EXPECT_EQ(j["failed"], 1);
  ASSERT_EQ(j["items"].size(), 4u);
  for (const auto& item : j["items"]) {
    for (const char* key : {"path", "status", "error", "device", "seconds"}) EXPECT_TRUE(item.contains(key)) << key;
    if (item["path"].get<std::string>().ends_with("broken.png")) {
      EXPECT_EQ(item["status"], "failed");
      EXPECT_TRUE(item["error"].is_string());
    } else {
      EXPECT_EQ(item["status"], "ok");
      EXPECT_EQ(item["device"].get<std::string>().rfind("cpu:", 0), 0u);
    }
  }
  EXPECT_TRUE(j["stages"].is_array());
  EXPECT_TRUE(j["items_per_device"].is_object());
}

// tandem run shortens libgomp's idle spin (re-executing itself with
// GOMP_SPINCOUNT=10000) unless the user chose a wait policy; -v says which.
TEST_F(RunCli, ShortOpenMpSpinUnlessTheUserChose) {
  make_images(1, 16);
  ::unsetenv("GOMP_SPINCOUNT");
  ::unsetenv("OMP_WAIT_POLICY");
  Result r = run({"run", "-p", "invert", "-o", out(), "-v", in()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("OpenMP idle threads: GOMP_SPINCOUNT=10000"), std::string::npos) << r.err;
  ::setenv("OMP_WAIT_POLICY", "active", 1);
  r = run({"run", "-p", "invert", "-o", out() + "2", "-v", in()});
  ::unsetenv("OMP_WAIT_POLICY");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("OpenMP idle threads: OMP_WAIT_POLICY=active"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("GOMP_SPINCOUNT"), std::string::npos) << r.err;
}

// A PNG cut short and one with a flipped byte in its pixel data: each named
// on stderr with the reason, the good images written, no partial outputs.
TEST_F(RunCli, TruncatedAndCorruptPngsAreNamed) {
  make_images(2, 40);
  const std::string good = slurp(dir_ / "in" / "img1000.png");
  std::ofstream(dir_ / "in" / "cut.png", std::ios::binary) << good.substr(0, good.size() / 2);
  std::string flipped = good;
  const auto idat = flipped.find("IDAT");
  ASSERT_NE(idat, std::string::npos);
  flipped[idat + 4 + 100] = char(flipped[idat + 4 + 100] ^ 0x40);
  std::ofstream(dir_ / "in" / "flipped.png", std::ios::binary) << flipped;
  const Result r = run({"run", "-p", "gaussian sigma=1 | sobel", "-o", out(), in()});
  EXPECT_EQ(r.code, 1);
  const auto line = [&](const char* name) {
    const auto at = r.err.find(name);
    return at == std::string::npos ? std::string() : r.err.substr(at, r.err.find('\n', at) - at);
  };
  EXPECT_NE(line("cut.png").find("truncated"), std::string::npos) << r.err;
  // libpng: the chunk CRC, or zlib's Adler-32 when inflating reaches the flipped byte first.
  const std::string flipped_line = line("flipped.png");
  EXPECT_TRUE(flipped_line.find("CRC") != std::string::npos || flipped_line.find("Adler-32") != std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(fs::path(out()) / "img1000.png"));
  EXPECT_TRUE(fs::exists(fs::path(out()) / "img1001.png"));
  EXPECT_FALSE(fs::exists(fs::path(out()) / "cut.png"));
  EXPECT_FALSE(fs::exists(fs::path(out()) / "flipped.png"));
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(out())) files += e.is_regular_file() ? 1 : 0;
  EXPECT_EQ(files, 2u);  // no temporaries left behind
}

TEST_F(RunCli, AllGoodExits0AndPrintsASummary) {
  make_images(4, 16);
  const Result r = run({"run", "-p", "invert", "-o", out(), in()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("4 ok, 0 failed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("busy:"), std::string::npos);
  EXPECT_NE(r.err.find("items per device"), std::string::npos);
  EXPECT_TRUE(r.out.empty());  // data on stdout only with --json
}

TEST_F(RunCli, TraceHasEveryStage) {
  make_images(5, 40);
  const std::string trace = (dir_ / "trace.json").string();
  const Result r = run({"run", "-p", "gaussian sigma=2", "-o", out(), "--trace", trace, in()});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(slurp(trace));
  std::set<std::string> names;
  for (const auto& e : j["traceEvents"])
    if (e["ph"] == "X") names.insert(e["name"].get<std::string>());
  for (const char* n : {"submit read", "decode", "compute", "encode+write"}) EXPECT_TRUE(names.count(n)) << n;
}

// Killed outright (SIGKILL) mid-batch: no partial file under a final name;
// --resume finishes the job, skipping what was complete, and clears temporaries.
TEST_F(RunCli, ResumeAfterAKilledRun) {
  make_images(60, 600);
  Proc p = start({"run", "-p", "gaussian sigma=4 | median size=5", "-o", out(), "--threads", "1", in()}, dir_);
  ASSERT_GT(p.pid, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto count_outputs = [&] {
    std::size_t n = 0;
    if (fs::exists(out()))
      for (const auto& e : fs::directory_iterator(out())) n += e.path().extension() == ".png";
    return n;
  };
  while (count_outputs() < 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  kill(p.pid, SIGKILL);
  wait_exit(p);
  const std::size_t done_before = count_outputs();
  ASSERT_GE(done_before, 3u);
  ASSERT_LT(done_before, 60u) << "the run finished before it could be killed";
  for (const auto& e : fs::directory_iterator(out())) {
    if (e.path().extension() != ".png") continue;
    Tensor t;
    EXPECT_TRUE(io::read_image(e.path().string(), t).ok()) << e.path() << " is not a complete PNG";
  }
  const Result r = run({"run", "-p", "gaussian sigma=4 | median size=5", "-o", out(), "--resume", "--json", in()});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["skipped"].get<std::size_t>(), done_before);
  EXPECT_EQ(j["ok"].get<std::size_t>() + done_before, 60u);
  EXPECT_EQ(count_outputs(), 60u);
  for (const auto& e : fs::directory_iterator(out()))
    EXPECT_FALSE(io::is_temporary_name(e.path().filename().string())) << e.path();
}

// Ctrl-C: stop taking new items, finish those in flight, print the summary.
TEST_F(RunCli, InterruptFinishesCleanly) {
  make_images(60, 600);
  Proc p = start({"run", "-p", "gaussian sigma=4 | median size=5", "-o", out(), "--threads", "1", in()}, dir_);
  ASSERT_GT(p.pid, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((!fs::exists(out()) || fs::is_empty(out())) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  kill(p.pid, SIGINT);
  const int code = wait_exit(p);
  const std::string err = slurp(p.err);
  EXPECT_EQ(code, 1) << err;
  EXPECT_NE(err.find("interrupted"), std::string::npos) << err;
  // What Ctrl-C kept from starting is "not started", as the summary says, not a failure.
  EXPECT_EQ(err.find("failed:"), std::string::npos) << err;
  EXPECT_NE(err.find(" ok, 0 failed"), std::string::npos) << err;
  std::size_t outputs = 0;
  for (const auto& e : fs::directory_iterator(out())) {
    EXPECT_FALSE(io::is_temporary_name(e.path().filename().string())) << e.path();
    Tensor t;
    EXPECT_TRUE(io::read_image(e.path().string(), t).ok()) << e.path();
    ++outputs;
  }
  EXPECT_LT(outputs, 60u);
}

// --- memory bounded by what items decode to ---

// A PNG of h x w RGBA 16-bit zeros, written with zlib row by row (it never
// holds the pixels): a few MB that decode to 8 * h * w bytes.
void write_zero_png(const fs::path& path, std::uint32_t h, std::uint32_t w) {
  std::ofstream f(path, std::ios::binary);
  auto be32 = [](std::uint32_t v) {
    return std::string{char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  };
  auto chunk = [&](const char* type, const std::string& data) {
    std::string body = std::string(type, 4) + data;
    const auto crc = static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), uInt(body.size())));
    f << be32(std::uint32_t(data.size())) << body << be32(crc);
  };
  f << "\x89PNG\r\n\x1a\n";
  chunk("IHDR", be32(w) + be32(h) + std::string{char(16), char(6), 0, 0, 0});
  z_stream z{};
  ASSERT_EQ(deflateInit(&z, 9), Z_OK);
  std::vector<unsigned char> row(std::size_t(w) * 8 + 1, 0), out(1 << 20);
  std::string idat;
  for (std::uint32_t y = 0; y < h; ++y) {
    z.next_in = row.data();
    z.avail_in = uInt(row.size());
    const int flush = y + 1 == h ? Z_FINISH : Z_NO_FLUSH;
    do {
      z.next_out = out.data();
      z.avail_out = uInt(out.size());
      deflate(&z, flush);
      idat.append(reinterpret_cast<char*>(out.data()), out.size() - z.avail_out);
    } while (z.avail_out == 0 || (flush == Z_FINISH && z.avail_in > 0));
  }
  deflateEnd(&z);
  chunk("IDAT", idat);
  chunk("IEND", "");
}

// Three 16384x16384 RGBA16 PNGs (2 MB files, 2 GiB each decoded) under a
// 512 MiB budget: each is refused from its header, naming its size and the
// budget, and the process never holds more than a baseline.
TEST_F(RunCli, DecompressionBombsAreRefusedFromTheirHeader) {
  write_zero_png(dir_ / "in" / "bomb0.png", 16384, 16384);
  fs::copy_file(dir_ / "in" / "bomb0.png", dir_ / "in" / "bomb1.png");
  fs::copy_file(dir_ / "in" / "bomb0.png", dir_ / "in" / "bomb2.png");
  Proc p = start({"run", "-p", "invert", "-o", out(), "--io-memory", "512M", in()}, dir_);
  long rss_kib = 0;
  const int code = wait_exit(p, &rss_kib);
  const std::string err = slurp(p.err);
  EXPECT_EQ(code, 1) << err;
  EXPECT_NE(err.find("bomb1.png: needs"), std::string::npos) << err;
  EXPECT_NE(err.find("it decodes to 2.0 GiB, 16384x16384x4 u16 png"), std::string::npos) << err;
  EXPECT_NE(err.find("more than the whole budget of 512.0 MiB (--io-memory)"), std::string::npos) << err;
  EXPECT_NE(err.find("0 ok, 3 failed"), std::string::npos) << err;
  EXPECT_LT(rss_kib, 200 * 1024) << "a refused bomb was decoded";
}

// Items that fit, one at a time: the process's RSS stays under the budget
// plus the baseline of a run over one tiny image, and the reported peak is at
// least what the process held beyond that baseline (it is the true peak).
TEST_F(RunCli, ReportedPeakCoversTheProcessMemory) {
  if (detail::kUnderAddressSanitizer || detail::kUnderThreadSanitizer)
    GTEST_SKIP() << "a sanitizer's shadow memory and quarantine make RSS say nothing about tandem's buffers";
  Tensor tiny = test::random_image(DType::u8, 8, 8, 3, 1);
  fs::create_directories(dir_ / "tiny");
  ASSERT_TRUE(io::write_image((dir_ / "tiny" / "t.png").string(), tiny.view()).ok());
  Proc base = start({"run", "-p", "invert", "-o", (dir_ / "o0").string(), (dir_ / "tiny").string()}, dir_);
  long base_kib = 0;
  ASSERT_EQ(wait_exit(base, &base_kib), 0) << slurp(base.err);

  for (int i = 0; i < 3; ++i) write_zero_png(dir_ / "in" / ("z" + std::to_string(i) + ".png"), 4096, 4096);  // 128 MiB each
  Proc p = start({"run", "-p", "invert", "-o", out(), "--io-memory", "512M", "--json", in()}, dir_);
  long rss_kib = 0;
  const int code = wait_exit(p, &rss_kib);
  ASSERT_EQ(code, 0) << slurp(p.err);
  const auto j = nlohmann::json::parse(slurp(p.out));
  const double peak_kib = j["io_memory"]["peak_bytes"].get<double>() / 1024;
  EXPECT_LE(j["io_memory"]["peak_bytes"].get<std::uint64_t>(), 512u << 20);
  EXPECT_GE(peak_kib, 256 * 1024) << "an item holds its input and its result (2 x 128 MiB)";
  EXPECT_LT(rss_kib, base_kib + 512 * 1024) << "RSS " << rss_kib << " KiB, baseline " << base_kib << " KiB";
  EXPECT_LT(static_cast<double>(rss_kib - base_kib), peak_kib * 1.05)
      << "the process held more than the reported peak: RSS " << rss_kib << " KiB, baseline " << base_kib << " KiB";
  Tensor got;
  ASSERT_TRUE(io::read_image(out() + "/z1.png", got).ok());
  EXPECT_EQ(got.view().ptr<std::uint16_t>()[12345], 65535);
}

// --- inputs and outputs ---

TEST_F(RunCli, ASymlinkIsWrittenUnderItsOwnPath) {
  make_images(1, 20);
  fs::create_directories(dir_ / "in" / "real");
  fs::create_directories(dir_ / "in" / "S");
  fs::create_directories(dir_ / "photos");
  fs::rename(dir_ / "in" / "img1000.png", dir_ / "in" / "real" / "a.png");
  fs::copy_file(dir_ / "in" / "real" / "a.png", dir_ / "photos" / "moon.png");
  fs::create_symlink("../real/a.png", dir_ / "in" / "S" / "inlink.png");
  fs::create_symlink("../../photos/moon.png", dir_ / "in" / "S" / "up.png");
  const Result r = run({"run", "-p", "invert", "-o", out(), in()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("3 ok, 0 failed"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_regular_file(out() + "/real/a.png"));
  EXPECT_TRUE(fs::is_regular_file(out() + "/S/inlink.png"));
  EXPECT_TRUE(fs::is_regular_file(out() + "/S/up.png"));
  EXPECT_FALSE(fs::exists(dir_ / "photos" / "moon.png.out"));
}

TEST_F(RunCli, AnOutputDirectoryInsideTheInputIsNotAnInput) {
  make_images(2, 20);
  const std::string nested = in() + "/out";
  for (int pass = 0; pass < 2; ++pass) {
    const Result r = run({"run", "-p", "invert", "-o", nested, in()});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.err.find("2 ok, 0 failed"), std::string::npos) << "pass " << pass << ": " << r.err;
  }
  const Result r = run({"run", "-p", "invert", "-o", nested, "--resume", in()});
  EXPECT_NE(r.err.find("0 ok, 0 failed, 2 skipped"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(nested + "/out"));
}

TEST_F(RunCli, ListingErrorsAreReportedWithTheirPath) {
  make_images(1, 20);
  fs::create_symlink(dir_ / "gone.png", dir_ / "in" / "dangling.png");
  fs::create_directories(dir_ / "in" / "locked");
  Tensor img = test::random_image(DType::u8, 9, 9, 1, 3);
  ASSERT_TRUE(io::write_image((dir_ / "in" / "locked" / "x.png").string(), img.view()).ok());
  fs::permissions(dir_ / "in" / "locked", fs::perms::none);
  fs::permissions(dir_, fs::perms::all);
  // Root reads any directory: run as nobody to see the refusal.
  Proc p = getuid() == 0 ? start_as(65534, {"run", "-p", "invert", "-o", out(), in()}, dir_)
                         : start({"run", "-p", "invert", "-o", out(), in()}, dir_);
  const int code = wait_exit(p);
  const std::string err = slurp(p.err);
  fs::permissions(dir_ / "in" / "locked", fs::perms::owner_all);
  EXPECT_EQ(code, 1) << err;
  EXPECT_NE(err.find("dangling.png: dangling symbolic link (to " + (dir_ / "gone.png").string() + ")"), std::string::npos) << err;
  EXPECT_NE(err.find("cannot list " + in() + "/locked: Permission denied"), std::string::npos) << err;
  EXPECT_NE(err.find("1 ok, 2 failed"), std::string::npos) << err;
}

// A FIFO named as an input would block the reader forever: it is refused at
// once, without opening it for a blocking read.
TEST_F(RunCli, AFifoIsRefusedWithoutBlocking) {
  make_images(1, 20);
  ASSERT_EQ(mkfifo((dir_ / "in" / "pipe.png").c_str(), 0644), 0);
  const auto t0 = std::chrono::steady_clock::now();
  const Result r = run({"run", "-p", "invert", "-o", out(), in() + "/pipe.png", in() + "/img1000.png"});
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("pipe.png': it is a FIFO (named pipe), not a regular file"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 ok, 1 failed"), std::string::npos) << r.err;
}

// While it runs, the process is still called tandem (after its re-exec for
// the OpenMP spin count), and SIGTERM ends it promptly.
TEST_F(RunCli, KeepsItsNameAndEndsPromptlyOnSigterm) {
  // The items already read finish after the signal: at a sanitizer's speed that is minutes.
  if (detail::kUnderAddressSanitizer || detail::kUnderThreadSanitizer)
    GTEST_SKIP() << "a sanitizer build computes the items in flight several times slower";
  make_images(40, 700);
  Proc p = start({"run", "-p", "median size=7 | gaussian sigma=5", "-o", out(), "--threads", "1", in()}, dir_);
  ASSERT_GT(p.pid, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  EXPECT_EQ(slurp("/proc/" + std::to_string(p.pid) + "/comm"), "tandem\n");
  kill(p.pid, SIGTERM);
  const auto t0 = std::chrono::steady_clock::now();
  wait_exit(p);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
}

TEST_F(RunCli, ControlCharactersInNamesAreEscaped) {
  const std::string name = "evil\x1b[31m\nfake.png";
  std::ofstream(dir_ / "in" / name) << "not a png";
  const Result r = run({"run", "-p", "invert", "-o", out(), in()});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("evil\\x1b[31m\\nfake.png"), std::string::npos) << r.err;
}

TEST_F(RunCli, StaleTemporariesAreCleanedInSubfolders) {
  make_images(1, 20);
  // A PID that is certainly gone: a child that has exited.
  const pid_t gone = fork();
  if (gone == 0) _exit(0);
  waitpid(gone, nullptr, 0);
  fs::create_directories(fs::path(out()) / "sub" / "deeper");
  const fs::path stale = fs::path(out()) / "sub" / "deeper" / (".x.png.tandem-tmp-" + std::to_string(gone) + "-0");
  std::ofstream(stale) << "partial";
  const Result r = run({"run", "-p", "invert", "-o", out(), in()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(fs::exists(stale));
}

TEST_F(RunCli, FsyncOptionWritesTheSameOutputs) {
  make_images(3, 30);
  const Result r = run({"run", "-p", "invert", "-o", out(), "--fsync", in()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(outputs(), 3u);
  EXPECT_NE(run({"run", "--help"}).out.find("--fsync"), std::string::npos);
}

TEST_F(RunCli, NothingCanRunExits2) {
  make_images(1, 20);
  std::ofstream(dir_ / "afile") << "x";
  EXPECT_EQ(run({"run", "-p", "invert", "-o", (dir_ / "afile").string(), in()}).code, 2);
  const Result g = run({"run", "-p", "invert", "-o", out(), "--gpus", "7", in()});
  EXPECT_EQ(g.code, 2) << g.err;
  const Result d = run({"run", "-p", "invert", "-o", out(), "--device", "gpu", in()});
  if (d.code != 0) EXPECT_EQ(d.code, 2) << d.err;  // 0 where a GPU is there
  const Result t = run({"run", "-p", "invert", "-o", out(), "--trace", (dir_ / "no" / "t.json").string(), in()});
  EXPECT_EQ(t.code, 2) << t.err;
  EXPECT_NE(t.err.find("cannot write to the trace file"), std::string::npos) << t.err;
  EXPECT_EQ(outputs(), 0u) << "an input was processed although the trace could not be written";
}

TEST_F(RunCli, AReadOnlyOutputDirectoryIsFoundBeforeDecoding) {
  make_images(2, 20);
  fs::create_directories(out());
  fs::permissions(dir_, fs::perms::all);
  fs::permissions(out(), fs::perms::owner_read | fs::perms::owner_exec | fs::perms::others_read | fs::perms::others_exec);
  Proc p = getuid() == 0 ? start_as(65534, {"run", "-p", "invert", "-o", out(), in()}, dir_)
                         : start({"run", "-p", "invert", "-o", out(), in()}, dir_);
  const int code = wait_exit(p);
  const std::string err = slurp(p.err);
  fs::permissions(out(), fs::perms::owner_all);
  EXPECT_EQ(code, 2) << err;
  EXPECT_NE(err.find("cannot write to output directory " + out()), std::string::npos) << err;
  EXPECT_EQ(err.find("failed:"), std::string::npos) << "items were tried: " << err;
}

TEST_F(RunCli, TheSameInputNamedTwiceIsProcessedOnce) {
  make_images(2, 20);
  const Result r = run({"run", "-p", "invert", "-o", out(), in() + "/img1000.png", in() + "/img1000.png", in()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("2 ok, 0 failed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("named more than once"), std::string::npos) << r.err;
}

// The progress bar on a 40-column terminal: no line longer than 39 columns,
// and MiB/s as in the summary.
TEST_F(RunCli, ProgressFitsTheTerminalWidth) {
  // Long enough (about a second at one thread) for the 200 ms progress ticks:
  // a batch that ends before the first tick shows no bar at all.
  make_images(60, 300);
  int master = -1, slave = -1;
  winsize ws{};
  ws.ws_col = 40;
  ws.ws_row = 20;
  ASSERT_EQ(openpty(&master, &slave, nullptr, nullptr, &ws), 0);
  std::vector<std::string> all{TANDEM_CLI, "run", "-p", "median size=15", "-o", out(), "--threads", "1", in()};
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(slave, 2);
    execv(TANDEM_CLI, argv.data());
    _exit(127);
  }
  ::close(slave);
  std::string tty;
  char buf[4096];
  for (ssize_t n; (n = ::read(master, buf, sizeof buf)) > 0;) tty.append(buf, std::size_t(n));
  ::close(master);
  waitpid(pid, nullptr, 0);
  std::size_t bars = 0;
  for (std::size_t at = 0; (at = tty.find("\r\x1b[K", at)) != std::string::npos; at += 4) {
    const std::size_t end = tty.find_first_of("\r\n", at + 4);
    const std::string line = tty.substr(at + 4, end == std::string::npos ? std::string::npos : end - at - 4);
    if (line.empty() || line[0] != '[') continue;  // a message after the bar was cleared
    ++bars;
    EXPECT_LE(line.size(), 39u) << line;
    EXPECT_NE(line.find("MiB/s"), std::string::npos) << line;
  }
  EXPECT_GT(bars, 0u) << tty;
}

// A .npy whose dtype tandem has no exact match for is refused, naming the
// file's dtype, instead of computed widened (NumPy: abs(int8 -128) == -128).
TEST_F(RunCli, NpyDtypesAreKeptOrRefused) {
  auto npy = [&](const std::string& name, const std::string& descr, const std::string& data) {
    std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" +
                       std::to_string(data.size() / (descr.back() - '0')) + ",), }";
    while ((10 + dict.size() + 1) % 64) dict += ' ';
    dict += '\n';
    std::ofstream f(dir_ / "in" / name, std::ios::binary);
    f << "\x93NUMPY" << char(1) << char(0) << char(dict.size() & 255) << char(dict.size() >> 8) << dict << data;
  };
  npy("i8.npy", "|i1", std::string{char(0x80), char(0xff)});
  npy("b.npy", "|b1", std::string{0, 1});
  npy("h.npy", "<f2", std::string{0, 0x3c});
  npy("f.npy", "<f4", std::string{0, 0, char(0x80), char(0xbf)});  // -1.0f
  const Result r = run({"run", "-p", "abs", "-o", out(), in()});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("i8.npy': NPY dtype '|i1' has no tandem dtype"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("b.npy': NPY dtype '|b1'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("h.npy': NPY dtype '<f2'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 ok, 3 failed"), std::string::npos) << r.err;
  Tensor t;
  ASSERT_TRUE(io::read_npy(out() + "/f.npy", t).ok());
  EXPECT_EQ(t.view().dtype, DType::f32);
  EXPECT_EQ(t.view().ptr<float>()[0], 1.0f);
}

// A phone photo with orientation 6 comes out upright (as OpenCV shows it);
// --raw-orientation keeps the stored pixels.
TEST_F(RunCli, ExifOrientationIsAppliedUnlessRawIsAsked) {
  const fs::path golden = fs::path(TANDEM_SOURCE_DIR) / "tests" / "golden" / "exif";
  fs::copy_file(golden / "orient6.jpg", dir_ / "in" / "phone.jpg");
  ASSERT_EQ(run({"run", "-p", "invert", "-o", out(), "--format", "png", in()}).code, 0);
  ASSERT_EQ(run({"run", "-p", "invert", "-o", out() + "/raw", "--format", "png", "--raw-orientation", in()}).code, 0);
  Tensor upright, stored, want;
  ASSERT_TRUE(io::read_image(out() + "/phone.png", upright).ok());
  ASSERT_TRUE(io::read_image(out() + "/raw/phone.png", stored).ok());
  ASSERT_TRUE(io::read_npy((golden / "orient6.npy").string(), want).ok());
  EXPECT_EQ(upright.view().height(), 40);
  EXPECT_EQ(upright.view().width(), 24);
  EXPECT_EQ(stored.view().height(), 24);
  for (std::int64_t i = 0; i < want.view().numel(); ++i)
    ASSERT_EQ(upright.view().ptr<std::uint8_t>()[i], 255 - want.view().ptr<std::uint8_t>()[i]) << i;
}

}  // namespace
}  // namespace tandem
