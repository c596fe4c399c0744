// gaussian: validation, dispatch, the OpenMP implementation and the op-table entry.
#include "tandem/ops/gaussian.hpp"

#include <array>
#include <cmath>
#include <cstdint>
#include <span>

#include "host/ops/neighbourhood.hpp"
#include "host/ops/dispatch.hpp"
#include "host/ops/op_decl.hpp"
#include "host/core/parallel.hpp"
#include "kernels/gaussian.cuh"
#include "tandem/config.hpp"
#include "tandem/op_table.hpp"

namespace tandem {
namespace {

struct Blur {
  const View* src;
  const View* dst;
  const float* w;
  int r;
  kern::BorderMode mode;
  float cval;
};

// Output rows made together by the vertical pass.
constexpr int kRowsAtOnce = 4;

// One tile (columns x0..x1, rows y0..y1): its input rows are blurred
// horizontally once, into a ring of 2r+kRowsAtOnce float rows, and output
// rows are made kRowsAtOnce at a time by the vertical pass over the ring (the
// 2r+kRowsAtOnce rows they need are read once for all of them: the ring
// outgrows L1, so that cuts the L2 traffic), the last rows one by one.
// `ext` holds one bordered input row; acc holds kRowsAtOnce rows.
template <class T>
TANDEM_CPU_CLONES void gaussian_tile(const Blur& b, int x0, int x1, int y0, int y1, float* ext, float* acc,
                                     float* ring, std::size_t slot) {
  const int height = int(b.src->height()), width = int(b.src->width()), ch = int(b.src->channels());
  const int r = b.r, taps = 2 * r + 1, slots = taps + kRowsAtOnce - 1, rows = y1 - y0;
  const int grouped = rows / kRowsAtOnce * kRowsAtOnce;  // rows made in groups
  const int n = (x1 - x0) * ch;
  float* outs[kRowsAtOnce];
  for (int q = 0; q < kRowsAtOnce; ++q) outs[q] = acc + std::size_t(q) * slot;
  // The taps of the horizontal pass: ext shifted by k pixels.
  const float* hp[2 * kGaussianMaxRadius + 1];
  for (int k = 0; k < taps; ++k) hp[k] = ext + std::size_t(k) * ch;
  // The rows of the vertical window, oldest first.
  const float* vp[2 * kGaussianMaxRadius + kRowsAtOnce];
  const auto store = [&](int o, const float* a) {
    // Positive normalised weights keep results within the input's range.
    nbh::store_in_range<T>(b.dst->row<T>(y0 + o) + std::size_t(x0) * ch, a, n);
  };
  for (int j = 0; j < rows + 2 * r; ++j) {
    float* h = ring + std::size_t(j % slots) * slot;
    const int sy = kern::border_index(y0 - r + j, height, b.mode);
    if (sy < 0) {
      // A row outside the image in constant mode: every pixel is cval, and
      // the normalised horizontal pass leaves it so.
      for (int i = 0; i < n; ++i) h[i] = b.cval;
    } else {
      nbh::load_row<T, float>(ext, b.src->row<const T>(sy), x0 - r, x1 + r, width, ch, b.mode, b.cval);
      nbh::symmetric_sum(h, hp, b.w, r, n);
    }
    const int o = j - 2 * r;  // the output row whose window ends at row j
    if (o < 0) continue;
    if (o < grouped) {
      if (o % kRowsAtOnce == kRowsAtOnce - 1) {  // rows o-R+1 .. o, from input rows o-R+1 .. o+2r
        const int first = o - (kRowsAtOnce - 1);
        for (int k = 0; k < slots; ++k) vp[k] = ring + std::size_t((first + k) % slots) * slot;
        nbh::weighted_sum_rows<kRowsAtOnce>(outs, vp, b.w, taps, n);
        for (int q = 0; q < kRowsAtOnce; ++q) store(first + q, outs[q]);
      }
    } else {
      for (int k = 0; k < taps; ++k) vp[k] = ring + std::size_t((o + k) % slots) * slot;
      nbh::weighted_sum(acc, vp, b.w, taps, n);
      store(o, acc);
    }
  }
}

// Cache-blocked separable blur: column blocks x strips, one tile per OpenMP task.
template <class T>
Status gaussian_cpu(const View& src, const View& dst, const float* w, int r, kern::BorderMode mode, float cval,
                    int threads) {
  const int height = int(src.height()), width = int(src.width()), ch = int(src.channels());
  const int taps = 2 * r + 1;
  const nbh::TilePlan plan = nbh::plan_tiles(height, width, ch, taps, taps, threads);
  const int nt = std::max(1, std::min(threads, plan.tiles()));
  const std::size_t ext_len = nbh::pad16(std::size_t(plan.tw + 2 * r) * ch);
  const std::size_t slot = nbh::pad16(std::size_t(plan.tw) * ch);
  nbh::Scratch<float> scratch;
  // ext, kRowsAtOnce rows of acc, a ring of taps + kRowsAtOnce - 1 rows
  TANDEM_TRY(scratch.allocate(nt, ext_len + slot * std::size_t(taps + 2 * kRowsAtOnce - 1)));
  const Blur blur{&src, &dst, w, r, mode, cval};

#pragma omp parallel num_threads(nt)
  {
    float* ext = scratch.slice(omp_get_thread_num());
    float* acc = ext + ext_len;
    float* ring = acc + kRowsAtOnce * slot;
#pragma omp for schedule(dynamic, 1)
    for (int t = 0; t < plan.tiles(); ++t) {
      const int x0 = (t % plan.ntx) * plan.tw, y0 = (t / plan.ntx) * plan.th;
      gaussian_tile<T>(blur, x0, std::min(width, x0 + plan.tw), y0, std::min(height, y0 + plan.th), ext, acc, ring,
                       slot);
    }
  }
  return {};
}

// Beyond the declared ranges: sigma = 0 takes its value from the radius.
Status check_gaussian(const GaussianParams& p) {
  if (p.radius == 0 && p.sigma == 0)
    return {Errc::invalid_argument,
            "gaussian: parameter 'sigma' = 0 needs an explicit radius (sigma is then derived from it)"};
  return {};
}

// The automatic radius depends on the dtype, so this one waits for the input.
Status check_radius(const GaussianParams& p, DType t) {
  const int r = kern::gaussian_radius(p, t);
  if (r > kGaussianMaxRadius)
    return {Errc::invalid_argument, "gaussian: sigma " + detail::format_number(p.sigma) + " needs radius " +
                                        std::to_string(r) + " for " + dtype_name(t) + ", more than the maximum " +
                                        std::to_string(kGaussianMaxRadius) + "; pass a smaller radius"};
  return {};
}

// After the checks: the blur itself, on the host.
Status gaussian_on_cpu(const View& src, const View& dst, const GaussianParams& p, const Exec& exec) {
  const int r = kern::gaussian_radius(p, src.dtype);
  std::array<float, 2 * kGaussianMaxRadius + 1> w;
  kern::gaussian_weights(2 * r + 1, p.sigma, w.data());
  const kern::BorderMode mode = nbh::to_mode(p.border);
  const int threads = cpu_threads(exec);
  switch (src.dtype) {
    case DType::u8:
      return gaussian_cpu<std::uint8_t>(src, dst, w.data(), r, mode, kern::saturate<std::uint8_t>(p.value), threads);
    case DType::u16:
      return gaussian_cpu<std::uint16_t>(src, dst, w.data(), r, mode, kern::saturate<std::uint16_t>(p.value), threads);
    default:
      return gaussian_cpu<float>(src, dst, w.data(), r, mode, kern::saturate<float>(p.value), threads);
  }
}

const OpSpec& spec() {
  static const OpSpec s = detail::make_op<GaussianParams>({
      .name = "gaussian",
      .kind = OpKind::image,
      .doc = "Gaussian blur (separable, every channel independently)",
      .semantics = "cv2.GaussianBlur(img, (0,0), sigma, borderType=border); with radius R: ksize (2R+1, 2R+1); "
                   "float accumulation, rounded half to even (OpenCV's u8/u16 fixed point may differ by 1-2)",
      .params = {detail::field(&GaussianParams::sigma, "sigma",
                               "standard deviation in pixels; 0 derives it from radius as cv::getGaussianKernel does")
                     .in(0, 1e4),
                 detail::field(&GaussianParams::radius, "radius",
                               "half aperture (ksize 2R+1); 0 = OpenCV's automatic ksize = "
                               "cvRound(sigma*(u8 ? 3 : 4)*2 + 1) | 1")
                     .in(0, kGaussianMaxRadius),
                 detail::border_field(&GaussianParams::border), detail::value_field(&GaussianParams::value)},
      .layouts = detail::standard_image_layouts(),
      .run = [](const View& src, Tensor& dst, const GaussianParams& p, const Exec& exec) {
        return gaussian(src, dst, p, exec);
      },
      .check = check_gaussian,
  });
  return s;
}

}  // namespace

Status gaussian(const View& src, const View& dst, const GaussianParams& p, const Exec& exec) {
  TANDEM_TRY(nbh::check_io(spec(), src, dst, exec));
  TANDEM_TRY(detail::check_params(spec(), p, check_gaussian));
  TANDEM_TRY(check_radius(p, src.dtype));
  return detail::on_device("gaussian", src, dst, p, exec, gaussian_on_cpu,
                           [&](auto stream) { return cuda::gaussian(src, dst, p, stream); });
}

Status gaussian(const View& src, Tensor& dst, const GaussianParams& p, const Exec& exec) {
  TANDEM_TRY(nbh::check_src(spec(), src, exec));
  TANDEM_TRY(detail::check_params(spec(), p, check_gaussian));
  TANDEM_TRY(check_radius(p, src.dtype));
  return detail::into_new(
      dst, [&](Tensor& t) { return Tensor::create_like(src, exec.device, t); },
      [&](const View& out) { return gaussian(src, out, p, exec); });
}

TANDEM_OP_SPECS(gaussian, &spec())

}  // namespace tandem
