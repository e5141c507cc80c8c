// The PNG writer of src/core/png.ts with deflate levels 0 and 1 of src/core/deflate.ts, in C++: the
// same algorithm step for step (Average filter; stored blocks, or runs at distance 1 in blocks of
// 65535 input bytes; the same Huffman lengths, tie-breaks, code-length coding and stored-or-dynamic
// choice), so it writes the same bytes as the TypeScript, only faster. test/core/png.test.ts checks
// the two byte for byte. Any change here must be made there too, and the other way round.
#include <node_api.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace {

constexpr int kBlockBytes = 65535;
constexpr int kMaxStored = 65535;
constexpr int kMinMatch = 3;
constexpr int kMaxMatch = 258;
constexpr int kLitSymbols = 286;
constexpr int kDistSymbols = 30;
constexpr int kEndOfBlock = 256;
constexpr int kMaxBits = 15;
constexpr int kMaxClBits = 7;
constexpr int kChannels = 3;

constexpr int kLenBase[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
constexpr int kLenExtra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
constexpr int kDistExtra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
constexpr int kClOrder[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
constexpr int kClExtraBits[3] = {2, 3, 7};

struct Tables {
  uint8_t lenCode[kMaxMatch + 1];
  uint32_t crc[8][256];  // slicing-by-8
  Tables() {
    for (int s = 0; s < 29; s++) {
      const int top = s + 1 < 29 ? kLenBase[s + 1] : kMaxMatch + 1;
      for (int l = kLenBase[s]; l < top && l <= kMaxMatch; l++) lenCode[l] = static_cast<uint8_t>(s);
    }
    lenCode[kMaxMatch] = 28;
    for (uint32_t n = 0; n < 256; n++) {
      uint32_t c = n;
      for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      crc[0][n] = c;
    }
    for (int t = 1; t < 8; t++)
      for (int n = 0; n < 256; n++) crc[t][n] = (crc[t - 1][n] >> 8) ^ crc[0][crc[t - 1][n] & 0xff];
  }
};
const Tables kTables;

uint32_t Crc32(const uint8_t* p, size_t n) {
  const auto& t = kTables.crc;
  uint32_t c = 0xffffffffu;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const uint32_t lo = c ^ (p[i] | p[i + 1] << 8 | p[i + 2] << 16 | static_cast<uint32_t>(p[i + 3]) << 24);
    c = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^ t[3][p[i + 4]] ^ t[2][p[i + 5]] ^ t[1][p[i + 6]] ^ t[0][p[i + 7]];
  }
  for (; i < n; i++) c = t[0][(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

// Adler-32 in chunks of at most 5552 bytes (the most before 32-bit sums could overflow), each reduced
// mod 65521 at its end. With SSE2 a chunk's 16-byte blocks are summed as vectors: for block j with
// bytes x0..x15, a gains S_j = sum x_k and b gains 16 a_j + W_j, W_j = sum (16 - k) x_k; the exact
// integers the byte loop forms, so the same checksum.
uint32_t Adler32(const uint8_t* p, size_t n) {
  uint32_t a = 1, b = 0;
  while (n > 0) {
    size_t chunk = std::min<size_t>(n, 5552);
    n -= chunk;
#if defined(__SSE2__)
    const size_t blocks = chunk / 16;
    if (blocks > 0) {
      const __m128i zero = _mm_setzero_si128();
      const __m128i wHi = _mm_setr_epi16(16, 15, 14, 13, 12, 11, 10, 9);
      const __m128i wLo = _mm_setr_epi16(8, 7, 6, 5, 4, 3, 2, 1);
      __m128i sumS = zero;     // sum of S_i over the blocks so far
      __m128i sumPrev = zero;  // sum over blocks j of (sum of S_i, i < j)
      __m128i sumW = zero;
      for (size_t j = 0; j < blocks; j++, p += 16) {
        const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        sumPrev = _mm_add_epi32(sumPrev, sumS);
        sumS = _mm_add_epi32(sumS, _mm_sad_epu8(x, zero));
        sumW = _mm_add_epi32(sumW, _mm_madd_epi16(_mm_unpacklo_epi8(x, zero), wHi));
        sumW = _mm_add_epi32(sumW, _mm_madd_epi16(_mm_unpackhi_epi8(x, zero), wLo));
      }
      alignas(16) uint32_t s[4], q[4], w[4];
      _mm_store_si128(reinterpret_cast<__m128i*>(s), sumS);
      _mm_store_si128(reinterpret_cast<__m128i*>(q), sumPrev);
      _mm_store_si128(reinterpret_cast<__m128i*>(w), sumW);
      // sad leaves each half's sum in its low 32-bit lane (lanes 0 and 2).
      const uint64_t S = uint64_t{s[0]} + s[2];
      const uint64_t prev = uint64_t{q[0]} + q[2];
      const uint64_t W = uint64_t{w[0]} + w[1] + w[2] + w[3];
      const uint64_t b64 = b + 16 * (blocks * uint64_t{a} + prev) + W;
      a = static_cast<uint32_t>(a + S);
      b = static_cast<uint32_t>(b64 % 65521);
      chunk -= blocks * 16;
    }
#endif
    for (size_t i = 0; i < chunk; i++) {
      a += p[i];
      b += a;
    }
    p += chunk;
    a %= 65521;
    b %= 65521;
  }
  return (b << 16) | a;
}

// deflate.ts huffmanLengths: two-queue Huffman over (weight, symbol)-sorted leaves, clamped to
// `limit` with the Kraft repair, lengths handed out longest-first to the rarest symbols.
void HuffmanLengths(const uint32_t* freq, int n, int limit, uint8_t* lengths) {
  std::memset(lengths, 0, n);
  std::vector<uint64_t> keys;
  for (int s = 0; s < n; s++)
    if (freq[s] > 0) keys.push_back(static_cast<uint64_t>(freq[s]) * 512 + s);
  for (int s = 0; keys.size() < 2 && s < n; s++)
    if (freq[s] == 0) keys.push_back(s);
  std::sort(keys.begin(), keys.end());
  const int m = static_cast<int>(keys.size());
  std::vector<uint64_t> w(2 * m - 1);
  std::vector<int> parent(2 * m - 1);
  for (int i = 0; i < m; i++) w[i] = keys[i] / 512;
  int leaf = 0, node = m;
  for (int next = m; next < 2 * m - 1; next++) {
    uint64_t sum = 0;
    for (int k = 0; k < 2; k++) {
      const int pick = leaf < m && (node >= next || w[leaf] <= w[node]) ? leaf++ : node++;
      parent[pick] = next;
      sum += w[pick];
    }
    w[next] = sum;
  }
  std::vector<int> depth(2 * m - 1, 0);
  std::vector<int64_t> count(limit + 2, 0);
  for (int i = 2 * m - 3; i >= 0; i--) depth[i] = depth[parent[i]] + 1;
  for (int i = 0; i < m; i++) count[std::min(depth[i], limit + 1)]++;
  if (count[limit + 1] > 0) {
    count[limit] += count[limit + 1];
    count[limit + 1] = 0;
    int64_t kraft = 0;
    for (int l = 1; l <= limit; l++) kraft += count[l] << (limit - l);
    while (kraft > (int64_t{1} << limit)) {
      count[limit]--;
      for (int l = limit - 1; l > 0; l--) {
        if (count[l] > 0) {
          count[l]--;
          count[l + 1] += 2;
          break;
        }
      }
      kraft--;
    }
  }
  int i = 0;
  for (int l = limit; l >= 1; l--)
    for (int64_t c = 0; c < count[l]; c++) lengths[keys[i++] % 512] = static_cast<uint8_t>(l);
}

// deflate.ts canonicalCodes: RFC 1951 3.2.2 codes, bit-reversed for LSB-first output.
void CanonicalCodes(const uint8_t* lengths, int n, uint16_t* codes) {
  int count[kMaxBits + 1] = {0};
  for (int s = 0; s < n; s++) count[lengths[s]]++;
  count[0] = 0;
  int next[kMaxBits + 2] = {0};
  for (int bits = 1, code = 0; bits <= kMaxBits; bits++) {
    code = (code + count[bits - 1]) << 1;
    next[bits] = code;
  }
  for (int s = 0; s < n; s++) {
    const int l = lengths[s];
    codes[s] = 0;
    if (l == 0) continue;
    int c = next[l]++;
    int r = 0;
    for (int b = 0; b < l; b++) {
      r = (r << 1) | (c & 1);
      c >>= 1;
    }
    codes[s] = static_cast<uint16_t>(r);
  }
}

// deflate.ts codeLengthSymbols: symbol | extra << 8.
std::vector<int> CodeLengthSymbols(const uint8_t* lengths, int n) {
  std::vector<int> out;
  for (int i = 0; i < n;) {
    const int v = lengths[i];
    int run = 1;
    while (i + run < n && lengths[i + run] == v) run++;
    if (v == 0) {
      if (run >= 11) {
        const int r = std::min(run, 138);
        out.push_back(18 | ((r - 11) << 8));
        i += r;
      } else if (run >= 3) {
        out.push_back(17 | ((run - 3) << 8));
        i += run;
      } else {
        out.push_back(0);
        i++;
      }
      continue;
    }
    out.push_back(v);
    i++;
    run--;
    while (run >= 3) {
      const int r = std::min(run, 6);
      out.push_back(16 | ((r - 3) << 8));
      i += r;
      run -= r;
    }
  }
  return out;
}

class BitWriter {
 public:
  explicit BitWriter(uint8_t* out, size_t pos) : out_(out), pos_(pos) {}
  void Put(uint32_t value, int n) {
    bits_ |= static_cast<uint64_t>(value) << count_;
    count_ += n;
    while (count_ >= 8) {
      out_[pos_++] = static_cast<uint8_t>(bits_);
      bits_ >>= 8;
      count_ -= 8;
    }
  }
  void Align() {
    if (count_ > 0) {
      out_[pos_++] = static_cast<uint8_t>(bits_);
      bits_ = 0;
      count_ = 0;
    }
  }
  int BitOffset() const { return count_; }
  uint8_t* out_;
  size_t pos_;
  uint64_t bits_ = 0;
  int count_ = 0;
};

uint64_t StoredBits(uint64_t bytes, int offset) {
  const uint64_t blocks = std::max<uint64_t>(1, (bytes + kMaxStored - 1) / kMaxStored);
  return ((8 - ((offset + 3) % 8)) % 8) + 3 + (blocks - 1) * 8 + blocks * 32 + bytes * 8;
}

void WriteStored(BitWriter& w, const uint8_t* data, size_t start, size_t end, bool final) {
  size_t at = start;
  do {
    const size_t len = std::min<size_t>(kMaxStored, end - at);
    const bool last = final && at + len == end;
    w.Put(last ? 1 : 0, 3);
    w.Align();
    uint8_t* o = w.out_;
    size_t p = w.pos_;
    o[p++] = len & 0xff;
    o[p++] = (len >> 8) & 0xff;
    o[p++] = ~len & 0xff;
    o[p++] = (~len >> 8) & 0xff;
    std::memcpy(o + p, data + at, len);
    w.pos_ = p + len;
    at += len;
  } while (at < end);
}

struct Scratch {
  std::vector<uint8_t> filtered;
  std::vector<uint8_t> out;
  std::vector<int32_t> matches;  // position, length (distance is always 1)
};
thread_local Scratch scratch;

// One block of level 1: runs repeating the previous byte. The previous byte is always data[i - 1]
// (the last literal, or the last byte of a run), so "a run starts at i" is "data[i - 1 .. i + 2]
// are four equal bytes": one 32-bit compare, a branch taken only at runs.
// The first position in [i, limit) where a run starts, or limit; limit <= n - 2, and i >= 1.
inline size_t NextRunStart(const uint8_t* data, size_t i, size_t limit) {
#if defined(__SSE2__)
  // Sixteen positions per step; a block reads data[i - 1 .. i + 17], inside the data as i + 16 <= n - 2.
  for (; i + 16 <= limit; i += 16) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i - 1));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i));
    const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i + 1));
    const __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i + 2));
    const int mask = _mm_movemask_epi8(_mm_and_si128(_mm_and_si128(_mm_cmpeq_epi8(a, b), _mm_cmpeq_epi8(b, c)), _mm_cmpeq_epi8(c, d)));
    if (mask != 0) return i + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
