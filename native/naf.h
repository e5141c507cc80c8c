// Kernels of NAFNet's blocks on NHWC data, each a pass forward and one back where tfjs's ops take several:
// the per-pixel LayerNorm over channels (LayerNorm2d; about seven ops forward, fourteen back) and SimpleGate.
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

// NAFNet's SimpleGate on [pixels, 2 * half] channels-last data: y = x[:, :half] * x[:, half:], and its
// gradient dx = [dy * x[:, half:], dy * x[:, :half]] (the products tfjs's Multiply gradient forms).
void simpleGate(const float* x, float* y, int64_t pixels, int64_t half);
void simpleGateGrad(const float* dy, const float* x, float* dx, int64_t pixels, int64_t half);

}  // namespace uirgen
