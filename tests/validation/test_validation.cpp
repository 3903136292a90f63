// echo_validation without a model: statistics on hand-computed arrays, the reference table, the folder
// matching, and a whole run_validation with a stand-in analysis (missing, unreadable, duplicate and
// non-numeric rows; outputs; the input folder left untouched).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "echo/report.hpp"
#include "echo/validation.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace {

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every file under a folder with its size and content hash-free fingerprint (size + modification time).
std::map<std::string, std::string> listing(const fs::path& folder) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(folder)) {
    files[entry.path().string()] = entry.is_regular_file()
                                       ? std::to_string(entry.file_size()) + "@" +
                                             std::to_string(entry.last_write_time().time_since_epoch().count())
                                       : "dir";
  }
  return files;
}

}  // namespace

// --- statistics ---------------------------------------------------------------------------------------------

TEST(ValidationStats, AgreementOfFourPairs) {
  // differences {-2, 2, -2, 6}: bias 1, |d| mean 3, RMSE sqrt(48/4), SD sqrt(44/3)
  const auto a = echo::agreement({50, 62, 48, 71}, {52, 60, 50, 65});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->n, 4);
  EXPECT_DOUBLE_EQ(a->bias, 1.0);
  EXPECT_DOUBLE_EQ(a->mae, 3.0);
  EXPECT_NEAR(a->rmse, std::sqrt(12.0), 1e-12);
  ASSERT_TRUE(a->sd && a->loa_low && a->loa_high && a->pearson_r);
  EXPECT_NEAR(*a->sd, std::sqrt(44.0 / 3.0), 1e-12);
  EXPECT_NEAR(*a->loa_low, 1.0 - 1.96 * std::sqrt(44.0 / 3.0), 1e-12);
  EXPECT_NEAR(*a->loa_high, 1.0 + 1.96 * std::sqrt(44.0 / 3.0), 1e-12);
  // Sxy = 225.75, Sxx = 348.75, Syy = 146.75 (about the means 57.75 and 56.75)
  EXPECT_NEAR(*a->pearson_r, 225.75 / std::sqrt(348.75 * 146.75), 1e-12);
}

TEST(ValidationStats, AgreementEdgeCases) {
  EXPECT_FALSE(echo::agreement({}, {}));
  const auto one = echo::agreement({55}, {60});
  ASSERT_TRUE(one);
  EXPECT_DOUBLE_EQ(one->bias, -5.0);
  EXPECT_DOUBLE_EQ(one->mae, 5.0);
  EXPECT_FALSE(one->sd);
  EXPECT_FALSE(one->loa_low);
  EXPECT_FALSE(one->pearson_r);
  // A constant reference has no correlation; a constant offset has SD 0 and limits equal to the bias.
  const auto flat = echo::agreement({50, 60, 70}, {60, 60, 60});
  ASSERT_TRUE(flat);
  EXPECT_FALSE(flat->pearson_r);
  const auto shifted = echo::agreement({52, 62, 72}, {50, 60, 70});
  ASSERT_TRUE(shifted && shifted->sd && shifted->pearson_r);
  EXPECT_NEAR(*shifted->sd, 0.0, 1e-12);
  EXPECT_NEAR(*shifted->loa_high, 2.0, 1e-12);
  EXPECT_NEAR(*shifted->pearson_r, 1.0, 1e-12);
  // Far from zero (EF about 60): the two-pass SD keeps tiny spreads exact.
  const auto tight = echo::agreement({1e6 + 1, 1e6 + 3}, {1e6, 1e6});
  ASSERT_TRUE(tight && tight->sd);
  EXPECT_NEAR(*tight->sd, std::sqrt(2.0), 1e-9);
}

