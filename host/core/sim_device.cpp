// The simulated device: see host/core/sim_device.hpp for the model.
#include "host/core/sim_device.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>

namespace tandem::detail {

namespace {

using Clock = std::chrono::steady_clock;

std::string sim_name(int index) { return "sim:" + std::to_string(index); }

struct SimDevice {
  SimDevice(int i, SimDeviceSpec s) : index(i), spec(s) {}
  const int index;
  const SimDeviceSpec spec;
  std::atomic<bool> lost{false};
  std::mutex mu;  // guards stats and events
  SimStats stats;
  std::vector<SimEvent> events;

  [[nodiscard]] Status lost_status() const {
    return {Errc::device_lost, sim_name(index) + ": device lost after an earlier sticky failure"};
  }
  void log(SimOp op, int stream, Clock::time_point start, std::size_t bytes) {
    const auto end = Clock::now();
    std::lock_guard lock(mu);
    events.push_back({op, stream, start, end, bytes});
    if (op != SimOp::launch) ++stats.copies;
  }
};

using DevicePtr = std::shared_ptr<SimDevice>;

// One in-order queue of tasks and the thread that runs them. Errors of the
// tasks are kept until the next synchronize reports them.
class SimStream {
 public:
  SimStream(DevicePtr d, int stream_id) : dev(std::move(d)), id(stream_id) {
    worker_ = std::thread([this] { run(); });
  }
  ~SimStream() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();  // the worker finishes what was queued before it stops
  }
  SimStream(const SimStream&) = delete;
  SimStream& operator=(const SimStream&) = delete;

  void enqueue(std::function<void()> task) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(task));
    }
    cv_.notify_all();
  }

  void record(const Status& s) {
    std::lock_guard lock(mu_);
    if (error_.ok() || (is_sticky(s) && !is_sticky(error_))) error_ = s;
  }

  Status synchronize() {
    std::unique_lock lock(mu_);
    idle_.wait(lock, [&] { return queue_.empty() && !busy_; });
    if (dev->lost.load()) return dev->lost_status();
    Status s = std::move(error_);
    error_ = {};  // recoverable errors are reported once, as CUDA does
    return s;
  }

  const DevicePtr dev;
  const int id;

 private:
  void run() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      std::function<void()> task = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
      lock.unlock();
      task();
      task = nullptr;  // whatever it captured is released before the stream looks idle
      lock.lock();
      busy_ = false;
      if (queue_.empty()) idle_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_, idle_;
  std::deque<std::function<void()>> queue_;
  bool busy_ = false;
  bool stop_ = false;
  Status error_;
  std::thread worker_;  // last: started once everything above exists
};

struct Block {
  std::size_t bytes;
  DevicePtr dev;
};

// The configured devices, the device memory handed out (to tell a copy's
// direction and to free a block on the device it came from) and the live
// streams (a stream-ordered free on a stream already destroyed happens at once).
class Registry {
 public:
  std::mutex mu;
  std::vector<DevicePtr> devices;
  std::map<std::uintptr_t, Block> blocks;
  std::unordered_set<SimStream*> streams;
  int next_stream_id = 1;

  DevicePtr device(int index) {
    std::lock_guard lock(mu);
    if (index < 0 || index >= static_cast<int>(devices.size())) return nullptr;
    return devices[std::size_t(index)];
  }
  // The sim device whose memory holds [p, p + bytes), or nullptr for host memory.
  DevicePtr owner(const void* p) {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    std::lock_guard lock(mu);
    auto it = blocks.upper_bound(a);
    if (it == blocks.begin()) return nullptr;
    --it;
    return a < it->first + it->second.bytes ? it->second.dev : nullptr;
  }
};

// Never destroyed: Buffers in static objects may be freed after it would be.
Registry& registry() {
  static auto* r = new Registry;
  return *r;
}

Status find_device(int index, DevicePtr& out) {
  out = registry().device(index);
  if (!out)
    return {Errc::no_device, sim_name(index) + " does not exist (" + std::to_string(sim_device_count()) +
                                 " sim devices configured)"};
  if (out->lost.load()) return out->lost_status();
  return {};
}

SimStream* as_stream(void* s) { return static_cast<SimStream*>(s); }

void sleep_until(Clock::time_point t) {
  if (Clock::now() < t) std::this_thread::sleep_until(t);
}

