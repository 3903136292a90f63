// The answer grammar of the VLM and the cross-check against the measured EF (torch-free).
//
// Accepted (after normalisation: full-width ASCII -> half-width, ideographic space -> space, 。 -> .,
// 、 -> ",", ASCII letters compared case-insensitively, spaces optional between grammar elements):
//   EF         "LVEF" "约为" NUMBER "%"                 "LVEF" "approximately" NUMBER "%"
//   rejection  "图像不合格" "," "原因" ":" REASONS        "image not acceptable" "," "reason"["s"] ":" REASONS
//   REASONS    a non-empty list of known phrases (either language) separated by ";" or ","
//   NUMBER     0..100, an integer without leading zeros or with one decimal ("52", "52.5")
// with at most one final "." after the answer. Anything else -> unreadable (never a number).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "echo/vlm.hpp"

namespace echo {
namespace {

struct ReasonEntry {
  const char* code;
  const char* zh;
  const char* en;
  std::vector<const char*> aliases;  // also accepted (already in normalised form: lower case, half-width)
};

// The canonical phrases must equal models/vlm/vlm_text.py REJECTION_PHRASES (the model is trained on them;
// tests/vlm checks the manifest's copy against this table).
const std::vector<ReasonEntry>& reason_table() {
  static const std::vector<ReasonEntry> table = {
      {"blurred", "图像模糊", "image blurred", {"blurred image", "blurred", "blur", "模糊"}},
      {"overgain", "增益过高", "over-gain", {"overgain", "over gain", "gain too high"}},
      {"undergain", "增益过低", "under-gain", {"undergain", "under gain", "gain too low", "增益不足"}},
      {"low_contrast", "对比度低", "low contrast", {"对比度不足", "对比度过低"}},
      {"probe_motion", "探头移动", "probe motion", {"探头运动", "probe movement"}},
      {"no_full_beat", "未包含完整心动周期", "no full heartbeat",
       {"no full beat", "less than one heartbeat", "不足一个心动周期"}},
      {"color_doppler", "彩色多普勒图像", "colour doppler", {"color doppler", "彩色多普勒"}},
      {"lv_cut_off", "左心室超出扇区", "lv cut off by the sector edge",
       {"lv cut off", "lv outside the sector", "左心室部分在扇区外"}},
      {"foreshortened", "左心室缩短", "foreshortened lv", {"foreshortened", "左室缩短", "心尖缩短"}},
      {"non_apical_view", "切面不标准", "non-standard view",
       {"non standard view", "not a standard apical 4-chamber view", "非标准心尖四腔心切面"}},
  };
  return table;
}

// Decodes one UTF-8 code point at text[pos]; returns its length (1 for an invalid byte, kept as is).
std::size_t utf8_code_point(const std::string& text, std::size_t pos, std::uint32_t& cp) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char b0 = byte(pos);
  std::size_t length = 1;
  if (b0 >= 0xF0 && b0 < 0xF8) {
    length = 4;
    cp = b0 & 0x07u;
  } else if (b0 >= 0xE0) {
    length = b0 < 0xF0 ? 3 : 1;
    cp = b0 & 0x0Fu;
  } else if (b0 >= 0xC0) {
    length = 2;
    cp = b0 & 0x1Fu;
  }
  if (length == 1 || pos + length > text.size()) {
    cp = b0;
    return 1;
  }
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(pos + i) & 0xC0u) != 0x80u) {
      cp = b0;
      return 1;
    }
    cp = (cp << 6) | (byte(pos + i) & 0x3Fu);
  }
  return length;
}

