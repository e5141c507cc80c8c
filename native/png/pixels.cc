// The byte <-> float conversions of src/core/image.ts (fromUint8, toUint8, quantizeInPlace,
// clampInPlace), the squared-error sum of psnrBytes (src/core/metrics.ts), three loops of the
// low-light camera (darken in lowlight.ts; finishRgb and unprocess in camera.ts) and the linear
// demosaic of kernels/bayer.ts, in C++: every pair
// runs three to five of them over 196608 values, and as V8-compiled loops they cost about as much
// as a cheap degradation. Each is the TypeScript's arithmetic operation for operation (the float is
// widened to double, as JavaScript does, and the build passes -ffp-contract=off so no multiply-add
// is fused), so the values are the same; test/core/addon.test.ts checks both implementations
// element for element, NaN, infinities, -0 and the rounding boundaries included.
// Any change here must be made there too, and the other way round.
#include <node_api.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace {

// k / 255 rounded to float32, as image.ts's BYTE_TO_UNIT (Float32Array.from(i => i / 255)).
struct UnitTable {
  float value[256];
  UnitTable() {
    for (int i = 0; i < 256; i++) value[i] = static_cast<float>(static_cast<double>(i) / 255.0);
  }
};
const UnitTable kUnit;

napi_value Fail(napi_env env, const char* message) {
  napi_throw_type_error(env, nullptr, message);
  return nullptr;
}

// The typed-array kind that holds elements of the pointer's type (no overload: no such array).
constexpr napi_typedarray_type ArrayKind(const uint8_t*) { return napi_uint8_array; }
constexpr napi_typedarray_type ArrayKind(const int8_t*) { return napi_int8_array; }
constexpr napi_typedarray_type ArrayKind(const int32_t*) { return napi_int32_array; }
constexpr napi_typedarray_type ArrayKind(const float*) { return napi_float32_array; }
constexpr napi_typedarray_type ArrayKind(const double*) { return napi_float64_array; }

// The argument as a typed array of T's kind (Uint8Array for uint8_t, Float32Array for float, ...):
// its elements and their count, or false.
template <typename T>
bool TypedArg(napi_env env, napi_value value, T** data, size_t* length) {
  bool is = false;
  if (napi_is_typedarray(env, value, &is) != napi_ok || !is) return false;
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  void* raw;
  if (napi_get_typedarray_info(env, value, &type, length, &raw, &buffer, &offset) != napi_ok) return false;
  *data = static_cast<T*>(raw);
  return type == ArrayKind(*data);
}

bool Args(napi_env env, napi_callback_info info, size_t want, napi_value* argv) {
  size_t argc = want;
  return napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) == napi_ok && argc == want;
}

// unitFromBytes(bytes: Uint8Array, out: Float32Array): out[i] = i/255 of bytes[i].
napi_value UnitFromBytes(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  const uint8_t* in;
  float* out;
  size_t n, m;
  if (!Args(env, info, 2, argv) || !TypedArg(env, argv[0], &in, &n) || !TypedArg(env, argv[1], &out, &m) || n != m) {
    return Fail(env, "unitFromBytes(Uint8Array, Float32Array) of equal lengths");
  }
  for (size_t i = 0; i < n; i++) out[i] = kUnit.value[in[i]];
  return nullptr;
}

// bytesFromUnit(image: Float32Array, out: Uint8Array): toUint8's v = x*255 + 0.5, clamped to
// 0..255 and truncated; NaN gives 0 (what JavaScript's typed-array store makes of it).
napi_value BytesFromUnit(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  const float* in;
  uint8_t* out;
  size_t n, m;
  if (!Args(env, info, 2, argv) || !TypedArg(env, argv[0], &in, &n) || !TypedArg(env, argv[1], &out, &m) || n != m) {
    return Fail(env, "bytesFromUnit(Float32Array, Uint8Array) of equal lengths");
  }
  for (size_t i = 0; i < n; i++) {
    // Written as a max and a min (NaN fails v > 0 and becomes 0) so the compiler vectorises it.
    double v = static_cast<double>(in[i]) * 255.0 + 0.5;
    v = v > 0.0 ? v : 0.0;
    v = v < 255.0 ? v : 255.0;
    out[i] = static_cast<uint8_t>(static_cast<int>(v));
  }
  return nullptr;
}

// quantizeUnit(image: Float32Array): quantizeInPlace's clamp, x255, round half up, back to k/255.
napi_value QuantizeUnit(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  float* d;
  size_t n;
  if (!Args(env, info, 1, argv) || !TypedArg(env, argv[0], &d, &n)) return Fail(env, "quantizeUnit(Float32Array)");
  for (size_t i = 0; i < n; i++) {
    double v = d[i];
    v = v > 0.0 ? v : 0.0;  // NaN and -0 -> 0
    v = v < 1.0 ? v * 255.0 + 0.5 : 255.0;
    d[i] = kUnit.value[static_cast<int>(v)];
  }
  return nullptr;
}

