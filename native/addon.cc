// N-API entry points of uirgen's native kernels (see conv.h and elementwise.h). Every array argument is a
// Float32Array view of the wasm backend's heap; lengths are checked here against the shapes before any
// pointer is used.
#include <node_api.h>
#include <omp.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "conv.h"
#include "elementwise.h"
#include "naf.h"

namespace {

using namespace uirgen;

struct Args {
  napi_env env;
  size_t count = 0;
  napi_value values[8];
  bool ok = true;

  Args(napi_env e, napi_callback_info info, size_t expected) : env(e) {
    count = 8;
    if (napi_get_cb_info(env, info, &count, values, nullptr, nullptr) != napi_ok || count != expected) {
      fail(("expected " + std::to_string(expected) + " arguments").c_str());
    }
  }

  void fail(const char* message) {
    if (ok) napi_throw_type_error(env, nullptr, message);
    ok = false;
  }

  int32_t int32(size_t i) {
    int32_t v = 0;
    if (ok && napi_get_value_int32(env, values[i], &v) != napi_ok) fail("expected an integer");
    return v;
  }

  double number(size_t i) {
    double v = 0;
    if (ok && napi_get_value_double(env, values[i], &v) != napi_ok) fail("expected a number");
    return v;
  }

  // A typed array's data pointer and element count; null for JS null when `optional`.
  void* typed(size_t i, napi_typedarray_type want, size_t* length, bool optional = false) {
    *length = 0;
    if (!ok) return nullptr;
    napi_valuetype t;
    napi_typeof(env, values[i], &t);
    if (optional && (t == napi_null || t == napi_undefined)) return nullptr;
    bool isTyped = false;
    napi_is_typedarray(env, values[i], &isTyped);
    napi_typedarray_type type;
    void* data = nullptr;
    if (!isTyped || napi_get_typedarray_info(env, values[i], &type, length, &data, nullptr, nullptr) != napi_ok || type != want) {
      fail(want == napi_float32_array ? "expected a Float32Array" : want == napi_int32_array ? "expected an Int32Array" : "expected a Float64Array");
      return nullptr;
    }
    return data;
  }

  float* floats(size_t i, size_t want, bool optional = false) {
    size_t length;
    auto* data = static_cast<float*>(typed(i, napi_float32_array, &length, optional));
    if (ok && data && length != want) {
      napi_throw_range_error(env, nullptr, "array length does not match the shapes");
      ok = false;
    }
    return data;
  }
};

template <class F>
napi_value guarded(napi_env env, F body) {
  try {
    body();
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, e.what());
  }
  return nullptr;
}

// Copies an Int32Array of exactly Count shape fields into `out`: the sizes before field `firstPad` must be >= 1,
// the paddings (and flags) after it >= 0. `what` and `fields` name them in the errors.
template <int Count>
bool readShapeFields(Args& args, size_t i, int32_t (&out)[Count], int firstPad, const char* what, const char* fields) {
  size_t n;
  void* raw = args.typed(i, napi_int32_array, &n);
  if (!args.ok) return false;
  if (n != size_t(Count)) {
    args.fail((std::string(what) + " shapes must be an Int32Array of " + fields + ".length").c_str());
    return false;
  }
  std::memcpy(out, raw, sizeof(out));
  for (int k = 0; k < Count; k++) {
    if (out[k] < (k < firstPad ? 1 : 0)) {
      napi_throw_range_error(args.env, nullptr, ("invalid " + std::string(what) + " shape").c_str());
      return false;
    }
  }
  return true;
}

bool readConvShapes(Args& args, size_t i, ConvShapes* s) {
  if (!readShapeFields(args, i, s->p, P_PT, "convolution", "SHAPE_FIELDS")) return false;
  const int64_t g = (*s)[P_GROUPS];
  if ((g != 1 && g != (*s)[P_C]) || (*s)[P_OC] % g != 0) {
    napi_throw_range_error(args.env, nullptr, "groups must be 1 or the input channel count (depthwise)");
    return false;
  }
  return true;
}

