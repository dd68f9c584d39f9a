// The RepOps contract (ops/ops.h), kernel by kernel:
//   1. every path (scalar, AVX2, AVX-512 — those this CPU has) and thread count (1, 2, 3) gives
//      the bits of the scalar path on one thread, over sweeps of shapes (0, 1, odd, prime,
//      larger than a tile or k block), unaligned buffers and values (±0, subnormals, huge
//      exponents, ±inf, NaN);
//   2. the bits are those of the order each header documents, recomputed here independently
//      with plain loops and std::fma (matrix products, sums, softmax, layer norm, optimizers).
// Also: MLCP_ISA / setIsa errors, and the dropout mask's independence of how it is cut.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "base/error.h"
#include "ops/ops.h"
#include "tests/common/test_util.h"
#include "tests/ops/ops_test_util.h"

namespace mlcp::ops {
namespace {

using test::expectSameBitsOnEveryPath;
using test::firstDifference;
using test::hexFloat;
using test::randomFloats;

// ---- paths ----------------------------------------------------------------------------------

TEST(OpsIsa, NamesParseAndTheCpuIsDescribed) {
  test::PathGuard guard;
  EXPECT_EQ(parseIsa("avx2", "test"), Isa::kAvx2);
  EXPECT_THROW(parseIsa("sse9", "MLCP_ISA"), UsageError);
  try {
    parseIsa("sse9", "MLCP_ISA");
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("MLCP_ISA"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("sse9"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(cpuSupports(Isa::kScalar));
  EXPECT_EQ(supportedIsas().rfind("scalar", 0), 0u);
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (cpuSupports(isa)) {
      setIsa(isa);
      EXPECT_EQ(activeIsa(), isa);
    } else {
      EXPECT_THROW(setIsa(isa), UsageError);
    }
  }
  std::printf("[ ops ] paths this CPU supports: %s (default %s)\n", supportedIsas().c_str(),
              isaName(bestIsa()));
}

// Run by EnvironmentVariableSelectsThePath in a child process: prints the path MLCP_ISA selects.
TEST(OpsIsa, ChildPrintsTheActivePath) {
  try {
    std::printf("active path: %s\n", isaName(activeIsa()));
  } catch (const UsageError& e) {
    std::printf("usage error: %s\n", e.what());
  }
}

TEST(OpsIsa, EnvironmentVariableSelectsThePath) {
  char self[4096] = {};
  ASSERT_GT(readlink("/proc/self/exe", self, sizeof(self) - 1), 0);
  auto child = [&](const std::string& value) {
    // A clean environment: the child is a plain process, not part of this one's MPI job.
    return mlcp::test::runCommand("env -i PATH=/usr/bin:/bin MLCP_ISA=" + value + " " + self +
                                  " --gtest_filter=OpsIsa.ChildPrintsTheActivePath")
        .output;
  };
  for (Isa isa : test::supportedPaths()) {
    const std::string out = child(isaName(isa));
    EXPECT_NE(out.find(std::string("active path: ") + isaName(isa)), std::string::npos) << out;
  }
  const std::string bad = child("sse9");
  EXPECT_NE(bad.find("usage error: MLCP_ISA: 'sse9' is not one of scalar, avx2, avx512"),
            std::string::npos)
      << bad;
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    if (cpuSupports(isa)) continue;  // only a CPU without the path can show this error
    const std::string out = child(isaName(isa));
    EXPECT_NE(out.find(std::string("usage error: MLCP_ISA=") + isaName(isa)), std::string::npos)
        << out;
    EXPECT_NE(out.find("this CPU supports only"), std::string::npos) << out;
  }
}

// ---- matrix products ------------------------------------------------------------------------

struct GemmCase {
  bool ta, tb;
  int64_t batch, m, n, k;
  GemmInit::Kind init;
  int64_t pad;     // extra floats per row of every operand (leading dimension > row length)
  int64_t offset;  // floats the operands start after an aligned allocation
  bool specials;
};

struct GemmData {
  std::vector<float> a, b, c0, bias;
  int64_t lda, ldb, ldc, sa, sb, sc;
};

GemmData makeGemmData(const GemmCase& g, uint64_t seed) {
  GemmData d;
  const int64_t arows = g.ta ? g.k : g.m, acols = g.ta ? g.m : g.k;
  const int64_t brows = g.tb ? g.n : g.k, bcols = g.tb ? g.k : g.n;
  d.lda = acols + g.pad;
  d.ldb = bcols + g.pad;
  d.ldc = g.n + g.pad;
  d.sa = arows * d.lda + 3;
  d.sb = brows * d.ldb + 5;
  d.sc = g.m * d.ldc + 1;
  d.a = randomFloats(static_cast<size_t>(g.offset + g.batch * d.sa), seed, 1.0f, g.specials);
  d.b = randomFloats(static_cast<size_t>(g.offset + g.batch * d.sb), seed + 1, 1.0f, g.specials);
  d.c0 = randomFloats(static_cast<size_t>(g.offset + g.batch * d.sc), seed + 2, 1.0f, g.specials);
  d.bias = randomFloats(static_cast<size_t>(g.offset + std::max(g.m, g.n)), seed + 3);
  return d;
}

GemmInit initOf(const GemmCase& g, const GemmData& d) {
  const float* bias = d.bias.data() + g.offset;
  switch (g.init) {
    case GemmInit::Kind::kZero:
      return GemmInit::zero();
    case GemmInit::Kind::kAccumulate:
      return GemmInit::accumulate();
    case GemmInit::Kind::kRowBias:
      return GemmInit::rowBias(bias);
    case GemmInit::Kind::kColumnBias:
      return GemmInit::columnBias(bias);
  }
  return GemmInit::zero();
}

std::vector<float> runGemm(const GemmCase& g, const GemmData& d) {
  std::vector<float> c = d.c0;
  batchedGemm(g.ta, g.tb, g.batch, g.m, g.n, g.k, d.a.data() + g.offset, d.lda, d.sa,
              d.b.data() + g.offset, d.ldb, d.sb, c.data() + g.offset, d.ldc, d.sc, initOf(g, d));
  return c;
}

// The documented chain, with plain loops.
std::vector<float> referenceGemm(const GemmCase& g, const GemmData& d) {
  std::vector<float> c = d.c0;
  for (int64_t bi = 0; bi < g.batch; ++bi) {
    const float* a = d.a.data() + g.offset + bi * d.sa;
    const float* b = d.b.data() + g.offset + bi * d.sb;
    float* cc = c.data() + g.offset + bi * d.sc;
    const float* bias = d.bias.data() + g.offset;
    for (int64_t i = 0; i < g.m; ++i) {
      for (int64_t j = 0; j < g.n; ++j) {
        float acc = 0.0f;
        if (g.init == GemmInit::Kind::kAccumulate) acc = cc[i * d.ldc + j];
        if (g.init == GemmInit::Kind::kRowBias) acc = bias[i];
        if (g.init == GemmInit::Kind::kColumnBias) acc = bias[j];
        for (int64_t p = 0; p < g.k; ++p) {
          const float av = g.ta ? a[p * d.lda + i] : a[i * d.lda + p];
          const float bv = g.tb ? b[j * d.ldb + p] : b[p * d.ldb + j];
          acc = std::fma(av, bv, acc);
        }
        cc[i * d.ldc + j] = acc;
      }
    }
  }
  return c;
}

std::string describe(const GemmCase& g) {
  return "gemm ta=" + std::to_string(g.ta) + " tb=" + std::to_string(g.tb) +
         " batch=" + std::to_string(g.batch) + " m=" + std::to_string(g.m) +
         " n=" + std::to_string(g.n) + " k=" + std::to_string(g.k) +
         " init=" + std::to_string(static_cast<int>(g.init)) + " pad=" + std::to_string(g.pad) +
         " offset=" + std::to_string(g.offset) + " specials=" + std::to_string(g.specials);
}

std::vector<GemmCase> gemmCases() {
  using K = GemmInit::Kind;
  std::vector<GemmCase> cases;
  // Every layout and initialisation on small and odd shapes, with and without special values.
  const int64_t shapes[][3] = {{0, 5, 3}, {5, 0, 3},    {4, 5, 0},   {1, 1, 1},   {1, 17, 33},
                               {7, 3, 5}, {13, 29, 31}, {6, 16, 64}, {8, 32, 17}, {37, 41, 43}};
  int variant = 0;
  for (const auto& s : shapes) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        const K init = static_cast<K>(variant % 4);
        cases.push_back(
            {ta, tb, 1, s[0], s[1], s[2], init, variant % 3, variant % 5, variant % 2 == 1});
        ++variant;
      }
    }
  }
  // Larger than a tile (m > 96, n > 128) and than a k block (k > 256), every layout.
  cases.push_back({false, false, 1, 131, 263, 517, K::kColumnBias, 0, 0, false});
  cases.push_back({false, true, 1, 100, 150, 300, K::kZero, 1, 1, true});
  cases.push_back({true, false, 1, 97, 129, 260, K::kAccumulate, 2, 3, false});
  cases.push_back({true, true, 1, 70, 140, 270, K::kRowBias, 0, 2, true});
  // Batched, with per-item strides and a shared bias.
  cases.push_back({false, true, 5, 17, 19, 23, K::kColumnBias, 1, 1, false});
  cases.push_back({true, false, 4, 64, 32, 64, K::kZero, 0, 0, true});
  cases.push_back({false, false, 3, 1, 300, 7, K::kRowBias, 0, 3, false});
  return cases;
}

