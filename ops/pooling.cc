#include "ops/pooling.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "base/error.h"
#include "ops/parallel.h"

namespace mlcp::ops {

namespace {

// `later ? a : b` without a branch (the winner depends on the data, so a branch mispredicts about
// half the time; GCC turns the plain ternaries into branches here).
inline float select(bool later, float a, float b) {
  const uint32_t mask = 0u - static_cast<uint32_t>(later);
  uint32_t ua, ub;
  std::memcpy(&ua, &a, sizeof ua);
  std::memcpy(&ub, &b, sizeof ub);
  const uint32_t bits = (ua & mask) | (ub & ~mask);
  float r;
  std::memcpy(&r, &bits, sizeof r);
  return r;
}
inline int64_t select(bool later, int64_t a, int64_t b) {
  const int64_t mask = -static_cast<int64_t>(later);
  return (a & mask) | (b & ~mask);
}

}  // namespace

void maxPool2x2(const float* x, float* y, uint8_t* winner, int64_t planes, int64_t h, int64_t w) {
  require(planes >= 0 && h >= 0 && w >= 0, "ops::maxPool2x2: negative extent");
  const int64_t oh = h / 2, ow = w / 2;
  parallelFor(planes, 1, [x, y, winner, h, w, oh, ow](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float* in = x + p * h * w;
      for (int64_t i = 0; i < oh; ++i) {
        const float* top = in + 2 * i * w;
        const float* bottom = top + w;
        float* y_row = y + (p * oh + i) * ow;
        uint8_t* winner_row = winner + (p * oh + i) * ow;
        int64_t j = 0;
#if defined(__SSE2__)
        // Four outputs at a time: the same comparisons and selections as the scalar loop
        // below, lane by lane (no arithmetic, so the bits cannot differ).
        for (; j + 4 <= ow; j += 4) {
          const __m128 t0 = _mm_loadu_ps(top + 2 * j), t1 = _mm_loadu_ps(top + 2 * j + 4);
          const __m128 b0 = _mm_loadu_ps(bottom + 2 * j), b1 = _mm_loadu_ps(bottom + 2 * j + 4);
          const __m128 candidates[3] = {_mm_shuffle_ps(t0, t1, _MM_SHUFFLE(3, 1, 3, 1)),
                                        _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(2, 0, 2, 0)),
                                        _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 1, 3, 1))};
          __m128 m = _mm_shuffle_ps(t0, t1, _MM_SHUFFLE(2, 0, 2, 0));
          __m128i at = _mm_setzero_si128();
          for (int k = 0; k < 3; ++k) {
            const __m128 v = candidates[k];
            const __m128 later = _mm_or_ps(_mm_cmpgt_ps(v, m), _mm_cmpunord_ps(v, v));
            const __m128i later_i = _mm_castps_si128(later);
            m = _mm_or_ps(_mm_and_ps(later, v), _mm_andnot_ps(later, m));
            at = _mm_or_si128(_mm_and_si128(later_i, _mm_set1_epi32(k + 1)),
                              _mm_andnot_si128(later_i, at));
          }
          _mm_storeu_ps(y_row + j, m);
          const __m128i bytes = _mm_packus_epi16(_mm_packs_epi32(at, at), _mm_setzero_si128());
          const int32_t four = _mm_cvtsi128_si32(bytes);
          std::memcpy(winner_row + j, &four, 4);
        }
#endif
        for (; j < ow; ++j) {
          float m = top[2 * j];
          int64_t at = 0;
          const auto take = [&m, &at](float v, int64_t position) {
            const bool later = (v > m) | (v != v);  // `|`: no short-circuit branch
            m = select(later, v, m);
            at = select(later, position, at);
          };
          take(top[2 * j + 1], 1);
          take(bottom[2 * j], 2);
          take(bottom[2 * j + 1], 3);
          y_row[j] = m;
          winner_row[j] = static_cast<uint8_t>(at);
        }
      }
    }
  });
}

void maxPool2x2Backward(const float* dy, const uint8_t* winner, float* dx, int64_t planes,
                        int64_t h, int64_t w) {
  require(planes >= 0 && h >= 0 && w >= 0, "ops::maxPool2x2Backward: negative extent");
  const int64_t oh = h / 2, ow = w / 2;
  parallelFor(planes, 1, [dy, winner, dx, h, w, oh, ow](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      float* out = dx + p * h * w;
      for (int64_t i = 0; i < oh; ++i) {
        float* top = out + 2 * i * w;
        float* bottom = top + w;
        const float* dy_row = dy + (p * oh + i) * ow;
        const uint8_t* winner_row = winner + (p * oh + i) * ow;
        for (int64_t j = 0; j < ow; ++j) {
          const float g = 0.0f + dy_row[j];  // as `+0 + dy` into a zeroed dx: -0 becomes +0
          const int64_t at = winner_row[j];
          top[2 * j] = select(at == 0, g, 0.0f);
          top[2 * j + 1] = select(at == 1, g, 0.0f);
          bottom[2 * j] = select(at == 2, g, 0.0f);
          bottom[2 * j + 1] = select(at == 3, g, 0.0f);
        }
        if (w % 2 != 0) top[w - 1] = bottom[w - 1] = 0.0f;
      }
      if (h % 2 != 0) std::fill(out + (h - 1) * w, out + h * w, 0.0f);
    }
  });
}

}  // namespace mlcp::ops
