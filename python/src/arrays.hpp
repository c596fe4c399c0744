// NumPy and DLPack arrays as tandem views and back, errors as Python
// exceptions, and where a call runs: the pieces every binding shares.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <functional>
#include <optional>
#include <string>

#include "tandem/device.hpp"
#include "tandem/op_table.hpp"
#include "tandem/tensor.hpp"

namespace tandem::python {

namespace nb = nanobind;

/// Raises the Python exception that fits `status` (ValueError for a bad
/// argument, TypeError for an unsupported dtype, OSError for a file, ...).
[[noreturn]] void raise(const Status& status);
/// Raises when `status` is an error.
inline void check(const Status& status) {
  if (!status.ok()) raise(status);
}

/// What an array argument became: a view of its memory (no copy when its
/// layout allows), the object that keeps that memory alive, and the array
/// library it came from (results on a GPU go back to the same one).
struct Input {
  View view;
  nb::ndarray<nb::ro> array;  ///< holds the memory `view` points to
  std::string framework;      ///< a GPU array's library ("cupy", "torch"), else empty
};

/// What layout the callee needs.
enum class Need : unsigned char {
  image,       ///< H x W [x C] with packed pixels; rows may be strided
  contiguous,  ///< C order
};

/// `obj` as a view: anything NumPy or DLPack (`__dlpack__`) gives, else
/// numpy.asarray(obj). A view that does not meet `need` is copied to C order.
/// Dtypes outside u8/u16/i32/i64/f32/f64 raise TypeError, naming `accepts`.
Input as_input(nb::handle obj, Need need, const char* what, const std::string& accepts);

/// A result as a Python array that owns `result`'s memory (no copy): NumPy on
/// the host; on a GPU, an array of `framework` (CuPy, PyTorch) or nanobind's
/// DLPack-capable ndarray.
nb::object to_python(Tensor&& result, const std::string& framework = {});

/// How a call runs: where, with how many CPU threads, on which stream.
struct Placement {
  Exec exec;
  const Stream* stream = nullptr;  ///< the stream behind exec.stream (GPU), else null
  bool upload = false;             ///< host input, GPU compute: copy in and the result back
};

/// `device` ("cpu", "gpu", "auto") for an input on `where`; `threads` None
/// shares the cores among the calls running at the same time. Streams are
/// the calling thread's own (one per GPU, reused).
Placement place(const std::string& device, const std::optional<int>& threads, Device where, int active_calls);

/// Counts the calls running now (for `threads=None`).
class ActiveCall {
 public:
  ActiveCall();
  ~ActiveCall();
  ActiveCall(const ActiveCall&) = delete;
  ActiveCall& operator=(const ActiveCall&) = delete;
  [[nodiscard]] int count() const noexcept { return count_; }

 private:
  int count_;
};

using Work = std::function<Status(const View& src, Tensor& dst, const Exec& exec)>;

/// Runs `work` on `input` as `placement` says, with the GIL released: on a
/// GPU, waits for the stream; with `upload`, copies the input to the GPU and
/// the result back. Returns the result where the input lives, or on the host
/// when `result_on_host` (a reduction's few values).
Tensor run_placed(const Input& input, const Placement& placement, const Work& work, bool result_on_host);

/// A finished op or pipeline result in Python: {name: value} for a reduction
/// (its outputs, e.g. stats; `result` on the host), an array otherwise.
nb::object result_to_python(const OpSpec& last, Tensor&& result, const Input& input);

}  // namespace tandem::python
