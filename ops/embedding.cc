#include "ops/embedding.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "base/error.h"
#include "ops/detail/kernel_table.h"
#include "ops/parallel.h"

namespace mlcp::ops {
namespace {

void checkTokens(const int64_t* tokens, int64_t n, int64_t vocab) {
  require(n >= 0 && vocab >= 0, "ops::embedding: negative extent");
  for (int64_t i = 0; i < n; ++i) {
    if (tokens[i] < 0 || tokens[i] >= vocab) {
      throw InvalidArgument("ops::embedding: token " + std::to_string(tokens[i]) + " at position " +
                            std::to_string(i) + " is outside [0, " + std::to_string(vocab) + ")");
    }
  }
}

}  // namespace

void embedding(const float* table, const int64_t* tokens, float* y, int64_t n, int64_t vocab,
               int64_t dim) {
  checkTokens(tokens, n, vocab);
  require(dim >= 0, "ops::embedding: negative dimension");
  parallelFor(n, std::max<int64_t>(1, 16384 / std::max<int64_t>(dim, 1)),
              [&](int64_t i0, int64_t i1) {
                for (int64_t i = i0; i < i1; ++i) {
                  std::memcpy(y + i * dim, table + tokens[i] * dim,
                              static_cast<size_t>(dim) * sizeof(float));
                }
              });
}

void embeddingBackward(const int64_t* tokens, const float* dy, float* dtable, int64_t n,
                       int64_t vocab, int64_t dim) {
  checkTokens(tokens, n, vocab);
  require(dim >= 0, "ops::embeddingBackward: negative dimension");
  const auto& k = detail::activeKernels();
  parallelFor(dim, 64, [&](int64_t j0, int64_t j1) {
    const int64_t len = j1 - j0;
    for (int64_t v = 0; v < vocab; ++v) {
      std::fill(dtable + v * dim + j0, dtable + v * dim + j1, 0.0f);
    }
    for (int64_t i = 0; i < n; ++i) {
      float* row = dtable + tokens[i] * dim + j0;
      k.binary(detail::Binary::kAdd, row, dy + i * dim + j0, row, len);
    }
  });
}

}  // namespace mlcp::ops
