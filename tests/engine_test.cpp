// The batch engine end to end through the library API: real files in, outputs
// checked against the ops applied directly; bad inputs, resume, output-path
// safety, bounded memory, streaming of arrays larger than the budget.
#include <gtest/gtest.h>
#include <omp.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "host/core/sanitizers.hpp"
#include "host/engine/engine_plan.hpp"
#include "host/engine/model.hpp"
#include "host/engine/scheduler.hpp"
#include "tandem/engine.hpp"
#include "tandem/io/codec.hpp"
#include "tandem/io/npy.hpp"
#include "tests/support/engine_support.hpp"
#include "tests/support/test_support.hpp"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using namespace test::engine;

std::size_t count_temporaries(const fs::path& dir) {
  std::size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (io::is_temporary_name(e.path().filename().string())) ++n;
  return n;
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary);
  f << bytes;
}

TEST(Engine, BatchOfPhotosMatchesDirectApplication) {
  TempDir in, out;
  fs::create_directories(in.path() / "sub");
  for (const char* name : {"camera.png", "coins.png", "chelsea.png"})
    fs::copy_file(test::data_dir() + "/images/" + name, in.path() / name);
  fs::copy_file(test::data_dir() + "/images/moon.png", in.path() / "sub" / "moon.png");
  const Pipeline p = parse("gaussian sigma=2 | sobel");
  const RunSummary sum = cpu_run(p, in.str(), out.str());
  EXPECT_EQ(sum.ok, 4u);
  EXPECT_EQ(sum.failed, 0u);
  ASSERT_EQ(sum.items.size(), 4u);
  for (const auto& item : sum.items) {
    EXPECT_TRUE(item.status.ok()) << item.input << ": " << item.status.message();
    EXPECT_EQ(item.device.rfind("cpu:", 0), 0u);
  }
  // Relative paths are kept under the output directory.
  ASSERT_TRUE(fs::exists(out.path() / "sub" / "moon.png"));
  for (const char* rel : {"camera.png", "coins.png", "chelsea.png", "sub/moon.png"}) {
    Tensor src, got;
    ASSERT_TRUE(io::read_image((in.path() / rel).string(), src).ok());
    ASSERT_TRUE(io::read_image((out.path() / rel).string(), got).ok());
    EXPECT_TRUE(same(got.view(), direct(p, src.view()).view())) << rel;
  }
  EXPECT_EQ(count_temporaries(out.path()), 0u);
  EXPECT_EQ(sum.items_per_device.begin()->second + (sum.items_per_device.size() > 1 ? std::next(sum.items_per_device.begin())->second : 0), 4u);
}

TEST(Engine, BadInputsFailAloneAndTheBatchGoesOn) {
  TempDir in, out;
  fs::copy_file(test::data_dir() + "/images/camera.png", in.path() / "good.png");
  fs::copy_file(test::data_dir() + "/broken/truncated.jpg", in.path() / "truncated.jpg");
  write_bytes(in.path() / "empty.png", "");
  write_bytes(in.path() / "garbage.png", std::string(1000, 'x'));
  {
    std::ifstream f(test::data_dir() + "/images/coins.png", std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(f)), {});
    write_bytes(in.path() / "half.png", all.substr(0, all.size() / 2));
  }
  write_bytes(in.path() / "notes.txt", "not an image");
  const Pipeline p = parse("invert");
  RunOptions o = cpu_options(out.str());
  // notes.txt: ignored where the directory walk finds it, failed where it is named.
  o.inputs = {in.str(), in.str("missing.png"), in.str("notes.txt")};
  const RunSummary sum = run_ok(p, o);
  EXPECT_EQ(sum.ok, 1u);
  EXPECT_EQ(sum.failed, 6u);
  EXPECT_EQ(sum.items.size(), 7u);
  ASSERT_FALSE(sum.notices.empty());
  EXPECT_NE(sum.notices[0].find("ignored 1 file of no known format"), std::string::npos) << sum.notices[0];
  for (const auto& item : sum.items) {
    if (item.input.ends_with("good.png")) {
      EXPECT_TRUE(item.status.ok());
      continue;
    }
    EXPECT_FALSE(item.status.ok()) << item.input;
    EXPECT_TRUE(item.output.empty());
    // Every message names the file.
    EXPECT_NE(item.status.message().find(fs::path(item.input).filename().string()), std::string::npos)
        << item.status.message();
  }
  EXPECT_TRUE(fs::exists(out.path() / "good.png"));
  for (const char* name : {"truncated.jpg", "empty.png", "garbage.png", "half.png", "notes.txt"})
    EXPECT_FALSE(fs::exists(out.path() / name)) << name;
  EXPECT_EQ(count_temporaries(out.path()), 0u);
}

