// Review: corrections -> final result + audit (SDK geometry), bad corrections refused with the field named
// and nothing written, the site export's layout and its hands-off sources. No model: the "AI" contours
// are the phantom's exact contours shrunk by 6%, so correcting them back to the truth must move the EF
// to the generator's own method-of-discs EF.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "echo/geometry.hpp"
#include "echo/io.hpp"
#include "echo/review.hpp"
#include "echo/synth.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

echo::Contour shrunk(const echo::Contour& c, double factor) {
  echo::Point2 centre;
  for (const auto& p : c) centre.x += p.x / c.size(), centre.y += p.y / c.size();
  echo::Contour out;
  for (const auto& p : c) out.push_back({centre.x + factor * (p.x - centre.x), centre.y + factor * (p.y - centre.y)});
  return out;
}

json contour_json(const echo::Contour& c) {
  json out = json::array();
  for (const auto& p : c) out.push_back({std::round(p.x * 100) / 100, std::round(p.y * 100) / 100});
  return out;
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Study {
  echo::SynthCase phantom;
  echo::Cine cine;       // as read back from the DICOM file
  fs::path source;
  std::string result_json;
  echo::AnalysisResult result;
};

// A phantom written as uncompressed DICOM, and a result whose "AI" contours are the truth shrunk by 6%.
Study make_study(const fs::path& dir) {
  Study s;
  echo::SynthParams params;
  params.width = 240, params.height = 180, params.fps = 30, params.beats = 2, params.ef_percent = 50, params.seed = 5;
  s.phantom = *echo::generate_phantom(params);
  s.source = dir / "loop.dcm";
  echo::DicomWriteOptions w;
  w.compression = echo::DicomCompression::none;
  EXPECT_TRUE(echo::write_dicom_file(s.phantom.cine, s.source.string(), w));
  s.cine = *echo::read_file(s.source.string());
  const echo::PixelSpacing spacing{s.cine.calibration.mm_per_px_x, s.cine.calibration.mm_per_px_y};
  echo::AnalysisResult& r = s.result;
  r.quality.pass = true;
  r.view = "a4c";
  r.frame_count = s.cine.frame_count(), r.rows = s.cine.rows, r.cols = s.cine.cols;
  r.frame_times_ms = s.cine.frame_times_ms;
  for (const auto& f : s.phantom.truth.frames) {
    r.frame_contours_px.push_back(shrunk(f.lv_contour, 0.94));
    r.lv_volume_ml.push_back(echo::measure_lv_contour(r.frame_contours_px.back(), spacing).volume_discs_ml);
  }
  const echo::SynthBeatTruth& beat = s.phantom.truth.beats.at(0);
  r.ed = {beat.ed_frame, echo::measure_lv_contour(r.frame_contours_px[beat.ed_frame], spacing)};
  r.es = {beat.es_frame, echo::measure_lv_contour(r.frame_contours_px[beat.es_frame], spacing)};
  const double edv = r.ed.geometry.volume_discs_ml, esv = r.es.geometry.volume_discs_ml;
  r.ef_percent = 100 * (edv - esv) / edv;
  r.edv_ml = edv, r.esv_ml = esv;
  r.classification = echo::classify_ef(*r.ef_percent);
  echo::BeatResult b;
  b.ed_frame = beat.ed_frame, b.es_frame = beat.es_frame, b.ef_percent = *r.ef_percent, b.edv_ml = edv, b.esv_ml = esv;
  r.beats = {b};
  s.result_json = *echo::review_result_json(s.cine, r, s.source.string());
  return s;
}

json corrections(const Study& s, const std::string& decision) {
  return {{"schema", "echoanalyzer.corrections/1"},
          {"study_sha256", echo::study_pixel_sha256(s.cine)},
          {"reviewer_role", "cardiologist"},
          {"reviewed_at", "2026-11-28T07:15:00.000Z"},
          {"decision", decision},
          {"actions", json::array()}};
}

// Corrections that put the truth's ED/ES frames and exact contours back.
json truth_corrections(const Study& s) {
  json c = corrections(s, "correct");
  const auto& beat = s.phantom.truth.beats.at(0);
  c["ed"] = {{"frame", beat.ed_frame}, {"contour_px", contour_json(s.phantom.truth.frames[beat.ed_frame].lv_contour)}};
  c["es"] = {{"frame", beat.es_frame}, {"contour_px", contour_json(s.phantom.truth.frames[beat.es_frame].lv_contour)}};
  return c;
}

class Review : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = echo_test::scratch_dir();
    fs::remove_all(dir_);  // files of an earlier run would be appended to
    fs::create_directories(dir_);
    study_ = make_study(dir_);
  }
  fs::path dir_;
  Study study_;
};

