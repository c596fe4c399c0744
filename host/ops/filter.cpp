// filter: validation, dispatch, the OpenMP implementation and the op-table entry.
#include "tandem/ops/filter.hpp"

#include <cmath>
#include <cstdint>
#include <span>

#include "host/ops/neighbourhood.hpp"
#include "host/ops/dispatch.hpp"
#include "host/ops/op_decl.hpp"
#include "host/core/parallel.hpp"
#include "kernels/filter.cuh"
#include "tandem/config.hpp"
#include "tandem/op_table.hpp"

namespace tandem {
namespace {

struct Tap {
  int dy, dx;  // position in the kernel
  float w;
};

struct Correlation {
  const View* src;
  const View* dst;
  int kh, kw;
  const Tap* taps;       // the non-zero weights, row-major
  const float* weights;  // taps[t].w, contiguous
  int ntaps;
  kern::BorderMode mode;
  float cval;
};

// One tile (columns x0..x1, rows y0..y1): its input rows are converted to
// float with their borders once, into a ring of kh bordered rows (in L2), and
// each output row is a register-blocked weighted sum over the non-zero taps.
template <class T>
TANDEM_CPU_CLONES void filter_tile(const Correlation& f, int x0, int x1, int y0, int y1, float* acc, float* ring,
                                   std::size_t slot) {
  const int height = int(f.src->height()), width = int(f.src->width()), ch = int(f.src->channels());
  const int kh = f.kh, ry = f.kh / 2, rx = f.kw / 2;
  const int n = (x1 - x0) * ch;
  const float* p[kFilterMaxTaps];  // each tap's row, shifted to its column
  for (int j = 0; j < y1 - y0 + 2 * ry; ++j) {
    const int sy = kern::border_index(y0 - ry + j, height, f.mode);
    nbh::load_row<T, float>(ring + std::size_t(j % kh) * slot, sy < 0 ? nullptr : f.src->row<const T>(sy), x0 - rx,
                            x1 + rx, width, ch, f.mode, f.cval);
    if (j < 2 * ry) continue;
    const int first = j - 2 * ry;  // ring row of kernel row 0
    for (int t = 0; t < f.ntaps; ++t) {
      const Tap& tap = f.taps[t];
      p[t] = ring + std::size_t((first + tap.dy) % kh) * slot + std::size_t(tap.dx) * ch;
    }
    if (f.ntaps == 0) {
      for (int i = 0; i < n; ++i) acc[i] = 0.f;
    } else {
      nbh::weighted_sum(acc, p, f.weights, f.ntaps, n);
    }
    nbh::store_saturated<T>(f.dst->row<T>(y0 + first) + std::size_t(x0) * ch, acc, n);
  }
}

// Cache-blocked 2-D correlation: column blocks x strips, one tile per OpenMP task.
template <class T>
Status filter_cpu(const View& src, const View& dst, const Matrix& kernel, kern::BorderMode mode, float cval,
                  int threads) {
  const int height = int(src.height()), width = int(src.width()), ch = int(src.channels());
  const int kh = kernel.rows, kw = kernel.cols;
  nbh::Scratch<Tap> tap_buf;  // Status-returning allocation: the API never throws
  TANDEM_TRY(tap_buf.allocate(1, std::size_t(kh) * kw));
  nbh::Scratch<float> weight_buf;
  TANDEM_TRY(weight_buf.allocate(1, std::size_t(kh) * kw));
  Tap* taps = tap_buf.slice(0);
  float* weights = weight_buf.slice(0);
  int ntaps = 0;
  for (int i = 0; i < kh; ++i)
    for (int j = 0; j < kw; ++j) {
      const float w = static_cast<float>(kernel.values[std::size_t(i) * kw + j]);
      if (w != 0.f) {
        weights[ntaps] = w;
        taps[ntaps++] = Tap{i, j, w};
      }
    }
  const nbh::TilePlan plan = nbh::plan_tiles(height, width, ch, kh, kh, threads);
  const int nt = std::max(1, std::min(threads, plan.tiles()));
  const std::size_t slot = nbh::pad16(std::size_t(plan.tw + kw - 1) * ch);
  const std::size_t acc_len = nbh::pad16(std::size_t(plan.tw) * ch);
  nbh::Scratch<float> scratch;
  TANDEM_TRY(scratch.allocate(nt, acc_len + slot * std::size_t(kh)));
  const Correlation f{&src, &dst, kh, kw, taps, weights, ntaps, mode, cval};

#pragma omp parallel num_threads(nt)
  {
    float* acc = scratch.slice(omp_get_thread_num());
#pragma omp for schedule(dynamic, 1)
    for (int t = 0; t < plan.tiles(); ++t) {
      const int x0 = (t % plan.ntx) * plan.tw, y0 = (t / plan.ntx) * plan.th;
      filter_tile<T>(f, x0, std::min(width, x0 + plan.tw), y0, std::min(height, y0 + plan.th), acc, acc + acc_len,
                     slot);
    }
  }
  return {};
}

// The kernel's shape and weights do not depend on the image: checked when parsed.
Status check_kernel(const FilterParams& p) {
  const Matrix& k = p.kernel;
  if (k.rows < 1 || k.cols < 1 || k.rows % 2 == 0 || k.cols % 2 == 0)
    return {Errc::invalid_argument, "filter: parameter 'kernel' must have an odd number of rows and of columns; got " +
                                        std::to_string(k.rows) + " x " + std::to_string(k.cols)};
  if (std::int64_t(k.rows) * k.cols > kFilterMaxTaps)
    return {Errc::invalid_argument, "filter: parameter 'kernel' has " + std::to_string(std::int64_t(k.rows) * k.cols) +
                                        " elements, more than the maximum " + std::to_string(kFilterMaxTaps)};
  if (k.values.size() != std::size_t(k.rows) * std::size_t(k.cols))
    return {Errc::invalid_argument, "filter: the kernel has " + std::to_string(k.values.size()) + " values for " +
                                        std::to_string(k.rows) + " x " + std::to_string(k.cols)};
  for (double v : k.values)
    if (!(std::abs(v) <= kFilterMaxWeight))
      return {Errc::invalid_argument, "filter: parameter 'kernel' has a weight " + detail::format_number(v) +
                                          "; weights must be finite with magnitude at most 1e30"};
  return {};
}

// After the checks: the op itself, on the host.
Status filter_on_cpu(const View& src, const View& dst, const FilterParams& p, const Exec& exec) {
  const kern::BorderMode mode = nbh::to_mode(p.border);
  const int threads = cpu_threads(exec);
  switch (src.dtype) {
    case DType::u8:
      return filter_cpu<std::uint8_t>(src, dst, p.kernel, mode, kern::saturate<std::uint8_t>(p.value), threads);
    case DType::u16:
      return filter_cpu<std::uint16_t>(src, dst, p.kernel, mode, kern::saturate<std::uint16_t>(p.value), threads);
    default:
      return filter_cpu<float>(src, dst, p.kernel, mode, kern::saturate<float>(p.value), threads);
  }
}

const OpSpec& spec() {
  static const OpSpec s = detail::make_op<FilterParams>({
      .name = "filter",
      .kind = OpKind::image,
      .doc = "2-D correlation with an odd-sized kernel (every channel independently)",
      .semantics = "cv2.filter2D(img, -1, kernel, anchor=(-1,-1), delta=0, borderType=border): not flipped, anchor "
                   "at the centre, float accumulation, zero weights skipped, rounded half to even and saturated",
      .params = {detail::field(&FilterParams::kernel, "kernel",
                               "the weights, rows separated by ';' (e.g. 0,-1,0;-1,5,-1;0,-1,0); odd numbers of rows "
                               "and columns, at most 4096 elements, |w| <= 1e30")
                     .required(),
                 detail::border_field(&FilterParams::border), detail::value_field(&FilterParams::value)},
      .layouts = detail::standard_image_layouts(),
      .run = [](const View& src, Tensor& dst, const FilterParams& p, const Exec& exec) {
        return filter(src, dst, p, exec);
      },
      .check = check_kernel,
  });
  return s;
}

}  // namespace

Status filter(const View& src, const View& dst, const FilterParams& p, const Exec& exec) {
  TANDEM_TRY(nbh::check_io(spec(), src, dst, exec));
  TANDEM_TRY(detail::check_params(spec(), p, check_kernel));
  return detail::on_device("filter", src, dst, p, exec, filter_on_cpu,
                           [&](auto stream) { return cuda::filter(src, dst, p, stream); });
}

Status filter(const View& src, Tensor& dst, const FilterParams& p, const Exec& exec) {
  TANDEM_TRY(nbh::check_src(spec(), src, exec));
  TANDEM_TRY(detail::check_params(spec(), p, check_kernel));
  return detail::into_new(
      dst, [&](Tensor& t) { return Tensor::create_like(src, exec.device, t); },
      [&](const View& out) { return filter(src, out, p, exec); });
}

TANDEM_OP_SPECS(filter, &spec())

}  // namespace tandem