TEST(ValidationStats, SensitivityAndSpecificityBelowThresholds) {
  const std::vector<double> ours = {35, 45, 38, 55, 60, 40};
  const std::vector<double> ref = {30, 38, 45, 52, 48, 40};  // 40 itself is not below 40
  const auto t40 = echo::threshold_agreement(ours, ref, 40.0);
  EXPECT_EQ(t40.true_positive, 1);
  EXPECT_EQ(t40.false_negative, 1);
  EXPECT_EQ(t40.false_positive, 1);
  EXPECT_EQ(t40.true_negative, 3);
  EXPECT_DOUBLE_EQ(*t40.sensitivity, 0.5);
  EXPECT_DOUBLE_EQ(*t40.specificity, 0.75);
  const auto t50 = echo::threshold_agreement(ours, ref, 50.0);
  EXPECT_EQ(t50.true_positive, 4);  // 35/30, 45/38, 38/45, 40/40
  EXPECT_EQ(t50.false_negative, 1);  // 60/48
  EXPECT_EQ(t50.true_negative, 1);
  EXPECT_EQ(t50.false_positive, 0);
  EXPECT_DOUBLE_EQ(*t50.sensitivity, 0.8);
  EXPECT_DOUBLE_EQ(*t50.specificity, 1.0);
  const auto none = echo::threshold_agreement({60, 62}, {55, 65}, 40.0);
  EXPECT_FALSE(none.sensitivity);
  EXPECT_DOUBLE_EQ(*none.specificity, 1.0);
}

TEST(ValidationStats, KeyframeOffsets) {
  EXPECT_EQ(echo::nearest_offset({10, 40, 70}, 43), -3);
  EXPECT_EQ(echo::nearest_offset({10, 40, 70}, 68), 2);
  EXPECT_EQ(echo::nearest_offset({10, 20}, 15), -5);  // a tie goes to the earlier frame
  EXPECT_FALSE(echo::nearest_offset({}, 15));
  const auto s = echo::offset_stats({2, -1, std::nullopt, 5, 0});
  EXPECT_EQ(s.clips, 5);
  EXPECT_EQ(s.measured, 4);
  EXPECT_DOUBLE_EQ(*s.median_abs_frames, 1.5);  // {0, 1, 2, 5}
  EXPECT_DOUBLE_EQ(*s.share_within_3, 3.0 / 5.0);  // the clip without ours counts as a miss
  EXPECT_DOUBLE_EQ(*s.share_within_1, 2.0 / 5.0);
  const auto odd = echo::offset_stats({-4, 1, 3});
  EXPECT_DOUBLE_EQ(*odd.median_abs_frames, 3.0);
  EXPECT_FALSE(echo::offset_stats({}).share_within_3);
}

// --- the reference table ----------------------------------------------------------------------------------

TEST(ValidationTable, EchoNetFileListAsItIs) {
  const auto table = echo::parse_reference_table(
      "FileName,EF,ESV,EDV,FrameHeight,FrameWidth,FPS,NumberOfFrames,Split\n"
      "0X100009310A3BD7FC,78.498406,14.881368,69.210534,112,112,50,174,VAL\n"
      "0X1002E8FBACD08477,59.101988,40.383876,98.742884,112,112,50,215,TRAIN\n",
      "FileList.csv");
  ASSERT_TRUE(table) << table.error().message;
  ASSERT_EQ(table->rows.size(), 2u);
  EXPECT_EQ(table->rows[0].file_name, "0X100009310A3BD7FC");
  EXPECT_DOUBLE_EQ(*table->rows[0].ef_percent, 78.498406);
  EXPECT_DOUBLE_EQ(*table->rows[0].esv_ml, 14.881368);
  EXPECT_DOUBLE_EQ(*table->rows[1].edv_ml, 98.742884);
  EXPECT_EQ(table->rows[1].line, 3);
  EXPECT_FALSE(table->rows[0].ed_frame);
  EXPECT_TRUE(table->rows[0].problems.empty());
  EXPECT_EQ(table->ed_frame_column, "");
}

