// Shared by the review files: JSON field access with errors that name the field, contours as JSON.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "echo/error.hpp"
#include "echo/image.hpp"

namespace echo::review {

using nlohmann::json;

inline constexpr const char* kReviewSchema = "echoanalyzer.review/1";
inline constexpr const char* kCorrectionsSchema = "echoanalyzer.corrections/1";
inline constexpr const char* kAuditSchema = "echoanalyzer.review_audit/1";

// Parses JSON text; `what` names the input in the error ("RESULT", "corrections").
Expected<json> parse_json(const std::string& text, const std::string& what);

// A contour from [[x, y], ...]; the error names `field` and the bad point.
Expected<Contour> contour_from_json(const json& value, const std::string& field);
json contour_to_json(const Contour& contour);

// "" when the closed polygon is simple, else which edges cross.
std::string self_intersection(const Contour& contour);

Expected<std::string> read_text_file(const std::string& path, const std::string& what);
// Writes (path, text) files as one set, all or nothing (echo/file_io.hpp).
Expected<void> write_text_files(const std::vector<std::pair<std::string, std::string>>& files);

}  // namespace echo::review
