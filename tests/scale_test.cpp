// Scale-out: byte-balanced shards (assign_shards, RunOptions::shard_*,
// `tandem run --shard K/N`), the pages of a multi-page TIFF as items the
// shares split, `tandem summary merge`, and `mpirun -n N tandem run` (when
// built with MPI): one listing made by rank 0, the same files as one
// process, every item once, one summary, one progress count and one trace,
// usage errors once, a killed rank and --resume, a slow rank taking fewer items.
#include <gtest/gtest.h>
#include <tiffio.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <set>
#include <string>
#include <vector>

#include "host/engine/share.hpp"
#include "tandem/io/codec.hpp"
#include "tests/support/cli.hpp"
#include "tests/support/engine_support.hpp"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::engine::TempDir;

std::string file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

/// Every file under `dir`, relative path -> contents.
std::map<std::string, std::string> tree(const fs::path& dir) {
  std::map<std::string, std::string> t;
  if (!fs::exists(dir)) return t;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) t[fs::relative(e.path(), dir).string()] = file_bytes(e.path());
  return t;
}

/// `n` PNGs of odd, different sizes in `dir`/sub-folders (the bigger, the later).
void make_images(const fs::path& dir, int n) {
  for (int i = 0; i < n; ++i) {
    const fs::path sub = dir / ("d" + std::to_string(i % 3));
    fs::create_directories(sub);
    Tensor img = test::random_image(DType::u8, 9 + 5 * i, 13 + 3 * (i % 7), i % 2 ? 3 : 1, 77u + static_cast<unsigned>(i));
    ASSERT_TRUE(io::write_image((sub / ("img" + std::to_string(100 + i) + ".png")).string(), img.view()).ok());
  }
}

/// A multi-page TIFF written with libtiff: `pages` uncompressed RGB u8 pages
/// of odd, different sizes, each larger than the 64 KiB a header probe reads
/// (so the later pages' directories lie beyond it); returns the pages.
std::vector<Tensor> make_pages(const fs::path& file, int pages) {
  std::vector<Tensor> out;
  TIFF* tif = TIFFOpen(file.c_str(), "w");
  EXPECT_NE(tif, nullptr);
  if (!tif) return out;
  for (int k = 0; k < pages; ++k) {
    Tensor img = test::random_image(DType::u8, 151 + 10 * k, 203 + 6 * k, 3, 900u + static_cast<unsigned>(k));
    const View v = img.view();
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, std::uint32_t(v.width()));
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, std::uint32_t(v.height()));
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, std::uint16_t(3));
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, std::uint16_t(8));
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
    TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_NONE);
    TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, std::uint32_t(16));
    for (std::int64_t y = 0; y < v.height(); ++y)
      EXPECT_GE(TIFFWriteScanline(tif, const_cast<std::uint8_t*>(v.row<std::uint8_t>(y)), std::uint32_t(y), 0), 0);
    EXPECT_TRUE(TIFFWriteDirectory(tif));
    out.push_back(std::move(img));
  }
  TIFFClose(tif);
  return out;
}

/// `invert` of a u8 image, element by element.
Tensor inverted(const View& v) {
  Tensor t = test::random_image(DType::u8, v.height(), v.width(), v.channels(), 1);
  for (std::int64_t y = 0; y < v.height(); ++y)
    for (std::int64_t x = 0; x < v.width() * v.channels(); ++x)
      t.view().row<std::uint8_t>(y)[x] = static_cast<std::uint8_t>(255 - v.row<std::uint8_t>(y)[x]);
  return t;
}

/// The `n` shards of `inputs` through the library, each writing into `out`.
std::vector<RunSummary> run_shards(const Pipeline& p, const std::vector<std::string>& inputs, const std::string& out,
                                   int n) {
  std::vector<RunSummary> shards(static_cast<std::size_t>(n));
  for (int k = 0; k < n; ++k) {
    RunOptions o = test::engine::cpu_options(out);
    o.inputs = inputs;
    o.shard_index = k;
    o.shard_count = n;
    EXPECT_TRUE(run_batch(p, o, shards[static_cast<std::size_t>(k)]).ok()) << "shard " << k;
    EXPECT_EQ(shards[static_cast<std::size_t>(k)].failed, 0u) << "shard " << k;
  }
  return shards;
}

std::string env_prefix(const TempDir& t) { return "XDG_CACHE_HOME=" + test::shell_quote(t.str("cache")); }

