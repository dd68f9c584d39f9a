// 2x2 max-pool, stride 2 (torch::max_pool2d(x, 2), as models/cnn.cc uses): on planes of
// [h, w] floats (planes = batch x channels), output [h/2, w/2] (rounded down, the last odd row
// or column ignored, as LibTorch's default). Each window is scanned in the order (0,0), (0,1),
// (1,0), (1,1); a later element replaces the running maximum when it is greater or NaN (as
// LibTorch), so NaN propagates and ties keep the first. `winner` holds the winner's position in
// that order (0-3), one byte per output rather than LibTorch's int64 index: the pool moves
// little data besides. The backward writes 0 + dy at the winner and +0 elsewhere in each window,
// and +0 in the ignored last row or column. Threads take whole planes.
#pragma once

#include <cstdint>

namespace mlcp::ops {

// x [planes, h, w] -> y, winner [planes, h/2, w/2].
void maxPool2x2(const float* x, float* y, uint8_t* winner, int64_t planes, int64_t h, int64_t w);

// dy [planes, h/2, w/2] -> dx [planes, h, w] (overwritten).
void maxPool2x2Backward(const float* dy, const uint8_t* winner, float* dx, int64_t planes,
                        int64_t h, int64_t w);

}  // namespace mlcp::ops
