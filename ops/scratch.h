// Scratch memory for kernels that need a large temporary (the im2col matrices of a
// convolution): one grow-only buffer per (thread, slot), reused from call to call.
//
// Why: a std::vector of that size is zero-filled and, being larger than malloc's mmap threshold,
// mapped afresh and page-faulted in on every call; in the CNN's training step that cost more than
// the matrix products. The contents are unspecified on return (callers overwrite what they read),
// so reuse changes no result. A buffer lives until its thread ends; nested users on one thread
// take different slots.
#pragma once

#include <cstddef>

namespace mlcp::ops {

enum class ScratchSlot { kColumns = 0, kColumnGradients = 1 };

// At least `count` floats, valid until the next call with the same slot on this thread.
float* scratchBuffer(ScratchSlot slot, size_t count);

}  // namespace mlcp::ops
