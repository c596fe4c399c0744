#include "io/reader.hpp"

#include "host/core/sanitizers.hpp"

#include <fcntl.h>
#include <liburing.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "tandem/io/file.hpp"

namespace tandem::io {

namespace {

Status errno_status(const std::string& path, int err, const char* what) {
  return {Errc::io_error, "cannot " + std::string(what) + " " + path + ": " + std::strerror(err)};
}

// Opens `path` for reading, refusing directories and other non-regular files
// (without blocking on a FIFO).
int open_regular(ReadRequest& r, std::size_t& size) {
  int fd = -1;
  std::uint64_t n = 0;
  r.status = open_regular_file(r.path, fd, n);
  size = static_cast<std::size_t>(n);
  return r.status.ok() ? fd : -1;
}

// ---------------------------------------------------------------------------
// pread fallback: a few threads, each reading whole files.
class PreadReader final : public FileReader {
 public:
  PreadReader(Done done, unsigned threads) : done_(std::move(done)) {
    for (unsigned i = 0; i < (threads ? threads : 1); ++i) pool_.emplace_back([this] { loop(); });
  }
  ~PreadReader() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : pool_) t.join();
  }
  void submit(ReadRequest request, std::size_t) override {
    std::unique_lock lock(mu_);
    space_.wait(lock, [&] { return queue_.size() < pool_.size() * 2; });
    queue_.push_back(std::move(request));
    ++pending_;
    cv_.notify_one();
  }
  void drain() override {
    std::unique_lock lock(mu_);
    idle_.wait(lock, [&] { return pending_ == 0; });
  }
  const char* backend() const noexcept override { return "pread"; }

 private:
  void loop() {
    for (;;) {
      ReadRequest r;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        r = std::move(queue_.front());
        queue_.pop_front();
        space_.notify_one();
      }
      read_whole(r);
      done_(std::move(r));
      std::lock_guard lock(mu_);
      if (--pending_ == 0) idle_.notify_all();
    }
  }
  static void read_whole(ReadRequest& r) {
    std::size_t size = 0;
    const int fd = open_regular(r, size);
    if (fd < 0) return;
    r.bytes.resize(size);
    std::size_t off = 0;
    while (off < size) {
      const ssize_t n = ::pread(fd, r.bytes.data() + off, size - off, static_cast<off_t>(off));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        r.status = n < 0 ? errno_status(r.path, errno, "read") : Status(Errc::io_error, "cannot read " + r.path + ": file shrank while reading");
        r.bytes.clear();
        break;
      }
      off += static_cast<std::size_t>(n);
    }
    ::close(fd);
  }

  Done done_;
  std::vector<std::thread> pool_;
  std::mutex mu_;
  std::condition_variable cv_, space_, idle_;
  std::deque<ReadRequest> queue_;
  std::size_t pending_ = 0;
  bool stop_ = false;
};

// ---------------------------------------------------------------------------
// io_uring: the submitting thread opens files and queues reads; a completion
// thread reaps them, resubmits short reads, and hands finished files on.
class UringReader final : public FileReader {
 public:
  UringReader(Done done, unsigned depth, io_uring& ring) : done_(std::move(done)), depth_(depth), ring_(ring) {
    reaper_ = std::thread([this] { reap(); });
  }
  ~UringReader() override {
    drain();
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    // Wake the reaper with a no-op completion.
    {
      std::lock_guard lock(sq_mu_);
      io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
      if (sqe) {
        io_uring_prep_nop(sqe);
        io_uring_sqe_set_data(sqe, nullptr);
        io_uring_submit(&ring_);
      }
    }
    reaper_.join();
    io_uring_queue_exit(&ring_);
    delete &ring_;
  }

  void submit(ReadRequest request, std::size_t) override {
    {
      std::unique_lock lock(mu_);
      space_.wait(lock, [&] { return in_flight_ < depth_; });
      ++in_flight_;
    }
    auto* op = new Op{std::move(request), -1, 0};
    std::size_t size = 0;
    op->fd = open_regular(op->req, size);
    if (op->fd < 0) {
      finish(op);
      return;
    }
    op->req.bytes.resize(size);
    if (size == 0) {
      finish(op);
      return;
    }
    queue_read(op);
  }

