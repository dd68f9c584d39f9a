// ops::exp, log, tanh and erf: error against the C library's double-precision functions
// (correctly rounded to well under 2^-24 relative) over every float of each range with a stride
// in the bit pattern, every float near each switch point of the algorithms, and the special
// values; and the same bits on every path over a sweep. Prints the measured maximum ulp
// (ops/math_functions.h quotes these figures); fails above 2 ulp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "ops/math_functions.h"
#include "tests/ops/ops_test_util.h"

namespace mlcp::ops {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Float bit patterns as a monotonic integer line: ordered(a) < ordered(b) iff a < b.
int64_t ordered(float x) {
  const int32_t i = static_cast<int32_t>(test::bitsOf(x));
  return i < 0 ? static_cast<int64_t>(INT32_MIN) - i : i;
}

float fromOrdered(int64_t o) {
  const int32_t i =
      o < 0 ? static_cast<int32_t>(static_cast<int64_t>(INT32_MIN) - o) : static_cast<int32_t>(o);
  float x;
  std::memcpy(&x, &i, sizeof(x));
  return x;
}

// The error of y in units of the last place of the float nearest to r; a result that rounds to
// infinity is exact where r is at least the overflow threshold.
double ulpError(float y, double r) {
  if (std::isnan(r)) return std::isnan(y) ? 0.0 : INFINITY;
  const double overflow = std::ldexp(1.0 - std::ldexp(1.0, -25), 128);
  if (std::isinf(y) && std::fabs(r) >= overflow && (y > 0) == (r > 0)) return 0.0;
  if (std::isinf(y) || std::isinf(r)) return static_cast<double>(y) == r ? 0.0 : INFINITY;
  const double a = std::fabs(r);
  int e = 0;
  std::frexp(a, &e);  // a = f 2^e, f in [0.5, 1)
  const double ulp = a < std::ldexp(1.0, -126) ? std::ldexp(1.0, -149) : std::ldexp(1.0, e - 24);
  return std::fabs(static_cast<double>(y) - r) / ulp;
}

struct Function {
  const char* name;
  void (*ours)(const float*, float*, int64_t);
  double (*reference)(double);
  float lo, hi;                 // the swept range
  std::vector<float> switches;  // points where the algorithm changes branch
};

const std::vector<Function>& functions() {
  static const std::vector<Function> f = {
      {"exp",
       &exp,
       [](double x) { return std::exp(x); },
       -104.0f,
       89.0f,
       {88.72283f, -87.33655f, -103.97208f, 0.0f, -0.3465736f, 0.3465736f}},
      {"log",
       &log,
       [](double x) { return std::log(x); },
       0.0f,
       kInf,
       {1.0f, 1.41421356f, 0.70710678f, 0x1p-126f, 0x1p-149f}},
      {"tanh",
       &tanh,
       [](double x) { return std::tanh(x); },
       -12.0f,
       12.0f,
       {0.625f, -0.625f, 9.01f, 0.0f}},
      {"erf",
       &erf,
       [](double x) { return std::erf(x); },
       -5.0f,
       5.0f,
       {0.921875f, -0.921875f, 3.925f, 0.0f}},
  };
  return f;
}

// Evaluates f at every `stride`-th float in [lo, hi]; returns the maximum error and where.
std::pair<double, float> sweep(const Function& f, float lo, float hi, int64_t stride) {
  constexpr int64_t kChunk = 1 << 20;
  std::vector<float> x(kChunk), y(kChunk);
  double worst = 0.0;
  float at = lo;
  const int64_t end = ordered(hi);
  for (int64_t o = ordered(lo); o <= end;) {
    int64_t n = 0;
    for (; n < kChunk && o <= end; ++n, o += stride) x[static_cast<size_t>(n)] = fromOrdered(o);
    f.ours(x.data(), y.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const double e = ulpError(y[static_cast<size_t>(i)], f.reference(x[static_cast<size_t>(i)]));
      if (e > worst) {
        worst = e;
        at = x[static_cast<size_t>(i)];
      }
    }
  }
  return {worst, at};
}

constexpr double kMaxUlp = 2.0;

TEST(OpsMath, UlpErrorOverDenseSweeps) {
  for (const auto& f : functions()) {
    auto [worst, at] = sweep(f, f.lo, f.hi, 61);
    // Every float within 2^15 representable steps of each switch point.
    for (float s : f.switches) {
      const int64_t o = ordered(s);
      const float lo = std::max(f.lo, fromOrdered(o - (1 << 15)));
      const float hi = std::min(f.hi, fromOrdered(o + (1 << 15)));
      const auto [w, a] = sweep(f, lo, hi, 1);
      if (w > worst) {
        worst = w;
        at = a;
      }
    }
    std::printf("[ ops ] %-4s over [%g, %g]: max error %.3f ulp (at x = %a, path %s)\n", f.name,
                static_cast<double>(f.lo), static_cast<double>(f.hi), worst,
                static_cast<double>(at), isaName(activeIsa()));
    EXPECT_LE(worst, kMaxUlp) << f.name << " at x = " << test::hexFloat(at);
  }
}

TEST(OpsMath, SpecialValues) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float sub = 1e-40f;
  struct Case {
    float (*fn)(float);
    float x, want;
  };
  const Case cases[] = {
      {&exp, 0.0f, 1.0f},   {&exp, -0.0f, 1.0f},   {&exp, -kInf, 0.0f},  {&exp, kInf, kInf},
      {&exp, 100.0f, kInf}, {&exp, -200.0f, 0.0f}, {&log, 1.0f, 0.0f},   {&log, 0.0f, -kInf},
      {&log, -0.0f, -kInf}, {&log, kInf, kInf},    {&tanh, 0.0f, 0.0f},  {&tanh, -0.0f, -0.0f},
      {&tanh, kInf, 1.0f},  {&tanh, -kInf, -1.0f}, {&tanh, 30.0f, 1.0f}, {&tanh, sub, sub},
      {&erf, 0.0f, 0.0f},   {&erf, -0.0f, -0.0f},  {&erf, kInf, 1.0f},   {&erf, -kInf, -1.0f},
      {&erf, 6.0f, 1.0f},
  };
  for (const auto& c : cases) {
    EXPECT_TRUE(test::sameBits(c.fn(c.x), c.want))
        << "f(" << test::hexFloat(c.x) << ") = " << test::hexFloat(c.fn(c.x)) << ", want "
        << test::hexFloat(c.want);
  }
  using Scalar = float (*)(float);
  for (Scalar fn : {Scalar{&exp}, Scalar{&log}, Scalar{&tanh}, Scalar{&erf}}) {
    EXPECT_TRUE(std::isnan(fn(nan)));
  }
  EXPECT_TRUE(std::isnan(log(-1.0f)));
  EXPECT_TRUE(std::isnan(log(-kInf)));
  // Subnormal results and arguments are kept, not flushed.
  EXPECT_GT(exp(-100.0f), 0.0f);
  EXPECT_LT(exp(-100.0f), 0x1p-126f);
  EXPECT_LE(ulpError(log(1e-40f), std::log(1e-40)), kMaxUlp);
  EXPECT_LE(ulpError(erf(1e-40f), std::erf(1e-40)), kMaxUlp);
}

TEST(OpsMath, SameBitsOnEveryPathOverASweep) {
  for (const auto& f : functions()) {
    std::vector<float> x;
    for (int64_t o = ordered(f.lo); o <= ordered(f.hi); o += 997) x.push_back(fromOrdered(o));
    for (float s : f.switches) {
      for (int64_t d = -300; d <= 300; ++d) x.push_back(fromOrdered(ordered(s) + d));
    }
    for (float v : {0.0f, -0.0f, kInf, -kInf, std::numeric_limits<float>::quiet_NaN(), 1e-45f,
                    -1e-45f, 3e38f, -3e38f}) {
      x.push_back(v);
    }
    test::expectSameBitsOnEveryPath(f.name, [&] {
      std::vector<float> y(x.size());
      f.ours(x.data(), y.data(), static_cast<int64_t>(x.size()));
      return y;
    });
  }
}

}  // namespace
}  // namespace mlcp::ops
