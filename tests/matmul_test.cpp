// matmul vs an independent reference: a naive triple loop in double.
#include "tandem/ops/matmul.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <sstream>
#include <vector>

#include "tandem/io/npy.hpp"
#include "tests/support/test_support.hpp"

namespace tandem {
namespace {

/// A host matrix of `dtype` with entries uniform in [-1, 1).
Tensor random_matrix(DType dtype, std::int64_t rows, std::int64_t cols, std::uint64_t seed) {
  return test::random_tensor(dtype, {rows, cols}, seed, -1.0, 1.0);
}

/// C = A B in double, and the sum of |a_ik b_kj| per element (the error scale).
void reference(const View& a, const View& b, std::vector<double>& c, std::vector<double>& scale) {
  const std::int64_t m = a.shape[0], k = a.shape[1], n = b.shape[1];
  c.assign(std::size_t(m * n), 0.0);
  scale.assign(std::size_t(m * n), 0.0);
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      double s = 0, mag = 0;
      for (std::int64_t p = 0; p < k; ++p) {
        const double x = test::at(a, i * k + p) * test::at(b, p * n + j);
        s += x;
        mag += std::abs(x);
      }
      c[std::size_t(i * n + j)] = s;
      scale[std::size_t(i * n + j)] = mag;
    }
}

/// |got - want| <= rel * scale per element (plus a denormal floor); NaN never passes.
::testing::AssertionResult near_product(const View& got, const View& a, const View& b, double rel) {
  std::vector<double> want, scale;
  reference(a, b, want, scale);
  if (got.ndim != 2 || got.shape[0] != a.shape[0] || got.shape[1] != b.shape[1])
    return ::testing::AssertionFailure() << "got " << got.describe();
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double g = test::at(got, std::int64_t(i));
    const double tol = rel * scale[i] + 1e-300;
    if (!(std::abs(g - want[i]) <= tol))
      return ::testing::AssertionFailure() << "[" << i / std::size_t(b.shape[1]) << "," << i % std::size_t(b.shape[1])
                                           << "] got " << g << " want " << want[i] << " (tol " << tol << ")";
  }
  return ::testing::AssertionSuccess();
}

double tolerance(DType out) { return out == DType::f32 ? 1e-5 : 1e-13; }

Tensor run_matmul(test::DeviceRunner& runner, const View& a, const View& b, const MatmulParams& p = {}) {
  Tensor da = runner.upload(a), db = runner.upload(b);
  Tensor c;
  const Status s = matmul(da.view(), db.view(), c, p, runner.exec());
  EXPECT_TRUE(s.ok()) << s.message();
  if (!s.ok()) return Tensor{};
  return runner.download(c.view());
}

std::string temp_path(const std::string& name) {
  // Per process: ctest runs the cpu and cuda0 instances in parallel.
  return (std::filesystem::path(::testing::TempDir()) / ("tandem_matmul_" + std::to_string(::getpid()) + "_" + name)).string();
}

std::string golden(const std::string& name) {
  return std::string(TANDEM_SOURCE_DIR) + "/tests/golden/sortmat_" + name + ".npy";
}

class MatmulTest : public test::DeviceTest {};

TEST_P(MatmulTest, DtypesAndAwkwardShapes) {
  test::DeviceRunner runner(GetParam());
  struct Case {
    std::int64_t m, k, n;
  };
  const Case cases[] = {{1, 1, 1},   {1, 37, 53},   {53, 1, 29},  {37, 53, 29},
                        {1, 1000, 1}, {29, 53, 1}, {513, 257, 129}};
  const std::pair<DType, DType> types[] = {
      {DType::f32, DType::f32}, {DType::f64, DType::f64}, {DType::f32, DType::f64}, {DType::f64, DType::f32}};
  std::uint64_t seed = 1;
  for (const auto& [ta, tb] : types)
    for (const Case& cs : cases) {
      Tensor a = random_matrix(ta, cs.m, cs.k, seed++), b = random_matrix(tb, cs.k, cs.n, seed++);
      Tensor c = run_matmul(runner, a.view(), b.view());
      EXPECT_EQ(c.view().dtype, matmul_dtype(ta, tb));
      EXPECT_TRUE(near_product(c.view(), a.view(), b.view(), tolerance(matmul_dtype(ta, tb))))
          << a.view().describe() << " @ " << b.view().describe();
    }
}

