// matmul: validation, dispatch, the OpenBLAS path and the op-table entry
// (which loads B from the `with` .npy file).
#include "tandem/ops/matmul.hpp"

#include <cblas.h>
#include <omp.h>

#include <climits>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "host/core/parallel.hpp"
#include "kernels/matmul.cuh"
#include "tandem/config.hpp"
#include "tandem/io/npy.hpp"
#include "host/ops/dispatch.hpp"
#include "host/ops/op_decl.hpp"
#include "tandem/op_table.hpp"

namespace tandem {
namespace {

std::string shape_of(const View& v) {
  std::string s;
  for (int i = 0; i < v.ndim; ++i) {
    if (i) s += 'x';
    s += std::to_string(v.shape[i]);
  }
  return v.ndim ? s : "scalar";
}

/// Unit column stride and non-overlapping rows (BLAS's leading-dimension model).
Status check_layout(const View& v, const char* name) {
  const auto es = static_cast<std::int64_t>(v.elem_size());
  if (v.numel() == 0) return {};
  const bool cols_ok = v.shape[1] <= 1 || v.strides[1] == es;
  const bool rows_ok = v.shape[0] <= 1 || (v.strides[0] > 0 && v.strides[0] % es == 0 && v.strides[0] >= v.shape[1] * es);
  if (cols_ok && rows_ok) return {};
  return {Errc::unsupported, std::string("matmul: ") + name + " (" + v.describe() + ", strides " +
                                 std::to_string(v.strides[0]) + "," + std::to_string(v.strides[1]) +
                                 " bytes) must have unit column stride and rows that do not overlap"};
}

/// [first, last) bytes a validated 2-D view touches.
std::pair<const char*, const char*> byte_range(const View& v) {
  const char* p = static_cast<const char*>(v.data);
  if (v.numel() == 0) return {p, p};
  return {p, p + (v.shape[0] - 1) * v.strides[0] + v.shape[1] * std::int64_t(v.elem_size())};
}

bool overlaps(const View& x, const View& y) {
  const auto [x0, x1] = byte_range(x);
  const auto [y0, y1] = byte_range(y);
  return x0 < y1 && y0 < x1;
}

std::int64_t leading_dim(const View& v) {
  if (v.shape[0] <= 1) return std::max<std::int64_t>(v.shape[1], 1);
  return v.strides[0] / std::int64_t(v.elem_size());
}

/// OpenBLAS's thread count is process-wide (pthreads build); change it only
/// when it differs, under a lock so two setters do not interleave.
void set_blas_threads(int n) {
  static std::mutex mu;
  const std::lock_guard<std::mutex> lock(mu);
  if (openblas_get_num_threads() != n) openblas_set_num_threads(n);
}

int blas_threads(const Exec& exec) {
  if (exec.threads > 0) return exec.threads;
  if (omp_in_parallel()) return 1;  // one of a team of callers: don't multiply the threads
  return cpu_threads(exec);
}

/// A packed f64 copy of an f32 matrix (exact).
std::unique_ptr<double[]> widen(const View& v, int threads) {
  const std::int64_t rows = v.shape[0], cols = v.shape[1];
  std::unique_ptr<double[]> out(new (std::nothrow) double[std::size_t(std::max<std::int64_t>(rows * cols, 1))]);
  if (!out) return out;
  double* o = out.get();
#pragma omp parallel for num_threads(threads) schedule(static) if (rows * cols > (1 << 16))
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* src = reinterpret_cast<const float*>(static_cast<const char*>(v.data) + r * v.strides[0]);
    for (std::int64_t x = 0; x < cols; ++x) o[r * cols + x] = src[x];
  }
  return out;
}

Status matmul_cpu(const View& a, const View& b, const View& c, const Exec& exec) {
  const std::int64_t m = a.shape[0], k = a.shape[1], n = b.shape[1];
  if (m == 0 || n == 0) return {};
  if (k == 0) {  // an empty sum: zeros (BLAS would reject lda = 0)
    for (std::int64_t r = 0; r < m; ++r)
      std::memset(static_cast<char*>(c.data) + r * c.strides[0], 0, std::size_t(n) * c.elem_size());
    return {};
  }
  std::int64_t lda = leading_dim(a), ldb = leading_dim(b);
  const std::int64_t ldc = leading_dim(c);
  for (std::int64_t v : {m, n, k, lda, ldb, ldc})
    if (v > INT_MAX)
      return {Errc::unsupported, "matmul: " + shape_of(a) + " @ " + shape_of(b) +
                                     " is too large for OpenBLAS's 32-bit dimensions on the CPU"};
  const int threads = blas_threads(exec);
  set_blas_threads(threads);
  if (c.dtype == DType::f32) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(m), int(n), int(k), 1.0f,
                static_cast<const float*>(a.data), int(lda), static_cast<const float*>(b.data), int(ldb), 0.0f,
                static_cast<float*>(c.data), int(ldc));
    return {};
  }
  std::unique_ptr<double[]> wide_a, wide_b;
  const double* pa = static_cast<const double*>(a.data);
  const double* pb = static_cast<const double*>(b.data);
  if (a.dtype == DType::f32) {
    wide_a = widen(a, threads);
    if (!wide_a) return {Errc::out_of_memory, "matmul: cannot allocate an f64 copy of A (" + a.describe() + ")"};
    pa = wide_a.get();
    lda = k;
  }
  if (b.dtype == DType::f32) {
    wide_b = widen(b, threads);
    if (!wide_b) return {Errc::out_of_memory, "matmul: cannot allocate an f64 copy of B (" + b.describe() + ")"};
    pb = wide_b.get();
    ldb = n;
  }
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(m), int(n), int(k), 1.0, pa, int(lda), pb, int(ldb),
              0.0, static_cast<double*>(c.data), int(ldc));
  return {};
}