TEST(Engine, ADirectoryWithNothingTandemReadsIsAnError) {
  TempDir in, out;
  write_bytes(in.path() / "README", "photos go here");
  write_bytes(in.path() / "notes.txt", "none yet");
  RunOptions o = cpu_options(out.str());
  o.inputs = {in.str()};
  RunSummary sum;
  const Status s = run_batch(parse("invert"), o, sum);
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_NE(s.message().find("2 ignored"), std::string::npos) << s.message();
  // With --glob the user chose them: they are inputs, and fail as such.
  o.globs = {"*.txt"};
  ASSERT_TRUE(run_batch(parse("invert"), o, sum).ok());
  EXPECT_EQ(sum.failed, 1u);
}

TEST(Engine, ResumeSkipsCompleteOutputs) {
  TempDir in, out;
  for (int i = 0; i < 6; ++i) {
    Tensor img = test::random_image(DType::u8, 31 + i, 17, 3, static_cast<std::uint64_t>(i));
    ASSERT_TRUE(io::write_image(in.str("img" + std::to_string(i) + ".png"), img.view()).ok());
  }
  const Pipeline p = parse("box size=3");
  RunOptions o = cpu_options(out.str());
  o.inputs = {in.str()};
  const RunSummary first = run_ok(p, o);
  ASSERT_EQ(first.ok, 6u);
  fs::remove(out.path() / "img2.png");
  fs::remove(out.path() / "img4.png");
  const auto before = fs::last_write_time(out.path() / "img0.png");
  o.resume = true;
  const RunSummary second = run_ok(p, o);
  EXPECT_EQ(second.ok, 2u);
  EXPECT_EQ(second.skipped, 4u);
  EXPECT_EQ(fs::last_write_time(out.path() / "img0.png"), before);
  Tensor src, got;
  ASSERT_TRUE(io::read_image(in.str("img4.png"), src).ok());
  ASSERT_TRUE(io::read_image(out.str("img4.png"), got).ok());
  EXPECT_TRUE(same(got.view(), direct(p, src.view()).view()));
}

TEST(Engine, RefusesToOverwriteInputsOrEscapeTheOutputDirectory) {
  TempDir in, elsewhere;
  Tensor img = test::random_image(DType::u8, 9, 9, 1, 3);
  ASSERT_TRUE(io::write_image(in.str("a.png"), img.view()).ok());
  fs::create_directories(in.path() / "deep");
  ASSERT_TRUE(io::write_image(in.str("deep/b.png"), img.view()).ok());
  const Pipeline p = parse("invert");
  {
    // Output directory = input directory, same format: every output is an input.
    RunOptions o = cpu_options(in.str());
    o.inputs = {in.str()};
    RunSummary sum;
    ASSERT_TRUE(run_batch(p, o, sum).ok());
    EXPECT_EQ(sum.ok, 0u);
    EXPECT_EQ(sum.failed, 2u);
    for (const auto& item : sum.items) EXPECT_NE(item.status.message().find("is an input"), std::string::npos);
    Tensor back;
    ASSERT_TRUE(io::read_image(in.str("a.png"), back).ok());
    EXPECT_TRUE(same(back.view(), img.view()));  // untouched
  }
  {
    // A symlink inside the output directory pointing elsewhere is not followed out.
    TempDir out;
    fs::create_directory_symlink(elsewhere.path(), out.path() / "deep");
    const RunSummary sum = cpu_run(p, in.str(), out.str());
    EXPECT_EQ(sum.ok, 1u);
    EXPECT_EQ(sum.failed, 1u);
    EXPECT_FALSE(fs::exists(elsewhere.path() / "b.png"));
    bool found = false;
    for (const auto& item : sum.items)
      if (item.input.ends_with("b.png")) found = item.status.message().find("outside the output directory") != std::string::npos;
    EXPECT_TRUE(found);
  }
}

TEST(Engine, ReductionsWriteJsonAndArraysWriteNpy) {
  TempDir in, out;
  Tensor a = test::random_tensor(DType::f32, {100, 7}, 11, -3, 5);
  ASSERT_TRUE(io::write_npy(in.str("a.npy"), a.view()).ok());
  ASSERT_TRUE(io::write_image(in.str("photo.png"), test::random_image(DType::u8, 20, 30, 1, 2).view()).ok());
  RunOptions o = cpu_options(out.str());
  o.inputs = {in.str()};
  RunSummary sum;
  ASSERT_TRUE(run_batch(parse("stats"), o, sum).ok());
  ASSERT_EQ(sum.ok, 2u);
  ASSERT_TRUE(fs::exists(out.path() / "a.json"));
  ASSERT_TRUE(fs::exists(out.path() / "photo.json"));
  std::ifstream f(out.path() / "a.json");
  const std::string text((std::istreambuf_iterator<char>(f)), {});
  for (const char* key : {"\"count\"", "\"sum\"", "\"min\"", "\"max\"", "\"mean\"", "\"std\""})
    EXPECT_NE(text.find(key), std::string::npos) << key;
  ASSERT_FALSE(sum.items[0].values.empty());
  EXPECT_EQ(sum.items[0].values[0].first, "count");
  EXPECT_EQ(sum.items[0].values[0].second, 700);

  TempDir out2;
  o.output_dir = out2.str();
  ASSERT_TRUE(run_batch(parse("histogram bins=10"), o, sum).ok());
  ASSERT_EQ(sum.ok, 2u);
  Tensor h;
  ASSERT_TRUE(io::read_npy(out2.str("photo.npy"), h).ok());
  EXPECT_EQ(h.view().dtype, DType::i64);
  EXPECT_EQ(h.view().numel(), 10);
}