// One unsharded run of t/in into t/whole: what the shards are compared with.
RunSummary run_unsharded(const Pipeline& p, const TempDir& t) {
  RunOptions whole = test::engine::cpu_options(t.str("whole"));
  whole.inputs = {t.str("in")};
  RunSummary all;
  EXPECT_TRUE(run_batch(p, whole, all).ok());
  return all;
}

TEST(Shards, AssignmentBalancesBytesAndCoversEveryItemOnce) {
  std::mt19937_64 rng(5);
  for (int n : {1, 2, 3, 5, 8}) {
    for (std::size_t items : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{101}}) {
      std::vector<std::uint64_t> bytes(items);
      for (auto& b : bytes) b = rng() % 5 == 0 ? 0 : rng() % 1000000;  // some empty files
      const std::vector<int> shard = engine::assign_shards(bytes, n);
      ASSERT_EQ(shard.size(), items);
      EXPECT_EQ(shard, engine::assign_shards(bytes, n)) << "not deterministic";
      std::vector<std::uint64_t> load(static_cast<std::size_t>(n), 0);
      std::vector<std::size_t> count(static_cast<std::size_t>(n), 0);
      for (std::size_t i = 0; i < items; ++i) {
        ASSERT_GE(shard[i], 0);
        ASSERT_LT(shard[i], n);
        load[static_cast<std::size_t>(shard[i])] += bytes[i];
        ++count[static_cast<std::size_t>(shard[i])];
      }
      const std::uint64_t biggest = items ? *std::max_element(bytes.begin(), bytes.end()) : 0;
      const auto [lo, hi] = std::minmax_element(load.begin(), load.end());
      EXPECT_LE(*hi - *lo, biggest) << n << " shards, " << items << " items";
      if (items >= static_cast<std::size_t>(n))
        for (std::size_t c : count) EXPECT_GT(c, 0u) << "an empty shard with " << items << " items";
    }
  }
}

// Three shards of one batch, through the library: disjoint, their union is
// the batch, and the files are those of one unsharded run.
TEST(Shards, UnionIsTheWholeBatchWithTheSameFiles) {
  TempDir t;
  make_images(t.path() / "in", 14);
  const Pipeline p = test::engine::parse("gaussian sigma=2 | sobel");
  const RunSummary all = run_unsharded(p, t);
  ASSERT_EQ(all.ok, 14u);
  const std::vector<std::string> inputs = {t.str("in")};
  std::set<std::size_t> seen;
  std::uint64_t max_in = 0, min_in = ~0ull;
  for (const RunSummary& s : run_shards(p, inputs, t.str("sharded"), 3)) {
    for (const auto& r : s.items) {
      EXPECT_TRUE(seen.insert(r.index).second) << r.input << " in two shards";
      EXPECT_EQ(all.items[r.index].input, r.input) << "index " << r.index << " is another input";
    }
    max_in = std::max(max_in, s.bytes_in);
    min_in = std::min(min_in, s.bytes_in);
  }
  EXPECT_EQ(seen.size(), 14u);
  std::uint64_t biggest = 0;
  for (const auto& e : fs::recursive_directory_iterator(t.path() / "in"))
    if (e.is_regular_file()) biggest = std::max<std::uint64_t>(biggest, e.file_size());
  EXPECT_LE(max_in - min_in, biggest) << "shards are not byte-balanced";
  EXPECT_EQ(tree(t.path() / "sharded"), tree(t.path() / "whole"));
  // An index outside 0..N-1 is refused before anything runs.
  RunOptions bad = test::engine::cpu_options(t.str("bad"));
  bad.inputs = inputs;
  bad.shard_index = 3;
  bad.shard_count = 3;
  RunSummary none;
  EXPECT_EQ(run_batch(p, bad, none).code(), Errc::invalid_argument);
}

