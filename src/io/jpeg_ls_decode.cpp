// Our own JPEG-LS decoder (ITU-T T.87), written from the standard's algorithm: CharLS (through GDCM) spent
// seconds of CPU on a damaged 6.9 kB scan found by the dicom fuzzer. Every read is bounds-checked, every
// Golomb prefix is bounded by LIMIT, every run by the line end, and data past the scan's end counts as an
// error, so the cost is O(bytes + pixels) whatever the input.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "io/lossless_decode.hpp"

namespace echo::io_detail {
namespace {

// Run-length order per RUNindex (T.87 A.7.1.1).
constexpr std::array<int, 32> kJ = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2,  2,  2,  3,  3,  3,  3,
                                    4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13, 14, 15};
// A truncated stream may still decode if no more than this many bits past the scan's end were consumed.
constexpr std::int64_t kSlackBits = 8;
// Damaged statistics could ask for huge Golomb parameters; valid streams stay far below.
constexpr int kMaxK = 30;

std::string at_byte(std::size_t pos) { return " at byte " + std::to_string(pos); }

int read_u16(const unsigned char* p) { return (p[0] << 8) | p[1]; }

int ceil_log2(std::int64_t v) {
  int bits = 0;
  while ((std::int64_t{1} << bits) < v) ++bits;
  return bits;
}

// Entropy-coded bits of one scan, [begin, end) (end = the marker that closes the scan). After a 0xFF byte
// the next byte carries only 7 bits (its top bit is a stuffed 0). Past the end, zero bits are supplied and
// counted so that the caller can refuse a truncated scan.
class BitReader {
 public:
  BitReader(const unsigned char* data, std::size_t begin, std::size_t end) : data_(data), pos_(begin), end_(end) {}

  std::uint32_t read(int n) {  // n in 0..32
    if (n == 0) return 0;
    if (count_ < n) fill();
    const auto v = static_cast<std::uint32_t>(cache_ >> (64 - n));
    skip(n);
    return v;
  }

  // Number of 0 bits before the next 1 (which is consumed); -1 when there are more than max_zeros.
  int read_zeros(int max_zeros) {
    int zeros = 0;
    for (;;) {
      fill();
      if (cache_ == 0) {  // bits past count_ are always 0, so all count_ bits are 0
        zeros += count_;
        skip(count_);
        if (zeros > max_zeros) return -1;
        continue;
      }
      const int lz = __builtin_clzll(cache_);
      zeros += lz;
      if (zeros > max_zeros) return -1;
      skip(lz);
      skip(1);
      return zeros;
    }
  }

  // Bits consumed beyond the scan's last byte.
  std::int64_t overrun_bits() const { return virtual_bits_ - std::min<std::int64_t>(count_, virtual_bits_); }

 private:
  void fill() {
    while (count_ <= 56) {
      if (pos_ < end_) {
        const unsigned byte = data_[pos_++];
        const int n = prev_ff_ ? 7 : 8;
        cache_ |= static_cast<std::uint64_t>(byte & (prev_ff_ ? 0x7Fu : 0xFFu)) << (64 - count_ - n);
        count_ += n;
        prev_ff_ = byte == 0xFF;
      } else {
        virtual_bits_ += 8;
        count_ += 8;
      }
    }
  }
  void skip(int n) {
    cache_ = n >= 64 ? 0 : cache_ << n;
    count_ -= n;
  }

