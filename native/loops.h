// What the native elementwise and NAF loops share: when a loop is worth a thread team, and a fixed-order sum
// over a short contiguous row (the channels of one pixel).
#pragma once
#include <cstdint>

namespace uirgen {

// Below this many elements a thread team costs more than it saves.
constexpr int64_t PARALLEL_MIN = 1 << 15;

// Eight running lanes combined in a fixed tree: it vectorizes (a single running sum is one long chain of
// dependent additions), and the order of additions depends on n alone.
inline float rowSum(const float* v, int64_t n) {
  float lanes[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int k = 0; k < 8; k++) lanes[k] += v[i + k];
  }
  float s = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
  for (; i < n; i++) s += v[i];
  return s;
}

}  // namespace uirgen