TEST(OpsGemm, IsTheDocumentedFmaChain) {
  uint64_t seed = 100;
  for (const auto& g : gemmCases()) {
    const GemmData d = makeGemmData(g, seed++);
    const auto want = referenceGemm(g, d);
    const auto got = runGemm(g, d);
    const int64_t at = firstDifference(want, got);
    ASSERT_EQ(at, -1) << describe(g) << " on " << isaName(activeIsa()) << " at " << at
                      << ": expected " << hexFloat(want[static_cast<size_t>(at)]) << ", got "
                      << hexFloat(got[static_cast<size_t>(at)]);
  }
}

TEST(OpsGemm, SameBitsOnEveryPathAndThreadCount) {
  uint64_t seed = 200;
  for (const auto& g : gemmCases()) {
    const GemmData d = makeGemmData(g, seed++);
    expectSameBitsOnEveryPath(describe(g), [&] { return runGemm(g, d); });
  }
}

TEST(OpsGemm, ModelShapesOnEveryPath) {
  // The MLP's first layer (batch 32), the GPT's qkv projection and its attention scores.
  struct Shape {
    int64_t m, n, k;
  };
  uint64_t seed = 300;
  for (const Shape s : {Shape{32, 256, 784}, Shape{512, 384, 128}, Shape{64, 64, 32}}) {
    const auto x = randomFloats(static_cast<size_t>(s.m * s.k), seed++);
    const auto w = randomFloats(static_cast<size_t>(s.n * s.k), seed++);
    const auto b = randomFloats(static_cast<size_t>(s.n), seed++);
    expectSameBitsOnEveryPath(
        "linear " + std::to_string(s.m) + "x" + std::to_string(s.k) + " -> " + std::to_string(s.n),
        [&] {
          std::vector<float> y(static_cast<size_t>(s.m * s.n));
          linear(x.data(), w.data(), b.data(), y.data(), s.m, s.k, s.n);
          return y;
        });
  }
}