// The dispatch signature: (src, dst, parameter) = (A, C, B).
Status matmul_on_cpu(const View& a, const View& c, const View& b, const Exec& exec) { return matmul_cpu(a, b, c, exec); }

}  // namespace

Status matmul(const View& a, const View& b, const View& c, const MatmulParams& p, const Exec& exec) {
  for (const auto& [v, name] : {std::pair{&a, "A"}, std::pair{&b, "B"}})
    if (!dtype_is_float(v->dtype))
      return {Errc::unsupported, std::string("matmul: ") + name + " is " + dtype_name(v->dtype) +
                                     "; only f32 and f64 matrices are supported"};
  if (a.ndim != 2 || b.ndim != 2)
    return {Errc::invalid_argument, "matmul: A and B must be 2-D matrices; got A " + a.describe() + " and B " +
                                        b.describe()};
  if (a.shape[1] != b.shape[0])
    return {Errc::invalid_argument, "matmul: shapes " + shape_of(a) + " (A) and " + shape_of(b) +
                                        " (B) do not match: A has " + std::to_string(a.shape[1]) +
                                        " columns but B has " + std::to_string(b.shape[0]) + " rows"};
  const DType out_type = matmul_dtype(a.dtype, b.dtype);
  if (c.dtype != out_type || c.ndim != 2 || c.shape[0] != a.shape[0] || c.shape[1] != b.shape[1])
    return {Errc::invalid_argument, "matmul: C must be " + std::string(dtype_name(out_type)) + " " +
                                        std::to_string(a.shape[0]) + "x" + std::to_string(b.shape[1]) + " for " +
                                        shape_of(a) + " @ " + shape_of(b) + "; got " + c.describe()};
  for (const auto& [v, name] : {std::pair{&a, "A"}, std::pair{&b, "B"}, std::pair{&c, "C"}}) {
    if (!(v->device == exec.device))
      return {Errc::invalid_argument, std::string("matmul: ") + name + " is on " + v->device.str() +
                                          " but the op runs on " + exec.device.str()};
    if (v->numel() > 0 && !v->data) return {Errc::invalid_argument, std::string("matmul: ") + name + " has no data"};
    TANDEM_TRY(check_layout(*v, name));
  }
  if (overlaps(c, a) || overlaps(c, b))
    return {Errc::invalid_argument, "matmul: C must not overlap A or B"};
  if (exec.device.is_cuda()) {
    if (!exec.stream)
      return {Errc::invalid_argument, "matmul: a CUDA stream is required to run on " + exec.device.str()};
  }
  // B rides along as the op's parameter, so a sim launch holds a copy of its view.
  return detail::on_device("matmul", a, c, b, exec, matmul_on_cpu,
                           [&](auto stream) { return cuda::matmul(a, b, c, p.allow_tf32, stream); });
}

Status matmul(const View& a, const View& b, Tensor& c, const MatmulParams& p, const Exec& exec) {
  if (a.ndim != 2 || b.ndim != 2 || !dtype_is_float(a.dtype) || !dtype_is_float(b.dtype))
    return matmul(a, b, View{}, p, exec);  // for the error message
  Tensor out;
  TANDEM_TRY(Tensor::create(matmul_dtype(a.dtype, b.dtype), {a.shape[0], b.shape[1]}, exec.device, out));
  TANDEM_TRY(matmul(a, b, out.view(), p, exec));
  c = std::move(out);
  return {};
}

namespace {

/// Integer B files are widened to f64 (exact up to 2^53), so the product is f64.
Status widen_integer_b(Tensor& b) {
  const View& v = b.view();
  if (dtype_is_float(v.dtype)) return {};
  Tensor wide;
  TANDEM_TRY(Tensor::create(DType::f64, std::span<const std::int64_t>(v.shape.data(), std::size_t(v.ndim)),
                            Device::cpu(), wide));
  double* out = wide.view().ptr<double>();
  const std::int64_t n = v.numel();
  visit_dtype(v.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* in = v.ptr<T>();
    for (std::int64_t i = 0; i < n; ++i) out[i] = static_cast<double>(in[i]);
  });
  b = std::move(wide);
  return {};
}

