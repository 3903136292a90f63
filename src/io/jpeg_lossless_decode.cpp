// JPEG Lossless (ITU-T T.81 Annex H, process 14: Huffman, non-hierarchical), written for DICOM frames.
// Replaces GDCM's IJG lossless path, which aborts the process (assert) on a damaged scan. Every marker
// segment and every entropy-coded bit is read through bounds-checked readers; the work is O(bytes + pixels).
#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "io/lossless_decode.hpp"

namespace echo::io_detail {
namespace {

constexpr int kMaxComponents = 4;

// A DC Huffman table in canonical form (T.81 Annex C / F.2.2.3).
struct HuffmanTable {
  bool defined = false;
  std::array<std::int32_t, 18> max_code{};  // largest code of each length, -1 when none
  std::array<std::int32_t, 17> min_code{};
  std::array<std::int32_t, 17> first_value{};  // index into values of each length's first code
  std::array<std::uint8_t, 256> values{};
};

struct FrameComponent {
  int id = 0;
  int sampling = 0x11;  // H << 4 | V
};

struct FrameHeader {
  bool present = false;
  int precision = 0;
  int rows = 0;
  int cols = 0;
  std::vector<FrameComponent> components;
};

struct ScanComponent {
  int index = 0;  // into FrameHeader::components
  int table = 0;
};

struct ScanHeader {
  std::vector<ScanComponent> components;
  int predictor = 1;
  int point_transform = 0;
};

std::string at_byte(const std::string& what, std::size_t pos) { return what + " at byte " + std::to_string(pos); }

// The entropy-coded bits of one scan: stuffed 0xFF 0x00 read as 0xFF, and a marker (0xFF, then not 0) ends the
// bits. Reading past that end is an error, not a stream of zeros: a damaged scan cannot spin.
class EntropyReader {
 public:
  EntropyReader(const unsigned char* data, std::size_t pos, std::size_t end) : data_(data), pos_(pos), end_(end) {}

  bool bit(int& out) {
    if (count_ == 0 && !load_byte()) return false;
    --count_;
    out = (byte_ >> count_) & 1;
    return true;
  }
  bool bits(int n, std::int32_t& out) {
    out = 0;
    for (int i = 0; i < n; ++i) {
      int b = 0;
      if (!bit(b)) return false;
      out = (out << 1) | b;
    }
    return true;
  }
  // Drops the rest of the current byte and the marker that follows when it is a restart marker.
  bool restart() {
    count_ = 0;
    const std::size_t marker = next_marker();
    if (marker + 1 >= end_ || data_[marker + 1] < 0xd0 || data_[marker + 1] > 0xd7) return false;
    pos_ = marker + 2;
    return true;
  }
  // Where the next marker begins (or end) once the scan's samples are decoded.
  std::size_t next_marker() const {
    std::size_t p = pos_;
    while (p + 1 < end_ && !(data_[p] == 0xff && data_[p + 1] != 0x00 && data_[p + 1] != 0xff)) ++p;
    return p + 1 < end_ ? p : end_;
  }
  std::size_t position() const { return pos_; }

 private:
  bool load_byte() {
    if (pos_ >= end_ || data_[pos_] == 0xff) {
      if (pos_ + 1 >= end_ || data_[pos_ + 1] != 0x00) return false;  // a marker or the end
      byte_ = 0xff;
      pos_ += 2;
    } else {
      byte_ = data_[pos_++];
    }
    count_ = 8;
    return true;
  }

  const unsigned char* data_;
  std::size_t pos_;
  std::size_t end_;
  unsigned byte_ = 0;
  int count_ = 0;
};

class LosslessDecoder {
 public:
  LosslessDecoder(const unsigned char* data, std::size_t size, const DecodeTarget& target, unsigned char* out)
      : data_(data), size_(size), target_(target), out_(out) {}