TEST_F(Review, AcceptKeepsTheAisValues) {
  const auto outcome = echo::apply_review(study_.result_json, corrections(study_, "accept").dump());
  ASSERT_TRUE(outcome) << outcome.error().message;
  const json final_result = json::parse(outcome->final_json), audit = json::parse(outcome->audit_json);
  EXPECT_EQ(final_result["ef_percent"].get<double>(), *study_.result.ef_percent);
  EXPECT_EQ(final_result["clinician_review"]["status"], "accepted");
  EXPECT_TRUE(audit["changes"].empty());
  EXPECT_EQ(audit["provenance"]["es.contour_px"], "ai");
  EXPECT_EQ(audit["final"]["ef_percent"], audit["original"]["ef_percent"]);
}

TEST_F(Review, CorrectedContoursGiveTheGeneratorsMethodOfDiscs) {
  const auto outcome = echo::apply_review(study_.result_json, truth_corrections(study_).dump());
  ASSERT_TRUE(outcome) << outcome.error().message;
  const json final_result = json::parse(outcome->final_json), audit = json::parse(outcome->audit_json);
  const auto& beat = study_.phantom.truth.beats.at(0);
  const double edv_truth = study_.phantom.truth.frames[beat.ed_frame].lv_volume_discs_ml;
  const double esv_truth = study_.phantom.truth.frames[beat.es_frame].lv_volume_discs_ml;
  const double ef_truth = 100 * (edv_truth - esv_truth) / edv_truth;
  EXPECT_NEAR(final_result["edv_ml"].get<double>(), edv_truth, 0.02 * edv_truth);
  EXPECT_NEAR(final_result["esv_ml"].get<double>(), esv_truth, 0.02 * esv_truth);
  EXPECT_NEAR(final_result["ef_percent"].get<double>(), ef_truth, 1.0);
  // The shrunk "AI" volumes were ~17% smaller: the correction really changed them.
  EXPECT_LT(audit["original"]["edv_ml"].get<double>(), 0.9 * edv_truth);
  EXPECT_EQ(audit["provenance"]["ed.frame"], "ai");
  EXPECT_EQ(audit["provenance"]["ed.contour_px"], "clinician");
  EXPECT_EQ(audit["changes"].size(), 2u);  // both contours, no frame
  EXPECT_EQ(audit["reviewed_at"], "2026-11-28T07:15:00.000Z");
  EXPECT_EQ(audit["reviewer_role"], "cardiologist");
  EXPECT_EQ(final_result["clinician_review"]["status"], "corrected");
}

TEST_F(Review, RepeatedPointsAreNotACrossing) {
  // Tracings rounded to 0.01 px can repeat a point; that is no self-intersection and changes no volume.
  json twice = truth_corrections(study_);
  auto& p = twice["es"]["contour_px"];
  p.insert(p.begin() + 10, p[10]);
  p.push_back(p[0]);
  const auto plain = echo::apply_review(study_.result_json, truth_corrections(study_).dump());
  const auto repeated = echo::apply_review(study_.result_json, twice.dump());
  ASSERT_TRUE(plain && repeated) << (repeated ? "" : repeated.error().message);
  EXPECT_EQ(json::parse(plain->final_json)["ef_percent"], json::parse(repeated->final_json)["ef_percent"]);
}

