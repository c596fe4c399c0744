// NumPy / DLPack arrays <-> tandem views, Python exceptions, placement.
#include "python/src/arrays.hpp"

#include <nanobind/stl/string.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <map>

namespace tandem::python {

namespace {

std::atomic<int> g_active_calls{0};

PyObject* exception_type(Errc code) {
  switch (code) {
    case Errc::invalid_argument:
    case Errc::format_error: return PyExc_ValueError;
    case Errc::unsupported: return PyExc_TypeError;
    case Errc::out_of_memory: return PyExc_MemoryError;
    case Errc::io_error: return PyExc_OSError;
    case Errc::cancelled: return PyExc_KeyboardInterrupt;
    default: return PyExc_RuntimeError;
  }
}

std::optional<DType> dtype_from(nb::dlpack::dtype t) {
  if (t.lanes != 1) return std::nullopt;
  const auto code = static_cast<nb::dlpack::dtype_code>(t.code);
  if (code == nb::dlpack::dtype_code::UInt && t.bits == 8) return DType::u8;
  if (code == nb::dlpack::dtype_code::UInt && t.bits == 16) return DType::u16;
  if (code == nb::dlpack::dtype_code::Int && t.bits == 32) return DType::i32;
  if (code == nb::dlpack::dtype_code::Int && t.bits == 64) return DType::i64;
  if (code == nb::dlpack::dtype_code::Float && t.bits == 32) return DType::f32;
  if (code == nb::dlpack::dtype_code::Float && t.bits == 64) return DType::f64;
  return std::nullopt;
}

// The type's own module, e.g. "cupy" for cupy.ndarray, "torch" for torch.Tensor.
std::string library_of(nb::handle obj) {
  nb::object module = nb::getattr(obj.type(), "__module__", nb::none());
  if (!nb::isinstance<nb::str>(module)) return {};
  std::string name = nb::cast<std::string>(module);
  return name.substr(0, name.find('.'));
}

nb::ndarray<nb::ro> import_array(nb::handle obj, const char* what) {
  nb::ndarray<nb::ro> arr;
  if (nb::try_cast(obj, arr, false)) return arr;
  // Lists, scalars, objects with __array__ only: as NumPy would take them.
  nb::object converted;
  try {
    converted = nb::module_::import_("numpy").attr("asarray")(obj);
  } catch (nb::python_error& e) {
    e.discard_as_unraisable("tandem: numpy.asarray");
  }
  if (!converted.is_valid() || !nb::try_cast(converted, arr, false))
    throw nb::type_error((std::string(what) + ": expected an array (NumPy, or a GPU array with __dlpack__); got " +
                          nb::cast<std::string>(nb::str(obj.type().attr("__name__"))))
                             .c_str());
  return arr;
}

View view_of(const nb::ndarray<nb::ro>& arr, DType dtype) {
  View v;
  v.data = const_cast<void*>(arr.data());  // tandem only reads its inputs
  v.dtype = dtype;
  v.ndim = int(arr.ndim());
  for (int i = 0; i < v.ndim; ++i) {
    v.shape[std::size_t(i)] = std::int64_t(arr.shape(std::size_t(i)));
    v.strides[std::size_t(i)] = arr.stride(std::size_t(i)) * std::int64_t(dtype_size(dtype));
  }
  return v;
}

Stream& thread_stream(Device device) {
  // Never destroyed: a CUDA stream must not outlive the runtime at exit.
  thread_local auto* streams = new std::map<int, Stream>;
  Stream& s = (*streams)[device.index];
  if (!s.handle()) check(Stream::create(device, s));
  return s;
}

int cores() {
  static const int n = std::max(1, omp_get_max_threads());
  return n;
}

}  // namespace

void raise(const Status& status) {
  PyErr_SetString(exception_type(status.code()), status.message().c_str());
  throw nb::python_error();
}

Input as_input(nb::handle obj, Need need, const char* what, const std::string& accepts) {
  Input in;
  in.array = import_array(obj, what);
  const std::optional<DType> dtype = dtype_from(in.array.dtype());
  const nb::object np_dtype = nb::getattr(obj, "dtype", nb::none());
  if (!dtype)
    throw nb::type_error((std::string(what) + " does not accept " +
                          (np_dtype.is_none() ? std::string("this dtype") : nb::cast<std::string>(nb::str(np_dtype))) +
                          " arrays (accepts " + accepts + ")")
                             .c_str());
  if (in.array.ndim() > std::size_t(kMaxDims))
    throw nb::value_error((std::string(what) + ": arrays of more than " + std::to_string(kMaxDims) +
                           " dimensions are not supported")
                              .c_str());
  const int type = in.array.device_type();
  if (type == nb::device::cuda::value) {
    in.framework = library_of(obj);
  } else if (type != nb::device::cpu::value && type != nb::device::cuda_host::value) {
    throw nb::type_error((std::string(what) + ": arrays on this device (DLPack device type " + std::to_string(type) +
                          ") are not supported; host and CUDA arrays are")
                             .c_str());
  }
  in.view = view_of(in.array, *dtype);
  if (type == nb::device::cuda::value) in.view.device = Device::cuda(in.array.device_id());
  const bool fits = need == Need::image ? (in.view.ndim < 2 || in.view.ndim > 3 || in.view.is_image())
                                        : in.view.is_contiguous();
  if (fits) return in;
  if (!in.view.device.is_cpu())
    throw nb::value_error((std::string(what) + ": needs a C-contiguous GPU array; got strides that are not").c_str());
  // Strides tandem cannot follow (pixels not packed, negative, Fortran order): one copy in C order.
  nb::object copy = nb::module_::import_("numpy").attr("ascontiguousarray")(obj);
  in.array = import_array(copy, what);
  in.view = view_of(in.array, *dtype);
  return in;
}

nb::object to_python(Tensor&& result, const std::string& framework) {
  auto* owned = new Tensor(std::move(result));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<Tensor*>(p); });
  const View& v = owned->view();
  std::size_t shape[kMaxDims];
  std::int64_t strides[kMaxDims];
  const auto es = std::int64_t(v.elem_size());
  for (int i = 0; i < v.ndim; ++i) {
    shape[i] = std::size_t(v.shape[std::size_t(i)]);
    strides[i] = v.strides[std::size_t(i)] / es;
  }
  const nb::dlpack::dtype dt = visit_dtype(v.dtype, [](auto t) { return nb::dtype<decltype(t)>(); });
  if (v.device.is_cpu())
    return nb::ndarray<nb::numpy>(v.data, std::size_t(v.ndim), shape, owner, strides, dt, nb::device::cpu::value)
        .cast();
  nb::ndarray<> on_gpu(v.data, std::size_t(v.ndim), shape, owner, strides, dt, nb::device::cuda::value,
                       v.device.index);
  if (framework == "cupy") return nb::ndarray<nb::cupy>(on_gpu).cast();
  if (framework == "torch") return nb::ndarray<nb::pytorch>(on_gpu).cast();
  return on_gpu.cast();
}