TEST(OpsGemm, RejectsBadArguments) {
  std::vector<float> a(6), b(6), c(4);
  EXPECT_THROW(gemm(false, false, 2, 2, 3, a.data(), 2, b.data(), 2, c.data(), 2), InvalidArgument);
  EXPECT_THROW(gemm(false, false, -1, 2, 3, a.data(), 3, b.data(), 2, c.data(), 2),
               InvalidArgument);
  EXPECT_THROW(gemm(false, false, 2, 2, 3, nullptr, 3, b.data(), 2, c.data(), 2), InvalidArgument);
  EXPECT_THROW(gemm(false, false, 2, 2, 3, a.data(), 3, b.data(), 2, c.data(), 2,
                    GemmInit::rowBias(nullptr)),
               InvalidArgument);
}

// ---- element-wise and math ------------------------------------------------------------------

TEST(OpsElementwise, SameBitsOnEveryPathAndAsTheScalarFunctions) {
  using Fn = void (*)(const float*, float*, int64_t);
  const std::pair<const char*, Fn> unary[] = {{"exp", &exp}, {"log", &log},   {"tanh", &tanh},
                                              {"erf", &erf}, {"relu", &relu}, {"gelu", &gelu}};
  uint64_t seed = 400;
  for (int64_t n : {0, 1, 7, 8, 15, 16, 17, 33, 1000, 70001}) {
    for (int64_t offset : {0, 1, 3}) {
      auto x = randomFloats(static_cast<size_t>(n + offset), seed++, 3.0f, true);
      for (const auto& [name, fn] : unary) {
        expectSameBitsOnEveryPath(std::string(name) + " n=" + std::to_string(n), [&] {
          std::vector<float> y(static_cast<size_t>(n + offset), -1.0f);
          fn(x.data() + offset, y.data() + offset, n);
          return y;
        });
      }
    }
  }
  // The array forms agree with the single-value forms (the scalar path's code).
  test::PathGuard guard;
  const auto x = randomFloats(4099, 9, 4.0f, true);
  std::vector<float> y(x.size());
  for (const auto& [name, fn] : unary) {
    const std::string s = name;
    fn(x.data(), y.data(), static_cast<int64_t>(x.size()));
    for (size_t i = 0; i < x.size(); ++i) {
      const float want = s == "exp"    ? exp(x[i])
                         : s == "log"  ? log(x[i])
                         : s == "tanh" ? tanh(x[i])
                         : s == "erf"  ? erf(x[i])
                                       : y[i];
      ASSERT_TRUE(test::sameBits(want, y[i])) << name << "(" << hexFloat(x[i]) << ")";
    }
  }
}

