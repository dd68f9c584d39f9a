// 2x2 max-pool, stride 2 (torch::max_pool2d(x, 2), as models/cnn.cc uses): on planes of
// [h, w] floats (planes = batch x channels), output [h/2, w/2] (rounded down, the last odd row
// or column ignored, as LibTorch's default). Each window is scanned in the order (0,0), (0,1),
// (1,0), (1,1); a later element replaces the running maximum when it is greater or NaN (as
// LibTorch), so NaN propagates and ties keep the first. argmax holds the winner's index within
// its plane (y * w + x); the backward puts dy there and 0 elsewhere. Threads take whole planes.
#pragma once

#include <cstdint>

namespace mlcp::ops {

// x [planes, h, w] -> y, argmax [planes, h/2, w/2].
void maxPool2x2(const float* x, float* y, int64_t* argmax, int64_t planes, int64_t h, int64_t w);

// dy [planes, h/2, w/2] -> dx [planes, h, w] (overwritten).
void maxPool2x2Backward(const float* dy, const int64_t* argmax, float* dx, int64_t planes,
                        int64_t h, int64_t w);

}  // namespace mlcp::ops