  void drain() override {
    std::unique_lock lock(mu_);
    idle_.wait(lock, [&] { return in_flight_ == 0; });
  }
  const char* backend() const noexcept override { return "io_uring"; }

 private:
  struct Op {
    ReadRequest req;
    int fd;
    std::size_t done;
  };

  void queue_read(Op* op) {
    std::lock_guard lock(sq_mu_);
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    while (!sqe) {  // ring full of unsubmitted entries: flush and retry
      io_uring_submit(&ring_);
      sqe = io_uring_get_sqe(&ring_);
    }
    // One read is capped by the kernel (about 2 GiB); larger files take several.
    const std::size_t want = std::min<std::size_t>(op->req.bytes.size() - op->done, std::size_t(1) << 30);
    io_uring_prep_read(sqe, op->fd, op->req.bytes.data() + op->done, static_cast<unsigned>(want), op->done);
    io_uring_sqe_set_data(sqe, op);
    io_uring_submit(&ring_);
  }

  void reap() {
    for (;;) {
      io_uring_cqe* cqe = nullptr;
      const int rc = io_uring_wait_cqe(&ring_, &cqe);
      if (rc == -EINTR) continue;
      if (rc < 0) return;
      auto* op = static_cast<Op*>(io_uring_cqe_get_data(cqe));
      const int res = cqe->res;
      io_uring_cqe_seen(&ring_, cqe);
      if (!op) {
        std::lock_guard lock(mu_);
        if (stop_) return;
        continue;
      }
      if (res == -EINTR || res == -EAGAIN) {
        queue_read(op);
      } else if (res < 0) {
        op->req.status = errno_status(op->req.path, -res, "read");
        op->req.bytes.clear();
        finish(op);
      } else if (res == 0) {
        op->req.status = {Errc::io_error, "cannot read " + op->req.path + ": file shrank while reading"};
        op->req.bytes.clear();
        finish(op);
      } else {
        op->done += static_cast<std::size_t>(res);
        if (op->done < op->req.bytes.size())
          queue_read(op);
        else
          finish(op);
      }
    }
  }

  void finish(Op* op) {
    if (op->fd >= 0) ::close(op->fd);
    done_(std::move(op->req));
    delete op;
    std::lock_guard lock(mu_);
    --in_flight_;
    space_.notify_one();
    if (in_flight_ == 0) idle_.notify_all();
  }

  Done done_;
  unsigned depth_;
  io_uring& ring_;
  std::thread reaper_;
  std::mutex mu_, sq_mu_;
  std::condition_variable space_, idle_;
  unsigned in_flight_ = 0;
  bool stop_ = false;
};

}  // namespace

std::unique_ptr<FileReader> FileReader::create(Done done, unsigned depth, unsigned threads, bool prefer_uring,
                                               std::string* why_not) {
  if (why_not) why_not->clear();
  if (prefer_uring && tandem::detail::kUnderThreadSanitizer) {
    // TSan cannot see the kernel fill a buffer and signal a completion, so every
    // io_uring read would look like a race; the pread pool it can follow.
    if (why_not) *why_not = "io_uring is not used under ThreadSanitizer";
  } else if (prefer_uring) {
    auto* ring = new io_uring;
    const int rc = io_uring_queue_init(std::max(8u, depth * 2), ring, 0);
    if (rc == 0) return std::make_unique<UringReader>(std::move(done), depth ? depth : 1, *ring);
    delete ring;
    if (why_not) *why_not = std::string("io_uring unavailable: ") + std::strerror(-rc);
  } else if (why_not) {
    *why_not = "io_uring disabled";
  }
  return std::make_unique<PreadReader>(std::move(done), threads);
}

}  // namespace tandem::io