TEST_F(Review, SameCorrectionsTwiceGiveIdenticalFiles) {
  fs::create_directories(dir_ / "study");
  fs::copy_file(dir_ / "loop.dcm", dir_ / "study" / "unused.dcm");
  std::ofstream(dir_ / "result.json") << study_.result_json;
  std::ofstream(dir_ / "corrections.json") << truth_corrections(study_).dump();
  ASSERT_TRUE(echo::apply_review_files((dir_ / "result.json").string(), (dir_ / "corrections.json").string(), (dir_ / "a").string()));
  ASSERT_TRUE(echo::apply_review_files((dir_ / "result.json").string(), (dir_ / "corrections.json").string(), (dir_ / "b").string()));
  EXPECT_EQ(read(dir_ / "a" / "final.json"), read(dir_ / "b" / "final.json"));
  EXPECT_EQ(read(dir_ / "a" / "audit.json"), read(dir_ / "b" / "audit.json"));
  // A final result is not an analysis result: applying to it is refused.
  const auto twice = echo::apply_review(read(dir_ / "a" / "final.json"), truth_corrections(study_).dump());
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message.find("RESULT.clinician_review"), std::string::npos);
}

TEST_F(Review, RejectWithholdsTheEfAndSaysWhy) {
  json c = corrections(study_, "reject");
  c["reject_reason"] = "LV cut off by the sector";
  const auto outcome = echo::apply_review(study_.result_json, c.dump());
  ASSERT_TRUE(outcome) << outcome.error().message;
  const json final_result = json::parse(outcome->final_json), audit = json::parse(outcome->audit_json);
  EXPECT_TRUE(final_result["ef_percent"].is_null());
  EXPECT_NE(final_result["ef_withheld_reason"].get<std::string>().find("LV cut off"), std::string::npos);
  EXPECT_EQ(audit["status"], "rejected");
  EXPECT_EQ(audit["reject_reason"], "LV cut off by the sector");
}

TEST_F(Review, BadCorrectionsNameTheFieldAndWriteNothing) {
  const json good = truth_corrections(study_);
  struct Case {
    const char* what;
    std::string text;
    const char* field;
  };
  std::vector<Case> cases;
  auto mutate = [&](const char* what, const char* field, auto change) {
    json c = good;
    change(c);
    cases.push_back({what, c.dump(), field});
  };
  mutate("another study", "corrections.study_sha256", [](json& c) { c["study_sha256"] = std::string(64, 'a'); });
  mutate("frame past the end", "corrections.es.frame", [&](json& c) { c["es"]["frame"] = study_.cine.frame_count(); });
  mutate("negative frame", "corrections.ed.frame", [](json& c) { c["ed"]["frame"] = -1; });
  mutate("self-intersecting", "corrections.es.contour_px", [](json& c) {
    auto& p = c["es"]["contour_px"];
    std::swap(p[2], p[p.size() / 2]);
  });
  mutate("degenerate", "corrections.ed.contour_px", [](json& c) {
    json line = json::array();
    for (int i = 0; i < 12; ++i) line.push_back({100.0 + i, 100.0});
    c["ed"]["contour_px"] = line;
  });
  mutate("not a point", "corrections.es.contour_px[3]", [](json& c) { c["es"]["contour_px"][3] = "x"; });
  mutate("no role", "corrections.reviewer_role", [](json& c) { c.erase("reviewer_role"); });
  mutate("bad time", "corrections.reviewed_at", [](json& c) { c["reviewed_at"] = "yesterday"; });
  mutate("bad decision", "corrections.decision", [](json& c) { c["decision"] = "maybe"; });
  mutate("accept with changes", "corrections.decision", [](json& c) { c["decision"] = "accept"; });
  mutate("reject without reason", "corrections.reject_reason", [](json& c) { c["decision"] = "reject"; });
  mutate("wrong schema", "corrections.schema", [](json& c) { c["schema"] = "x"; });
  cases.push_back({"malformed JSON", good.dump().substr(0, 40), "corrections: malformed JSON"});
  std::ofstream(dir_ / "result.json") << study_.result_json;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const auto outcome = echo::apply_review(study_.result_json, c.text);
    ASSERT_FALSE(outcome);
    EXPECT_NE(outcome.error().message.find(c.field), std::string::npos) << outcome.error().message;
    std::ofstream(dir_ / "bad.json") << c.text;
    const fs::path out = dir_ / "out";
    EXPECT_FALSE(echo::apply_review_files((dir_ / "result.json").string(), (dir_ / "bad.json").string(), out.string()));
    EXPECT_FALSE(fs::exists(out)) << "something was written";
  }
}

