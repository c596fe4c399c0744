// threshold: cv2.threshold(THRESH_BINARY) with maxval = the type maximum. Validation,
// dispatch, the OpenMP implementation and the op-table entry.
#include "tandem/ops/threshold.hpp"

#include <algorithm>
#include <cmath>
#include <span>

#include "host/core/simd.hpp"
#include "host/ops/dispatch.hpp"
#include "host/ops/op_decl.hpp"
#include "host/ops/pointops_common.hpp"
#include "host/ops/threshold_hwy.hpp"
#include "kernels/threshold.cuh"
#include "tandem/config.hpp"
#include "tandem/op_table.hpp"

namespace tandem {

namespace {

template <class T>
void threshold_cpu(const View& src, const View& dst, double value, const Exec& exec) {
  const kern::ThresholdPlan<T> plan = kern::plan_threshold<T>(value);
  if (plan.mode == kern::ThresholdMode::compare) {
    // The row loop (host/ops/threshold_hwy.cpp) also runs in place.
    const T t = plan.thresh;
    const bool stream = pointops::stream_output(src, dst);
    pointops::map_rows<T>(src, dst, exec,
                          [t, stream](const T* s, T* d, std::int64_t n) { simd::threshold_row(s, d, n, t, stream); });
    return;
  }
  // OpenCV's dst.setTo shortcut: T below every value or at/above the maximum.
  const T fill = plan.mode == kern::ThresholdMode::all_max ? kern::pixel_max<T>() : T(0);
  pointops::map_rows<T>(src, dst, exec, [fill](const T*, T* d, std::int64_t n) { std::fill(d, d + n, fill); });
}

// After the checks: the op itself, on the host.
Status threshold_on_cpu(const View& src, const View& dst, const ThresholdParams& p, const Exec& exec) {
  TANDEM_TRY(detail::simd_ready());  // the TANDEM_SIMD cap, before the first vector kernel
  switch (src.dtype) {
    case DType::u8: threshold_cpu<std::uint8_t>(src, dst, p.value, exec); break;
    case DType::u16: threshold_cpu<std::uint16_t>(src, dst, p.value, exec); break;
    default: threshold_cpu<float>(src, dst, p.value, exec); break;
  }
  return {};
}

const detail::ImageOp<ThresholdParams>& op() {
  static const detail::ImageOp<ThresholdParams> o({
      .name = "threshold",
      .doc = "binary threshold: src > T ? max : 0 per channel, max = 255 (u8), 65535 (u16), 1.0 (f32)",
      .semantics = "cv2.threshold(img, T, maxval, cv2.THRESH_BINARY)[1] with maxval = 255 / 65535 / 1.0; "
                   "integer types compare with floor(T), f32 with float(T)",
      .params = {detail::field(&ThresholdParams::value, "value",
                               "threshold T; pixels strictly above it become the type maximum, the rest 0. "
                               "Integer images use floor(T) (127.5 acts as 127); T < 0 gives all max, "
                               "T >= max all 0. f32 images (range [0, 1]) use T rounded to float")
                     .required()},
      .layouts = detail::standard_image_layouts(),
      .run = threshold,
  }, pointops::kChecks, threshold, threshold_on_cpu);
  return o;
}

}  // namespace

Status threshold(const View& src, const View& dst, const ThresholdParams& p, const Exec& exec) {
  return op().run(src, dst, p, exec, [&](auto stream) { return cuda::threshold(src, dst, p, stream); });
}

Status threshold(const View& src, Tensor& dst, const ThresholdParams& p, const Exec& exec) {
  return op().run(src, dst, p, exec);
}

TANDEM_OP_SPECS(threshold, &op().spec())

}  // namespace tandem