// conv(kind, shapes: Int32Array, alpha, a, b, bias | null, out)
napi_value Conv(napi_env env, napi_callback_info info) {
  Args args(env, info, 7);
  ConvShapes s;
  if (!args.ok || !readConvShapes(args, 1, &s)) return nullptr;
  const int kind = args.int32(0);
  const float alpha = static_cast<float>(args.number(2));
  if (args.ok && (kind < K_FORWARD || kind > K_BACKWARD_WEIGHTS)) args.fail("unknown convolution kind");
  const size_t x = size_t(s[P_N]) * s[P_H] * s[P_W] * s[P_C];
  const size_t y = size_t(s[P_N]) * s[P_OH] * s[P_OW] * s[P_OC];
  const size_t w = size_t(s[P_KH]) * s[P_KW] * (s[P_C] / s[P_GROUPS]) * s[P_OC];
  const size_t sizes[3][3] = {{x, w, y}, {y, w, x}, {x, y, w}};
  if (!args.ok) return nullptr;
  const float* a = args.floats(3, sizes[kind][0]);
  const float* b = args.floats(4, sizes[kind][1]);
  const float* bias = args.floats(5, size_t(s[P_OC]), true);
  float* out = args.floats(6, sizes[kind][2]);
  if (!args.ok) return nullptr;
  if (bias && kind != K_FORWARD) {
    args.fail("only the forward convolution takes a bias");
    return nullptr;
  }
  return guarded(env, [&] { convolve(kind, s, alpha, a, b, bias, out); });
}

// binary(op, broadcast, outer, mid, inner, a, b, out): see elementwise.h.
napi_value Binary(napi_env env, napi_callback_info info) {
  Args args(env, info, 8);
  const int op = args.int32(0), broadcast = args.int32(1);
  const int64_t outer = args.number(2), mid = args.number(3), inner = args.number(4);
  if (args.ok && (outer < 1 || mid < 1 || inner < 1)) args.fail("binary: sizes must be positive");
  if (args.ok && broadcast != B_REPEATS && broadcast != A_REPEATS) args.fail("binary: unknown broadcast");
  if (!args.ok) return nullptr;
  const size_t big = size_t(outer * mid * inner), small = size_t(outer * inner);
  const float* a = args.floats(5, broadcast == A_REPEATS ? small : big);
  const float* b = args.floats(6, broadcast == B_REPEATS ? small : big);
  float* out = args.floats(7, big);
  if (!args.ok) return nullptr;
  return guarded(env, [&] { binary(op, broadcast, a, b, out, outer, mid, inner); });
}

// unary(op, alpha, x, out)
napi_value Unary(napi_env env, napi_callback_info info) {
  Args args(env, info, 4);
  const int op = args.int32(0);
  const float alpha = static_cast<float>(args.number(1));
  size_t lx, lo;
  auto* x = static_cast<const float*>(args.typed(2, napi_float32_array, &lx));
  auto* out = static_cast<float*>(args.typed(3, napi_float32_array, &lo));
  if (!args.ok) return nullptr;
  if (lx != lo) {
    napi_throw_range_error(env, nullptr, "unary: input and output lengths differ");
    return nullptr;
  }
  return guarded(env, [&] { unary(op, alpha, x, out, int64_t(lx)); });
}

// reduce(mean, outer, reduced, inner, x, out)
napi_value Reduce(napi_env env, napi_callback_info info) {
  Args args(env, info, 6);
  const bool mean = args.int32(0) != 0;
  const int64_t outer = args.number(1), reduced = args.number(2), inner = args.number(3);
  if (args.ok && (outer < 1 || reduced < 1 || inner < 1)) args.fail("reduce: sizes must be positive");
  const float* x = args.floats(4, size_t(outer * reduced * inner));
  float* out = args.floats(5, size_t(outer * inner));
  if (!args.ok) return nullptr;
  return guarded(env, [&] { reduce(mean, x, out, outer, reduced, inner); });
}

