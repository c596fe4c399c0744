#include "tandem/tensor.hpp"

#include <sched.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <utility>
#include <vector>

#include "host/topology.hpp"
#include "tandem/config.hpp"
#if TANDEM_WITH_CUDA
#include "kernels/runtime.hpp"
#endif

namespace tandem {

View View::array(void* data, DType dtype, std::span<const std::int64_t> shape, Device device) {
  View v;
  v.data = data;
  v.dtype = dtype;
  v.device = device;
  v.ndim = static_cast<int>(shape.size());
  std::int64_t stride = static_cast<std::int64_t>(dtype_size(dtype));
  for (int i = v.ndim - 1; i >= 0; --i) {
    v.shape[i] = shape[i];
    v.strides[i] = stride;
    stride *= shape[i];
  }
  return v;
}

View View::image(void* data, DType dtype, std::int64_t height, std::int64_t width,
                 std::int64_t channels, Device device, std::int64_t row_stride) {
  View v;
  if (channels == 1) {
    const std::int64_t s[] = {height, width};
    v = array(data, dtype, s, device);
  } else {
    const std::int64_t s[] = {height, width, channels};
    v = array(data, dtype, s, device);
  }
  if (row_stride > 0) v.strides[0] = row_stride;
  return v;
}

std::int64_t View::numel() const noexcept {
  if (ndim == 0) return data ? 1 : 0;
  std::int64_t n = 1;
  for (int i = 0; i < ndim; ++i) n *= shape[i];
  return n;
}

bool View::is_contiguous() const noexcept {
  std::int64_t stride = static_cast<std::int64_t>(elem_size());
  for (int i = ndim - 1; i >= 0; --i) {
    if (shape[i] != 1 && strides[i] != stride) return false;
    stride *= shape[i];
  }
  return true;
}

bool View::is_image() const noexcept {
  if (ndim != 2 && ndim != 3) return false;
  const auto es = static_cast<std::int64_t>(elem_size());
  if (ndim == 3 && strides[2] != es) return false;
  if (strides[1] != es * channels()) return false;
  return strides[0] >= es * channels() * width();
}

std::string View::describe() const {
  std::string s = dtype_name(dtype);
  s += ' ';
  for (int i = 0; i < ndim; ++i) {
    if (i) s += 'x';
    s += std::to_string(shape[i]);
  }
  if (ndim == 0) s += "scalar";
  s += " on " + device.str();
  return s;
}

bool View::same_layout(const View& o) const noexcept {
  if (dtype != o.dtype || ndim != o.ndim || !(device == o.device)) return false;
  for (int i = 0; i < ndim; ++i)
    if (shape[i] != o.shape[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------

namespace {
thread_local void* t_alloc_stream = nullptr;
}

StreamAllocScope::StreamAllocScope(void* stream) noexcept : previous_(t_alloc_stream) { t_alloc_stream = stream; }
StreamAllocScope::~StreamAllocScope() { t_alloc_stream = previous_; }

Buffer::~Buffer() { reset(); }

Buffer::Buffer(Buffer&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)),
      size_(std::exchange(o.size_, 0)),
      kind_(o.kind_),
      device_(o.device_),
      stream_(o.stream_),
      reusable_(o.reusable_) {}

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    reset();
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    kind_ = o.kind_;
    device_ = o.device_;
    stream_ = o.stream_;
    reusable_ = o.reusable_;
  }
  return *this;
}

namespace {

// Large host blocks are kept for reuse. glibc rarely hands a freed image-sized
// block back to the next request of the same size (the alignment slack and the
// small allocations made meanwhile pin it), so every new result would fault in
// all its pages again: 1024 faults, ~2 ms, for a 4 MiB result here, more than
// many kernels take. Blocks are matched by exact size and by the NUMA node of
// the calling CPU (their pages live where they were first touched).
class HostBlockCache {
 public:
  static constexpr std::size_t kMinBytes = std::size_t(1) << 20;
  static constexpr std::size_t kMaxBlocks = 8;
  static constexpr std::size_t kMaxBytes = std::size_t(128) << 20;

