// `tandem run` as a user runs it: exit codes, messages, --json, --trace,
// Ctrl-C, and --resume after the process was killed outright.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tandem/io/codec.hpp"
#include "tests/support/test_support.hpp"

extern char** environ;

namespace tandem {
namespace {

namespace fs = std::filesystem;

struct Proc {
  pid_t pid = -1;
  fs::path out, err;
};

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

int wait_exit(const Proc& p) {
  int status = 0;
  waitpid(p.pid, &status, 0);
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
  std::size_t outputs = 0;
  for (const auto& e : fs::directory_iterator(out())) {
    EXPECT_FALSE(io::is_temporary_name(e.path().filename().string())) << e.path();
    Tensor t;
    EXPECT_TRUE(io::read_image(e.path().string(), t).ok()) << e.path();
    ++outputs;
  }
  EXPECT_LT(outputs, 60u);
}

}  // namespace
}  // namespace tandem
