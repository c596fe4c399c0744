// `tandem run`: the batch command, a thin layer over tandem::run_batch.
#include <CLI/CLI.hpp>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <sstream>

#include "cli/commands.hpp"
#if TANDEM_WITH_MPI
#include "cli/mpi_run.hpp"
#endif
#include "cli/tools/format.hpp"
#include "cli/tools/json.hpp"
#include "tandem/engine.hpp"

namespace tandem::cli {

namespace {

std::atomic<bool> g_cancel{false};

extern "C" void on_sigint(int) {
  // First Ctrl-C: stop taking new items and finish cleanly. Second: default (exit).
  g_cancel.store(true);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

using tools::parse_bytes;
using tools::human_bytes;

// "K/N" with 0 <= K < N.
bool parse_shard(const std::string& text, int& k, int& n) {
  const auto slash = text.find('/');
  if (slash == std::string::npos) return false;
  try {
    std::size_t pk = 0, pn = 0;
    const std::string ks = text.substr(0, slash), ns = text.substr(slash + 1);
    k = std::stoi(ks, &pk);
    n = std::stoi(ns, &pn);
    auto digit = [](const std::string& t) { return !t.empty() && std::isdigit(static_cast<unsigned char>(t[0])); };
    return digit(ks) && digit(ns) && pk == ks.size() && pn == ns.size() && n >= 1 && k >= 0 && k < n;
  } catch (...) {
    return false;
  }
}

std::string clock_text(double s) {
  if (s < 0 || s > 1e7) return "--:--";
  const long t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

std::string devices_text(const std::map<std::string, std::size_t>& per) {
  std::string s;
  for (const auto& [d, n] : per) s += (s.empty() ? "" : " ") + d + "=" + std::to_string(n);
  return s;
}

// The JSON emitter (tools::run_json) is shared with the Python package; the
// text emitter, for people, is the command's own.
using tools::busy_percent;

int terminal_columns() {
  winsize ws{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (const char* c = std::getenv("COLUMNS")) return std::max(0, std::atoi(c));
  return 80;
}

// The progress bar in at most `columns - 1` characters (a line that fills the
// last column wraps in some terminals): the bar shrinks first, then the
// per-device counts go, then the ETA.
std::string progress_line(const Progress& p, double mib_per_s, const std::string& eta, int columns) {
  char nums[96];
  std::snprintf(nums, sizeof nums, "%zu/%zu %.1f MiB/s", p.done, p.total, mib_per_s);
  std::string tail = std::string(nums) + " ETA " + eta;
  const std::string devices = devices_text(p.per_device);
  const int room = std::max(columns - 1, 0);
  auto fits = [&](const std::string& t, int bar) { return int(t.size()) + (bar > 0 ? bar + 3 : 0) <= room; };
  if (!devices.empty() && fits(tail + " " + devices, 10)) tail += " " + devices;
  if (!fits(tail, 10) && fits(nums, 10)) tail = nums;
  int width = std::min(24, room - int(tail.size()) - 3);
  std::string line;
  if (width >= 10) {
    const int fill = p.total ? static_cast<int>(width * static_cast<double>(p.done) / static_cast<double>(p.total)) : 0;
    std::string bar(static_cast<std::size_t>(fill), '#');
    bar.resize(static_cast<std::size_t>(width), '.');
    line = "[" + bar + "] ";
  }
  line += tail;
  if (int(line.size()) > room) line.resize(static_cast<std::size_t>(room));
  return line;
}

void emit_text(std::ostream& os, const RunSummary& sum) {
  const double mb = static_cast<double>(sum.bytes_in);
  char line[256];
  std::snprintf(line, sizeof line, "tandem run: %zu ok, %zu failed, %zu skipped%s in %.2f s (%.1f items/s, %s/s in)\n",
                sum.ok, sum.failed, sum.skipped,
                sum.cancelled ? (", " + std::to_string(sum.not_started) + " not started (interrupted)").c_str() : "",
                sum.wall_seconds, sum.wall_seconds > 0 ? static_cast<double>(sum.ok + sum.failed) / sum.wall_seconds : 0.0,
                human_bytes(sum.wall_seconds > 0 ? mb / sum.wall_seconds : 0).c_str());
  os << line;
  std::string stages;
  for (const auto& st : sum.stages) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s%s %.0f%%", stages.empty() ? "" : ", ", st.name.c_str(), busy_percent(sum, st));
    stages += buf;
  }
  os << "  busy: " << stages << "\n  items per device: "
     << (sum.items_per_device.empty() ? "none" : devices_text(sum.items_per_device)) << "\n  io memory: peak "
     << human_bytes(static_cast<double>(sum.io_memory_peak)) << " of "
     << human_bytes(static_cast<double>(sum.io_memory_limit)) << "\n";
  for (const auto& r : sum.items) {
    if (r.values.empty()) continue;
    os << "  " << printable(r.input) << ":";
    for (const auto& [k, x] : r.values) os << " " << k << "=" << x;
    os << "\n";
  }
}

// The options CLI11 fills: those the library takes as they are go straight into
// RunOptions; the rest are the command's own or need a conversion.
struct RunArgs {
  RunOptions run;
  std::string pipeline, device = "auto", gpus, io_memory, shard;
  bool json = false, quiet = false, verbose = false, no_uring = false;
};

constexpr const char* kTryHelp = "Try 'tandem run --help' for usage.\n";

int run_command(const RunArgs& a) {
  const int mpi_rank = launcher_rank();  // -1: not started by mpirun/srun
  Pipeline pipeline;
  ParseError perr;
  if (const Status s = Pipeline::parse(a.pipeline, pipeline, &perr); !s.ok()) {
    return usage_error("tandem run: invalid pipeline\n" + perr.format(a.pipeline) + "\n");
  }
  RunOptions o = a.run;
  o.device = a.device == "cpu" ? DeviceChoice::cpu : a.device == "gpu" ? DeviceChoice::gpu : DeviceChoice::auto_select;
  o.use_io_uring = !a.no_uring;
  if (!a.io_memory.empty() && !parse_bytes(a.io_memory, o.io_memory)) {
    return usage_error("tandem run: --io-memory: not a size: '" + a.io_memory + "' (e.g. 512M, 4G)\n" + kTryHelp);
  }
  if (!a.gpus.empty()) {
    std::stringstream ss(a.gpus);
    std::string tok;
    while (std::getline(ss, tok, ',')) {
      try {
        std::size_t pos = 0;
        const int g = std::stoi(tok, &pos);
        if (pos != tok.size() || g < 0) throw std::invalid_argument(tok);
        o.gpus.push_back(g);
      } catch (...) {
        return usage_error("tandem run: --gpus: not a list of GPU ordinals: '" + a.gpus + "' (e.g. 0,1)\n" + kTryHelp);
      }
    }
  }
  if (!a.shard.empty() && !parse_shard(a.shard, o.shard_index, o.shard_count)) {
    return usage_error("tandem run: --shard: not K/N with 0 <= K < N: '" + a.shard + "' (e.g. 0/4 ... 3/4)\n" + kTryHelp);
  }
#if TANDEM_WITH_MPI
  if (!a.shard.empty() && mpi_rank >= 0) {
    return usage_error("tandem run: --shard under mpirun: the ranks already share the inputs; use one or the other\n");
  }
#endif
  o.cancel = &g_cancel;

  const bool tty = ::isatty(STDERR_FILENO) != 0;
  std::mutex out_mu;
  bool bar_shown = false;
  auto clear_bar = [&] {
    if (bar_shown) {
      std::cerr << "\r\033[K";
      bar_shown = false;
    }
  };
  o.on_item = [&](const ItemResult& r) {
    if (a.quiet) return;
    if (r.status.ok()) {
      if (r.notes.empty()) return;
      std::lock_guard lock(out_mu);
      clear_bar();
      for (const auto& n : r.notes) std::cerr << "tandem: note: " << printable(r.input) << ": " << n << "\n";
      return;
    }
    // An item Ctrl-C kept from starting is counted as not started, not failed.
    if (r.status.code() == Errc::cancelled) return;
    std::lock_guard lock(out_mu);
    clear_bar();
    // Most messages name the file already ("'a.png': corrupt PNG ..."); say it once.
    const std::string& m = r.status.message();
    if (m.find(r.input) != std::string::npos) std::cerr << "tandem: failed: " << in_cli_terms(m) << "\n";
    else std::cerr << "tandem: failed: " << printable(r.input) << ": " << in_cli_terms(m) << "\n";
  };
  double last_line = 0;
  o.on_progress = [&](const Progress& p) {
    if (a.quiet || a.json) return;
    const double mbs = p.elapsed > 0 ? static_cast<double>(p.bytes_in) / p.elapsed / (1024.0 * 1024.0) : 0;
    const double eta = p.done > 0 && p.total > p.done ? p.elapsed / static_cast<double>(p.done) * static_cast<double>(p.total - p.done) : (p.done >= p.total ? 0 : -1);
    std::lock_guard lock(out_mu);
    if (tty) {
      std::cerr << "\r\033[K" << progress_line(p, mbs, clock_text(eta), terminal_columns()) << std::flush;
      bar_shown = true;
    } else if (a.verbose && (p.elapsed - last_line >= 5.0 || p.last)) {
      last_line = p.elapsed;
      std::cerr << "tandem: " << p.done << "/" << p.total << " items, " << static_cast<int>(mbs) << " MiB/s, ETA "
                << clock_text(eta) << "\n";
    }
  };

  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
  RunSummary sum;
  if (a.verbose && mpi_rank <= 0) {
    // What libgomp runs with (main.cpp shortens the idle spin unless the user chose).
    const char* policy = std::getenv("OMP_WAIT_POLICY");
    const char* spin = std::getenv("GOMP_SPINCOUNT");
    std::cerr << "tandem: OpenMP idle threads: " << (policy ? "OMP_WAIT_POLICY=" + std::string(policy) + " " : "")
              << (spin ? "GOMP_SPINCOUNT=" + std::string(spin) : std::string(policy ? "" : "libgomp's default spin")) << "\n";
  }
#if TANDEM_WITH_MPI
  if (mpi_rank >= 0) {
    RankOutput ranked;
    ranked.json = a.json;
    ranked.quiet = a.quiet;
    ranked.summary_json = [&](const RunSummary& rs) {
      std::ostringstream os;
      os << tools::run_json(pipeline, rs).dump(2) << "\n";
      return os.str();
    };
    ranked.progress = o.on_progress;
    const int rc = run_as_rank(pipeline, o, ranked);
    std::lock_guard lock(out_mu);
    clear_bar();
    return rc;
  }
#endif
  const Status s = run_batch(pipeline, o, sum);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  {
    std::lock_guard lock(out_mu);
    clear_bar();
  }
  if (!s.ok()) {
    // The run itself could not start (no device, no output directory, ...): nothing ran.
    std::cerr << "tandem run: " << in_cli_terms(s.message()) << "\n";
    return 2;
  }

  for (auto& n : sum.notices) n = in_cli_terms(std::move(n));
  if (a.json) std::cout << tools::run_json(pipeline, sum, {o.shard_index, o.shard_count}).dump(2) << "\n";
  if (!a.quiet) {
    for (const auto& n : sum.notices) std::cerr << "tandem: note: " << n << "\n";
    if (!a.json) emit_text(std::cerr, sum);
  }
  return sum.failed > 0 || sum.cancelled ? 1 : 0;
}

}  // namespace

void add_run_command(CLI::App& app, Commands& commands) {
  auto* cmd = app.add_subcommand("run", "Run a pipeline of ops over files and folders of images or arrays");
  auto a = std::make_shared<RunArgs>();
  cmd->add_option("-p,--pipeline", a->pipeline, "Ops separated by '|', parameters as key=value (see 'tandem ops')")->required();
  cmd->add_option("-o,--output", a->run.output_dir, "Output directory (created if missing); outputs keep their relative paths")->required();
  cmd->add_option("inputs", a->run.inputs, "Files and directories (searched recursively for .png .jpg .jpeg .pgm .ppm .tif .tiff .npy files; with --glob, for the files that match); each page of a multi-page TIFF is an item, written as NAME.pK.tif")->required();
  cmd->add_option("--glob", a->run.globs, "Only files whose name (or relative path) matches this pattern, e.g. '*.png'; repeatable");
  cmd->add_option("--format", a->run.format, "Output format instead of the input's own")->check(CLI::IsMember({"png", "jpg", "pgm", "ppm", "tif", "tiff", "npy"}));
  cmd->add_option("--quality", a->run.jpeg_quality, "JPEG quality")->check(CLI::Range(1, 100))->capture_default_str();
  cmd->add_option("--png-compression", a->run.png_compression, "PNG compression: 1 fastest (ISA-L igzip, Sub filter), 2-9 zlib through libpng (2-3 Sub filter and run-length matching, 6 libpng's default, 9 smallest; 1 writes files ~25% larger than 6 on photos' filter outputs, many times faster), 0 none")->check(CLI::Range(0, 9))->capture_default_str();
  cmd->add_option("--device", a->device, "cpu, gpu, or auto: every GPU and CPU team share the batch")->check(CLI::IsMember({"cpu", "gpu", "auto"}))->capture_default_str();
  cmd->add_option("--threads", a->run.threads, "CPU compute threads in all (0 = every core the placement plan gives the CPU teams)")->check(CLI::Range(0, 4096));
  cmd->add_option("--gpus", a->gpus, "CUDA devices to use, e.g. 0,2 (default all)");
  cmd->add_option("--io-memory", a->io_memory, "Bound on bytes in flight between reading and writing, e.g. 512M, 2G (default 1/8 of RAM, at most 4G)");
  cmd->add_option("--max-pixels", a->run.max_pixels, "Refuse images with more pixels than this")->capture_default_str();
  cmd->add_option("--shard", a->shard, "Run only the K-th (0-based) of N byte-balanced shares of the inputs, e.g. "
                  "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT; merge the --json summaries with 'tandem summary merge'")
      ->type_name("K/N");
  cmd->add_flag("--resume", a->run.resume, "Skip inputs whose output already exists (outputs are only ever complete)");
  cmd->add_flag("--raw-orientation", a->run.raw_orientation, "JPEG, TIFF: keep the pixels as stored; by default the orientation (JPEG: EXIF; TIFF: its Orientation tag) is applied, as a viewer and OpenCV's imread show the photo");
  cmd->add_flag("--strip-metadata", a->run.strip_metadata, "Write outputs without the input's ICC profile and EXIF; by default they are kept where the output format holds them (PNG, JPEG, TIFF), the EXIF corrected to the output's size and orientation");
  cmd->add_flag("--fsync", a->run.fsync, "Make each output durable (fsync the file and its directory) before it takes its final name: outputs then survive a power loss, not only a killed process");
  cmd->add_option("--trace", a->run.trace_path, "Write a Chrome/Perfetto trace of every stage, worker and GPU stream to this JSON file");
  cmd->add_flag("--json", a->json, "Print a JSON summary (every item's path, status, error, device, seconds) on stdout");
  cmd->add_flag("--no-io-uring", a->no_uring, "Read with a pread thread pool instead of io_uring");
  auto* q = cmd->add_flag("-q,--quiet", a->quiet, "No progress, no summary; failures only through the exit code and --json");
  cmd->add_flag("-v,--verbose", a->verbose, "Progress lines when stderr is not a terminal: every 5 s and the final count (under mpirun, rank 0's, counting every rank)")->excludes(q);
  cmd->footer(
      "Examples:\n"
      "  tandem run -p \"gaussian sigma=2 | sobel\" -o out/ photos/\n"
      "  tandem run -p \"grayscale | resize width=640 height=480\" -o small/ --glob '*.jpg' photos/\n"
      "  tandem run -p \"abs | sqrt\" -o out/ --device gpu data.npy\n"
      "  tandem run -p stats -o stats/ --json arrays/ > summary.json\n"
      "  tandem run -p sobel -o out/ --shard 2/8 --json photos/ > shard2.json   (a job array's task 2 of 8)\n"
      "\n"
      "Exit status: 0 all items ok, 1 some items failed (each named on stderr), 2 usage error or\n"
      "nothing could run (no such device, output directory not writable, ...).\n"
      "Outputs are written under a temporary name and renamed when complete; Ctrl-C stops taking\n"
      "new items, finishes those already read and prints the summary (the rest: not started);\n"
      "a second Ctrl-C ends at once; --resume continues a run.\n"
      "Under 'mpirun -n N' (tandem built with MPI) the ranks share the inputs and rank 0 prints one\n"
      "summary; each process plans inside the CPUs it is bound to (docs/scale-out.md).");
  cmd->callback([a, &commands] { commands.run = [a] { return run_command(*a); }; });
}

}  // namespace tandem::cli