TEST(ValidationTable, FrameColumnsSeparatorsQuotesAndBadValues) {
  const auto table = echo::parse_reference_table(
      "\xEF\xBB\xBF" "file name;LVEF;EDV-Frame;ESV-Frame\r\n"
      "\"a;b.avi\";55,5;10;30\r\n"  // decimal comma: not a number here
      "c.avi;n/a;12.0;31\r\n"
      "d.avi;;12.5;-1\r\n"
      "\r\n"
      "e.avi;150;7;9\r\n"
      "f.avi;+42.5;\"8\";19\r\n",
      "t.csv");
  ASSERT_TRUE(table) << table.error().message;
  EXPECT_EQ(table->file_column, "file name");
  EXPECT_EQ(table->ef_column, "LVEF");
  EXPECT_EQ(table->ed_frame_column, "EDV-Frame");
  ASSERT_EQ(table->rows.size(), 5u);
  const auto& r = table->rows;
  EXPECT_EQ(r[0].file_name, "a;b.avi");
  EXPECT_TRUE(r[0].ef_invalid);
  EXPECT_EQ(*r[0].ed_frame, 10);
  EXPECT_TRUE(r[1].ef_invalid);
  ASSERT_EQ(r[1].problems.size(), 1u);
  EXPECT_NE(r[1].problems[0].find("'n/a'"), std::string::npos) << r[1].problems[0];
  EXPECT_EQ(*r[1].ed_frame, 12);
  EXPECT_TRUE(r[2].ef_invalid);
  EXPECT_FALSE(r[2].ed_frame);
  EXPECT_FALSE(r[2].es_frame);
  EXPECT_EQ(r[2].problems.size(), 3u);  // empty EF, 12.5 not whole, -1 out of range
  EXPECT_EQ(r[3].line, 6);               // the blank line counts
  EXPECT_TRUE(r[3].ef_invalid);          // 150 is outside 0..100
  EXPECT_DOUBLE_EQ(*r[4].ef_percent, 42.5);
  EXPECT_EQ(*r[4].ed_frame, 8);
  EXPECT_FALSE(r[4].ef_invalid);
}

TEST(ValidationTable, MalformedTablesAreErrors) {
  const auto no_ef = echo::parse_reference_table("FileName,ESV,EDV\na,1,2\n", "x.csv");
  ASSERT_FALSE(no_ef);
  EXPECT_EQ(no_ef.error().code, echo::ErrorCode::malformed);
  EXPECT_NE(no_ef.error().message.find("x.csv"), std::string::npos);
  EXPECT_NE(no_ef.error().message.find("FileName, ESV, EDV"), std::string::npos);
  EXPECT_FALSE(echo::parse_reference_table("", "empty.csv"));
  EXPECT_FALSE(echo::parse_reference_table("EF\n50\n", "nofile.csv"));
  const auto missing = echo::read_reference_table("/nonexistent/table.csv");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, echo::ErrorCode::not_found);
}

TEST(ValidationTable, FolderMatchingByNameAndStem) {
  const fs::path dir = echo_test::scratch_dir() / "loops";
  fs::remove_all(dir);
  for (const char* name : {"a.avi", "b.dcm", "sub/c.avi", ".hidden.avi", "a.truth.json", "dup.avi", "dup.dcm",
                           "1.2.840.5"}) {
    write(dir / name, "x");
  }
  const auto folder = echo::ClipFolder::scan(dir.string());
  ASSERT_TRUE(folder) << folder.error().message;
  EXPECT_EQ(folder->size(), 6u);  // hidden and side files left out
  EXPECT_EQ(folder->find("a").path, (dir / "a.avi").string());
  EXPECT_EQ(folder->find("a.avi").path, (dir / "a.avi").string());
  EXPECT_EQ(folder->find("c").path, (dir / "sub/c.avi").string());
  EXPECT_EQ(folder->find("sub/c.avi").path, (dir / "sub/c.avi").string());
  EXPECT_EQ(folder->find("1.2.840.5").path, (dir / "1.2.840.5").string());
  EXPECT_EQ(folder->find("dup.dcm").path, (dir / "dup.dcm").string());
  const auto ambiguous = folder->find("dup");
  EXPECT_TRUE(ambiguous.path.empty());
  EXPECT_NE(ambiguous.problem.find("several"), std::string::npos);
  EXPECT_TRUE(folder->find("zzz").path.empty());
  EXPECT_TRUE(folder->find(".hidden").path.empty());
  EXPECT_FALSE(echo::ClipFolder::scan((dir / "a.avi").string()));
}

// --- one clip -------------------------------------------------------------------------------------------------

