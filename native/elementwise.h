// Memory-bound float32 kernels for the wasm backend's busiest elementwise, reduction and pooling-gradient
// ops, on all cores.
#pragma once
#include <cstdint>

namespace uirgen {

// RELU_GRAD is (dy, x) -> dy * step(x): ReLU's gradient in one pass instead of tfjs's Step then Multiply.
enum BinaryOp { B_ADD = 0, B_SUB = 1, B_MUL = 2, B_DIV = 3, B_RELU_GRAD = 4 };
enum UnaryOp { U_RELU = 0, U_STEP = 1 };
// Which operand of a binary op is the smaller one, repeated along the output's middle axis.
enum Broadcast { B_REPEATS = 1, A_REPEATS = 2 };

// The output viewed as [outer, mid, inner] and the smaller operand as [outer, inner], repeated over mid:
// out[o, m, i] = op(a[o, m, i], b[o, i]) (B_REPEATS) or op(a[o, i], b[o, m, i]) (A_REPEATS). Equal shapes
// are mid = 1; a scalar or a bias over channels is outer = 1.
void binary(int op, int broadcast, const float* a, const float* b, float* out, int64_t outer, int64_t mid, int64_t inner);

// relu: x < 0 ? 0 : x; step: x > 0 ? 1 : alpha (NaN stays NaN), as tfjs defines them.
void unary(int op, float alpha, const float* x, float* out, int64_t n);

// x viewed as [outer, reduced, inner]: out[o, i] = sum (or mean) over r of x[o, r, i]. The summation order is
// fixed by the shape alone (never by the thread count), so results repeat bit for bit on any machine.
void reduce(bool mean, const float* x, float* out, int64_t outer, int64_t reduced, int64_t inner);

// Constants of one AdamW step, each rounded to float32 as tfjs rounds a scalar operand.
struct AdamWConstants {
  float beta1, oneMinusBeta1, beta2, oneMinusBeta2, correction1, correction2, eps, lr, decayFactor;
  bool decay;
};

// One AdamW step over n values, in the order of operations (and roundings) of AdamW.apply's tfjs ops:
// m' = m*b1 + g*(1-b1); v' = v*b2 + g*g*(1-b2); p' = (decay ? p*(1-lr*wd) : p) - lr * (m'/c1) / (sqrt(v'/c2) + eps).
void adamw(const AdamWConstants& k, const float* p, const float* m, const float* v, const float* g, float* pOut, float* mOut,
           float* vOut, int64_t n);

// Layout of the Int32Array of max-pool shapes (POOL_FIELDS in addon.ts).
enum PoolParam { Q_N, Q_H, Q_W, Q_C, Q_OH, Q_OW, Q_KH, Q_KW, Q_SH, Q_SW, Q_PT, Q_PL, Q_COUNT };
struct PoolShapes {
  int32_t p[Q_COUNT];
  int64_t operator[](int i) const { return p[i]; }
};

// The gradient of an NHWC max pool: each output's dy goes to the first strictly largest input of its window
// (tfjs's rule), summed where windows overlap; dx is overwritten.
void maxPoolGrad(const PoolShapes& p, const float* x, const float* dy, float* dx);

}  // namespace uirgen
