// Per-pixel LayerNorm over the channels (NAFNet's LayerNorm2d on NHWC data) and its gradient, in one or two
// passes where tfjs's ops take about seven forward and fourteen backward.
#pragma once
#include <cstdint>

namespace uirgen {

// x, y: [pixels, C]; mean, rstd: [pixels] (saved for the gradient); y = (x - mean) * rstd * g + b with
// rstd = 1 / sqrt(var + eps), var the biased variance.
void layerNorm(const float* x, const float* g, const float* b, float eps, float* y, float* mean, float* rstd, int64_t pixels,
               int64_t c);

// dx: [pixels, C]; dg, db: [C], summed over pixels in an order fixed by the shape (chunks of pixels, combined
// in order), so the bits do not depend on the thread count.
void layerNormGrad(const float* dy, const float* x, const float* mean, const float* rstd, const float* g, float* dx, float* dg,
                   float* db, int64_t pixels, int64_t c);

}  // namespace uirgen
