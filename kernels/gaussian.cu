// gaussian on CUDA: the fused separable kernel of neighbourhood_cuda.cuh with
// the Gaussian's weights passed by value (kernel parameters live in the
// constant bank, so every launch has its own and concurrent streams never race).
#include "kernels/gaussian.cuh"
#include "kernels/neighbourhood_cuda.cuh"

namespace tandem::cuda {
namespace {

constexpr int kMaxTaps = 2 * kGaussianMaxRadius + 1;

struct GaussOp {
  using Acc = float;
  int nx, ny, bx, by;
  float cval;
  float w[kMaxTaps];  // the same weights in both directions
  __device__ float wx(int k) const { return w[k]; }
  __device__ float wy(int k) const { return w[k]; }
  // Normalised weights leave a constant row constant.
  __device__ float hconst() const { return cval; }
  template <class T>
  __device__ T finish(float a) const {
    return kern::saturate<T>(a);
  }
};

}  // namespace

Status gaussian(const View& src, const View& dst, const GaussianParams& p, void* stream) {
  TANDEM_CUDA_TRY(cudaSetDevice(src.device.index));
  const int r = kern::gaussian_radius(p, src.dtype);
  GaussOp op{};
  op.nx = op.ny = 2 * r + 1;
  op.bx = op.by = r;
  kern::gaussian_weights(op.nx, p.sigma, op.w);
  const auto mode = static_cast<kern::BorderMode>(static_cast<int>(p.border));
  const nbh::Image im = nbh::make_image(src, dst, mode);
  return nbh::dispatch(src.dtype, int(src.channels()), [&](auto tag, auto ch) -> Status {
    using T = decltype(tag);
    constexpr int C = decltype(ch)::value;
    op.cval = float(kern::saturate<T>(p.value));
    return nbh::run_separable<T, C>(op, im, as_stream(stream), "gaussian kernel");
  });
}

}  // namespace tandem::cuda