namespace {

echo::AnalysisResult answered(double ef, std::vector<std::pair<int, int>> beats) {
  echo::AnalysisResult r;
  r.quality.pass = true;
  r.ef_percent = ef;
  r.view = "a4c";
  r.view_confidence = 0.9;
  for (auto [ed, es] : beats) {
    echo::BeatResult b;
    b.ed_frame = ed;
    b.es_frame = es;
    r.beats.push_back(b);
  }
  return r;
}

echo::AnalysisResult refused(echo::QualityCode code, const char* name) {
  echo::AnalysisResult r;
  r.quality.pass = false;
  echo::QualityReason reason;
  reason.code = code;
  reason.code_name = name;
  reason.message_en = std::string("image ") + name;
  r.quality.reasons.push_back(reason);
  echo::QualityReason warning = reason;
  warning.severity = echo::Severity::warning;
  warning.code_name = "noisy";
  r.quality.reasons.push_back(warning);
  r.ef_withheld_reason = "the image did not pass the quality gate";
  return r;
}

}  // namespace

TEST(ValidationClip, OutcomeWithNearestKeyframes) {
  echo::ReferenceRow ref;
  ref.file_name = "x";
  ref.ef_percent = 50;
  ref.ed_frame = 58;
  ref.es_frame = 33;
  auto result = answered(55.0, {{10, 30}, {60, 80}});
  result.beats[0].excluded = true;  // the first *used* beat gives our keyframes; all beats give the offsets
  const auto clip = echo::clip_outcome(ref, "/p/x.avi", result);
  EXPECT_EQ(clip.status, echo::ClipStatus::answered);
  EXPECT_EQ(*clip.ed_frame, 60);
  EXPECT_EQ(*clip.es_frame, 80);
  EXPECT_EQ(*clip.ed_offset_frames, 2);
  EXPECT_EQ(*clip.es_offset_frames, -3);
  // Loop extremes: no beat, the result's keyframes instead.
  auto extremes = answered(40.0, {});
  extremes.ef_basis = "loop_extremes";
  extremes.ed.frame = 12;
  extremes.es.frame = 25;
  const auto loop = echo::clip_outcome(ref, "/p/x.avi", extremes);
  EXPECT_EQ(*loop.ed_offset_frames, 12 - 58);
  EXPECT_EQ(loop.ef_basis, "loop_extremes");
  const auto no = echo::clip_outcome(ref, "/p/x.avi", refused(echo::QualityCode::blurred, "blurred"));
  EXPECT_EQ(no.status, echo::ClipStatus::refused);
  EXPECT_EQ(no.refusal_codes, std::vector<std::string>{"blurred"});  // warnings are not refusals
  EXPECT_NE(no.message.find("image blurred"), std::string::npos);
  EXPECT_FALSE(no.ed_offset_frames);
}

TEST(ValidationClip, CsvRowReadsBackExactly) {
  echo::ReferenceRow ref;
  ref.line = 7;
  ref.file_name = "a,b";
  ref.ef_percent = 61.2;
  const double ours = 63.123456789012345;
  const auto clip = echo::clip_outcome(ref, "/p/a,b.avi", answered(ours, {{1, 2}}));
  const std::string row = echo::validation_csv_row(clip);
  EXPECT_EQ(row.rfind("7,\"a,b\",answered,61.2,", 0), 0u) << row;
  const std::size_t at = row.find(",63.1234567890123");
  ASSERT_NE(at, std::string::npos) << row;
  EXPECT_EQ(std::strtod(row.c_str() + at + 1, nullptr), ours);  // every bit of our EF survives the CSV
  const std::string header = echo::validation_csv_header();
  EXPECT_EQ(std::count(header.begin(), header.end(), ','), 25);
  EXPECT_EQ(std::count(row.begin(), row.end(), ','), 25 + 2);  // the two quoted commas
}