TEST(OpsElementwise, BackwardsSameBitsOnEveryPathAndFollowTheirFormulas) {
  uint64_t seed = 500;
  for (int64_t n : {0, 1, 9, 16, 31, 4097}) {
    const auto a = randomFloats(static_cast<size_t>(n), seed++, 2.0f, true);
    const auto b = randomFloats(static_cast<size_t>(n), seed++, 1.0f, true);
    using Fn = void (*)(const float*, const float*, float*, int64_t);
    for (const auto& [name, fn] : {std::pair<const char*, Fn>{"reluBackward", &reluBackward},
                                   {"geluBackward", &geluBackward},
                                   {"tanhBackward", &tanhBackward},
                                   {"add", &add},
                                   {"mul", &mul}}) {
      expectSameBitsOnEveryPath(std::string(name) + " n=" + std::to_string(n), [&] {
        std::vector<float> y(static_cast<size_t>(n));
        fn(a.data(), b.data(), y.data(), n);
        return y;
      });
    }
  }
  // Formulas, recomputed here (two roundings where the header writes a * b + c).
  const auto x = randomFloats(1000, 7, 3.0f);
  const auto dy = randomFloats(1000, 8);
  std::vector<float> y(1000), t(1000);
  relu(x.data(), y.data(), 1000);
  tanhBackward(x.data(), dy.data(), t.data(), 1000);
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_TRUE(test::sameBits(y[i], x[i] > 0 ? x[i] : 0.0f));
    EXPECT_TRUE(test::sameBits(t[i], dy[i] * (1.0f - x[i] * x[i])));
  }
  const float a = static_cast<float>(M_SQRT1_2);
  gelu(x.data(), y.data(), 1000);
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_TRUE(test::sameBits(y[i], (x[i] * 0.5f) * (1.0f + erf(x[i] * a))));
  }
}

// ---- reductions -----------------------------------------------------------------------------

// ops/reduction.h's order, with plain loops.
float referencePairwise(const std::vector<float>& p, size_t begin, size_t n) {
  if (n == 1) return p[begin];
  const size_t h = (n + 1) / 2;
  return referencePairwise(p, begin, h) + referencePairwise(p, begin + h, n - h);
}

float referenceLanes(const float* x, const float* y, int64_t n, bool fused) {
  std::vector<float> blocks;
  for (int64_t b0 = 0; b0 == 0 || b0 < n; b0 += kReductionBlock) {
    const int64_t len = std::min(kReductionBlock, n - b0);
    float lane[kReductionLanes] = {};
    for (int64_t i = 0; i < len; ++i) {
      float& l = lane[i % kReductionLanes];
      l = fused ? std::fma(x[b0 + i], y[b0 + i], l) : l + x[b0 + i];
    }
    for (int h = kReductionLanes / 2; h >= 1; h /= 2) {
      for (int j = 0; j < h; ++j) lane[j] = lane[j] + lane[j + h];
    }
    blocks.push_back(lane[0]);
  }
  return referencePairwise(blocks, 0, blocks.size());
}

TEST(OpsReduction, SumsFollowTheDocumentedOrderOnEveryPath) {
  uint64_t seed = 600;
  for (int64_t n :
       {int64_t{0}, int64_t{1}, int64_t{15}, int64_t{16}, int64_t{17}, int64_t{100},
        kReductionBlock, kReductionBlock + 1, 3 * kReductionBlock + 77, int64_t{300001}}) {
    for (bool specials : {false, true}) {
      const auto x = randomFloats(static_cast<size_t>(n + 1), seed++, 1.0f, specials);
      const auto y = randomFloats(static_cast<size_t>(n + 1), seed++, 1.0f, specials);
      const float* xp = x.data() + 1;  // unaligned
      const float* yp = y.data() + 1;
      const std::string what = "n=" + std::to_string(n) + " specials=" + std::to_string(specials);
      expectSameBitsOnEveryPath("sum/dot/sumOfSquares " + what, [&] {
        return std::vector<float>{sum(xp, n), dot(xp, yp, n), sumOfSquares(xp, n)};
      });
      EXPECT_TRUE(test::sameBits(sum(xp, n), referenceLanes(xp, nullptr, n, false))) << what;
      EXPECT_TRUE(test::sameBits(dot(xp, yp, n), referenceLanes(xp, yp, n, true))) << what;
    }
  }
}

