// Helpers of the engine tests (engine_test, engine_sim_test): scratch
// directories, parsing, CPU options, and results checked against the
// pipeline applied directly on the CPU.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tandem/engine.hpp"
#include "tandem/pipeline.hpp"
#include "tests/support/test_support.hpp"

namespace tandem::test::engine {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    static int n = 0;
    path_ = fs::temp_directory_path() / ("tandem-engine-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  std::string str(const std::string& rel = "") const { return (path_ / rel).string(); }

 private:
  fs::path path_;
};

inline Pipeline parse(const std::string& text) {
  Pipeline p;
  ParseError e;
  const Status s = Pipeline::parse(text, p, &e);
  if (!s.ok()) throw Error(s);
  return p;
}

inline RunOptions cpu_options(const std::string& out) {
  RunOptions o;
  o.output_dir = out;
  o.device = DeviceChoice::cpu;
  o.model_cache = "-";
  return o;
}

/// Host tensors and the views of them that run_tensors takes.
struct Images {
  std::vector<Tensor> owned;
  std::vector<View> views;
};

/// An image's height, width and channels.
using Shape = std::array<std::int64_t, 3>;

/// `n` random images of `dtype`: image i has shape_of(i) and seed `seed + i`.
template <class ShapeOf>
Images random_images(int n, DType dtype, std::uint64_t seed, ShapeOf&& shape_of) {
  Images out;
  for (int i = 0; i < n; ++i) {
    const Shape s = shape_of(i);
    out.owned.push_back(random_image(dtype, s[0], s[1], s[2], seed + std::uint64_t(i)));
  }
  for (const Tensor& t : out.owned) out.views.push_back(t.view());
  return out;
}

/// Sizes from 1 x 1 to `max_h` x `max_w`, spread by two coprime strides; every third image RGB, the others gray.
inline auto mixed_sizes(std::int64_t max_h, std::int64_t max_w) {
  return [=](int i) {
    return Shape{1 + (i * 37) % max_h, 1 + (i * 53) % max_w, i % 3 == 0 ? 3 : 1};
  };
}

/// run_batch of `p` with `o`, which must run (its items may fail: the summary says).
inline RunSummary run_ok(const Pipeline& p, const RunOptions& o) {
  RunSummary sum;
  const Status s = run_batch(p, o, sum);
  EXPECT_TRUE(s.ok()) << s.message();
  return sum;
}

/// run_ok on the CPU over the input `in` (a directory or a file) into `out`.
inline RunSummary cpu_run(const Pipeline& p, const std::string& in, const std::string& out) {
  RunOptions o = cpu_options(out);
  o.inputs = {in};
  return run_ok(p, o);
}

// Applies `pipeline` directly (no engine) on the CPU.
inline Tensor direct(const Pipeline& p, const View& in) {
  Tensor out;
  throw_if_error(p.apply(in, out, Exec::cpu()));
  return out;
}

inline ::testing::AssertionResult same(const View& a, const View& b) {
  if (!a.same_layout(b)) return ::testing::AssertionFailure() << a.describe() << " vs " << b.describe();
  std::vector<double> want(static_cast<std::size_t>(b.numel()));
  for (std::size_t i = 0; i < want.size(); ++i) want[i] = tandem::test::at(b, static_cast<std::int64_t>(i));
  return tandem::test::all_near(a, want, 0);
}

// run_tensors on `device`: each result arrives once and equals the pipeline applied directly on the CPU.
inline RunSummary run_tensors_checked(const Pipeline& p, const std::vector<View>& views, DeviceChoice device) {
  RunOptions o;
  o.device = device;
  o.model_cache = "-";
  std::vector<int> seen(views.size(), 0);
  RunSummary sum;
  const Status st = run_tensors(p, views, o,
                                [&](std::size_t i, const Status& s, Tensor& r) {
                                  ASSERT_TRUE(s.ok()) << s.message();
                                  ++seen[i];
                                  EXPECT_TRUE(same(r.view(), direct(p, views[i]).view())) << "input " << i << " " << views[i].describe();
                                },
                                sum);
  EXPECT_TRUE(st.ok()) << st.message();
  for (int n : seen) EXPECT_EQ(n, 1);
  return sum;
}

}  // namespace tandem::test::engine