  const unsigned char* data_;
  std::size_t pos_, end_;
  std::uint64_t cache_ = 0;  // left-aligned; bits below the top count_ are 0
  int count_ = 0;
  bool prev_ff_ = false;
  std::int64_t virtual_bits_ = 0;
};

// Where the entropy-coded data starting at `begin` ends: at a 0xFF followed by a byte >= 0x80 (a marker;
// 0xFF 0xFF is a fill byte before one), or at the end of the buffer.
std::size_t scan_data_end(const unsigned char* data, std::size_t size, std::size_t begin) {
  for (std::size_t i = begin; i < size; ++i) {
    if (data[i] != 0xFF) continue;
    if (i + 1 >= size || data[i + 1] >= 0x80) return i;
    ++i;  // the stuffed byte after 0xFF is data, never a marker start
  }
  return size;
}

// LSE type 1 values; 0 = the default.
struct Presets {
  int maxval = 0, t1 = 0, t2 = 0, t3 = 0, reset = 0;
};

// The coding parameters of one scan (T.87 A.2.1, C.2.4.1.1).
struct Coding {
  int near = 0, step = 1, maxval = 0, range = 0, qbpp = 0, limit = 0, t1 = 0, t2 = 0, t3 = 0, reset = 64;
};

int clamp_threshold(int value, int low, int maxval) { return (value > maxval || value < low) ? low : value; }

// Default thresholds (T.87 C.2.4.1.1.1), each overridable by a non-zero LSE value.
void set_thresholds(Coding& c, const Presets& p) {
  const int near = c.near, maxval = c.maxval;
  int d1, d2, d3;
  if (maxval >= 128) {
    const int factor = (std::min(maxval, 4095) + 128) / 256;
    d1 = factor * (3 - 2) + 2 + 3 * near;
    d2 = factor * (7 - 3) + 3 + 5 * near;
    d3 = factor * (21 - 4) + 4 + 7 * near;
  } else {
    const int factor = 256 / (maxval + 1);
    d1 = std::max(2, 3 / factor + 3 * near);
    d2 = std::max(3, 7 / factor + 5 * near);
    d3 = std::max(4, 21 / factor + 7 * near);
  }
  c.t1 = p.t1 != 0 ? p.t1 : clamp_threshold(d1, near + 1, maxval);
  c.t2 = p.t2 != 0 ? p.t2 : clamp_threshold(d2, c.t1, maxval);
  c.t3 = p.t3 != 0 ? p.t3 : clamp_threshold(d3, c.t2, maxval);
  c.reset = p.reset != 0 ? p.reset : 64;
}

// Coding parameters for a scan with this NEAR, or a reason when the LSE values are out of T.87's ranges.
std::string make_coding(int precision, int near, const Presets& p, Coding& c) {
  const int full = (1 << precision) - 1;
  if (p.maxval > full) return "JPEG-LS MAXVAL " + std::to_string(p.maxval) + " exceeds the precision";
  c.maxval = p.maxval != 0 ? p.maxval : full;
  if (near > std::min(255, c.maxval / 2)) return "JPEG-LS NEAR " + std::to_string(near) + " is too large";
  c.near = near;
  c.step = 2 * near + 1;
  c.range = (c.maxval + 2 * near) / c.step + 1;
  c.qbpp = ceil_log2(c.range);
  const int bpp = std::max(2, ceil_log2(std::int64_t{c.maxval} + 1));
  c.limit = 2 * (bpp + std::max(8, bpp));
  set_thresholds(c, p);
  const bool ok = c.t1 >= near + 1 && c.t1 <= c.t2 && c.t2 <= c.t3 && c.t3 <= c.maxval && c.reset >= 3 &&
                  c.reset <= std::max(255, c.maxval);
  if (!ok) return "JPEG-LS preset thresholds out of range (T1 " + std::to_string(c.t1) + ", T2 " +
                  std::to_string(c.t2) + ", T3 " + std::to_string(c.t3) + ", RESET " + std::to_string(c.reset) + ")";
  return {};
}

struct RegularContext {
  std::int64_t a = 0, b = 0, n = 1;
  int c = 0;
};
struct RunContext {
  std::int64_t a = 0, n = 1, nn = 0;
};

// The components of one scan: previous and current reconstructed line of each, with one extra sample at
// each end (index 0 is x = -1, index cols + 1 is x = cols) for the edge rules of T.87 A.2.1.
struct ComponentLines {
  int index = 0;  // position of the component in the frame (and in the output pixel)
  std::vector<int> prev, cur;
  int run_index = 0;
};

// Decodes one scan: one component (ILV 0), or several interleaved by line (ILV 1) or by sample (ILV 2).
class ScanDecoder {
 public:
  ScanDecoder(const Coding& coding, BitReader& bits, const DecodeTarget& target, unsigned char* out)
      : c_(coding), bits_(bits), target_(target), out_(out) {
    const std::int64_t a = std::max<std::int64_t>(2, (c_.range + 32) / 64);
    for (auto& ctx : regular_) ctx.a = a;
    for (auto& ctx : run_) ctx.a = a;
  }