#endif
  for (; i < limit; i++) {
    uint32_t w;
    std::memcpy(&w, data + i - 1, 4);
    if (w == (w & 0xffu) * 0x01010101u) return i;
  }
  return limit;
}

// Literal counts of data[from, to) into four tables in turn (a byte repeated close by would
// otherwise wait on its own count's store), summed into freq by the caller.
inline void CountLiterals(const uint8_t* data, size_t from, size_t to, uint32_t (*counts)[256]) {
  size_t i = from;
  for (; i + 4 <= to; i += 4) {
    counts[0][data[i]]++;
    counts[1][data[i + 1]]++;
    counts[2][data[i + 2]]++;
    counts[3][data[i + 3]]++;
  }
  for (; i < to; i++) counts[0][data[i]]++;
}

size_t RunBlock(const uint8_t* data, size_t n, size_t from, uint32_t* litFreq, uint32_t* distFreq, std::vector<int32_t>& matches, size_t* nm) {
  const size_t stop = std::min(n, from + kBlockBytes);
  size_t i = from;
  *nm = 0;
  // Positions where the four-byte test may read: i >= 1 and i + 2 < n.
  const size_t testEnd = n >= 3 ? n - 2 : 0;
  uint32_t counts[4][256] = {};
  if (i == 0 && i < stop) counts[0][data[i++]]++;
  while (i < stop) {
    const size_t limit = std::min(stop, testEnd);
    const size_t at = i < limit ? NextRunStart(data, i, limit) : i;
    if (at >= limit) {  // no run starts before the block ends: the rest are literals
      CountLiterals(data, i, stop, counts);
      i = stop;
      break;
    }
    CountLiterals(data, i, at, counts);
    const uint8_t v = data[at];
    const size_t max = std::min<size_t>(kMaxMatch, n - at);
    size_t len = kMinMatch;
    while (len < max && data[at + len] == v) len++;
    matches[2 * *nm] = static_cast<int32_t>(at);
    matches[2 * *nm + 1] = static_cast<int32_t>(len);
    ++*nm;
    litFreq[257 + kTables.lenCode[len]]++;
    distFreq[0]++;
    i = at + len;
  }
  for (int v = 0; v < 256; v++) litFreq[v] += counts[0][v] + counts[1][v] + counts[2][v] + counts[3][v];
  return i;
}