// Full-width ASCII -> ASCII, ideographic space and other white space -> one space, 。 -> ".", 、 -> ",",
// ASCII upper case -> lower case, runs of spaces -> one, trimmed.
std::string normalise(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) {
    std::uint32_t cp = 0;
    const std::size_t length = utf8_code_point(text, pos, cp);
    char ascii = 0;
    if (length == 1 && cp < 0x80) {
      ascii = static_cast<char>(cp);
    } else if (cp >= 0xFF01 && cp <= 0xFF5E) {
      ascii = static_cast<char>(cp - 0xFF01 + 0x21);
    } else if (cp == 0x3000 || cp == 0x00A0) {
      ascii = ' ';
    } else if (cp == 0x3002) {
      ascii = '.';
    } else if (cp == 0x3001) {
      ascii = ',';
    }
    if (ascii != 0) {
      if (ascii == '\t' || ascii == '\n' || ascii == '\r') ascii = ' ';
      if (ascii >= 'A' && ascii <= 'Z') ascii = static_cast<char>(ascii - 'A' + 'a');
      if (ascii == ' ' && (out.empty() || out.back() == ' ')) {
        pos += length;
        continue;
      }
      out.push_back(ascii);
    } else {
      out.append(text, pos, length);
    }
    pos += length;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// A cursor over the normalised text; spaces between grammar elements are optional.
class Cursor {
 public:
  explicit Cursor(const std::string& text) : text_(text) {}
  void skip_spaces() {
    while (pos_ < text_.size() && text_[pos_] == ' ') ++pos_;
  }
  bool literal(const std::string& word) {  // a word or phrase, after optional spaces
    skip_spaces();
    if (text_.compare(pos_, word.size(), word) != 0) return false;
    pos_ += word.size();
    return true;
  }
  bool at_end() {
    skip_spaces();
    if (pos_ < text_.size() && text_[pos_] == '.') ++pos_;  // one final full stop
    skip_spaces();
    return pos_ == text_.size();
  }
  std::string rest() const { return text_.substr(pos_); }
  std::size_t position() const { return pos_; }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void advance() { ++pos_; }

 private:
  const std::string& text_;
  std::size_t pos_ = 0;
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// NUMBER: 0..100, no leading zero (except "0"), at most one decimal.
std::optional<double> parse_number(Cursor& cursor) {
  cursor.skip_spaces();
  std::string integer;
  while (is_digit(cursor.peek())) {
    integer.push_back(cursor.peek());
    cursor.advance();
  }
  if (integer.empty() || integer.size() > 3 || (integer.size() > 1 && integer[0] == '0')) return std::nullopt;
  double value = std::stod(integer);
  if (cursor.peek() == '.') {
    cursor.advance();
    if (!is_digit(cursor.peek())) return std::nullopt;
    value += (cursor.peek() - '0') / 10.0;
    cursor.advance();
    if (is_digit(cursor.peek())) return std::nullopt;
  }
  if (value < 0.0 || value > 100.0) return std::nullopt;
  return value;
}

std::optional<double> parse_ef(const std::string& normalised) {
  Cursor cursor(normalised);
  if (!cursor.literal("lvef")) return std::nullopt;
  if (!cursor.literal("约为")) {
    if (!cursor.literal("approximately")) return std::nullopt;
  }
  const auto value = parse_number(cursor);
  if (!value || !cursor.literal("%") || !cursor.at_end()) return std::nullopt;
  return value;
}

std::string trim_spaces(const std::string& s) {
  const auto first = s.find_first_not_of(' ');
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(' ') - first + 1);
}

std::optional<std::string> code_of_normalised_phrase(const std::string& phrase) {
  for (const auto& entry : reason_table()) {
    if (phrase == normalise(entry.zh) || phrase == normalise(entry.en)) return std::string(entry.code);
    for (const char* alias : entry.aliases) {
      if (phrase == alias) return std::string(entry.code);
    }
  }
  return std::nullopt;
}

std::optional<std::vector<std::string>> parse_rejection(const std::string& normalised) {
  Cursor cursor(normalised);
  if (cursor.literal("图像不合格")) {
    if (!cursor.literal(",") || !cursor.literal("原因") || !cursor.literal(":")) return std::nullopt;
  } else if (cursor.literal("image not acceptable")) {
    if (!cursor.literal(",") || !(cursor.literal("reasons") || cursor.literal("reason")) ||
        !cursor.literal(":")) {
      return std::nullopt;
    }
  } else {
    return std::nullopt;
  }
  std::string list = cursor.rest();
  if (!list.empty() && list.back() == '.') list.pop_back();
  std::vector<std::string> codes;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t end = std::min(list.find(';', start), list.find(',', start));
    const std::string phrase = trim_spaces(list.substr(start, end == std::string::npos ? end : end - start));
    const auto code = code_of_normalised_phrase(phrase);
    if (!code) return std::nullopt;  // an empty or unknown reason makes the whole answer unreadable
    if (std::find(codes.begin(), codes.end(), *code) == codes.end()) codes.push_back(*code);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (codes.empty()) return std::nullopt;
  return codes;
}

}  // namespace

