// invert: every dtype x channel count x size x device against an independent reference,
// padded strides and in place, and the error paths.
#include "tandem/ops/invert.hpp"

#include <gtest/gtest.h>

#include "tests/pointops_test_util.hpp"
#include "tests/support/simd_targets.hpp"

namespace tandem {
namespace {

namespace pt = test::pointops;

class InvertTest : public test::DeviceTest {};

// max - x in double: exact for the integer types; for f32 the only error is tandem's one
// float rounding of 1 - x (at most half an ulp of 1, 2^-24).
std::vector<double> reference(const View& img) {
  const double m = img.dtype == DType::u8 ? 255.0 : img.dtype == DType::u16 ? 65535.0 : 1.0;
  std::vector<double> out = pt::values(img);
  for (double& v : out) v = m - v;
  return out;
}

double tolerance(DType t) { return t == DType::f32 ? 0x1p-24 : 0.0; }

TEST_P(InvertTest, MatchesReferenceForEveryDtypeChannelsAndSize) {
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    pt::for_each_image([&](DType t, int c, const pt::Size2& sz, const Tensor& img) {
      SCOPED_TRACE(pt::label(t, sz.h, sz.w, c));
      Tensor out = pt::run_alloc(runner, img.view(), [](const View& s, Tensor& d, const Exec& e) {
        return invert(s, d, InvertParams{}, e);
      });
      ASSERT_EQ(out.view().ndim, img.view().ndim);
      EXPECT_TRUE(test::all_near(out.view(), reference(img.view()), tolerance(t)));
    });
  });
}

TEST_P(InvertTest, ExtremesAndTableEntry) {
  test::for_each_simd_target_with_runner(GetParam(), [&](test::DeviceRunner& runner) {
    Tensor u16;
    ASSERT_TRUE(Tensor::create_image(DType::u16, 1, 4, 1, Device::cpu(), u16).ok());
    const std::uint16_t v[] = {0, 1, 65534, 65535};
    std::copy(v, v + 4, u16.view().ptr<std::uint16_t>());
    Tensor out = runner.run("invert", {}, u16.view());
    EXPECT_TRUE(test::all_near(out.view(), {65535, 65534, 1, 0}, 0.0));
    Tensor f32;
    ASSERT_TRUE(Tensor::create_image(DType::f32, 1, 3, 1, Device::cpu(), f32).ok());
    f32.view().ptr<float>()[0] = 0.0f;
    f32.view().ptr<float>()[1] = 1.0f;
    f32.view().ptr<float>()[2] = 0.25f;
    out = runner.run("invert", {}, f32.view());
    EXPECT_TRUE(test::all_near(out.view(), {1.0, 0.0, 0.75}, 0.0));
  });
}

TEST_P(InvertTest, PaddedStridesAndInPlace) {
  const Device dev = GetParam();
  pt::for_each_layout_on(dev, 300, [&](test::DeviceRunner& runner, DType t, int c, std::uint64_t& seed) {
    for (bool aligned : {false, true}) {
      SCOPED_TRACE(pt::label(t, 41, 29, c) + (aligned ? " aligned" : ""));
      Tensor img = test::random_image(t, 41, 29, c, seed++);
      pt::check_padded_and_in_place(runner, dev, img.view(), aligned, "invert", reference(img.view()), tolerance(t),
                                    [&](const View& s, const View& d) {
                                      return invert(s, d, InvertParams{}, runner.exec());
                                    });
    }
  });
}

// Where input and output do not fit in the shared cache, the output is written with
// non-temporal stores from the first address aligned to the vector (pointops::stream_output):
// packed, with odd row padding (every row starts unaligned) and in place, on every target,
// with the cache taken to be 64 KiB so that small images stream.
TEST_P(InvertTest, OutputsLargerThanTheCacheToo) {
  const pt::SharedCacheOf small(64 << 10);
  test::for_each_simd_target_on(GetParam(), [&] {
    const Device dev = GetParam();
    test::DeviceRunner runner(dev);
    for (DType t : {DType::u8, DType::u16, DType::f32}) {
      const std::int64_t w = t == DType::u8 ? 257 : t == DType::u16 ? 131 : 67;  // 4 channels: 131 KiB, in place too
      Tensor img = test::random_image(t, 131, w, 4, 78);
      const std::vector<double> want = reference(img.view());
      Tensor out = pt::run_alloc(runner, img.view(), [](const View& s, Tensor& d, const Exec& e) {
        return invert(s, d, InvertParams{}, e);
      });
      EXPECT_TRUE(test::all_near(out.view(), want, tolerance(t))) << dtype_name(t);
      pt::check_padded_and_in_place(runner, dev, img.view(), false, "invert", want, tolerance(t),
                                    [&](const View& s, const View& d) { return invert(s, d, InvertParams{}, runner.exec()); });
    }
  });
}

TEST_P(InvertTest, RejectsBadInputsWithAClearStatus) {
  test::DeviceRunner runner(GetParam());
  const Exec& exec = runner.exec();
  Tensor dst;
  Tensor f64 = runner.upload(test::random_image(DType::f64, 4, 5, 1, 1).view());
  EXPECT_TRUE(pt::fails_with(invert(f64.view(), dst, {}, exec), Errc::unsupported, {"invert", "f64"}));
  Tensor five = runner.upload(test::random_image(DType::u8, 4, 5, 5, 1).view());
  EXPECT_TRUE(pt::fails_with(invert(five.view(), dst, {}, exec), Errc::unsupported, {"5-channel"}));
  Tensor img = runner.upload(test::random_image(DType::f32, 4, 5, 1, 1).view());
  Tensor u8;
  ASSERT_TRUE(Tensor::create_image(DType::u8, 4, 5, 1, GetParam(), u8).ok());
  EXPECT_TRUE(pt::fails_with(invert(img.view(), u8.view(), {}, exec), Errc::invalid_argument, {"dst must be f32 4x5"}));
  // Through the table: invert takes no parameters.
  const OpSpec* spec = find_op("invert");
  ASSERT_NE(spec, nullptr);
  OpArgs args;
  EXPECT_TRUE(pt::fails_with(parse_args(*spec, {{"value", "1"}}, args), Errc::invalid_argument, {"takes none"}));
}

INSTANTIATE_TEST_SUITE_P(Devices, InvertTest, ::testing::ValuesIn(test::test_devices()), test::device_name);

}  // namespace
}  // namespace tandem
