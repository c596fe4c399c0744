// filter on CUDA: a 2-D tiled correlation. The weights travel by value as a
// kernel parameter (constant bank: broadcast reads, and no shared __constant__
// symbol for concurrent streams to race on); each block stages its tile plus
// halo in shared memory with coalesced loads. Kernels whose tile would not fit
// in shared memory use a direct kernel reading through the cache.
#include "kernels/filter.cuh"
#include "kernels/neighbourhood_cuda.cuh"

namespace tandem::cuda {
namespace {

struct Taps {
  int rows, cols;
  float cval;
  float w[kFilterMaxTaps];  // row-major
};

template <int C>
std::size_t tiled_smem(const Taps& k) {
  return std::size_t(nbh::kTileH + k.rows - 1) * std::size_t(nbh::tile_w<C>() + k.cols - 1) * C * sizeof(float);
}

template <class T, int C>
__global__ void __launch_bounds__(32 * nbh::kWarps) filter_tiled(const __grid_constant__ Taps k, const nbh::Image im) {
  constexpr int TW = nbh::tile_w<C>();
  extern __shared__ __align__(16) unsigned char smem_raw[];
  float* tile = reinterpret_cast<float*>(smem_raw);
  const int stride = (TW + k.cols - 1) * C;
  const int x0 = blockIdx.x * TW, y0 = blockIdx.y * nbh::kTileH;
  const int tw = min(TW, im.width - x0), th = min(nbh::kTileH, im.height - y0);
  const int ry = k.rows / 2, rx = k.cols / 2;
  for (int j = threadIdx.y; j < th + k.rows - 1; j += nbh::kWarps) {
    const int sy = kern::border_index(y0 - ry + j, im.height, im.mode);
    nbh::stage_row<T, C, float>(tile + j * stride, sy < 0 ? nullptr : nbh::src_row<T>(im, sy), x0 - rx,
                                tw + k.cols - 1, im.width, im.mode, k.cval);
  }
  __syncthreads();
  const int n = tw * C;
  for (int j = threadIdx.y; j < th; j += nbh::kWarps) {
    T* out = nbh::dst_row<T>(im, y0 + j) + std::size_t(x0) * C;
    for (int e = threadIdx.x; e < n; e += 32) {
      float acc = 0.f;
      for (int i = 0; i < k.rows; ++i) {
        const float* in = tile + (j + i) * stride + e;
        const float* w = k.w + i * k.cols;
        for (int c = 0; c < k.cols; ++c)
          if (w[c] != 0.f) acc += w[c] * in[c * C];  // uniform branch: zero taps skipped as on the CPU
      }
      out[e] = kern::filter_finish<T>(acc);
    }
  }
}

template <class T, int C>
__global__ void __launch_bounds__(256) filter_direct(const __grid_constant__ Taps k, const nbh::Image im) {
  const int e = blockIdx.x * blockDim.x + threadIdx.x;
  if (e >= im.width * C) return;
  const int px = e / C, ch = e - px * C;
  const int ry = k.rows / 2, rx = k.cols / 2;
  for (int y = blockIdx.y; y < im.height; y += gridDim.y) {
    float acc = 0.f;
    for (int i = 0; i < k.rows; ++i) {
      const int sy = kern::border_index(y - ry + i, im.height, im.mode);
      const T* row = sy < 0 ? nullptr : nbh::src_row<T>(im, sy);
      for (int c = 0; c < k.cols; ++c) {
        const float w = k.w[i * k.cols + c];
        if (w == 0.f) continue;
        const int sx = row ? kern::border_index(px - rx + c, im.width, im.mode) : -1;
        acc += w * (sx < 0 ? k.cval : static_cast<float>(__ldg(row + sx * C + ch)));
      }
    }
    nbh::dst_row<T>(im, y)[e] = kern::filter_finish<T>(acc);
  }
}

}  // namespace

Status filter(const View& src, const View& dst, const FilterParams& p, void* stream) {
  TANDEM_CUDA_TRY(cudaSetDevice(src.device.index));
  Taps k{};
  k.rows = p.kernel.rows;
  k.cols = p.kernel.cols;
  for (std::size_t i = 0; i < p.kernel.values.size(); ++i) k.w[i] = static_cast<float>(p.kernel.values[i]);
  const auto mode = static_cast<kern::BorderMode>(static_cast<int>(p.border));
  const nbh::Image im = nbh::make_image(src, dst, mode);
  const cudaStream_t s = as_stream(stream);
  std::size_t limit = 0;
  TANDEM_TRY(nbh::shared_limit(limit));
  return nbh::dispatch(src.dtype, int(src.channels()), [&](auto tag, auto ch) -> Status {
    using T = decltype(tag);
    constexpr int C = decltype(ch)::value;
    k.cval = float(kern::saturate<T>(p.value));
    constexpr int TW = nbh::tile_w<C>();
    const std::size_t smem = tiled_smem<C>(k);
    const unsigned gx = unsigned((im.width + TW - 1) / TW), gy = unsigned((im.height + nbh::kTileH - 1) / nbh::kTileH);
    if (smem <= limit && gy <= 65535) {
      TANDEM_TRY(nbh::allow_shared(filter_tiled<T, C>, smem));
      filter_tiled<T, C><<<dim3(gx, gy), dim3(32, nbh::kWarps), smem, s>>>(k, im);
      return launch_status("filter kernel");
    }
    const unsigned bx = unsigned((std::size_t(im.width) * C + 255) / 256);
    filter_direct<T, C><<<dim3(bx, nbh::direct_grid_rows(im.height)), 256, 0, s>>>(k, im);
    return launch_status("filter kernel");
  });
}

}  // namespace tandem::cuda