  // "" when every line of every component decoded within the scan's bytes.
  std::string decode(std::vector<ComponentLines>& comps, int ilv) {
    const int cols = target_.cols;
    for (auto& comp : comps) {
      comp.prev.assign(static_cast<std::size_t>(cols) + 2, 0);
      comp.cur.assign(static_cast<std::size_t>(cols) + 2, 0);
    }
    for (int y = 0; y < target_.rows; ++y) {
      for (auto& comp : comps) start_line(comp);
      bool ok = true;
      if (ilv == 2) {
        ok = decode_sample_interleaved_line(comps);
      } else {
        for (auto& comp : comps) ok = ok && decode_line(comp);
      }
      if (!ok || bits_.overrun_bits() > kSlackBits) return failure(comps, y);
      for (auto& comp : comps) {
        store_line(comp, y);
        std::swap(comp.prev, comp.cur);
      }
    }
    return {};
  }

 private:
  std::string failure(const std::vector<ComponentLines>& comps, int y) const {
    std::string which = "component " + std::to_string(comps.front().index + 1);
    if (comps.size() > 1) which = "components " + std::to_string(comps.front().index + 1) + "-" +
                                  std::to_string(comps.back().index + 1);
    const std::string pixels = std::to_string(static_cast<std::int64_t>(target_.rows) * target_.cols);
    if (bits_.overrun_bits() > kSlackBits)
      return "JPEG-LS scan data end before all " + pixels + " pixels of " + which + " are decoded (line " +
             std::to_string(y + 1) + ")";
    return "JPEG-LS scan data damaged in line " + std::to_string(y + 1) + " of " + which + " (" + error_ + ")";
  }

  // Edge samples: Ra of the first sample is the sample above; Rd of the last is its Rb (T.87 A.2.1).
  void start_line(ComponentLines& comp) const {
    const int cols = target_.cols;
    comp.prev[static_cast<std::size_t>(cols) + 1] = comp.prev[static_cast<std::size_t>(cols)];
    comp.cur[0] = comp.prev[1];
  }

  void store_line(const ComponentLines& comp, int y) const {
    const std::size_t cols = static_cast<std::size_t>(target_.cols);
    const std::size_t ncomp = static_cast<std::size_t>(target_.components);
    const std::size_t bps = static_cast<std::size_t>(target_.bytes_per_sample);
    std::size_t at = ((static_cast<std::size_t>(y) * cols) * ncomp + static_cast<std::size_t>(comp.index)) * bps;
    for (std::size_t x = 1; x <= cols; ++x, at += ncomp * bps) {
      const int v = comp.cur[x];
      out_[at] = static_cast<unsigned char>(v & 0xFF);
      if (bps == 2) out_[at + 1] = static_cast<unsigned char>((v >> 8) & 0xFF);
    }
  }

  int quantize(int d) const {
    if (d <= -c_.t3) return -4;
    if (d <= -c_.t2) return -3;
    if (d <= -c_.t1) return -2;
    if (d < -c_.near) return -1;
    if (d <= c_.near) return 0;
    if (d < c_.t1) return 1;
    if (d < c_.t2) return 2;
    if (d < c_.t3) return 3;
    return 4;
  }

  // The three quantised gradients at padded position p of a component's lines.
  std::array<int, 3> gradients(const ComponentLines& comp, std::size_t p) const {
    const int ra = comp.cur[p - 1], rb = comp.prev[p], rc = comp.prev[p - 1], rd = comp.prev[p + 1];
    return {quantize(rd - rb), quantize(rb - rc), quantize(rc - ra)};
  }

  static bool is_flat(const std::array<int, 3>& q) { return q[0] == 0 && q[1] == 0 && q[2] == 0; }

