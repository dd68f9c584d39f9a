// Every backward kernel against central finite differences of a double-precision reference of
// its forward: for a random projection r, the gradient of L(x) = sum_i r_i f(x)_i computed by
// the kernel (float, dy = r) must match (L(x + h e_j) - L(x - h e_j)) / 2h (double) to
// |ours - numeric| <= 1e-5 * (1 + |numeric|) at up to 48 sampled inputs per argument.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "ops/ops.h"
#include "tests/ops/ops_test_util.h"

namespace mlcp::ops {
namespace {

using Vec = std::vector<double>;
using Forward = std::function<Vec(const std::vector<Vec>&)>;

constexpr double kTolerance = 1e-5;

std::vector<float> toFloat(const Vec& v) { return std::vector<float>(v.begin(), v.end()); }

Vec randomInput(size_t n, uint64_t seed, double scale = 1.0) {
  const auto f = test::randomFloats(n, seed, static_cast<float>(scale));
  return Vec(f.begin(), f.end());  // exactly representable as floats
}

double project(const Vec& y, const Vec& r) {
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += y[i] * r[i];
  return s;
}

// Checks ours[arg] (the kernel's gradient of argument `arg`) against finite differences.
void expectGradient(const std::string& what, const Forward& f, std::vector<Vec> inputs,
                    const Vec& r, size_t arg, const std::vector<float>& ours) {
  ASSERT_EQ(ours.size(), inputs[arg].size()) << what;
  const size_t n = inputs[arg].size();
  const size_t step = std::max<size_t>(1, n / 48);
  double worst = 0;
  for (size_t j = 0; j < n; j += step) {
    const double x = inputs[arg][j];
    const double h = 1e-5 * std::max(1.0, std::fabs(x));
    inputs[arg][j] = x + h;
    const double up = project(f(inputs), r);
    inputs[arg][j] = x - h;
    const double down = project(f(inputs), r);
    inputs[arg][j] = x;
    const double numeric = (up - down) / (2 * h);
    const double err = std::fabs(ours[j] - numeric) / (1 + std::fabs(numeric));
    worst = std::max(worst, err);
    EXPECT_LE(err, kTolerance) << what << ": d/d input " << arg << "[" << j << "]: ours " << ours[j]
                               << ", numeric " << numeric;
  }
  std::printf("[ ops ] %-34s arg %zu: max relative error %.2e\n", what.c_str(), arg, worst);
}

TEST(OpsGradients, Linear) {
  const int64_t rows = 5, in = 7, out = 3;
  const std::vector<Vec> x = {randomInput(rows * in, 1), randomInput(out * in, 2),
                              randomInput(out, 3)};
  const Forward f = [&](const std::vector<Vec>& v) {
    Vec y(rows * out);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t o = 0; o < out; ++o) {
        double s = v[2][o];
        for (int64_t i = 0; i < in; ++i) s += v[0][r * in + i] * v[1][o * in + i];
        y[r * out + o] = s;
      }
    }
    return y;
  };
  const Vec r = randomInput(rows * out, 4);
  const auto xf = toFloat(x[0]), wf = toFloat(x[1]), rf = toFloat(r);
  std::vector<float> dx(xf.size()), dw(wf.size()), db(out);
  linearBackward(xf.data(), wf.data(), rf.data(), dx.data(), dw.data(), db.data(), rows, in, out);
  expectGradient("linear", f, x, r, 0, dx);
  expectGradient("linear", f, x, r, 1, dw);
  expectGradient("linear", f, x, r, 2, db);
}

