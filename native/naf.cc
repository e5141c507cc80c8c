#include "naf.h"
#include "loops.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace uirgen {
namespace {

// Pixels per task of the gradient: fixed, so that dg and db are summed in the same order on any machine.
constexpr int64_t CHUNK_PIXELS = 256;

}  // namespace

void layerNorm(const float* x, const float* g, const float* b, float eps, float* y, float* mean, float* rstd, int64_t pixels,
               int64_t c) {
  const float count = static_cast<float>(c);
#pragma omp parallel if (pixels * c >= PARALLEL_MIN)
  {
    std::vector<float> d(static_cast<size_t>(c));
#pragma omp for schedule(static)
    for (int64_t p = 0; p < pixels; p++) {
      const float* xp = x + p * c;
      const float mu = rowSum(xp, c) / count;
      for (int64_t i = 0; i < c; i++) d[i] = (xp[i] - mu) * (xp[i] - mu);
      const float r = 1.f / std::sqrt(rowSum(d.data(), c) / count + eps);
      float* yp = y + p * c;
      for (int64_t i = 0; i < c; i++) yp[i] = (xp[i] - mu) * r * g[i] + b[i];
      mean[p] = mu;
      rstd[p] = r;
    }
  }
}

void layerNormGrad(const float* dy, const float* x, const float* mean, const float* rstd, const float* g, float* dx, float* dg,
                   float* db, int64_t pixels, int64_t c) {
  const int64_t chunks = std::max<int64_t>(1, (pixels + CHUNK_PIXELS - 1) / CHUNK_PIXELS);
  std::vector<float> partialG(static_cast<size_t>(chunks * c), 0.f), partialB(static_cast<size_t>(chunks * c), 0.f);
  const float count = static_cast<float>(c);
#pragma omp parallel if (pixels * c >= PARALLEL_MIN)
  {
    std::vector<float> xhat(static_cast<size_t>(c)), dxhat(static_cast<size_t>(c)), prod(static_cast<size_t>(c));
#pragma omp for schedule(static)
    for (int64_t k = 0; k < chunks; k++) {
      float* pg = partialG.data() + k * c;
      float* pb = partialB.data() + k * c;
      for (int64_t p = k * CHUNK_PIXELS; p < std::min(pixels, (k + 1) * CHUNK_PIXELS); p++) {
        const float* xp = x + p * c;
        const float* dyp = dy + p * c;
        const float mu = mean[p], r = rstd[p];
        for (int64_t i = 0; i < c; i++) {
          xhat[i] = (xp[i] - mu) * r;
          dxhat[i] = dyp[i] * g[i];
          prod[i] = dxhat[i] * xhat[i];
          pg[i] += dyp[i] * xhat[i];
          pb[i] += dyp[i];
        }
        const float meanDxhat = rowSum(dxhat.data(), c) / count;
        const float meanProd = rowSum(prod.data(), c) / count;
        float* dxp = dx + p * c;
        for (int64_t i = 0; i < c; i++) dxp[i] = r * (dxhat[i] - meanDxhat - xhat[i] * meanProd);
      }
    }
  }
  for (int64_t i = 0; i < c; i++) {
    float sg = 0.f, sb = 0.f;
    for (int64_t k = 0; k < chunks; k++) {
      sg += partialG[k * c + i];
      sb += partialB[k * c + i];
    }
    dg[i] = sg;
    db[i] = sb;
  }
}

void simpleGate(const float* x, float* y, int64_t pixels, int64_t half) {
#pragma omp parallel for schedule(static) if (pixels * half >= PARALLEL_MIN)
  for (int64_t p = 0; p < pixels; p++) {
    const float* a = x + p * 2 * half;
    const float* b = a + half;
    float* out = y + p * half;
    for (int64_t i = 0; i < half; i++) out[i] = a[i] * b[i];
  }
}

void simpleGateGrad(const float* dy, const float* x, float* dx, int64_t pixels, int64_t half) {
#pragma omp parallel for schedule(static) if (pixels * half >= PARALLEL_MIN)
  for (int64_t p = 0; p < pixels; p++) {
    const float* a = x + p * 2 * half;
    const float* b = a + half;
    const float* g = dy + p * half;
    float* da = dx + p * 2 * half;
    float* db = da + half;
    for (int64_t i = 0; i < half; i++) {
      da[i] = g[i] * b[i];
      db[i] = g[i] * a[i];
    }
  }
}

}  // namespace uirgen