void WriteBlock(BitWriter& w, const uint8_t* data, size_t start, size_t end, const std::vector<int32_t>& matches, size_t nm, uint32_t* litFreq, uint32_t* distFreq, bool final) {
  litFreq[kEndOfBlock] = 1;
  uint8_t litLens[kLitSymbols], distLens[kDistSymbols], clLens[19];
  uint16_t litCodes[kLitSymbols], distCodes[kDistSymbols], clCodes[19];
  HuffmanLengths(litFreq, kLitSymbols, kMaxBits, litLens);
  HuffmanLengths(distFreq, kDistSymbols, kMaxBits, distLens);
  int hlit = kLitSymbols;
  while (hlit > 257 && litLens[hlit - 1] == 0) hlit--;
  int hdist = kDistSymbols;
  while (hdist > 1 && distLens[hdist - 1] == 0) hdist--;
  uint8_t all[kLitSymbols + kDistSymbols];
  std::memcpy(all, litLens, hlit);
  std::memcpy(all + hlit, distLens, hdist);
  const std::vector<int> clSymbols = CodeLengthSymbols(all, hlit + hdist);
  uint32_t clFreq[19] = {0};
  for (int s : clSymbols) clFreq[s & 0xff]++;
  HuffmanLengths(clFreq, 19, kMaxClBits, clLens);
  int hclen = 19;
  while (hclen > 4 && clLens[kClOrder[hclen - 1]] == 0) hclen--;
  uint64_t bits = 3 + 5 + 5 + 4 + 3 * hclen;
  for (int s : clSymbols) {
    const int sym = s & 0xff;
    bits += clLens[sym] + (sym >= 16 ? kClExtraBits[sym - 16] : 0);
  }
  for (int s = 0; s < kLitSymbols; s++) {
    if (litFreq[s] == 0) continue;
    bits += static_cast<uint64_t>(litFreq[s]) * (litLens[s] + (s > kEndOfBlock ? kLenExtra[s - 257] : 0));
  }
  for (int d = 0; d < kDistSymbols; d++) bits += static_cast<uint64_t>(distFreq[d]) * (distLens[d] + kDistExtra[d]);

  if (StoredBits(end - start, w.BitOffset()) < bits) {
    WriteStored(w, data, start, end, final);
  } else {
    CanonicalCodes(litLens, kLitSymbols, litCodes);
    CanonicalCodes(distLens, kDistSymbols, distCodes);
    CanonicalCodes(clLens, 19, clCodes);
    w.Put(final ? 1 : 0, 1);
    w.Put(2, 2);
    w.Put(hlit - 257, 5);
    w.Put(hdist - 1, 5);
    w.Put(hclen - 4, 4);
    for (int i = 0; i < hclen; i++) w.Put(clLens[kClOrder[i]], 3);
    for (int s : clSymbols) {
      const int sym = s & 0xff;
      w.Put(clCodes[sym], clLens[sym]);
      if (sym >= 16) w.Put(s >> 8, kClExtraBits[sym - 16]);
    }
    // Literal and length codes; every match has distance 1 (code 0, no extra bits).
    uint32_t lit[256];
    for (int v = 0; v < 256; v++) lit[v] = litCodes[v] | (static_cast<uint32_t>(litLens[v]) << 16);
    const uint32_t distCode = distCodes[0];
    const int distLen = distLens[0];
    uint8_t* out = w.out_;
    size_t pos = w.pos_;
    uint64_t acc = w.bits_;
    int count = w.count_;
    size_t i = start;
    for (size_t m = 0; m <= nm; m++) {
      const size_t literalsEnd = m < nm ? static_cast<size_t>(matches[2 * m]) : end;
      // Branch-free: a literal's code goes into the accumulator; a store writes all of it (little-endian
      // hosts, see Init; the buffer has slack) and consumes the complete bytes, leaving under 8 bits.
      const auto put = [&](uint32_t e) {
        acc |= static_cast<uint64_t>(e & 0xffff) << count;
        count += e >> 16;
      };
      const auto store = [&]() {
        std::memcpy(out + pos, &acc, 8);
        pos += count >> 3;
        acc >>= count & ~7;
        count &= 7;
      };
      // Three literals (at most 45 bits, on under 8 left over) per store.
      for (; i + 3 <= literalsEnd; i += 3) {
        put(lit[data[i]]);
        put(lit[data[i + 1]]);
        put(lit[data[i + 2]]);
        store();
      }
      for (; i < literalsEnd; i++) {
        put(lit[data[i]]);
        store();
      }
      if (m == nm) break;
      const int len = matches[2 * m + 1];
      const int ls = kTables.lenCode[len];
      const int sym = 257 + ls;
      acc |= static_cast<uint64_t>(litCodes[sym]) << count;
      count += litLens[sym];
      acc |= static_cast<uint64_t>(len - kLenBase[ls]) << count;
      count += kLenExtra[ls];
      while (count >= 8) {  // under 52 bits here; flushed so the distance code fits the 64
        out[pos++] = static_cast<uint8_t>(acc);
        acc >>= 8;
        count -= 8;
      }
      acc |= static_cast<uint64_t>(distCode) << count;
      count += distLen;
      while (count >= 8) {
        out[pos++] = static_cast<uint8_t>(acc);
        acc >>= 8;
        count -= 8;
      }
      i += len;
    }
    while (count >= 8) {
      out[pos++] = static_cast<uint8_t>(acc);
      acc >>= 8;
      count -= 8;
    }
    w.pos_ = pos;
    w.bits_ = acc;
    w.count_ = count;
    w.Put(litCodes[kEndOfBlock], litLens[kEndOfBlock]);
  }
  std::memset(litFreq, 0, sizeof(uint32_t) * kLitSymbols);
  std::memset(distFreq, 0, sizeof(uint32_t) * kDistSymbols);
}

