// Activations stay in tfjs's NHWC layout; filters arrive in tfjs's [KH, KW, IN, OUT] (or depthwise
// [KH, KW, C, MULT]) layout and are reordered to the blocked layout oneDNN picks for this CPU: that choice
// (format_tag::any) is what makes the kernels fast (5x over plain-layout GEMM convolutions here).
#include "conv.h"

#include <dnnl.hpp>

#include <memory>
#include <stdexcept>
#include <unordered_map>

namespace uirgen {
namespace {

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

dnnl::engine& engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}
dnnl::stream& stream() {
  static dnnl::stream s(engine());
  return s;
}

memory::desc srcDesc(const ConvShapes& s) { return memory::desc({s[P_N], s[P_C], s[P_H], s[P_W]}, dt::f32, tag::nhwc); }
memory::desc dstDesc(const ConvShapes& s) { return memory::desc({s[P_N], s[P_OC], s[P_OH], s[P_OW]}, dt::f32, tag::nhwc); }
memory::desc biasDesc(const ConvShapes& s) { return memory::desc({s[P_OC]}, dt::f32, tag::x); }

memory::dims weightDims(const ConvShapes& s) {
  const int64_t g = s[P_GROUPS];
  if (g == 1) return {s[P_OC], s[P_C], s[P_KH], s[P_KW]};
  return {g, s[P_OC] / g, s[P_C] / g, s[P_KH], s[P_KW]};
}

// A dense filter is tfjs's [KH, KW, IN, OUT]. The only grouped form tfjs has is depthwise, [KH, KW, C, MULT]
// with output channel c * MULT + m: groups C, one input channel and MULT outputs per group.
memory::desc userWeightDesc(const ConvShapes& s) {
  const int64_t g = s[P_GROUPS], oc = s[P_OC], ic = s[P_C], kw = s[P_KW];
  if (g == 1) return memory::desc(weightDims(s), dt::f32, memory::dims{1, oc, kw * ic * oc, ic * oc});
  const int64_t mult = oc / g;
  return memory::desc(weightDims(s), dt::f32, memory::dims{mult, 1, mult, kw * g * mult, g * mult});
}

memory::desc anyWeightDesc(const ConvShapes& s) { return memory::desc(weightDims(s), dt::f32, tag::any); }
memory::dims strides(const ConvShapes& s) { return {s[P_SH], s[P_SW]}; }
// oneDNN counts dilation from 0 (no dilation), tfjs from 1
memory::dims dilations(const ConvShapes& s) { return {s[P_DH] - 1, s[P_DW] - 1}; }
memory::dims padL(const ConvShapes& s) { return {s[P_PT], s[P_PL]}; }
memory::dims padR(const ConvShapes& s) { return {s[P_PB], s[P_PR]}; }

dnnl::primitive_attr forwardAttr(const ConvShapes& s, float alpha) {
  dnnl::post_ops ops;
  switch (s[P_ACTIVATION]) {
    case A_LINEAR: break;
    case A_RELU: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f); break;
    case A_RELU6: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, 6.f); break;
    case A_ELU: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_elu, 1.f, 0.f); break;
    case A_LEAKYRELU: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, alpha, 0.f); break;
    case A_SIGMOID: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_logistic, 0.f, 0.f); break;
    default: throw std::invalid_argument("unknown activation " + std::to_string(s[P_ACTIVATION]));
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  return attr;
}

dnnl::convolution_forward::primitive_desc forwardPd(const ConvShapes& s, float alpha, bool withBias) {
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, srcDesc(s),
                                    anyWeightDesc(s), withBias ? biasDesc(s) : memory::desc(), dstDesc(s), strides(s),
                                    dilations(s), padL(s), padR(s));
  return dnnl::convolution_forward::primitive_desc(d, forwardAttr(s, alpha), engine());
}

// One plan per (kind, shapes, activation): creating a primitive JIT-compiles code, so it is done once.
struct Plan {
  dnnl::primitive prim;
  memory::desc userWeights;
  memory::desc primWeights;
  std::unique_ptr<memory> primWeightBuffer;  // set when oneDNN's layout differs from tfjs's
  std::unique_ptr<dnnl::reorder> toPrim;     // tfjs layout -> oneDNN's (forward, backward data)
  std::unique_ptr<dnnl::reorder> toUser;     // oneDNN's -> tfjs layout (backward weights)
  std::string impl;
};

