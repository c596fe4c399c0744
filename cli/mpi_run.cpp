// `mpirun -n N tandem run ...`: the batch shared over MPI ranks.
//
// Rank 0 lists the inputs and broadcasts the listing (or its error), so every
// rank runs the same list and no other rank walks the filesystem; every rank
// runs the normal engine inside its own binding. Rank 0 hands out listing
// positions in chunks weighted by bytes and paced by each rank's speed (the bytes it
// took in the last quarter second, at most a quarter of the remaining bytes
// per rank), so a slow rank takes fewer and smaller chunks, the chunks shrink
// as the work runs out, and no rank idles while work remains. Rank 0 serves the chunks from a
// thread of its own, beside its engine. At the end every rank sends its
// summary (and trace) to rank 0, which prints one merged summary and writes
// one trace, and broadcasts the exit code.
#include "cli/mpi_run.hpp"

// The C API only: Open MPI's and MPICH's headers would pull in the C++
// bindings (removed from MPI-3) and their library.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/tools/summary_merge.hpp"
#include "tandem/io/file.hpp"
#include "tandem/placement.hpp"

namespace tandem::cli {

namespace {

using nlohmann::json;
using Bytes = std::vector<char>;

enum Tag : int { kNext = 1, kChunk, kProgress, kDone };

// Every MPI call of a rank holds this lock: MPI_THREAD_SERIALIZED is enough,
// and a wait never holds it (it polls), so the other threads' sends go on.
std::mutex g_mpi;

void send(const void* data, std::size_t bytes, int to, int tag) {
  std::lock_guard lock(g_mpi);
  MPI_Send(data, static_cast<int>(bytes), MPI_BYTE, to, tag, MPI_COMM_WORLD);
}

// The next message with `tag` from `from` (any source: -1), polled; sets `from`.
Bytes receive(int& from, int tag) {
  for (;;) {
    {
      std::lock_guard lock(g_mpi);
      int flag = 0;
      MPI_Status st;
      MPI_Iprobe(from < 0 ? MPI_ANY_SOURCE : from, tag, MPI_COMM_WORLD, &flag, &st);
      if (flag) {
        int n = 0;
        MPI_Get_count(&st, MPI_BYTE, &n);
        Bytes b(static_cast<std::size_t>(n));
        MPI_Recv(b.data(), n, MPI_BYTE, st.MPI_SOURCE, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        from = st.MPI_SOURCE;
        return b;
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

template <class T>
std::vector<T> as(const Bytes& b) {
  std::vector<T> v(b.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), b.data(), v.size() * sizeof(T));
  return v;
}

// One MPI_Ibcast from rank 0, waited for by polling, so that the lock is
// not held while the other ranks catch up.
void bcast(void* data, std::size_t bytes) {
  MPI_Request req;
  {
    std::lock_guard lock(g_mpi);
    MPI_Ibcast(data, static_cast<int>(bytes), MPI_BYTE, 0, MPI_COMM_WORLD, &req);
  }
  for (;;) {
    {
      std::lock_guard lock(g_mpi);
      int done = 0;
      MPI_Test(&req, &done, MPI_STATUS_IGNORE);
      if (done) return;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

// Rank 0's listing (or its error, `made`) to every rank: a header (the
// status code, the length, the piece size), then the bytes in broadcasts of at most 64 MiB
// (MPI counts are ints; a message that size is still cheap to buffer).
// Collective: every rank calls it once per run, inside the engine or after
// it (a rank that failed before listing). Returns rank 0's status.
Status share_listing(int rank, const Status& made, std::string& bytes) {
  std::size_t piece = 64u << 20;
  // Test hook (hidden): TANDEM_TEST_LISTING_PIECE=BYTES sends the listing in
  // pieces of BYTES (a small listing then crosses several pieces' seams).
  if (const char* v = std::getenv("TANDEM_TEST_LISTING_PIECE"); v && std::atoll(v) > 0)
    piece = std::min<std::size_t>(piece, static_cast<std::size_t>(std::atoll(v)));
  std::string error = made.ok() ? std::string() : made.message();
  std::string& body = made.ok() ? bytes : error;
  // Rank 0's piece size is everyone's.
  std::uint64_t head[3] = {static_cast<std::uint64_t>(made.code()), body.size(), piece};
  bcast(head, sizeof head);
  if (rank != 0) body.resize(head[1]);
  piece = head[2];
  for (std::size_t at = 0; at < body.size(); at += piece) bcast(body.data() + at, std::min(piece, body.size() - at));
  if (head[0] != 0) {
    if (rank != 0) return {static_cast<Errc>(head[0]), std::move(body)};
    return made;
  }
  return {};
}

// Rank 0's side: the chunks, the other ranks' progress, who has finished.
class Coordinator {
 public:
  explicit Coordinator(int ranks)
      : ranks_(ranks), progress_(static_cast<std::size_t>(ranks)), pace_(static_cast<std::size_t>(ranks)) {}

  void ready(const std::vector<std::uint64_t>& bytes) {
    std::lock_guard lock(mu_);
    bytes_ = bytes;
    for (auto b : bytes) remaining_ += b;
    state_ = State::ready;
  }
  // Rank 0's engine never began: the ranks that ask get no chunk.
  void failed() {
    std::lock_guard lock(mu_);
    if (state_ == State::waiting) state_ = State::failed;
  }
  void local_done() { ++done_; }

  // The next chunk for `rank`: listing positions whose bytes add up to what
  // the rank has taken in the last kChunkSeconds (its pace: a slow rank asks
  // less often), at most a quarter of the remaining bytes per rank, at least
  // one item. A rank's first chunk is a sixteenth of the remaining bytes per rank.
  std::vector<std::uint64_t> take(int rank) {
    std::lock_guard lock(mu_);
    std::vector<std::uint64_t> chunk;
    if (state_ != State::ready) return chunk;
    const auto now = std::chrono::steady_clock::now();
    Pace& pace = pace_[static_cast<std::size_t>(rank)];
    const std::uint64_t share = remaining_ / static_cast<unsigned>(ranks_);
    std::uint64_t target = share / 16;
    if (pace.taken > 0) {
      const double seconds = std::chrono::duration<double>(now - pace.first).count();
      const double rate = static_cast<double>(pace.taken) / std::max(seconds, 1e-3);
      target = std::min<std::uint64_t>(share / 4, static_cast<std::uint64_t>(rate * kChunkSeconds));
    } else {
      pace.first = now;
    }
    target = std::max<std::uint64_t>(target, 1);
    std::uint64_t sum = 0;
    while (next_ < bytes_.size() && (chunk.empty() || sum < target)) {
      sum += bytes_[next_];
      chunk.push_back(next_++);
    }
    remaining_ -= std::min(remaining_, sum);
    pace.taken += sum;
    return chunk;
  }

  // The other ranks' progress, summed.
  Progress remote() {
    std::lock_guard lock(mu_);
    Progress p;
    for (std::size_t r = 1; r < progress_.size(); ++r) {
      p.done += progress_[r][0];
      p.failed += progress_[r][1];
      p.bytes_in += progress_[r][2];
    }
    return p;
  }

  // The thread: answers until every rank has said it is done.
  void serve() {
    std::vector<int> waiting;  // ranks that asked for a chunk before rank 0 began
    while (done_.load() < ranks_) {
      int from = -1, tag = 0;
      Bytes msg;
      {
        std::lock_guard lock(g_mpi);
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
        if (flag) {
          int n = 0;
          MPI_Get_count(&st, MPI_BYTE, &n);
          msg.resize(static_cast<std::size_t>(n));
          from = st.MPI_SOURCE;
          tag = st.MPI_TAG;
          MPI_Recv(msg.data(), n, MPI_BYTE, from, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        }
      }
      if (!waiting.empty() && state() != State::waiting) {
        for (int r : waiting) answer(r);
        waiting.clear();
      }
      if (from < 0) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        continue;
      }
      if (tag == kNext) {
        // The listing reaches the ranks before rank 0's engine has begun: wait for it.
        if (state() == State::waiting) waiting.push_back(from);
        else answer(from);
      } else if (tag == kProgress) {
        const auto p = as<std::uint64_t>(msg);
        std::lock_guard lock(mu_);
        if (p.size() == 3) progress_[static_cast<std::size_t>(from)] = {p[0], p[1], p[2]};
      } else if (tag == kDone) {
        ++done_;
      }
    }
  }

 private:
  enum class State { waiting, ready, failed };
  State state() {
    std::lock_guard lock(mu_);
    return state_;
  }
  void answer(int rank) {
    const auto chunk = take(rank);  // empty when rank 0 failed: the rank ends
    send(chunk.data(), chunk.size() * sizeof(std::uint64_t), rank, kChunk);
  }

  const int ranks_;
  std::mutex mu_;
  State state_ = State::waiting;
  std::vector<std::uint64_t> bytes_;
  std::uint64_t remaining_ = 0;
  std::size_t next_ = 0;
  std::vector<std::array<std::uint64_t, 3>> progress_;
  struct Pace {
    std::chrono::steady_clock::time_point first;  // the rank's first chunk
    std::uint64_t taken = 0;                      // bytes handed to it since
  };
  static constexpr double kChunkSeconds = 0.25;
  std::vector<Pace> pace_;
  std::atomic<int> done_{0};
};

// Test hooks (hidden): TANDEM_TEST_RANK_DELAY_MS="R:MS" makes rank R take
// MS ms per item it claims (a slow rank), and rank 0 wait MS ms before it
// says a usage error; TANDEM_TEST_KILL_RANK="R:N" kills
// rank R with SIGKILL once it has claimed N items (a rank that dies).
int test_hook(const char* name, int rank) {
  const char* v = std::getenv(name);
  int r = -1, n = 0;
  if (v && std::sscanf(v, "%d:%d", &r, &n) == 2 && r == rank) return n;
  return -1;
}

// One rank's WorkShare: rank 0 asks the coordinator directly, the others by message.
class RankShare final : public WorkShare {
 public:
  RankShare(int rank, Coordinator* coordinator)
      : rank_(rank),
        coordinator_(coordinator),
        delay_ms_(test_hook("TANDEM_TEST_RANK_DELAY_MS", rank)),
        kill_after_(test_hook("TANDEM_TEST_KILL_RANK", rank)) {}

  // Rank 0 lists; the others receive its listing, never walking the filesystem.
  Status listing(const std::function<Status(std::string&)>& list_here, std::string& bytes) override {
    listed_ = true;
    return share_listing(rank_, rank_ == 0 ? list_here(bytes) : Status{}, bytes);
  }

  Status begin(const std::vector<std::string>&, const std::vector<std::uint64_t>& bytes) override {
    began_ = true;
    if (coordinator_) coordinator_->ready(bytes);
    return {};
  }

  std::vector<std::size_t> next() override {
    if (delay_ms_ > 0 && last_chunk_ > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_ * static_cast<long>(last_chunk_)));
    if (kill_after_ >= 0 && claimed_ >= static_cast<std::size_t>(kill_after_)) std::raise(SIGKILL);
    std::vector<std::uint64_t> chunk;
    if (coordinator_) {
      chunk = coordinator_->take(0);
    } else {
      send(nullptr, 0, 0, kNext);
      int from = 0;
      chunk = as<std::uint64_t>(receive(from, kChunk));
    }
    last_chunk_ = chunk.size();
    claimed_ += chunk.size();
    return {chunk.begin(), chunk.end()};
  }

  [[nodiscard]] bool began() const { return began_; }
  [[nodiscard]] bool listed() const { return listed_; }

 private:
  int rank_;
  Coordinator* coordinator_;
  int delay_ms_, kill_after_;
  std::size_t last_chunk_ = 0, claimed_ = 0;
  bool began_ = false, listed_ = false;
};

// Ranks on one node bound to the same CPUs (two ranks per socket) split the
// GPUs near those CPUs instead of all feeding all of them: each rank's GPUs
// go into its RunOptions::gpus. Collective: every rank calls it.
void choose_peer_gpus(RunOptions& o) {
  Topology topo;
  const bool known = Topology::load_this_machine(topo).ok();
  std::uint64_t binding = 1469598103934665603ull;  // FNV-1a of the allowed PUs
  for (int pu : topo.allowed_pus()) binding = (binding ^ static_cast<std::uint64_t>(pu)) * 1099511628211ull;
  std::lock_guard lock(g_mpi);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int me = 0, size = 1;
  MPI_Comm_rank(node, &me);
  MPI_Comm_size(node, &size);
  std::vector<std::uint64_t> all(static_cast<std::size_t>(size));
  MPI_Allgather(&binding, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, node);
  MPI_Comm_free(&node);
  int index = 0, peers = 0;
  for (int r = 0; r < size; ++r) {
    if (all[static_cast<std::size_t>(r)] != binding) continue;
    if (r < me) ++index;
    ++peers;
  }
  if (!known || peers <= 1 || !o.gpus.empty() || o.device == DeviceChoice::cpu) return;
  for (const GpuInfo& g : gpus_for_peer(gpus_near_allowed(topo, find_gpus(topo).gpus), index, peers))
    o.gpus.push_back(g.index);
}

// Every rank's text at rank 0 (an empty vector elsewhere).
std::vector<std::string> gather(const std::string& mine, int ranks, int rank) {
  std::lock_guard lock(g_mpi);
  int n = static_cast<int>(mine.size());
  std::vector<int> sizes(static_cast<std::size_t>(ranks)), offsets(static_cast<std::size_t>(ranks));
  MPI_Gather(&n, 1, MPI_INT, sizes.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::string all;
  if (rank == 0) {
    int at = 0;
    for (int r = 0; r < ranks; ++r) {
      offsets[static_cast<std::size_t>(r)] = at;
      at += sizes[static_cast<std::size_t>(r)];
    }
    all.resize(static_cast<std::size_t>(at));
  }
  MPI_Gatherv(mine.data(), n, MPI_CHAR, all.data(), sizes.data(), offsets.data(), MPI_CHAR, 0, MPI_COMM_WORLD);
  std::vector<std::string> out;
  if (rank == 0)
    for (int r = 0; r < ranks; ++r)
      out.push_back(all.substr(static_cast<std::size_t>(offsets[static_cast<std::size_t>(r)]),
                               static_cast<std::size_t>(sizes[static_cast<std::size_t>(r)])));
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// One timeline: each rank's events under its own process row (pid = rank).
Status write_trace(const std::string& path, const std::vector<json>& parts) {
  json events = json::array();
  for (const json& part : parts) {
    const int rank = part["rank"];
    events.push_back({{"ph", "M"}, {"name", "process_name"}, {"pid", rank},
                      {"args", {{"name", "rank " + std::to_string(rank) + " (" + part.value("host", std::string()) + ")"}}}});
    events.push_back({{"ph", "M"}, {"name", "process_sort_index"}, {"pid", rank}, {"args", {{"sort_index", rank}}}});
    if (!part.contains("trace") || !part["trace"].contains("traceEvents")) continue;
    for (json e : part["trace"]["traceEvents"]) {
      e["pid"] = rank;
      events.push_back(std::move(e));
    }
  }
  const std::string text = json{{"traceEvents", std::move(events)}, {"displayTimeUnit", "ms"}}.dump();
  return io::write_file_atomic(path, std::as_bytes(std::span(text.data(), text.size())));
}

// Rank 0: the merged summary, the trace, the exit code.
int report(const Pipeline& pipeline, const RunOptions& o, const RankOutput& out, const std::vector<std::string>& texts) {
  std::vector<json> parts;
  for (const auto& t : texts) parts.push_back(json::parse(t));
  int rc = 0;
  std::set<std::string> said;
  std::vector<tools::SummaryPart> summaries;
  for (const json& p : parts) {
    const int rank = p["rank"];
    if (p["error"].is_string()) {
      rc = std::max(rc, p["rc"].get<int>());
      // The same error on every rank (a usage error) is said once.
      if (said.insert(p["error"].get<std::string>()).second)
        std::cerr << "tandem run: " << (rank ? "rank " + std::to_string(rank) + ": " : "")
                  << in_cli_terms(p["error"].get<std::string>()) << "\n";
    } else {
      summaries.push_back({p["summary"], rank, "rank " + std::to_string(rank)});
    }
  }
  // No rank ran (each failed before running): as one process, that is 2.
  if (summaries.empty()) rc = 2;
  if (!summaries.empty()) {
    json merged;
    if (const Status s = tools::merge_summaries(summaries, "rank", merged); !s.ok()) {
      std::cerr << "tandem run: " << s.message() << "\n";
      return 1;
    }
    merged["pipeline"] = pipeline.text();
    if (out.json) std::cout << merged.dump(2) << "\n" << std::flush;
    if (!out.quiet) {
      for (const auto& n : merged["notices"]) std::cerr << "tandem: note: " << n.get<std::string>() << "\n";
      tools::print_merged(std::cerr, merged, "rank");
    }
    if (merged["failed"].get<std::uint64_t>() > 0 || merged["cancelled"].get<bool>()) rc = std::max(rc, 1);
  }
  if (!o.trace_path.empty())
    if (const Status s = write_trace(o.trace_path, parts); !s.ok()) std::cerr << "tandem: note: " << s.message() << "\n";
  return rc;
}

}  // namespace

int say_once_as_rank(std::string_view text, int rc) {
  MPI_Init(nullptr, nullptr);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0) {
    // The slow-rank hook slows rank 0's sentence too: the other ranks wait for it.
    if (const int ms = test_hook("TANDEM_TEST_RANK_DELAY_MS", 0); ms > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    std::cerr << text << std::flush;
  }
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_Finalize();
  return rc;
}

int run_as_rank(const Pipeline& pipeline, RunOptions o, const RankOutput& out) {
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  if (provided < MPI_THREAD_SERIALIZED) {
    if (rank == 0) std::cerr << "tandem run: this MPI library cannot be called from several threads\n";
    MPI_Finalize();
    return 1;
  }

  choose_peer_gpus(o);
  std::unique_ptr<Coordinator> coordinator;
  std::thread server;
  if (rank == 0) {
    coordinator = std::make_unique<Coordinator>(ranks);
    server = std::thread([&] { coordinator->serve(); });
  }
  RankShare share(rank, coordinator.get());
  o.share = &share;
  o.shard_index = 0;
  o.shard_count = 1;
  // Rank 0's bar counts every rank: its own counts and the others' latest.
  std::mutex local_mu;
  std::optional<Progress> local_last;
  auto all_ranks = [&](Progress p) {
    const Progress others = coordinator->remote();
    p.done += others.done;
    p.failed += others.failed;
    p.bytes_in += others.bytes_in;
    return p;
  };
  if (rank == 0) {
    o.on_progress = [&](const Progress& local) {
      {
        std::lock_guard lock(local_mu);
        local_last = local;
      }
      Progress p = all_ranks(local);
      p.last = false;  // rank 0's engine is done, maybe not the others: the last call follows the run
      if (out.progress) out.progress(p);
    };
  } else {
    o.on_progress = [](const Progress& p) {
      const std::uint64_t counts[3] = {p.done, p.failed, p.bytes_in};
      send(counts, sizeof counts, 0, kProgress);
    };
  }
  const std::string trace_path = o.trace_path;
  if (!trace_path.empty())
    o.trace_path = (std::filesystem::temp_directory_path() /
                    ("tandem-trace-rank" + std::to_string(rank) + "-" + std::to_string(::getpid()) + ".json"))
                       .string();

  // Every rank starts together, so the ranks' timelines line up.
  {
    std::lock_guard lock(g_mpi);
    MPI_Barrier(MPI_COMM_WORLD);
  }
  RunSummary sum;
  const Status s = run_batch(pipeline, o, sum);
  if (!share.listed()) {
    // Failed before the listing: still part of its broadcast (rank 0 sends its error).
    std::string none;
    (void)share_listing(rank, s.ok() ? Status{Errc::internal, "rank 0 made no listing"} : s, none);
  }
  if (rank == 0) {
    if (!share.began()) coordinator->failed();
    coordinator->local_done();
    server.join();
    // Every rank has reported its final counts (before saying it is done).
    std::lock_guard lock(local_mu);
    if (local_last && out.progress) {
      Progress p = all_ranks(*local_last);
      p.last = true;
      out.progress(p);
    }
  } else {
    send(nullptr, 0, 0, kDone);
  }

  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  json part{{"rank", rank}, {"host", host}, {"rc", 0}, {"error", nullptr}};
  if (!s.ok()) {
    part["rc"] = s.code() == Errc::invalid_argument ? 2 : 1;
    part["error"] = s.message();
  } else {
    part["summary"] = json::parse(out.summary_json(sum));
  }
  if (!o.trace_path.empty() && s.ok()) {
    part["trace"] = json::parse(slurp(o.trace_path), nullptr, false);
    if (part["trace"].is_discarded()) part.erase("trace");
    std::remove(o.trace_path.c_str());
  }
  o.trace_path = trace_path;
  const std::vector<std::string> texts = gather(part.dump(), ranks, rank);
  int rc = rank == 0 ? report(pipeline, o, out, texts) : 0;
  {
    std::lock_guard lock(g_mpi);
    MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
  }
  MPI_Finalize();
  return rc;
}

}  // namespace tandem::cli