// Each page of a multi-page TIFF is an item of the listing, so shards split
// a TIFF's pages as they split files: the shards' union covers every page
// once, with the files (NAME.pK.tif) of one unsharded run.
TEST(Shards, SplitTheItemsOfAMultiPageTiffPageByPage) {
  TempDir t;
  make_images(t.path() / "in", 4);
  const std::vector<Tensor> pages = make_pages(t.path() / "in" / "pages.tif", 5);
  ASSERT_EQ(pages.size(), 5u);
  const Pipeline p = test::engine::parse("invert");
  const RunSummary all = run_unsharded(p, t);
  ASSERT_EQ(all.ok, 9u);
  EXPECT_EQ(all.failed, 0u);
  for (int k = 0; k < 5; ++k) {
    Tensor got;
    ASSERT_TRUE(io::read_image(t.str("whole/pages.p" + std::to_string(k) + ".tif"), got).ok()) << "page " << k;
    EXPECT_TRUE(test::engine::same(got.view(), inverted(pages[static_cast<std::size_t>(k)].view()).view())) << "page " << k;
  }
  std::map<std::size_t, int> shard_of;  // index -> shard
  std::set<int> shards_with_pages;
  const std::vector<RunSummary> shards = run_shards(p, {t.str("in")}, t.str("sharded"), 3);
  for (int k = 0; k < 3; ++k) {
    for (const auto& r : shards[static_cast<std::size_t>(k)].items) {
      EXPECT_TRUE(shard_of.emplace(r.index, k).second) << r.input << " in two shards";
      ASSERT_LT(r.index, all.items.size());
      EXPECT_EQ(all.items[r.index].input, r.input) << "index " << r.index << " is another item";
      EXPECT_EQ(fs::relative(all.items[r.index].output, t.path() / "whole"), fs::relative(r.output, t.path() / "sharded"));
      if (r.input.find("pages.tif") != std::string::npos) shards_with_pages.insert(k);
    }
  }
  EXPECT_EQ(shard_of.size(), 9u) << "the shards' union is every page and file once";
  EXPECT_GE(shards_with_pages.size(), 2u) << "the TIFF's pages went to one shard: files were split, not pages";
  EXPECT_EQ(tree(t.path() / "sharded"), tree(t.path() / "whole"));
}

TEST(ShardCli, ShardsMergeIntoOneSummary) {
  TempDir t;
  make_images(t.path() / "in", 10);
  std::ofstream(t.path() / "in" / "broken.png") << "not a png";  // one failure, in some shard
  std::vector<std::string> files;
  for (int k = 0; k < 3; ++k) {
    const auto r = test::run_command({TANDEM_CLI, "run", "-q", "--json", "-p", "invert", "-o", t.str("out"),
                                      "--shard", std::to_string(k) + "/3", t.str("in")},
                                     env_prefix(t));
    EXPECT_TRUE(r.rc == 0 || r.rc == 1) << r.err;
    files.push_back(t.str("s" + std::to_string(k) + ".json"));
    std::ofstream(files.back()) << r.out;
  }
  auto merged = test::run_command({TANDEM_CLI, "summary", "merge", files[0], files[1], files[2]});
  EXPECT_EQ(merged.rc, 1) << "one item failed: " << merged.err;
  const json m = json::parse(merged.out);
  EXPECT_EQ(m["ok"], 10);
  EXPECT_EQ(m["failed"], 1);
  ASSERT_EQ(m["items"].size(), 11u);
  for (std::size_t i = 0; i < 11; ++i) {
    EXPECT_EQ(m["items"][i]["index"], i) << "items in listing order, each once";
    EXPECT_TRUE(m["items"][i]["shard"].is_number());
  }
  ASSERT_EQ(m["shards"].size(), 3u);
  EXPECT_TRUE(m["shard"]["missing"].empty());
  EXPECT_NE(merged.err.find("3 shards: 10 ok, 1 failed"), std::string::npos) << merged.err;
  EXPECT_NE(merged.err.find("broken.png"), std::string::npos) << merged.err;
  EXPECT_EQ(tree(t.path() / "out").size(), 10u);

  // A missing shard is said and fails; a repeated one, another pipeline or a
  // file that is no summary are refused.
  const auto two = test::run_command({TANDEM_CLI, "summary", "merge", files[0], files[2]});
  EXPECT_EQ(two.rc, 1);
  EXPECT_NE(two.err.find("1 of 3 shards missing: 1"), std::string::npos) << two.err;
  EXPECT_EQ(test::run_command({TANDEM_CLI, "summary", "merge", files[0], files[0]}).rc, 2);
  json other = json::parse(file_bytes(files[1]));
  other["pipeline"] = "sobel";
  std::ofstream(t.str("other.json")) << other.dump();
  const auto mixed = test::run_command({TANDEM_CLI, "summary", "merge", files[0], t.str("other.json")});
  EXPECT_EQ(mixed.rc, 2);
  EXPECT_NE(mixed.err.find("another pipeline"), std::string::npos) << mixed.err;
  std::ofstream(t.str("junk.json")) << "{\"ok\": 1}";
  const auto junk = test::run_command({TANDEM_CLI, "summary", "merge", t.str("junk.json")});
  EXPECT_EQ(junk.rc, 2);
  EXPECT_NE(junk.err.find("junk.json"), std::string::npos) << junk.err;
}

