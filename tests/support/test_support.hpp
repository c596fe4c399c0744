// Test helpers: deterministic random inputs, the devices to instantiate each
// suite for, host<->device round trips, and comparisons that never let NaN pass.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "tandem/tandem.hpp"

namespace tandem::test {

/// Directory of the project's bundled data (data/).
std::string data_dir();

/// The devices every op suite is instantiated for: the CPU and, when compiled
/// in, CUDA device 0 (those cases skip at run time without a GPU).
std::vector<Device> test_devices();
/// Name for INSTANTIATE_TEST_SUITE_P: "cpu" / "cuda0".
std::string device_name(const ::testing::TestParamInfo<Device>& info);

/// Skips the current test with a reason when `device` is CUDA and no GPU is usable.
#define TANDEM_SKIP_IF_UNAVAILABLE(device)                                          \
  do {                                                                              \
    if ((device).is_cuda() && ::tandem::cuda_device_count() == 0)                   \
      GTEST_SKIP() << "no usable CUDA device: " << ::tandem::cuda_status();         \
  } while (0)

/// The fixture of the suites instantiated for every device of test_devices():
/// a test on a device that is not usable skips, with the reason, before its body.
class DeviceTest : public ::testing::TestWithParam<Device> {
 protected:
  void SetUp() override { TANDEM_SKIP_IF_UNAVAILABLE(GetParam()); }
};

/// Holds a host tensor and runs ops on a chosen device: uploads inputs,
/// downloads outputs, and owns the stream for CUDA.
class DeviceRunner {
 public:
  explicit DeviceRunner(Device device);
  [[nodiscard]] const Exec& exec() const { return exec_; }
  /// Copies a host view to the runner's device (identity on the CPU).
  Tensor upload(const View& host);
  /// Copies a view on the runner's device back to a new host tensor (and synchronizes).
  Tensor download(const View& dev);
  /// Runs `op` (by name, with `key=value` params) on a host input and returns the host result.
  Tensor run(const std::string& op, const std::map<std::string, std::string, std::less<>>& params,
             const View& host_input);

 private:
  Device device_;
  Stream stream_;
  Exec exec_;
};

/// A host tensor filled with uniform random values of its dtype
/// (integers over the full range up to 65535, floats in [lo, hi)).
Tensor random_tensor(DType dtype, std::vector<std::int64_t> shape, std::uint64_t seed,
                     double lo = 0.0, double hi = 1.0);
Tensor random_image(DType dtype, std::int64_t h, std::int64_t w, std::int64_t c, std::uint64_t seed);

/// `n` uniform random values of T: floats in [-range, range), integers over all of T.
template <class T>
std::vector<T> random_values(std::int64_t n, std::uint64_t seed, double range) {
  std::mt19937_64 rng(seed);
  std::vector<T> v(static_cast<std::size_t>(n));
  if constexpr (std::is_floating_point_v<T>) {
    std::uniform_real_distribution<double> d(-range, range);
    for (auto& x : v) x = static_cast<T>(d(rng));
  } else {
    using Wide = std::conditional_t<sizeof(T) == 8, T, std::int64_t>;  // no 8-bit distributions
    std::uniform_int_distribution<Wide> d(std::numeric_limits<T>::lowest(), std::numeric_limits<T>::max());
    for (auto& x : v) x = static_cast<T>(d(rng));
  }
  return v;
}

/// A C-order host tensor of `shape` holding `values` (which must fill it).
template <class T>
Tensor host_tensor(const std::vector<T>& values, const std::vector<std::int64_t>& shape) {
  Tensor t;
  throw_if_error(Tensor::create(dtype_of_v<T>, shape, Device::cpu(), t));
  EXPECT_EQ(static_cast<std::size_t>(t.view().numel()), values.size());
  if (!values.empty()) std::memcpy(t.view().data, values.data(), values.size() * sizeof(T));
  return t;
}

/// Element (i) of a host view as double (any dtype, C-order flat index).
double at(const View& v, std::int64_t flat_index);
/// Pixel (y, x, c) of a host image as double.
double pixel(const View& img, std::int64_t y, std::int64_t x, std::int64_t c);

/// Compares a host result with a double reference of the same shape (flat, C order):
/// fails (with the first few offending positions) when |got - want| > tol or either is NaN.
::testing::AssertionResult all_near(const View& got, const std::vector<double>& want, double tol);

}  // namespace tandem::test