  void* take(std::size_t bytes) {
    const int node = current_node();
    std::lock_guard lock(mu_);
    for (auto it = blocks_.rbegin(); it != blocks_.rend(); ++it)
      if (it->bytes == bytes && it->node == node) {
        void* p = it->p;
        total_ -= bytes;
        blocks_.erase(std::next(it).base());
        return p;
      }
    return nullptr;
  }
  void give(void* p, std::size_t bytes) {
    if (bytes > kMaxBytes) {
      std::free(p);
      return;
    }
    const int node = current_node();
    std::vector<void*> evicted;
    {
      std::lock_guard lock(mu_);
      blocks_.push_back({p, bytes, node});
      total_ += bytes;
      while (blocks_.size() > kMaxBlocks || total_ > kMaxBytes) {
        evicted.push_back(blocks_.front().p);
        total_ -= blocks_.front().bytes;
        blocks_.erase(blocks_.begin());
      }
    }
    for (void* e : evicted) std::free(e);
  }

 private:
  static int current_node() {
    unsigned cpu = 0, node = 0;
    return ::getcpu(&cpu, &node) == 0 ? static_cast<int>(node) : -1;
  }
  struct Block {
    void* p;
    std::size_t bytes;
    int node;
  };
  std::mutex mu_;
  std::vector<Block> blocks_;  // oldest first
  std::size_t total_ = 0;
};

// Never destroyed: Buffers in other static objects may be freed after it would be.
HostBlockCache& host_blocks() {
  static auto* cache = new HostBlockCache;
  return *cache;
}

// What aligned_alloc is asked for: 64-byte multiples; large blocks in whole 4 KiB pages.
std::size_t host_block_bytes(std::size_t bytes) {
  const std::size_t b = bytes == 0 ? 1 : bytes;
  if (b >= HostBlockCache::kMinBytes) return (b + 4095) / 4096 * 4096;
  return (b + 63) / 64 * 64;
}

}  // namespace

void Buffer::reset() noexcept {
  if (!data_) return;
  switch (kind_) {
    case MemKind::host:
      if (reusable_) host_blocks().give(data_, host_block_bytes(size_));
      else std::free(data_);
      break;
#if TANDEM_WITH_CUDA
    case MemKind::pinned: cuda::pinned_free(data_); break;
    case MemKind::device:
      if (stream_) cuda::device_free_async(data_, stream_);
      else cuda::device_free(data_);
      break;
#else
    default: break;
#endif
  }
  data_ = nullptr;
  size_ = 0;
}

Status Buffer::allocate(std::size_t bytes, MemKind kind, Buffer& out, int device, int numa_node) {
  Buffer b;
  b.kind_ = kind;
  b.device_ = device;
  b.size_ = bytes;
  switch (kind) {
    case MemKind::host: {
      // 64-byte alignment for full-width vector loads; aligned_alloc needs a multiple.
      const std::size_t rounded = host_block_bytes(bytes);
      b.reusable_ = numa_node < 0 && rounded >= HostBlockCache::kMinBytes;
      if (b.reusable_) b.data_ = host_blocks().take(rounded);
      if (!b.data_) b.data_ = std::aligned_alloc(64, rounded);
      if (!b.data_)
        return {Errc::out_of_memory, "cannot allocate " + std::to_string(bytes) + " bytes of host memory"};
      if (numa_node >= 0) TANDEM_TRY(bind_memory_to_numa_node(b.data_, rounded, numa_node));
      break;
    }
    case MemKind::pinned:
    case MemKind::device:
#if TANDEM_WITH_CUDA
      if (kind == MemKind::pinned)
        TANDEM_TRY(cuda::pinned_malloc(bytes, &b.data_));
      else if (t_alloc_stream) {
        TANDEM_TRY(cuda::device_malloc_async(bytes, device, t_alloc_stream, &b.data_));
        b.stream_ = t_alloc_stream;
      } else {
        TANDEM_TRY(cuda::device_malloc(bytes, device, &b.data_));
      }
      break;
#else
      return {Errc::unsupported, "cannot allocate GPU or pinned memory: " + cuda_status()};
#endif
  }
  out = std::move(b);
  return {};
}

// ---------------------------------------------------------------------------

Status Tensor::create(DType dtype, std::span<const std::int64_t> shape, Device device, Tensor& out) {
  if (shape.size() > static_cast<std::size_t>(kMaxDims))
    return {Errc::invalid_argument, "arrays of more than " + std::to_string(kMaxDims) + " dimensions are not supported"};
  std::size_t n = 1;
  for (auto d : shape) {
    if (d < 0) return {Errc::invalid_argument, "negative dimension in tensor shape"};
    n *= static_cast<std::size_t>(d);
  }
  Tensor t;
  TANDEM_TRY(Buffer::allocate(n * dtype_size(dtype), device.is_cuda() ? MemKind::device : MemKind::host,
                              t.buffer_, device.index));
  t.view_ = View::array(t.buffer_.data(), dtype, shape, device);
  out = std::move(t);
  return {};
}

Status Tensor::create_image(DType dtype, std::int64_t h, std::int64_t w, std::int64_t c, Device device,
                            Tensor& out) {
  if (c == 1) return create(dtype, {h, w}, device, out);
  return create(dtype, {h, w, c}, device, out);
}

Status Tensor::create_like(const View& like, Device device, Tensor& out) {
  return create(like.dtype, std::span<const std::int64_t>(like.shape.data(), std::size_t(like.ndim)), device, out);
}

// ---------------------------------------------------------------------------

namespace {
// Views are copied as a stack of rows: every dim but the first is packed.
bool rows_packed(const View& v, std::int64_t& rows, std::size_t& row_bytes) {
  if (v.ndim == 0) {
    rows = 1;
    row_bytes = v.elem_size();
    return true;
  }
  View inner = v;
  inner.strides[0] = static_cast<std::int64_t>(v.elem_size());
  for (int i = 1; i < v.ndim; ++i) inner.strides[0] *= v.shape[i];
  if (!inner.is_contiguous()) return false;
  rows = v.shape[0];
  row_bytes = static_cast<std::size_t>(inner.strides[0]);
  return true;
}
}  // namespace

Status copy(const View& src, const View& dst, void* stream) {
  if (src.dtype != dst.dtype || src.ndim != dst.ndim)
    return {Errc::invalid_argument, "copy: " + src.describe() + " does not match " + dst.describe()};
  for (int i = 0; i < src.ndim; ++i)
    if (src.shape[i] != dst.shape[i])
      return {Errc::invalid_argument, "copy: " + src.describe() + " does not match " + dst.describe()};
  std::int64_t rows = 0;
  std::size_t row_bytes = 0, row_bytes_dst = 0;
  std::int64_t rows_dst = 0;
  if (!rows_packed(src, rows, row_bytes) || !rows_packed(dst, rows_dst, row_bytes_dst))
    return {Errc::unsupported, "copy: only views with packed rows can be copied"};
  const std::size_t sp = src.ndim ? std::size_t(src.strides[0]) : row_bytes;
  const std::size_t dp = dst.ndim ? std::size_t(dst.strides[0]) : row_bytes;
  if (src.device.is_cpu() && dst.device.is_cpu()) {
    for (std::int64_t r = 0; r < rows; ++r)
      std::memcpy(static_cast<char*>(dst.data) + r * dp, static_cast<const char*>(src.data) + r * sp, row_bytes);
    return {};
  }
#if TANDEM_WITH_CUDA
  if (!stream) return {Errc::invalid_argument, "copy: a CUDA stream is required for copies involving the GPU"};
  // Packed on both sides (or one row): one linear copy. A 1-D array would
  // otherwise go as n rows of one element, and cudaMemcpy2D refuses pitches
  // above cudaDevAttrMaxPitch (2^31 - 1 bytes: rows longer than 2 GiB) and
  // pitches below the row width (a one-row view's unused stride).
  if (rows <= 1 || (sp == row_bytes && dp == row_bytes))
    return cuda::memcpy_1d(dst.data, src.data, row_bytes * std::size_t(rows), stream);
  return cuda::memcpy_2d(dst.data, dp, src.data, sp, row_bytes, std::size_t(rows), stream);
#else
  return {Errc::unsupported, "copy: " + cuda_status()};
#endif
}

}  // namespace tandem