TEST(Engine, MemoryStaysWithinTheBudgetOnALargeBatch) {
  TempDir in, out;
  for (int i = 0; i < 120; ++i) {
    Tensor a = test::random_tensor(DType::f32, {256, 256}, static_cast<std::uint64_t>(i));  // 256 KiB each
    ASSERT_TRUE(io::write_npy(in.str("a" + std::to_string(i) + ".npy"), a.view()).ok());
  }
  RunOptions o = cpu_options(out.str());
  o.inputs = {in.str()};
  o.io_memory = 4u << 20;  // room for a handful of items, not 120
  const RunSummary sum = run_ok(parse("affine scale=2 offset=1 | abs"), o);
  EXPECT_EQ(sum.ok, 120u);
  EXPECT_EQ(sum.io_memory_limit, 4u << 20);
  EXPECT_LE(sum.io_memory_peak, sum.io_memory_limit);
  EXPECT_GT(sum.io_memory_peak, 0u);
  Tensor src, got;
  ASSERT_TRUE(io::read_npy(in.str("a77.npy"), src).ok());
  ASSERT_TRUE(io::read_npy(out.str("a77.npy"), got).ok());
  EXPECT_TRUE(same(got.view(), direct(parse("affine scale=2 offset=1 | abs"), src.view()).view()));
}

long max_rss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// A .npy several times larger than --io-memory streams through in chunks with
// results identical to processing it whole, and memory stays bounded.
TEST(Engine, StreamsAnArrayLargerThanTheBudget) {
  TempDir in, out;
  const std::int64_t rows = 4096, cols = 4096;  // 64 MiB of f32
  {
    io::NpyWriter w;
    const std::int64_t shape[] = {rows, cols};
    ASSERT_TRUE(w.open(in.str("big.npy"), DType::f32, shape).ok());
    std::vector<float> row(static_cast<std::size_t>(cols));
    std::mt19937 rng(5);
    std::normal_distribution<float> d(1000.0f, 3.0f);
    for (std::int64_t r = 0; r < rows; ++r) {
      for (auto& v : row) v = d(rng);
      ASSERT_TRUE(w.append(row.data(), cols).ok());
    }
    ASSERT_TRUE(w.finish().ok());
  }
  RunOptions o = cpu_options(out.str());
  o.inputs = {in.str("big.npy")};
  o.io_memory = 8u << 20;
  const long rss0 = max_rss_kib();
  RunSummary sum;
  ASSERT_TRUE(run_batch(parse("affine scale=-1 offset=1000 | abs"), o, sum).ok());
  ASSERT_EQ(sum.ok, 1u) << sum.items[0].status.message();
  const long grew_kib = max_rss_kib() - rss0;
  // A sanitizer's shadow memory and allocator make RSS say nothing about tandem's buffers.
  if (!detail::kUnderAddressSanitizer && !detail::kUnderThreadSanitizer)
    EXPECT_LT(grew_kib, 32 * 1024) << "streaming a 64 MiB array with an 8 MiB budget grew RSS by " << grew_kib << " KiB";

  // Whole-array reference, computed after the bounded-memory check.
  Tensor src, got;
  ASSERT_TRUE(io::read_npy(in.str("big.npy"), src).ok());
  ASSERT_TRUE(io::read_npy(out.str("big.npy"), got).ok());
  EXPECT_TRUE(same(got.view(), direct(parse("affine scale=-1 offset=1000 | abs"), src.view()).view()));

  TempDir out2;
  o.output_dir = out2.str();
  ASSERT_TRUE(run_batch(parse("stats"), o, sum).ok());
  ASSERT_EQ(sum.ok, 1u) << sum.items[0].status.message();
  Tensor whole = direct(parse("stats"), src.view());
  const auto& v = sum.items[0].values;
  ASSERT_EQ(v.size(), 6u);
  for (std::size_t i = 0; i < 6; ++i) {
    const double w = whole.view().ptr<double>()[i];
    EXPECT_NEAR(v[i].second, w, 1e-9 * std::max(1.0, std::abs(w))) << v[i].first;
  }

  TempDir out3;
  o.output_dir = out3.str();
  ASSERT_TRUE(run_batch(parse("histogram bins=64"), o, sum).ok());
  ASSERT_EQ(sum.ok, 1u) << sum.items[0].status.message();
  Tensor h;
  ASSERT_TRUE(io::read_npy(out3.str("big.npy"), h).ok());
  EXPECT_TRUE(same(h.view(), direct(parse("histogram bins=64"), src.view()).view()));
}

