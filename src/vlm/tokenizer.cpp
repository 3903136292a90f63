#include "vlm/tokenizer.hpp"

#include <algorithm>

namespace echo::vlm {

namespace {
bool looks_special(const std::string& piece) {
  return piece.size() > 2 && piece.front() == '<' && piece.back() == '>';
}
}  // namespace

std::size_t utf8_sequence_length(unsigned char first_byte) {
  if (first_byte < 0x80) return 1;
  if ((first_byte >> 5) == 0x6) return 2;
  if ((first_byte >> 4) == 0xE) return 3;
  if ((first_byte >> 3) == 0x1E) return 4;
  return 1;
}

Expected<Tokenizer> Tokenizer::create(std::vector<std::string> pieces) {
  Tokenizer tokenizer;
  tokenizer.special_.assign(pieces.size(), false);
  std::unordered_map<std::string, int> all;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const std::string& piece = pieces[i];
    const int id = static_cast<int>(i);
    if (piece.empty()) return make_error(ErrorCode::model_invalid, "VLM vocabulary: token " + std::to_string(i) + " is empty");
    if (!all.emplace(piece, id).second) {
      return make_error(ErrorCode::model_invalid, "VLM vocabulary: token '" + piece + "' appears twice");
    }
    if (looks_special(piece)) {
      tokenizer.special_[i] = true;
      if (piece == "<eos>") tokenizer.eos_id_ = id;
      if (piece == "<unk>") tokenizer.unk_id_ = id;
      if (piece == "<answer>") tokenizer.answer_id_ = id;
    } else {
      tokenizer.index_.emplace(piece, id);
      tokenizer.max_piece_bytes_ = std::max(tokenizer.max_piece_bytes_, piece.size());
    }
  }
  if (tokenizer.eos_id_ < 0 || tokenizer.unk_id_ < 0 || tokenizer.answer_id_ < 0) {
    return make_error(ErrorCode::model_invalid, "VLM vocabulary lacks one of <eos>, <unk>, <answer>");
  }
  tokenizer.pieces_ = std::move(pieces);
  return tokenizer;
}

std::vector<int> Tokenizer::encode(const std::string& text) const {
  std::vector<int> ids;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t longest = std::min(max_piece_bytes_, text.size() - pos);
    bool matched = false;
    for (std::size_t length = longest; length > 0; --length) {
      const auto it = index_.find(text.substr(pos, length));
      if (it != index_.end()) {
        ids.push_back(it->second);
        pos += length;
        matched = true;
        break;
      }
    }
    if (!matched) {
      ids.push_back(unk_id_);
      pos += std::min(utf8_sequence_length(static_cast<unsigned char>(text[pos])), text.size() - pos);
    }
  }
  return ids;
}

std::string Tokenizer::decode(const std::vector<int>& ids) const {
  std::string text;
  for (const int id : ids) {
    if (id >= 0 && id < vocabulary_size() && !special_[static_cast<std::size_t>(id)]) text += pieces_[static_cast<std::size_t>(id)];
  }
  return text;
}

bool Tokenizer::is_special(int id) const {
  return id < 0 || id >= vocabulary_size() || special_[static_cast<std::size_t>(id)];
}

}  // namespace echo::vlm
