// The reference table of `echoa validate` (CSV) and the matching of its rows with the folder's loops.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "echo/validation.hpp"

namespace echo {
namespace {

namespace fs = std::filesystem;

struct Record {
  int line = 0;
  std::vector<std::string> fields;
};

char detect_separator(const std::string& text) {
  const std::string header = text.substr(0, text.find('\n'));
  if (header.find(',') != std::string::npos) return ',';
  if (header.find(';') != std::string::npos) return ';';
  if (header.find('\t') != std::string::npos) return '\t';
  return ',';
}

// RFC 4180 records: quoted fields may hold separators, doubled quotes and line breaks. Blank lines skipped.
std::vector<Record> split_records(const std::string& text, char separator) {
  std::vector<Record> records;
  Record record{1, {}};
  std::string field;
  bool quoted = false, any = false;
  int line = 1;
  auto end_record = [&]() {
    record.fields.push_back(field);
    const bool blank = record.fields.size() == 1 && record.fields[0].empty() && !any;
    if (!blank) records.push_back(record);
    record = Record{line, {}};
    field.clear();
    any = false;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') ++line;
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = any = true;
    } else if (c == separator) {
      record.fields.push_back(field);
      field.clear();
      any = true;
    } else if (c == '\n') {
      end_record();
    } else if (c != '\r') {
      field += c;
    }
  }
  if (!field.empty() || !record.fields.empty() || any) end_record();
  return records;
}

std::string trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// "EDV-Frame" -> "edvframe": header names compared without case, spaces, '-' and '_'.
std::string normalised(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c))) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

int find_column(const std::vector<std::string>& header, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (normalised(header[i]) == name) return static_cast<int>(i);
    }
  }
  return -1;
}

// A finite decimal number (C locale, '+' allowed); empty when the text is not one.
std::optional<double> parse_number(const std::string& text) {
  std::string s = trim(text);
  if (!s.empty() && s[0] == '+') s.erase(0, 1);
  double value = 0.0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::string cell(const Record& record, int column) {
  if (column < 0 || column >= static_cast<int>(record.fields.size())) return "";
  return trim(record.fields[column]);
}

std::optional<double> read_value(const Record& record, int column, const std::string& what, double lo, double hi,
                                 ReferenceRow& row) {
  const std::string text = cell(record, column);
  if (column < 0 || text.empty()) return std::nullopt;
  const auto value = parse_number(text);
  if (!value || *value < lo || *value > hi) {
    std::ostringstream out;
    out << what << " '" << text << "' is not a number in " << lo << ".." << hi;
    row.problems.push_back(out.str());
    return std::nullopt;
  }
  return value;
}

std::optional<int> read_frame(const Record& record, int column, const std::string& what, ReferenceRow& row) {
  const auto value = read_value(record, column, what, 0, 1e6, row);
  if (!value) return std::nullopt;
  if (*value != std::floor(*value)) {
    row.problems.push_back(what + " '" + cell(record, column) + "' is not a whole frame index");
    return std::nullopt;
  }
  return static_cast<int>(*value);
}

ReferenceRow read_row(const Record& record, const std::vector<int>& index) {
  ReferenceRow row;
  row.line = record.line;
  row.file_name = cell(record, index[0]);
  row.ef_percent = read_value(record, index[1], "reference EF", 0.0, 100.0, row);
  if (!row.ef_percent) {
    row.ef_invalid = true;
    if (cell(record, index[1]).empty()) row.problems.push_back("reference EF is empty");
  }
  row.edv_ml = read_value(record, index[2], "reference EDV", 0.0, 1e4, row);
  row.esv_ml = read_value(record, index[3], "reference ESV", 0.0, 1e4, row);
  row.ed_frame = read_frame(record, index[4], "reference ED frame", row);
  row.es_frame = read_frame(record, index[5], "reference ES frame", row);
  return row;
}

bool is_side_file(const fs::path& path) {
  static const char* kSide[] = {".json", ".npy", ".csv", ".png", ".txt", ".tsv", ".md", ".jpg", ".pdf"};
  const std::string ext = path.extension().string();
  return std::any_of(std::begin(kSide), std::end(kSide), [&](const char* s) { return ext == s; });
}

}  // namespace