ActiveCall::ActiveCall() : count_(g_active_calls.fetch_add(1, std::memory_order_relaxed) + 1) {}
ActiveCall::~ActiveCall() { g_active_calls.fetch_sub(1, std::memory_order_relaxed); }

Placement place(const std::string& device, const std::optional<int>& threads, Device where, int active_calls) {
  if (threads && *threads < 0)
    throw nb::value_error(("threads must be >= 0 (0 = every core); got " + std::to_string(*threads)).c_str());
  Placement p;
  const int n = threads ? *threads : std::max(1, cores() / std::max(1, active_calls));
  const bool on_gpu = where.is_cuda();
  if (device == "cpu") {
    if (on_gpu)
      throw nb::value_error(("device='cpu' needs a host array; this one is on " + where.str()).c_str());
    p.exec = Exec::cpu(n);
  } else if (device == "auto" || device == "gpu") {
    if (on_gpu) {
      p.stream = &thread_stream(where);
    } else if (device == "gpu") {
      if (cuda_device_count() == 0) raise({Errc::no_device, "device='gpu': " + cuda_status()});
      p.stream = &thread_stream(Device::cuda(0));
      p.upload = true;
    }
    p.exec = p.stream ? Exec::on(*p.stream) : Exec::cpu(n);
    p.exec.threads = n;
  } else {
    throw nb::value_error(("device must be 'cpu', 'gpu' or 'auto'; got '" + device + "'").c_str());
  }
  return p;
}

Tensor run_placed(const Input& input, const Placement& placement, const Work& work, bool result_on_host) {
  Tensor result;
  Status s;
  {
    nb::gil_scoped_release unlocked;
    const Exec& exec = placement.exec;
    s = [&]() -> Status {
      Tensor in, out;
      const View* src = &input.view;
      if (placement.upload) {
        TANDEM_TRY(Tensor::create_like(input.view, exec.device, in));
        TANDEM_TRY(copy(input.view, in.view(), exec.stream));
        src = &in.view();
      }
      TANDEM_TRY(work(*src, out, exec));
      if ((placement.upload || result_on_host) && !out.view().device.is_cpu()) {
        Tensor host;
        TANDEM_TRY(Tensor::create_like(out.view(), Device::cpu(), host));
        TANDEM_TRY(copy(out.view(), host.view(), exec.stream));
        out = std::move(host);
      }
      if (placement.stream) TANDEM_TRY(placement.stream->synchronize());
      result = std::move(out);
      return {};
    }();
  }
  check(s);
  return result;
}

nb::object result_to_python(const OpSpec& last, Tensor&& result, const Input& input) {
  if (last.kind != OpKind::reduction) return to_python(std::move(result), input.framework);
  nb::dict values;
  const View& v = result.view();  // on the host: run_placed brought it there
  for (std::size_t i = 0; i < last.outputs.size() && std::int64_t(i) < v.numel(); ++i)
    values[nb::str(last.outputs[i].data(), last.outputs[i].size())] = v.ptr<const double>()[i];
  return values;
}

}  // namespace tandem::python