// clampUnit(image: Float32Array): clampInPlace to [0, 1]; NaN and -0 stay as they are.
napi_value ClampUnit(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  float* d;
  size_t n;
  if (!Args(env, info, 1, argv) || !TypedArg(env, argv[0], &d, &n)) return Fail(env, "clampUnit(Float32Array)");
  for (size_t i = 0; i < n; i++) {
    const float v = d[i];
    d[i] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
  }
  return nullptr;
}

// squaredError(a: Uint8Array, b: Uint8Array): the sum of (a[i] - b[i])^2, exact (64-bit integer).
napi_value SquaredError(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  const uint8_t* a;
  const uint8_t* b;
  size_t n, m;
  if (!Args(env, info, 2, argv) || !TypedArg(env, argv[0], &a, &n) || !TypedArg(env, argv[1], &b, &m) || n != m) {
    return Fail(env, "squaredError(Uint8Array, Uint8Array) of equal lengths");
  }
  uint64_t sum = 0;
  for (size_t i = 0; i < n; i++) {
    const int d = static_cast<int>(a[i]) - static_cast<int>(b[i]);
    sum += static_cast<uint64_t>(d * d);
  }
  napi_value result;
  // Below 2^53 for any array that fits in memory a thousand times over: exact as a double.
  napi_create_double(env, static_cast<double>(sum), &result);
  return result;
}

// curveFromLut(src: Float32Array, out: Float32Array, lut: Float64Array, n): lowlight.ts darken's
// loop, out = the piecewise-linear curve through lut[0..n] at src clipped to [0, 1]; NaN stays NaN.
napi_value CurveFromLut(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  const float* in;
  float* out;
  const double* lut;
  size_t n, m, t;
  int32_t steps;
  if (!Args(env, info, 4, argv) || !TypedArg(env, argv[0], &in, &n) || !TypedArg(env, argv[1], &out, &m) || !TypedArg(env, argv[2], &lut, &t) ||
      napi_get_value_int32(env, argv[3], &steps) != napi_ok || n != m || steps < 1 || t < static_cast<size_t>(steps) + 2) {
    return Fail(env, "curveFromLut(Float32Array, Float32Array of equal lengths, Float64Array of n + 2, n >= 1)");
  }
  for (size_t i = 0; i < n; i++) {
    const double v = in[i];
    if (v != v) {
      out[i] = v;
      continue;
    }
    const double x = (v < 0 ? 0.0 : v > 1 ? 1.0 : v) * steps;
    const int j = static_cast<int>(x);  // Math.floor: x is in [0, steps], where truncation is the floor
    out[i] = static_cast<float>(lut[j] + (x - j) * (lut[j + 1] - lut[j]));
  }
  return nullptr;
}

// cameraToDisplay(data: Float32Array, m: Float64Array(9), lut: Float64Array, n): camera.ts
// finishRgb's loop in place, each pixel through the 3x3 matrix m, then toDisplay (the table
// indexed by sqrt of the value clipped to [0, 1], interpolated); NaN stays NaN.
napi_value CameraToDisplay(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  float* d;
  const double* m;
  const double* lut;
  size_t n, nm, t;
  int32_t steps;
  if (!Args(env, info, 4, argv) || !TypedArg(env, argv[0], &d, &n) || !TypedArg(env, argv[1], &m, &nm) || !TypedArg(env, argv[2], &lut, &t) ||
      napi_get_value_int32(env, argv[3], &steps) != napi_ok || n % 3 != 0 || nm != 9 || steps < 1 || t < static_cast<size_t>(steps) + 2) {
    return Fail(env, "cameraToDisplay(Float32Array of RGB, Float64Array(9), Float64Array of n + 2, n >= 1)");
  }
  const auto display = [lut, steps](double y) -> double {
    const double x = std::sqrt(y < 0 ? 0.0 : y > 1 ? 1.0 : y) * steps;
    if (x != x) return x;
    const int i = static_cast<int>(x);
    const double f = x - i;
    return lut[i] + f * (lut[i + 1] - lut[i]);
  };
  for (size_t i = 0; i < n; i += 3) {
    const double r = d[i];
    const double g = d[i + 1];
    const double b = d[i + 2];
    d[i] = static_cast<float>(display(m[0] * r + m[1] * g + m[2] * b));
    d[i + 1] = static_cast<float>(display(m[3] * r + m[4] * g + m[5] * b));
    d[i + 2] = static_cast<float>(display(m[6] * r + m[7] * g + m[8] * b));
  }
  return nullptr;
}