void PutU32(uint8_t* p, uint32_t v) {
  p[0] = v >> 24;
  p[1] = (v >> 16) & 0xff;
  p[2] = (v >> 8) & 0xff;
  p[3] = v & 0xff;
}

// The whole PNG into scratch.out; returns its size.
size_t EncodePng(const uint8_t* pixels, uint32_t width, uint32_t height, int level) {
  const size_t rowBytes = static_cast<size_t>(width) * kChannels;
  const size_t n = static_cast<size_t>(height) * (rowBytes + 1);
  std::vector<uint8_t>& f = scratch.filtered;
  if (f.size() < n) f.resize(n);
  for (size_t y = 0; y < height; y++) {
    uint8_t* o = f.data() + y * (rowBytes + 1);
    const uint8_t* r = pixels + y * rowBytes;
    o[0] = 3;
    if (y == 0) {
      for (size_t i = 0; i < kChannels && i < rowBytes; i++) o[1 + i] = r[i];
      for (size_t i = kChannels; i < rowBytes; i++) o[1 + i] = static_cast<uint8_t>(r[i] - (r[i - kChannels] >> 1));
      continue;
    }
    const uint8_t* u = r - rowBytes;
    for (size_t i = 0; i < kChannels; i++) o[1 + i] = static_cast<uint8_t>(r[i] - (u[i] >> 1));
    for (size_t i = kChannels; i < rowBytes; i++) o[1 + i] = static_cast<uint8_t>(r[i] - ((r[i - kChannels] + u[i]) >> 1));
  }
  // deflate.ts bound(), plus the PNG framing around the zlib stream.
  const size_t blocks = (n + kMaxStored - 1) / kMaxStored + (n + kBlockBytes - 1) / kBlockBytes + 1;
  const size_t zbound = n + 6 * blocks + 2 + 4 + 8;
  std::vector<uint8_t>& out = scratch.out;
  if (out.size() < zbound + 64) out.resize(zbound + 64);
  uint8_t* o = out.data();
  static const uint8_t kSignature[8] = {0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a};
  std::memcpy(o, kSignature, 8);
  PutU32(o + 8, 13);
  std::memcpy(o + 12, "IHDR", 4);
  PutU32(o + 16, width);
  PutU32(o + 20, height);
  o[24] = 8;
  o[25] = 2;
  o[26] = o[27] = o[28] = 0;
  PutU32(o + 29, Crc32(o + 12, 17));
  const size_t idat = 33;
  std::memcpy(o + idat + 4, "IDAT", 4);
  const size_t z = idat + 8;
  // zlib header: 0x78, FLEVEL 0 for levels 0 and 1, FCHECK.
  const int cmf = 0x78;
  int flg = 0;
  flg += 31 - ((cmf * 256 + flg) % 31);
  o[z] = cmf;
  o[z + 1] = static_cast<uint8_t>(flg);
  BitWriter w(o, z + 2);
  const uint8_t* data = f.data();
  if (level == 0) {
    WriteStored(w, data, 0, n, true);
  } else {
    uint32_t litFreq[kLitSymbols] = {0}, distFreq[kDistSymbols] = {0};
    std::vector<int32_t>& matches = scratch.matches;
    if (matches.size() < 2 * (kBlockBytes / kMinMatch + 1)) matches.resize(2 * (kBlockBytes / kMinMatch + 1));
    for (size_t at = 0; at < n;) {
      size_t nm = 0;
      const size_t next = RunBlock(data, n, at, litFreq, distFreq, matches, &nm);
      WriteBlock(w, data, at, next, matches, nm, litFreq, distFreq, next >= n);
      at = next;
    }
  }
  w.Align();
  size_t pos = w.pos_;
  PutU32(o + pos, Adler32(data, n));
  pos += 4;
  const size_t zlen = pos - z;
  PutU32(o + idat, static_cast<uint32_t>(zlen));
  PutU32(o + pos, Crc32(o + idat + 4, zlen + 4));
  pos += 4;
  PutU32(o + pos, 0);
  std::memcpy(o + pos + 4, "IEND", 4);
  PutU32(o + pos + 8, Crc32(o + pos + 4, 4));
  return pos + 12;
}

