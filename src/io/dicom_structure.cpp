// Structural pre-check of a DICOM stream (see dicom_structure.hpp for why).
#include "io/dicom_structure.hpp"
#include "io/jpeg_check.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <iterator>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace echo::io_detail {
namespace {

constexpr std::uint32_t kUndefinedLength = 0xffffffffu;
constexpr int kMaxDepth = 64;

enum class Walk { ok, truncated, unsupported };  // truncated: cut short or structurally damaged;
                                                  // unsupported: legal, but GDCM would abort on it

std::string tag_text(std::uint16_t group, std::uint16_t element) {
  char text[16];
  std::snprintf(text, sizeof text, "(%04X,%04X)", group, element);
  return text;
}

// VRs with a 2-byte reserved field and a 4-byte length in explicit VR encodings.
bool known_vr(const char* vr) {
  static const char* const kKnown[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO",
                                       "LT", "OB", "OD", "OF", "OL", "OV", "OW", "PN", "SH", "SL", "SQ",
                                       "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV"};
  for (const char* name : kKnown)
    if (vr[0] == name[0] && vr[1] == name[1]) return true;
  return false;
}

// GDCM's reading of Photometric Interpretation (PhotometricInterpretation::GetPIType): the value up to its
// first NUL, spaces trimmed, names PALETTE COLOR when it is a prefix of "PALETTE COLOR " (GDCM tolerates
// truncated values, so "PALETTE COLO" or "PAL" count). Our check must see what GDCM will act on.
constexpr std::uint32_t kMaxPhotometricBytes = 1u << 16;

bool gdcm_reads_as_palette(std::string value) {
  value = value.substr(0, value.find('\0'));
  const auto first = value.find_first_not_of(' ');
  if (first == std::string::npos) return false;
  value = value.substr(first, value.find_last_not_of(' ') - first + 1);
  static const std::string kPalette = "PALETTE COLOR ";
  return value.size() <= kPalette.size() && kPalette.compare(0, value.size(), value) == 0;
}

// Number of Frames (IS) as GDCM's ReadISFromTag reads it: leading spaces, then an integer; 0 otherwise.
long parse_frame_count(const std::string& value) {
  const auto first = value.find_first_not_of(' ');
  if (first == std::string::npos) return 0;
  char* end = nullptr;
  const long count = std::strtol(value.c_str() + first, &end, 10);
  return end == value.c_str() + first ? 0 : count;
}

// Attributes that GDCM reads through gdcm::Attribute<>, which asserts that an explicit VR is the dictionary's
// (Attribute::SetFromDataElement): the image pixel description (Number of Frames as SS: a fuzzer finding), the spacing, position and orientation, the
// rescale, the lookup-table descriptors and the ultrasound region deltas.
bool vr_as_gdcm_reads(std::int64_t tag, char vr0, char vr1) {
  struct Expected { std::int64_t tag; const char* vrs; };
  static const Expected kExpected[] = {
      {0x00280002, "US"}, {0x00280006, "US"}, {0x00280008, "IS"}, {0x00280009, "AT"}, {0x00280010, "US"},
      {0x00280011, "US"}, {0x00280100, "US"}, {0x00280101, "US"}, {0x00280102, "US"}, {0x00280103, "US"}, {0x00280030, "DS"}, {0x00280034, "IS"},
      {0x00181164, "DS"}, {0x00182010, "DS"}, {0x00180088, "DS"}, {0x00200032, "DS"}, {0x00200037, "DS"},
      {0x00281052, "DS"}, {0x00281053, "DS"}, {0x00281101, "USSS"}, {0x00281102, "USSS"}, {0x00281103, "USSS"},
      {0x0018602c, "FD"}, {0x0018602e, "FD"}};
  for (const Expected& e : kExpected) {
    if (e.tag != tag) continue;
    for (const char* v = e.vrs; *v; v += 2)
      if (v[0] == vr0 && v[1] == vr1) return true;
    return false;
  }
  return true;
}

// The transfer syntaxes GDCM decodes with its IJG JPEG codec: 1.2.840.10008.1.2.4.50 to .66 (every JPEG
// process, retired ones included) and .70. JPEG-LS (.80, .81) and JPEG 2000 (.90 on) use other codecs.
bool is_ijg_jpeg_syntax(const std::string& syntax) {
  static const std::string kPrefix = "1.2.840.10008.1.2.4.";
  if (syntax.size() != kPrefix.size() + 2 || syntax.compare(0, kPrefix.size(), kPrefix) != 0) return false;
  const std::string process = syntax.substr(kPrefix.size());
  return (process >= "50" && process <= "66") || process == "70";
}

// GDCM's PixelFormat reads bit-mask spellings of Bits Allocated / Stored as the widths they mean.
int gdcm_bit_count(int value) { return value == 0xffff ? 16 : value == 0x0fff ? 12 : value == 0x00ff ? 8 : value; }

bool long_form_vr(const char* vr) {
  static const char* const kLong[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"};
  for (const char* name : kLong)
    if (vr[0] == name[0] && vr[1] == name[1]) return true;
  return false;
}

class Walker {
 public:
  Walker(std::istream& in, std::uint64_t size) : in_(in), size_(size) {}

  void set_syntax(bool explicit_vr, bool big_endian) { explicit_vr_ = explicit_vr, big_endian_ = big_endian; }
  // GDCM's JPEG codec aborts on a header that makes libjpeg warn, already while reading the file
  // (JPEG8Codec::GetHeaderInfo): the fragments of such syntaxes get their headers checked.
  void set_jpeg(bool jpeg) { jpeg_ = jpeg; }
  // GDCM walks the JPEG 2000 marker segments of the first fragment while reading the file, unchecked.
  void set_jpeg2000(bool jpeg2000) { jpeg2000_ = jpeg2000; }
  // ... and reads the JPEG-LS header of the first fragment with CharLS, leaking it when CharLS refuses.
  void set_jpeg_ls(bool jpeg_ls) { jpeg_ls_ = jpeg_ls; }
  // ... and decodes every RLE frame, trusting its segment offsets and runs.
  void set_rle(bool rle) { rle_ = rle; }
  std::uint64_t size() const { return size_; }
  const std::string& problem() const { return problem_; }

  bool read(std::uint64_t pos, void* out, std::size_t n) {
    if (pos > size_ || n > size_ - pos) return false;
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(pos));
    in_.read(static_cast<char*>(out), static_cast<std::streamsize>(n));
    return static_cast<std::size_t>(in_.gcount()) == n;
  }
  std::uint16_t u16(const unsigned char* b) const {
    return static_cast<std::uint16_t>(big_endian_ ? (b[0] << 8) | b[1] : b[0] | (b[1] << 8));
  }
  std::uint32_t u32(const unsigned char* b) const {
    return big_endian_ ? (std::uint32_t(b[0]) << 24) | (std::uint32_t(b[1]) << 16) | (std::uint32_t(b[2]) << 8) | b[3]
                       : b[0] | (std::uint32_t(b[1]) << 8) | (std::uint32_t(b[2]) << 16) | (std::uint32_t(b[3]) << 24);
  }

  // PALETTE COLOR needs Bits Allocated 8 or 16: GDCM's LookupTable::Allocate asserts on anything else.
  void remember_image_attribute(std::uint16_t group, std::uint16_t element, std::uint64_t pos, std::uint32_t length) {
    if (group != 0x0028) return;
    if (element == 0x0004) {
      photometric_present_ = length > 0;  // GDCM treats an empty value as absent
      // An absurdly long value is taken as palette: its lookup tables are then required, a safe refusal.
      std::string value(std::min<std::uint32_t>(length, kMaxPhotometricBytes), ' ');
      palette_ = length > kMaxPhotometricBytes || (read(pos, value.data(), value.size()) && gdcm_reads_as_palette(value));
    } else if (element == 0x0008) {
      std::string value(std::min<std::uint32_t>(length, 64), ' ');
      number_of_frames_ = read(pos, value.data(), value.size()) ? parse_frame_count(value) : 0;
    } else if (element == 0x0009 && length == 4) {
      unsigned char b[4];
      if (read(pos, b, 4)) frame_increment_pointer_ = (static_cast<std::int64_t>(u16(b)) << 16) | u16(b + 2);
    } else if (element == 0x0006) {
      unsigned char b[2];
      planar_configuration_ = length == 0 ? 0 : length == 2 && read(pos, b, 2) ? u16(b) : 0xffff;
    } else if (element == 0x0002) {
      unsigned char b[2];
      samples_per_pixel_ = length == 2 && read(pos, b, 2) ? u16(b) : 0;
    } else if ((element == 0x0010 || element == 0x0011) && length == 2) {
      unsigned char b[2];
      if (read(pos, b, 2)) (element == 0x0010 ? rows_ : columns_) = u16(b);
    } else if (element == 0x0100 && length == 2) {
      unsigned char b[2];
      if (read(pos, b, 2)) bits_allocated_ = u16(b);
    } else if (element == 0x0101 && length == 2) {
      unsigned char b[2];
      if (read(pos, b, 2)) bits_stored_ = u16(b);
    } else if (element == 0x0103 && length == 2) {
      unsigned char b[2];
      if (read(pos, b, 2)) pixel_representation_ = u16(b);
    } else if (element >= 0x1101 && element <= 0x1103 && length == 6) {
      unsigned char b[6];
      if (read(pos, b, 6)) {
        lut_entries_[element - 0x1101] = u16(b) == 0 ? 65536 : u16(b);
        lut_bits_[element - 0x1101] = u16(b + 4);
      }
    } else if (element >= 0x1201 && element <= 0x1203) {
      lut_bytes_[element - 0x1201] = length;
    } else if (element >= 0x1221 && element <= 0x1223) {
      segmented_[element - 0x1221] = true;
      segmented_at_[element - 0x1221] = {pos, length};
    }
  }
  // GDCM reads the pixel spacing of an ultrasound image from the first item of the Sequence of Ultrasound
  // Regions and asserts that it holds Physical Delta X and Y (ImageHelper::GetSpacingValue).
  static constexpr std::int64_t kRegionSequence = 0x00186011;
  static constexpr std::int64_t kGridFrameOffsetVector = 0x3004000c;
  void remember_region_attribute(std::int64_t tag, std::uint32_t length) {
    if (top_tag_ != kRegionSequence || top_item_count_ != 1) return;
    if (tag == 0x0018602c) region_delta_bytes_[0] = length;
    if (tag == 0x0018602e) region_delta_bytes_[1] = length;
  }
  // Leading values of a decimal string (backslash-separated) that read as numbers; 0 when unreadable.
  int count_values(std::uint64_t pos, std::uint32_t length) {
    if (length == 0 || length > (1u << 20)) return 0;
    std::string value(length, ' ');
    if (!read(pos, value.data(), length)) return 0;
    int numbers = 0;
    for (std::size_t start = 0; start <= value.size(); ++numbers) {
      const std::size_t end = std::min(value.find('\\', start), value.size());
      const std::string item = value.substr(start, end - start);
      const auto first = item.find_first_not_of(' ');
      if (first == std::string::npos) break;
      char* stop = nullptr;
      std::strtod(item.c_str() + first, &stop);
      if (stop == item.c_str() + first || item.find_first_not_of(' ', stop - item.c_str()) != std::string::npos) break;
      start = end + 1;
    }
    return numbers;
  }

  Walk image_attributes() {
    // A frame increment pointer to the Grid Frame Offset Vector makes GDCM take its first two values for the
    // z spacing, asserting that there are two (ImageHelper::GetZSpacingValue).
    if (frame_increment_pointer_ == kGridFrameOffsetVector && grid_offsets_ < 2)
      return truncated(0, "Frame Increment Pointer names the Grid Frame Offset Vector (3004,000C), which has fewer than 2 numbers");
    // Neither SOP Class UID nor Pixel Data (e.g. a data set cut short): not an image, and GDCM's PixmapReader
    // asserts on a non-image class in the file meta without a SOP Class in the data set.
    if (!sop_class_present_ && !pixel_data_present_)
      return truncated(0, "neither SOP Class UID (0008,0016) nor Pixel Data (7FE0,0010): not an image");
    // Number of Frames below 1 (or not a number) makes GDCM treat a multi-frame file as one image; more JPEG
    // images than frames makes its JPEG codec assert when an extra one fails to decode (JPEGCodec::Decode).
    if (number_of_frames_ && *number_of_frames_ < 1)
      return truncated(0, "Number of Frames (0028,0008) is not a positive number");
    if (jpeg_images_ > number_of_frames_.value_or(1))
      return truncated(0, std::to_string(jpeg_images_) + " JPEG images in the pixel data for " +
                              std::to_string(number_of_frames_.value_or(1)) + " frame(s)");
    if (region_sequence_seen_ && (region_delta_bytes_[0] != 8 || region_delta_bytes_[1] != 8))
      return truncated(0, "the first item of the Sequence of Ultrasound Regions (0018,6011) lacks a Physical Delta X "
                          "or Y (0018,602C / 602E) of one value");
    // Rows and Columns are type 1 (PS3.3 C.7.6.3). Without either, GDCM takes the size from the first JPEG
    // fragment's header and asserts that its process matches the transfer syntax (PixmapReader, found by the
    // dicom fuzzer: Columns renamed, baseline frames under a lossless syntax).
    if (pixel_data_present_ && (rows_ == 0 || columns_ == 0))
      return truncated(0, "Rows (0028,0010) and Columns (0028,0011) must both be present and above 0");
    // Pixel Representation is 0 (unsigned) or 1 (two's complement), PS3.3 C.7.6.3.1. GDCM adds it to the scalar
    // type and asserts the sum is a type (PixelFormat::GetScalarType, reached while it computes the lossy flag;
    // found by the dicom fuzzer: 16128 under JPEG-LS).
    if (pixel_data_present_ && pixel_representation_ > 1)
      return truncated(0, "Pixel Representation " + std::to_string(pixel_representation_) + " (must be 0 or 1)");
    // GDCM's PixelFormat asserts on Samples per Pixel other than 1, 3 or 4 (present but empty reads as 0).
    if (samples_per_pixel_ && *samples_per_pixel_ != 1 && *samples_per_pixel_ != 3 && *samples_per_pixel_ != 4)
      return truncated(0, "Samples per Pixel " + std::to_string(*samples_per_pixel_) + " (must be 1, 3 or 4)");
    // Without Photometric Interpretation GDCM asserts one sample per pixel (PixmapReader).
    const int samples = samples_per_pixel_.value_or(1);
    if (!photometric_present_ && samples != 1)
      return truncated(0, "no Photometric Interpretation with Samples per Pixel " + std::to_string(samples));
    // GDCM zeroes Planar Configuration unless there are 3 samples, and then asserts it is 0 or 1 (Bitmap).
    if (samples == 3 && planar_configuration_ > 1)
      return truncated(0, "Planar Configuration " + std::to_string(planar_configuration_) + " (must be 0 or 1)");
    // GDCM's pixel codecs assert Bits Stored == Bits Allocated when 8 bits are allocated (ImageCodec::
    // DecodeByStreams). GDCM ignores a Bits Stored of 0 or above Bits Allocated (it stays Bits Allocated).
    const int allocated = gdcm_bit_count(bits_allocated_), stored = gdcm_bit_count(bits_stored_);
    // Bits Allocated is 1 or whole bytes (PS3.5 8.1.1); GDCM's JPEG codec has no decoder for anything but 8 or
    // 16 allocated bits and asserts (JPEGCodec::GetHeaderInfo).
    static const int kAllocatable[] = {0, 1, 8, 12, 16, 24, 32, 64};
    if (std::find(std::begin(kAllocatable), std::end(kAllocatable), allocated) == std::end(kAllocatable))
      return truncated(0, "Bits Allocated " + std::to_string(allocated) + " is not a valid pixel size");
    if (jpeg_ && allocated != 8 && allocated != 16 && pixel_data_present_)
      return unsupported("JPEG pixel data with Bits Allocated " + std::to_string(allocated) + " is not supported");
    if (allocated == 8 && stored >= 1 && stored < 8)
      return unsupported("Bits Stored " + std::to_string(stored) + " with Bits Allocated 8 is not supported");
    if (rle_ && encapsulated_) {
      const Walk walk = check_rle_frames(samples, allocated);
      if (walk != Walk::ok) return walk;
    }
    if (!palette_) return Walk::ok;
    if (allocated != 8 && allocated != 16)
      return truncated(0, "PALETTE COLOR with Bits Allocated " + std::to_string(allocated) + " (must be 8 or 16)");
    // Each of red, green, blue: a descriptor and LUT data of entries x bits / 8 bytes (or segmented data);
    // GDCM aborts otherwise (LookupTable::SetLUT, PixmapReader).
    // GDCM uses the plain table when there is one, else the segmented one (16-bit pixels only: it asserts on
    // 8), which must expand to exactly the descriptor's number of entries (LookupTable::SetLUT).
    for (int i = 0; i < 3; ++i) {
      const bool sized = lut_bits_[i] == 8 || lut_bits_[i] == 16;
      const bool plain = lut_bytes_[i] >= 0;
      const bool data_fits = plain && lut_entries_[i] * (lut_bits_[i] / 8) == lut_bytes_[i];
      const bool segments_fit = !plain && segmented_[i] && allocated == 16 && lut_bits_[i] == 16 &&
                                segmented_entries(segmented_at_[i].first, segmented_at_[i].second) == lut_entries_[i];
      if (!sized || !(data_fits || segments_fit))
        return truncated(0, "the PALETTE COLOR lookup table " + std::to_string(i) + " is missing or inconsistent");
    }
    return Walk::ok;
  }

  // Entries of a segmented 16-bit lookup table (PS3.3 C.7.9.2), as GDCM's ExpandPalette would produce them, or
  // -1 for what GDCM would read out of bounds or cannot expand: a segment past the data, a linear segment
  // first, an unknown opcode before the end. Indirect segments (copies of earlier ones) are refused: GDCM
  // follows them without bounds or cycle checks.
  std::int64_t segmented_entries(std::uint64_t pos, std::uint32_t length) {
    if (length % 2 != 0 || length > (1u << 20)) return -1;
    std::vector<unsigned char> bytes(length);
    if (!read(pos, bytes.data(), length)) return -1;
    const std::size_t words = length / 2;
    auto word = [&](std::size_t i) { return u16(bytes.data() + 2 * i); };
    std::int64_t entries = 0;
    for (std::size_t i = 0; i < words;) {
      const std::uint16_t opcode = word(i);
      if (opcode > 1 || i + 1 >= words) return -1;
      const std::size_t size = opcode == 0 ? 2 + static_cast<std::size_t>(word(i + 1)) : 3;
      if (i + size > words || (opcode == 1 && entries == 0)) return -1;
      entries += word(i + 1);
      i += size;
    }
    return entries;
  }

  Walk unsupported(const std::string& what) {
    problem_ = what;
    return Walk::unsupported;
  }

  Walk truncated(std::uint64_t pos, const std::string& what) {
    problem_ = "the data set is truncated or damaged at byte " + std::to_string(pos) + ": " + what;
    return Walk::truncated;
  }

  // Data elements from `pos` up to `limit`; inside an undefined-length item, up to its delimiter.
  Walk elements(std::uint64_t& pos, std::uint64_t limit, bool in_undefined_item, int depth) {
    if (depth > kMaxDepth) return truncated(pos, "sequences nested deeper than " + std::to_string(kMaxDepth));
    std::int64_t previous_tag = -1;
    while (pos < limit) {
      unsigned char h[12];
      if (limit - pos < 8 || !read(pos, h, 8)) return truncated(pos, "cut inside a data element header");
      const std::uint16_t group = u16(h), element = u16(h + 2);
      // PS3.5 7.1: ascending tags, each once. GDCM keeps one of two equal tags and asserts on what follows.
      const std::int64_t tag = (static_cast<std::int64_t>(group) << 16) | element;
      if (group != 0xfffe) {
        if (tag <= previous_tag) return truncated(pos, tag_text(group, element) + " is out of ascending tag order");
        previous_tag = tag;
        if (depth == 0) top_tag_ = tag;
        if (depth == 0 && tag == kRegionSequence) region_sequence_seen_ = true;
        if (depth == 0 && tag == 0x00080016) sop_class_present_ = true;
        if (depth == 0 && tag == 0x7fe00010) pixel_data_present_ = true;
      }
      if (group == 0xfffe) {
        if (element == 0xe00d && in_undefined_item) {
          pos += 8;
          return Walk::ok;
        }
        return truncated(pos, "item tag " + tag_text(group, element) + " outside a sequence");
      }
      std::uint32_t length = 0;
      std::uint64_t header = 8;
      bool sequence_like = true;  // may have an undefined length
      bool sequence = false;      // explicit SQ: its items are checked too
      if (explicit_vr_) {
        const char vr[2] = {static_cast<char>(h[4]), static_cast<char>(h[5])};
        const std::string name(vr, 2);
        if (!known_vr(vr)) {
          // GDCM would guess (VR16, explicit/implicit mixtures), each guess reading other bytes as the length
          // and allocating it: refused instead.
          return truncated(pos, tag_text(group, element) + " has an invalid VR in an explicit VR data set");
        } else if (long_form_vr(vr)) {
          if (limit - pos < 12 || !read(pos, h, 12)) return truncated(pos, "cut inside the header of " + tag_text(group, element));
          length = u32(h + 8);
          header = 12;
          sequence_like = name == "SQ" || name == "UN" || name == "OB" || name == "OW";
          sequence = name == "SQ";
        } else {
          length = u16(h + 6);
          sequence_like = false;
        }
      } else {
        length = u32(h + 4);
      }
      if (explicit_vr_ && (depth == 0 || (depth == 2 && top_tag_ == kRegionSequence)) &&
          !vr_as_gdcm_reads(tag, static_cast<char>(h[4]), static_cast<char>(h[5])))
        return truncated(pos, tag_text(group, element) + " is encoded with VR " + std::string{static_cast<char>(h[4]), static_cast<char>(h[5])} +
                                  ", not the one its attribute has");
      const std::uint64_t element_pos = pos;
      pos += header;
      // Implicit VR: GDCM knows the region sequence from its dictionary and reads its items.
      if (!explicit_vr_ && depth == 0 && tag == kRegionSequence) sequence = true;
      const bool pixel_data = group == 0x7fe0 && element == 0x0010;
      // GDCM asserts unless an undefined length belongs to an SQ, a UN, or OB/OW pixel data, and on pixel
      // data encoded as SQ or as an undefined-length UN.
      if (explicit_vr_ && pixel_data && (sequence || (length == kUndefinedLength && h[4] == 'U' && h[5] == 'N')))
        return truncated(pos, "Pixel Data (7FE0,0010) encoded as a sequence");
      if (explicit_vr_ && length == kUndefinedLength && !sequence && !(h[4] == 'U' && h[5] == 'N') && !pixel_data)
        sequence_like = false;
      if (length == kUndefinedLength) {
        if (!sequence_like) return truncated(pos, tag_text(group, element) + " has an undefined length but is no sequence");
        // CP-246: the items of an undefined-length UN are implicit VR.
        const bool was_explicit = explicit_vr_;
        if (explicit_vr_ && h[4] == 'U' && h[5] == 'N') explicit_vr_ = false;
        if (pixel_data && depth == 0 && layout_ != nullptr) {
          layout_->found = true;
          layout_->element_pos = element_pos;
        }
        const Walk walk = items(pos, limit, false, pixel_data, depth + 1, tag_text(group, element));
        explicit_vr_ = was_explicit;
        if (walk != Walk::ok) return walk;
        continue;
      }
      if (length > limit - pos) {
        return truncated(pos, tag_text(group, element) + " declares " + std::to_string(length) + " bytes but only " +
                                  std::to_string(limit - pos) + " remain");
      }
      if (depth == 0) remember_image_attribute(group, element, pos, length);
      if (depth == 0 && tag == kGridFrameOffsetVector) grid_offsets_ = count_values(pos, length);
      if (depth == 2) remember_region_attribute(tag, length);
      if (sequence) {
        std::uint64_t inner = pos;
        const Walk walk = items(inner, pos + length, true, false, depth + 1, tag_text(group, element));
        if (walk != Walk::ok) return walk;
      }
      pos += length;
    }
    if (in_undefined_item) return truncated(pos, "an item without its delimiter");
    return Walk::ok;
  }

  // The items of a sequence (or the fragments of encapsulated pixel data) up to the
  // sequence delimiter. Encapsulated pixel data that ends exactly after a whole fragment is accepted.
  // A defined-length sequence (`defined`) ends at `limit`, with or without a delimiter.
  Walk items(std::uint64_t& pos, std::uint64_t limit, bool defined, bool fragments, int depth, const std::string& owner) {
    if (depth > kMaxDepth) return truncated(pos, "sequences nested deeper than " + std::to_string(kMaxDepth));
    if (depth == 1) top_item_count_ = 0;
    if (depth == 1 && fragments) encapsulated_ = true;
    while (true) {
      if (pos == limit && (fragments || defined)) return Walk::ok;
      unsigned char h[8];
      if (limit - pos < 8 || !read(pos, h, 8)) return truncated(pos, owner + " ends without its sequence delimiter");
      const std::uint16_t group = u16(h), element = u16(h + 2);
      const std::uint32_t length = u32(h + 4);
      pos += 8;
      if (group != 0xfffe || (element != 0xe000 && element != 0xe0dd))
        return truncated(pos - 8, "found " + tag_text(group, element) + " where an item of " + owner + " was expected");
      // GDCM reads the delimiter of encapsulated pixel data like a fragment: a length there is allocated
      // (4 GB, found by the dicom fuzzer). PS3.5 7.5 requires 0.
      if (element == 0xe0dd && fragments && length != 0)
        return truncated(pos - 8, "the sequence delimiter of " + owner + " declares " + std::to_string(length) + " bytes (must be 0)");
      if (element == 0xe0dd) return Walk::ok;
      if (depth == 1) ++top_item_count_;
      if (length == kUndefinedLength) {
        if (fragments) return truncated(pos - 8, "a fragment of " + owner + " has an undefined length");
        const Walk walk = elements(pos, limit, true, depth + 1);
        if (walk != Walk::ok) return walk;
        continue;
      }
      if (length > limit - pos) {
        return truncated(pos, "an item of " + owner + " declares " + std::to_string(length) + " bytes but only " +
                                  std::to_string(limit - pos) + " remain");
      }
      if (fragments && depth == 1 && layout_ != nullptr && layout_->found) remember_fragment(pos, length);
      if (fragments && jpeg_ && length >= 2) {
        std::string fragment(length, '\0');
        if (!read(pos, fragment.data(), length)) return truncated(pos, "cut inside a fragment of " + owner);
        const bool starts_image = static_cast<unsigned char>(fragment[0]) == 0xff && static_cast<unsigned char>(fragment[1]) == 0xd8;
        if (starts_image && jpeg_header_warns(fragment.data(), fragment.size()))
          return truncated(pos, "the JPEG header of a fragment of " + owner + " is damaged");
        const int precision = starts_image ? jpeg_sample_precision(fragment.data(), fragment.size()) : -1;
        // GDCM's IJG codecs exist for 8, 12 and 16 bits and assert on any other precision (GetHeaderInfo).
        if (precision >= 0 && precision != 8 && precision != 12 && precision != 16)
          return truncated(pos, "a JPEG frame of " + owner + " declares a sample precision of " + std::to_string(precision));
        if (starts_image && depth == 1) ++jpeg_images_;
      }
      if (fragments && jpeg_ls_ && depth == 1 && top_item_count_ == 2) {
        std::string fragment(length, '\0');
        if (!read(pos, fragment.data(), length)) return truncated(pos, "cut inside a fragment of " + owner);
        const std::string problem = jpeg_ls_first_fragment_problem(reinterpret_cast<const unsigned char*>(fragment.data()), length);
        if (!problem.empty()) return truncated(pos, "the first JPEG-LS fragment of " + owner + " is damaged: " + problem);
      }
      if (fragments && rle_ && depth == 1 && top_item_count_ >= 2) rle_fragments_.emplace_back(pos, length);
      if (fragments && jpeg2000_ && depth == 1 && top_item_count_ >= 2) {
        const Walk walk = check_jpeg2000_fragment(pos, length, owner);
        if (walk != Walk::ok) return walk;
      }
      if (!fragments) {
        std::uint64_t inner = pos;
        const Walk walk = elements(inner, pos + length, false, depth + 1);
        if (walk != Walk::ok) return walk;
      }
      pos += length;
    }
  }

  void record_pixel_data(PixelDataLayout* layout) { layout_ = layout; }

 private:
  // A fragment after the offset table (item 1): the first must hold a JPEG 2000 header's first 12 bytes
  // (GDCM compares them with the JP2 signature unchecked) and a header that OpenJPEG reads; any that begins a
  // codestream or JP2 file must have marker segments that fit (io/jpeg_check.hpp).
  Walk check_jpeg2000_fragment(std::uint64_t pos, std::uint32_t length, const std::string& owner) {
    if (top_item_count_ == 2 && length < 12)
      return truncated(pos, "the first JPEG 2000 fragment of " + owner + " is " + std::to_string(length) + " bytes");
    std::string fragment(length, '\0');
    if (!read(pos, fragment.data(), length)) return truncated(pos, "cut inside a fragment of " + owner);
    const auto* bytes = reinterpret_cast<const unsigned char*>(fragment.data());
    const bool codestream = length >= 2 && bytes[0] == 0xFF && bytes[1] == 0x4F;
    const bool jp2 = length >= 12 && bytes[0] == 0 && bytes[1] == 0 && bytes[2] == 0 && bytes[3] == 0x0C && bytes[4] == 0x6A;
    const bool first = top_item_count_ == 2;
    if (!first && !codestream && !jp2) return Walk::ok;
    const std::string problem = first ? jpeg2000_first_fragment_problem(bytes, fragment.size())
                                      : jpeg2000_header_problem(bytes, fragment.size());
    if (!problem.empty()) return truncated(pos, "a JPEG 2000 fragment of " + owner + " is damaged: " + problem);
    return Walk::ok;
  }

  // GDCM decodes every RLE frame while it reads the file (io/jpeg_check.hpp), dividing the pixel buffer by the
  // number of fragments: one fragment per frame (PS3.5 A.4.2), each a sound RLE frame for the declared image.
  Walk check_rle_frames(int samples, int allocated) {
    const long frames = number_of_frames_.value_or(1);
    if (static_cast<long>(rle_fragments_.size()) != frames)
      return truncated(0, std::to_string(rle_fragments_.size()) + " RLE fragments for " + std::to_string(frames) + " frame(s) (one per frame)");
    if ((allocated != 8 && allocated != 16) || (samples != 1 && samples != 3))
      return unsupported("RLE pixel data with " + std::to_string(samples) + " sample(s) of " + std::to_string(allocated) +
                         " bits is not supported (1 or 3 samples of 8 or 16 bits)");
    for (std::size_t i = 0; i < rle_fragments_.size(); ++i) {
      const auto [pos, length] = rle_fragments_[i];
      std::string frame(length, '\0');
      if (!read(pos, frame.data(), length)) return truncated(pos, "cut inside RLE frame " + std::to_string(i + 1));
      const std::string problem = rle_frame_problem(reinterpret_cast<const unsigned char*>(frame.data()), frame.size(), rows_,
                                                    columns_, samples, allocated / 8);
      if (!problem.empty())
        return truncated(pos, "RLE frame " + std::to_string(i + 1) + " of " + std::to_string(frames) + " is damaged: " + problem);
    }
    return Walk::ok;
  }

  // The first item of encapsulated pixel data is the basic offset table, the others its fragments.
  void remember_fragment(std::uint64_t pos, std::uint32_t length) {
    if (layout_->offset_table_end == 0) {
      layout_->offset_table_end = pos + length;
      return;
    }
    unsigned char marker[2] = {0, 0};
    const bool starts_image = length >= 2 && read(pos, marker, 2) && marker[0] == 0xff && marker[1] == 0xd8;
    layout_->fragments.emplace_back(pos, length);
    layout_->starts_image.push_back(starts_image);
  }

  PixelDataLayout* layout_ = nullptr;
  std::istream& in_;
  std::uint64_t size_;
  bool explicit_vr_ = true, big_endian_ = false, jpeg_ = false, jpeg2000_ = false, jpeg_ls_ = false, rle_ = false, palette_ = false;
  bool encapsulated_ = false;  // the top-level Pixel Data is encapsulated (fragments)
  std::vector<std::pair<std::uint64_t, std::uint32_t>> rle_fragments_;  // (position, length) after the offset table
  int bits_allocated_ = 0, bits_stored_ = 0;
  int pixel_representation_ = 0;
  int rows_ = 0, columns_ = 0;  // 0: absent, empty or not one US value
  std::optional<int> samples_per_pixel_;  // set when the element is present (0 when unreadable)
  int planar_configuration_ = 0;           // 0xffff when present but unreadable
  bool photometric_present_ = false;
  bool sop_class_present_ = false, pixel_data_present_ = false;
  std::int64_t frame_increment_pointer_ = -1;
  int grid_offsets_ = 0;
  std::optional<long> number_of_frames_;  // set when the element is present (0 when not a number)
  long jpeg_images_ = 0;                   // pixel data fragments that start a JPEG image
  std::int64_t top_tag_ = -1;           // the top-level element being walked
  int top_item_count_ = 0;              // items of that element's sequence so far
  bool region_sequence_seen_ = false;
  std::int64_t region_delta_bytes_[2] = {-1, -1};  // Physical Delta X / Y in the first region item
  std::int64_t lut_entries_[3] = {0, 0, 0}, lut_bits_[3] = {0, 0, 0}, lut_bytes_[3] = {-1, -1, -1};
  bool segmented_[3] = {false, false, false};
  std::pair<std::uint64_t, std::uint32_t> segmented_at_[3] = {};  // position and length of segmented data
  std::string problem_;
};

// The file meta group from `pos`: every group-0002 element must have a defined length that fits, and no SQ
// (GDCM asserts on both). `explicit_only`: after "DICM" the group must be explicit VR and start with its
// (0002,0000) UL group length, so that GDCM never takes its compatibility path (ReadCompat), which asserts on
// damaged input. Without the preamble an implicit VR meta group is accepted. Returns the transfer syntax.
Walk meta_group(Walker& walker, std::uint64_t& pos, bool explicit_only, std::string* transfer_syntax) {
  walker.set_syntax(true, false);
  bool first = true;
  while (pos < walker.size()) {
    unsigned char h[12];
    if (walker.size() - pos < 8 || !walker.read(pos, h, 8)) return walker.truncated(pos, "cut inside the file meta information");
    if (walker.u16(h) != 0x0002) break;
    const char vr[2] = {static_cast<char>(h[4]), static_cast<char>(h[5])};
    const std::uint16_t element = walker.u16(h + 2);
    if (explicit_only && first && (element != 0x0000 || vr[0] != 'U' || vr[1] != 'L' || walker.u16(h + 6) != 4))
      return walker.truncated(pos, "the file meta information does not start with its group length (0002,0000) UL");
    first = false;
    std::uint32_t length = walker.u16(h + 6);
    std::uint64_t header = 8;
    if (!known_vr(vr)) {
      if (explicit_only) return walker.truncated(pos, "a file meta element has an invalid VR");
      length = walker.u32(h + 4);
    } else if (vr[0] == 'S' && vr[1] == 'Q') {
      return walker.truncated(pos, "a sequence in the file meta information");
    } else if (long_form_vr(vr)) {
      if (!walker.read(pos, h, 12)) return walker.truncated(pos, "cut inside the file meta information");
      length = walker.u32(h + 8);
      header = 12;
    }
    if (length == kUndefinedLength || header > walker.size() - pos || length > walker.size() - pos - header)
      return walker.truncated(pos, "a file meta element declares more bytes than the file has");
    if (element == 0x0010) {
      std::string uid(std::min<std::uint32_t>(length, 64), '\0');  // a longer value is no known UID anyway
      if (!walker.read(pos + header, uid.data(), uid.size())) return walker.truncated(pos, "cut inside the file meta information");
      while (!uid.empty() && (uid.back() == '\0' || uid.back() == ' ')) uid.pop_back();
      *transfer_syntax = uid;
    }
    pos += header + length;
  }
  if (explicit_only && first) return walker.truncated(pos, "\"DICM\" is not followed by the file meta information");
  // GDCM reads one tag past the group and asserts when there is none.
  if (pos >= walker.size()) return walker.truncated(pos, "no data set after the file meta information");
  return Walk::ok;
}

// A known transfer syntax named in the file meta group, as GDCM will read the data set. False when unknown.
bool set_named_syntax(Walker& walker, const std::string& syntax) {
  if (syntax.rfind("1.2.840.10008.1.2", 0) != 0) return false;
  walker.set_syntax(syntax != "1.2.840.10008.1.2", syntax == "1.2.840.10008.1.2.2");
  walker.set_jpeg(is_ijg_jpeg_syntax(syntax));
  walker.set_jpeg2000(is_jpeg2000_syntax(syntax));
  walker.set_jpeg_ls(syntax == "1.2.840.10008.1.2.4.80" || syntax == "1.2.840.10008.1.2.4.81");
  walker.set_rle(syntax == kRleLosslessSyntax);
  return true;
}

// GDCM's guess of the encoding from the first element when no meta group names it (FileMetaInformation::
// ReadCompat): group 0008 little endian and group 0800 big endian, explicit when a VR follows the tag; a
// private creator (element 0010) implicit little endian; any other tag with a VR is big endian when its group
// or element exceeds 0xFF. The walk must read what GDCM will read: a little endian file that GDCM takes for
// big endian made it allocate 1.5 GB for one misread length before it gave up.
void guess_syntax_from_first_element(Walker& walker, const unsigned char* h) {
  const std::uint16_t group = static_cast<std::uint16_t>(h[0] | (h[1] << 8));
  const std::uint16_t element = static_cast<std::uint16_t>(h[2] | (h[3] << 8));
  const char vr[2] = {static_cast<char>(h[4]), static_cast<char>(h[5])};
  const bool explicit_vr = known_vr(vr);
  if (group == 0x0008) walker.set_syntax(explicit_vr, false);
  else if (group == 0x0800) walker.set_syntax(explicit_vr, true);
  else if (element == 0x0010) walker.set_syntax(false, false);
  else walker.set_syntax(explicit_vr, explicit_vr && (group > 0xff || element > 0xff));
}

// Without a preamble GDCM reads a meta group if the file starts with one, else guesses (ReadCompat).
Walk headerless(Walker& walker) {
  unsigned char h[8];
  if (!walker.read(0, h, 8)) return walker.truncated(0, "shorter than one data element");
  const std::uint16_t group = static_cast<std::uint16_t>(h[0] | (h[1] << 8));
  const std::uint16_t element = static_cast<std::uint16_t>(h[2] | (h[3] << 8));
  if (group == 0 && element == 0) return walker.truncated(0, "starts with a command group element (0000,0000)");
  std::uint64_t pos = 0;
  std::string syntax;
  if (group == 0x0002) {
    const Walk meta = meta_group(walker, pos, false, &syntax);
    if (meta != Walk::ok || pos >= walker.size()) return meta;
    if (!walker.read(pos, h, 8)) return walker.truncated(pos, "cut inside a data element header");
  }
  if (!set_named_syntax(walker, syntax)) guess_syntax_from_first_element(walker, h);
  const Walk walk = walker.elements(pos, walker.size(), false, 0);
  return walk == Walk::ok ? walker.image_attributes() : walk;
}

constexpr const char* kDeflatedSyntax = "1.2.840.10008.1.2.1.99";
constexpr std::uint64_t kMaxInflatedBytes = 1ull << 30;

// The data set of a deflated file (raw deflate after the file meta group, PS3.5 A.5) inflated in memory, at
// most kMaxInflatedBytes; nullopt when it does not inflate.
std::optional<std::string> inflate_data_set(Walker& walker, std::uint64_t pos) {
  std::string compressed(walker.size() - pos, '\0');
  if (!walker.read(pos, compressed.data(), compressed.size())) return std::nullopt;
  z_stream stream{};
  if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) return std::nullopt;
  stream.next_in = reinterpret_cast<Bytef*>(compressed.data());
  stream.avail_in = static_cast<uInt>(std::min<std::size_t>(compressed.size(), UINT32_MAX));
  std::string out;
  int status = Z_OK;
  char chunk[1 << 16];
  while (status == Z_OK && out.size() <= kMaxInflatedBytes) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk);
    stream.avail_out = sizeof chunk;
    status = inflate(&stream, Z_NO_FLUSH);
    out.append(chunk, sizeof chunk - stream.avail_out);
    if (status == Z_BUF_ERROR && stream.avail_in == 0) break;  // input ended without the end of the stream
  }
  inflateEnd(&stream);
  if (status != Z_STREAM_END || out.size() > kMaxInflatedBytes) return std::nullopt;
  return out;
}

