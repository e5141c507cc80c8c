// Convolutions for TensorFlow.js kernels run by oneDNN, the library PyTorch's CPU convolutions use.
#pragma once
#include <cstdint>
#include <string>

namespace uirgen {

// Layout of the Int32Array of shape parameters passed with every convolution (SHAPE_FIELDS in addon.ts).
enum ConvParam {
  P_N, P_H, P_W, P_C, P_OH, P_OW, P_OC, P_KH, P_KW, P_SH, P_SW, P_DH, P_DW,
  P_PT, P_PB, P_PL, P_PR, P_GROUPS, P_ACTIVATION, P_HAS_BIAS, P_COUNT
};
enum ConvKind { K_FORWARD = 0, K_BACKWARD_DATA = 1, K_BACKWARD_WEIGHTS = 2 };
enum Activation { A_LINEAR = 0, A_RELU = 1, A_RELU6 = 2, A_ELU = 3, A_LEAKYRELU = 4, A_SIGMOID = 5 };

struct ConvShapes {
  int32_t p[P_COUNT];
  int64_t operator[](int i) const { return p[i]; }
};

// Forward: a = x [N,H,W,C], b = filter [KH,KW,C/G,OC] (tfjs layout), bias [OC] or null, out = y [N,OH,OW,OC].
// Backward data: a = dy, b = filter, out = dx. Backward weights: a = x, b = dy, out = dw (tfjs layout).
// Throws dnnl::error or std::invalid_argument.
void convolve(int kind, const ConvShapes& s, float alpha, const float* a, const float* b, const float* bias, float* out);

// The oneDNN implementation the call would run (for example "brgconv:avx512_core").
std::string convImplementation(int kind, const ConvShapes& s, float alpha);

// oneDNN's version and the instruction set it dispatches to.
std::string onednnVersion();
std::string onednnIsa();

}  // namespace uirgen