// What was validated: the model and SDK of the analysed clips, in the summary, its JSON and its text; none
// when nothing was analysed (a missing clip carries no model).
TEST(ValidationSummary, NamesTheModelThatWasValidated) {
  echo::ReferenceRow ref;
  ref.ef_percent = 60.0;
  echo::AnalysisResult result = answered(58.0, {{1, 9}});
  result.model.name = "site-lv";
  result.model.version = "2.0.1";
  result.model.weights_sha256 = std::string(64, 'a');
  result.model.precision = "int8";
  result.model.device = "cpu";
  result.sdk_version = "9.8.7";
  echo::ClipOutcome missing;
  missing.reference = ref;
  const auto s = echo::summarize_validation({missing, echo::clip_outcome(ref, "/p/1.avi", result)}, 2, 0);
  ASSERT_TRUE(s.model);
  EXPECT_EQ(s.model->name, "site-lv");
  const auto json = nlohmann::json::parse(echo::validation_summary_json(s));
  EXPECT_EQ(json["model"]["sha256"], std::string(64, 'a'));
  EXPECT_EQ(json["model"]["version"], "2.0.1");
  EXPECT_FALSE(json["model"]["validated_on_real_patients"].get<bool>());
  EXPECT_EQ(json["sdk_version"], "9.8.7");
  const std::string text = echo::validation_summary_text(s);
  EXPECT_NE(text.find("model site-lv 2.0.1 (int8, cpu, SHA-256 aaaaaaaaaaaa...), SDK 9.8.7; its manifest claims no "
                      "validation on patients"), std::string::npos) << text;

  const auto none = echo::summarize_validation({missing}, 1, 0);
  EXPECT_FALSE(none.model);
  const auto none_json = nlohmann::json::parse(echo::validation_summary_json(none));
  EXPECT_TRUE(none_json["model"].is_null() && none_json["sdk_version"].is_null());
  EXPECT_EQ(echo::validation_summary_text(none).find("model "), std::string::npos);
}

namespace {
echo::AnalysisResult with_vlm(echo::AnalysisResult result, echo::VlmAnswer::Kind kind, std::optional<double> ef,
                              std::vector<std::string> codes) {
  echo::VlmAnswer answer;
  answer.kind = kind;
  answer.ef_percent = ef;
  answer.rejection_codes = std::move(codes);
  result.vlm = answer;
  return result;
}
}  // namespace

// The VLM's answers: its EF against the reference, and its refusals counted by reason (a refusal with two
// codes counts under both), in the summary, the JSON, the printed text and each clip's CSV row.
TEST(ValidationSummary, VlmAnswersAndRefusalsByReason) {
  using Kind = echo::VlmAnswer::Kind;
  echo::ReferenceRow ref;
  ref.ef_percent = 60.0;
  std::vector<echo::ClipOutcome> clips = {
      echo::clip_outcome(ref, "/p/1.avi", with_vlm(answered(58.0, {{1, 9}}), Kind::ef, 64.0, {})),
      echo::clip_outcome(ref, "/p/2.avi", with_vlm(answered(61.0, {{1, 9}}), Kind::rejection, {}, {"blurred"})),
      echo::clip_outcome(ref, "/p/3.avi",
                         with_vlm(answered(62.0, {{1, 9}}), Kind::rejection, {}, {"overgain", "blurred"})),
      echo::clip_outcome(ref, "/p/4.avi", with_vlm(answered(59.0, {{1, 9}}), Kind::unreadable, {}, {})),
      echo::clip_outcome(ref, "/p/5.avi", answered(57.0, {{1, 9}})),  // the VLM did not run on this one
  };
  const auto s = echo::summarize_validation(clips, 5, 0);
  ASSERT_TRUE(s.vlm);
  EXPECT_EQ(s.vlm_ran, 4);
  EXPECT_EQ(s.vlm_answered, 1);
  EXPECT_DOUBLE_EQ(*s.vlm_answered_share, 0.25);
  EXPECT_EQ(s.vlm_refusals_by_reason, (std::map<std::string, int>{{"blurred", 2}, {"overgain", 1}}));
  EXPECT_EQ(s.vlm_unreadable, 1);
  ASSERT_TRUE(s.vlm_ef);
  EXPECT_DOUBLE_EQ(s.vlm_ef->bias, 4.0);
  const auto json = nlohmann::json::parse(echo::validation_summary_json(s));
  EXPECT_EQ(json["vlm"]["refusals_by_reason"]["blurred"], 2);
  EXPECT_EQ(json["vlm"]["unreadable"], 1);
  const std::string text = echo::validation_summary_text(s);
  EXPECT_NE(text.find("VLM: answered with an EF 1/4 (25.0%), refusals by reason: blurred 2, overgain 1, "
                      "unreadable answers 1"), std::string::npos) << text;
  const std::string row = echo::validation_csv_row(clips[2]);
  EXPECT_NE(row.find(",rejection,,overgain;blurred,"), std::string::npos) << row;
}

// --- a whole run with a stand-in analysis ----------------------------------------------------------------

namespace {

struct RunFixture {
  fs::path root, input, out;
  std::map<std::string, echo::Expected<echo::AnalysisResult>> results;

