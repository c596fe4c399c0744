/// @file tensor.hpp
/// @brief Views of images and arrays, owning buffers, and tensors (buffer + view).
///
/// An image is a view of rank 2 (H x W, one channel) or 3 (H x W x C, channels
/// interleaved). Rows may be padded (row stride >= W*C*elem); pixels and
/// channels are packed. Arrays are N-d, C order.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>

#include "tandem/device.hpp"
#include "tandem/dtype.hpp"
#include "tandem/status.hpp"
#include "tandem/unique.hpp"

#pragma GCC visibility push(default)  // the exported API (the library builds with hidden visibility)

namespace tandem {

inline constexpr int kMaxDims = 8;

/// @brief A non-owning view: pointer, dtype, shape, strides (in bytes), device.
struct View {
  void* data = nullptr;
  DType dtype = DType::u8;
  int ndim = 0;
  std::array<std::int64_t, kMaxDims> shape{};
  std::array<std::int64_t, kMaxDims> strides{};  ///< bytes
  Device device = Device::cpu();

  /// @brief A C-order contiguous view of `shape`.
  static View array(void* data, DType dtype, std::span<const std::int64_t> shape,
                    Device device = Device::cpu());
  static View array(void* data, DType dtype, std::initializer_list<std::int64_t> shape,
                    Device device = Device::cpu()) {
    return array(data, dtype, std::span<const std::int64_t>(shape.begin(), shape.size()), device);
  }
  /// @brief An H x W x C image (rank 2 when channels == 1). `row_stride` in bytes, 0 = packed.
  static View image(void* data, DType dtype, std::int64_t height, std::int64_t width,
                    std::int64_t channels, Device device = Device::cpu(),
                    std::int64_t row_stride = 0);

  [[nodiscard]] std::int64_t numel() const noexcept;
  [[nodiscard]] std::size_t elem_size() const noexcept { return dtype_size(dtype); }
  /// @brief Bytes spanned by the elements when contiguous (numel * elem_size).
  [[nodiscard]] std::size_t nbytes() const noexcept { return std::size_t(numel()) * elem_size(); }
  [[nodiscard]] bool is_contiguous() const noexcept;

  // Image interpretation (valid when is_image()).
  [[nodiscard]] bool is_image() const noexcept;
  [[nodiscard]] std::int64_t height() const noexcept { return ndim >= 1 ? shape[0] : 0; }
  [[nodiscard]] std::int64_t width() const noexcept { return ndim >= 2 ? shape[1] : 1; }
  [[nodiscard]] std::int64_t channels() const noexcept { return ndim >= 3 ? shape[2] : 1; }
  [[nodiscard]] std::int64_t row_stride() const noexcept { return strides[0]; }

  template <class T>
  [[nodiscard]] T* row(std::int64_t y) const noexcept {
    return reinterpret_cast<T*>(static_cast<char*>(data) + y * strides[0]);
  }
  template <class T>
  [[nodiscard]] T* ptr() const noexcept { return static_cast<T*>(data); }

  /// @brief "u8 512x512x3 on cpu" — for messages.
  [[nodiscard]] std::string describe() const;
  /// @brief Same dtype, shape and device (strides may differ).
  [[nodiscard]] bool same_layout(const View& other) const noexcept;
};

/// @brief Where a Buffer's memory comes from.
enum class MemKind : unsigned char {
  host,    ///< pageable host memory, 64-byte aligned (on `numa_node` when >= 0); large
           ///< blocks are reused (see Buffer::allocate)
  pinned,  ///< page-locked host memory (cudaHostAlloc), for fast H2D/D2H copies
  device,  ///< device memory (CUDA, or the sim device of the tests)
};

/// @brief An owning, move-only block of memory (RAII).
class Buffer {
 public:
  /// @brief Allocates `bytes` of `kind` memory. For MemKind::device, `device`
  ///        is the CUDA ordinal; for host memory, `numa_node` >= 0 binds the pages.
  ///        Unbound host blocks of 1 MiB or more are reused: when freed they go
  ///        to a small process-wide cache (at most 8 blocks, 128 MiB) and serve
  ///        the next request of the same size from a CPU of the same NUMA node,
  ///        so a result buffer does not page-fault all its memory afresh.
  static Status allocate(std::size_t bytes, MemKind kind, Buffer& out, int device = 0,
                         int numa_node = -1);
  /// @brief The same, with the device named: pinned and device memory come from
  ///        `device`'s backend (CUDA or sim); host memory ignores it.
  static Status allocate(std::size_t bytes, MemKind kind, Buffer& out, Device device, int numa_node = -1);