// GDCM inflates a deflated data set and then parses it with the same assertions: the inflated bytes get
// the same walk.
Expected<void> check_deflated(Walker& walker, std::uint64_t pos, const std::string& name) {
  const auto inflated = inflate_data_set(walker, pos);
  if (!inflated) return make_error(ErrorCode::malformed, "reading '" + name + "': the deflated data set does not inflate");
  std::istringstream data_set(*inflated);
  Walker inner(data_set, inflated->size());
  inner.set_syntax(true, false);
  std::uint64_t inner_pos = 0;
  Walk walk = inner.elements(inner_pos, inner.size(), false, 0);
  if (walk == Walk::ok) walk = inner.image_attributes();
  if (walk == Walk::truncated)
    return make_error(ErrorCode::malformed, "reading '" + name + "': in the inflated data set, " + inner.problem());
  if (walk == Walk::unsupported) return make_error(ErrorCode::unsupported, "reading '" + name + "': " + inner.problem());
  return {};
}

}  // namespace

Expected<void> check_dicom_structure(std::istream& in, const std::string& name, PixelDataLayout* pixel_data) {
  in.clear();
  in.seekg(0, std::ios::end);
  const std::streamoff end = in.tellg();
  Walker walker(in, end > 0 ? static_cast<std::uint64_t>(end) : 0);
  if (pixel_data != nullptr) {
    *pixel_data = PixelDataLayout{};
    walker.record_pixel_data(pixel_data);
  }
  auto finish = [&](Walk walk) -> Expected<void> {
    in.clear();
    in.seekg(0);
    if (walk == Walk::truncated) return make_error(ErrorCode::malformed, "reading '" + name + "': " + walker.problem());
    if (walk == Walk::unsupported) return make_error(ErrorCode::unsupported, "reading '" + name + "': " + walker.problem());
    return {};
  };
  char magic[4];
  if (!walker.read(128, magic, 4) || std::string(magic, 4) != "DICM") return finish(headerless(walker));
  std::uint64_t pos = 132;
  std::string syntax;
  const Walk meta = meta_group(walker, pos, true, &syntax);
  if (meta != Walk::ok) return finish(meta);
  if (syntax == kDeflatedSyntax) {
    auto inflated = check_deflated(walker, pos, name);
    in.clear();
    in.seekg(0);
    return inflated;
  }
  if (!set_named_syntax(walker, syntax)) {  // absent or unknown: GDCM guesses from the first element
    unsigned char h[8];
    if (!walker.read(pos, h, 8))
      return finish(pos == walker.size() ? Walk::ok : walker.truncated(pos, "cut inside a data element header"));
    const char vr[2] = {static_cast<char>(h[4]), static_cast<char>(h[5])};
    walker.set_syntax(known_vr(vr), false);
  }
  const Walk walk = walker.elements(pos, walker.size(), false, 0);
  return finish(walk == Walk::ok ? walker.image_attributes() : walk);
}

}  // namespace echo::io_detail
