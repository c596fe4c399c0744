#include "kernels/equalize.cuh"
#include "kernels/pointops_launch.cuh"

namespace tandem::cuda {

namespace {

constexpr int kBins = kern::kEqualizeBins;
constexpr int kWarps = pointops::kBlock / 32;
static_assert(pointops::kBlock == kBins, "the LUT kernel maps one thread to one bin");

// Per-warp shared histograms (fewer collisions on flat images than one per block), merged
// into the global histogram with one atomic per non-empty bin per block. Rows are read in
// 16-byte vectors between a scalar head (up to the first aligned address) and tail.
// The shared counts are 32-bit (64-bit shared atomics are slower); a launch
// covers at most kMaxPixelsPerLaunch pixels (see run), so none can overflow,
// and the global histogram they are added to is 64-bit.
__global__ void __launch_bounds__(pointops::kBlock) hist_kernel(pointops::Rows r, unsigned long long* hist) {
  __shared__ unsigned sh[kWarps][kBins];
  for (int i = threadIdx.x; i < kWarps * kBins; i += blockDim.x) (&sh[0][0])[i] = 0;
  __syncthreads();
  unsigned* mine = sh[threadIdx.x / 32];
  const std::int64_t tid = pointops::thread_x();
  const std::int64_t step = pointops::stride_x();
  for (std::int64_t y = blockIdx.y; y < r.rows; y += gridDim.y) {
    const unsigned char* s = reinterpret_cast<const unsigned char*>(r.src + y * r.src_stride);
    const auto addr = reinterpret_cast<std::uintptr_t>(s);
    const std::int64_t head = std::min<std::int64_t>(std::int64_t((16 - (addr & 15)) & 15), r.cols);
    const std::int64_t nvec = (r.cols - head) / 16;
    const std::int64_t tail = head + nvec * 16;
    for (std::int64_t x = tid; x < head; x += step) atomicAdd(&mine[s[x]], 1u);
    const uint4* v = reinterpret_cast<const uint4*>(s + head);
    for (std::int64_t i = tid; i < nvec; i += step) {
      const uint4 q = v[i];
      const unsigned words[4] = {q.x, q.y, q.z, q.w};
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        atomicAdd(&mine[words[k] & 255u], 1u);
        atomicAdd(&mine[(words[k] >> 8) & 255u], 1u);
        atomicAdd(&mine[(words[k] >> 16) & 255u], 1u);
        atomicAdd(&mine[words[k] >> 24], 1u);
      }
    }
    for (std::int64_t x = tail + tid; x < r.cols; x += step) atomicAdd(&mine[s[x]], 1u);
  }
  __syncthreads();
  for (int b = threadIdx.x; b < kBins; b += blockDim.x) {
    unsigned sum = 0;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) sum += sh[w][b];
    if (sum) atomicAdd(&hist[b], static_cast<unsigned long long>(sum));
  }
}

// One block, one thread per bin: the first non-empty bin, an inclusive scan of the
// histogram, then OpenCV's rule per bin (kern::equalize_lut_entry).
__global__ void __launch_bounds__(kBins) lut_kernel(const unsigned long long* hist, unsigned char* lut,
                                                    unsigned long long total) {
  __shared__ unsigned long long h[kBins];
  __shared__ unsigned long long cdf[kBins];
  __shared__ int first;
  const int t = threadIdx.x;
  h[t] = hist[t];
  cdf[t] = h[t];
  if (t == 0) first = kBins;
  __syncthreads();
  if (h[t] != 0) atomicMin(&first, t);
  for (int off = 1; off < kBins; off <<= 1) {
    const unsigned long long add = t >= off ? cdf[t - off] : 0ull;
    __syncthreads();
    cdf[t] += add;
    __syncthreads();
  }
  const int f = first;  // total > 0, so some bin is non-empty
  const kern::EqualizeLutInfo info = kern::equalize_info(f, h[f], total);
  lut[t] = kern::equalize_lut_entry(t, cdf[t], info);
}

struct LutOp {
  const unsigned char* lut;
  __device__ __forceinline__ std::uint8_t operator()(std::uint8_t v) const { return __ldg(lut + v); }
};

// Pixels one histogram launch may count: below 2^32, so no 32-bit shared count overflows.
constexpr std::int64_t kMaxPixelsPerLaunch = std::int64_t(1) << 31;

Status run(const View& src, const View& dst, unsigned long long* hist, unsigned char* lut, cudaStream_t stream) {
  TANDEM_CUDA_TRY(cudaMemsetAsync(hist, 0, kBins * sizeof(unsigned long long), stream));
  int device = 0, sms = 0;
  TANDEM_CUDA_TRY(cudaGetDevice(&device));
  TANDEM_CUDA_TRY(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  // Histogram over src alone (src doubles as "dst" so packed rows still collapse).
  const pointops::Rows all = pointops::make_rows(src, src, src.width());
  // Bands of whole rows, or pieces of the one collapsed row, of at most kMaxPixelsPerLaunch
  // pixels (a row of a multi-row image has at most INT_MAX: the input check caps the width).
  const std::int64_t band_rows = all.rows == 1 ? 1 : std::max<std::int64_t>(1, kMaxPixelsPerLaunch / all.cols);
  for (std::int64_t y = 0; y < all.rows; y += band_rows) {
    for (std::int64_t x = 0; x < all.cols; x += (all.rows == 1 ? kMaxPixelsPerLaunch : all.cols)) {
      pointops::Rows r = all;
      r.src = all.src + y * all.src_stride + x;
      r.rows = std::min(band_rows, all.rows - y);
      r.cols = all.rows == 1 ? std::min(kMaxPixelsPerLaunch, all.cols - x) : all.cols;
      hist_kernel<<<pointops::grid_for(r.rows, (r.cols + 15) / 16, std::max(1, 4 * sms)), pointops::kBlock, 0,
                    stream>>>(r, hist);
      TANDEM_TRY(launch_status("equalize histogram kernel"));
    }
  }
  lut_kernel<<<1, kBins, 0, stream>>>(hist, lut, static_cast<unsigned long long>(src.height() * src.width()));
  TANDEM_TRY(launch_status("equalize LUT kernel"));
  return pointops::map_elements<std::uint8_t>(src, dst, LutOp{lut}, stream, "equalize mapping kernel");
}

}  // namespace

Status equalize(const View& src, const View& dst, void* stream) {
  TANDEM_CUDA_TRY(cudaSetDevice(src.device.index));
  const cudaStream_t s = as_stream(stream);
  void* work = nullptr;
  // Stream-ordered scratch: 256 counts, then the 256-entry LUT.
  TANDEM_CUDA_TRY(cudaMallocAsync(&work, kBins * sizeof(unsigned long long) + kBins, s));
  auto* hist = static_cast<unsigned long long*>(work);
  auto* lut = reinterpret_cast<unsigned char*>(hist + kBins);
  const Status st = run(src, dst, hist, lut, s);
  const Status freed = to_status(cudaFreeAsync(work, s), "cudaFreeAsync");
  return st.ok() ? freed : st;
}

}  // namespace tandem::cuda
