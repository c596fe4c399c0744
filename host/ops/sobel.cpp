// sobel: validation, dispatch, the OpenMP implementation and the op-table entry.
#include "tandem/ops/sobel.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <new>
#include <span>

#include "host/ops/image_checks.hpp"
#include "host/ops/dispatch.hpp"
#include "host/ops/op_decl.hpp"
#include "host/core/parallel.hpp"
#include "kernels/sobel.cuh"
#include "tandem/config.hpp"
#include "tandem/op_table.hpp"

namespace tandem {
namespace {

constexpr std::string_view kOp = "sobel";

// Vertical pass over n = W * C interleaved elements: [1 2 1] sums and differences.
template <class T>
TANDEM_CPU_CLONES void sobel_vertical(const T* __restrict r0, const T* __restrict r1, const T* __restrict r2,
                                      float* __restrict vs, float* __restrict vd, int n) {
  for (int i = 0; i < n; ++i) {
    const float t = static_cast<float>(r0[i]);
    const float m = static_cast<float>(r1[i]);
    const float b = static_cast<float>(r2[i]);
    vs[i] = kern::smooth3(t, m, b);
    vd[i] = b - t;
  }
}

// Horizontal pass: vs / vd hold columns -1..W (C floats per column).
template <class T, int C>
TANDEM_CPU_CLONES void sobel_horizontal(const float* __restrict vs, const float* __restrict vd, T* __restrict out,
                                        int n) {
  for (int i = 0; i < n; ++i) {
    const float gx = vs[i + 2 * C] - vs[i];
    const float gy = kern::smooth3(vd[i], vd[i + C], vd[i + 2 * C]);
    out[i] = kern::sobel_magnitude<T>(gx, gy);
  }
}

// Elements per vertical / horizontal step: the slices of vs and vd in flight
// stay in L1 however wide the row.
constexpr int kChunk = 2048;

// One output row from its three source rows (border rows already resolved);
// xl / xr are the source columns standing in for -1 and W (-1: the constant
// border). vs / vd hold columns -1..W; the horizontal pass trails the vertical
// one by a chunk.
template <class T, int C>
void sobel_row(const T* r0, const T* r1, const T* r2, T* out, int W, int xl, int xr, float cval, float* vs,
               float* vd) {
  const int n = W * C;
  float* vsi = vs + C;
  float* vdi = vd + C;
  int done = 0;  // outputs [0, done) are written
  for (int i0 = 0; i0 < n; i0 += kChunk) {
    const int i1 = std::min(n, i0 + kChunk);
    sobel_vertical<T>(r0 + i0, r1 + i0, r2 + i0, vsi + i0, vdi + i0, i1 - i0);
    if (i0 == 0)  // column -1 copies column 0 or 1, both in the first chunk
      for (int c = 0; c < C; ++c) {
        vs[c] = xl < 0 ? kern::smooth3(cval, cval, cval) : vsi[xl * C + c];
        vd[c] = xl < 0 ? cval - cval : vdi[xl * C + c];
      }
    if (i1 < n && i1 - C > done) {  // output i needs vsi up to i + C
      sobel_horizontal<T, C>(vs + done, vd + done, out + done, i1 - C - done);
      done = i1 - C;
    }
  }
  for (int c = 0; c < C; ++c) {
    vsi[n + c] = xr < 0 ? kern::smooth3(cval, cval, cval) : vsi[xr * C + c];
    vdi[n + c] = xr < 0 ? cval - cval : vdi[xr * C + c];
  }
  sobel_horizontal<T, C>(vs + done, vd + done, out + done, n - done);
}

template <class T, int C>
Status sobel_cpu(const View& src, const View& dst, const SobelParams& p, const Exec& exec) {
  const int H = static_cast<int>(src.height());
  const int W = static_cast<int>(src.width());
  const auto mode = static_cast<kern::BorderMode>(p.border);
  const T cv = kern::saturate<T>(p.value);
  const float cval = static_cast<float>(cv);
  const int xl = kern::border_index(-1, W, mode);
  const int xr = kern::border_index(W, W, mode);
  const int threads = std::max(1, std::min(cpu_threads(exec), H));

  // Per thread: vs and vd for columns -1..W, and a row of the constant border.
  const std::size_t floats = 2 * std::size_t(W + 2) * C;
  const std::size_t per_thread = (floats * sizeof(float) + std::size_t(W) * C * sizeof(T) + 63) / 64 * 64;
  std::unique_ptr<std::byte[]> scratch(new (std::nothrow) std::byte[per_thread * threads + 64]);
  if (!scratch) return detail::op_error(kOp, Errc::out_of_memory, "cannot allocate " + std::to_string(per_thread * threads) + " bytes of scratch");

#pragma omp parallel num_threads(threads)
  {
    std::byte* mine = scratch.get() + per_thread * std::size_t(omp_get_thread_num());
    float* vs = reinterpret_cast<float*>(mine);
    float* vd = vs + (W + 2) * C;
    T* crow = reinterpret_cast<T*>(vd + (W + 2) * C);
    for (int i = 0; i < W * C; ++i) crow[i] = cv;
    auto row = [&](int y) -> const T* {
      const int m = kern::border_index(y, H, mode);
      return m < 0 ? crow : src.row<const T>(m);
    };
#pragma omp for schedule(static)
    for (int y = 0; y < H; ++y)
      sobel_row<T, C>(row(y - 1), row(y), row(y + 1), dst.row<T>(y), W, xl, xr, cval, vs, vd);
  }
  return {};
}

Status sobel_cpu_dispatch(const View& src, const View& dst, const SobelParams& p, const Exec& exec) {
  const auto c = src.channels();
  switch (src.dtype) {
    case DType::u8:
      if (c == 1) return sobel_cpu<std::uint8_t, 1>(src, dst, p, exec);
      if (c == 3) return sobel_cpu<std::uint8_t, 3>(src, dst, p, exec);
      return sobel_cpu<std::uint8_t, 4>(src, dst, p, exec);
    case DType::u16:
      if (c == 1) return sobel_cpu<std::uint16_t, 1>(src, dst, p, exec);
      if (c == 3) return sobel_cpu<std::uint16_t, 3>(src, dst, p, exec);
      return sobel_cpu<std::uint16_t, 4>(src, dst, p, exec);
    default:
      if (c == 1) return sobel_cpu<float, 1>(src, dst, p, exec);
      if (c == 3) return sobel_cpu<float, 3>(src, dst, p, exec);
      return sobel_cpu<float, 4>(src, dst, p, exec);
  }
}

const OpSpec& spec() {
  static const OpSpec s = detail::make_op<SobelParams>({
      .name = "sobel",
      .kind = OpKind::image,
      .doc = "Sobel gradient magnitude per channel: sqrt(gx^2 + gy^2) of the 3x3 Sobel derivatives, "
             "rounded half to even and saturated to the input dtype",
      .semantics = "m = cv2.magnitude(cv2.Sobel(img, CV_32F, 1, 0, ksize=3, borderType=B), "
                   "cv2.Sobel(img, CV_32F, 0, 1, ksize=3, borderType=B)); np.rint(m) saturated to the dtype "
                   "(f32: m itself)",
      .params = {detail::border_field(&SobelParams::border), detail::value_field(&SobelParams::value)},
      .layouts = detail::standard_image_layouts(),
      .run = [](const View& src, Tensor& dst, const SobelParams& p, const Exec& exec) {
        return sobel(src, dst, p, exec);
      },
  });
  return s;
}

}  // namespace

Status sobel(const View& src, const View& dst, const SobelParams& p, const Exec& exec) {
  TANDEM_TRY(detail::check_image_input(spec(), src, exec));
  TANDEM_TRY(detail::check_params(spec(), p));
  TANDEM_TRY(detail::check_image_output(kOp, src, dst, src.height(), src.width(), exec));
  return detail::on_device(kOp, src, dst, p, exec, sobel_cpu_dispatch,
                           [&](auto stream) { return cuda::sobel(src, dst, p, stream); });
}

Status sobel(const View& src, Tensor& dst, const SobelParams& p, const Exec& exec) {
  TANDEM_TRY(detail::check_image_input(spec(), src, exec));
  TANDEM_TRY(detail::check_params(spec(), p));
  return detail::into_new(
      dst, [&](Tensor& t) { return Tensor::create_image(src.dtype, src.height(), src.width(), src.channels(), exec.device, t); },
      [&](const View& out) { return sobel(src, out, p, exec); });
}

TANDEM_OP_SPECS(sobel, &spec())

}  // namespace tandem