  // One component's line in ILV 0 or 1: regular samples and runs.
  bool decode_line(ComponentLines& comp) {
    const std::size_t cols = static_cast<std::size_t>(target_.cols);
    std::size_t p = 1;
    while (p <= cols) {
      const auto q = gradients(comp, p);
      if (is_flat(q)) {
        if (!decode_run(comp, p)) return false;
      } else {
        int rx = 0;
        if (!decode_regular(q, comp.cur[p - 1], comp.prev[p], comp.prev[p - 1], rx)) return false;
        comp.cur[p++] = rx;
      }
    }
    return true;
  }

  // ILV 2: run mode only when every component is flat; the run then covers whole pixels.
  bool decode_sample_interleaved_line(std::vector<ComponentLines>& comps) {
    const std::size_t cols = static_cast<std::size_t>(target_.cols);
    std::array<std::array<int, 3>, 4> q{};
    std::size_t p = 1;
    while (p <= cols) {
      bool flat = true;
      for (std::size_t i = 0; i < comps.size(); ++i) {
        q[i] = gradients(comps[i], p);
        flat = flat && is_flat(q[i]);
      }
      if (flat) {
        if (!decode_pixel_run(comps, p)) return false;
        continue;
      }
      for (std::size_t i = 0; i < comps.size(); ++i) {
        auto& comp = comps[i];
        int rx = 0;
        if (!decode_regular(q[i], comp.cur[p - 1], comp.prev[p], comp.prev[p - 1], rx)) return false;
        comp.cur[p] = rx;
      }
      ++p;
    }
    return true;
  }

  static int med_predict(int ra, int rb, int rc) {
    if (rc >= std::max(ra, rb)) return std::min(ra, rb);
    if (rc <= std::min(ra, rb)) return std::max(ra, rb);
    return ra + rb - rc;
  }

  static int golomb_k(std::int64_t n, std::int64_t a) {
    int k = 0;
    while ((n << k) < a && k < kMaxK) ++k;
    return k;
  }

  // Limited-length Golomb code (T.87 A.5.3); -1 when the prefix is longer than the limit allows.
  std::int64_t golomb(int k, int glimit) {
    const int escape = glimit - c_.qbpp - 1;
    const int zeros = bits_.read_zeros(std::max(escape, 0));
    if (zeros < 0) {
      error_ = "Golomb code longer than LIMIT";
      return -1;
    }
    if (zeros < escape) return (static_cast<std::int64_t>(zeros) << k) + bits_.read(k);
    return static_cast<std::int64_t>(bits_.read(c_.qbpp)) + 1;
  }

  // Prediction plus error, brought back into [0, MAXVAL] modulo RANGE (T.87 A.4.2 / F.1 step 12).
  int reconstruct(int px, std::int64_t errval) const {
    std::int64_t rx = px + errval * c_.step;
    const std::int64_t span = static_cast<std::int64_t>(c_.range) * c_.step;
    if (rx < -c_.near) {
      rx += span;
    } else if (rx > c_.maxval + c_.near) {
      rx -= span;
    }
    return static_cast<int>(std::clamp<std::int64_t>(rx, 0, c_.maxval));
  }

  static std::int64_t floor_half(std::int64_t v) { return v >= 0 ? v / 2 : -((1 - v) / 2); }

  void update_regular(RegularContext& ctx, std::int64_t errval) const {
    ctx.b += errval * c_.step;
    ctx.a += errval < 0 ? -errval : errval;
    if (ctx.n == c_.reset) {
      ctx.a /= 2;
      ctx.b = floor_half(ctx.b);
      ctx.n /= 2;
    }
    ++ctx.n;
    // Bias correction (T.87 A.6.2).
    if (ctx.b <= -ctx.n) {
      ctx.b += ctx.n;
      if (ctx.c > -128) --ctx.c;
      if (ctx.b <= -ctx.n) ctx.b = -ctx.n + 1;
    } else if (ctx.b > 0) {
      ctx.b -= ctx.n;
      if (ctx.c < 127) ++ctx.c;
      if (ctx.b > 0) ctx.b = 0;
    }
  }