  [[nodiscard]] void* data() const noexcept { return m_->data; }
  [[nodiscard]] std::size_t size() const noexcept { return m_->size; }
  [[nodiscard]] MemKind kind() const noexcept { return m_->kind; }
  /// @brief The device ordinal of pinned and device memory.
  [[nodiscard]] int device() const noexcept { return m_->device.index; }
  /// @brief The device whose backend the memory came from (Device::cpu() for host memory).
  [[nodiscard]] Device location() const noexcept { return m_->device; }
  void reset() noexcept;

 private:
  struct State {
    void* data = nullptr;
    std::size_t size = 0;
    MemKind kind = MemKind::host;
    Device device = Device::cpu();
    void* stream = nullptr;  ///< device memory allocated stream-ordered is freed on this stream
    bool reusable = false;   ///< a large unbound host block: goes back to the block cache
  };
  struct Free {
    void operator()(State& m) const noexcept;
  };
  Unique<State, Free> m_;
};

/// @brief While alive, device Buffers allocated by this thread are stream-ordered:
///        cudaMallocAsync on `stream` and cudaFreeAsync on the same stream when
///        released, so per-item allocations never synchronize the device (a plain
///        cudaFree would). The GPU workers of the pipeline hold one per stream.
///        Only allocations on the stream's kind of device use it.
class StreamAllocScope {
 public:
  /// @brief `stream` is a cudaStream_t.
  explicit StreamAllocScope(void* stream) noexcept;
  explicit StreamAllocScope(const Stream& stream) noexcept;
  /// @brief Stream-ordered on exec.stream of exec.device (CUDA or sim); no effect for the CPU.
  explicit StreamAllocScope(const Exec& exec) noexcept;
  ~StreamAllocScope();
  StreamAllocScope(const StreamAllocScope&) = delete;
  StreamAllocScope& operator=(const StreamAllocScope&) = delete;

 private:
  void* previous_;
  Device::Kind previous_kind_;
};

/// @brief An owning buffer with a contiguous view of it.
class Tensor {
 public:
  Tensor() = default;
  /// @brief Allocates a C-order tensor of `shape` on `device` (host memory for the CPU).
  static Status create(DType dtype, std::span<const std::int64_t> shape, Device device,
                       Tensor& out);
  static Status create(DType dtype, std::initializer_list<std::int64_t> shape, Device device,
                       Tensor& out) {
    return create(dtype, std::span<const std::int64_t>(shape.begin(), shape.size()), device, out);
  }
  /// @brief Allocates an H x W x C image (rank 2 when channels == 1), packed rows.
  static Status create_image(DType dtype, std::int64_t height, std::int64_t width,
                             std::int64_t channels, Device device, Tensor& out);
  /// @brief Allocates a tensor with the same dtype and shape as `like` on `device`.
  static Status create_like(const View& like, Device device, Tensor& out);

  [[nodiscard]] const View& view() const noexcept { return view_; }
  [[nodiscard]] View& view() noexcept { return view_; }
  [[nodiscard]] bool empty() const noexcept { return buffer_.data() == nullptr && view_.numel() == 0; }
  Buffer& buffer() noexcept { return buffer_; }

 private:
  Buffer buffer_;
  View view_;
};

/// @brief Copies between views of equal dtype and shape on any devices
///        (host<->device queued on `stream`, which belongs to the non-CPU side;
///        synchronous on the host, and for a sim device without a stream).
Status copy(const View& src, const View& dst, void* stream = nullptr);

}  // namespace tandem

#pragma GCC visibility pop