  std::string run() {
    if (size_ < 4 || data_[0] != 0xff || data_[1] != 0xd8) return "no start-of-image marker";
    std::size_t pos = 2;
    while (true) {
      while (pos < size_ && data_[pos] == 0xff && pos + 1 < size_ && data_[pos + 1] == 0xff) ++pos;  // fill bytes
      if (pos + 2 > size_) {
        if (complete()) break;  // a missing end-of-image marker after complete scans is tolerated
        return "the stream ends before its end-of-image marker";
      }
      if (data_[pos] != 0xff) return at_byte("a marker expected", pos);
      const int marker = data_[pos + 1];
      if (marker == 0xd9) break;
      if (pos + 4 > size_) return at_byte("a marker segment cut short", pos);
      const std::size_t length = (std::size_t{data_[pos + 2]} << 8) | data_[pos + 3];
      if (length < 2 || pos + 2 + length > size_) return at_byte("a marker segment longer than the stream", pos);
      const unsigned char* segment = data_ + pos + 4;
      const std::size_t segment_bytes = length - 2;
      std::string problem;
      if (marker == 0xc3) {
        problem = read_frame(segment, segment_bytes);
      } else if (marker == 0xc4) {
        problem = read_tables(segment, segment_bytes);
      } else if (marker == 0xdd) {
        problem = segment_bytes == 2 ? "" : "a restart-interval segment of the wrong length";
        if (problem.empty()) restart_interval_ = (segment[0] << 8) | segment[1];
      } else if (marker == 0xda) {
        std::size_t scan_end = 0;
        problem = read_scan(segment, segment_bytes, pos + 2 + length, scan_end);
        if (problem.empty()) {
          pos = scan_end;
          continue;
        }
      } else if ((marker >= 0xc0 && marker <= 0xcf) || marker == 0xdc || marker == 0xde || marker == 0xdf) {
        problem = "marker 0xFF" + hex(marker) + " is not part of a lossless (process 14) JPEG";
      }  // APPn, COM, DQT and other segments carry nothing this decoder needs
      if (!problem.empty()) return at_byte(problem, pos);
      pos += 2 + length;
    }
    if (!frame_.present) return "no lossless frame header (SOF3)";
    return complete() ? "" : "a component without a scan";
  }

 private:
  bool complete() const {
    if (!frame_.present) return false;
    for (std::size_t c = 0; c < frame_.components.size(); ++c)
      if (!decoded_[c]) return false;
    return true;
  }

  static std::string hex(int value) {
    static const char* digits = "0123456789ABCDEF";
    return std::string{digits[(value >> 4) & 15], digits[value & 15]};
  }

  std::string read_frame(const unsigned char* s, std::size_t n) {
    if (frame_.present) return "a second frame header";
    if (n < 6) return "a frame header cut short";
    frame_.precision = s[0];
    frame_.rows = (s[1] << 8) | s[2];
    frame_.cols = (s[3] << 8) | s[4];
    const int count = s[5];
    if (n != 6 + 3 * static_cast<std::size_t>(count)) return "a frame header of the wrong length";
    if (frame_.precision < 2 || frame_.precision > 16) return "sample precision " + std::to_string(frame_.precision);
    if (frame_.precision > 8 * target_.bytes_per_sample)
      return std::to_string(frame_.precision) + "-bit samples for " + std::to_string(8 * target_.bytes_per_sample) +
             "-bit Bits Allocated";
    if (frame_.rows != target_.rows || frame_.cols != target_.cols)
      return "the frame is " + std::to_string(frame_.cols) + "x" + std::to_string(frame_.rows) + ", the header says " +
             std::to_string(target_.cols) + "x" + std::to_string(target_.rows);
    if (count != target_.components)
      return std::to_string(count) + " components in the frame, " + std::to_string(target_.components) + " declared";
    for (int c = 0; c < count; ++c) {
      FrameComponent component{s[6 + 3 * c], s[7 + 3 * c]};
      if (count > 1 && component.sampling != 0x11) return "subsampled components are not supported";
      frame_.components.push_back(component);
    }
    frame_.present = true;
    return "";
  }

