#include "tandem/tensor.hpp"

#include <sched.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <utility>
#include <vector>

#include "host/core/device_backend.hpp"
#include "host/core/shape.hpp"

namespace tandem {

View View::array(void* data, DType dtype, std::span<const std::int64_t> shape, Device device) {
  View v;
  v.data = data;
  v.dtype = dtype;
  v.device = device;
  v.ndim = static_cast<int>(shape.size());
  // Shapes from files and callers are checked (detail::shape_extent) before they
  // get here; one that was not cannot overflow here either: strides saturate.
  std::int64_t stride = static_cast<std::int64_t>(dtype_size(dtype));
  for (int i = v.ndim - 1; i >= 0; --i) {
    v.shape[i] = shape[i];
    v.strides[i] = stride;
    if (!detail::checked_mul(stride, shape[i], stride)) stride = INT64_MAX;
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
  for (int i = 0; i < ndim; ++i)
    if (shape[i] == 0) return 0;  // before any product: (2^62, 4, 0) holds nothing
  std::int64_t n = 1;
  for (int i = 0; i < ndim; ++i)
    if (!detail::checked_mul(n, shape[i], n)) return INT64_MAX;  // an unchecked view; saturate
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

Status Tensor::create(DType dtype, std::span<const std::int64_t> shape, Device device, Tensor& out) {
  if (shape.size() > static_cast<std::size_t>(kMaxDims))
    return {Errc::invalid_argument, "arrays of more than " + std::to_string(kMaxDims) + " dimensions are not supported"};
  for (auto d : shape)
    if (d < 0) return {Errc::invalid_argument, "negative dimension in tensor shape"};
  detail::ShapeExtent extent;
  if (!detail::shape_extent(shape, dtype_size(dtype), extent)) {
    View described;  // for the message only
    described.dtype = dtype;
    described.ndim = static_cast<int>(shape.size());
    for (std::size_t i = 0; i < shape.size(); ++i) described.shape[i] = shape[i];
    described.device = device;
    return {Errc::out_of_memory, "a tensor of " + described.describe() + " would span more than 2^63 bytes"};
  }
  Tensor t;
  TANDEM_TRY(Buffer::allocate(std::size_t(extent.bytes), device.is_cpu() ? MemKind::host : MemKind::device,
                              t.buffer_, device));
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
  for (int i = 1; i < v.ndim; ++i)
    if (!detail::checked_mul(inner.strides[0], v.shape[i], inner.strides[0])) return false;
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
  // The non-CPU side's backend does the copy (both sides on one kind of device).
  const Device dev = src.device.is_cpu() ? dst.device : src.device;
  if (!dst.device.is_cpu() && dst.device.kind != dev.kind)
    return {Errc::unsupported, "copy: from " + src.device.str() + " to " + dst.device.str() + " is not supported"};
  detail::DeviceBackend* be = detail::backend_for(dev);
  if (!be) return {Errc::unsupported, "copy: " + cuda_status()};
  if (dev.is_cuda() && !stream)
    return {Errc::invalid_argument, "copy: a CUDA stream is required for copies involving the GPU"};
  return be->memcpy_2d(dst.data, dp, src.data, sp, row_bytes, std::size_t(rows), stream);
}

}  // namespace tandem