TEST_P(MatmulTest, EmptyInnerDimensionGivesZeros) {
  test::DeviceRunner runner(GetParam());
  Tensor a, b;
  ASSERT_TRUE(Tensor::create(DType::f32, {3, 0}, Device::cpu(), a).ok());
  ASSERT_TRUE(Tensor::create(DType::f32, {0, 4}, Device::cpu(), b).ok());
  Tensor da = runner.upload(a.view()), db = runner.upload(b.view());
  // Fill C with garbage first to see it overwritten.
  Tensor c;
  ASSERT_TRUE(Tensor::create(DType::f32, {3, 4}, Device::cpu(), c).ok());
  for (int i = 0; i < 12; ++i) c.view().ptr<float>()[i] = 7.f;
  Tensor dc = runner.upload(c.view());
  const Status s = matmul(da.view(), db.view(), dc.view(), MatmulParams{}, runner.exec());
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(test::all_near(runner.download(dc.view()).view(), std::vector<double>(12, 0.0), 0.0));
}

TEST_P(MatmulTest, PaddedRowsUseTheLeadingDimension) {
  test::DeviceRunner runner(GetParam());
  // A: 37 x 53 f64 inside rows of 60; B: 53 x 29 f32 inside rows of 32; C: 37 x 29 f64 inside rows of 40.
  Tensor a_back = random_matrix(DType::f64, 37, 60, 5), b_back = random_matrix(DType::f32, 53, 32, 6);
  Tensor a_dev = runner.upload(a_back.view()), b_dev = runner.upload(b_back.view());
  Tensor c_dev;
  ASSERT_TRUE(Tensor::create(DType::f64, {37, 40}, GetParam(), c_dev).ok());
  View a = View::image(a_dev.view().data, DType::f64, 37, 53, 1, GetParam(), 60 * 8);
  View b = View::image(b_dev.view().data, DType::f32, 53, 29, 1, GetParam(), 32 * 4);
  View c = View::image(c_dev.view().data, DType::f64, 37, 29, 1, GetParam(), 40 * 8);
  const Status s = matmul(a, b, c, MatmulParams{}, runner.exec());
  ASSERT_TRUE(s.ok()) << s.message();
  Tensor c_host = runner.download(c_dev.view());
  View got = View::image(c_host.view().data, DType::f64, 37, 29, 1, Device::cpu(), 40 * 8);
  View a_host = View::image(a_back.view().data, DType::f64, 37, 53, 1, Device::cpu(), 60 * 8);
  View b_host = View::image(b_back.view().data, DType::f32, 53, 29, 1, Device::cpu(), 32 * 4);
  EXPECT_TRUE(near_product(got, a_host, b_host, 1e-13));
}

TEST_P(MatmulTest, Tf32IsOptIn) {
  test::DeviceRunner runner(GetParam());
  Tensor a = random_matrix(DType::f32, 513, 257, 8), b = random_matrix(DType::f32, 257, 129, 9);
  MatmulParams p;
  p.allow_tf32 = true;
  Tensor c = run_matmul(runner, a.view(), b.view(), p);
  EXPECT_TRUE(near_product(c.view(), a.view(), b.view(), 4e-3));
}

TEST_P(MatmulTest, ThroughTheOpTableWithBFromAFile) {
  test::DeviceRunner runner(GetParam());
  Tensor a = random_matrix(DType::f32, 37, 53, 10), b = random_matrix(DType::f32, 53, 29, 11);
  const std::string path = temp_path("b32.npy");
  ASSERT_TRUE(io::write_npy(path, b.view()).ok());
  Tensor c = runner.run("matmul", {{"with", path}}, a.view());
  EXPECT_EQ(c.view().dtype, DType::f32);
  EXPECT_TRUE(near_product(c.view(), a.view(), b.view(), 1e-5));
  // An integer B file is read as f64, so the product is f64.
  Tensor bi = test::random_tensor(DType::i32, {53, 29}, 12);
  const std::string ipath = temp_path("bi32.npy");
  ASSERT_TRUE(io::write_npy(ipath, bi.view()).ok());
  Tensor ci = runner.run("matmul", {{"with", ipath}, {"tf32", "0"}}, a.view());
  EXPECT_EQ(ci.view().dtype, DType::f64);
  EXPECT_TRUE(near_product(ci.view(), a.view(), bi.view(), 1e-13));
  std::filesystem::remove(path);
  std::filesystem::remove(ipath);
}

TEST_P(MatmulTest, MatchesNumPyGolden) {
  test::DeviceRunner runner(GetParam());
  Tensor a, want32, want64;
  ASSERT_TRUE(io::read_npy(golden("matmul_a"), a).ok());
  ASSERT_TRUE(io::read_npy(golden("matmul_out32"), want32).ok());
  ASSERT_TRUE(io::read_npy(golden("matmul_out64"), want64).ok());
  for (const auto& [b, want] : {std::pair{"matmul_b32", &want32}, std::pair{"matmul_b64", &want64}}) {
    Tensor c = runner.run("matmul", {{"with", golden(b)}}, a.view());
    ASSERT_EQ(c.view().dtype, want->view().dtype) << b;
    std::vector<double> w;
    for (std::int64_t i = 0; i < want->view().numel(); ++i) w.push_back(test::at(want->view(), i));
    EXPECT_TRUE(test::all_near(c.view(), w, c.view().dtype == DType::f32 ? 1e-5 : 1e-12)) << b;
  }
}