TEST(OpsReduction, ColumnSumsAreRowOrderChains) {
  uint64_t seed = 700;
  for (const auto& [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{
           {0, 5}, {5, 0}, {1, 1}, {3, 17}, {32, 10}, {129, 300}, {1000, 65}}) {
    const auto x = randomFloats(static_cast<size_t>(rows * cols), seed++, 1.0f, true);
    expectSameBitsOnEveryPath("columnSums", [&] {
      std::vector<float> out(static_cast<size_t>(cols));
      columnSums(x.data(), rows, cols, out.data());
      return out;
    });
    std::vector<float> out(static_cast<size_t>(cols));
    biasGrad(x.data(), out.data(), rows, cols);
    for (int64_t j = 0; j < cols; ++j) {
      float acc = 0.0f;
      for (int64_t i = 0; i < rows; ++i) acc = acc + x[static_cast<size_t>(i * cols + j)];
      ASSERT_TRUE(test::sameBits(acc, out[static_cast<size_t>(j)])) << rows << "x" << cols;
    }
  }
}

// ---- softmax, cross-entropy, layer norm ------------------------------------------------------

const std::vector<std::pair<int64_t, int64_t>> kRowShapes = {
    {0, 4}, {3, 0}, {1, 1}, {2, 5}, {3, 16}, {4, 17}, {64, 64}, {7, 100}, {33, 256}, {2, 1031}};

TEST(OpsSoftmax, SameBitsOnEveryPath) {
  uint64_t seed = 800;
  for (const auto& [rows, cols] : kRowShapes) {
    for (bool specials : {false, true}) {
      const auto x = randomFloats(static_cast<size_t>(rows * cols), seed++, 4.0f, specials);
      const auto dy = randomFloats(static_cast<size_t>(rows * cols), seed++, 1.0f, specials);
      std::vector<int64_t> targets(static_cast<size_t>(rows));
      for (int64_t r = 0; r < rows; ++r)
        targets[static_cast<size_t>(r)] = cols > 0 ? (r * 7 + 3) % cols : 0;
      const std::string what = std::to_string(rows) + "x" + std::to_string(cols);
      expectSameBitsOnEveryPath("softmax family " + what, [&] {
        const size_t n = x.size();
        std::vector<float> out(6 * n + 1);
        softmax(x.data(), out.data(), rows, cols);
        logSoftmax(x.data(), out.data() + n, rows, cols);
        softmaxBackward(out.data(), dy.data(), out.data() + 2 * n, rows, cols);
        logSoftmaxBackward(out.data() + n, dy.data(), out.data() + 3 * n, rows, cols);
        if (cols > 0) {
          out[6 * n] = crossEntropy(x.data(), targets.data(), rows, cols, out.data() + 4 * n);
          crossEntropyBackward(x.data(), targets.data(), 0.75f, out.data() + 5 * n, rows, cols);
        }
        return out;
      });
    }
  }
}

TEST(OpsSoftmax, FollowsTheDocumentedFormula) {
  const int64_t rows = 5, cols = 37;
  const auto x = randomFloats(rows * cols, 11, 3.0f);
  std::vector<float> y(x.size()), ly(x.size());
  softmax(x.data(), y.data(), rows, cols);
  logSoftmax(x.data(), ly.data(), rows, cols);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x.data() + r * cols;
    float lane[kReductionLanes];
    std::fill(lane, lane + kReductionLanes, -std::numeric_limits<float>::infinity());
    for (int64_t j = 0; j < cols; ++j) {
      float& l = lane[j % kReductionLanes];
      l = l > xr[j] ? l : xr[j];
    }
    for (int h = kReductionLanes / 2; h >= 1; h /= 2) {
      for (int j = 0; j < h; ++j) lane[j] = lane[j] > lane[j + h] ? lane[j] : lane[j + h];
    }
    const float m = lane[0];
    std::vector<float> e(static_cast<size_t>(cols));
    for (int64_t j = 0; j < cols; ++j) e[static_cast<size_t>(j)] = exp(xr[j] - m);
    const float s = referenceLanes(e.data(), nullptr, cols, false);
    for (int64_t j = 0; j < cols; ++j) {
      ASSERT_TRUE(test::sameBits(y[static_cast<size_t>(r * cols + j)],
                                 e[static_cast<size_t>(j)] * (1.0f / s)));
      ASSERT_TRUE(test::sameBits(ly[static_cast<size_t>(r * cols + j)], (xr[j] - m) - log(s)));
    }
  }
}

TEST(OpsSoftmax, CrossEntropyRejectsTargetsOutOfRange) {
  const std::vector<float> x(6, 0.0f);
  const std::vector<int64_t> bad = {0, 3};
  EXPECT_THROW(crossEntropy(x.data(), bad.data(), 2, 3), InvalidArgument);
}

TEST(OpsLayerNorm, SameBitsOnEveryPathAndTheDocumentedFormula) {
  uint64_t seed = 900;
  for (const auto& [rows, cols] : kRowShapes) {
    for (bool affine : {true, false}) {
      const auto x = randomFloats(static_cast<size_t>(rows * cols), seed++, 2.0f, !affine);
      const auto w = randomFloats(static_cast<size_t>(cols), seed++);
      const auto b = randomFloats(static_cast<size_t>(cols), seed++);
      const auto dy = randomFloats(static_cast<size_t>(rows * cols), seed++);
      const float* wp = affine ? w.data() : nullptr;
      const float* bp = affine ? b.data() : nullptr;
      expectSameBitsOnEveryPath(
          "layerNorm " + std::to_string(rows) + "x" + std::to_string(cols), [&] {
            const size_t n = x.size(), r = static_cast<size_t>(rows), c = static_cast<size_t>(cols);
            std::vector<float> out(2 * n + 2 * r + 2 * c);
            float* y = out.data();
            float* dx = y + n;
            float* mean = dx + n;
            float* rstd = mean + r;
            float* dw = rstd + r;
            float* db = dw + c;
            layerNorm(x.data(), wp, bp, y, mean, rstd, rows, cols);
            layerNormBackward(x.data(), wp, mean, rstd, dy.data(), dx, dw, db, rows, cols);
            return out;
          });
    }
  }
  // The forward's formula, recomputed.
  const int64_t rows = 3, cols = 45;
  const auto x = randomFloats(rows * cols, 21, 2.0f);
  const auto w = randomFloats(cols, 22), b = randomFloats(cols, 23);
  std::vector<float> y(x.size()), mean(rows), rstd(rows);
  layerNorm(x.data(), w.data(), b.data(), y.data(), mean.data(), rstd.data(), rows, cols);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x.data() + r * cols;
    const float mu = referenceLanes(xr, nullptr, cols, false) / cols;
    std::vector<float> d(static_cast<size_t>(cols));
    for (int64_t j = 0; j < cols; ++j) d[static_cast<size_t>(j)] = xr[j] - mu;
    const float var = referenceLanes(d.data(), d.data(), cols, true) / cols;
    const float rs = 1.0f / std::sqrt(var + kLayerNormEps);
    ASSERT_TRUE(test::sameBits(mean[static_cast<size_t>(r)], mu));
    ASSERT_TRUE(test::sameBits(rstd[static_cast<size_t>(r)], rs));
    for (int64_t j = 0; j < cols; ++j) {
      const float want =
          std::fma((xr[j] - mu) * rs, w[static_cast<size_t>(j)], b[static_cast<size_t>(j)]);
      ASSERT_TRUE(test::sameBits(y[static_cast<size_t>(r * cols + j)], want)) << r << "," << j;
    }
  }
}