  RunFixture() {
    root = echo_test::scratch_dir();
    fs::remove_all(root);
    input = root / "loops";
    out = root / "out";
    for (const char* name : {"a.avi", "b.avi", "c.dcm", "u.avi", "extra.avi"}) write(input / name, name);
    write(root / "table.csv",
          "FileName,EF,EDFrame,ESFrame,Split\n"
          "a,50,8,31,TEST\n"        // ours 52: +2; ED offset +2, ES -1
          "b.avi,60,,,TEST\n"       // ours 57: -3
          "c,n/a,,,TEST\n"          // refused (blurred), reference not a number
          "gone,20,,,TEST\n"        // missing (not listed among the low-EF clips: no file)
          "a.avi,51,,,TEST\n"       // duplicate of line 2
          "u,28,,,TEST\n");         // unreadable; reference below 30
    results.emplace((input / "a.avi").string(), answered(52.0, {{10, 30}, {60, 80}}));
    results.emplace((input / "b.avi").string(), answered(57.0, {{5, 20}}));
    results.emplace((input / "c.dcm").string(), refused(echo::QualityCode::blurred, "blurred"));
    results.emplace((input / "u.avi").string(),
                    echo::make_error(echo::ErrorCode::malformed, "reading 'u.avi': not a video"));
  }

  echo::ValidationOptions options() const {
    echo::ValidationOptions o;
    o.folder = input.string();
    o.table_path = (root / "table.csv").string();
    o.out_dir = out.string();
    return o;
  }

  echo::AnalyzeFileFn analyze() const {
    return [this](const std::string& path) -> echo::Expected<echo::AnalysisResult> {
      const auto it = results.find(path);
      if (it == results.end()) return echo::make_error(echo::ErrorCode::internal, "unexpected analysis of " + path);
      return it->second;
    };
  }
};

}  // namespace

TEST(ValidationRun, CountsEveryRowAndWritesTheOutputs) {
  RunFixture f;
  const auto before = listing(f.input);
  auto options = f.options();
  std::vector<std::string> notices;
  std::vector<int> progress;
  options.notice = [&](const echo::ClipOutcome& c) { notices.push_back(c.reference.file_name + ": " + c.message); };
  options.progress = [&](const echo::ValidationProgress& p) {
    progress.push_back(p.done * 10 + p.total);
    return true;
  };
  const auto run = echo::run_validation(options, f.analyze());
  ASSERT_TRUE(run) << run.error().message;
  const auto& s = run->summary;
  EXPECT_EQ(s.rows, 6);
  EXPECT_EQ(s.analysed, 3);
  EXPECT_EQ(s.answered, 2);
  EXPECT_EQ(s.refused, 1);
  EXPECT_EQ(s.unreadable, 1);
  EXPECT_EQ(s.missing, 1);
  EXPECT_EQ(s.duplicates, 1);
  EXPECT_EQ(s.bad_reference, 1);
  EXPECT_DOUBLE_EQ(*s.answered_share, 2.0 / 4.0);
  EXPECT_EQ(s.refusals_by_reason, (std::map<std::string, int>{{"blurred", 1}}));
  ASSERT_TRUE(s.ef);
  EXPECT_EQ(s.ef->n, 2);
  EXPECT_DOUBLE_EQ(s.ef->bias, -0.5);
  EXPECT_DOUBLE_EQ(s.ef->mae, 2.5);
  EXPECT_EQ(s.ed_offsets.clips, 1);
  EXPECT_DOUBLE_EQ(*s.ed_offsets.median_abs_frames, 2.0);
  EXPECT_DOUBLE_EQ(*s.es_offsets.share_within_1, 1.0);
  ASSERT_EQ(s.low_ef.size(), 1u);
  EXPECT_EQ(s.low_ef[0].status, "unreadable");
  EXPECT_FALSE(s.vlm);
  // Problems named as they happen: gone (missing), c (reference), a.avi (duplicate), u (unreadable).
  ASSERT_EQ(notices.size(), 4u);
  EXPECT_NE(notices[0].find("n/a"), std::string::npos) << notices[0];
  EXPECT_NE(notices[1].find("no file 'gone'"), std::string::npos) << notices[1];
  EXPECT_NE(notices[3].find("not a video"), std::string::npos) << notices[3];
  EXPECT_EQ(progress, (std::vector<int>{14, 24, 34, 44}));
  // Outputs: one CSV line per table row, the summary, both plots; nothing written into the input folder.
  const std::string csv = read(run->clips_csv_path);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 7);
  EXPECT_NE(csv.find("\n5,gone,missing,20,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\n7,u,unreadable,28,"), std::string::npos) << csv;
  const auto json = nlohmann::json::parse(read(f.out / "summary.json"));
  EXPECT_DOUBLE_EQ(json["ef"]["bias"].get<double>(), -0.5);
  EXPECT_EQ(json["refusals_by_reason"]["blurred"], 1);
  EXPECT_GT(fs::file_size(f.out / "bland_altman.png"), 1000u);
  EXPECT_GT(fs::file_size(f.out / "scatter.png"), 1000u);
  EXPECT_EQ(listing(f.input), before);
  EXPECT_NE(echo::validation_summary_text(s).find("bias -0.50"), std::string::npos);
}