  // Regular mode sample (T.87 A.3-A.6), contexts indexed by the sign-normalised gradient triple.
  bool decode_regular(std::array<int, 3> q, int ra, int rb, int rc, int& rx) {
    int sign = 1;
    const int first = q[0] != 0 ? q[0] : (q[1] != 0 ? q[1] : q[2]);
    if (first < 0) {
      sign = -1;
      for (int& v : q) v = -v;
    }
    RegularContext& ctx = regular_[static_cast<std::size_t>((q[0] + 4) * 81 + (q[1] + 4) * 9 + (q[2] + 4))];
    const int px = std::clamp(med_predict(ra, rb, rc) + sign * ctx.c, 0, c_.maxval);
    const int k = golomb_k(ctx.n, ctx.a);
    const std::int64_t merr = golomb(k, c_.limit);
    if (merr < 0) return false;
    std::int64_t errval;
    if (c_.near == 0 && k == 0 && 2 * ctx.b <= -ctx.n) {
      errval = (merr & 1) ? (merr - 1) / 2 : -(merr / 2) - 1;
    } else {
      errval = (merr & 1) ? -((merr + 1) / 2) : merr / 2;
    }
    update_regular(ctx, errval);
    rx = reconstruct(px, sign * errval);
    return true;
  }

  // Run interruption sample (T.87 A.7.2). In sample-interleaved scans every component uses RItype 0.
  bool decode_interruption(int ra, int rb, int run_index, bool force_type0, int& rx) {
    const int ritype = (!force_type0 && std::abs(ra - rb) <= c_.near) ? 1 : 0;
    const int px = ritype == 1 ? ra : rb;
    const int sign = (ritype == 0 && ra > rb) ? -1 : 1;
    RunContext& ctx = run_[static_cast<std::size_t>(ritype)];
    const int k = golomb_k(ctx.n, ritype == 1 ? ctx.a + ctx.n / 2 : ctx.a);
    const std::int64_t em = golomb(k, c_.limit - kJ[static_cast<std::size_t>(run_index)] - 1);
    if (em < 0) return false;
    const std::int64_t t = em + ritype;
    const bool map = (t & 1) != 0;
    const bool positive_when_mapped = k == 0 && 2 * ctx.nn < ctx.n;
    const std::int64_t magnitude = (t + 1) / 2;
    const std::int64_t errval = (map == positive_when_mapped) ? magnitude : -magnitude;
    if (errval < 0) ++ctx.nn;
    ctx.a += (em + 1 - ritype) / 2;
    if (ctx.n == c_.reset) {
      ctx.a /= 2;
      ctx.n /= 2;
      ctx.nn /= 2;
    }
    ++ctx.n;
    rx = reconstruct(px, sign * errval);
    return true;
  }

  // Run-length part of run mode (T.87 A.7.1): advances p over the run; returns the samples filled through
  // `fill`, and whether an interruption sample follows (false at the line end).
  template <typename Fill>
  bool run_length(int& run_index, std::size_t& p, bool& interrupted, Fill fill) {
    const std::size_t cols = static_cast<std::size_t>(target_.cols);
    for (;;) {
      const std::size_t left = cols + 1 - p;
      const std::size_t segment = std::size_t{1} << kJ[static_cast<std::size_t>(run_index)];
      if (bits_.read(1) == 1) {
        const std::size_t n = std::min(segment, left);
        fill(p, n);
        p += n;
        if (n == segment && run_index < 31) ++run_index;
        if (p > cols) {
          interrupted = false;
          return true;
        }
        continue;
      }
      const std::size_t n = bits_.read(kJ[static_cast<std::size_t>(run_index)]);
      if (n >= left) {
        error_ = "run past the line end";
        return false;
      }
      fill(p, n);
      p += n;
      interrupted = true;
      return true;
    }
  }

  bool decode_run(ComponentLines& comp, std::size_t& p) {
    const int value = comp.cur[p - 1];
    bool interrupted = false;
    auto fill = [&comp, value](std::size_t at, std::size_t n) { std::fill_n(comp.cur.begin() + at, n, value); };
    if (!run_length(comp.run_index, p, interrupted, fill)) return false;
    if (!interrupted) return true;
    int rx = 0;
    if (!decode_interruption(comp.cur[p - 1], comp.prev[p], comp.run_index, false, rx)) return false;
    comp.cur[p++] = rx;
    if (comp.run_index > 0) --comp.run_index;
    return true;
  }

