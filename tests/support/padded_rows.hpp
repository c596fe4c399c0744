// Runs an op between images with padded rows on a test's device (resize and
// sobel tests); builds on image_helpers.hpp and DeviceRunner.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>

#include "tests/support/image_helpers.hpp"
#include "tests/support/test_support.hpp"

namespace tandem::test {

/// Runs `op(src, dst)` from a padded copy of `host` (rows padded by `src_pad` elements)
/// into a zeroed dst_h x dst_w image padded by `dst_pad`, both on the runner's device, and
/// returns the result downloaded; a failed op fails the test and gives an empty tensor.
template <class Op>
Tensor run_padded_rows(DeviceRunner& runner, const View& host, std::int64_t dst_h, std::int64_t dst_w,
                       std::int64_t src_pad, std::int64_t dst_pad, Op&& op) {
  const Exec& exec = runner.exec();
  const Tensor zeros = random_image_upto(host.dtype, dst_h, dst_w, host.channels(), 6, 0);
  PaddedImage src = padded_image(host, exec.device, src_pad, exec.stream);
  PaddedImage dst = padded_image(zeros.view(), exec.device, dst_pad, exec.stream);
  const Status s = op(src.view, dst.view);
  EXPECT_TRUE(s.ok()) << s.message();
  if (!s.ok()) return {};
  return runner.download(dst.view);
}

}  // namespace tandem::test
