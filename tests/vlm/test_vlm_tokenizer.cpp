// The tokenizer (longest match over the manifest's vocabulary) and the manifest's agreement with the grammar.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "echo/vlm.hpp"
#include "test_support.hpp"
#include "vlm/tokenizer.hpp"

namespace {

using echo::vlm::Tokenizer;

Tokenizer small_tokenizer() {
  auto tokenizer = Tokenizer::create({"<pad>", "<eos>", "<unk>", "<answer>", "LVEF约为", "LVEF", "5", "2", "52", "%",
                                      "约", "为", "L", "V", "E", "F"});
  EXPECT_TRUE(tokenizer.has_value());
  return *tokenizer;
}

TEST(VlmTokenizer, LongestMatchFirst) {
  const Tokenizer tokenizer = small_tokenizer();
  EXPECT_EQ(tokenizer.encode("LVEF约为52%"), (std::vector<int>{4, 8, 9}));
  EXPECT_EQ(tokenizer.encode("LVEF 5"), (std::vector<int>{5, 2, 6}));  // space is unknown
  EXPECT_EQ(tokenizer.encode("约约为"), (std::vector<int>{10, 10, 11}));
  EXPECT_EQ(tokenizer.decode({4, 8, 9, 1}), "LVEF约为52%");  // specials left out
}

TEST(VlmTokenizer, UnknownCodePointsBecomeOneUnkEach) {
  const Tokenizer tokenizer = small_tokenizer();
  EXPECT_EQ(tokenizer.encode("心5"), (std::vector<int>{2, 6}));       // 3-byte code point -> one <unk>
  EXPECT_EQ(tokenizer.encode("\xff" "5"), (std::vector<int>{2, 6}));  // invalid byte -> one <unk>
  EXPECT_EQ(tokenizer.encode("\xe5\xbf"), (std::vector<int>{2}));     // truncated sequence
  EXPECT_TRUE(tokenizer.encode("").empty());
  EXPECT_EQ(tokenizer.decode({-1, 999, 6}), "5");  // ids outside the vocabulary are ignored
}

TEST(VlmTokenizer, SpecialsNeverMatchText) {
  const Tokenizer tokenizer = small_tokenizer();
  EXPECT_EQ(tokenizer.encode("<eos>"), (std::vector<int>(5, 2)));
}

TEST(VlmTokenizer, RefusesBrokenVocabularies) {
  EXPECT_FALSE(Tokenizer::create({"<eos>", "<unk>", "a"}).has_value());                    // no <answer>
  EXPECT_FALSE(Tokenizer::create({"<eos>", "<unk>", "<answer>", "a", "a"}).has_value());   // duplicate
  EXPECT_FALSE(Tokenizer::create({"<eos>", "<unk>", "<answer>", ""}).has_value());         // empty piece
}

nlohmann::json reference_manifest() {
  std::ifstream in(std::string(ECHO_MODELS_DIR) + "/vlm/vlm.json");
  EXPECT_TRUE(in.good()) << "models/vlm/vlm.json is missing";
  return nlohmann::json::parse(in);
}

// The model was trained on the manifest's phrases: each must parse back to its code with this grammar.
TEST(VlmManifest, TrainingPhrasesParseWithTheGrammar) {
  const auto manifest = reference_manifest();
  const auto& phrases = manifest.at("rejection_phrases");
  ASSERT_EQ(phrases.size(), echo::known_rejection_codes().size());
  for (const auto& [code, both] : phrases.items()) {
    for (const char* language : {"zh", "en"}) {
      const std::string phrase = both.at(language).get<std::string>();
      EXPECT_EQ(echo::rejection_code_of_phrase(phrase), code) << phrase;
      const std::string prefix = manifest.at("answer_prefixes").at("reject").at(language).get<std::string>();
      const auto answer = echo::parse_vlm_answer(prefix + phrase);
      EXPECT_EQ(answer.kind, echo::VlmAnswer::Kind::rejection) << prefix + phrase;
    }
    const auto lang = echo::AnswerLanguage::zh;
    EXPECT_EQ(echo::rejection_phrase_of_code(code, lang), both.at("zh").get<std::string>());
  }
  for (const char* language : {"zh", "en"}) {
    const std::string prefix = manifest.at("answer_prefixes").at("ef").at(language).get<std::string>();
    const auto answer = echo::parse_vlm_answer(prefix + "47%");
    EXPECT_EQ(answer.kind, echo::VlmAnswer::Kind::ef);
    EXPECT_EQ(answer.ef_percent, 47.0);
  }
}

// The C++ tokenizer gives the prompt ids the Python recipe trained with.
TEST(VlmManifest, PromptTokensMatchTheTrainingTokenizer) {
  const auto manifest = reference_manifest();
  auto tokenizer = Tokenizer::create(manifest.at("vocabulary").get<std::vector<std::string>>());
  ASSERT_TRUE(tokenizer.has_value()) << tokenizer.error().message;
  for (const char* language : {"zh", "en"}) {
    const auto expected = manifest.at("prompt_token_ids").at(language).get<std::vector<int>>();
    EXPECT_EQ(tokenizer->encode(manifest.at("prompts").at(language).get<std::string>()), expected) << language;
  }
  for (const auto& [text, ids] : manifest.at("tokenizer_examples").items()) {
    EXPECT_EQ(tokenizer->encode(text), ids.get<std::vector<int>>()) << text;
    EXPECT_EQ(tokenizer->decode(ids.get<std::vector<int>>()), text);
  }
}

}  // namespace