  bool decode_pixel_run(std::vector<ComponentLines>& comps, std::size_t& p) {
    int& run_index = comps.front().run_index;  // one run state for the whole pixel
    bool interrupted = false;
    auto fill = [&comps](std::size_t at, std::size_t n) {
      for (auto& comp : comps) std::fill_n(comp.cur.begin() + at, n, comp.cur[at - 1]);
    };
    if (!run_length(run_index, p, interrupted, fill)) return false;
    if (!interrupted) return true;
    for (auto& comp : comps) {
      int rx = 0;
      if (!decode_interruption(comp.cur[p - 1], comp.prev[p], run_index, true, rx)) return false;
      comp.cur[p] = rx;
    }
    ++p;
    if (run_index > 0) --run_index;
    return true;
  }

  const Coding& c_;
  BitReader& bits_;
  const DecodeTarget& target_;
  unsigned char* out_;
  std::array<RegularContext, 729> regular_{};  // 9^3 gradient triples; 365 are reachable
  std::array<RunContext, 2> run_{};            // contexts 365 (RItype 0) and 366 (RItype 1)
  std::string error_;
};

// Frame header (SOF55) as far as this decoder needs it.
struct Frame {
  bool seen = false;
  int precision = 0;
  std::vector<int> ids;
  std::vector<bool> decoded;
};

// Walks the marker segments of one JPEG-LS image and decodes its scans into `out`.
class ImageDecoder {
 public:
  ImageDecoder(const unsigned char* data, std::size_t size, const DecodeTarget& target, unsigned char* out)
      : data_(data), size_(size), target_(target), out_(out) {}

  std::string run() {
    if (size_ < 4 || data_[0] != 0xFF || data_[1] != 0xD8) return "JPEG-LS data does not start with an SOI marker";
    pos_ = 2;
    for (;;) {
      int marker = 0;
      if (std::string why = next_marker(marker); !why.empty()) return why;
      const bool complete = frame_.seen && all_decoded();
      // A missing EOI loses no pixel; any other marker after the last scan is damage (e.g. FFD9 hit to FFD8).
      if (marker < 0 || marker == 0xD9) return complete ? std::string{} : missing_components();
      if (complete && marker != 0xFE && (marker < 0xE0 || marker > 0xEF))
        return "JPEG-LS marker FF" + hex(marker) + " after the last scan instead of EOI" + at_byte(pos_ - 2);
      if (std::string why = handle_marker(marker); !why.empty()) return why;
    }
  }

 private:
  bool all_decoded() const {
    return std::all_of(frame_.decoded.begin(), frame_.decoded.end(), [](bool d) { return d; });
  }
  std::string missing_components() const {
    if (!frame_.seen) return "JPEG-LS data end without a frame header (SOF55)";
    return "JPEG-LS data end before every component has a scan";
  }

  // Reads the next marker code at pos_ (after optional 0xFF fill bytes); -1 at the end of the data.
  std::string next_marker(int& marker) {
    marker = -1;
    if (pos_ >= size_) return {};
    if (data_[pos_] != 0xFF) return "JPEG-LS marker expected" + at_byte(pos_);
    while (pos_ < size_ && data_[pos_] == 0xFF) ++pos_;
    if (pos_ < size_) marker = data_[pos_++];
    return {};
  }

  // The payload of the marker segment at pos_: [begin, begin + length - 2); pos_ moves past it.
  std::string segment(std::size_t& begin, std::size_t& length) {
    if (pos_ + 2 > size_) return "JPEG-LS marker segment truncated" + at_byte(pos_);
    const std::size_t declared = static_cast<std::size_t>(read_u16(data_ + pos_));
    if (declared < 2 || pos_ + declared > size_) return "JPEG-LS marker segment length invalid" + at_byte(pos_);
    begin = pos_ + 2;
    length = declared - 2;
    pos_ += declared;
    return {};
  }

