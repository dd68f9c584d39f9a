#include "ops/random.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include "base/error.h"
#include "ops/dropout.h"
#include "ops/math_functions.h"

namespace mlcp::ops {
namespace {

float unitFloat(uint32_t word) { return static_cast<float>(word >> 8) * 0x1p-24f; }

// Consecutive words of one stream, one Philox block per four.
class WordStream {
 public:
  explicit WordStream(uint64_t key) : key_(key) {}
  uint32_t next() {
    if (i_ % 4 == 0) {
      const uint64_t j = i_ / 4;
      block_ = philox4x32({static_cast<uint32_t>(j), static_cast<uint32_t>(j >> 32), 1u, 0u}, key_);
    }
    return block_[i_++ % 4];
  }

 private:
  uint64_t key_;
  uint64_t i_ = 0;
  std::array<uint32_t, 4> block_{};
};

void requireLength(int64_t n, const char* fn) {
  if (n < 0) throw InvalidArgument(std::string("ops::") + fn + ": negative length");
}

}  // namespace

uint32_t randomWord(uint64_t key, uint64_t i) {
  const uint64_t j = i / 4;
  return philox4x32({static_cast<uint32_t>(j), static_cast<uint32_t>(j >> 32), 1u, 0u}, key)[i % 4];
}

void uniformFill(float* y, int64_t n, uint64_t key, float low, float high) {
  requireLength(n, "uniformFill");
  WordStream words(key);
  const float width = high - low;
  for (int64_t i = 0; i < n; ++i) {
    const float scaled = width * unitFloat(words.next());
    y[i] = low + scaled;
  }
}

void normalFill(float* y, int64_t n, uint64_t key, float mean, float std) {
  requireLength(n, "normalFill");
  WordStream words(key);
  int64_t i = 0;
  while (i < n) {
    const float a = 2.0f * unitFloat(words.next()) - 1.0f;
    const float b = 2.0f * unitFloat(words.next()) - 1.0f;
    const float aa = a * a, bb = b * b;
    const float s = aa + bb;
    if (s >= 1.0f || s == 0.0f) continue;
    const float f = std::sqrt(-2.0f * ops::log(s) / s);
    for (float z : {a * f, b * f}) {
      if (i == n) break;
      const float scaled = std * z;
      y[i++] = mean + scaled;
    }
  }
}

double cosPi(double t) {
  // cos(pi t) = -sin(pi (t - 1/2)), |pi (t - 1/2)| <= pi/2: the odd Taylor series of sin to
  // x^25, whose next term is below (pi/2)^27 / 27! < 1e-17. Horner's scheme, fixed order.
  const double x = 3.14159265358979323846 * (std::clamp(t, 0.0, 1.0) - 0.5);
  const double x2 = x * x;
  double acc = 0.0;
  for (int k = 25; k >= 3; k -= 2) {
    const double term = acc + 1.0;
    acc = -(x2 / static_cast<double>(k * (k - 1))) * term;
  }
  const double sum = acc + 1.0;
  return -(x * sum);
}

}  // namespace mlcp::ops
