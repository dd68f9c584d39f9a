#include "ops/conv2d.h"

#include <algorithm>

#include "base/error.h"
#include "ops/matmul.h"
#include "ops/parallel.h"
#include "ops/scratch.h"

namespace mlcp::ops {
namespace {

void check(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o) {
  require(n >= 0 && c >= 0 && h >= 0 && w >= 0 && o >= 0, "ops::conv2d3x3: negative extent");
}

// The output columns xx of a kernel column kx whose source column xx + kx - 1 lies inside
// [0, w): [lo, hi). Outside that range the image is padded with zeros.
// For w >= 1, lo + kx - 1 >= 0 and hi + kx - 1 <= w: no pointer leaves the image row.
struct ColumnRange {
  int64_t lo, hi;
};
ColumnRange insideColumns(int64_t kx, int64_t w) {
  const int64_t lo = kx == 0 ? 1 : 0;
  const int64_t hi = std::max<int64_t>(lo, kx == 2 ? w - 1 : w);
  return {lo, hi};
}

// cols [c*9, h*w] of one image (header). Rows are copied, not tested element by element.
void im2col(const float* x, float* cols, int64_t c, int64_t h, int64_t w) {
  const int64_t hw = h * w;
  if (hw == 0) return;
  for (int64_t ci = 0; ci < c; ++ci) {
    const float* plane = x + ci * hw;
    for (int64_t ky = 0; ky < 3; ++ky) {
      for (int64_t kx = 0; kx < 3; ++kx) {
        float* row = cols + (ci * 9 + ky * 3 + kx) * hw;
        const auto [lo, hi] = insideColumns(kx, w);
        for (int64_t yy = 0; yy < h; ++yy) {
          const int64_t sy = yy + ky - 1;
          float* out = row + yy * w;
          if (sy < 0 || sy >= h) {
            std::fill(out, out + w, 0.0f);
            continue;
          }
          const float* src = plane + sy * w;  // column xx reads src[xx + kx - 1]
          std::fill(out, out + lo, 0.0f);
          std::copy(src + lo + kx - 1, src + hi + kx - 1, out + lo);
          std::fill(out + hi, out + w, 0.0f);
        }
      }
    }
  }
}

// dx of one image from its dcols: each element's contributions in ascending (ky, kx).
void col2im(const float* dcols, float* dx, int64_t c, int64_t h, int64_t w) {
  const int64_t hw = h * w;
  if (hw == 0) return;
  for (int64_t ci = 0; ci < c; ++ci) {
    float* plane = dx + ci * hw;
    std::fill(plane, plane + hw, 0.0f);
    for (int64_t ky = 0; ky < 3; ++ky) {
      for (int64_t kx = 0; kx < 3; ++kx) {
        const float* row = dcols + (ci * 9 + ky * 3 + kx) * hw;
        const auto [lo, hi] = insideColumns(kx, w);
        for (int64_t yy = 0; yy < h; ++yy) {
          const int64_t sy = yy + ky - 1;
          if (sy < 0 || sy >= h) continue;
          float* dst = plane + sy * w + lo + kx - 1;  // column xx adds to dst[xx - lo]
          const float* src = row + yy * w + lo;
          for (int64_t k = 0; k < hi - lo; ++k) dst[k] = dst[k] + src[k];
        }
      }
    }
  }
}

// The im2col matrices of all n images, in this thread's scratch buffer `slot`.
const float* allCols(const float* x, int64_t n, int64_t c, int64_t h, int64_t w, ScratchSlot slot) {
  const int64_t per = c * 9 * h * w;
  float* cols = scratchBuffer(slot, static_cast<size_t>(n * per));
  parallelFor(n, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) im2col(x + i * c * h * w, cols + i * per, c, h, w);
  });
  return cols;
}

}  // namespace

void conv2d3x3(const float* x, const float* weight, const float* bias, float* y, int64_t n,
               int64_t c, int64_t h, int64_t w, int64_t o) {
  check(n, c, h, w, o);
  if (n == 0 || o == 0 || h == 0 || w == 0) return;
  const int64_t hw = h * w, q = c * 9;
  const float* cols = allCols(x, n, c, h, w, ScratchSlot::kColumns);
  batchedGemm(false, false, n, o, hw, q, weight, q, 0, cols, hw, q * hw, y, hw, o * hw,
              bias != nullptr ? GemmInit::rowBias(bias) : GemmInit::zero());
}

void conv2d3x3Backward(const float* x, const float* weight, const float* dy, float* dx,
                       float* dweight, float* dbias, int64_t n, int64_t c, int64_t h, int64_t w,
                       int64_t o) {
  check(n, c, h, w, o);
  const int64_t hw = h * w, q = c * 9;
  if (dx != nullptr && n > 0 && c > 0 && hw > 0) {
    float* dcols = scratchBuffer(ScratchSlot::kColumnGradients, static_cast<size_t>(n * q * hw));
    batchedGemm(true, false, n, q, hw, o, weight, q, 0, dy, hw, o * hw, dcols, hw, q * hw);
    parallelFor(n, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        col2im(dcols + i * q * hw, dx + i * c * hw, c, h, w);
      }
    });
  }
  if (dweight != nullptr) {
    if (n == 0 || hw == 0) {
      std::fill(dweight, dweight + o * q, 0.0f);
    } else {
      const float* cols = allCols(x, n, c, h, w, ScratchSlot::kColumns);
      for (int64_t i = 0; i < n; ++i) {
        gemm(false, true, o, q, hw, dy + i * o * hw, hw, cols + i * q * hw, hw, dweight, q,
             i == 0 ? GemmInit::zero() : GemmInit::accumulate());
      }
    }
  }
  if (dbias != nullptr) {
    parallelFor(o, 1, [&](int64_t o0, int64_t o1) {
      for (int64_t oc = o0; oc < o1; ++oc) {
        float acc = 0.0f;
        for (int64_t i = 0; i < n; ++i) {
          const float* row = dy + (i * o + oc) * hw;
          for (int64_t p = 0; p < hw; ++p) acc = acc + row[p];
        }
        dbias[oc] = acc;
      }
    });
  }
}

}  // namespace mlcp::ops