  std::string handle_marker(int marker) {
    const std::size_t marker_at = pos_ - 2;
    std::size_t begin = 0, length = 0;
    if (marker == 0xF7 || marker == 0xF8 || marker == 0xDA || marker == 0xDD || (marker >= 0xE0 && marker <= 0xEF) ||
        marker == 0xFE) {
      if (std::string why = segment(begin, length); !why.empty()) return why;
    }
    switch (marker) {
      case 0xF7: return parse_frame(begin, length);
      case 0xF8: return parse_preset(begin, length);
      case 0xDD:
        if (length != 2) return "JPEG-LS DRI segment invalid" + at_byte(marker_at);
        if (read_u16(data_ + begin) != 0) return "JPEG-LS restart intervals are not supported";
        return {};
      case 0xDA: return decode_scan(begin, length);
      case 0xFE: return {};
      default: break;
    }
    if (marker >= 0xE0 && marker <= 0xEF) return check_app(marker, begin, length);
    if (marker >= 0xC0 && marker <= 0xCF) return "not a JPEG-LS frame (marker FF" + hex(marker) + ")";
    return "unexpected JPEG marker FF" + hex(marker) + at_byte(marker_at);
  }

  static std::string hex(int v) {
    const char* digits = "0123456789ABCDEF";
    return {digits[(v >> 4) & 15], digits[v & 15]};
  }

  // APPn is skipped, except the HP colour transform (APP8 "mrfx"), whose inverse is not implemented.
  std::string check_app(int marker, std::size_t begin, std::size_t length) const {
    const unsigned char* p = data_ + begin;
    if (marker == 0xE8 && length >= 5 && p[0] == 'm' && p[1] == 'r' && p[2] == 'f' && p[3] == 'x' && p[4] != 0)
      return "JPEG-LS colour transform (APP8 mrfx, HP" + std::to_string(p[4]) + ") is not supported";
    return {};
  }

  std::string parse_frame(std::size_t begin, std::size_t length) {
    if (frame_.seen) return "JPEG-LS data has a second frame header";
    const unsigned char* p = data_ + begin;
    if (length < 6) return "JPEG-LS frame header truncated";
    const int precision = p[0], rows = read_u16(p + 1), cols = read_u16(p + 3), count = p[5];
    if (length != 6 + 3 * static_cast<std::size_t>(count)) return "JPEG-LS frame header length invalid";
    if (precision < 2 || precision > 16) return "JPEG-LS precision " + std::to_string(precision) + " is invalid";
    if (rows == 0) return "JPEG-LS frames with the height in a DNL marker are not supported";
    if (rows != target_.rows || cols != target_.cols)
      return "JPEG-LS frame is " + std::to_string(rows) + " rows x " + std::to_string(cols) +
             " columns, the DICOM header says " + std::to_string(target_.rows) + " x " + std::to_string(target_.cols);
    if (count != target_.components)
      return "JPEG-LS frame has " + std::to_string(count) + " components, the DICOM header says " +
             std::to_string(target_.components);
    if (precision > 8 * target_.bytes_per_sample)
      return "JPEG-LS precision " + std::to_string(precision) + " bits does not fit " +
             std::to_string(target_.bytes_per_sample) + "-byte samples";
    for (int i = 0; i < count; ++i) {
      const unsigned char* comp = p + 6 + 3 * i;
      if (comp[1] != 0x11) return "JPEG-LS subsampled components are not supported";
      if (std::find(frame_.ids.begin(), frame_.ids.end(), comp[0]) != frame_.ids.end())
        return "JPEG-LS frame repeats component id " + std::to_string(comp[0]);
      frame_.ids.push_back(comp[0]);
    }
    frame_.seen = true;
    frame_.precision = precision;
    frame_.decoded.assign(static_cast<std::size_t>(count), false);
    return {};
  }