  std::string read_tables(const unsigned char* s, std::size_t n) {
    std::size_t pos = 0;
    while (pos < n) {
      if (n - pos < 17) return "a Huffman table cut short";
      const int kind = s[pos] >> 4, slot = s[pos] & 15;
      if (kind != 0 || slot > 3) return "Huffman table class/slot 0x" + hex(s[pos]) + " (lossless uses DC tables 0-3)";
      HuffmanTable& table = tables_[static_cast<std::size_t>(slot)];
      int total = 0;
      for (int len = 1; len <= 16; ++len) total += s[pos + static_cast<std::size_t>(len)];
      if (total > 256 || n - pos < 17 + static_cast<std::size_t>(total)) return "a Huffman table with too many codes";
      std::int32_t code = 0;
      int index = 0;
      for (int len = 1; len <= 16; ++len) {
        const int count = s[pos + static_cast<std::size_t>(len)];
        table.first_value[static_cast<std::size_t>(len)] = index;
        table.min_code[static_cast<std::size_t>(len)] = code;
        code += count;
        index += count;
        if (code > (1 << len)) return "a Huffman table whose codes do not fit their lengths";
        table.max_code[static_cast<std::size_t>(len)] = count > 0 ? code - 1 : -1;
        code <<= 1;
      }
      std::copy(s + pos + 17, s + pos + 17 + total, table.values.begin());
      table.defined = true;
      pos += 17 + static_cast<std::size_t>(total);
    }
    return "";
  }

  std::string read_scan_header(const unsigned char* s, std::size_t n, ScanHeader& scan) const {
    if (!frame_.present) return "a scan before the frame header";
    if (n < 1) return "a scan header cut short";
    const int count = s[0];
    if (count < 1 || count > kMaxComponents || n != 4 + 2 * static_cast<std::size_t>(count))
      return "a scan header of the wrong length";
    for (int c = 0; c < count; ++c) {
      const int id = s[1 + 2 * c], table = s[2 + 2 * c] >> 4;
      const auto it = std::find_if(frame_.components.begin(), frame_.components.end(),
                                   [&](const FrameComponent& fc) { return fc.id == id; });
      if (it == frame_.components.end()) return "a scan names component " + std::to_string(id) + ", not in the frame";
      if (table > 3 || !tables_[static_cast<std::size_t>(table)].defined)
        return "a scan uses Huffman table " + std::to_string(table) + ", not defined";
      scan.components.push_back({static_cast<int>(it - frame_.components.begin()), table});
    }
    const unsigned char* tail = s + 1 + 2 * count;
    scan.predictor = tail[0];
    scan.point_transform = tail[2] & 15;
    if (scan.predictor < 1 || scan.predictor > 7) return "predictor " + std::to_string(scan.predictor) + " (1-7)";
    // Se and Ah "shall be zero" in a lossless scan; like libjpeg, other values are tolerated (they select nothing).
    if (scan.point_transform >= frame_.precision) return "a point transform as large as the precision";
    return "";
  }

  // The difference of one sample (T.81 H.1.2.2): category by Huffman code, then that many bits.
  static bool difference(EntropyReader& in, const HuffmanTable& table, std::int32_t& diff) {
    std::int32_t code = 0;
    int category = -1;
    for (int len = 1; len <= 16; ++len) {
      int b = 0;
      if (!in.bit(b)) return false;
      code = (code << 1) | b;
      if (code <= table.max_code[static_cast<std::size_t>(len)]) {
        category = table.values[static_cast<std::size_t>(table.first_value[static_cast<std::size_t>(len)] + code -
                                                         table.min_code[static_cast<std::size_t>(len)])];
        break;
      }
    }
    if (category < 0 || category > 16) return false;
    if (category == 0) return diff = 0, true;
    if (category == 16) return diff = 32768, true;
    std::int32_t bits = 0;
    if (!in.bits(category, bits)) return false;
    diff = bits < (1 << (category - 1)) ? bits - (1 << category) + 1 : bits;
    return true;
  }

