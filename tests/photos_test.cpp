// Every image op on real photos (data/images), on each device, against
// OpenCV 4.6's output for the same call (tests/golden/make_photos_golden.py
// stores a 48 x 64 crop of each). Tolerances as the kernels issue states:
// exact where OpenCV is exact, +-1 where it rounds u8 in fixed point.
#include <gtest/gtest.h>

#include "tandem/io/codec.hpp"
#include "tandem/io/npy.hpp"
#include "tests/support/test_support.hpp"

namespace tandem {
namespace {

struct Case {
  const char* op;
  std::map<std::string, std::string, std::less<>> params;
  double tol;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {"gaussian", {{"sigma", "2"}}, 1},
      {"box", {{"size", "5"}}, 1},
      {"sobel", {}, 1},
      {"median", {{"size", "5"}}, 0},
      {"resize", {{"width", "300"}, {"height", "280"}}, 1},
      {"threshold", {{"value", "128"}}, 0},
      {"invert", {}, 0},
      {"filter", {{"kernel", "0,-1,0;-1,5,-1;0,-1,0"}}, 1},
      {"equalize", {}, 0},   // camera (gray) only
      {"grayscale", {}, 0},  // astronaut (RGB) only
  };
  return c;
}

class Photos : public test::DeviceTest {};

TEST_P(Photos, MatchOpenCV) {
  test::DeviceRunner runner(GetParam());
  int compared = 0;
  for (const char* stem : {"camera", "astronaut"}) {
    Tensor img;
    ASSERT_TRUE(io::read_image(test::data_dir() + "/images/" + stem + ".png", img).ok());
    for (const Case& c : cases()) {
      const std::string golden = std::string(TANDEM_SOURCE_DIR) + "/tests/golden/photos_" + stem + "_" + c.op + ".npy";
      Tensor want;
      if (!io::read_npy(golden, want).ok()) continue;  // op not meaningful for this photo
      SCOPED_TRACE(std::string(stem) + " " + c.op);
      Tensor got = runner.run(c.op, c.params, img.view());
      // Compare the same window the golden file holds.
      const View& g = got.view();
      const View& w = want.view();
      ASSERT_EQ(w.dtype, g.dtype);
      const std::int64_t y0 = g.height() > 200 + w.height() ? 200 : 0, x0 = g.width() > 224 + w.width() ? 224 : 0;
      std::vector<double> ref(static_cast<std::size_t>(w.numel()));
      for (std::size_t i = 0; i < ref.size(); ++i) ref[i] = test::at(w, static_cast<std::int64_t>(i));
      View window = g;
      window.data = static_cast<char*>(g.data) + y0 * g.strides[0] + x0 * g.strides[1];
      window.shape[0] = w.height();
      window.shape[1] = w.width();
      EXPECT_TRUE(test::all_near(window, ref, c.tol));
      ++compared;
    }
  }
  EXPECT_EQ(compared, 18);  // 9 ops per photo
}

INSTANTIATE_TEST_SUITE_P(Devices, Photos, ::testing::ValuesIn(test::test_devices()), test::device_name);

}  // namespace
}  // namespace tandem