TEST(Engine, InMemoryTensorsWithACallbackPerResult) {
  const Images images = random_images(9, DType::u8, 0, [](int i) { return Shape{10 + i, 13, 1}; });
  const RunSummary sum = run_tensors_checked(parse("threshold value=100"), images.views, DeviceChoice::cpu);
  EXPECT_EQ(sum.ok, images.views.size());
}

// --- the GPU workers (skipped without a GPU) ---

#define SKIP_WITHOUT_GPU()                                                                           \
  do {                                                                                               \
    if (cuda_device_count() == 0) GTEST_SKIP() << "no usable CUDA device: " << cuda_status();       \
  } while (0)

// Many small images of different shapes and channel counts: the GPU worker
// packs them into shared round trips, and each result equals the CPU's.
TEST(EngineGpu, SmallImagesTravelInBatchesAndEqualTheCpu) {
  SKIP_WITHOUT_GPU();
  const Images images = random_images(64, DType::u8, 100, mixed_sizes(211, 307));
  for (const char* text : {"median size=5 | invert", "threshold value=77 | box size=3"}) {
    SCOPED_TRACE(text);
    const RunSummary sum = run_tensors_checked(parse(text), images.views, DeviceChoice::gpu);
    EXPECT_EQ(sum.ok, images.views.size());
    std::size_t batched = 0;
    for (const auto& r : sum.items) {
      EXPECT_EQ(r.device.rfind("cuda:", 0), 0u) << r.input << " ran on " << r.device;
      EXPECT_GE(r.gpu_batch, 1u);
      if (r.gpu_batch > 1) ++batched;
    }
    EXPECT_GT(batched, 0u) << "no two small images shared a GPU round trip";
  }
}

// A batch of files on the GPU: outputs equal the CPU's, and the trace shows
// one stream's copies overlapping the other stream's kernels.
TEST(EngineGpu, FilesOnTheGpuEqualTheCpuAndCopiesOverlapKernels) {
  SKIP_WITHOUT_GPU();
  TempDir in, out_gpu, out_cpu;
  for (int i = 0; i < 12; ++i) {
    const Tensor img = test::random_image(DType::u8, 1500 + i, 2001, 3, static_cast<std::uint64_t>(7 + i));
    std::vector<std::byte> bytes;
    ASSERT_TRUE(io::encode(img.view(), io::Format::ppm, {}, bytes).ok());
    ASSERT_TRUE(io::write_file_atomic(in.str("img" + std::to_string(i) + ".ppm"), bytes).ok());
  }
  const Pipeline p = parse("median size=7 | invert");
  RunOptions o = cpu_options(out_gpu.str());
  o.inputs = {in.str()};
  o.device = DeviceChoice::gpu;
  o.trace_path = out_gpu.str("trace.json");
  const RunSummary sum = run_ok(p, o);
  ASSERT_EQ(sum.ok, 12u);
  for (const auto& r : sum.items) EXPECT_EQ(r.device.rfind("cuda:", 0), 0u) << r.input;
  const RunSummary csum = cpu_run(p, in.str(), out_cpu.str());
  for (int i = 0; i < 12; ++i) {
    const std::string name = "img" + std::to_string(i) + ".ppm";
    std::ifstream a(out_gpu.str(name), std::ios::binary), b(out_cpu.str(name), std::ios::binary);
    const std::string sa((std::istreambuf_iterator<char>(a)), {}), sb((std::istreambuf_iterator<char>(b)), {});
    EXPECT_FALSE(sa.empty());
    EXPECT_EQ(sa, sb) << name;
  }
  // The trace: spans named H2D / kernels on the "cuda:N stream K" tracks.
  std::ifstream f(o.trace_path);
  const auto trace = nlohmann::json::parse(f);
  std::map<int, std::string> track_names;
  struct Span {
    int track;
    double t0, t1;
  };
  std::vector<Span> h2d, kernels;
  for (const auto& e : trace["traceEvents"]) {
    if (e["ph"] == "M" && e["name"] == "thread_name") track_names[e["tid"].get<int>()] = e["args"]["name"];
    if (e["ph"] != "X") continue;
    const Span sp{e["tid"].get<int>(), e["ts"].get<double>(), e["ts"].get<double>() + e["dur"].get<double>()};
    if (e["name"] == "H2D") h2d.push_back(sp);
    if (e["name"] == "kernels") kernels.push_back(sp);
  }
  ASSERT_EQ(h2d.size(), 12u);
  ASSERT_EQ(kernels.size(), 12u);
  for (const auto& sp : h2d) EXPECT_NE(track_names[sp.track].find("stream"), std::string::npos);
  int overlaps = 0;
  for (const auto& c2 : h2d)
    for (const auto& k : kernels)
      if (c2.track != k.track && c2.t0 < k.t1 && k.t0 < c2.t1) ++overlaps;
  EXPECT_GT(overlaps, 0) << "no upload ran while the other stream's kernels did";
}