VlmAnswer parse_vlm_answer(const std::string& text) {
  VlmAnswer answer;
  answer.text = text;
  answer.kind = VlmAnswer::Kind::unreadable;
  const std::string normalised = normalise(text);
  if (const auto ef = parse_ef(normalised)) {
    answer.kind = VlmAnswer::Kind::ef;
    answer.ef_percent = *ef;
  } else if (auto codes = parse_rejection(normalised)) {
    answer.kind = VlmAnswer::Kind::rejection;
    answer.rejection_codes = std::move(*codes);
  }
  return answer;
}

std::optional<std::string> rejection_code_of_phrase(const std::string& phrase) {
  return code_of_normalised_phrase(trim_spaces(normalise(phrase)));
}

std::string rejection_phrase_of_code(const std::string& code, AnswerLanguage language) {
  for (const auto& entry : reason_table()) {
    if (code == entry.code) return language == AnswerLanguage::zh ? entry.zh : entry.en;
  }
  return {};
}

const std::vector<std::string>& known_rejection_codes() {
  static const std::vector<std::string> codes = [] {
    std::vector<std::string> out;
    for (const auto& entry : reason_table()) out.emplace_back(entry.code);
    return out;
  }();
  return codes;
}

VlmCrossCheck cross_check(const VlmAnswer& answer, std::optional<double> measured_ef_percent,
                          double tolerance_points) {
  VlmCrossCheck check;
  if (answer.kind != VlmAnswer::Kind::ef || !answer.ef_percent || !measured_ef_percent ||
      !std::isfinite(*measured_ef_percent)) {
    return check;
  }
  check.compared = true;
  check.difference_points = *answer.ef_percent - *measured_ef_percent;
  // A NaN or negative tolerance cannot vouch for anything: every comparison then disagrees.
  const bool usable_tolerance = std::isfinite(tolerance_points) && tolerance_points >= 0.0;
  check.disagrees = !usable_tolerance || std::fabs(check.difference_points) > tolerance_points;
  return check;
}

std::vector<int> vlm_keyframe_indices(int ed_frame, int es_frame, int keyframe_count) {
  std::vector<int> indices;
  if (keyframe_count <= 0) return indices;
  if (keyframe_count == 1) return {ed_frame};
  for (int i = 0; i < keyframe_count; ++i) {
    const double t = static_cast<double>(i) / (keyframe_count - 1);
    indices.push_back(static_cast<int>(std::lround(ed_frame + t * (es_frame - ed_frame))));
  }
  return indices;
}

Expected<std::vector<float>> vlm_timing_features(const VlmKeyframeTiming& timing, int keyframe_count) {
  if (static_cast<int>(timing.frame_indices.size()) != keyframe_count || keyframe_count < 1) {
    return make_error(ErrorCode::invalid_argument, "VLM timing: " + std::to_string(timing.frame_indices.size()) +
                                                       " keyframe indices given, the model reads " +
                                                       std::to_string(keyframe_count) + " keyframes");
  }
  if (timing.loop_frame_count < 1) {
    return make_error(ErrorCode::invalid_argument, "VLM timing: the loop has " +
                                                       std::to_string(timing.loop_frame_count) + " frames");
  }
  for (const int index : timing.frame_indices) {
    if (index < 0 || index >= timing.loop_frame_count) {
      return make_error(ErrorCode::invalid_argument, "VLM timing: keyframe index " + std::to_string(index) +
                                                         " is outside the loop's " +
                                                         std::to_string(timing.loop_frame_count) + " frames");
    }
  }
  // Computed in double and rounded once to float, as models/vlm/vlm_data.py timing_features does.
  const double denominator = std::max(timing.loop_frame_count - 1, 1);
  std::vector<float> features{1.0f};
  for (const int index : timing.frame_indices) features.push_back(static_cast<float>(index / denominator));
  const int span = std::abs(timing.frame_indices.back() - timing.frame_indices.front());
  features.push_back(static_cast<float>(span / denominator));
  return features;
}

}  // namespace echo
