// gaussian on CUDA: the fused separable kernel of neighbourhood_cuda.cuh with
// the Gaussian's weights (float, or the u8 fixed point's integers) passed by
// value (kernel parameters live in the constant bank, so every launch has its
// own and concurrent streams never race).
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

// The u8 fixed-point path: the integer steps of kern::gauss_fx_sum in both
// passes, over 16-bit intermediates (staged pixels are the u8 values; the
// horizontal pass scales them by 2^kGaussFxBits as the CPU's LoadRowFx does).
struct GaussFxOp {
  using Acc = std::uint16_t;
  using OwnSums = void;  // hsum and vsum below
  int nx, ny, bx, by;
  std::uint16_t cval;
  std::uint16_t hc;  // the horizontal pass of a row of cval
  int r;
  std::uint16_t q[2 * kern::kGaussFxMaxRadius + 1];
  template <class Get>
  __device__ std::uint16_t hsum(const Get& get) const {
    return kern::gauss_fx_sum(q, r, [&](int k) { return std::uint16_t(get(k) << kern::kGaussFxBits); });
  }
  template <class Get>
  __device__ std::uint16_t vsum(const Get& get) const {
    return kern::gauss_fx_sum(q, r, get);
  }
  __device__ std::uint16_t hconst() const { return hc; }
  template <class T>
  __device__ T finish(std::uint16_t s) const {
    return kern::gauss_fx_finish(s, r);
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
  GaussFxOp fx{};
  const bool fixed = kern::gaussian_fixed_point(src.dtype, r);
  if (fixed) {
    fx.nx = fx.ny = 2 * r + 1;
    fx.bx = fx.by = fx.r = r;
    kern::gaussian_fixed_weights(fx.nx, p.sigma, fx.q);
    const std::uint8_t c = kern::saturate<std::uint8_t>(p.value);
    fx.cval = c;
    fx.hc = kern::gauss_fx_const_row(fx.q, r, c);
  }
  return nbh::dispatch(src.dtype, int(src.channels()), [&](auto tag, auto ch) -> Status {
    using T = decltype(tag);
    constexpr int C = decltype(ch)::value;
    if constexpr (std::is_same_v<T, std::uint8_t>)
      if (fixed) return nbh::run_separable<T, C>(fx, im, as_stream(stream), "gaussian kernel");
    op.cval = float(kern::saturate<T>(p.value));
    return nbh::run_separable<T, C>(op, im, as_stream(stream), "gaussian kernel");
  });
}

}  // namespace tandem::cuda