TEST(ValidationRun, OnlyPresentSkipsRowsWithoutAFile) {
  RunFixture f;
  auto options = f.options();
  options.only_present = true;
  const auto run = echo::run_validation(options, f.analyze());
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(run->summary.skipped_not_present, 1);
  EXPECT_EQ(run->summary.missing, 0);
  EXPECT_EQ(run->clips.size(), 5u);
}

TEST(ValidationRun, RefusesAnOutputFolderInsideTheInput) {
  RunFixture f;
  const auto before = listing(f.input);
  for (const fs::path& inside : {f.input / "results", f.input, f.input / "x" / ".." / "y"}) {
    auto options = f.options();
    options.out_dir = inside.string();
    const auto run = echo::run_validation(options, f.analyze());
    ASSERT_FALSE(run) << inside;
    EXPECT_EQ(run.error().code, echo::ErrorCode::invalid_argument);
    EXPECT_NE(run.error().message.find("inside the input folder"), std::string::npos);
  }
  EXPECT_EQ(listing(f.input), before);
  auto beside = f.options();
  beside.out_dir = (f.root / "loops_out").string();  // a name that starts like the input folder is fine
  EXPECT_TRUE(echo::run_validation(beside, f.analyze()));
}

TEST(ValidationRun, CancelAndBadTable) {
  RunFixture f;
  auto options = f.options();
  options.progress = [](const echo::ValidationProgress& p) { return p.done < 2; };
  const auto cancelled = echo::run_validation(options, f.analyze());
  ASSERT_FALSE(cancelled);
  EXPECT_EQ(cancelled.error().code, echo::ErrorCode::cancelled);
  const std::string csv = read(f.out / "per_clip.csv");
  EXPECT_NE(csv.find("\n3,b.avi,answered,"), std::string::npos) << csv;  // kept what was done
  write(f.root / "bad.csv", "name,value\nx,1\n");
  auto bad = f.options();
  bad.table_path = (f.root / "bad.csv").string();
  const auto malformed = echo::run_validation(bad, f.analyze());
  ASSERT_FALSE(malformed);
  EXPECT_EQ(malformed.error().code, echo::ErrorCode::malformed);
}

TEST(ValidationPlots, DrawnAndCheckedArguments) {
  echo::AgreementLines lines;
  lines.bias = 1.0;
  lines.loa_low = -6.5;
  lines.loa_high = 8.5;
  const auto ba = echo::render_bland_altman({52, 60, 50, 65}, {50, 62, 48, 71}, lines, "LVEF (%)");
  ASSERT_TRUE(ba);
  EXPECT_EQ(ba->width, 800);
  EXPECT_EQ(ba->height, 600);
  const auto scatter = echo::render_agreement_scatter({52}, {50}, {}, "LVEF (%)");
  ASSERT_TRUE(scatter);
  EXPECT_EQ(scatter->width, 700);
  EXPECT_FALSE(echo::render_bland_altman({}, {}, lines, "LVEF (%)"));
  EXPECT_FALSE(echo::render_agreement_scatter({1, 2}, {1}, lines, "LVEF (%)"));
  EXPECT_FALSE(echo::render_agreement_scatter({1, NAN}, {1, 2}, lines, "LVEF (%)"));
}
