#include "ops/pooling.h"

#include <algorithm>

#include "base/error.h"
#include "ops/parallel.h"

namespace mlcp::ops {

void maxPool2x2(const float* x, float* y, int64_t* argmax, int64_t planes, int64_t h, int64_t w) {
  require(planes >= 0 && h >= 0 && w >= 0, "ops::maxPool2x2: negative extent");
  const int64_t oh = h / 2, ow = w / 2;
  parallelFor(planes, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float* in = x + p * h * w;
      for (int64_t i = 0; i < oh; ++i) {
        for (int64_t j = 0; j < ow; ++j) {
          const int64_t base = 2 * i * w + 2 * j;
          const int64_t order[4] = {base, base + 1, base + w, base + w + 1};
          float m = in[order[0]];
          int64_t at = order[0];
          for (int e = 1; e < 4; ++e) {
            const float v = in[order[e]];
            if (v > m || v != v) {
              m = v;
              at = order[e];
            }
          }
          y[(p * oh + i) * ow + j] = m;
          argmax[(p * oh + i) * ow + j] = at;
        }
      }
    }
  });
}

void maxPool2x2Backward(const float* dy, const int64_t* argmax, float* dx, int64_t planes,
                        int64_t h, int64_t w) {
  require(planes >= 0 && h >= 0 && w >= 0, "ops::maxPool2x2Backward: negative extent");
  const int64_t oh = h / 2, ow = w / 2;
  parallelFor(planes, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      float* out = dx + p * h * w;
      std::fill(out, out + h * w, 0.0f);
      for (int64_t k = 0; k < oh * ow; ++k) {
        const int64_t at = argmax[p * oh * ow + k];
        out[at] = out[at] + dy[p * oh * ow + k];
      }
    }
  });
}

}  // namespace mlcp::ops