// ---- embedding, attention, convolution, pooling, dropout -------------------------------------

TEST(OpsEmbedding, BackwardSumsInPositionOrderOnEveryPath) {
  const int64_t vocab = 11, dim = 37, n = 300;
  std::vector<int64_t> tokens(n);
  for (int64_t i = 0; i < n; ++i) tokens[static_cast<size_t>(i)] = (i * i + 3) % 7;  // repeats
  const auto table = randomFloats(vocab * dim, 31);
  const auto dy = randomFloats(n * dim, 32, 1.0f, true);
  expectSameBitsOnEveryPath("embedding", [&] {
    std::vector<float> out(static_cast<size_t>(n * dim + vocab * dim));
    embedding(table.data(), tokens.data(), out.data(), n, vocab, dim);
    embeddingBackward(tokens.data(), dy.data(), out.data() + n * dim, n, vocab, dim);
    return out;
  });
  std::vector<float> dt(static_cast<size_t>(vocab * dim));
  embeddingBackward(tokens.data(), dy.data(), dt.data(), n, vocab, dim);
  std::vector<float> want(dt.size(), 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < dim; ++j) {
      float& w = want[static_cast<size_t>(tokens[static_cast<size_t>(i)] * dim + j)];
      w = w + dy[static_cast<size_t>(i * dim + j)];
    }
  }
  EXPECT_EQ(firstDifference(want, dt), -1);
  const std::vector<int64_t> bad = {11};
  EXPECT_THROW(embedding(table.data(), bad.data(), dt.data(), 1, vocab, dim), InvalidArgument);
}

TEST(OpsAttention, SameBitsOnEveryPath) {
  struct Shape {
    int64_t bh, t, d;
    float p;
  };
  uint64_t seed = 1000;
  for (const Shape s : {Shape{1, 1, 1, 0.0f}, Shape{3, 5, 7, 0.0f}, Shape{32, 64, 32, 0.0f},
                        Shape{4, 33, 16, 0.25f}}) {
    const size_t n = static_cast<size_t>(s.bh * s.t * s.d);
    const auto q = randomFloats(n, seed++), k = randomFloats(n, seed++),
               v = randomFloats(n, seed++), dy = randomFloats(n, seed++);
    expectSameBitsOnEveryPath("attention t=" + std::to_string(s.t), [&] {
      const size_t tt = static_cast<size_t>(s.bh * s.t * s.t);
      std::vector<float> out(4 * n + tt);
      float* y = out.data();
      float* probs = y + n;
      causalAttention(q.data(), k.data(), v.data(), y, probs, s.bh, s.t, s.d, s.p, 77);
      causalAttentionBackward(q.data(), k.data(), v.data(), probs, dy.data(), probs + tt,
                              probs + tt + n, probs + tt + 2 * n, s.bh, s.t, s.d, s.p, 77);
      return out;
    });
  }
}

TEST(OpsConv2d, SameBitsOnEveryPath) {
  struct Shape {
    int64_t n, c, h, w, o;
  };
  uint64_t seed = 1100;
  for (const Shape s : {Shape{1, 1, 1, 1, 1}, Shape{2, 1, 28, 28, 16}, Shape{3, 16, 14, 14, 32},
                        Shape{2, 3, 5, 7, 4}}) {
    const auto x = randomFloats(static_cast<size_t>(s.n * s.c * s.h * s.w), seed++, 1.0f, true);
    const auto w = randomFloats(static_cast<size_t>(s.o * s.c * 9), seed++);
    const auto b = randomFloats(static_cast<size_t>(s.o), seed++);
    const auto dy = randomFloats(static_cast<size_t>(s.n * s.o * s.h * s.w), seed++);
    expectSameBitsOnEveryPath(
        "conv2d3x3 c=" + std::to_string(s.c) + " h=" + std::to_string(s.h), [&] {
          std::vector<float> out(dy.size() + x.size() + w.size() + b.size());
          float* y = out.data();
          float* dx = y + dy.size();
          float* dw = dx + x.size();
          float* db = dw + w.size();
          conv2d3x3(x.data(), w.data(), b.data(), y, s.n, s.c, s.h, s.w, s.o);
          conv2d3x3Backward(x.data(), w.data(), dy.data(), dx, dw, db, s.n, s.c, s.h, s.w, s.o);
          return out;
        });
  }
}