Expected<ReferenceTable> parse_reference_table(const std::string& csv_text, const std::string& source_name) {
  std::string text = csv_text;
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);  // UTF-8 BOM (spreadsheet exports)
  const std::vector<Record> records = split_records(text, detect_separator(text));
  if (records.empty()) return make_error(ErrorCode::malformed, "reference table '" + source_name + "' is empty");
  std::vector<std::string> header;
  for (const std::string& name : records[0].fields) header.push_back(trim(name));
  const std::vector<int> index = {find_column(header, {"filename", "file"}),
                                  find_column(header, {"ef", "lvef", "efpercent"}),
                                  find_column(header, {"edv", "edvml"}),
                                  find_column(header, {"esv", "esvml"}),
                                  find_column(header, {"edframe", "edvframe"}),
                                  find_column(header, {"esframe", "esvframe"})};
  if (index[0] < 0 || index[1] < 0) {
    std::string found;
    for (const std::string& name : header) found += (found.empty() ? "" : ", ") + name;
    return make_error(ErrorCode::malformed, "reference table '" + source_name + "' needs a FileName and an EF column; " +
                                                "its header has: " + found);
  }
  ReferenceTable table;
  std::string* names[] = {&table.file_column, &table.ef_column, &table.edv_column,
                          &table.esv_column, &table.ed_frame_column, &table.es_frame_column};
  for (std::size_t i = 0; i < index.size(); ++i) {
    if (index[i] >= 0) *names[i] = header[index[i]];
  }
  for (std::size_t r = 1; r < records.size(); ++r) table.rows.push_back(read_row(records[r], index));
  return table;
}

Expected<ReferenceTable> read_reference_table(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return make_error(ErrorCode::not_found, "reference table '" + path + "' does not exist or is not a file");
  }
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return make_error(ErrorCode::io_failed, "cannot read the reference table '" + path + "'");
  return parse_reference_table(text, path);
}

Expected<ClipFolder> ClipFolder::scan(const std::string& folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) {
    return make_error(ErrorCode::not_found, "input folder '" + folder + "' does not exist or is not a folder");
  }
  ClipFolder clips;
  clips.root_ = folder;
  fs::recursive_directory_iterator it(folder, fs::directory_options::skip_permission_denied, ec);
  if (ec) return make_error(ErrorCode::io_failed, "cannot list the input folder '" + folder + "': " + ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return make_error(ErrorCode::io_failed, "cannot list the input folder '" + folder + "': " + ec.message());
    const std::string name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec) || is_side_file(it->path())) continue;
    clips.paths_.push_back(it->path().string());
  }
  std::sort(clips.paths_.begin(), clips.paths_.end());  // deterministic whatever the directory order
  for (std::size_t i = 0; i < clips.paths_.size(); ++i) {
    const fs::path path(clips.paths_[i]);
    clips.by_name_.emplace(path.filename().string(), i);
    clips.by_stem_.emplace(path.stem().string(), i);
  }
  return clips;
}

ClipFolder::Match ClipFolder::find(const std::string& file_name) const {
  if (file_name.empty()) return {"", "the row has no file name"};
  const auto pick = [&](const std::multimap<std::string, std::size_t>& index) -> std::optional<Match> {
    const auto [first, last] = index.equal_range(file_name);
    if (first == last) return std::nullopt;
    if (std::next(first) != last) {
      return Match{"", "'" + file_name + "' matches several files in '" + root_ + "' (" + paths_[first->second] +
                           ", " + paths_[std::next(first)->second] + "...)"};
    }
    return Match{paths_[first->second], ""};
  };
  // A relative path in the table (sub/clip.avi) is taken as it is.
  if (file_name.find('/') != std::string::npos) {
    std::error_code ec;
    const fs::path direct = fs::path(root_) / file_name;
    if (fs::is_regular_file(direct, ec)) return {direct.string(), ""};
  }
  if (auto match = pick(by_name_)) return *match;
  if (auto match = pick(by_stem_)) return *match;
  const std::string also = fs::path(file_name).has_extension() ? "" : " (or '" + file_name + ".*')";
  return {"", "no file '" + file_name + "'" + also + " in '" + root_ + "'"};
}

}  // namespace echo
