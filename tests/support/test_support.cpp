#include "tests/support/test_support.hpp"

#include <cstdlib>
#include <sstream>

namespace tandem::test {

std::string data_dir() {
  if (const char* d = std::getenv("TANDEM_DATA_DIR")) return d;
  return std::string(TANDEM_SOURCE_DIR) + "/data";
}

std::vector<Device> test_devices() {
  std::vector<Device> d{Device::cpu()};
  if (cuda_compiled()) d.push_back(Device::cuda(0));
  return d;
}

std::string device_name(const ::testing::TestParamInfo<Device>& info) {
  return info.param.is_cpu() ? "cpu" : "cuda" + std::to_string(info.param.index);
}

DeviceRunner::DeviceRunner(Device device) : device_(device) {
  exec_.device = device;
  if (device.is_cuda()) {
    throw_if_error(Stream::create(device.index, stream_));
    exec_.stream = stream_.handle();
  }
}

Tensor DeviceRunner::upload(const View& host) {
  Tensor t;
  throw_if_error(Tensor::create_like(host, device_, t));
  throw_if_error(copy(host, t.view(), exec_.stream));
  throw_if_error(stream_.synchronize());
  return t;
}

Tensor DeviceRunner::download(const View& dev) {
  Tensor t;
  throw_if_error(Tensor::create_like(dev, Device::cpu(), t));
  throw_if_error(stream_.synchronize());
  throw_if_error(copy(dev, t.view(), exec_.stream));
  throw_if_error(stream_.synchronize());
  return t;
}

Tensor DeviceRunner::run(const std::string& op, const std::map<std::string, std::string, std::less<>>& params,
                         const View& host_input) {
  const OpSpec* spec = find_op(op);
  if (!spec) throw Error({Errc::invalid_argument, "no op " + op});
  OpArgs args;
  throw_if_error(parse_args(*spec, params, args));
  Tensor in = upload(host_input);
  Tensor out;
  throw_if_error(run_op(*spec, args, in.view(), out, exec_));
  return download(out.view());
}

Tensor random_tensor(DType dtype, std::vector<std::int64_t> shape, std::uint64_t seed, double lo, double hi) {
  Tensor t;
  throw_if_error(Tensor::create(dtype, shape, Device::cpu(), t));
  std::mt19937_64 rng(seed);
  const std::int64_t n = t.view().numel();
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.view().ptr<T>();
    if constexpr (std::is_floating_point_v<T>) {
      std::uniform_real_distribution<double> d(lo, hi);
      for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(d(rng));
    } else {
      const std::int64_t top = std::min<std::int64_t>(std::numeric_limits<T>::max(), 65535);
      const std::int64_t bottom = std::is_signed_v<T> ? -top : 0;
      std::uniform_int_distribution<std::int64_t> d(bottom, top);
      for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(d(rng));
    }
  });
  return t;
}

Tensor random_image(DType dtype, std::int64_t h, std::int64_t w, std::int64_t c, std::uint64_t seed) {
  std::vector<std::int64_t> shape{h, w};
  if (c != 1) shape.push_back(c);
  return random_tensor(dtype, shape, seed);
}

double at(const View& v, std::int64_t i) {
  // Walk the flat index through the strides so padded views work too.
  std::int64_t offset = 0;
  for (int d = v.ndim - 1; d >= 0; --d) {
    offset += (i % v.shape[d]) * v.strides[d];
    i /= v.shape[d];
  }
  const char* p = static_cast<const char*>(v.data) + offset;
  return visit_dtype(v.dtype, [&](auto tag) {
    using T = decltype(tag);
    return static_cast<double>(*reinterpret_cast<const T*>(p));
  });
}

double pixel(const View& img, std::int64_t y, std::int64_t x, std::int64_t c) {
  return at(img, (y * img.width() + x) * img.channels() + c);
}

::testing::AssertionResult all_near(const View& got, const std::vector<double>& want, double tol) {
  if (static_cast<std::size_t>(got.numel()) != want.size())
    return ::testing::AssertionFailure() << "size " << got.numel() << " != reference size " << want.size();
  std::ostringstream bad;
  std::int64_t nbad = 0;
  double worst = 0;
  for (std::int64_t i = 0; i < got.numel(); ++i) {
    const double g = at(got, i);
    const double w = want[static_cast<std::size_t>(i)];
    const double err = std::abs(g - w);
    if (std::isnan(g) || std::isnan(w) || !(err <= tol)) {
      if (nbad < 5) bad << "\n  [" << i << "] got " << g << " want " << w;
      ++nbad;
      if (!(err <= worst)) worst = err;
    }
  }
  if (nbad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << nbad << " of " << got.numel() << " elements differ by more than "
                                       << tol << " (worst " << worst << ")" << bad.str();
}

}  // namespace tandem::test
