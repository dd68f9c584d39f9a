// Embedding lookup and its gradient.
//
//   forward:  y[i][:] = table[tokens[i]][:]                        (a copy)
//   backward: dtable = 0; then for i ascending: dtable[tokens[i]][:] += dy[i][:]
// so each row of dtable is the sum of its tokens' gradients in ascending token position, from
// +0. Threads take blocks of columns (each walks all positions in order). Tokens outside
// [0, vocab) are an InvalidArgument.
#pragma once

#include <cstdint>

namespace mlcp::ops {

// table [vocab, dim], tokens [n], y [n, dim].
void embedding(const float* table, const int64_t* tokens, float* y, int64_t n, int64_t vocab,
               int64_t dim);

// dy [n, dim] -> dtable [vocab, dim] (overwritten).
void embeddingBackward(const int64_t* tokens, const float* dy, float* dtable, int64_t n,
                       int64_t vocab, int64_t dim);

}  // namespace mlcp::ops