// adamw(constants: Float64Array [b1, 1-b1, b2, 1-b2, c1, c2, eps, lr, decayFactor, decay], p, m, v, g, pOut, mOut, vOut)
napi_value AdamW(napi_env env, napi_callback_info info) {
  Args args(env, info, 8);
  size_t nk;
  auto* raw = static_cast<const double*>(args.typed(0, napi_float64_array, &nk));
  if (!args.ok) return nullptr;
  if (nk != 10) {
    args.fail("adamw constants must be a Float64Array of 10");
    return nullptr;
  }
  const AdamWConstants k{float(raw[0]), float(raw[1]), float(raw[2]), float(raw[3]), float(raw[4]),
                         float(raw[5]), float(raw[6]), float(raw[7]), float(raw[8]), raw[9] != 0};
  size_t n;
  const float* p = static_cast<const float*>(args.typed(1, napi_float32_array, &n));
  if (!args.ok) return nullptr;
  const float* m = args.floats(2, n);
  const float* v = args.floats(3, n);
  const float* g = args.floats(4, n);
  float* pOut = args.floats(5, n);
  float* mOut = args.floats(6, n);
  float* vOut = args.floats(7, n);
  if (!args.ok) return nullptr;
  return guarded(env, [&] { adamw(k, p, m, v, g, pOut, mOut, vOut, int64_t(n)); });
}

// layerNorm(eps, x, g, b, y, mean, rstd): x and y [pixels * C], g and b [C], mean and rstd [pixels].
napi_value LayerNorm(napi_env env, napi_callback_info info) {
  Args args(env, info, 7);
  const float eps = static_cast<float>(args.number(0));
  size_t n, c;
  const float* x = static_cast<const float*>(args.typed(1, napi_float32_array, &n));
  const float* g = static_cast<const float*>(args.typed(2, napi_float32_array, &c));
  if (!args.ok) return nullptr;
  if (c == 0 || n % c != 0) {
    napi_throw_range_error(env, nullptr, "layerNorm: x's length must be a multiple of the channel count");
    return nullptr;
  }
  const float* b = args.floats(3, c);
  float* y = args.floats(4, n);
  float* mean = args.floats(5, n / c);
  float* rstd = args.floats(6, n / c);
  if (!args.ok) return nullptr;
  return guarded(env, [&] { layerNorm(x, g, b, eps, y, mean, rstd, int64_t(n / c), int64_t(c)); });
}

// layerNormGrad(dy, x, mean, rstd, g, dx, dg, db)
napi_value LayerNormGrad(napi_env env, napi_callback_info info) {
  Args args(env, info, 8);
  size_t n, c;
  const float* dy = static_cast<const float*>(args.typed(0, napi_float32_array, &n));
  const float* g = static_cast<const float*>(args.typed(4, napi_float32_array, &c));
  if (!args.ok) return nullptr;
  if (c == 0 || n % c != 0) {
    napi_throw_range_error(env, nullptr, "layerNormGrad: dy's length must be a multiple of the channel count");
    return nullptr;
  }
  const float* x = args.floats(1, n);
  const float* mean = args.floats(2, n / c);
  const float* rstd = args.floats(3, n / c);
  float* dx = args.floats(5, n);
  float* dg = args.floats(6, c);
  float* db = args.floats(7, c);
  if (!args.ok) return nullptr;
  return guarded(env, [&] { layerNormGrad(dy, x, mean, rstd, g, dx, dg, db, int64_t(n / c), int64_t(c)); });
}

// simpleGate(half, x, y) and simpleGateGrad(half, dy, x, dx): x and dx [pixels * 2 * half], y and dy [pixels * half].
napi_value SimpleGate(napi_env env, napi_callback_info info) {
  Args args(env, info, 3);
  const int64_t half = args.int32(0);
  size_t n;
  const float* x = static_cast<const float*>(args.typed(1, napi_float32_array, &n));
  if (!args.ok) return nullptr;
  if (half < 1 || n % size_t(2 * half) != 0) {
    napi_throw_range_error(env, nullptr, "simpleGate: x's length must be a multiple of 2 * half");
    return nullptr;
  }
  float* y = args.floats(2, n / 2);
  if (!args.ok) return nullptr;
  return guarded(env, [&] { simpleGate(x, y, int64_t(n) / (2 * half), half); });
}