  static std::int32_t predict(int predictor, std::int32_t a, std::int32_t b, std::int32_t c) {
    switch (predictor) {
      case 1: return a;
      case 2: return b;
      case 3: return c;
      case 4: return a + b - c;
      case 5: return a + ((b - c) >> 1);
      case 6: return b + ((a - c) >> 1);
      default: return (a + b) >> 1;
    }
  }

  void store(int component, int x, int y, std::uint32_t value) const {
    const std::size_t index = (static_cast<std::size_t>(y) * static_cast<std::size_t>(target_.cols) + static_cast<std::size_t>(x)) *
                                  static_cast<std::size_t>(target_.components) + static_cast<std::size_t>(component);
    if (target_.bytes_per_sample == 1) {
      out_[index] = static_cast<unsigned char>(value);
    } else {
      out_[2 * index] = static_cast<unsigned char>(value);
      out_[2 * index + 1] = static_cast<unsigned char>(value >> 8);
    }
  }

  std::string read_scan(const unsigned char* s, std::size_t n, std::size_t data_begin, std::size_t& scan_end) {
    ScanHeader scan;
    std::string problem = read_scan_header(s, n, scan);
    if (!problem.empty()) return problem;
    const int cols = frame_.cols, rows = frame_.rows, count = static_cast<int>(scan.components.size());
    if (restart_interval_ > 0 && restart_interval_ % cols != 0)
      return "a restart interval of " + std::to_string(restart_interval_) + " samples, not whole lines";
    const int lines_per_interval = restart_interval_ > 0 ? restart_interval_ / cols : rows;
    // The reconstructed samples of the line above and this line, per component, modulo 2^16 (T.81 H.2.1).
    std::vector<std::int32_t> above(static_cast<std::size_t>(count * cols)), line(above.size());
    const std::int32_t first = 1 << (frame_.precision - scan.point_transform - 1);
    EntropyReader in(data_, data_begin, size_);
    for (int y = 0; y < rows; ++y) {
      const bool first_line = y % lines_per_interval == 0;
      if (first_line && y > 0 && !in.restart()) return at_byte("a restart marker missing", in.position());
      for (int x = 0; x < cols; ++x) {
        for (int k = 0; k < count; ++k) {
          const ScanComponent& sc = scan.components[static_cast<std::size_t>(k)];
          const std::size_t i = static_cast<std::size_t>(k * cols + x);
          std::int32_t prediction = first;
          if (first_line && x > 0) prediction = line[i - 1];
          else if (!first_line && x == 0) prediction = above[i];
          else if (!first_line) prediction = predict(scan.predictor, line[i - 1], above[i], above[i - 1]);
          std::int32_t diff = 0;
          if (!difference(in, tables_[static_cast<std::size_t>(sc.table)], diff))
            return "the scan data are damaged or end at line " + std::to_string(y + 1) + " of " + std::to_string(rows);
          line[i] = (prediction + diff) & 0xffff;
          store(sc.index, x, y, static_cast<std::uint32_t>(line[i] << scan.point_transform) & 0xffffu);
        }
      }
      std::swap(above, line);
    }
    for (const ScanComponent& sc : scan.components) {
      if (decoded_[static_cast<std::size_t>(sc.index)]) return "a component in two scans";
      decoded_[static_cast<std::size_t>(sc.index)] = true;
    }
    scan_end = in.next_marker();
    return "";
  }

  const unsigned char* data_;
  std::size_t size_;
  DecodeTarget target_;
  unsigned char* out_;
  FrameHeader frame_;
  std::array<HuffmanTable, 4> tables_{};
  std::array<bool, kMaxComponents> decoded_{};
  int restart_interval_ = 0;
};

}  // namespace

std::string decode_jpeg_lossless(const unsigned char* data, std::size_t size, const DecodeTarget& target,
                                 unsigned char* out) {
  if (data == nullptr || out == nullptr) return "no data";
  if (target.rows <= 0 || target.cols <= 0 || (target.components != 1 && target.components != 3) ||
      (target.bytes_per_sample != 1 && target.bytes_per_sample != 2))
    return "an unsupported target layout";
  return LosslessDecoder(data, size, target, out).run();
}

}  // namespace echo::io_detail