TEST_F(Review, ExportWritesTheEchoNetLayoutAndLeavesSourcesUntouched) {
  const std::string source_bytes = read(study_.source);
  const auto source_time = fs::last_write_time(study_.source);
  auto review_dir = [&](const char* name, const json* c) {
    const fs::path d = dir_ / "reviews" / name;
    fs::create_directories(d);
    std::ofstream(d / "result.json") << study_.result_json;
    if (c) {
      std::ofstream(d / "corrections.json") << c->dump();
      EXPECT_TRUE(echo::apply_review_files((d / "result.json").string(), (d / "corrections.json").string(), d.string()));
    }
  };
  const json corrected = truth_corrections(study_);
  json rejected = corrections(study_, "reject");
  rejected["reject_reason"] = "off-axis";
  review_dir("a_corrected", &corrected);
  review_dir("b_rejected", &rejected);
  review_dir("c_unreviewed", nullptr);
  const fs::path site = dir_ / "site";
  const auto summary = echo::export_site_dataset({(dir_ / "reviews").string()}, site.string());
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_EQ(summary->exported, 1);
  ASSERT_EQ(summary->rejected.size(), 1u);
  EXPECT_NE(summary->rejected[0].find("off-axis"), std::string::npos);
  EXPECT_EQ(summary->not_reviewed.size(), 1u);
  const std::string name = "S" + echo::study_pixel_sha256(study_.cine).substr(0, 16);
  EXPECT_TRUE(fs::exists(site / "Videos" / (name + ".avi")));
  EXPECT_TRUE(fs::exists(site / "Sectors" / (name + ".png")));
  const std::string file_list = read(site / "FileList.csv");
  EXPECT_EQ(std::count(file_list.begin(), file_list.end(), '\n'), 2);
  EXPECT_EQ(file_list.rfind("FileName,EF,ESV,EDV,", 0), 0u);
  const std::string tracings = read(site / "VolumeTracings.csv");
  EXPECT_EQ(std::count(tracings.begin(), tracings.end(), '\n'), 1 + 2 * (1 + 1 + 40 + 1));  // header; axis, base, chords, apex
  EXPECT_EQ(read(study_.source), source_bytes);
  EXPECT_EQ(fs::last_write_time(study_.source), source_time);
  // A second export adds nothing twice.
  const auto again = echo::export_site_dataset({(dir_ / "reviews").string()}, site.string());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->exported, 0);
  EXPECT_EQ(again->already_present, 1);
  EXPECT_EQ(read(site / "FileList.csv"), file_list);
  // A source that no longer holds the reviewed loop is refused.
  echo::Cine other = study_.cine;
  other.gray[0] ^= 0xFF;
  echo::DicomWriteOptions w;
  w.compression = echo::DicomCompression::none;
  ASSERT_TRUE(echo::write_dicom_file(other, study_.source.string(), w));
  const auto changed = echo::export_site_dataset({(dir_ / "reviews").string()}, (dir_ / "site2").string());
  ASSERT_FALSE(changed);
  EXPECT_NE(changed.error().message.find("pixel hash differs"), std::string::npos) << changed.error().message;
}

}  // namespace