// Items that each take most of the I/O budget are admitted one at a time,
// so the GPU worker must hand its batches in flight on before it waits for
// more work: holding them while the queue is empty would leave the reader
// waiting for budget and the worker for items.
TEST(EngineGpu, ItemsTakingMostOfTheBudgetDoNotStallTheGpuWorker) {
  SKIP_WITHOUT_GPU();
  TempDir in, out;
  for (int i = 0; i < 6; ++i) {
    Tensor a = test::random_tensor(DType::f32, {512, 512}, static_cast<std::uint64_t>(300 + i));  // 1 MiB each
    ASSERT_TRUE(io::write_npy(in.str("a" + std::to_string(i) + ".npy"), a.view()).ok());
  }
  const Pipeline p = parse("affine scale=2 offset=1 | abs");
  RunOptions o = cpu_options(out.str());
  o.inputs = {in.str()};
  o.device = DeviceChoice::gpu;
  o.io_memory = 8u << 20;  // an item's peak is ~5 MiB (f32 in, 8-byte results of two stages): one at a time
  const RunSummary sum = run_ok(p, o);
  EXPECT_EQ(sum.ok, 6u);
  for (const auto& r : sum.items) EXPECT_EQ(r.device.rfind("cuda:", 0), 0u) << r.input << " ran on " << r.device;
  Tensor src, got;
  ASSERT_TRUE(io::read_npy(in.str("a4.npy"), src).ok());
  ASSERT_TRUE(io::read_npy(out.str("a4.npy"), got).ok());
  EXPECT_TRUE(same(got.view(), direct(p, src.view()).view()));
}

// --- placement as the engine uses it, on synthetic topologies ---

TEST(EnginePlan, TeamsPerNumaNodeAndThreadLimit) {
  Topology topo;
  ASSERT_TRUE(Topology::load_synthetic("pack:2 numa:1 core:4 pu:2", topo).ok());
  RunOptions o;
  o.device = DeviceChoice::cpu;
  EnginePlan plan;
  std::vector<std::string> notes;
  ASSERT_TRUE(make_engine_plan(o, topo, {}, "none", plan, notes).ok());
  ASSERT_EQ(plan.teams.size(), 2u);
  EXPECT_EQ(plan.teams[0].slots.size(), 4u);
  EXPECT_EQ(plan.teams[1].slots.size(), 4u);
  EXPECT_TRUE(plan.gpus.empty());
  // --threads 3 spreads over both nodes.
  o.threads = 3;
  ASSERT_TRUE(make_engine_plan(o, topo, {}, "none", plan, notes).ok());
  ASSERT_EQ(plan.teams.size(), 2u);
  EXPECT_EQ(plan.teams[0].slots.size(), 2u);
  EXPECT_EQ(plan.teams[1].slots.size(), 1u);
  // No PU of node 1 in team 0.
  for (const auto& slot : plan.teams[0].slots)
    for (int pu : slot) EXPECT_LT(pu, 8);
  // Decoders run on both computing nodes, each over all of its PUs.
  ASSERT_EQ(plan.compute_nodes.size(), 2u);
  for (const auto& node : plan.compute_nodes) {
    EXPECT_EQ(node.pus.size(), 8u);
    for (int pu : node.pus) EXPECT_EQ(pu / 8, node.numa_node == plan.teams[0].numa_node ? 0 : 1);
    EXPECT_EQ(decoders_per_node(node, plan.compute_nodes.size()), 2);
  }
  // One small node alone still gets two decoders; a big one at most eight.
  EXPECT_EQ(decoders_per_node({0, {0, 1}}, 1), 2);
  EngineNode big{0, std::vector<int>(128)};
  EXPECT_EQ(decoders_per_node(big, 2), 8);
}

TEST(EnginePlan, GpuChoiceWithoutGpus) {
  Topology topo;
  ASSERT_TRUE(Topology::load_synthetic("pack:1 numa:1 core:2 pu:1", topo).ok());
  RunOptions o;
  EnginePlan plan;
  std::vector<std::string> notes;
  o.device = DeviceChoice::gpu;
  const Status s = make_engine_plan(o, topo, {}, "no usable GPU: CUDA runtime: no CUDA-capable device is detected", plan, notes);
  EXPECT_EQ(s.code(), Errc::no_device);
  EXPECT_NE(s.message().find("no CUDA-capable device"), std::string::npos);
  o.device = DeviceChoice::auto_select;
  ASSERT_TRUE(make_engine_plan(o, topo, {}, "no usable GPU: CUDA runtime: no CUDA-capable device is detected", plan, notes).ok());
  EXPECT_EQ(plan.teams.size(), 1u);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("running on the CPU"), std::string::npos);
}