// The copy itself, then a wait until the modelled transfer time has passed.
void modelled_copy(SimDevice& dev, SimOp op, int stream_id, void* dst, std::size_t dpitch, const void* src,
                   std::size_t spitch, std::size_t width, std::size_t rows) {
  const auto start = Clock::now();
  const double gbps = op == SimOp::copy_h2d   ? dev.spec.h2d_gbps
                      : op == SimOp::copy_d2h ? dev.spec.d2h_gbps
                                              : dev.spec.d2d_gbps;
  const std::size_t bytes = width * rows;
  const double seconds = dev.spec.latency_us * 1e-6 + (gbps > 0 ? double(bytes) / (gbps * 1e9) : 0.0);
  for (std::size_t r = 0; r < rows; ++r)
    std::memcpy(static_cast<char*>(dst) + r * dpitch, static_cast<const char*>(src) + r * spitch, width);
  sleep_until(start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)));
  dev.log(op, stream_id, start, bytes);
}

class SimBackend final : public DeviceBackend {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "sim"; }

  Status stream_create(int device, void** stream) override {
    DevicePtr dev;
    TANDEM_TRY(find_device(device, dev));
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    auto* s = new SimStream(dev, r.next_stream_id++);
    r.streams.insert(s);
    *stream = s;
    return {};
  }

  void stream_destroy(void* stream) noexcept override {
    if (!stream) return;
    {
      Registry& r = registry();
      std::lock_guard lock(r.mu);
      r.streams.erase(as_stream(stream));
    }
    delete as_stream(stream);  // outside the registry lock: queued frees take it
  }

  Status stream_synchronize(void* stream) override {
    if (!stream) return {};
    return as_stream(stream)->synchronize();
  }

  Status host_callback(void* stream, void (*fn)(void*), void* data) override {
    if (!stream) return {Errc::invalid_argument, "sim: host_callback needs a stream"};
    SimStream* s = as_stream(stream);
    if (s->dev->lost.load()) return s->dev->lost_status();
    s->enqueue([fn, data] { fn(data); });
    return {};
  }

  Status device_malloc(std::size_t bytes, int device, void* /*stream*/, void** out) override {
    // Host memory is usable at once, so a stream-ordered allocation needs no ordering.
    DevicePtr dev;
    TANDEM_TRY(find_device(device, dev));
    const std::size_t rounded = (std::max<std::size_t>(bytes, 1) + 63) / 64 * 64;
    {
      std::lock_guard lock(dev->mu);
      const int n = ++dev->stats.allocations;
      if (n == dev->spec.fail_alloc_at)
        return {Errc::out_of_memory, sim_name(device) + ": injected failure of device allocation " +
                                         std::to_string(n) + " (" + std::to_string(bytes) + " bytes)"};
      if (dev->spec.capacity && dev->stats.allocated_bytes + rounded > dev->spec.capacity)
        return {Errc::out_of_memory, sim_name(device) + ": cannot allocate " + std::to_string(bytes) +
                                         " bytes: " + std::to_string(dev->stats.allocated_bytes) + " of " +
                                         std::to_string(dev->spec.capacity) + " bytes in use"};
      dev->stats.allocated_bytes += rounded;
      dev->stats.peak_bytes = std::max(dev->stats.peak_bytes, dev->stats.allocated_bytes);
    }
    void* p = std::aligned_alloc(64, rounded);
    if (!p) {
      std::lock_guard lock(dev->mu);
      dev->stats.allocated_bytes -= rounded;
      return {Errc::out_of_memory, sim_name(device) + ": host memory for " + std::to_string(bytes) + " bytes"};
    }
    Registry& r = registry();
    std::lock_guard lock(r.mu);
    r.blocks.emplace(reinterpret_cast<std::uintptr_t>(p), Block{rounded, std::move(dev)});
    *out = p;
    return {};
  }

  void device_free(void* ptr, void* stream) noexcept override {
    if (!ptr) return;
    if (stream) {
      // Stream-ordered, as cudaFreeAsync: work queued before may still use the block.
      Registry& r = registry();
      std::lock_guard lock(r.mu);
      if (r.streams.count(as_stream(stream))) {
        as_stream(stream)->enqueue([ptr] { free_now(ptr); });
        return;
      }
    }
    free_now(ptr);
  }

  Status pinned_malloc(std::size_t bytes, int device, void** out) override {
    DevicePtr dev;
    TANDEM_TRY(find_device(device, dev));
    *out = std::aligned_alloc(64, (std::max<std::size_t>(bytes, 1) + 63) / 64 * 64);
    if (!*out) return {Errc::out_of_memory, "cannot allocate " + std::to_string(bytes) + " bytes of pinned memory"};
    return {};
  }
  void pinned_free(void* ptr) noexcept override { std::free(ptr); }

  Status memcpy_2d(void* dst, std::size_t dpitch, const void* src, std::size_t spitch, std::size_t width_bytes,
                   std::size_t rows, void* stream) override {
    if (width_bytes == 0 || rows == 0) return {};
    if (rows == 1) dpitch = spitch = width_bytes;  // a single row's stride is never used
    Registry& r = registry();
    const DevicePtr from = r.owner(src), to = r.owner(dst);
    const SimOp op = from && to ? SimOp::copy_d2d
                     : to       ? SimOp::copy_h2d
                     : from     ? SimOp::copy_d2h
                                : SimOp::copy_h2h;
    if (!stream) {
      const DevicePtr& dev = to ? to : from;
      if (!dev) {  // host to host (pinned memory is host memory): no device to model
        for (std::size_t i = 0; i < rows; ++i)
          std::memcpy(static_cast<char*>(dst) + i * dpitch, static_cast<const char*>(src) + i * spitch, width_bytes);
        return {};
      }
      if (dev->lost.load()) return dev->lost_status();
      modelled_copy(*dev, op, 0, dst, dpitch, src, spitch, width_bytes, rows);
      return {};
    }
    SimStream* s = as_stream(stream);
    if (s->dev->lost.load()) return s->dev->lost_status();
    s->enqueue([s, op, dst, dpitch, src, spitch, width_bytes, rows] {
      if (s->dev->lost.load()) return s->record(s->dev->lost_status());
      modelled_copy(*s->dev, op, s->id, dst, dpitch, src, spitch, width_bytes, rows);
    });
    return {};
  }

  Status launch(void* stream, std::function<Status()> work) override {
    if (!stream) return {Errc::invalid_argument, "sim: launch needs a stream"};
    SimStream* s = as_stream(stream);
    SimDevice& dev = *s->dev;
    if (dev.lost.load()) return dev.lost_status();
    int n = 0;
    {
      std::lock_guard lock(dev.mu);
      n = ++dev.stats.launches;
    }
    const bool inject = n == dev.spec.fail_launch_at;
    s->enqueue([s, work = std::move(work), inject, n] {
      SimDevice& d = *s->dev;
      const auto start = Clock::now();
      Status st;
      if (d.lost.load()) {
        st = d.lost_status();
      } else if (inject) {
        st = d.spec.launch_failure_sticky
                 ? Status(Errc::device_lost, sim_name(d.index) + ": injected sticky failure of launch " + std::to_string(n))
                 : Status(Errc::cuda_error, sim_name(d.index) + ": injected failure of launch " + std::to_string(n));
      } else {
        try {
          st = work();
        } catch (const std::exception& e) {
          st = {Errc::internal, sim_name(d.index) + ": launched work threw: " + e.what()};
        }
        if (d.spec.compute_slowdown > 1.0) {
          const auto took = Clock::now() - start;
          sleep_until(Clock::now() + std::chrono::duration_cast<Clock::duration>(took * (d.spec.compute_slowdown - 1.0)));
        }
      }
      if (is_sticky(st)) d.lost.store(true);
      d.log(SimOp::launch, s->id, start, 0);
      if (!st.ok()) s->record(st);
    });
    return {};
  }

 private:
  static void free_now(void* ptr) noexcept {
    Registry& r = registry();
    Block block{0, nullptr};
    {
      std::lock_guard lock(r.mu);
      auto it = r.blocks.find(reinterpret_cast<std::uintptr_t>(ptr));
      if (it != r.blocks.end()) {
        block = std::move(it->second);
        r.blocks.erase(it);
      }
    }
    if (block.dev) {
      std::lock_guard lock(block.dev->mu);
      block.dev->stats.allocated_bytes -= block.bytes;
    }
    std::free(ptr);
  }
};

}  // namespace

void sim_configure(std::vector<SimDeviceSpec> devices) {
  std::vector<DevicePtr> fresh;
  for (std::size_t i = 0; i < devices.size(); ++i) fresh.push_back(std::make_shared<SimDevice>(int(i), devices[i]));
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  r.devices.swap(fresh);
}

int sim_device_count() noexcept {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  return static_cast<int>(r.devices.size());
}

SimStats sim_stats(int device) {
  const DevicePtr dev = registry().device(device);
  if (!dev) return {};
  std::lock_guard lock(dev->mu);
  SimStats s = dev->stats;
  s.lost = dev->lost.load();
  return s;
}

std::vector<SimEvent> sim_events(int device) {
  const DevicePtr dev = registry().device(device);
  if (!dev) return {};
  std::lock_guard lock(dev->mu);
  return dev->events;
}

int sim_stream_id(void* stream) noexcept { return stream ? as_stream(stream)->id : 0; }

DeviceBackend* sim_backend() noexcept {
  static auto* backend = new SimBackend;  // never destroyed: static Streams and Buffers outlive it otherwise
  return backend;
}

}  // namespace tandem::detail