// Math.max for the finite gains here and for NaN: NaN if either is, else the larger (-0 < +0).
inline double JsMax(double a, double b) {
  if (a != a || b != b) return std::numeric_limits<double>::quiet_NaN();
  if (a == b) return std::signbit(a) ? b : a;
  return a > b ? a : b;
}

// unprocessRgb(src, out: Float32Array, m: Float64Array(9), gains: Float64Array(3), protect, lut:
// Float64Array, n, corner: Int32Array): camera.ts unprocessPixel over every pixel, except those
// with a value in (0.995, 1), where toLinear computes its curve exactly (Math.sin, Math.asin and a
// power, which C++'s library may round differently): their value indices go to corner and the
// count is returned, for the TypeScript to fill.
napi_value UnprocessRgb(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  const float* in;
  float* o;
  const double *mm, *g, *lut;
  int32_t* corner;
  size_t n, m, nm, ng, t, nc;
  bool protect;
  int32_t steps;
  if (!Args(env, info, 8, argv) || !TypedArg(env, argv[0], &in, &n) || !TypedArg(env, argv[1], &o, &m) || !TypedArg(env, argv[2], &mm, &nm) ||
      !TypedArg(env, argv[3], &g, &ng) || napi_get_value_bool(env, argv[4], &protect) != napi_ok || !TypedArg(env, argv[5], &lut, &t) ||
      napi_get_value_int32(env, argv[6], &steps) != napi_ok || !TypedArg(env, argv[7], &corner, &nc) || n != m || n % 3 != 0 || nm != 9 || ng != 3 || steps < 1 ||
      t < static_cast<size_t>(steps) + 2 || nc < n / 3) {
    return Fail(env, "unprocessRgb(Float32Array, Float32Array, Float64Array(9), Float64Array(3), boolean, Float64Array, n, Int32Array)");
  }
  const double hi = protect ? 1.0 : std::numeric_limits<double>::infinity();
  const auto inCorner = [](double v) { return v > 0.995 && v < 1; };
  const auto linear = [lut, steps](double v) -> double {
    const double x = (v < 0 ? 0.0 : v > 1 ? 1.0 : v) * steps;
    if (x != x) return x;
    const int i = static_cast<int>(x);
    const double f = x - i;
    return lut[i] + f * (lut[i + 1] - lut[i]);
  };
  const auto clip = [hi](double v) { return static_cast<float>(v < 0 ? 0.0 : v > hi ? hi : v); };
  int32_t count = 0;
  for (size_t i = 0; i < n; i += 3) {
    const double a = in[i], b = in[i + 1], c = in[i + 2];
    if (inCorner(a) || inCorner(b) || inCorner(c)) {
      corner[count++] = static_cast<int32_t>(i);
      continue;
    }
    const double r = linear(a), gg = linear(b), bb = linear(c);
    const double cr = mm[0] * r + mm[1] * gg + mm[2] * bb;
    const double cg = mm[3] * r + mm[4] * gg + mm[5] * bb;
    const double cb = mm[6] * r + mm[7] * gg + mm[8] * bb;
    // Below a sum of 2.69, (sum / 3) - 0.9 is negative whatever the rounding, so the mask is 0 and each
    // gain is max(0 + 1 * g, g) = g exactly: the divisions are needed only above it.
    const double sum = cr + cg + cb;
    if (!protect || !(sum > 2.69)) {
      o[i] = clip(cr * g[0]);
      o[i + 1] = clip(cg * g[1]);
      o[i + 2] = clip(cb * g[2]);
      continue;
    }
    const double over = sum / 3 - 0.9;
    const double mask = over > 0 ? (over / 0.1) * (over / 0.1) : 0.0;
    o[i] = clip(cr * JsMax(mask + (1 - mask) * g[0], g[0]));
    o[i + 1] = clip(cg * JsMax(mask + (1 - mask) * g[1], g[1]));
    o[i + 2] = clip(cb * JsMax(mask + (1 - mask) * g[2], g[2]));
  }
  napi_value result;
  napi_create_int32(env, count, &result);
  return result;
}

