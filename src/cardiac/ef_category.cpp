// EF category after ASE/EACVI 2015 (Lang et al., JASE 2015, table 4) and the heart-failure EF bands
// (HFrEF <= 40, HFmrEF 41-49, HFpEF >= 50). EF is rounded to a whole percent first, as reported, so
// that the integer ranges of the guideline leave no gaps (40.6 -> 41 -> mildly reduced).
#include <cmath>

#include "echo/cardiac.hpp"

namespace echo {
namespace {

struct Ranges {
  int normal_low, normal_high;  // inclusive; mildly reduced is 41 .. normal_low - 1
};

EfClassification make(EfCategory category, std::string basis, int ef) {
  static const char* const names[] = {"normal", "mildly reduced", "moderately reduced", "severely reduced", "hyperdynamic"};
  EfClassification out;
  out.category = category;
  out.category_name = names[static_cast<int>(category)];
  out.basis = std::move(basis);
  out.hf_class = ef <= 40 ? "HFrEF" : ef <= 49 ? "HFmrEF" : "HFpEF";
  return out;
}

}  // namespace

EfClassification classify_ef(double ef_percent, Sex sex) {
  const int ef = std::isfinite(ef_percent) ? static_cast<int>(std::lround(ef_percent)) : 0;
  const Ranges ranges = sex == Sex::male ? Ranges{52, 72} : sex == Sex::female ? Ranges{54, 74} : Ranges{52, 74};
  std::string basis = sex == Sex::male     ? "ASE/EACVI 2015, male ranges (normal 52-72%)"
                      : sex == Sex::female ? "ASE/EACVI 2015, female ranges (normal 54-74%)"
                                           : "ASE/EACVI 2015, sex not given: ranges for men and women combined (normal 52-74%)";
  if (sex == Sex::unknown && (ef == 52 || ef == 53)) basis += "; 52-53% is normal for men but mildly reduced for women";
  if (sex == Sex::unknown && (ef == 73 || ef == 74)) basis += "; 73-74% is normal for women but above the male range";
  EfCategory category;
  if (ef < 30) category = EfCategory::severely_reduced;
  else if (ef <= 40) category = EfCategory::moderately_reduced;
  else if (ef < ranges.normal_low) category = EfCategory::mildly_reduced;
  else if (ef <= ranges.normal_high) category = EfCategory::normal;
  else category = EfCategory::hyperdynamic;
  return make(category, std::move(basis), ef);
}

}  // namespace echo
