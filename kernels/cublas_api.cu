#include "kernels/cublas_api.cuh"

#include <dlfcn.h>

#include <mutex>
#include <string>

namespace tandem::cuda {

namespace {

template <class Fn>
bool bind(void* lib, const char* name, Fn& fn, std::string& missing) {
  fn = reinterpret_cast<Fn>(dlsym(lib, name));
  if (!fn) missing += std::string(missing.empty() ? "" : ", ") + name;
  return fn != nullptr;
}

}  // namespace

Status load_cublas(const CublasApi*& out) {
  static CublasApi api;
  static Status status;
  static std::once_flag once;
  std::call_once(once, [] {
    // The soname of the cuBLAS this tandem was compiled against, then any.
    const std::string soname = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);
    void* lib = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) lib = dlopen("libcublas.so", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* err = dlerror();
      status = {Errc::unsupported, "cannot load cuBLAS (" + soname + "): " + (err ? err : "not found") +
                                       "; install the CUDA toolkit's cuBLAS or add its directory to LD_LIBRARY_PATH"};
      return;
    }
    std::string missing;
    bind(lib, "cublasCreate_v2", api.create, missing);
    bind(lib, "cublasDestroy_v2", api.destroy, missing);
    bind(lib, "cublasSetStream_v2", api.set_stream, missing);
    bind(lib, "cublasSetMathMode", api.set_math_mode, missing);
    bind(lib, "cublasSgemm_v2", api.sgemm, missing);
    bind(lib, "cublasSgemm_v2_64", api.sgemm_64, missing);
    bind(lib, "cublasDgemm_v2_64", api.dgemm_64, missing);
    bind(lib, "cublasGetStatusName", api.status_name, missing);
    bind(lib, "cublasGetStatusString", api.status_string, missing);
    if (!missing.empty()) status = {Errc::unsupported, soname + " lacks " + missing};
  });
  out = status.ok() ? &api : nullptr;
  return status;
}

}  // namespace tandem::cuda