TEST_P(MatmulTest, ErrorsNameTheProblem) {
  test::DeviceRunner runner(GetParam());
  Tensor a = runner.upload(random_matrix(DType::f32, 37, 53, 1).view());
  Tensor b = runner.upload(random_matrix(DType::f32, 52, 29, 2).view());
  Tensor c;
  Status s = matmul(a.view(), b.view(), c, MatmulParams{}, runner.exec());
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_NE(s.message().find("37x53"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("52x29"), std::string::npos) << s.message();

  // 1-D operands.
  Tensor v = runner.upload(test::random_tensor(DType::f32, {53}, 3).view());
  s = matmul(v.view(), b.view(), c, MatmulParams{}, runner.exec());
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_NE(s.message().find("2-D"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("f32 53 on"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("f32 52x29"), std::string::npos) << s.message();

  // Integer operands.
  Tensor ai = runner.upload(test::random_tensor(DType::i32, {3, 3}, 4).view());
  s = matmul(ai.view(), ai.view(), c, MatmulParams{}, runner.exec());
  EXPECT_EQ(s.code(), Errc::unsupported);
  EXPECT_NE(s.message().find("i32"), std::string::npos) << s.message();

  // A C of the wrong shape or dtype.
  Tensor good_b = runner.upload(random_matrix(DType::f32, 53, 29, 5).view());
  Tensor wrong;
  ASSERT_TRUE(Tensor::create(DType::f64, {37, 29}, GetParam(), wrong).ok());
  s = matmul(a.view(), good_b.view(), wrong.view(), MatmulParams{}, runner.exec());
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_NE(s.message().find("f32 37x29"), std::string::npos) << s.message();

  // C overlapping A.
  Tensor sq = runner.upload(random_matrix(DType::f64, 8, 8, 6).view());
  s = matmul(sq.view(), sq.view(), sq.view(), MatmulParams{}, runner.exec());
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_NE(s.message().find("overlap"), std::string::npos) << s.message();

  // A missing B file is refused when the arguments are parsed, naming the file.
  const std::string missing = temp_path("does_not_exist.npy");
  const OpSpec* spec = find_op("matmul");
  ASSERT_NE(spec, nullptr);
  OpArgs args;
  s = parse_args(*spec, {{"with", missing}}, args);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(missing), std::string::npos) << s.message();
  Tensor out;
  // And the op needs `with`.
  EXPECT_FALSE(parse_args(*spec, {}, args).ok());
  // A B file whose shape does not fit.
  const std::string path = temp_path("b_bad.npy");
  ASSERT_TRUE(io::write_npy(path, random_matrix(DType::f64, 52, 29, 7).view()).ok());
  ASSERT_TRUE(parse_args(*spec, {{"with", path}}, args).ok());
  s = run_op(*spec, args, a.view(), out, runner.exec());
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_NE(s.message().find("52x29"), std::string::npos) << s.message();
  std::filesystem::remove(path);
}

INSTANTIATE_TEST_SUITE_P(Devices, MatmulTest, ::testing::ValuesIn(test::test_devices()), test::device_name);

TEST(MatmulCpu, ThreadCountsAndCallsFromAnOpenMPTeam) {
  Tensor a = random_matrix(DType::f64, 513, 257, 20), b = random_matrix(DType::f64, 257, 129, 21);
  for (int threads : {1, 3}) {
    Tensor c;
    ASSERT_TRUE(matmul(a.view(), b.view(), c, MatmulParams{}, Exec::cpu(threads)).ok());
    EXPECT_TRUE(near_product(c.view(), a.view(), b.view(), 1e-13)) << threads;
  }
  // Several callers at once, each with one BLAS thread (omp_in_parallel).
  Tensor small_a = random_matrix(DType::f32, 64, 48, 22), small_b = random_matrix(DType::f32, 48, 40, 23);
  std::vector<Tensor> results(4);
  std::vector<int> ok(4, 0);
#pragma omp parallel for num_threads(4)
  for (int i = 0; i < 4; ++i) ok[std::size_t(i)] = matmul(small_a.view(), small_b.view(), results[std::size_t(i)],
                                                           MatmulParams{}, Exec::cpu()).ok();
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(ok[std::size_t(i)]) << i;
    EXPECT_TRUE(near_product(results[std::size_t(i)].view(), small_a.view(), small_b.view(), 1e-5)) << i;
  }
}

}  // namespace
}  // namespace tandem
