// gaussian: validation, dispatch and the op-table entry; the OpenMP
// implementation and its vector code are in gaussian_hwy.cpp.
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

// Beyond the declared ranges: sigma = 0 takes its value from the radius.
Status check_gaussian(const GaussianParams& p) {
  if (p.radius == 0 && p.sigma == 0)
    return {Errc::invalid_argument,
            "gaussian: parameter 'sigma' = 0 needs an explicit radius (sigma is then derived from it)"};
  return {};
}

// The automatic radius depends on the dtype, so this one waits for the input.
Status check_radius(const View& src, const GaussianParams& p) {
  const DType t = src.dtype;
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
  const kern::BorderMode mode = nbh::to_mode(p.border);
  if (kern::gaussian_fixed_point(src.dtype, r)) {
    std::array<std::uint16_t, 2 * kern::kGaussFxMaxRadius + 1> q;
    kern::gaussian_fixed_weights(2 * r + 1, p.sigma, q.data());
    return nbh::gaussian_fixed_cpu(src, dst, q.data(), r, mode, kern::saturate<std::uint8_t>(p.value),
                                   cpu_threads(exec));
  }
  std::array<float, 2 * kGaussianMaxRadius + 1> w;
  kern::gaussian_weights(2 * r + 1, p.sigma, w.data());
  return nbh::gaussian_cpu(src, dst, w.data(), r, mode, nbh::outside_value(src.dtype, p.value), cpu_threads(exec));
}

const detail::ImageOp<GaussianParams>& op() {
  static const detail::ImageOp<GaussianParams> o({
      .name = "gaussian",
      .doc = "Gaussian blur (separable, every channel independently)",
      .semantics = "cv2.GaussianBlur(img, (0,0), sigma, borderType=border); with radius R: ksize (2R+1, 2R+1); "
                   "u8 with radius 1-30: 16-bit fixed point (integer weights summing to 2^16, the same integers on "
                   "CPU and GPU, every result within 1 of the float64 Gaussian); otherwise float accumulation, "
                   "rounded half to even (OpenCV's own u8/u16 fixed point may differ by 1-2)",
      .params = {detail::field(&GaussianParams::sigma, "sigma",
                               "standard deviation in pixels; 0 derives it from radius as cv::getGaussianKernel does")
                     .in(0, 1e4),
                 detail::field(&GaussianParams::radius, "radius",
                               "half aperture (ksize 2R+1); 0 = OpenCV's automatic ksize = "
                               "cvRound(sigma*(u8 ? 3 : 4)*2 + 1) | 1")
                     .in(0, kGaussianMaxRadius),
                 detail::border_field(&GaussianParams::border), detail::value_field(&GaussianParams::value)},
      .layouts = detail::standard_image_layouts(),
      .run = gaussian,
      .check = check_gaussian,
  }, nbh::kChecks, gaussian, gaussian_on_cpu, check_radius);
  return o;
}

}  // namespace

Status gaussian(const View& src, const View& dst, const GaussianParams& p, const Exec& exec) {
  return op().run(src, dst, p, exec, [&](auto stream) { return cuda::gaussian(src, dst, p, stream); });
}

Status gaussian(const View& src, Tensor& dst, const GaussianParams& p, const Exec& exec) {
  return op().run(src, dst, p, exec);
}

TANDEM_OP_SPECS(gaussian, &op().spec())

}  // namespace tandem