TEST(ShardCli, BadShardsAreUsageErrors) {
  TempDir t;
  make_images(t.path() / "in", 2);
  for (const char* bad : {"3/3", "1/0", "a/b", "-1/2", "1", "1/2/3", " 1/2", "1/+2"}) {
    const auto r = test::run_command({TANDEM_CLI, "run", "-p", "invert", "-o", t.str("out"), "--shard", bad, t.str("in")});
    EXPECT_EQ(r.rc, 2) << bad << ": " << r.err;
    EXPECT_NE(r.err.find("--shard"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(t.path() / "out")) << bad;
  }
}

// ---------------------------------------------------------------------------
// mpirun (built with MPI only)
// ---------------------------------------------------------------------------
#ifdef TANDEM_TEST_MPIEXEC
class Mpi : public ::testing::Test {
 protected:
  void SetUp() override {
    make_images(t_.path() / "in", 18);
    for (const char* photo : {"camera.png", "coins.png", "rocket.jpg"})
      fs::copy_file(test::data_dir() + "/images/" + photo, t_.path() / "in" / photo);
  }
  // mpirun -n N tandem ARGS..., as root where CI runs as root, oversubscribed on a small machine.
  test::CommandResult mpirun(int n, std::vector<std::string> args, const std::string& env = "") {
    std::vector<std::string> cmd{TANDEM_TEST_MPIEXEC, "--oversubscribe", "-n", std::to_string(n)};
    for (const char* var : {"XDG_CACHE_HOME", "TANDEM_TEST_RANK_DELAY_MS", "TANDEM_TEST_KILL_RANK", "TANDEM_TEST_LISTING_PIECE"})
      cmd.insert(cmd.end(), {"-x", var});
    cmd.push_back(TANDEM_CLI);
    cmd.insert(cmd.end(), args.begin(), args.end());
    return test::run_command(cmd, "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 " +
                                      env_prefix(t_) + " TANDEM_TEST_RANK_DELAY_MS=" + delay_ + " TANDEM_TEST_KILL_RANK=" +
                                      kill_ + " TANDEM_TEST_LISTING_PIECE=" + piece_ + (env.empty() ? "" : " " + env));
  }
  std::map<std::string, std::string> reference() {
    const auto r = test::run_command({TANDEM_CLI, "run", "-q", "-p", kPipeline, "-o", t_.str("ref"), t_.str("in")},
                                     env_prefix(t_));
    EXPECT_EQ(r.rc, 0) << r.err;
    return tree(t_.path() / "ref");
  }
  static constexpr const char* kPipeline = "gaussian sigma=2 | sobel";
  TempDir t_;
  std::string delay_ = "none", kill_ = "none", piece_ = "0";
};

TEST_F(Mpi, RanksWriteTheFilesOfOneProcessWithOneSummaryAndOneTrace) {
  const auto want = reference();
  ASSERT_EQ(want.size(), 21u);
  for (int n : {2, 3}) {
    SCOPED_TRACE(std::to_string(n) + " ranks");
    const std::string out = t_.str("out" + std::to_string(n)), trace = t_.str("trace" + std::to_string(n) + ".json");
    const auto r = mpirun(n, {"run", "--json", "-p", kPipeline, "-o", out, "--trace", trace, t_.str("in")});
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(tree(out), want) << "not the files of one process";
    const json m = json::parse(r.out);  // one summary: rank 0's
    EXPECT_EQ(m["ok"], 21);
    EXPECT_EQ(m["failed"], 0);
    ASSERT_EQ(m["ranks"].size(), static_cast<std::size_t>(n));
    std::size_t per_rank = 0;
    for (const auto& rank : m["ranks"]) per_rank += rank["ok"].get<std::size_t>();
    EXPECT_EQ(per_rank, 21u);
    ASSERT_EQ(m["items"].size(), 21u);
    for (std::size_t i = 0; i < 21; ++i) EXPECT_EQ(m["items"][i]["index"], i) << "every item once, in order";
    EXPECT_NE(r.err.find(std::to_string(n) + " ranks: 21 ok, 0 failed"), std::string::npos) << r.err;
    const json tr = json::parse(file_bytes(trace));
    std::set<int> pids;
    for (const auto& e : tr["traceEvents"]) pids.insert(e["pid"].get<int>());
    std::set<int> want_pids;
    for (int i = 0; i < n; ++i) want_pids.insert(i);
    EXPECT_EQ(pids, want_pids) << "one process row per rank";
  }
}

// Rank 0 lists and broadcasts the listing (here in pieces of 64 bytes, a
// test hook): the other ranks never list (their trace row has "receive the
// listing", never "list inputs"), and they write the files of one process,
// the pages of a multi-page TIFF included.
TEST_F(Mpi, RankZeroListsAndTheOthersReceiveItsListing) {
  make_pages(t_.path() / "in" / "pages.tif", 5);
  const auto want = reference();
  ASSERT_EQ(want.size(), 26u);
  for (int n : {2, 3}) {
    SCOPED_TRACE(std::to_string(n) + " ranks");
    const std::string out = t_.str("out" + std::to_string(n)), trace = t_.str("trace" + std::to_string(n) + ".json");
    piece_ = "64";
    const auto r = mpirun(n, {"run", "--json", "-p", kPipeline, "-o", out, "--trace", trace, t_.str("in")});
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(tree(out), want) << "not the files of one process";
    const json m = json::parse(r.out);
    ASSERT_EQ(m["items"].size(), 26u);
    for (std::size_t i = 0; i < 26; ++i) EXPECT_EQ(m["items"][i]["index"], i) << "every item once, in order";
    std::map<std::string, std::set<int>> pids;  // event -> ranks
    const json tr = json::parse(file_bytes(trace));
    for (const auto& e : tr["traceEvents"])
      if (e.value("cat", std::string()) == "listing") pids[e["name"].get<std::string>()].insert(e["pid"].get<int>());
    std::set<int> others;
    for (int i = 1; i < n; ++i) others.insert(i);
    EXPECT_EQ(pids["list inputs"], std::set<int>{0}) << "a rank other than 0 listed the inputs";
    EXPECT_EQ(pids["receive the listing"], others);
  }
}

// The progress count is rank 0's and counts every rank: with rank 0 slowed
// (it runs few items), its last progress line still counts all 21.
TEST_F(Mpi, RankZerosProgressCountsTheItemsOfEveryRank) {
  delay_ = "0:150";
  for (int n : {2, 3}) {
    SCOPED_TRACE(std::to_string(n) + " ranks");
    const auto r = mpirun(n, {"run", "-v", "-p", "invert", "-o", t_.str("out" + std::to_string(n)), t_.str("in")});
    ASSERT_EQ(r.rc, 0) << r.err;
    std::vector<std::string> lines;  // "D/T" of each progress line
    std::istringstream err(r.err);
    for (std::string line; std::getline(err, line);)
      if (line.starts_with("tandem: ") && line.find(" items, ") != std::string::npos)
        lines.push_back(line.substr(8, line.find(' ', 8) - 8));
    ASSERT_FALSE(lines.empty()) << r.err;
    EXPECT_EQ(lines.back(), "21/21") << r.err;
    EXPECT_EQ(std::count(lines.begin(), lines.end(), "21/21"), 1) << "one final count, from one rank: " << r.err;
    const auto at = r.err.find("  rank 0: ");
    ASSERT_NE(at, std::string::npos) << r.err;
    EXPECT_LT(std::stoi(r.err.substr(at + 10)), 21) << "rank 0 ran every item: the count proves nothing";
  }
}

TEST_F(Mpi, UsageErrorsAreSaidOnceAndEveryRankExits2) {
  auto said = [](const std::string& err, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = 0; (at = err.find(what, at)) != std::string::npos; ++at) ++n;
    return n;
  };
  // Rank 0 slowed before it speaks: the ranks that found the same error
  // wait for it (mpirun would end the job at their exit 2, rank 0 unheard).
  delay_ = "0:500";
  const auto r = mpirun(3, {"run", "-p", "gaussian sigma=-1", "-o", t_.str("out"), t_.str("in")});
  EXPECT_EQ(r.rc, 2) << r.err;
  EXPECT_EQ(said(r.err, "tandem run: invalid pipeline"), 1u) << r.err;
  // An unknown flag (the command line's parser) and --shard with mpirun, once each.
  const auto flag = mpirun(2, {"run", "--no-such-flag", "-p", "invert", "-o", t_.str("out"), t_.str("in")});
  EXPECT_EQ(flag.rc, 2) << flag.err;
  EXPECT_EQ(said(flag.err, "no-such-flag"), 1u) << flag.err;
  const auto shard = mpirun(2, {"run", "--shard", "0/2", "-p", "invert", "-o", t_.str("out"), t_.str("in")});
  EXPECT_EQ(shard.rc, 2) << shard.err;
  EXPECT_EQ(said(shard.err, "--shard under mpirun"), 1u) << shard.err;
  // A listing error (no inputs), found by rank 0 alone and broadcast, is said once.
  fs::create_directories(t_.path() / "empty");
  for (int n : {2, 3}) {
    const auto none = mpirun(n, {"run", "-p", "invert", "-o", t_.str("out"), t_.str("empty")});
    EXPECT_EQ(none.rc, 2) << none.err;
    EXPECT_EQ(said(none.err, "no input files"), 1u) << none.err;
  }
  // An output directory that cannot be made stops every rank before the
  // listing: said once, and 2 as for one process.
  const std::string under_file = t_.str("in/camera.png/out");
  const auto one = test::run_command({TANDEM_CLI, "run", "-p", "invert", "-o", under_file, t_.str("in")}, env_prefix(t_));
  const auto blocked = mpirun(3, {"run", "-p", "invert", "-o", under_file, t_.str("in")});
  EXPECT_EQ(one.rc, 2) << one.err;
  EXPECT_EQ(blocked.rc, one.rc) << blocked.err;
  EXPECT_EQ(said(blocked.err, "cannot create output directory"), 1u) << blocked.err;
}

