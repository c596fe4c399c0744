// box on CUDA: the fused separable kernel of neighbourhood_cuda.cuh with unit
// weights. Sums are exact integers for u8 (int) and u16 (int up to K = 181,
// then double), float for f32; box_finish divides once and rounds.
#include "kernels/box.cuh"
#include "kernels/neighbourhood_cuda.cuh"

namespace tandem::cuda {
namespace {

template <class A>
struct BoxOp {
  using Acc = A;
  int nx, ny, bx, by;
  A cval;
  double area;
  __device__ A wx(int) const { return A(1); }
  __device__ A wy(int) const { return A(1); }
  __device__ A hconst() const { return cval * A(nx); }
  template <class T>
  __device__ T finish(A a) const {
    return kern::box_finish<T>(double(a), area);
  }
};

template <class T, int C, class A>
Status run_box(const nbh::Image& im, const BoxParams& p, cudaStream_t stream) {
  BoxOp<A> op{};
  op.nx = op.ny = p.size;
  op.bx = op.by = kern::box_before(p.size);
  op.cval = A(kern::saturate<T>(p.value));
  op.area = double(p.size) * double(p.size);
  return nbh::run_separable<T, C>(op, im, stream, "box kernel");
}

}  // namespace

Status box(const View& src, const View& dst, const BoxParams& p, void* stream) {
  TANDEM_CUDA_TRY(cudaSetDevice(src.device.index));
  const auto mode = static_cast<kern::BorderMode>(static_cast<int>(p.border));
  const nbh::Image im = nbh::make_image(src, dst, mode);
  const cudaStream_t s = as_stream(stream);
  return nbh::dispatch(src.dtype, int(src.channels()), [&](auto tag, auto ch) -> Status {
    using T = decltype(tag);
    constexpr int C = decltype(ch)::value;
    if constexpr (std::is_same_v<T, std::uint8_t>) {
      return run_box<T, C, int>(im, p, s);  // K*K*255 < 2^31 for K <= kBoxMaxSize
    } else if constexpr (std::is_same_v<T, std::uint16_t>) {
      if (std::int64_t(p.size) * p.size * 65535 < (std::int64_t(1) << 31)) return run_box<T, C, int>(im, p, s);
      return run_box<T, C, double>(im, p, s);
    } else {
      return run_box<T, C, float>(im, p, s);
    }
  });
}

}  // namespace tandem::cuda