TEST(OpsGradients, ActivationsSoftmaxCrossEntropy) {
  const int64_t rows = 4, cols = 9, n = rows * cols;
  const std::vector<Vec> x = {randomInput(n, 11, 1.5)};
  const Vec r = randomInput(n, 12);
  const auto xf = toFloat(x[0]), rf = toFloat(r);
  std::vector<float> y(n), dx(n);
  auto elementwise = [&](const char* name, std::function<double(double)> fn) {
    return Forward([fn](const std::vector<Vec>& v) {
      Vec out(v[0].size());
      for (size_t i = 0; i < out.size(); ++i) out[i] = fn(v[0][i]);
      return out;
    });
  };
  geluBackward(xf.data(), rf.data(), dx.data(), n);
  expectGradient(
      "gelu",
      elementwise("gelu", [](double a) { return 0.5 * a * (1 + std::erf(a / std::sqrt(2.0))); }), x,
      r, 0, dx);
  tanh(xf.data(), y.data(), n);
  tanhBackward(y.data(), rf.data(), dx.data(), n);
  expectGradient("tanh", elementwise("tanh", [](double a) { return std::tanh(a); }), x, r, 0, dx);
  relu(xf.data(), y.data(), n);
  reluBackward(y.data(), rf.data(), dx.data(), n);
  expectGradient("relu", elementwise("relu", [](double a) { return a > 0 ? a : 0; }), x, r, 0, dx);

  auto softmaxRef = [&](bool log) {
    return Forward([=](const std::vector<Vec>& v) {
      Vec out(v[0].size());
      for (int64_t row = 0; row < rows; ++row) {
        double m = -INFINITY, s = 0;
        for (int64_t j = 0; j < cols; ++j) m = std::max(m, v[0][row * cols + j]);
        for (int64_t j = 0; j < cols; ++j) s += std::exp(v[0][row * cols + j] - m);
        for (int64_t j = 0; j < cols; ++j) {
          const double z = v[0][row * cols + j] - m;
          out[row * cols + j] = log ? z - std::log(s) : std::exp(z) / s;
        }
      }
      return out;
    });
  };
  softmax(xf.data(), y.data(), rows, cols);
  softmaxBackward(y.data(), rf.data(), dx.data(), rows, cols);
  expectGradient("softmax", softmaxRef(false), x, r, 0, dx);
  logSoftmax(xf.data(), y.data(), rows, cols);
  logSoftmaxBackward(y.data(), rf.data(), dx.data(), rows, cols);
  expectGradient("logSoftmax", softmaxRef(true), x, r, 0, dx);

  const std::vector<int64_t> targets = {3, 0, 8, 5};
  const Forward ce = [&](const std::vector<Vec>& v) {
    const Vec lp = softmaxRef(true)(v);
    double total = 0;
    for (int64_t row = 0; row < rows; ++row) total -= lp[row * cols + targets[row]];
    return Vec{total / rows};
  };
  crossEntropyBackward(xf.data(), targets.data(), 1.7f, dx.data(), rows, cols);
  expectGradient("crossEntropy", ce, x, Vec{1.7}, 0, dx);
}

TEST(OpsGradients, LayerNorm) {
  const int64_t rows = 3, cols = 10, n = rows * cols;
  const std::vector<Vec> x = {randomInput(n, 21, 2.0), randomInput(cols, 22),
                              randomInput(cols, 23)};
  const Forward f = [&](const std::vector<Vec>& v) {
    Vec out(n);
    for (int64_t row = 0; row < rows; ++row) {
      double mean = 0, var = 0;
      for (int64_t j = 0; j < cols; ++j) mean += v[0][row * cols + j] / cols;
      for (int64_t j = 0; j < cols; ++j) {
        var += (v[0][row * cols + j] - mean) * (v[0][row * cols + j] - mean) / cols;
      }
      for (int64_t j = 0; j < cols; ++j) {
        out[row * cols + j] =
            (v[0][row * cols + j] - mean) / std::sqrt(var + 1e-5) * v[1][j] + v[2][j];
      }
    }
    return out;
  };
  const Vec r = randomInput(n, 24);
  const auto xf = toFloat(x[0]), wf = toFloat(x[1]), bf = toFloat(x[2]), rf = toFloat(r);
  std::vector<float> y(n), mean(rows), rstd(rows), dx(n), dw(cols), db(cols);
  layerNorm(xf.data(), wf.data(), bf.data(), y.data(), mean.data(), rstd.data(), rows, cols);
  layerNormBackward(xf.data(), wf.data(), mean.data(), rstd.data(), rf.data(), dx.data(), dw.data(),
                    db.data(), rows, cols);
  expectGradient("layerNorm", f, x, r, 0, dx);
  expectGradient("layerNorm", f, x, r, 1, dw);
  expectGradient("layerNorm", f, x, r, 2, db);
}

TEST(OpsGradients, CausalAttention) {
  const int64_t bh = 2, t = 5, d = 4, n = bh * t * d;
  const std::vector<Vec> x = {randomInput(n, 31), randomInput(n, 32), randomInput(n, 33)};
  const Forward f = [&](const std::vector<Vec>& v) {
    Vec y(n, 0.0);
    for (int64_t b = 0; b < bh; ++b) {
      for (int64_t i = 0; i < t; ++i) {
        Vec s(i + 1);
        double m = -INFINITY, z = 0;
        for (int64_t j = 0; j <= i; ++j) {
          double dotv = 0;
          for (int64_t e = 0; e < d; ++e)
            dotv += v[0][(b * t + i) * d + e] * v[1][(b * t + j) * d + e];
          s[j] = dotv / std::sqrt(static_cast<double>(d));
          m = std::max(m, s[j]);
        }
        for (int64_t j = 0; j <= i; ++j) z += std::exp(s[j] - m);
        for (int64_t j = 0; j <= i; ++j) {
          const double p = std::exp(s[j] - m) / z;
          for (int64_t e = 0; e < d; ++e) y[(b * t + i) * d + e] += p * v[2][(b * t + j) * d + e];
        }
      }
    }
    return y;
  };
  const Vec r = randomInput(n, 34);
  const auto q = toFloat(x[0]), k = toFloat(x[1]), v = toFloat(x[2]), rf = toFloat(r);
  std::vector<float> y(n), probs(bh * t * t), dq(n), dk(n), dv(n);
  causalAttention(q.data(), k.data(), v.data(), y.data(), probs.data(), bh, t, d);
  causalAttentionBackward(q.data(), k.data(), v.data(), probs.data(), rf.data(), dq.data(),
                          dk.data(), dv.data(), bh, t, d);
  expectGradient("causalAttention", f, x, r, 0, dq);
  expectGradient("causalAttention", f, x, r, 1, dk);
  expectGradient("causalAttention", f, x, r, 2, dv);
}