// What a pipeline stage gives matmul: B from a file, and the TF32 switch.
struct MatmulStage {
  LoadedFile with;
  bool tf32 = false;
};

// Reads B (integers widened to f64), once per pipeline: parse_args calls it.
// B given in memory (f.tensor set, e.g. a NumPy array) is only widened, into
// a copy when it is an integer matrix.
Status open_b(LoadedFile& f) {
  auto b = std::make_shared<Tensor>();
  if (f.tensor) {
    if (!f.tensor->view().device.is_cpu() || !dtype_is_integer(f.tensor->view().dtype)) return {};
    TANDEM_TRY(Tensor::create_like(f.tensor->view(), Device::cpu(), *b));
    TANDEM_TRY(copy(f.tensor->view(), b->view()));
  } else if (Status s = io::read_npy(f.path, *b); !s.ok()) {
    return {s.code(), "cannot load B from '" + f.path + "': " + s.message()};
  }
  TANDEM_TRY(widen_integer_b(*b));
  f.tensor = std::move(b);
  return {};
}

// B on each device it is used on, uploaded once per device and kept while
// its host copy (the parsed pipeline's) lives: items then share it instead of
// each uploading B again and waiting for that copy.
class DeviceB {
 public:
  Status get(const std::shared_ptr<const Tensor>& host, const Exec& exec, std::shared_ptr<const Tensor>& out) {
    std::lock_guard lock(mu_);
    std::erase_if(copies_, [](const Copy& c) { return c.host.expired(); });
    for (const Copy& c : copies_)
      if (c.host.lock() == host && c.device == exec.device) {
        out = c.on_device;
        return {};
      }
    auto dev = std::make_shared<Tensor>();
    {
      // A plain allocation, not ordered on this item's stream: B outlives it.
      StreamAllocScope plain(Exec::cpu());
      TANDEM_TRY(Tensor::create_like(host->view(), exec.device, *dev));
    }
    // On a stream of its own, waited for (once per device): other streams read
    // B next, and the item's stream keeps only its own work's errors.
    Stream upload;
    TANDEM_TRY(Stream::create(exec.device, upload));
    TANDEM_TRY(copy(host->view(), dev->view(), upload.handle()));
    TANDEM_TRY(upload.synchronize());
    copies_.push_back({host, exec.device, dev});
    out = std::move(dev);
    return {};
  }

 private:
  struct Copy {
    std::weak_ptr<const Tensor> host;
    Device device;
    std::shared_ptr<const Tensor> on_device;
  };
  std::mutex mu_;
  std::vector<Copy> copies_;
};

// Never destroyed: device memory must not be freed after the runtime is gone.
DeviceB& device_b() {
  static auto* cache = new DeviceB;
  return *cache;
}

Status run_matmul(const View& a, Tensor& c, const MatmulStage& stage, const Exec& exec) {
  LoadedFile with = stage.with;
  if (!with.tensor) TANDEM_TRY(open_b(with).with_context("matmul"));  // arguments made in C++, not parsed
  MatmulParams p;
  p.allow_tf32 = stage.tf32;
  if (exec.device.is_cpu()) return matmul(a, with.tensor->view(), c, p, exec);
  std::shared_ptr<const Tensor> b_dev;
  TANDEM_TRY(device_b().get(with.tensor, exec, b_dev));
  return matmul(a, b_dev->view(), c, p, exec);
}

const OpSpec kMatmul = detail::make_op<MatmulStage>({
    .name = "matmul",
    .kind = OpKind::array,
    .doc = "Matrix product of the 2-D input A with B from a .npy file (A @ B)",
    .semantics = "np.matmul(a, np.load(with)) for 2-D a and B; f32 @ f32 -> f32, any f64 operand -> f64 "
                 "(integer B files are read as f64); CUDA with tf32=1 uses TF32 tensor cores for f32",
    .params = {detail::field(&MatmulStage::with, "with",
                             "B: a .npy file holding a 2-D matrix with as many rows as the input has columns; "
                             "read once, when the pipeline is parsed")
                   .required()
                   .opened_with(open_b),
               detail::field(&MatmulStage::tf32, "tf32",
                             "1: let cuBLAS use TF32 tensor cores for f32 (faster, ~1e-3 relative error); "
                             "CUDA only, ignored on the CPU")},
    .layouts = {{DType::f32, 0}, {DType::f64, 0}},
    .run = run_matmul,
});
}  // namespace

TANDEM_OP_SPECS(matmul, &kMatmul)

}  // namespace tandem