// demosaicPadded(p: Float32Array, pw, width, height, cells: Int8Array(4), corrected, out: Float32Array):
// kernels/bayer.ts demosaicLinear's loops over the plane padded by 2 (reflect-101, padded there):
// bilinear, or Malvar-He-Cutler when corrected, the same sums in the same order, divided the same way.
napi_value DemosaicPadded(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  const float* p;
  const int8_t* cells;
  float* o;
  size_t np, nc, no;
  uint32_t pw, width, height;
  bool corrected;
  if (!Args(env, info, 7, argv) || !TypedArg(env, argv[0], &p, &np) ||
      napi_get_value_uint32(env, argv[1], &pw) != napi_ok || napi_get_value_uint32(env, argv[2], &width) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &height) != napi_ok || !TypedArg(env, argv[4], &cells, &nc) ||
      napi_get_value_bool(env, argv[5], &corrected) != napi_ok || !TypedArg(env, argv[6], &o, &no) ||
      width < 2 || height < 2 || pw != width + 4 || np != static_cast<size_t>(pw) * (height + 4) || nc != 4 ||
      no != static_cast<size_t>(width) * height * 3) {
    return Fail(env, "demosaicPadded(Float32Array (w+4)*(h+4), w + 4, w, h, Int8Array(4), boolean, Float32Array w*h*3)");
  }
  for (int k = 0; k < 4; k++) {
    if (cells[k] < 0 || cells[k] > 2) return Fail(env, "demosaicPadded: cells must be channel indices 0..2");
  }
  const ptrdiff_t w1 = pw;
  const ptrdiff_t w2 = 2 * w1;
  for (uint32_t y = 0; y < height; y++) {
    const int ry = y & 1;
    for (int phase = 0; phase < 2; phase++) {
      const int own = cells[ry * 2 + phase];
      ptrdiff_t i = static_cast<ptrdiff_t>(y + 2) * w1 + phase + 2;
      size_t t = (static_cast<size_t>(y) * width + phase) * 3;
      if (own == 1) {
        const int hc = cells[ry * 2 + (phase ^ 1)];
        const int vc = 2 - hc;
        for (uint32_t x = phase; x < width; x += 2, i += 2, t += 6) {
          const double c = p[i];
          const double ew = static_cast<double>(p[i - 1]) + p[i + 1];
          const double ns = static_cast<double>(p[i - w1]) + p[i + w1];
          double h, v;
          if (corrected) {
            const double diag = static_cast<double>(p[i - w1 - 1]) + p[i - w1 + 1] + p[i + w1 - 1] + p[i + w1 + 1];
            const double ns2 = static_cast<double>(p[i - w2]) + p[i + w2];
            const double ew2 = static_cast<double>(p[i - 2]) + p[i + 2];
            h = (10 * c + 8 * ew - 2 * diag - 2 * ew2 + ns2) / 16;
            v = (10 * c + 8 * ns - 2 * diag - 2 * ns2 + ew2) / 16;
          } else {
            h = ew / 2;
            v = ns / 2;
          }
          o[t + 1] = static_cast<float>(c);
          o[t + hc] = static_cast<float>(h);
          o[t + vc] = static_cast<float>(v);
        }
      } else {
        const int other = 2 - own;
        for (uint32_t x = phase; x < width; x += 2, i += 2, t += 6) {
          const double c = p[i];
          const double cross = static_cast<double>(p[i - w1]) + p[i + w1] + p[i - 1] + p[i + 1];
          const double diag = static_cast<double>(p[i - w1 - 1]) + p[i - w1 + 1] + p[i + w1 - 1] + p[i + w1 + 1];
          double g, d;
          if (corrected) {
            const double ring = static_cast<double>(p[i - w2]) + p[i + w2] + p[i - 2] + p[i + 2];
            g = (8 * c + 4 * cross - 2 * ring) / 16;
            d = (12 * c + 4 * diag - 3 * ring) / 16;
          } else {
            g = cross / 4;
            d = diag / 4;
          }
          o[t + own] = static_cast<float>(c);
          o[t + 1] = static_cast<float>(g);
          o[t + other] = static_cast<float>(d);
        }
      }
    }
  }
  return nullptr;
}

}  // namespace

void RegisterPixelFunctions(napi_env env, napi_value exports) {
  const struct {
    const char* name;
    napi_callback fn;
  } table[] = {
      {"unitFromBytes", UnitFromBytes}, {"bytesFromUnit", BytesFromUnit}, {"quantizeUnit", QuantizeUnit},
      {"clampUnit", ClampUnit},         {"squaredError", SquaredError},   {"curveFromLut", CurveFromLut},
      {"cameraToDisplay", CameraToDisplay}, {"unprocessRgb", UnprocessRgb},   {"demosaicPadded", DemosaicPadded},
  };
  for (const auto& entry : table) {
    napi_value fn;
    napi_create_function(env, entry.name, NAPI_AUTO_LENGTH, entry.fn, nullptr, &fn);
    napi_set_named_property(env, exports, entry.name, fn);
  }
}