TEST(EnginePlan, GpuWorkersOnTheirNodesFromXml) {
  Topology topo;
  const std::string xml = test::data_dir() + "/topologies/2s-xeon-8gpu.xml";
  if (!fs::exists(xml)) GTEST_SKIP() << "no " << xml;
  ASSERT_TRUE(Topology::load_xml(xml, topo).ok());
  const auto gpus = topo.topology_gpus();
  ASSERT_GE(gpus.size(), 2u);
  RunOptions o;
  EnginePlan plan;
  std::vector<std::string> notes;
  ASSERT_TRUE(make_engine_plan(o, topo, gpus, "", plan, notes).ok());
  ASSERT_EQ(plan.gpus.size(), gpus.size());
  for (std::size_t i = 0; i < gpus.size(); ++i) EXPECT_EQ(plan.gpus[i].numa_node, gpus[i].numa_node);
  o.gpus = {1};
  ASSERT_TRUE(make_engine_plan(o, topo, gpus, "", plan, notes).ok());
  ASSERT_EQ(plan.gpus.size(), 1u);
  EXPECT_EQ(plan.gpus[0].ordinal, gpus[1].index);
  // GPU only: the decoders run on that GPU's node and nowhere else.
  o.device = DeviceChoice::gpu;
  ASSERT_TRUE(make_engine_plan(o, topo, gpus, "", plan, notes).ok());
  EXPECT_TRUE(plan.teams.empty());
  ASSERT_EQ(plan.compute_nodes.size(), 1u);
  EXPECT_EQ(plan.compute_nodes[0].numa_node, gpus[1].numa_node);
  const NumaNodeInfo* node = topo.numa_node(gpus[1].numa_node);
  ASSERT_NE(node, nullptr);
  EXPECT_EQ(plan.compute_nodes[0].pus, node->pus);
  for (int pu : plan.gpus[0].pus)
    EXPECT_NE(std::find(node->pus.begin(), node->pus.end(), pu), node->pus.end()) << "feeder PU " << pu;
  o.device = DeviceChoice::auto_select;
  o.gpus = {42};
  EXPECT_EQ(make_engine_plan(o, topo, gpus, "", plan, notes).code(), Errc::no_device);
}

// The team binding really pins each OpenMP thread to its slot on this machine.
TEST(EnginePlan, TeamThreadsRunWhereTheyAreBound) {
  RunOptions o;
  o.device = DeviceChoice::cpu;
  EnginePlan plan;
  std::vector<std::string> notes;
  ASSERT_TRUE(make_engine_plan(o, plan, notes).ok());
  ASSERT_FALSE(plan.teams.empty());
  const EngineTeam& team = plan.teams[0];
  // The ThreadSanitizer run caps OpenMP at one thread (docs/reliability.md).
  if (team.slots.size() > 1 && omp_get_thread_limit() < 2) GTEST_SKIP() << "OMP_THREAD_LIMIT=1: no team to bind";
  std::vector<int> where(team.slots.size(), -2);
  std::thread t([&] {
    bind_team(team);
    const int n = static_cast<int>(team.slots.size());
#pragma omp parallel num_threads(n)
    {
      volatile double x = 0;
      for (int i = 0; i < 1000000; ++i) x = x + i;  // let the scheduler move us if it would
      where[static_cast<std::size_t>(omp_get_thread_num())] = sched_getcpu();
    }
  });
  t.join();
  for (std::size_t i = 0; i < team.slots.size(); ++i) {
    const auto& slot = team.slots[i];
    EXPECT_NE(std::find(slot.begin(), slot.end(), where[i]), slot.end()) << "thread " << i << " ran on PU " << where[i];
  }
}

// --- the scheduler ---

struct FakeItem {
  bool cpu_only = false;
  std::size_t input_bytes = 0;
  int node = -1;
  int id = 0;
};

std::unique_ptr<FakeItem> fake(std::size_t bytes, int node = -1, int id = 0) {
  auto f = std::make_unique<FakeItem>();
  f->input_bytes = bytes;
  f->node = node;
  f->id = id;
  return f;
}