TEST(OpsGradients, Conv2dMaxPoolEmbedding) {
  const int64_t nimg = 2, c = 3, h = 6, w = 5, o = 4;
  const std::vector<Vec> x = {randomInput(nimg * c * h * w, 41), randomInput(o * c * 9, 42),
                              randomInput(o, 43)};
  const Forward conv = [&](const std::vector<Vec>& v) {
    Vec y(nimg * o * h * w);
    for (int64_t i = 0; i < nimg; ++i) {
      for (int64_t oc = 0; oc < o; ++oc) {
        for (int64_t yy = 0; yy < h; ++yy) {
          for (int64_t xx = 0; xx < w; ++xx) {
            double s = v[2][oc];
            for (int64_t ci = 0; ci < c; ++ci) {
              for (int64_t ky = 0; ky < 3; ++ky) {
                for (int64_t kx = 0; kx < 3; ++kx) {
                  const int64_t sy = yy + ky - 1, sx = xx + kx - 1;
                  if (sy < 0 || sy >= h || sx < 0 || sx >= w) continue;
                  s += v[1][(oc * c + ci) * 9 + ky * 3 + kx] *
                       v[0][((i * c + ci) * h + sy) * w + sx];
                }
              }
            }
            y[((i * o + oc) * h + yy) * w + xx] = s;
          }
        }
      }
    }
    return y;
  };
  const Vec r = randomInput(nimg * o * h * w, 44);
  const auto xf = toFloat(x[0]), wf = toFloat(x[1]), rf = toFloat(r);
  std::vector<float> dx(xf.size()), dw(wf.size()), db(o);
  conv2d3x3Backward(xf.data(), wf.data(), rf.data(), dx.data(), dw.data(), db.data(), nimg, c, h, w,
                    o);
  expectGradient("conv2d3x3", conv, x, r, 0, dx);
  expectGradient("conv2d3x3", conv, x, r, 1, dw);
  expectGradient("conv2d3x3", conv, x, r, 2, db);

  // Max-pool on distinct values (no ties within 2h of each other).
  const int64_t planes = 3, ph = 4, pw = 6;
  Vec px(planes * ph * pw);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<double>((i * 37) % 71) * 0.25;
  const Forward pool = [&](const std::vector<Vec>& v) {
    Vec y(planes * (ph / 2) * (pw / 2));
    for (int64_t p = 0; p < planes; ++p) {
      for (int64_t i = 0; i < ph / 2; ++i) {
        for (int64_t j = 0; j < pw / 2; ++j) {
          double m = -INFINITY;
          for (int64_t a = 0; a < 2; ++a) {
            for (int64_t b = 0; b < 2; ++b)
              m = std::max(m, v[0][(p * ph + 2 * i + a) * pw + 2 * j + b]);
          }
          y[(p * (ph / 2) + i) * (pw / 2) + j] = m;
        }
      }
    }
    return y;
  };
  const Vec pr = randomInput(planes * (ph / 2) * (pw / 2), 45);
  const auto pxf = toFloat(px), prf = toFloat(pr);
  std::vector<float> py(pr.size()), pdx(px.size());
  std::vector<uint8_t> winner(pr.size());
  maxPool2x2(pxf.data(), py.data(), winner.data(), planes, ph, pw);
  maxPool2x2Backward(prf.data(), winner.data(), pdx.data(), planes, ph, pw);
  expectGradient("maxPool2x2", pool, {px}, pr, 0, pdx);

  // Embedding: the table's gradient.
  const int64_t vocab = 6, dim = 4, ntok = 9;
  const std::vector<int64_t> tokens = {1, 4, 1, 0, 5, 1, 4, 2, 2};
  const std::vector<Vec> table = {randomInput(vocab * dim, 46)};
  const Forward emb = [&](const std::vector<Vec>& v) {
    Vec y(ntok * dim);
    for (int64_t i = 0; i < ntok; ++i) {
      for (int64_t j = 0; j < dim; ++j) y[i * dim + j] = v[0][tokens[i] * dim + j];
    }
    return y;
  };
  const Vec er = randomInput(ntok * dim, 47);
  const auto erf32 = toFloat(er);
  std::vector<float> dtable(vocab * dim);
  embeddingBackward(tokens.data(), erf32.data(), dtable.data(), ntok, vocab, dim);
  expectGradient("embedding", emb, table, er, 0, dtable);
}

}  // namespace
}  // namespace mlcp::ops