std::unique_ptr<Plan> makePlan(int kind, const ConvShapes& s, float alpha) {
  auto plan = std::make_unique<Plan>();
  plan->userWeights = userWeightDesc(s);
  const auto fwd = forwardPd(s, alpha, kind == K_FORWARD && s[P_HAS_BIAS] != 0);
  if (kind == K_FORWARD) {
    plan->prim = dnnl::convolution_forward(fwd);
    plan->primWeights = fwd.weights_desc();
    plan->impl = fwd.impl_info_str();
  } else if (kind == K_BACKWARD_DATA) {
    dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, srcDesc(s), anyWeightDesc(s), dstDesc(s),
                                           strides(s), dilations(s), padL(s), padR(s));
    dnnl::convolution_backward_data::primitive_desc pd(d, engine(), fwd);
    plan->prim = dnnl::convolution_backward_data(pd);
    plan->primWeights = pd.weights_desc();
    plan->impl = pd.impl_info_str();
  } else {
    dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, srcDesc(s), anyWeightDesc(s), dstDesc(s),
                                              strides(s), dilations(s), padL(s), padR(s));
    dnnl::convolution_backward_weights::primitive_desc pd(d, engine(), fwd);
    plan->prim = dnnl::convolution_backward_weights(pd);
    plan->primWeights = pd.diff_weights_desc();
    plan->impl = pd.impl_info_str();
  }
  if (plan->primWeights != plan->userWeights) {
    plan->primWeightBuffer = std::make_unique<memory>(plan->primWeights, engine());
    if (kind == K_BACKWARD_WEIGHTS) {
      plan->toUser = std::make_unique<dnnl::reorder>(*plan->primWeightBuffer, memory(plan->userWeights, engine(), DNNL_MEMORY_NONE));
    } else {
      plan->toPrim = std::make_unique<dnnl::reorder>(memory(plan->userWeights, engine(), DNNL_MEMORY_NONE), *plan->primWeightBuffer);
    }
  }
  return plan;
}

// A training run uses a few dozen shapes; a program that keeps changing them (patch sizes, batch sizes)
// would otherwise grow the cache without end, so it is emptied when it reaches this many plans.
constexpr size_t MAX_PLANS = 512;

Plan& planFor(int kind, const ConvShapes& s, float alpha) {
  static std::unordered_map<std::string, std::unique_ptr<Plan>> cache;
  std::string key(reinterpret_cast<const char*>(s.p), sizeof(s.p));
  key.push_back(static_cast<char>(kind));
  key.append(reinterpret_cast<const char*>(&alpha), sizeof(alpha));
  auto it = cache.find(key);
  if (it == cache.end()) {
    if (cache.size() >= MAX_PLANS) cache.clear();
    it = cache.emplace(key, makePlan(kind, s, alpha)).first;
  }
  return *it->second;
}

// oneDNN takes non-const handles; it does not write to inputs.
memory wrap(const memory::desc& md, const float* data) { return memory(md, engine(), const_cast<float*>(data)); }

}  // namespace

void convolve(int kind, const ConvShapes& s, float alpha, const float* a, const float* b, const float* bias, float* out) {
  Plan& plan = planFor(kind, s, alpha);
  auto& strm = stream();
  if (kind == K_FORWARD || kind == K_BACKWARD_DATA) {
    memory w = wrap(plan.userWeights, b);
    if (plan.toPrim) {
      plan.toPrim->execute(strm, w, *plan.primWeightBuffer);
      w = *plan.primWeightBuffer;
    }
    if (kind == K_FORWARD) {
      std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(srcDesc(s), a)}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, wrap(dstDesc(s), out)}};
      if (bias) args.emplace(DNNL_ARG_BIAS, wrap(biasDesc(s), bias));
      plan.prim.execute(strm, args);
    } else {
      plan.prim.execute(strm, {{DNNL_ARG_DIFF_DST, wrap(dstDesc(s), a)}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, wrap(srcDesc(s), out)}});
    }
  } else {
    memory userW = wrap(plan.userWeights, out);
    memory dw = plan.primWeightBuffer ? *plan.primWeightBuffer : userW;
    plan.prim.execute(strm, {{DNNL_ARG_SRC, wrap(srcDesc(s), a)}, {DNNL_ARG_DIFF_DST, wrap(dstDesc(s), b)}, {DNNL_ARG_DIFF_WEIGHTS, dw}});
    if (plan.toUser) plan.toUser->execute(strm, dw, userW);
  }
  strm.wait();
}

std::string convImplementation(int kind, const ConvShapes& s, float alpha) { return planFor(kind, s, alpha).impl; }

std::string onednnVersion() {
  const dnnl_version_t* v = dnnl_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

std::string onednnIsa() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

}  // namespace uirgen
