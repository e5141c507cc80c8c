#include "elementwise.h"
#include "loops.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

namespace uirgen {
namespace {


// Elements per task: rows of the [outer * mid, inner] view are cut into blocks of this size so that equal
// shapes (one long row) still spread over the threads.
constexpr int64_t BLOCK = 1 << 14;

// SmallIsB: f's argument order is kept whichever operand is the small one (Sub and RealDiv are not symmetric).
template <bool SmallIsB, class F>
void binaryBlocks(F f, const float* big, const float* small, float* out, int64_t outer, int64_t mid, int64_t inner) {
  const int64_t rows = outer * mid, blocks = (inner + BLOCK - 1) / BLOCK, tasks = rows * blocks;
  if (inner == 1) {
#pragma omp parallel for schedule(static) if (rows >= PARALLEL_MIN)
    for (int64_t o = 0; o < outer; o++) {
      const float s = small[o];
      for (int64_t m = o * mid; m < (o + 1) * mid; m++) out[m] = SmallIsB ? f(big[m], s) : f(s, big[m]);
    }
    return;
  }
  auto row = [&](int64_t r, int64_t i0, int64_t i1) {
    const float* s = small + (r / mid) * inner;
    const float* x = big + r * inner;
    float* y = out + r * inner;
    for (int64_t i = i0; i < i1; i++) y[i] = SmallIsB ? f(x[i], s[i]) : f(s[i], x[i]);
  };
  if (inner >= BLOCK) {
#pragma omp parallel for schedule(static) if (rows * inner >= PARALLEL_MIN)
    for (int64_t t = 0; t < tasks; t++) {
      const int64_t i0 = (t % blocks) * BLOCK;
      row(t / blocks, i0, std::min(inner, i0 + BLOCK));
    }
  } else {
    // short rows (a bias over few channels): several whole rows per task
    const int64_t perTask = BLOCK / inner, groups = (rows + perTask - 1) / perTask;
#pragma omp parallel for schedule(static) if (rows * inner >= PARALLEL_MIN)
    for (int64_t g = 0; g < groups; g++) {
      for (int64_t r = g * perTask; r < std::min(rows, (g + 1) * perTask); r++) row(r, 0, inner);
    }
  }
}

template <class F>
void binaryWith(F f, int broadcast, const float* a, const float* b, float* out, int64_t outer, int64_t mid, int64_t inner) {
  if (broadcast == B_REPEATS) binaryBlocks<true>(f, a, b, out, outer, mid, inner);
  else binaryBlocks<false>(f, b, a, out, outer, mid, inner);
}

// Rows per partial sum: fixed, so the order of additions depends on the shape only.
constexpr int64_t CHUNK_ROWS = 512;

}  // namespace

void binary(int op, int broadcast, const float* a, const float* b, float* out, int64_t outer, int64_t mid, int64_t inner) {
  if (broadcast != B_REPEATS && broadcast != A_REPEATS) throw std::invalid_argument("binary: unknown broadcast");
  switch (op) {
    case B_ADD: return binaryWith([](float x, float y) { return x + y; }, broadcast, a, b, out, outer, mid, inner);
    case B_SUB: return binaryWith([](float x, float y) { return x - y; }, broadcast, a, b, out, outer, mid, inner);
    case B_MUL: return binaryWith([](float x, float y) { return x * y; }, broadcast, a, b, out, outer, mid, inner);
    case B_DIV: return binaryWith([](float x, float y) { return x / y; }, broadcast, a, b, out, outer, mid, inner);
    case B_RELU_GRAD:
      return binaryWith(
          [](float dy, float x) {
            const float step = x > 0.f ? 1.f : 0.f;  // written so that GCC vectorizes it
            return dy * (x != x ? x : step);
          },
          broadcast, a, b, out, outer, mid, inner);
    default: throw std::invalid_argument("binary: unknown op");
  }
}

void unary(int op, float alpha, const float* x, float* out, int64_t n) {
  if (op == U_RELU) {
#pragma omp parallel for schedule(static) if (n >= PARALLEL_MIN)
    for (int64_t i = 0; i < n; i++) out[i] = x[i] < 0.f ? 0.f : x[i];
  } else if (op == U_STEP) {
#pragma omp parallel for schedule(static) if (n >= PARALLEL_MIN)
    for (int64_t i = 0; i < n; i++) out[i] = x[i] != x[i] ? x[i] : (x[i] > 0.f ? 1.f : alpha);
  } else {
    throw std::invalid_argument("unary: unknown op");
  }
}

void reduce(bool mean, const float* x, float* out, int64_t outer, int64_t reduced, int64_t inner) {
  const float count = static_cast<float>(reduced);
  if (inner == 1) {
    // each output sums one contiguous row (a LayerNorm's mean over channels)
#pragma omp parallel for schedule(static) if (outer * reduced >= PARALLEL_MIN)
    for (int64_t o = 0; o < outer; o++) {
      const float s = rowSum(x + o * reduced, reduced);
      out[o] = mean ? s / count : s;
    }
    return;
  }
  const int64_t chunks = std::max<int64_t>(1, (reduced + CHUNK_ROWS - 1) / CHUNK_ROWS);
  std::vector<float> partial(static_cast<size_t>(outer * chunks * inner), 0.f);
  const int64_t tasks = outer * chunks;
#pragma omp parallel for schedule(static) if (outer * reduced * inner >= PARALLEL_MIN)
  for (int64_t t = 0; t < tasks; t++) {
    const int64_t o = t / chunks, k = t % chunks;
    const int64_t r0 = k * CHUNK_ROWS, r1 = std::min(reduced, r0 + CHUNK_ROWS);
    float* acc = partial.data() + t * inner;
    for (int64_t r = r0; r < r1; r++) {
      const float* row = x + (o * reduced + r) * inner;
      for (int64_t i = 0; i < inner; i++) acc[i] += row[i];
    }
  }
  for (int64_t o = 0; o < outer; o++) {
    float* dst = out + o * inner;
    for (int64_t i = 0; i < inner; i++) {
      float s = 0.f;
      for (int64_t k = 0; k < chunks; k++) s += partial[(o * chunks + k) * inner + i];
      dst[i] = mean ? s / count : s;
    }
  }
}

void adamw(const AdamWConstants& k, const float* p, const float* m, const float* v, const float* g, float* pOut, float* mOut,
           float* vOut, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= PARALLEL_MIN)
  for (int64_t i = 0; i < n; i++) {
    const float gi = g[i];
    const float mi = m[i] * k.beta1 + gi * k.oneMinusBeta1;
    const float gg = gi * gi;
    const float vi = v[i] * k.beta2 + gg * k.oneMinusBeta2;
    const float denom = std::sqrt(vi / k.correction2) + k.eps;
    const float update = (mi / k.correction1) / denom;
    const float base = k.decay ? p[i] * k.decayFactor : p[i];
    mOut[i] = mi;
    vOut[i] = vi;
    pOut[i] = base - update * k.lr;
  }
}

