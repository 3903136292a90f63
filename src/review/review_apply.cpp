// echoa review apply: a clinician's corrections -> the final result and its audit record. Volumes and EF
// are recomputed here with the SDK's geometry (measure_lv_contour), never by the page.
#include <cmath>
#include <filesystem>
#include <optional>
#include <regex>

#include "echo/cardiac.hpp"
#include "echo/geometry.hpp"
#include "echo/report.hpp"
#include "echo/review.hpp"
#include "echo/sha256.hpp"
#include "review/review_internal.hpp"

namespace echo {
namespace {

using review::json;

tl::unexpected<Error> field_error(const std::string& field, const std::string& reason) {
  return make_error(ErrorCode::invalid_argument, "corrections." + field + ": " + reason);
}

// What the review result holds that apply needs.
struct ReviewedStudy {
  json result;
  std::string study_sha256;
  int frames = 0;
  int rows = 0, cols = 0;
  PixelSpacing spacing;  // unknown when the source had no trusted calibration
  std::vector<Contour> frame_contours;
  int ai_ed_frame = -1, ai_es_frame = -1;
};

Expected<ReviewedStudy> read_study(const std::string& text) {
  auto parsed = review::parse_json(text, "RESULT");
  if (!parsed) return tl::unexpected(parsed.error());
  ReviewedStudy study;
  study.result = std::move(*parsed);
  const json& r = study.result;
  auto bad = [](const std::string& field, const std::string& reason) {
    return make_error(ErrorCode::invalid_argument, "RESULT." + field + ": " + reason);
  };
  if (!r.is_object()) return bad("", "not a JSON object");
  if (r.contains("clinician_review"))
    return bad("clinician_review", "this result was already reviewed; apply corrections to the analysis result (result.json)");
  if (!r.contains("review") || !r["review"].is_object() || r["review"].value("schema", "") != review::kReviewSchema)
    return bad("review", std::string("missing or not ") + review::kReviewSchema + " (write it with echoa analyze --html)");
  if (r.value("biplane", false)) return bad("biplane", "review of biplane results is not supported yet");
  const json& rv = r["review"];
  if (!rv.contains("study_sha256") || !rv["study_sha256"].is_string()) return bad("review.study_sha256", "missing");
  study.study_sha256 = rv["study_sha256"].get<std::string>();
  if (!r.contains("frames") || !r["frames"].is_number_integer()) return bad("frames", "missing");
  study.frames = r["frames"].get<int>();
  study.rows = r.value("rows", 0);
  study.cols = r.value("cols", 0);
  if (rv.contains("spacing_mm_per_px") && rv["spacing_mm_per_px"].is_array() && rv["spacing_mm_per_px"].size() == 2) {
    study.spacing = {rv["spacing_mm_per_px"][0].get<double>(), rv["spacing_mm_per_px"][1].get<double>()};
  }
  const json& contours = rv.value("frame_contours_px", json::array());
  if (!contours.is_array() || static_cast<int>(contours.size()) != study.frames)
    return bad("review.frame_contours_px", "must hold one contour per frame");
  for (std::size_t i = 0; i < contours.size(); ++i) {
    auto c = review::contour_from_json(contours[i], "RESULT.review.frame_contours_px[" + std::to_string(i) + "]");
    if (!c) return tl::unexpected(c.error());
    study.frame_contours.push_back(std::move(*c));
  }
  if (r.contains("ed") && r["ed"].is_object()) study.ai_ed_frame = r["ed"].value("frame", -1);
  if (r.contains("es") && r["es"].is_object()) study.ai_es_frame = r["es"].value("frame", -1);
  return study;
}

struct Keyframe {
  int frame = -1;
  Contour contour;
  LvGeometry geometry;
  bool frame_changed = false;
  int points_moved = 0;        // points that differ from the AI's contour of that frame
  double max_move_px = 0.0;
  bool contour_replaced = false;  // a different number of points than the AI's contour
};

bool contour_edited(const Keyframe& k) { return k.contour_replaced || k.points_moved > 0; }

// A repeated point (a click without a move, a tracing rounded to 0.01 px) is no edge: consecutive
// duplicates are dropped before the checks and the measurement.
Contour drop_repeats(const Contour& contour) {
  Contour distinct;
  for (const Point2& p : contour)
    if (distinct.empty() || p.x != distinct.back().x || p.y != distinct.back().y) distinct.push_back(p);
  while (distinct.size() > 1 && distinct.front().x == distinct.back().x && distinct.front().y == distinct.back().y) distinct.pop_back();
  return distinct;
}

// Reads corrections.<name> = {frame, contour_px} and checks it against the loop.
Expected<Keyframe> read_keyframe(const json& corrections, const std::string& name, const ReviewedStudy& study, int ai_frame) {
  if (!corrections.contains(name) || !corrections[name].is_object()) return field_error(name, "missing (an object {frame, contour_px})");
  const json& k = corrections[name];
  Keyframe out;
  if (!k.contains("frame") || !k["frame"].is_number_integer()) return field_error(name + ".frame", "missing or not an integer");
  out.frame = k["frame"].get<int>();
  if (out.frame < 0 || out.frame >= study.frames)
    return field_error(name + ".frame", std::to_string(out.frame) + " is outside the loop (frames 0.." + std::to_string(study.frames - 1) + ")");
  out.frame_changed = out.frame != ai_frame;
  if (!k.contains("contour_px")) return field_error(name + ".contour_px", "missing");
  auto contour = review::contour_from_json(k["contour_px"], "corrections." + name + ".contour_px");
  if (!contour) return tl::unexpected(contour.error());
  out.contour = std::move(*contour);
  out.contour = drop_repeats(out.contour);
  if (out.contour.size() < 8) return field_error(name + ".contour_px", "degenerate contour: " + std::to_string(out.contour.size()) + " points (at least 8)");
  const double margin = 1.0;
  for (std::size_t i = 0; i < out.contour.size(); ++i) {
    const Point2& p = out.contour[i];
    if (study.cols > 0 && (p.x < -margin || p.y < -margin || p.x > study.cols - 1 + margin || p.y > study.rows - 1 + margin))
      return field_error(name + ".contour_px[" + std::to_string(i) + "]", "outside the image");
  }
  double twice_area = 0.0;
  for (std::size_t i = 0, n = out.contour.size(); i < n; ++i) {
    const Point2 &p = out.contour[i], &q = out.contour[(i + 1) % n];
    twice_area += p.x * q.y - q.x * p.y;
  }
  if (std::abs(twice_area) / 2 < 16.0)
    return field_error(name + ".contour_px", "degenerate contour (encloses " + std::to_string(std::abs(twice_area) / 2) + " px^2)");
  if (const std::string crossing = review::self_intersection(out.contour); !crossing.empty())
    return field_error(name + ".contour_px", "self-intersecting contour (" + crossing + ")");
  out.geometry = measure_lv_contour(out.contour, study.spacing);
  if (!out.geometry.valid) return field_error(name + ".contour_px", "degenerate contour (" + out.geometry.invalid_reason + ")");
  const Contour ai = drop_repeats(study.frame_contours[static_cast<std::size_t>(out.frame)]);
  if (ai.size() != out.contour.size()) {
    out.contour_replaced = true;
  } else {
    for (std::size_t i = 0; i < ai.size(); ++i) {
      const double d = std::hypot(ai[i].x - out.contour[i].x, ai[i].y - out.contour[i].y);
      if (d > 1e-6) ++out.points_moved, out.max_move_px = std::max(out.max_move_px, d);
    }
  }
  return out;
}

Sex sex_of(const json& result) {
  const json& basis = result.value("category_basis", json(nullptr));
  if (!basis.is_string()) return Sex::unknown;
  const std::string text = basis.get<std::string>();
  if (text.find("female ranges") != std::string::npos) return Sex::female;
  if (text.find("male ranges") != std::string::npos) return Sex::male;
  return Sex::unknown;
}

json nullable(const json& object, const char* key) { return object.contains(key) ? object[key] : json(nullptr); }

// The report schema's keyframe object (report_json's own formatting), plus the discs for drawing.
json keyframe_json(const Keyframe& k) {
  AnalysisResult holder;
  holder.ed = KeyframeGeometry{k.frame, k.geometry};
  json out = json::parse(report_json(holder, -1))["ed"];
  json discs = json::array();
  for (const Disc& d : k.geometry.discs) discs.push_back({d.a_px.x, d.a_px.y, d.b_px.x, d.b_px.y});
  out["discs_px"] = discs;
  out["contour_px"] = review::contour_to_json(k.contour);  // as the clinician left it, not the densified one
  return out;
}

json summary_of(const json& r) {
  return {{"ef_percent", nullable(r, "ef_percent")},
          {"edv_ml", nullable(r, "edv_ml")},
          {"esv_ml", nullable(r, "esv_ml")},
          {"ed_frame", r.contains("ed") && r["ed"].is_object() ? r["ed"]["frame"] : json(nullptr)},
          {"es_frame", r.contains("es") && r["es"].is_object() ? r["es"]["frame"] : json(nullptr)},
          {"category", nullable(r, "category")},
          {"ef_withheld_reason", r.value("ef_withheld_reason", "")},
          {"quality_pass", r.contains("quality") ? r["quality"].value("pass", false) : false}};
}

// One audit entry per keyframe value the clinician changed.
void add_changes(const std::string& name, const Keyframe& k, int ai_frame, json& changes, json& provenance) {
  if (k.frame_changed) changes.push_back({{"field", name + ".frame"}, {"ai", ai_frame}, {"clinician", k.frame}});
  if (contour_edited(k)) {
    json change = {{"field", name + ".contour_px"},
                   {"frame", k.frame},
                   {"ai", "review.frame_contours_px[" + std::to_string(k.frame) + "] of the result"},
                   {"clinician", "the contour in final." + name + ".contour_px"}};
    if (k.contour_replaced) change["replaced"] = true;
    else change["points_moved"] = k.points_moved, change["max_displacement_px"] = k.max_move_px;
    changes.push_back(change);
  }
  provenance[name + ".frame"] = k.frame_changed ? "clinician" : "ai";
  provenance[name + ".contour_px"] = contour_edited(k) ? "clinician" : "ai";
}

Expected<std::string> required_string(const json& c, const std::string& key) {
  if (!c.contains(key) || !c[key].is_string() || c[key].get<std::string>().empty()) return field_error(key, "missing or empty");
  return c[key].get<std::string>();
}

}  // namespace

static Expected<ReviewOutcome> apply_checked(const std::string& result_text, const std::string& corrections_text) {
  auto study_read = read_study(result_text);
  if (!study_read) return tl::unexpected(study_read.error());
  const ReviewedStudy& study = *study_read;
  auto parsed = review::parse_json(corrections_text, "corrections");
  if (!parsed) return tl::unexpected(parsed.error());
  const json& c = *parsed;
  if (!c.is_object()) return field_error("", "not a JSON object");
  if (!c.contains("schema") || !c["schema"].is_string() || c["schema"].get<std::string>() != review::kCorrectionsSchema)
    return field_error("schema", std::string("must be \"") + review::kCorrectionsSchema + "\"");
  auto study_hash = required_string(c, "study_sha256");
  if (!study_hash) return tl::unexpected(study_hash.error());
  if (*study_hash != study.study_sha256)
    return field_error("study_sha256", "does not match the result's study (" + study_hash->substr(0, 12) + "... vs " +
                                           study.study_sha256.substr(0, 12) + "...): these corrections are for another study");
  auto role = required_string(c, "reviewer_role");
  if (!role) return tl::unexpected(role.error());
  if (role->size() > 64 || role->find_first_of("\n\r\t") != std::string::npos) return field_error("reviewer_role", "one line of at most 64 characters");
  auto when = required_string(c, "reviewed_at");
  if (!when) return tl::unexpected(when.error());
  static const std::regex iso(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2}))");
  if (!std::regex_match(*when, iso)) return field_error("reviewed_at", "not an ISO 8601 time (YYYY-MM-DDTHH:MM:SSZ)");
  auto decision = required_string(c, "decision");
  if (!decision) return tl::unexpected(decision.error());
  if (*decision != "accept" && *decision != "correct" && *decision != "reject")
    return field_error("decision", "must be \"accept\", \"correct\" or \"reject\"");

  const json& original = study.result;
  json final_result = original;
  json changes = json::array(), provenance = json::object();
  std::string reject_reason;
  std::optional<Keyframe> ed, es;
  if (*decision == "reject") {
    auto reason = required_string(c, "reject_reason");
    if (!reason) return tl::unexpected(reason.error());
    reject_reason = *reason;
    final_result["ef_percent"] = nullptr, final_result["ef_sd"] = nullptr, final_result["ef_median"] = nullptr;
    final_result["ef_per_beat"] = json::array();
    final_result["edv_ml"] = nullptr, final_result["esv_ml"] = nullptr;
    final_result["category"] = nullptr, final_result["hf_class"] = nullptr, final_result["category_basis"] = nullptr;
    final_result["ef_withheld_reason"] = "rejected by the reviewer (" + *role + "): " + reject_reason;
    final_result["ef_source"] = "clinician";
    changes.push_back({{"field", "decision"}, {"ai", original.contains("ef_percent") && !original["ef_percent"].is_null() ? "EF given" : "EF withheld"},
                       {"clinician", "rejected"}, {"reason", reject_reason}});
    provenance["ef_percent"] = "clinician (rejected: no EF)";
  } else {
    const bool ai_has_keyframes = study.ai_ed_frame >= 0 && study.ai_es_frame >= 0;
    if (*decision == "accept" && !c.contains("ed") && !c.contains("es")) {
      if (!ai_has_keyframes) return field_error("decision", "\"accept\" but the AI outlined no ED/ES frames: use \"correct\" or \"reject\"");
    } else {
      auto e = read_keyframe(c, "ed", study, study.ai_ed_frame);
      if (!e) return tl::unexpected(e.error());
      auto s = read_keyframe(c, "es", study, study.ai_es_frame);
      if (!s) return tl::unexpected(s.error());
      if (e->frame == s->frame) return field_error("es.frame", "the same frame as ed.frame (" + std::to_string(e->frame) + ")");
      ed = std::move(*e), es = std::move(*s);
    }
    const bool changed = ed && (ed->frame_changed || es->frame_changed || contour_edited(*ed) || contour_edited(*es));
    if (*decision == "accept") {
      if (changed) return field_error("decision", "\"accept\" but the ED/ES frames or contours differ from the AI's: use \"correct\"");
      if (original.value("ef_percent", json(nullptr)).is_null())
        return field_error("decision", "\"accept\" but the AI gave no EF (" + original.value("ef_withheld_reason", std::string()) +
                                           "): use \"correct\" with ED/ES or \"reject\"");
      provenance = {{"ed.frame", "ai"}, {"ed.contour_px", "ai"}, {"es.frame", "ai"}, {"es.contour_px", "ai"},
                    {"ef_percent", "ai (accepted as proposed)"}};
    } else {
      const double edv = ed->geometry.volume_discs_ml, esv = es->geometry.volume_discs_ml;
      if (!(edv > esv)) return field_error("es", "its volume is not smaller than the ED volume: are ED and ES swapped?");
      const double ef = 100.0 * (edv - esv) / edv;
      const bool in_ml = study.spacing.known();
      final_result["ef_percent"] = ef, final_result["ef_median"] = ef, final_result["ef_sd"] = nullptr;
      final_result["ef_per_beat"] = json::array({ef});
      final_result["ef_basis"] = "clinician_keyframes";
      final_result["ef_source"] = "clinician";
      final_result["ef_withheld_reason"] = "";
      final_result["edv_ml"] = in_ml ? json(edv) : json(nullptr);
      final_result["esv_ml"] = in_ml ? json(esv) : json(nullptr);
      const EfClassification category = classify_ef(ef, sex_of(original));
      final_result["category"] = category.category_name, final_result["hf_class"] = category.hf_class;
      final_result["category_basis"] = category.basis;
      final_result["ed"] = keyframe_json(*ed), final_result["es"] = keyframe_json(*es);
      add_changes("ed", *ed, study.ai_ed_frame, changes, provenance);
      add_changes("es", *es, study.ai_es_frame, changes, provenance);
      provenance["ef_percent"] = "recomputed by the SDK (single-plane method of discs) from the clinician-confirmed ED/ES frames and contours";
      provenance["edv_ml"] = provenance["esv_ml"] = provenance["ef_percent"];
    }
  }
  const std::string status = *decision == "accept" ? "accepted" : *decision == "correct" ? "corrected" : "rejected";
  const std::string corrections_sha = sha256_hex(corrections_text.data(), corrections_text.size());
  json review_block = {{"status", status},
                       {"decision", *decision},
                       {"reviewer_role", *role},
                       {"reviewed_at", *when},
                       {"corrections_sha256", corrections_sha}};
  if (!reject_reason.empty()) review_block["reject_reason"] = reject_reason;
  final_result["clinician_review"] = review_block;
  final_result["notice"] = "Reviewed by a clinician (" + *role + "): " + status + ". " +
                           (status == "accepted" ? "The AI's values were confirmed." : status == "corrected" ? "Volumes and EF recomputed from the corrected keyframes." : "No EF is reported.");

  json final_values = summary_of(final_result);
  if (ed) final_values["ed_contour_px"] = review::contour_to_json(ed->contour), final_values["es_contour_px"] = review::contour_to_json(es->contour);
  json audit = {{"schema", review::kAuditSchema},
                {"study_sha256", study.study_sha256},
                {"result_sha256", sha256_hex(result_text.data(), result_text.size())},
                {"corrections_sha256", corrections_sha},
                {"reviewed_at", *when},
                {"reviewer_role", *role},
                {"decision", *decision},
                {"status", status},
                {"sdk_version", original.value("sdk_version", "")},
                {"model", original.value("model", json::object())},
                {"original", summary_of(original)},
                {"changes", changes},
                {"final", final_values},
                {"provenance", provenance},
                {"page_actions", c.value("actions", json::array())},
                {"identifiers", "none: the study is named by the SHA-256 of its pixels; no patient data is recorded"}};
  if (!reject_reason.empty()) audit["reject_reason"] = reject_reason;
  ReviewOutcome outcome;
  outcome.final_json = final_result.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
  outcome.audit_json = audit.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
  outcome.decision = *decision;
  return outcome;
}

