// The answer grammar and the cross-check: well-formed, near-miss and garbage answers in both languages.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "echo/vlm.hpp"

namespace {

using echo::AnswerLanguage;
using echo::parse_vlm_answer;
using Kind = echo::VlmAnswer::Kind;

void expect_ef(const std::string& text, double ef) {
  const auto answer = parse_vlm_answer(text);
  EXPECT_EQ(answer.kind, Kind::ef) << text;
  ASSERT_TRUE(answer.ef_percent.has_value()) << text;
  EXPECT_DOUBLE_EQ(*answer.ef_percent, ef) << text;
  EXPECT_TRUE(answer.rejection_codes.empty()) << text;
  EXPECT_EQ(answer.text, text);
}

void expect_rejection(const std::string& text, const std::vector<std::string>& codes) {
  const auto answer = parse_vlm_answer(text);
  EXPECT_EQ(answer.kind, Kind::rejection) << text;
  EXPECT_FALSE(answer.ef_percent.has_value()) << text;
  EXPECT_EQ(answer.rejection_codes, codes) << text;
}

void expect_unreadable(const std::string& text) {
  const auto answer = parse_vlm_answer(text);
  EXPECT_EQ(answer.kind, Kind::unreadable) << text;
  EXPECT_FALSE(answer.ef_percent.has_value()) << text;
  EXPECT_TRUE(answer.rejection_codes.empty()) << text;
  EXPECT_EQ(answer.text, text);
}

TEST(VlmGrammar, WellFormedEfInBothLanguages) {
  expect_ef("LVEF约为52%", 52.0);
  expect_ef("LVEF approximately 52%", 52.0);
  expect_ef("LVEF约为0%", 0.0);
  expect_ef("LVEF约为100%", 100.0);
  expect_ef("LVEF approximately 7%", 7.0);
  expect_ef("LVEF approximately 35.5%", 35.5);
}

TEST(VlmGrammar, SpacingWidthCaseAndFinalStopAreTolerated) {
  expect_ef("LVEF 约为 52 %", 52.0);
  expect_ef("  LVEF约为52%  ", 52.0);
  expect_ef("LVEF约为５２％", 52.0);          // full-width digits and percent sign
  expect_ef("ＬＶＥＦ约为52%。", 52.0);       // full-width letters, ideographic full stop
  expect_ef("lvef Approximately 61%.", 61.0);
  expect_ef("LVEF\u3000approximately\t61%", 61.0);  // ideographic space, tab
}

TEST(VlmGrammar, NearMissEfIsUnreadableNeverANumber) {
  expect_unreadable("LVEF约为152%");                 // out of range
  expect_unreadable("LVEF approximately 101%");
  expect_unreadable("LVEF约为52");                   // no percent sign
  expect_unreadable("LVEF approximately 52");
  expect_unreadable("LVEF约为052%");                 // leading zero
  expect_unreadable("LVEF约为52.55%");               // two decimals
  expect_unreadable("LVEF约为52.%");
  expect_unreadable("LVEF约为-5%");
  expect_unreadable("LVEF约为50-55%");               // a range is not one number
  expect_unreadable("LVEF约为5 2%");                 // split number
  expect_unreadable("LVEF约52%");                    // "约" without "为"
  expect_unreadable("EF约为52%");                    // not LVEF
  expect_unreadable("LVEF approx. 52%");
  expect_unreadable("LVEF approximately 52%%");
  expect_unreadable("LVEF约为52%52%");               // repeated tail
  expect_unreadable("LVEF约为52%,图像不合格,原因:图像模糊");  // both forms at once
  expect_unreadable("LVEF approximately fifty-two%");
  expect_unreadable("LVEF约为五十二%");
  expect_unreadable("The LVEF approximately 52%");
  expect_unreadable("LVEF approximately 52%..");
}

TEST(VlmGrammar, WellFormedRejectionsInBothLanguages) {
  expect_rejection("图像不合格,原因:图像模糊", {"blurred"});
  expect_rejection("image not acceptable, reason: image blurred", {"blurred"});
  expect_rejection("图像不合格,原因:图像模糊;增益过高", {"blurred", "overgain"});
  expect_rejection("image not acceptable, reason: image blurred; over-gain", {"blurred", "overgain"});
  expect_rejection("图像不合格,原因:彩色多普勒图像", {"color_doppler"});
  expect_rejection("image not acceptable, reasons: LV cut off by the sector edge, foreshortened LV",
                   {"lv_cut_off", "foreshortened"});
  expect_rejection("图像不合格,原因:切面不标准", {"non_apical_view"});
  expect_rejection("image not acceptable, reason: no full heartbeat", {"no_full_beat"});
}

TEST(VlmGrammar, RejectionPunctuationVariants) {
  expect_rejection("图像不合格，原因：图像模糊；增益过高", {"blurred", "overgain"});   // full-width
  expect_rejection("图像不合格, 原因: 图像模糊、增益过高。", {"blurred", "overgain"});  // 、 and 。
  expect_rejection("Image not acceptable, reason: Over-Gain.", {"overgain"});
  expect_rejection("image not acceptable, reason: overgain; over gain", {"overgain"});  // aliases, deduplicated
  expect_rejection("图像不合格,原因:image blurred;增益过低", {"blurred", "undergain"});    // mixed phrases
}

TEST(VlmGrammar, NearMissRejectionsAreUnreadable) {
  expect_unreadable("图像不合格");                              // no reason
  expect_unreadable("图像不合格,原因:");                        // empty list
  expect_unreadable("图像不合格,原因:图像模糊;");               // empty last reason
  expect_unreadable("图像不合格,原因:图像有点模糊");            // unknown phrase
  expect_unreadable("image not acceptable, reason: too dark"); // unknown phrase
  expect_unreadable("image not acceptable reason: image blurred");  // missing comma
  expect_unreadable("image not acceptable, image blurred");          // missing "reason:"
  expect_unreadable("image acceptable, reason: image blurred");
  expect_unreadable("图像合格,原因:图像模糊");
  expect_unreadable("图像不合格,原因:图像模糊 LVEF约为52%");
}

TEST(VlmGrammar, GarbageIsUnreadable) {
  for (const std::string& text : {std::string(""), std::string("   "), std::string("52%"), std::string("LVEF"),
                                 std::string("%%%%%%%%"), std::string("约为约为约为约为"),
                                 std::string("\xff\xfe\x80 LVEF约为52%"), std::string("LVEF约为52%\xff"),
                                 std::string("LVEF约为\xe4\xb8"), std::string(1000, 'L'),
                                 std::string("LVEF\0约为52%", 14)}) {
    expect_unreadable(text);
  }
}

TEST(VlmGrammar, EveryCodeHasPhrasesInBothLanguagesThatParseBack) {
  ASSERT_EQ(echo::known_rejection_codes().size(), 10u);
  for (const auto& code : echo::known_rejection_codes()) {
    for (const auto language : {AnswerLanguage::zh, AnswerLanguage::en}) {
      const std::string phrase = echo::rejection_phrase_of_code(code, language);
      ASSERT_FALSE(phrase.empty()) << code;
      EXPECT_EQ(echo::rejection_code_of_phrase(phrase), code) << phrase;
    }
  }
  EXPECT_FALSE(echo::rejection_code_of_phrase("image too pretty").has_value());
  EXPECT_TRUE(echo::rejection_phrase_of_code("no_such_code", AnswerLanguage::en).empty());
}

TEST(VlmCrossCheck, ComparesOnlyEfAnswersWithAMeasurement) {
  const auto ef = parse_vlm_answer("LVEF约为52%");
  auto check = echo::cross_check(ef, 50.0);
  EXPECT_TRUE(check.compared);
  EXPECT_DOUBLE_EQ(check.difference_points, 2.0);
  EXPECT_FALSE(check.disagrees);

  check = echo::cross_check(ef, 40.0);
  EXPECT_TRUE(check.compared);
  EXPECT_DOUBLE_EQ(check.difference_points, 12.0);
  EXPECT_TRUE(check.disagrees);

  check = echo::cross_check(ef, 62.0);  // exactly at the tolerance: agrees
  EXPECT_FALSE(check.disagrees);
  check = echo::cross_check(ef, 62.5);
  EXPECT_TRUE(check.disagrees);
  check = echo::cross_check(ef, 55.0, 2.0);  // tolerance is an option
  EXPECT_TRUE(check.disagrees);

  EXPECT_FALSE(echo::cross_check(ef, std::nullopt).compared);
  EXPECT_FALSE(echo::cross_check(ef, std::nan("")).compared);
  EXPECT_FALSE(echo::cross_check(parse_vlm_answer("图像不合格,原因:图像模糊"), 50.0).compared);
  const auto unreadable = echo::cross_check(parse_vlm_answer("LVEF约为152%"), 50.0);
  EXPECT_FALSE(unreadable.compared);
  EXPECT_FALSE(unreadable.disagrees);
  EXPECT_TRUE(echo::cross_check(ef, 52.0, -1.0).disagrees);  // an unusable tolerance vouches for nothing
}

TEST(VlmKeyframes, EvenlySpacedFromEdToEs) {
  EXPECT_EQ(echo::vlm_keyframe_indices(10, 22, 4), (std::vector<int>{10, 14, 18, 22}));
  EXPECT_EQ(echo::vlm_keyframe_indices(3, 8, 4), (std::vector<int>{3, 5, 6, 8}));
  EXPECT_EQ(echo::vlm_keyframe_indices(5, 5, 3), (std::vector<int>{5, 5, 5}));
  EXPECT_EQ(echo::vlm_keyframe_indices(0, 9, 1), (std::vector<int>{0}));
  EXPECT_TRUE(echo::vlm_keyframe_indices(0, 9, 0).empty());
}

TEST(VlmKeyframes, BackwardsWhenEsComesFirst) {  // the analyzer's keyframes without a complete beat
  EXPECT_EQ(echo::vlm_keyframe_indices(8, 2, 4), (std::vector<int>{8, 6, 4, 2}));
}

// The timing input: {known, index / (N - 1) per keyframe, |last - first| / (N - 1)}.
TEST(VlmTiming, PositionsInTheLoopAndSpan) {
  echo::VlmKeyframeTiming first_beat{{2, 4, 6, 8}, 51};  // a first beat early in a long loop
  const auto features = echo::vlm_timing_features(first_beat, 4);
  ASSERT_TRUE(features.has_value()) << features.error().message;
  EXPECT_EQ(*features, (std::vector<float>{1.0f, 0.04f, 0.08f, 0.12f, 0.16f, 0.12f}));
  // a loop shorter than one beat: ED in the middle, ES on the last frame, ED -> ES most of the loop
  const auto partial = echo::vlm_timing_features({{4, 6, 8, 10}, 11}, 4);
  ASSERT_TRUE(partial.has_value());
  EXPECT_EQ(*partial, (std::vector<float>{1.0f, 0.4f, 0.6f, 0.8f, 1.0f, 0.6f}));
  const auto backwards = echo::vlm_timing_features({{8, 6, 4, 2}, 11}, 4);  // ES before ED
  ASSERT_TRUE(backwards.has_value());
  EXPECT_EQ(*backwards, (std::vector<float>{1.0f, 0.8f, 0.6f, 0.4f, 0.2f, 0.6f}));
  const auto single = echo::vlm_timing_features({{0, 0}, 1}, 2);  // N = 1 divides by 1
  ASSERT_TRUE(single.has_value());
  EXPECT_EQ(*single, (std::vector<float>{1.0f, 0.0f, 0.0f, 0.0f}));
}

TEST(VlmTiming, BadTimingIsAnError) {
  EXPECT_EQ(echo::vlm_timing_features({{1, 2, 3}, 10}, 4).error().code, echo::ErrorCode::invalid_argument);
  EXPECT_EQ(echo::vlm_timing_features({{1, 2, 3, 10}, 10}, 4).error().code, echo::ErrorCode::invalid_argument);
  EXPECT_EQ(echo::vlm_timing_features({{-1, 2, 3, 4}, 10}, 4).error().code, echo::ErrorCode::invalid_argument);
  EXPECT_EQ(echo::vlm_timing_features({{0, 0, 0, 0}, 0}, 4).error().code, echo::ErrorCode::invalid_argument);
  EXPECT_EQ(echo::vlm_timing_features({{}, 10}, 0).error().code, echo::ErrorCode::invalid_argument);
}

}  // namespace