TEST(Scheduler, SmallItemsStayOnTheCpuUntilTheModelKnowsBetter) {
  ThroughputModel model("test", "");
  WorkQueue<FakeItem> q(16, 1, true, model);
  auto small = std::make_unique<FakeItem>();
  small->input_bytes = 1000;
  auto big = std::make_unique<FakeItem>();
  big->input_bytes = 10u << 20;
  ASSERT_TRUE(q.push(std::move(small)));
  ASSERT_TRUE(q.push(std::move(big)));
  auto g = q.pop_gpu();  // skips the tiny one
  ASSERT_TRUE(g);
  EXPECT_EQ(g->input_bytes, 10u << 20);
  auto c = q.pop_cpu();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->input_bytes, 1000u);
  // Once measured: the GPU is 10x faster per byte but costs 2 ms per item.
  for (int i = 0; i < 20; ++i) {
    model.observe(ThroughputModel::cpu, 1u << 20, 0.010);
    model.observe(ThroughputModel::cpu, 1000, 0.00001);
    model.observe(ThroughputModel::gpu, 1u << 20, 0.003);
    model.observe(ThroughputModel::gpu, 1000, 0.002);
  }
  EXPECT_TRUE(model.prefer_cpu(1000, 0));
  EXPECT_FALSE(model.prefer_cpu(4u << 20, 0));
  q.close();
  q.gpu_worker_done();
  EXPECT_FALSE(q.pop_cpu());
}

TEST(Scheduler, WorkersPreferItemsOfTheirNodeAndStealOtherwise) {
  ThroughputModel model("test", "");
  WorkQueue<FakeItem> q(16, 0, true, model);
  ASSERT_TRUE(q.push(fake(100, 0, 1)));
  ASSERT_TRUE(q.push(fake(100, 1, 2)));
  ASSERT_TRUE(q.push(fake(100, 1, 3)));
  auto a = q.pop_cpu(1);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->id, 2);  // the oldest of node 1, not the older item of node 0
  auto b = q.pop_cpu(0);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->id, 1);
  auto c = q.pop_cpu(0);  // none of node 0 left: steal rather than idle
  ASSERT_TRUE(c);
  EXPECT_EQ(c->id, 3);
  q.close();
  EXPECT_FALSE(q.pop_cpu(0));
}

TEST(Scheduler, GpuBatchesSmallItemsAndLeavesLargeOnesAlone) {
  ThroughputModel model("test", "");
  // No CPU team: the GPU may take everything.
  WorkQueue<FakeItem> q(64, 1, false, model);
  const std::size_t small = 300u << 10, large = 6u << 20;
  ASSERT_TRUE(q.push(fake(large, 0, 1)));
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(q.push(fake(small, 0, 10 + i)));
  ASSERT_TRUE(q.push(fake(large, 0, 2)));
  std::vector<std::unique_ptr<FakeItem>> batch;
  ASSERT_TRUE(q.pop_gpu_batch(batch, 0));
  ASSERT_EQ(batch.size(), 1u);  // a large item travels alone
  EXPECT_EQ(batch[0]->id, 1);
  ASSERT_TRUE(q.pop_gpu_batch(batch, 0));
  // Small ones together, in order, up to the byte limit (8 MiB / 300 KiB = 27)
  // and the item limit (16).
  ASSERT_EQ(batch.size(), WorkQueue<FakeItem>::kBatchMaxItems);
  for (std::size_t i = 0; i < batch.size(); ++i) EXPECT_EQ(batch[i]->id, 10 + int(i));
  ASSERT_TRUE(q.pop_gpu_batch(batch, 0, 64, 2u << 20));
  EXPECT_EQ(batch.size(), 6u);  // 6 x 300 KiB fit in 2 MiB, 7 do not
  EXPECT_EQ(batch.front()->id, 26);
  // A batch skips the large item queued behind the small ones, which stays next in line.
  std::size_t rest = 40 - 16 - 6;
  while (rest > 0) {
    ASSERT_TRUE(q.pop_gpu_batch(batch, 0));
    ASSERT_EQ(batch.size(), std::min(rest, WorkQueue<FakeItem>::kBatchMaxItems));
    for (const auto& b : batch) EXPECT_EQ(b->input_bytes, small);
    rest -= batch.size();
  }
  ASSERT_TRUE(q.pop_gpu_batch(batch, 0));
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0]->id, 2);
  q.close();
  EXPECT_FALSE(q.pop_gpu_batch(batch, 0));
  EXPECT_TRUE(batch.empty());
}

// Without waiting, pop_gpu_batch answers at once when nothing can be taken
// (the GPU worker then finishes its batches in flight before it waits).
TEST(Scheduler, GpuBatchWithoutWaitingReturnsAtOnceWhenNothingIsQueued) {
  ThroughputModel model("test", "");
  WorkQueue<FakeItem> q(64, 1, false, model);
  std::vector<std::unique_ptr<FakeItem>> batch;
  constexpr auto kItems = WorkQueue<FakeItem>::kBatchMaxItems;
  constexpr auto kBytes = WorkQueue<FakeItem>::kBatchMaxBytes;
  EXPECT_FALSE(q.pop_gpu_batch(batch, 0, kItems, kBytes, /*wait=*/false));
  EXPECT_TRUE(batch.empty());
  ASSERT_TRUE(q.push(fake(200u << 10, 0, 1)));
  ASSERT_TRUE(q.pop_gpu_batch(batch, 0, kItems, kBytes, /*wait=*/false));
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0]->id, 1);
  q.close();
  EXPECT_FALSE(q.pop_gpu_batch(batch, 0, kItems, kBytes, /*wait=*/false));
  EXPECT_TRUE(batch.empty());
}

