#include "ops/scratch.h"

#include <memory>

namespace mlcp::ops {
namespace {

struct Buffer {
  std::unique_ptr<float[]> data;
  size_t capacity = 0;
};

}  // namespace

float* scratchBuffer(ScratchSlot slot, size_t count) {
  thread_local Buffer buffers[2];
  Buffer& b = buffers[static_cast<int>(slot)];
  if (b.capacity < count) {
    b.data.reset();  // free first: the old and the new buffer need not coexist
    b.capacity = 0;
    b.data.reset(new float[count]);  // uninitialised on purpose
    b.capacity = count;
  }
  return b.data.get();
}

}  // namespace mlcp::ops