void maxPoolGrad(const PoolShapes& p, const float* x, const float* dy, float* dx) {
  const int64_t N = p[Q_N], H = p[Q_H], W = p[Q_W], C = p[Q_C], OH = p[Q_OH], OW = p[Q_OW];
  const int64_t KH = p[Q_KH], KW = p[Q_KW], SH = p[Q_SH], SW = p[Q_SW], PT = p[Q_PT], PL = p[Q_PL];
  // windows of different images never overlap, so each image is one task and the sums stay in a fixed order
#pragma omp parallel for schedule(static) if (N * H * W * C >= PARALLEL_MIN)
  for (int64_t n = 0; n < N; n++) {
    const float* xn = x + n * H * W * C;
    float* dxn = dx + n * H * W * C;
    std::fill(dxn, dxn + H * W * C, 0.f);
    for (int64_t oh = 0; oh < OH; oh++) {
      for (int64_t ow = 0; ow < OW; ow++) {
        const float* g = dy + ((n * OH + oh) * OW + ow) * C;
        for (int64_t c = 0; c < C; c++) {
          // tfjs's rule: the first position (row-major in the window) holding a strictly greater value
          float best = -std::numeric_limits<float>::infinity();
          int64_t at = -1;
          for (int64_t kh = 0; kh < KH; kh++) {
            const int64_t h = oh * SH - PT + kh;
            if (h < 0 || h >= H) continue;
            for (int64_t kw = 0; kw < KW; kw++) {
              const int64_t w = ow * SW - PL + kw;
              if (w < 0 || w >= W) continue;
              const float v = xn[(h * W + w) * C + c];
              if (v > best) {
                best = v;
                at = (h * W + w) * C + c;
              }
            }
          }
          if (at >= 0) dxn[at] += g[c];
        }
      }
    }
  }
}

}  // namespace uirgen