TEST(Scheduler, GpuBatchesSkipCpuOnlyItemsAndTinyOnesWhileCpuTeamsExist) {
  ThroughputModel model("test", "");
  WorkQueue<FakeItem> q(64, 1, true, model);
  ASSERT_TRUE(q.push(fake(200u << 10, 0, 1)));
  ASSERT_TRUE(q.push(fake(1000, 0, 2)));  // below kSmallBytes: the model keeps it on the CPU
  auto retry = fake(200u << 10, 0, 3);
  q.push_retry(std::move(retry));  // CPU only, and first in line
  ASSERT_TRUE(q.push(fake(200u << 10, 0, 4)));
  std::vector<std::unique_ptr<FakeItem>> batch;
  ASSERT_TRUE(q.pop_gpu_batch(batch, 0));
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch[0]->id, 1);
  EXPECT_EQ(batch[1]->id, 4);
  auto c1 = q.pop_cpu(0), c2 = q.pop_cpu(0);
  ASSERT_TRUE(c1 && c2);
  EXPECT_EQ(c1->id, 3);
  EXPECT_EQ(c2->id, 2);
  q.close();
  q.gpu_worker_done();
  EXPECT_FALSE(q.pop_cpu(0));
}

// Dynamic balance: every worker pulls when free, so a worker 8x faster takes
// most of the items; each item is taken exactly once.
TEST(Scheduler, FasterWorkersTakeMoreOfTheBatch) {
  ThroughputModel model("test", "");
  WorkQueue<FakeItem> q(8, 1, true, model);
  constexpr int kItems = 80;
  std::vector<int> taken(kItems, 0);
  std::atomic<int> by_cpu{0}, by_gpu{0};
  std::thread producer([&] {
    for (int i = 0; i < kItems; ++i) ASSERT_TRUE(q.push(fake(2u << 20, -1, i)));  // large: never batched
    q.close();
  });
  std::thread slow([&] {
    while (auto item = q.pop_cpu()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(8));
      ++taken[static_cast<std::size_t>(item->id)];
      ++by_cpu;
    }
  });
  std::thread fast([&] {
    std::vector<std::unique_ptr<FakeItem>> batch;
    while (q.pop_gpu_batch(batch)) {
      ASSERT_EQ(batch.size(), 1u);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      ++taken[static_cast<std::size_t>(batch[0]->id)];
      ++by_gpu;
    }
    q.gpu_worker_done();
  });
  producer.join();
  fast.join();
  slow.join();
  for (int i = 0; i < kItems; ++i) EXPECT_EQ(taken[static_cast<std::size_t>(i)], 1) << "item " << i;
  EXPECT_EQ(by_cpu + by_gpu, kItems);
  EXPECT_GT(by_gpu.load(), 2 * by_cpu.load()) << "gpu " << by_gpu << ", cpu " << by_cpu;
  EXPECT_GT(by_cpu.load(), 0);
}

TEST(Scheduler, GpuRetriesGoToTheCpuEvenAfterClose) {
  ThroughputModel model("test", "");
  WorkQueue<FakeItem> q(4, 1, true, model);
  q.close();
  auto item = std::make_unique<FakeItem>();
  item->input_bytes = 5u << 20;
  q.push_retry(std::move(item));
  EXPECT_FALSE(q.pop_gpu());  // closed, and the retry is CPU-only
  auto c = q.pop_cpu();
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->cpu_only);
  q.gpu_worker_done();
  EXPECT_FALSE(q.pop_cpu());
}

TEST(Scheduler, ModelIsCachedAcrossRuns) {
  TempDir dir;
  const std::string cache = dir.str("model.json");
  {
    ThroughputModel m("pipe", cache);
    for (int i = 0; i < 5; ++i) m.observe(ThroughputModel::cpu, 1u << 20, 0.01);
    m.save();
  }
  ThroughputModel again("pipe", cache);
  EXPECT_NEAR(again.predict(ThroughputModel::cpu, 1u << 20), 0.01, 0.002);
  EXPECT_LT(again.predict(ThroughputModel::gpu, 1u << 20), 0);
  ThroughputModel other("other pipe", cache);
  EXPECT_LT(other.predict(ThroughputModel::cpu, 1u << 20), 0);
}

}  // namespace
}  // namespace tandem
