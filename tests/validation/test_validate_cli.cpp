// `echoa validate` end to end on phantoms from `echoa synth` (AVI and DICOM), with the bundled model.
// Pass 1 measures our EF and keyframes; pass 2 uses a reference table built from them with known offsets
// (EF + 2 points, ED/ES frames moved by known amounts), so every metric is known in advance: bias exactly
// -2, MAE 2, and the keyframe shares. Bad rows (missing file, unreadable file, non-numeric reference) are
// counted and named, and the input folder is left untouched.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace fs = std::filesystem;

namespace {

struct Ran {
  int status = -1;
  std::string out, err;
};

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs echoa with the arguments (a shell-quoted string), capturing stdout and stderr into files.
Ran echoa(const std::string& arguments, const fs::path& dir) {
  const fs::path out = dir / "stdout.txt", err = dir / "stderr.txt";
  const std::string command = std::string("'") + ECHOA_PATH + "' " + arguments + " >'" + out.string() + "' 2>'" +
                              err.string() + "' </dev/null";
  const int raw = std::system(command.c_str());
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, read(out), read(err)};
}

void write(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::map<std::string, std::string> listing(const fs::path& folder) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(folder)) {
    files[e.path().string()] = e.is_regular_file() ? std::to_string(e.file_size()) + "@" +
                                                         std::to_string(e.last_write_time().time_since_epoch().count())
                                                   : "dir";
  }
  return files;
}

// The per-clip CSV's rows by file name, as column -> value (no field before `message` holds a comma here).
std::map<std::string, std::map<std::string, std::string>> read_clips(const fs::path& csv) {
  std::istringstream in(read(csv));
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  for (std::stringstream h(line); std::getline(h, line, ',');) header.push_back(line);
  std::map<std::string, std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    std::map<std::string, std::string> row;
    std::stringstream fields(line);
    std::string field;
    for (std::size_t i = 0; i + 1 < header.size() && std::getline(fields, field, ','); ++i) row[header[i]] = field;
    rows[row["file"]] = row;
  }
  return rows;
}

struct Phantom {
  const char* file;
  const char* args;
};

// Three clear phantoms (EF 30, 55, 65; AVI and DICOM), one blurred, and a file that is not a video; 320x240
// keeps the synthesis cheap (the gate and the model work on the sector, whatever the frame size).
const Phantom kPhantoms[] = {
    {"p30.avi", "--view a4c --ef 30 --hr 75 --seed 21 --format avi --size 320x240"},
    {"p55.dcm", "--view a4c --ef 55 --hr 65 --seed 22 --size 320x240"},
    {"p65.avi", "--view a4c --ef 65 --hr 80 --seed 23 --format avi --size 320x240"},
    {"blur.dcm", "--view a4c --ef 55 --hr 70 --seed 13 --artifact blur --size 320x240"},
};

fs::path make_loops(const fs::path& root) {
  const fs::path loops = root / "loops";
  fs::create_directories(loops);
  for (const Phantom& p : kPhantoms) {
    if (fs::exists(loops / p.file)) continue;
    const Ran made = echoa(std::string("synth ") + p.args + " --out '" + (loops / p.file).string() + "'", root);
    EXPECT_EQ(made.status, 0) << p.file << ": " << made.err;
  }
  write(loops / "bad.avi", "this is not a video\n");
  return loops;
}

}  // namespace