napi_value SimpleGateGrad(napi_env env, napi_callback_info info) {
  Args args(env, info, 4);
  const int64_t half = args.int32(0);
  size_t n;
  const float* x = static_cast<const float*>(args.typed(2, napi_float32_array, &n));
  if (!args.ok) return nullptr;
  if (half < 1 || n % size_t(2 * half) != 0) {
    napi_throw_range_error(env, nullptr, "simpleGateGrad: x's length must be a multiple of 2 * half");
    return nullptr;
  }
  const float* dy = args.floats(1, n / 2);
  float* dx = args.floats(3, n);
  if (!args.ok) return nullptr;
  return guarded(env, [&] { simpleGateGrad(dy, x, dx, int64_t(n) / (2 * half), half); });
}

// maxPoolGrad(shapes: Int32Array, x, dy, dx)
napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  Args args(env, info, 4);
  PoolShapes p;
  if (!args.ok || !readShapeFields(args, 0, p.p, Q_PT, "pool", "POOL_FIELDS")) return nullptr;
  const size_t xLen = size_t(p[Q_N]) * p[Q_H] * p[Q_W] * p[Q_C], yLen = size_t(p[Q_N]) * p[Q_OH] * p[Q_OW] * p[Q_C];
  const float* x = args.floats(1, xLen);
  const float* dy = args.floats(2, yLen);
  float* dx = args.floats(3, xLen);
  if (!args.ok) return nullptr;
  return guarded(env, [&] { maxPoolGrad(p, x, dy, dx); });
}

// implementation(kind, shapes, alpha): the oneDNN implementation such a convolution runs.
napi_value Implementation(napi_env env, napi_callback_info info) {
  Args args(env, info, 3);
  ConvShapes s;
  if (!args.ok || !readConvShapes(args, 1, &s)) return nullptr;
  const int kind = args.int32(0);
  const float alpha = static_cast<float>(args.number(2));
  if (!args.ok) return nullptr;
  napi_value result = nullptr;
  guarded(env, [&] {
    const std::string impl = convImplementation(kind, s, alpha);
    napi_create_string_utf8(env, impl.c_str(), impl.size(), &result);
  });
  return result;
}

void setProperty(napi_env env, napi_value obj, const char* key, const std::string& value) {
  napi_value v;
  napi_create_string_utf8(env, value.c_str(), value.size(), &v);
  napi_set_named_property(env, obj, key, v);
}

// The OpenMP wait policy as libgomp read it: it reads the environment once, when it is loaded, which is
// just before this module initializes (unless another module loaded libgomp earlier).
std::string waitPolicyAtLoad() {
  static const std::string policy = [] {
    const char* spin = std::getenv("GOMP_SPINCOUNT");
    const char* wait = std::getenv("OMP_WAIT_POLICY");
    if (spin) return "GOMP_SPINCOUNT=" + std::string(spin);
    if (wait) return "OMP_WAIT_POLICY=" + std::string(wait);
    return std::string("libgomp default");
  }();
  return policy;
}

// info(): oneDNN's version, the instruction set it uses, the thread count and the wait policy.
napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj;
  napi_create_object(env, &obj);
  setProperty(env, obj, "onednn", onednnVersion());
  setProperty(env, obj, "isa", onednnIsa());
  napi_value threads;
  napi_create_int32(env, omp_get_max_threads(), &threads);
  napi_set_named_property(env, obj, "threads", threads);
  setProperty(env, obj, "waitPolicy", waitPolicyAtLoad());
  return obj;
}

napi_value Init(napi_env env, napi_value exports) {
  waitPolicyAtLoad();
  // Writable and enumerable like the members of a JS module, so a profiler can wrap them in timers.
  constexpr auto attributes = static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable);
  const auto method = [](const char* name, napi_callback fn) {
    return napi_property_descriptor{name, nullptr, fn, nullptr, nullptr, nullptr, attributes, nullptr};
  };
  const napi_property_descriptor props[] = {
      method("conv", Conv),
      method("binary", Binary),
      method("unary", Unary),
      method("reduce", Reduce),
      method("maxPoolGrad", MaxPoolGrad),
      method("adamw", AdamW),
      method("layerNorm", LayerNorm),
      method("simpleGate", SimpleGate),
      method("simpleGateGrad", SimpleGateGrad),
      method("layerNormGrad", LayerNormGrad),
      method("implementation", Implementation),
      method("info", Info),
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