  // LSE: only type 1 (preset coding parameters); mapping tables and oversize dimensions are refused.
  std::string parse_preset(std::size_t begin, std::size_t length) {
    if (length < 1) return "JPEG-LS LSE segment empty";
    const unsigned char* p = data_ + begin;
    if (p[0] == 2 || p[0] == 3) return "JPEG-LS mapping tables are not supported";
    if (p[0] != 1) return "JPEG-LS LSE type " + std::to_string(p[0]) + " is not supported";
    if (length != 11) return "JPEG-LS preset parameters segment length invalid";
    presets_ = {read_u16(p + 1), read_u16(p + 3), read_u16(p + 5), read_u16(p + 7), read_u16(p + 9)};
    return {};
  }

  // Which frame components a scan header names, in scan order; "" or the reason.
  std::string scan_components(const unsigned char* p, int count, std::vector<ComponentLines>& comps) const {
    for (int i = 0; i < count; ++i) {
      const int id = p[1 + 2 * i], table = p[2 + 2 * i];
      if (table != 0) return "JPEG-LS mapping tables are not supported";
      const auto it = std::find(frame_.ids.begin(), frame_.ids.end(), id);
      if (it == frame_.ids.end()) return "JPEG-LS scan names unknown component id " + std::to_string(id);
      ComponentLines comp;
      comp.index = static_cast<int>(it - frame_.ids.begin());
      if (frame_.decoded[static_cast<std::size_t>(comp.index)] ||
          std::any_of(comps.begin(), comps.end(), [&](const ComponentLines& c) { return c.index == comp.index; }))
        return "JPEG-LS component id " + std::to_string(id) + " is coded twice";
      comps.push_back(std::move(comp));
    }
    return {};
  }

  std::string decode_scan(std::size_t begin, std::size_t length) {
    if (!frame_.seen) return "JPEG-LS scan before the frame header";
    const unsigned char* p = data_ + begin;
    if (length < 1) return "JPEG-LS scan header truncated";
    const int count = p[0];
    if (count < 1 || count > 4 || length != 4 + 2 * static_cast<std::size_t>(count))
      return "JPEG-LS scan header invalid" + at_byte(begin);
    std::vector<ComponentLines> comps;
    if (std::string why = scan_components(p, count, comps); !why.empty()) return why;
    const int near = p[1 + 2 * count], ilv = p[2 + 2 * count], transform = p[3 + 2 * count];
    if (ilv > 2) return "JPEG-LS interleave mode " + std::to_string(ilv) + " is invalid";
    if (ilv == 0 && count != 1) return "JPEG-LS scan of several components without interleaving";
    if (transform != 0) return "JPEG-LS point transform is not supported";
    Coding coding;
    if (std::string why = make_coding(frame_.precision, near, presets_, coding); !why.empty()) return why;
    const std::size_t end = scan_data_end(data_, size_, pos_);
    BitReader bits(data_, pos_, end);
    ScanDecoder scan(coding, bits, target_, out_);
    if (std::string why = scan.decode(comps, count == 1 ? 0 : ilv); !why.empty()) return why;
    for (const auto& comp : comps) frame_.decoded[static_cast<std::size_t>(comp.index)] = true;
    pos_ = end;
    return {};
  }

  const unsigned char* data_;
  std::size_t size_;
  const DecodeTarget& target_;
  unsigned char* out_;
  std::size_t pos_ = 0;
  Frame frame_;
  Presets presets_;
};

std::string check_target(const DecodeTarget& t) {
  if (t.rows <= 0 || t.cols <= 0 || t.rows > 65535 || t.cols > 65535) return "invalid frame size for JPEG-LS";
  if (t.components != 1 && t.components != 3) return "JPEG-LS decoding supports 1 or 3 samples per pixel";
  if (t.bytes_per_sample != 1 && t.bytes_per_sample != 2) return "JPEG-LS decoding supports 8 or 16 bits allocated";
  return {};
}

}  // namespace

std::string decode_jpeg_ls(const unsigned char* data, std::size_t size, const DecodeTarget& target, unsigned char* out) {
  if (data == nullptr || out == nullptr) return "no JPEG-LS data";
  if (std::string why = check_target(target); !why.empty()) return why;
  return ImageDecoder(data, size, target, out).run();
}

}  // namespace echo::io_detail
