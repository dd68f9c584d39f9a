#include "ops/softmax.h"

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "base/error.h"
#include "ops/detail/kernel_table.h"
#include "ops/parallel.h"

namespace mlcp::ops {
namespace {

int64_t rowGrain(int64_t cols) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1)); }

void checkShape(int64_t rows, int64_t cols, const char* what) {
  require(rows >= 0 && cols >= 0, std::string("ops::") + what + ": negative extent");
}

void checkTargets(const int64_t* targets, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    if (targets[r] < 0 || targets[r] >= cols) {
      throw InvalidArgument("ops::crossEntropy: target " + std::to_string(targets[r]) + " of row " +
                            std::to_string(r) + " is outside [0, " + std::to_string(cols) + ")");
    }
  }
}

void forRows(int64_t n, int64_t cols, const std::function<void(int64_t, int64_t)>& fn) {
  parallelFor(n, rowGrain(cols), fn);
}

}  // namespace

void softmax(const float* x, float* y, int64_t rows, int64_t cols) {
  checkShape(rows, cols, "softmax");
  const auto& k = detail::activeKernels();
  forRows(rows, cols, [&](int64_t r0, int64_t r1) {
    k.softmax(x + r0 * cols, y + r0 * cols, r1 - r0, cols, false);
  });
}

void logSoftmax(const float* x, float* y, int64_t rows, int64_t cols) {
  checkShape(rows, cols, "logSoftmax");
  const auto& k = detail::activeKernels();
  forRows(rows, cols, [&](int64_t r0, int64_t r1) {
    k.softmax(x + r0 * cols, y + r0 * cols, r1 - r0, cols, true);
  });
}

void softmaxBackward(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols) {
  checkShape(rows, cols, "softmaxBackward");
  const auto& k = detail::activeKernels();
  forRows(rows, cols, [&](int64_t r0, int64_t r1) {
    k.softmaxBackward(y + r0 * cols, dy + r0 * cols, dx + r0 * cols, r1 - r0, cols, false);
  });
}

void logSoftmaxBackward(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols) {
  checkShape(rows, cols, "logSoftmaxBackward");
  const auto& k = detail::activeKernels();
  forRows(rows, cols, [&](int64_t r0, int64_t r1) {
    k.softmaxBackward(y + r0 * cols, dy + r0 * cols, dx + r0 * cols, r1 - r0, cols, true);
  });
}

float crossEntropy(const float* logits, const int64_t* targets, int64_t rows, int64_t cols,
                   float* row_losses) {
  checkShape(rows, cols, "crossEntropy");
  checkTargets(targets, rows, cols);
  std::vector<float> own;
  if (row_losses == nullptr) {
    own.resize(static_cast<size_t>(rows));
    row_losses = own.data();
  }
  const auto& k = detail::activeKernels();
  forRows(rows, cols, [&](int64_t r0, int64_t r1) {
    k.crossEntropy(logits + r0 * cols, targets + r0, row_losses + r0, r1 - r0, cols);
  });
  float total = 0.0f;
  for (int64_t r = 0; r < rows; ++r) total = total + row_losses[r];
  return total / static_cast<float>(rows);
}

void crossEntropyBackward(const float* logits, const int64_t* targets, float grad, float* dlogits,
                          int64_t rows, int64_t cols) {
  checkShape(rows, cols, "crossEntropyBackward");
  checkTargets(targets, rows, cols);
  const float c = grad / static_cast<float>(rows);
  const auto& k = detail::activeKernels();
  forRows(rows, cols, [&](int64_t r0, int64_t r1) {
    k.crossEntropyBackward(logits + r0 * cols, targets + r0, c, dlogits + r0 * cols, r1 - r0, cols);
  });
}

}  // namespace mlcp::ops