TEST_F(Mpi, FailedItemsNameTheirRankAndExit1) {
  std::ofstream(t_.path() / "in" / "broken.png") << "not a png";
  const auto r = mpirun(2, {"run", "--json", "-p", "invert", "-o", t_.str("out"), t_.str("in")});
  EXPECT_EQ(r.rc, 1) << r.err;
  const json m = json::parse(r.out);
  EXPECT_EQ(m["failed"], 1);
  bool named = false;
  for (const auto& it : m["items"])
    if (it["status"] == "failed") named = it["rank"].is_number() && it["path"].get<std::string>().find("broken.png") != std::string::npos;
  EXPECT_TRUE(named) << r.out;
  EXPECT_NE(r.err.find("failed (rank "), std::string::npos) << r.err;
}

TEST_F(Mpi, AKilledRankFailsTheJobAndResumeCompletesIt) {
  const auto want = reference();
  kill_ = "1:4";    // rank 1 dies with SIGKILL once it has taken 4 items,
  delay_ = "0:400";  // while rank 0, slowed, has written few
  const auto killed = mpirun(2, {"run", "-q", "-p", kPipeline, "-o", t_.str("out"), t_.str("in")});
  EXPECT_NE(killed.rc, 0) << "mpirun must fail when a rank dies";
  EXPECT_LT(tree(t_.path() / "out").size(), want.size());
  kill_ = delay_ = "none";
  // The rerun, with another number of ranks, completes the batch.
  const auto resumed = mpirun(3, {"run", "--json", "--resume", "-p", kPipeline, "-o", t_.str("out"), t_.str("in")});
  ASSERT_EQ(resumed.rc, 0) << resumed.err;
  const json m = json::parse(resumed.out);
  EXPECT_EQ(m["ok"].get<std::size_t>() + m["skipped"].get<std::size_t>(), 21u);
  EXPECT_GT(m["skipped"].get<std::size_t>(), 0u);
  auto got = tree(t_.path() / "out");
  EXPECT_EQ(got, want);
}

// Rank 1 slowed to 150 ms an item: dynamic chunks give it fewer items, and
// the run ends well before the time a static half share would take.
TEST_F(Mpi, ASlowRankTakesFewerItems) {
  delay_ = "1:150";
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = mpirun(2, {"run", "--json", "-p", "invert", "-o", t_.str("out"), t_.str("in")});
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(r.rc, 0) << r.err;
  const json m = json::parse(r.out);
  ASSERT_EQ(m["ranks"].size(), 2u);
  const auto fast = m["ranks"][0]["ok"].get<std::size_t>(), slow = m["ranks"][1]["ok"].get<std::size_t>();
  std::cout << "slow rank: rank 0 " << fast << " items, rank 1 " << slow << " items, mpirun wall " << wall
            << " s (a static half share: >= " << 0.15 * 10.5 << " s on rank 1)\n";
  EXPECT_EQ(fast + slow, 21u);
  EXPECT_LE(2 * slow, fast) << "a rank 30x slower took more than a third of the items";
}
#endif

}  // namespace
}  // namespace tandem
