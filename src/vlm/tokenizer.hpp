// The VLM's tokenizer: greedy longest match over the manifest's vocabulary (UTF-8 pieces), the same rule as
// models/vlm/vlm_text.py. Torch-free, so the grammar and tokenizer tests need no LibTorch.
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

#include "echo/error.hpp"

namespace echo::vlm {

class Tokenizer {
 public:
  // pieces[i] is token i. Special tokens are written "<name>" and never match text; "<eos>", "<unk>" and
  // "<answer>" must exist. Duplicate or empty pieces are refused.
  static Expected<Tokenizer> create(std::vector<std::string> pieces);

  std::vector<int> encode(const std::string& text) const;
  std::string decode(const std::vector<int>& ids) const;  // special tokens are left out
  int vocabulary_size() const { return static_cast<int>(pieces_.size()); }
  int eos_id() const { return eos_id_; }
  int unk_id() const { return unk_id_; }
  int answer_id() const { return answer_id_; }
  bool is_special(int id) const;

 private:
  std::vector<std::string> pieces_;
  std::vector<bool> special_;
  std::unordered_map<std::string, int> index_;  // non-special pieces only
  std::size_t max_piece_bytes_ = 1;
  int eos_id_ = -1, unk_id_ = -1, answer_id_ = -1;
};

// Bytes of the UTF-8 sequence that starts with this byte (1 for a stray continuation or invalid byte).
std::size_t utf8_sequence_length(unsigned char first_byte);

}  // namespace echo::vlm