napi_value Fail(napi_env env, const char* message) {
  napi_throw_range_error(env, nullptr, message);
  return nullptr;
}

// encodePngRgb8(pixels: Uint8Array, width, height, level 0|1): Buffer
napi_value EncodePngRgb8(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 4) return Fail(env, "expected (pixels, width, height, level)");
  bool isTyped = false;
  napi_is_typedarray(env, argv[0], &isTyped);
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (!isTyped || napi_get_typedarray_info(env, argv[0], &type, &length, &data, nullptr, nullptr) != napi_ok || type != napi_uint8_array) {
    return Fail(env, "pixels must be a Uint8Array");
  }
  uint32_t width = 0, height = 0;
  int32_t level = -1;
  if (napi_get_value_uint32(env, argv[1], &width) != napi_ok || napi_get_value_uint32(env, argv[2], &height) != napi_ok ||
      napi_get_value_int32(env, argv[3], &level) != napi_ok) {
    return Fail(env, "width, height and level must be numbers");
  }
  if (width == 0 || height == 0 || width > 0x7fffffff || height > 0x7fffffff) return Fail(env, "PNG size must be positive integers");
  if (level != 0 && level != 1) return Fail(env, "the native encoder does levels 0 and 1");
  if (length != static_cast<size_t>(width) * height * kChannels) return Fail(env, "pixels do not hold a width x height RGB image");
  const size_t size = EncodePng(static_cast<const uint8_t*>(data), width, height, level);
  void* copy = nullptr;
  napi_value result;
  if (napi_create_buffer_copy(env, size, scratch.out.data(), &copy, &result) != napi_ok) return Fail(env, "cannot allocate the PNG buffer");
  return result;
}

napi_value Init(napi_env env, napi_value exports) {
  const uint32_t probe = 1;
  uint8_t first;
  std::memcpy(&first, &probe, 1);
  if (first != 1) return exports;  // big-endian host: no exports, the TypeScript encoder is used
  napi_value fn;
  napi_create_function(env, "encodePngRgb8", NAPI_AUTO_LENGTH, EncodePngRgb8, nullptr, &fn);
  napi_set_named_property(env, exports, "encodePngRgb8", fn);
  return exports;
}

}  // namespace

// pixels.cc: the byte <-> float conversions of image.ts and the squared error of psnrBytes.
void RegisterPixelFunctions(napi_env env, napi_value exports);

NAPI_MODULE_INIT() {
  Init(env, exports);
  RegisterPixelFunctions(env, exports);
  return exports;
}