TEST(ValidateCli, KnownOffsetsGiveKnownMetrics) {
  const fs::path root = echo_test::scratch_dir();
  const fs::path loops = make_loops(root);
  const auto before = listing(loops);

  write(root / "measure.csv", "FileName,EF\np30,50\np55,50\np65,50\n");
  const Ran first = echoa("validate --threads 2 --table '" + (root / "measure.csv").string() + "' --out '" +
                              (root / "out1").string() + "' '" + loops.string() + "'",
                          root);
  ASSERT_EQ(first.status, 0) << first.out << first.err;
  auto ours = read_clips(root / "out1" / "per_clip.csv");
  for (const char* name : {"p30", "p55", "p65"}) {
    ASSERT_EQ(ours[name]["status"], "answered") << name << ": " << read(root / "out1" / "per_clip.csv");
    ASSERT_FALSE(ours[name]["ed_frame"].empty() || ours[name]["es_frame"].empty()) << name;
  }
  auto ef = [&](const char* name) { return std::strtod(ours[name]["ef"].c_str(), nullptr); };
  auto frame = [&](const char* name, const char* column) { return std::atoi(ours[name][column].c_str()); };
  auto ef_plus_2 = [&](const char* name) {
    std::ostringstream s;
    s.precision(17);
    s << ef(name) + 2.0;
    return s.str();
  };
  // ED offsets (ours - reference) -1, 0, +3; ES offsets +4, 0, -2.
  std::ostringstream table;
  table << "FileName,EF,EDV-Frame,ESV-Frame,Split\n"
        << "p30," << ef_plus_2("p30") << "," << frame("p30", "ed_frame") + 1 << "," << frame("p30", "es_frame") - 4
        << ",TEST\n"
        << "p55.dcm," << ef_plus_2("p55") << "," << frame("p55", "ed_frame") << "," << frame("p55", "es_frame")
        << ",TEST\n"
        << "p65," << ef_plus_2("p65") << "," << frame("p65", "ed_frame") - 3 << "," << frame("p65", "es_frame") + 2
        << ",TEST\n"
        << "blur,n/a,,,TEST\n"
        << "gone.avi,40,,,TEST\n"
        << "bad,35,,,TEST\n";
  write(root / "reference.csv", table.str());
  const fs::path out = root / "out2";
  const Ran second = echoa("validate --threads 2 --table '" + (root / "reference.csv").string() + "' --out '" +
                               out.string() + "' '" + loops.string() + "'",
                           root);
  EXPECT_EQ(second.status, 2) << "row problems give exit status 2\n" << second.out << second.err;
  EXPECT_NE(second.err.find("gone.avi"), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("(bad): unreadable"), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("'n/a'"), std::string::npos) << second.err;
  EXPECT_NE(second.out.find("bias -2.00"), std::string::npos) << second.out;

  const auto s = nlohmann::json::parse(read(out / "summary.json"));
  EXPECT_EQ(s["rows"], 6);
  EXPECT_EQ(s["model"]["sha256"].get<std::string>().size(), 64u);  // the bundled model, named
  EXPECT_FALSE(s["model"]["validated_on_real_patients"].get<bool>());
  EXPECT_NE(second.out.find("  model echo-lv-reference "), std::string::npos) << second.out;
  EXPECT_EQ(s["answered"], 3);
  EXPECT_EQ(s["refused"], 1);
  EXPECT_EQ(s["unreadable"], 1);
  EXPECT_EQ(s["missing"], 1);
  EXPECT_EQ(s["bad_reference"], 1);
  EXPECT_DOUBLE_EQ(s["answered_share"].get<double>(), 3.0 / 5.0);
  EXPECT_EQ(s["refusals_by_reason"]["blurred"], 1);
  EXPECT_EQ(s["ef"]["n"], 3);
  EXPECT_NEAR(s["ef"]["bias"].get<double>(), -2.0, 1e-9);
  EXPECT_NEAR(s["ef"]["mae"].get<double>(), 2.0, 1e-9);
  EXPECT_NEAR(s["ef"]["rmse"].get<double>(), 2.0, 1e-9);
  EXPECT_NEAR(s["ef"]["sd"].get<double>(), 0.0, 1e-9);
  EXPECT_NEAR(s["ef"]["pearson_r"].get<double>(), 1.0, 1e-9);
  EXPECT_EQ(s["ed_offset"]["clips"], 3);
  EXPECT_DOUBLE_EQ(s["ed_offset"]["median_abs_frames"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(s["ed_offset"]["share_within_3"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(s["ed_offset"]["share_within_1"].get<double>(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(s["es_offset"]["median_abs_frames"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(s["es_offset"]["share_within_3"].get<double>(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(s["es_offset"]["share_within_1"].get<double>(), 1.0 / 3.0);
  // EF < 40 from the same pairs (reference = ours + 2): counted here by hand.
  int tp = 0, fn = 0, tn = 0, fp = 0;
  for (const char* name : {"p30", "p55", "p65"}) {
    const bool truth = ef(name) + 2.0 < 40.0, called = ef(name) < 40.0;
    (truth ? (called ? tp : fn) : (called ? fp : tn))++;
  }
  EXPECT_EQ(s["ef_below_40"]["true_positive"], tp);
  EXPECT_EQ(s["ef_below_40"]["false_negative"], fn);
  EXPECT_EQ(s["ef_below_40"]["true_negative"], tn);
  EXPECT_EQ(s["ef_below_40"]["false_positive"], fp);

  const auto clips = read_clips(out / "per_clip.csv");
  EXPECT_EQ(clips.size(), 6u);
  EXPECT_EQ(clips.at("p30").at("ed_offset_frames"), "-1");
  EXPECT_EQ(clips.at("p30").at("es_offset_frames"), "4");
  EXPECT_EQ(clips.at("p65").at("ed_offset_frames"), "3");
  EXPECT_EQ(clips.at("gone.avi").at("status"), "missing");
  EXPECT_EQ(clips.at("bad").at("status"), "unreadable");
  EXPECT_EQ(clips.at("blur").at("status"), "refused");
  EXPECT_EQ(clips.at("blur").at("refusal_reasons"), "blurred");
  EXPECT_GT(fs::file_size(out / "bland_altman.png"), 1000u);
  EXPECT_GT(fs::file_size(out / "scatter.png"), 1000u);
  EXPECT_EQ(listing(loops), before) << "the input folder must be left as it was";
}

TEST(ValidateCli, UnusableInputsAreUsageErrorsBeforeAnyAnalysis) {
  const fs::path root = echo_test::scratch_dir();
  const fs::path loops = root / "loops";
  fs::create_directories(loops);
  write(loops / "a.avi", "x");
  write(root / "good.csv", "FileName,EF\na,50\n");
  write(root / "no_ef.csv", "FileName,ESV,EDV\na,1,2\n");
  const auto before = listing(loops);
  const std::string table = " --table '" + (root / "good.csv").string() + "' ";

  const Ran no_table = echoa("validate '" + loops.string() + "'", root);
  EXPECT_EQ(no_table.status, 64);
  const Ran no_ef = echoa("validate --table '" + (root / "no_ef.csv").string() + "' '" + loops.string() + "'", root);
  EXPECT_EQ(no_ef.status, 64);
  EXPECT_NE(no_ef.err.find("needs a FileName and an EF column"), std::string::npos) << no_ef.err;
  const Ran inside = echoa("validate" + table + "--out '" + (loops / "results").string() + "' '" + loops.string() + "'", root);
  EXPECT_EQ(inside.status, 64);
  EXPECT_NE(inside.err.find("inside the input folder"), std::string::npos) << inside.err;
  const Ran no_folder = echoa("validate" + table + "'" + (root / "nowhere").string() + "'", root);
  EXPECT_EQ(no_folder.status, 64);
  EXPECT_NE(no_folder.err.find("nowhere"), std::string::npos) << no_folder.err;
  EXPECT_EQ(listing(loops), before);
}