TEST(OpsPooling, MaxPoolPicksTheFirstMaximumAndPropagatesNaN) {
  // One plane 3x5 (the last row and column are ignored): windows {1, 5, 5, 0} -> 5 at
  // position 1 (the first of the ties); {NaN, 2, 3, 4} -> NaN at 0; {-1, -2, 7, NaN} -> NaN at 3.
  const std::vector<float> x = {1, 5, NAN, 2, 9,  //
                                5, 0, 3,   4, 9,  //
                                9, 9, 9,   9, 9};
  std::vector<float> y(2);
  std::vector<uint8_t> at(2);
  maxPool2x2(x.data(), y.data(), at.data(), 1, 3, 5);
  EXPECT_EQ(y[0], 5.0f);
  EXPECT_EQ(at[0], 1);
  EXPECT_TRUE(std::isnan(y[1]));
  EXPECT_EQ(at[1], 0);
  const std::vector<float> z = {-1, -2, 7, NAN};
  float zy = 0;
  uint8_t zat = 0;
  maxPool2x2(z.data(), &zy, &zat, 1, 2, 2);
  EXPECT_TRUE(std::isnan(zy));
  EXPECT_EQ(zat, 3);
  // -0 arrives as +0 (0 + dy), and every element outside a winner is +0, whatever dx held.
  const std::vector<float> dy = {10, -0.0f};
  std::vector<float> dx(15, -1.0f);
  maxPool2x2Backward(dy.data(), at.data(), dx.data(), 1, 3, 5);
  EXPECT_EQ(dx, (std::vector<float>{0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  for (float v : dx) EXPECT_FALSE(std::signbit(v));
  const auto big = randomFloats(2 * 3 * 7 * 9, 5, 1.0f, true);
  expectSameBitsOnEveryPath("maxPool2x2", [&] {
    std::vector<float> out(2 * 3 * 3 * 4 + big.size());
    std::vector<uint8_t> idx(2 * 3 * 3 * 4);
    maxPool2x2(big.data(), out.data(), idx.data(), 6, 7, 9);
    maxPool2x2Backward(out.data(), idx.data(), out.data() + idx.size(), 6, 7, 9);
    for (uint8_t i : idx) out.push_back(static_cast<float>(i));
    return out;
  });
}

TEST(OpsDropout, MaskDependsOnlyOnSeedAndIndex) {
  const int64_t n = 10007;
  const auto x = randomFloats(n, 41, 1.0f, true);
  std::vector<float> whole(n), parts(n);
  dropout(x.data(), whole.data(), n, 0.3f, 1234);
  // Cut anywhere, with the cut's offset: the same mask.
  dropout(x.data(), parts.data(), 4001, 0.3f, 1234, 0);
  dropout(x.data() + 4001, parts.data() + 4001, n - 4001, 0.3f, 1234, 4001);
  EXPECT_EQ(firstDifference(whole, parts), -1);
  expectSameBitsOnEveryPath("dropout", [&] {
    std::vector<float> y(n);
    dropout(x.data(), y.data(), n, 0.3f, 1234);
    return y;
  });
  int64_t kept = 0;
  const float s = 1.0f / static_cast<float>(1.0 - 0.3f);
  for (int64_t i = 0; i < n; ++i) {
    const float m = dropoutMultiplier(1234, static_cast<uint64_t>(i), 0.3f);
    ASSERT_TRUE(m == 0.0f || m == s);
    ASSERT_TRUE(test::sameBits(whole[static_cast<size_t>(i)], x[static_cast<size_t>(i)] * m));
    kept += m != 0.0f;
  }
  EXPECT_NEAR(static_cast<double>(kept) / n, 0.7, 0.02);
  // p = 0 keeps everything, p = 1 drops everything, another seed another mask.
  std::vector<float> y(n);
  dropout(x.data(), y.data(), n, 0.0f, 5);
  EXPECT_EQ(firstDifference(x, y), -1);
  dropout(x.data(), y.data(), n, 0.3f, 1235);
  EXPECT_NE(firstDifference(whole, y), -1);
  // The Philox4x32-10 known-answer test of Random123 (kat_vectors: counter 0, key 0).
  const auto r = philox4x32({0, 0, 0, 0}, 0);
  EXPECT_EQ(r[0], 0x6627e8d5u);
  EXPECT_EQ(r[1], 0xe169c58du);
  EXPECT_EQ(r[2], 0xbc57ac4cu);
  EXPECT_EQ(r[3], 0x9b00dbd8u);
  const auto r2 = philox4x32({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, ~uint64_t{0});
  EXPECT_EQ(r2[0], 0x408f276du);
  EXPECT_EQ(r2[1], 0x41c83b0eu);
  EXPECT_EQ(r2[2], 0xa20bc7c6u);
  EXPECT_EQ(r2[3], 0x6d5451fdu);
}

// ---- gradient clipping and optimizers --------------------------------------------------------

TEST(OpsOptimizer, AdamWAndSgdFollowTheirFormulasOnEveryPath) {
  const int64_t n = 1037;
  const auto p0 = randomFloats(n, 51), g = randomFloats(n, 52, 0.1f, true);
  const auto m0 = randomFloats(n, 53, 0.01f), v0 = randomFloats(n, 54, 0.01f);
  AdamWOptions ao;
  ao.lr = 3e-3;
  ao.weight_decay = 0.01;
  expectSameBitsOnEveryPath("adamw", [&] {
    std::vector<float> out;
    std::vector<float> p = p0, m = m0, v = v0;
    for (auto& x : v) x = std::fabs(x);
    for (int64_t step = 1; step <= 3; ++step) {
      adamwUpdate(p.data(), g.data(), m.data(), v.data(), n, step, ao);
    }
    out.insert(out.end(), p.begin(), p.end());
    out.insert(out.end(), m.begin(), m.end());
    out.insert(out.end(), v.begin(), v.end());
    return out;
  });
  for (bool nesterov : {false, true}) {
    SgdOptions so;
    so.lr = 0.05;
    so.momentum = 0.9;
    so.weight_decay = 1e-4;
    so.dampening = nesterov ? 0.0 : 0.1;
    so.nesterov = nesterov;
    expectSameBitsOnEveryPath("sgd", [&] {
      std::vector<float> p = p0, buf(n);
      sgdUpdate(p.data(), g.data(), buf.data(), n, true, so);
      sgdUpdate(p.data(), g.data(), buf.data(), n, false, so);
      p.insert(p.end(), buf.begin(), buf.end());
      return p;
    });
  }
  // One AdamW step, recomputed from the header's formula.
  std::vector<float> p = p0, m(n, 0.0f), v(n, 0.0f);
  adamwUpdate(p.data(), g.data(), m.data(), v.data(), n, 1, ao);
  const double bc1 = 1 - ao.beta1, bc2 = 1 - ao.beta2;
  for (int64_t i = 0; i < n; ++i) {
    const size_t k = static_cast<size_t>(i);
    float pw = p0[k] * static_cast<float>(1 - ao.lr * ao.weight_decay);
    float mw = 0.0f * static_cast<float>(ao.beta1);
    mw = std::fma(g[k], static_cast<float>(1 - ao.beta1), mw);
    float vw = 0.0f * static_cast<float>(ao.beta2);
    vw = std::fma(static_cast<float>(1 - ao.beta2) * g[k], g[k], vw);
    const float denom =
        std::sqrt(vw) / static_cast<float>(std::sqrt(bc2)) + static_cast<float>(ao.eps);
    pw = pw + (static_cast<float>(-(ao.lr / bc1)) * mw) / denom;
    ASSERT_TRUE(test::sameBits(p[k], pw)) << i;
    ASSERT_TRUE(test::sameBits(m[k], mw)) << i;
    ASSERT_TRUE(test::sameBits(v[k], vw)) << i;
  }
}

TEST(OpsGradClip, GlobalNormAndCoefficientOnEveryPath) {
  const std::vector<int64_t> sizes = {0, 1, 17, 100000, 3 * kReductionBlock + 5};
  std::vector<std::vector<float>> grads;
  uint64_t seed = 60;
  for (int64_t s : sizes) grads.push_back(randomFloats(static_cast<size_t>(s), seed++, 0.5f));
  expectSameBitsOnEveryPath("clipGradNorm", [&] {
    auto copy = grads;
    std::vector<FloatSpan> spans;
    for (auto& g : copy) spans.push_back({g.data(), static_cast<int64_t>(g.size())});
    std::vector<float> out = {clipGradNorm(spans, 1.0)};
    for (auto& g : copy) out.insert(out.end(), g.begin(), g.end());
    return out;
  });
  // The documented combination of the per-tensor norms.
  std::vector<ConstFloatSpan> views;
  float acc = 0.0f;
  for (const auto& g : grads) {
    views.push_back({g.data(), static_cast<int64_t>(g.size())});
    const float norm = std::sqrt(sumOfSquares(g.data(), static_cast<int64_t>(g.size())));
    acc = std::fma(norm, norm, acc);
  }
  EXPECT_TRUE(test::sameBits(globalL2Norm(views), std::sqrt(acc)));
  EXPECT_EQ(clipCoefficient(0.5f, 1.0), 1.0f);
  EXPECT_EQ(clipCoefficient(4.0f, 1.0), 1.0f / (4.0f + static_cast<float>(1e-6)));
  EXPECT_TRUE(std::isnan(clipCoefficient(NAN, 1.0)));
}

}  // namespace
}  // namespace mlcp::ops
