// Every op of the table on every (dtype, channels) layout it declares, through
// the op table (parse_args + run_op) on small odd-sized inputs, against a
// float64 reference; and every op refuses an undeclared layout with a message
// naming the layouts it accepts. The declaration is what `tandem ops` prints,
// so this keeps that listing true.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "host/core/device_backend.hpp"
#include "host/core/sim_device.hpp"
#include "tandem/io/npy.hpp"
#include "tandem/ops/gaussian.hpp"
#include "tests/support/test_support.hpp"

namespace tandem {
namespace {

using Params = std::map<std::string, std::string, std::less<>>;
constexpr std::int64_t kH = 7, kW = 5;       // odd image sides
constexpr std::int64_t kRows = 3, kCols = 13;  // odd array shape

// Values in [1, 40] on a grid of 0.5 (integers for integer dtypes): exp, pow
// and the histogram's edges stay exact or finite in every dtype.
Tensor grid_tensor(DType t, std::vector<std::int64_t> shape, std::uint64_t seed) {
  Tensor out;
  throw_if_error(Tensor::create(t, shape, Device::cpu(), out));
  std::mt19937_64 rng(seed);
  visit_dtype(t, [&](auto tag) {
    using T = decltype(tag);
    T* p = out.view().ptr<T>();
    for (std::int64_t i = 0; i < out.view().numel(); ++i) {
      const double v = 1 + double(rng() % 79) * 0.5;  // > 0, so log stays finite
      p[i] = std::is_floating_point_v<T> ? T(v) : T(std::floor(v));
    }
  });
  return out;
}

std::vector<double> values(const View& v) {
  std::vector<double> out(std::size_t(v.numel()));
  for (std::int64_t i = 0; i < v.numel(); ++i) out[std::size_t(i)] = test::at(v, i);
  return out;
}

// Channel c of an image as a 1-channel image.
Tensor channel(const View& img, std::int64_t c) {
  Tensor out;
  throw_if_error(Tensor::create_image(img.dtype, img.height(), img.width(), 1, Device::cpu(), out));
  visit_dtype(img.dtype, [&](auto tag) {
    using T = decltype(tag);
    for (std::int64_t y = 0; y < img.height(); ++y)
      for (std::int64_t x = 0; x < img.width(); ++x)
        out.view().row<T>(y)[x] = static_cast<T>(test::pixel(img, y, x, c));
  });
  return out;
}

Status run(const std::string& op, const Params& params, const View& src, Tensor& out) {
  const OpSpec* spec = find_op(op);
  if (!spec) return {Errc::internal, "no op " + op};
  OpArgs args;
  TANDEM_TRY(parse_args(*spec, params, args));
  return run_op(*spec, args, src, out, Exec::cpu());
}

// The ops whose channels are independent: their C-channel result, channel by
// channel, must equal the result on that channel alone (whose 1-channel
// layouts the per-op tests check against float64 references and OpenCV).
const std::map<std::string, Params> kPerChannel = {
    {"gaussian", {{"sigma", "1.3"}}}, {"box", {{"size", "3"}}}, {"filter", {{"kernel", "0,-1,0;-1,5,-1;0,-1,0"}}},
    {"sobel", {}}, {"median", {{"size", "3"}}}, {"threshold", {{"value", "0.5"}}}, {"invert", {}},
    {"resize", {{"width", "9"}, {"height", "4"}}}};

// Float64 references of the array ops on the flattened input.
using Ref = std::function<std::vector<double>(const std::vector<double>&)>;
std::vector<double> each(const std::vector<double>& x, double (*f)(double)) {
  std::vector<double> y(x.size());
  std::transform(x.begin(), x.end(), y.begin(), f);
  return y;
}
const std::map<std::string, std::pair<Params, Ref>> kArrayOps = {
    {"affine", {{{"scale", "0.5"}, {"offset", "3"}}, [](auto x) { return each(x, [](double v) { return v * 0.5 + 3; }); }}},
    {"clamp", {{{"min", "10"}, {"max", "30"}}, [](auto x) { return each(x, [](double v) { return std::clamp(v, 10.0, 30.0); }); }}},
    {"abs", {{}, [](auto x) { return each(x, [](double v) { return std::abs(v); }); }}},
    {"sqrt", {{}, [](auto x) { return each(x, [](double v) { return std::sqrt(v); }); }}},
    {"exp", {{}, [](auto x) { return each(x, [](double v) { return std::exp(v); }); }}},
    {"log", {{}, [](auto x) { return each(x, [](double v) { return std::log(v); }); }}},
    {"pow", {{{"p", "2"}}, [](auto x) { return each(x, [](double v) { return v * v; }); }}},
    {"normalize", {{}, [](auto x) {
       const auto [lo, hi] = std::minmax_element(x.begin(), x.end());
       const double a = *lo, b = *hi;
       std::vector<double> y(x.size());
       for (std::size_t i = 0; i < x.size(); ++i) y[i] = (x[i] - a) / (b - a);
       return y;
     }}},
    {"sort", {{}, [](auto x) {
       for (std::int64_t r = 0; r < kRows; ++r) std::sort(x.begin() + r * kCols, x.begin() + (r + 1) * kCols);
       return x;
     }}},
    {"cumsum", {{}, [](auto x) {
       std::partial_sum(x.begin(), x.end(), x.begin());
       return x;
     }}},
    {"stats", {{}, [](auto x) {
       const double n = double(x.size()), sum = std::accumulate(x.begin(), x.end(), 0.0), mean = sum / n;
       double ss = 0;
       for (double v : x) ss += (v - mean) * (v - mean);
       return std::vector<double>{n, sum, *std::min_element(x.begin(), x.end()), *std::max_element(x.begin(), x.end()),
                                  mean, std::sqrt(ss / n)};
     }}},
    {"histogram", {{{"bins", "8"}, {"min", "0"}, {"max", "40"}}, [](auto x) {
       std::vector<double> h(8);
       for (double v : x) h[std::size_t(std::min(7.0, std::floor(v / 5)))] += 1;
       return h;
     }}},
};

// f32 results (and stats of f32 input, summed in f32 blocks) to their documented precision.
double tolerance(DType in, DType out, const std::vector<double>& ref) {
  double scale = 1;
  for (double v : ref) scale = std::max(scale, std::abs(v));
  if (in == DType::f32 && out == DType::f64) return 1e-5 * scale;
  if (out == DType::f32) return 2e-6 * scale;
  if (out == DType::f64) return 1e-12 * scale;
  return 0;
}

TEST(OpLayouts, EveryOpRunsEveryDeclaredLayoutAndMatchesItsReference) {
  int checked = 0;
  for (const OpSpec* spec : op_table()) {
    ASSERT_FALSE(spec->layouts.empty()) << spec->name;
    const std::string op(spec->name);
    for (const Layout& l : spec->layouts) {
      SCOPED_TRACE(op + " on " + dtype_name(l.dtype) + " x" + std::to_string(l.channels));
      Tensor out;
      if (spec->kind == OpKind::image) {
        const Tensor img = test::random_image(l.dtype, kH, kW, l.channels, 11 + checked);
        const View& v = img.view();
        if (kPerChannel.count(op)) {
          const Params& p = kPerChannel.at(op);
          ASSERT_TRUE(run(op, p, v, out).ok()) << run(op, p, v, out).message();
          for (std::int64_t c = 0; c < l.channels; ++c) {
            Tensor alone;
            ASSERT_TRUE(run(op, p, channel(v, c).view(), alone).ok());
            // Integers exactly; f32 to an ulp or two (the vector paths per channel count
            // may contract differently).
            const double tol = l.dtype == DType::f32 ? 1e-6 : 0;
            EXPECT_TRUE(test::all_near(channel(out.view(), c).view(), values(alone.view()), tol)) << "channel " << c;
          }
        } else if (op == "grayscale") {
          ASSERT_TRUE(run(op, {}, v, out).ok());
          std::vector<double> ref;
          for (std::int64_t y = 0; y < kH; ++y)
            for (std::int64_t x = 0; x < kW; ++x)
              ref.push_back(l.channels == 1 ? test::pixel(v, y, x, 0)
                            : l.dtype == DType::f32
                                ? 0.299 * test::pixel(v, y, x, 0) + 0.587 * test::pixel(v, y, x, 1) +
                                      0.114 * test::pixel(v, y, x, 2)
                                : (9798 * test::pixel(v, y, x, 0) + 19235 * test::pixel(v, y, x, 1) +
                                   3735 * test::pixel(v, y, x, 2)) / 32768);
          // Integers: OpenCV's 15-bit weights, rounded; f32: BT.601 in float.
          EXPECT_TRUE(test::all_near(out.view(), ref, l.dtype == DType::f32 ? 1e-6 : 0.5));
        } else {
          ASSERT_EQ(op, "equalize");
          ASSERT_TRUE(run(op, {}, v, out).ok());
          // Equalisation maps through the cumulative histogram: the order of
          // pixel values is kept and the brightest pixel becomes 255.
          const auto in = values(v), got = values(out.view());
          for (std::size_t i = 0; i < in.size(); ++i)
            for (std::size_t j = 0; j < in.size(); ++j)
              if (in[i] < in[j]) ASSERT_LE(got[i], got[j]);
          EXPECT_EQ(*std::max_element(got.begin(), got.end()), 255);
        }
      } else if (op == "matmul") {
        const Tensor a = grid_tensor(l.dtype, {kRows, kCols}, 3);
        const Tensor b = grid_tensor(l.dtype, {kCols, 5}, 4);
        const auto path = (std::filesystem::temp_directory_path() / "tandem_op_layouts_b.npy").string();
        ASSERT_TRUE(io::write_npy(path, b.view()).ok());
        ASSERT_TRUE(run(op, {{"with", path}}, a.view(), out).ok());
        std::vector<double> ref;
        for (std::int64_t i = 0; i < kRows; ++i)
          for (std::int64_t j = 0; j < 5; ++j) {
            double s = 0;
            for (std::int64_t k = 0; k < kCols; ++k) s += test::at(a.view(), i * kCols + k) * test::at(b.view(), k * 5 + j);
            ref.push_back(s);
          }
        EXPECT_TRUE(test::all_near(out.view(), ref, tolerance(DType::f64, out.view().dtype, ref)));
        std::filesystem::remove(path);
      } else {
        ASSERT_TRUE(kArrayOps.count(op)) << "no reference for " << op;
        const auto& [params, ref_fn] = kArrayOps.at(op);
        const Tensor a = grid_tensor(l.dtype, {kRows, kCols}, 5 + checked);
        const Status s = run(op, params, a.view(), out);
        ASSERT_TRUE(s.ok()) << s.message();
        const std::vector<double> ref = ref_fn(values(a.view()));
        EXPECT_TRUE(test::all_near(out.view(), ref, tolerance(l.dtype, out.view().dtype, ref)));
      }
      ++checked;
    }
  }
  EXPECT_GE(checked, 100);  // 10 image ops x their layouts + 13 array ops x 6 dtypes
}

TEST(OpLayouts, AnUndeclaredLayoutIsRefusedNamingTheAcceptedOnes) {
  for (const OpSpec* spec : op_table()) {
    SCOPED_TRACE(std::string(spec->name));
    Tensor in, out;
    if (spec->kind == OpKind::image) in = test::random_image(DType::u8, kH, kW, 2, 1);  // no op takes 2 channels
    else if (spec->name == "matmul") in = grid_tensor(DType::u8, {kRows, kCols}, 1);
    else continue;  // the other array ops take every dtype
    const Status s = run_op(*spec, OpArgs{}, in.view(), out, Exec::cpu());
    EXPECT_EQ(s.code(), Errc::unsupported) << s.message();
    EXPECT_NE(s.message().find("(accepts " + layouts_text(spec->layouts) + ")"), std::string::npos) << s.message();
  }
  // One message spelled out, as a user sees it.
  Tensor out;
  const Status s = run_op(*find_op("gaussian"), OpArgs{}, test::random_image(DType::f32, 4, 4, 2, 1).view(), out,
                          Exec::cpu());
  EXPECT_EQ(s.message(), "gaussian does not accept 2-channel f32 images (accepts u8 x1/3/4, u16 x1/3/4, f32 x1/3/4); "
                         "got f32 4x4x2 on cpu");
}

// On the simulated device an op queues its CPU code on the device's stream
// (host/ops/dispatch.hpp). Without a sim backend in the build, it says so.
// On a sim device an op is queued on the device's stream (its CPU code over
// device memory) and gives the CPU's result once the stream is synchronised.
TEST(OpLayouts, OnASimDeviceAnOpRunsItsCpuCodeOnTheDeviceStream) {
  detail::sim_configure({detail::SimDeviceSpec{}});
  const Tensor img = test::random_image(DType::u16, kH, kW, 4, 7);
  const GaussianParams p{1.5, 0, Border::replicate, 0};
  Tensor want;
  ASSERT_TRUE(gaussian(img.view(), want, p, Exec::cpu()).ok());
  Stream stream;
  ASSERT_TRUE(Stream::create(Device::sim(0), stream).ok());
  Tensor got_host;
  {
    StreamAllocScope scope(stream);
    Tensor dev_in, dev_out;
    ASSERT_TRUE(Tensor::create_like(img.view(), Device::sim(0), dev_in).ok());
    ASSERT_TRUE(copy(img.view(), dev_in.view(), stream.handle()).ok());
    ASSERT_TRUE(gaussian(dev_in.view(), dev_out, p, Exec::on(stream)).ok());
    EXPECT_EQ(dev_out.view().device, Device::sim(0));
    ASSERT_TRUE(Tensor::create_like(dev_out.view(), Device::cpu(), got_host).ok());
    ASSERT_TRUE(copy(dev_out.view(), got_host.view(), stream.handle()).ok());
  }
  ASSERT_TRUE(stream.synchronize().ok());
  EXPECT_GE(detail::sim_stats(0).launches, 1);
  EXPECT_TRUE(test::all_near(got_host.view(), values(want.view()), 0));
  detail::sim_configure({});
}

}  // namespace
}  // namespace tandem
