// Pipeline parsing (errors with a caret at the fault) and chained application.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "tandem/io/npy.hpp"
#include "tandem/pipeline.hpp"
#include "tests/support/test_support.hpp"

namespace tandem {
namespace {

Status parse(const std::string& text, Pipeline& p, ParseError& e) { return Pipeline::parse(text, p, &e); }

/// Parses `text`, which must fail with the error's column at the first `at`; returns the error.
ParseError parse_error_at(const std::string& text, const std::string& at) {
  Pipeline p;
  ParseError e;
  EXPECT_FALSE(parse(text, p, e).ok()) << text;
  EXPECT_EQ(e.column, text.find(at)) << text;
  return e;
}

TEST(PipelineParse, StagesAndDefaults) {
  Pipeline p;
  ParseError e;
  ASSERT_TRUE(parse("gaussian sigma=2 | sobel", p, e).ok()) << e.message;
  ASSERT_EQ(p.stages().size(), 2u);
  EXPECT_EQ(p.stages()[0].op->name, "gaussian");
  EXPECT_DOUBLE_EQ(p.stages()[0].args.number("sigma"), 2.0);
  EXPECT_EQ(p.stages()[0].args.text("border"), "reflect101");  // default filled in
  EXPECT_EQ(p.stages()[1].text, "sobel");
  EXPECT_EQ(p.result_kind(), OpKind::image);
}

TEST(PipelineParse, QuotedMatrixValue) {
  Pipeline p;
  ParseError e;
  ASSERT_TRUE(parse("filter kernel=\"1, 2, 1; 2, 4, 2; 1, 2, 1\" border=replicate", p, e).ok()) << e.message;
  const Matrix& m = p.stages()[0].args.matrix("kernel");
  EXPECT_EQ(m.rows, 3);
  EXPECT_EQ(m.cols, 3);
  EXPECT_DOUBLE_EQ(m.values[4], 4.0);
}

TEST(PipelineParse, UnknownOpPointsAtIt) {
  Pipeline p;
  ParseError e;
  const std::string text = "gaussian sigma=2 | blurr size=3";
  const Status s = parse(text, p, e);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(e.column, text.find("blurr"));
  EXPECT_NE(e.message.find("unknown op 'blurr'"), std::string::npos);
  EXPECT_NE(e.hint.find("gaussian"), std::string::npos);  // lists the ops
  // The formatted message has the caret under the fault.
  const std::string f = e.format(text);
  const auto line2 = f.substr(f.find('\n') + 1);
  EXPECT_EQ(line2.find('^'), std::string("pipeline: ").size() + text.find("blurr"));
}

TEST(PipelineParse, BadValuePointsAtTheParameterAndListsValidOnes) {
  const ParseError e = parse_error_at("box size=3 | gaussian sigma=abc", "sigma");
  EXPECT_NE(e.message.find("not a number"), std::string::npos);
  EXPECT_NE(e.hint.find("radius"), std::string::npos);
}

TEST(PipelineParse, UnknownParameter) {
  const ParseError e = parse_error_at("box sise=3", "sise");
  EXPECT_NE(e.message.find("no parameter 'sise'"), std::string::npos);
}

TEST(PipelineParse, StructuralErrors) {
  Pipeline p;
  ParseError e;
  EXPECT_FALSE(parse("", p, e).ok());
  EXPECT_NE(e.message.find("empty pipeline"), std::string::npos);
  EXPECT_FALSE(parse("invert || invert", p, e).ok());
  EXPECT_EQ(e.message, "empty stage between '|'");
  EXPECT_FALSE(parse("box size", p, e).ok());
  EXPECT_NE(e.message.find("key=value"), std::string::npos);
  EXPECT_FALSE(parse("box size=3 size=5", p, e).ok());
  EXPECT_NE(e.message.find("given twice"), std::string::npos);
  EXPECT_FALSE(parse("stats | abs", p, e).ok());
  EXPECT_NE(e.message.find("must be the last op"), std::string::npos);
  EXPECT_FALSE(parse("filter kernel=\"1,2", p, e).ok());
  EXPECT_NE(e.message.find("unterminated quote"), std::string::npos);
  EXPECT_FALSE(parse("pow", p, e).ok());  // p is required
  EXPECT_NE(e.message.find("needs parameter p"), std::string::npos) << e.message;
}

// Checks that need no data run when the pipeline is parsed, so a bad pipeline
// fails before any input is read, with the caret on the parameter at fault.
TEST(PipelineParse, DataIndependentChecksFailAtParseTime) {
  struct Case {
    std::string text, key, message;
  };
  const Case cases[] = {
      {"invert | median size=4", "size", "median: parameter 'size' must be odd (the window needs a centre pixel); got 4"},
      {"filter kernel=1,2,3,4", "kernel",
       "filter: parameter 'kernel' must have an odd number of rows and of columns; got 1 x 4"},
      {"clamp min=5 max=1", "min", "clamp: parameter 'min' (5) is greater than max (1)"},
      {"gaussian sigma=0", "sigma",
       "gaussian: parameter 'sigma' = 0 needs an explicit radius (sigma is then derived from it)"},
      // Integer ranges print as integers, as the user writes them.
      {"box size=5000", "size",
       "box: parameter 'size' is out of range: 5000; expected size (integer in [1, 2047], default 3)"},
      {"gaussian sigma=1e5", "sigma",
       "gaussian: parameter 'sigma' is out of range: 1e5; expected sigma (number in [0, 10000], default 1)"},
  };
  for (const Case& c : cases) {
    const ParseError e = parse_error_at(c.text, c.key + "=");
    EXPECT_EQ(e.message, c.message) << c.text;
  }
}

TEST(PipelineParse, AFileParameterIsReadOnceWhenParsed) {
  const auto dir = std::filesystem::temp_directory_path();
  const std::string missing = (dir / "tandem-pipeline-test-no-such-b.npy").string();
  Pipeline p;
  ParseError e;
  const std::string text = "matmul with=" + missing;
  ASSERT_FALSE(parse(text, p, e).ok());
  EXPECT_EQ(e.column, text.find("with="));
  EXPECT_EQ(e.message.rfind("matmul: parameter 'with': cannot load B from '" + missing + "'", 0), 0u) << e.message;

  // Once parsed, the stage holds B: removing the file does not affect the runs.
  const std::string path = (dir / ("tandem-pipeline-test-b-" + std::to_string(::getpid()) + ".npy")).string();
  const Tensor b = test::host_tensor<double>({1, 2, 3, 4, 5, 6}, {3, 2});
  ASSERT_TRUE(io::write_npy(path, b.view()).ok());
  ASSERT_TRUE(parse("matmul with=" + path, p, e).ok()) << e.message;
  std::filesystem::remove(path);
  const Tensor a = test::host_tensor<double>({1, 0, 2, 0, 1, 1}, {2, 3});
  for (int item = 0; item < 2; ++item) {
    Tensor c;
    ASSERT_TRUE(p.apply(a.view(), c, Exec::cpu()).ok());
    EXPECT_TRUE(test::all_near(c.view(), {1 + 10, 2 + 12, 3 + 5, 4 + 6}, 0));  // A @ B by hand
  }
}

TEST(PipelineParse, Streamable) {
  Pipeline p;
  ParseError e;
  ASSERT_TRUE(parse("affine scale=2 offset=1 | abs | stats", p, e).ok()) << e.message;
  EXPECT_TRUE(p.streamable());
  ASSERT_TRUE(parse("abs | normalize", p, e).ok()) << e.message;
  EXPECT_FALSE(p.streamable());  // normalize needs the whole array's range
  ASSERT_TRUE(parse("gaussian sigma=1", p, e).ok()) << e.message;
  EXPECT_FALSE(p.streamable());
}

class PipelineApply : public test::DeviceTest {};

// A chain equals its ops applied one after another.
TEST_P(PipelineApply, ChainEqualsSequentialOps) {
  test::DeviceRunner runner(GetParam());
  Tensor img = test::random_image(DType::u8, 37, 53, 3, 7);
  Pipeline p;
  ASSERT_TRUE(Pipeline::parse("gaussian sigma=1.5 | sobel | invert", p).ok());
  Tensor in = runner.upload(img.view());
  Tensor out;
  ASSERT_TRUE(p.apply(in.view(), out, runner.exec()).ok());
  Tensor got = runner.download(out.view());

  Tensor a = runner.run("gaussian", {{"sigma", "1.5"}}, img.view());
  Tensor b = runner.run("sobel", {}, a.view());
  Tensor c = runner.run("invert", {}, b.view());
  ASSERT_TRUE(got.view().same_layout(c.view()));
  std::vector<double> want(static_cast<std::size_t>(c.view().numel()));
  for (std::size_t i = 0; i < want.size(); ++i) want[i] = test::at(c.view(), static_cast<std::int64_t>(i));
  EXPECT_TRUE(test::all_near(got.view(), want, 0));
}

TEST_P(PipelineApply, ErrorsNameTheStage) {
  test::DeviceRunner runner(GetParam());
  Tensor img = test::random_image(DType::u8, 8, 8, 3, 1);
  Pipeline p;
  ASSERT_TRUE(Pipeline::parse("invert | equalize", p).ok());  // equalize wants 1 channel
  Tensor in = runner.upload(img.view());
  Tensor out;
  const Status s = p.apply(in.view(), out, runner.exec());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().rfind("equalize", 0), 0u) << s.message();
  // The stage is named once: the op's own prefix is not repeated.
  EXPECT_EQ(s.message().find("equalize: equalize"), std::string::npos) << s.message();
  ASSERT_TRUE(Pipeline::parse("median size=101", p).ok());  // odd, and within u8's bound
  const Status wide = p.apply(runner.upload(test::random_image(DType::f32, 4, 4, 1, 1).view()).view(), out,
                              runner.exec());
  EXPECT_EQ(wide.message(), "median size=101: window size 101 must be at most 99 for f32 images") << wide.message();
}

INSTANTIATE_TEST_SUITE_P(Devices, PipelineApply, ::testing::ValuesIn(test::test_devices()), test::device_name);

}  // namespace
}  // namespace tandem