Expected<ReviewOutcome> apply_review(const std::string& result_text, const std::string& corrections_text) {
  try {
    return apply_checked(result_text, corrections_text);
  } catch (const nlohmann::json::exception& e) {
    // A field of the wrong JSON type deep inside (the checks above name the common ones).
    return make_error(ErrorCode::invalid_argument, std::string("RESULT or corrections: a field has the wrong type (") + e.what() + ")");
  }
}

Expected<ReviewOutcome> apply_review_files(const std::string& result_path, const std::string& corrections_path,
                                           const std::string& out_dir) {
  auto result_text = review::read_text_file(result_path, "RESULT");
  if (!result_text) return tl::unexpected(result_text.error());
  auto corrections_text = review::read_text_file(corrections_path, "CORRECTIONS");
  if (!corrections_text) return tl::unexpected(corrections_text.error());
  auto outcome = apply_review(*result_text, *corrections_text);
  if (!outcome) return outcome;
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return make_error(ErrorCode::io_failed, "cannot create '" + out_dir + "': " + ec.message());
  const std::filesystem::path dir(out_dir);
  if (auto w = review::write_text_files({{(dir / "audit.json").string(), outcome->audit_json},
                                         {(dir / "final.json").string(), outcome->final_json}});
      !w) {
    return tl::unexpected(w.error());
  }
  return outcome;
}

}  // namespace echo
