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

uint32_t Adler32(const uint8_t* p, size_t n) {
  uint32_t a = 1, b = 0;
  for (size_t i = 0; i < n;) {
    const size_t end = std::min(i + 5552, n);
    for (; i < end; i++) {
      a += p[i];
      b += a;
    }
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
size_t RunBlock(const uint8_t* data, size_t n, size_t from, uint32_t* litFreq, uint32_t* distFreq, std::vector<int32_t>& matches, size_t* nm) {
  const size_t stop = std::min(n, from + kBlockBytes);
  size_t i = from;
  *nm = 0;
  // Positions where the four-byte test may read: i >= 1 and i + 2 < n.
  const size_t testEnd = n >= 3 ? n - 2 : 0;
  if (i == 0 && i < stop) litFreq[data[i++]]++;
  while (i < stop) {
    uint32_t w;
    if (i < testEnd && (std::memcpy(&w, data + i - 1, 4), w == (w & 0xffu) * 0x01010101u)) {
      const uint8_t v = data[i];
      const size_t max = std::min<size_t>(kMaxMatch, n - i);
      size_t len = kMinMatch;
      while (len < max && data[i + len] == v) len++;
      matches[2 * *nm] = static_cast<int32_t>(i);
      matches[2 * *nm + 1] = static_cast<int32_t>(len);
      ++*nm;
      litFreq[257 + kTables.lenCode[len]]++;
      distFreq[0]++;
      i += len;
      continue;
    }
    litFreq[data[i]]++;
    i++;
  }
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
      // Branch-free: after each literal the whole accumulator is stored (little-endian hosts, see
      // Init; the buffer has slack) and the complete bytes are consumed, leaving under 8 bits.
      for (; i < literalsEnd; i++) {
        const uint32_t e = lit[data[i]];
        acc |= static_cast<uint64_t>(e & 0xffff) << count;
        count += e >> 16;
        std::memcpy(out + pos, &acc, 8);
        pos += count >> 3;
        acc >>= count & ~7;
        count &= 7;
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
