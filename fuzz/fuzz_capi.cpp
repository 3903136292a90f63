// Target 4: the public C ABI (capi/include/echo/echo.h). One input is a program: a frame recipe (tiny phantom
// or payload pixels, 1..64 px, 1..16 frames) and then a sequence of calls on a few handle slots (cines,
// results, sessions, DICOM reports, a per-input model) with option / input / output structs whose struct_size
// and fields come from the input. Misuse is what the ABI documents as refused: NULL handles and out
// pointers, wrong struct_size, out-of-range indices and enumerations, too-small buffers, calls after an
// error. What is undefined by the ABI is never done: freed handles, buffers smaller than declared, a
// frame_count beyond the frames given, overlapping session calls.
//
// Every call must return a status (or NULL with an error); the harness also checks what the header promises:
// a failure sets echo_last_error() and leaves out-parameters untouched; text and JSON are NUL-terminated and
// of the reported length (JSON parses); counts fit the capacity; ECHO_INTERNAL ("a bug") is a finding.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "echo/echo.h"
#include "echo/synth.hpp"
#include "fuzz_input.hpp"
#include "seed_format.hpp"

namespace {

using echo_fuzz::FuzzInput;

// --- the shared model, loaded once (LLVMFuzzerInitialize is not called by the replay driver) -----------------
const echo_model* shared_model() {
  static const echo_model* model = [] {
    echo_model_options options;
    ECHO_FUZZ_CHECK(echo_model_options_init(&options, sizeof options) == ECHO_OK);
    options.model_path = ECHO_MODELS_DIR "/lv_seg_int8.pt";
    options.precision = ECHO_PRECISION_INT8;
    options.threads = 1;
    options.decode_threads = 1;
    echo_model* loaded = nullptr;
    if (echo_model_load(&options, &loaded) != ECHO_OK) {
      std::fprintf(stderr, "fuzz_capi: the shipped model does not load: %s\n", echo_last_error());
      std::abort();
    }
    return loaded;
  }();
  return model;
}

// --- checks -------------------------------------------------------------------------------------------------
bool known_status(echo_status s) { return s <= ECHO_OK && s >= ECHO_NO_RESULT; }

// Every status: known, a failure carries a message, ECHO_INTERNAL is a bug.
echo_status checked(echo_status s, const char* call) {
  if (!known_status(s) || (s != ECHO_OK && echo_last_error()[0] == '\0') || s == ECHO_INTERNAL) {
    std::fprintf(stderr, "fuzz_capi: %s returned %d (%s): '%s'\n", call, s, echo_status_str(s), echo_last_error());
    std::abort();
  }
  ECHO_FUZZ_CHECK(std::strcmp(echo_status_str(s), "unknown") != 0);
  return s;
}
#define CALL(expr) checked((expr), #expr)

// A struct in a zeroed 1 KiB box, so that any struct_size up to 1024 stays inside the caller's memory; a
// larger one must be refused before the library reads it (ASan sees it otherwise).
template <class T>
struct Boxed {
  alignas(16) unsigned char bytes[1024];
  Boxed() { std::memset(bytes, 0, sizeof bytes); }
  T* get() { return reinterpret_cast<T*>(bytes); }
  T* operator->() { return get(); }
};

std::uint32_t struct_size_for(FuzzInput& in, std::size_t real_size) {
  const std::uint8_t kind = in.byte();
  if (kind < 192) return static_cast<std::uint32_t>(real_size);
  switch (kind % 6) {
    case 0: return 0;
    case 1: return static_cast<std::uint32_t>(real_size - 1);
    case 2: return static_cast<std::uint32_t>(real_size + 1);
    case 3: return static_cast<std::uint32_t>(real_size + 8);
    case 4: return in.u16() % 1024u;
    default: return in.u32();  // anything; above 1024 it must be refused
  }
}

// Output struct: struct_size from the input, the rest a fill pattern; on failure the bytes must be unchanged.
template <class T>
struct OutStruct {
  Boxed<T> box;
  unsigned char before[1024];
  explicit OutStruct(FuzzInput& in) {
    std::memset(box.bytes, 0xA5, sizeof box.bytes);
    box->struct_size = struct_size_for(in, sizeof(T));
    std::memcpy(before, box.bytes, sizeof before);
  }
  T* get() { return box.get(); }
  void after(echo_status s) const {
    if (s != ECHO_OK) ECHO_FUZZ_CHECK(std::memcmp(before, box.bytes, sizeof before) == 0);
  }
};

void check_text(const char* text) { ECHO_FUZZ_CHECK(text != nullptr); (void)std::strlen(text); }

// An int32 enumeration value: mostly a named one, sometimes anything.
std::int32_t enum_value(FuzzInput& in, int count) {
  const std::uint8_t kind = in.byte();
  if (kind < 224) return kind % (count + 1);  // count = the first unnamed value
  return kind < 240 ? -1 - (kind & 3) : static_cast<std::int32_t>(in.u32());
}

// A capacity for a buffer call: the needed size, one less, one more, zero, or a small number.
std::size_t capacity_for(FuzzInput& in, std::size_t needed) {
  switch (in.byte() % 6) {
    case 0: case 1: return needed;
    case 2: return needed ? needed - 1 : 0;
    case 3: return needed + 1;
    case 4: return 0;
    default: return in.byte();
  }
}

// A buffer call on V: size query (NULL buffer), then a copy into exactly `capacity` elements.
template <class V, class Call>
void buffer_call(FuzzInput& in, const char* name, Call&& call) {
  std::size_t needed = 0x5A5A;
  const echo_status query = checked(call(static_cast<V*>(nullptr), 0, &needed), name);
  if (query != ECHO_OK && query != ECHO_BUFFER_TOO_SMALL) {
    ECHO_FUZZ_CHECK(needed == 0x5A5A);  // untouched on failure
    return;
  }
  needed = std::min<std::size_t>(needed, 1u << 24);
  const std::size_t capacity = capacity_for(in, needed);
  std::unique_ptr<V[]> buffer(new V[capacity ? capacity : 1]);
  std::size_t count = 0x5A5A;
  const echo_status s = checked(call(capacity ? buffer.get() : nullptr, capacity, &count), name);
  if (s == ECHO_OK) ECHO_FUZZ_CHECK(count <= needed);
  if (s == ECHO_BUFFER_TOO_SMALL) ECHO_FUZZ_CHECK(count == needed);
  if (s != ECHO_OK && s != ECHO_BUFFER_TOO_SMALL) ECHO_FUZZ_CHECK(count == 0x5A5A);
  // A call that passes the out pointer as NULL must be refused.
  if (in.byte() >= 240) ECHO_FUZZ_CHECK(checked(call(buffer.get(), capacity, nullptr), name) == ECHO_INVALID_ARGUMENT);
}

// A text call (NUL-terminated, out_length without the NUL): the text must have that length.
template <class Call>
void text_call(FuzzInput& in, const char* name, bool json, Call&& call) {
  std::size_t length = 0x5A5A;
  const echo_status query = checked(call(nullptr, 0, &length), name);
  if (query != ECHO_OK && query != ECHO_BUFFER_TOO_SMALL) return;
  const std::size_t capacity = capacity_for(in, length + 1);
  std::unique_ptr<char[]> text(new char[capacity ? capacity : 1]);
  std::size_t written = 0x5A5A;
  const echo_status s = checked(call(capacity ? text.get() : nullptr, capacity, &written), name);
  if (s != ECHO_OK || capacity == 0) return;
  ECHO_FUZZ_CHECK(written == length && written < capacity && text[written] == '\0' && std::strlen(text.get()) == written);
  if (json) ECHO_FUZZ_CHECK(!nlohmann::json::parse(text.get(), text.get() + written, nullptr, false).is_discarded());
}

// --- frames -------------------------------------------------------------------------------------------------
// Pixels of one input: a tiny phantom from the project's generator (cached: mutations keep its parameters),
// or the payload bytes repeated.
struct Pixels {
  int width = 0, height = 0, frames = 0;
  std::vector<std::uint8_t> gray;  // frames * height * width
  std::vector<double> times_ms;
  double mm_per_px = 0;
};

// A fixed set of tiny phantoms, made once (making one per input cost more than the calls under test): loops
// with one measurable beat in both views, other EFs and rates, burned-in colour overlays, an artefact that the
// gate refuses, too short a loop, a single frame.
struct PhantomRecipe {
  echo::SynthView view;
  int frames, fps, heart_rate, ef, seed, width;
  bool overlays;
  std::vector<echo::Artifact> artifacts;
};

const std::vector<Pixels>& phantoms() {
  static const std::vector<Pixels> made = [] {
    const std::vector<PhantomRecipe> recipes = {
        {echo::SynthView::a4c, 16, 25, 140, 40, 3, 64, false, {}},
        {echo::SynthView::a2c, 16, 25, 140, 40, 3, 64, false, {}},
        {echo::SynthView::a4c, 16, 25, 150, 65, 5, 72, false, {}},
        {echo::SynthView::a4c, 16, 30, 120, 25, 7, 64, true, {}},
        {echo::SynthView::a4c, 16, 25, 140, 40, 3, 64, false, {echo::Artifact::blur}},
        {echo::SynthView::a4c, 8, 50, 90, 55, 9, 64, false, {}},
        {echo::SynthView::a2c, 12, 25, 150, 30, 11, 64, false, {echo::Artifact::foreshortened}},
        {echo::SynthView::a4c, 1, 25, 70, 55, 13, 64, false, {}},
    };
    std::vector<Pixels> out;
    for (const PhantomRecipe& r : recipes) {
      echo::SynthParams params;
      params.view = r.view, params.frame_count = r.frames, params.fps = r.fps, params.heart_rate_bpm = r.heart_rate;
      params.ef_percent = r.ef, params.seed = static_cast<std::uint64_t>(r.seed), params.width = r.width;
      params.height = 64, params.overlays = r.overlays, params.artifacts = r.artifacts, params.threads = 1;
      auto c = echo::generate_phantom(params);
      ECHO_FUZZ_CHECK(c.has_value());
      Pixels px;
      px.width = c->cine.cols, px.height = c->cine.rows, px.frames = c->cine.frame_count();
      px.gray = c->cine.gray, px.times_ms = c->cine.frame_times_ms, px.mm_per_px = c->cine.calibration.mm_per_px_x;
      out.push_back(std::move(px));
    }
    return out;
  }();
  return made;
}

const Pixels& phantom_pixels(FuzzInput& in) { return phantoms()[in.byte() % phantoms().size()]; }

Pixels payload_pixels(FuzzInput& in, const std::vector<std::uint8_t>& pattern) {
  Pixels out;
  out.width = in.range(1, 64), out.height = in.range(1, 64), out.frames = in.range(1, 16);
  out.gray.resize(static_cast<std::size_t>(out.width) * out.height * out.frames);
  for (std::size_t i = 0; i < out.gray.size(); ++i) out.gray[i] = pattern.empty() ? 0 : pattern[i % pattern.size()];
  for (int i = 0; i < out.frames; ++i) out.times_ms.push_back(33.3 * i);
  out.mm_per_px = 0.3;
  return out;
}

constexpr int kBytesPerPixel[] = {1, 2, 3, 3, 4};

// The grey frames in one pixel format, with row and frame strides; buffers always hold what the struct says.
struct FrameSet {
  Boxed<echo_frames> frames;
  std::vector<std::uint8_t> buffer;
  std::vector<const void*> pointers;
  std::vector<double> times;
};

// A dimension the library must refuse (0, negative, above 16384), or the real one.
std::int32_t dimension_for(FuzzInput& in, int real) {
  const std::uint8_t kind = in.byte();
  if (kind >= 252) return -static_cast<std::int32_t>(in.u16());
  if (kind >= 248) return 16385 + in.u16();
  return real;
}

void fill_pixel(std::uint8_t* out, int format, std::uint8_t v, int bits) {
  switch (format) {
    case ECHO_PIXEL_GRAY16: {
      const std::uint16_t w = static_cast<std::uint16_t>((v << 8 | v) >> (16 - std::clamp(bits, 9, 16)));
      std::memcpy(out, &w, 2);
      break;
    }
    case ECHO_PIXEL_RGB8: case ECHO_PIXEL_BGR8: out[0] = out[1] = out[2] = v; break;
    case ECHO_PIXEL_RGBA8: out[0] = out[1] = out[2] = v, out[3] = 255; break;
    default: out[0] = v;
  }
}

std::unique_ptr<FrameSet> make_frames(FuzzInput& in, const Pixels& px) {
  auto set = std::make_unique<FrameSet>();
  echo_frames& f = *set->frames.get();
  ECHO_FUZZ_CHECK(echo_frames_init(&f, sizeof f) == ECHO_OK);
  f.struct_size = struct_size_for(in, sizeof f);
  const std::uint8_t format_kind = in.byte();
  f.format = format_kind < 240 ? format_kind % 5 : enum_value(in, 5) + 5;
  f.width = dimension_for(in, px.width);
  f.height = dimension_for(in, px.height);
  const std::uint8_t count_kind = in.byte();
  f.frame_count = count_kind >= 248 ? -static_cast<std::int32_t>(count_kind & 7) : px.frames - count_kind % px.frames;
  f.gray16_bits_stored = 16 - in.range(0, 18);  // 16 (zero input) down to -2
  const int format = f.format >= 0 && f.format < 5 ? f.format : 0;
  const std::size_t bpp = static_cast<std::size_t>(kBytesPerPixel[format]);
  const std::size_t packed = static_cast<std::size_t>(px.width) * bpp;
  const std::uint8_t stride_kind = in.byte();
  f.row_stride_bytes = stride_kind < 128 ? 0 : stride_kind < 240 ? packed + stride_kind % 9 : packed - 1;
  const std::size_t row = std::max<std::size_t>(f.row_stride_bytes ? f.row_stride_bytes : packed, packed);
  const std::size_t frame_bytes = row * static_cast<std::size_t>(px.height);
  const std::uint8_t frame_stride_kind = in.byte();
  f.frame_stride_bytes = frame_stride_kind < 160 ? 0 : frame_stride_kind < 240 ? frame_bytes + frame_stride_kind % 17 : frame_bytes - 1;
  const std::size_t frame_step = std::max(f.frame_stride_bytes ? f.frame_stride_bytes : frame_bytes, frame_bytes);
  // The buffer holds px.frames frames at the largest strides the struct can mean.
  set->buffer.assign(frame_step * static_cast<std::size_t>(px.frames) + 64, 0);
  const int bits = f.gray16_bits_stored == 0 ? 16 : f.gray16_bits_stored;
  for (int i = 0; i < px.frames; ++i)
    for (int y = 0; y < px.height; ++y)
      for (int x = 0; x < px.width; ++x)
        fill_pixel(set->buffer.data() + frame_step * i + row * y + bpp * x, format,
                   px.gray[(static_cast<std::size_t>(i) * px.height + y) * px.width + x], bits);
  f.data = in.byte() >= 248 ? nullptr : set->buffer.data();
  if (in.byte() >= 200) {  // per-frame pointers, one of them NULL sometimes
    for (int i = 0; i < px.frames; ++i) set->pointers.push_back(set->buffer.data() + frame_step * i);
    if (in.byte() >= 224) set->pointers[in.byte() % set->pointers.size()] = nullptr;
    f.frame_data = set->pointers.data();
  }
  const std::uint8_t times_kind = in.byte();
  if (times_kind < 96) {
    set->times = px.times_ms;
  } else if (times_kind < 128) {
    for (int i = 0; i < px.frames; ++i) set->times.push_back(in.real());
  }
  if (!set->times.empty()) f.frame_times_ms = set->times.data();
  f.fps = in.byte() < 200 ? 30.0 : in.real();
  const std::uint8_t calibration_kind = in.byte();
  f.mm_per_px_x = calibration_kind < 128 ? px.mm_per_px : calibration_kind < 200 ? 0.0 : in.real();
  f.mm_per_px_y = calibration_kind < 128 ? px.mm_per_px : calibration_kind < 200 ? 0.0 : in.real();
  f.calibration_trusted = enum_value(in, 2);
  f.reserved0 = in.byte() < 250 ? 0 : static_cast<std::int32_t>(in.u32());
  return set;
}

// One frame of the set for a session push (echo_frame).
Boxed<echo_frame> one_frame(FuzzInput& in, const FrameSet& set, int index) {
  Boxed<echo_frame> frame;
  const echo_frames& f = *const_cast<FrameSet&>(set).frames.get();
  ECHO_FUZZ_CHECK(echo_frame_init(frame.get(), sizeof(echo_frame)) == ECHO_OK);
  frame->struct_size = struct_size_for(in, sizeof(echo_frame));
  frame->format = f.format;
  frame->width = f.width;
  frame->height = f.height;
  frame->row_stride_bytes = f.row_stride_bytes;
  const int format = f.format >= 0 && f.format < 5 ? f.format : 0;
  const std::size_t packed = static_cast<std::size_t>(f.width > 0 && f.width <= 64 ? f.width : 1) * kBytesPerPixel[format];
  const std::size_t row = std::max<std::size_t>(f.row_stride_bytes ? f.row_stride_bytes : packed, packed);
  const std::size_t frame_bytes = row * static_cast<std::size_t>(f.height > 0 && f.height <= 64 ? f.height : 1);
  const std::size_t frame_step = std::max(f.frame_stride_bytes ? f.frame_stride_bytes : frame_bytes, frame_bytes);
  const std::size_t offset = frame_step * static_cast<std::size_t>(index);
  frame->data = in.byte() >= 248 || offset + frame_bytes > set.buffer.size() ? nullptr : set.buffer.data() + offset;
  return frame;
}

// --- handle slots -------------------------------------------------------------------------------------------
constexpr int kSlots = 3;

struct State {
  echo_model* own_model = nullptr;                 // loaded by this input (kModelLoad)
  echo_cine* cines[kSlots] = {};
  echo_result* results[kSlots] = {};
  echo_session* sessions[2] = {};
  std::int64_t pushed[2] = {};                     // frames pushed into each session slot
  echo_dicom_report* reports[2] = {};
  Pixels pixels;
  std::unique_ptr<FrameSet> frames;
  std::vector<std::uint8_t> bytes;                 // a payload for the buffer / file calls
  int beats_seen = 0;

  const echo_model* model(FuzzInput& in) {
    const std::uint8_t k = in.byte();
    if (k >= 248) return nullptr;
    return k >= 160 && own_model ? own_model : shared_model();
  }
  // A slot index; the last value means "a NULL handle".
  template <class H>
  H* pick(FuzzInput& in, H* const (&slots)[kSlots]) { const int i = in.byte() % (kSlots + 1); return i < kSlots ? slots[i] : nullptr; }
  echo_cine* cine(FuzzInput& in) { return pick(in, cines); }
  echo_result* result(FuzzInput& in) { return pick(in, results); }
};

template <class H, class Destroy>
void store(H*& slot, H* handle, Destroy destroy) {
  destroy(slot);
  slot = handle;
}

// A call that makes a handle: on success it must be non-NULL, on failure untouched (NULL here).
template <class H, class Call>
H* make_handle(const char* name, Call&& call) {
  H* handle = nullptr;
  const echo_status s = checked(call(&handle), name);
  ECHO_FUZZ_CHECK((s == ECHO_OK) == (handle != nullptr));
  return handle;
}

void read_options(FuzzInput& in, Boxed<echo_read_options>& options) {
  ECHO_FUZZ_CHECK(echo_read_options_init(options.get(), sizeof(echo_read_options)) == ECHO_OK);
  options->struct_size = struct_size_for(in, sizeof(echo_read_options));
  options->decode_threads = in.byte() < 240 ? 1 : static_cast<std::int32_t>(in.u32());
  if (in.byte() >= 200) options->max_total_pixels = in.u32() % 100000;
  options->max_color_frames = in.range(-3, 4);
  options->reserved0 = in.byte() < 250 ? 0 : 1;
}

// --- result readers -----------------------------------------------------------------------------------------
void read_scalars(FuzzInput& in, const echo_result* r) {
  std::int32_t i32 = 7;
  double d = 7;
  const char* text = nullptr;
  std::size_t count = 0;
  if (CALL(echo_result_quality_pass(r, &i32)) == ECHO_OK) ECHO_FUZZ_CHECK(i32 == 0 || i32 == 1);
  if (CALL(echo_result_quality_score(r, &d)) == ECHO_OK) ECHO_FUZZ_CHECK(d >= 0 && d <= 1);
  if (CALL(echo_result_ef_percent(r, &d)) == ECHO_OK) ECHO_FUZZ_CHECK(std::isfinite(d));
  CALL(echo_result_ef_sd(r, &d));
  CALL(echo_result_ef_median(r, &d));
  CALL(echo_result_edv_ml(r, &d));
  CALL(echo_result_esv_ml(r, &d));
  CALL(echo_result_view_confidence(r, &d));
  CALL(echo_result_heart_rate_bpm(r, &d));
  CALL(echo_result_is_biplane(r, &i32));
  if (CALL(echo_result_is_second_opinion(r, &i32)) == ECHO_OK) ECHO_FUZZ_CHECK(i32 == 1);
  std::int32_t frames = 0, rows = 0, cols = 0;
  CALL(echo_result_dimensions(r, &frames, &rows, &cols));
  for (auto getter : {echo_result_ef_withheld_reason, echo_result_ef_source, echo_result_ef_basis,
                      echo_result_volumes_unavailable_reason, echo_result_view, echo_result_heart_rate_source,
                      echo_result_sdk_version}) {
    text = nullptr;
    if (checked(getter(r, &text), "echo_result text getter") == ECHO_OK) check_text(text);
  }
  // NULL out pointers must be refused.
  if (in.byte() >= 224) {
    ECHO_FUZZ_CHECK(CALL(echo_result_ef_percent(r, nullptr)) == ECHO_INVALID_ARGUMENT);
    ECHO_FUZZ_CHECK(CALL(echo_result_view(r, nullptr)) == ECHO_INVALID_ARGUMENT);
    ECHO_FUZZ_CHECK(CALL(echo_result_dimensions(r, &frames, nullptr, &cols)) == ECHO_INVALID_ARGUMENT);
  }
  if (CALL(echo_result_reason_count(r, &count)) == ECHO_OK) {
    const std::size_t index = in.byte() < 200 ? in.byte() % (count + 2) : in.u64();
    OutStruct<echo_quality_reason> reason(in);
    const echo_status s = CALL(echo_result_reason(r, index, reason.get()));
    reason.after(s);
    if (s == ECHO_OK) {
      ECHO_FUZZ_CHECK(index < count);
      if (reason.get()->struct_size == sizeof(echo_quality_reason)) {
        check_text(reason.get()->code), check_text(reason.get()->message_en), check_text(reason.get()->message_zh);
      }
    }
  }
}

void read_structs(FuzzInput& in, const echo_result* r) {
  OutStruct<echo_ef_classification> classification(in);
  classification.after(CALL(echo_result_ef_classification(r, classification.get())));
  OutStruct<echo_model_info> info(in);
  info.after(CALL(echo_result_model_info(r, info.get())));
  OutStruct<echo_timings> timings(in);
  timings.after(CALL(echo_result_timings(r, timings.get())));
  OutStruct<echo_vlm_answer> vlm(in);
  vlm.after(CALL(echo_result_vlm_answer(r, vlm.get())));
  std::size_t beats = 0;
  if (CALL(echo_result_beat_count(r, &beats)) == ECHO_OK) {
    const std::size_t index = in.byte() < 200 ? in.byte() % (beats + 2) : in.u64();
    OutStruct<echo_beat> beat(in);
    const echo_status s = CALL(echo_result_beat(r, index, beat.get()));
    beat.after(s);
    if (s == ECHO_OK && beat.get()->struct_size == sizeof(echo_beat)) check_text(beat.get()->exclusion_reason);
  }
  const echo_keyframe_kind which = enum_value(in, 2);
  OutStruct<echo_keyframe> keyframe(in);
  const echo_status s = CALL(echo_result_keyframe(r, which, keyframe.get()));
  keyframe.after(s);
  if (s == ECHO_OK && keyframe.get()->struct_size == sizeof(echo_keyframe)) check_text(keyframe.get()->invalid_reason);
}

void read_buffers(FuzzInput& in, const echo_result* r) {
  const echo_curve curve = enum_value(in, 4);
  buffer_call<double>(in, "echo_result_curve", [&](double* out, std::size_t cap, std::size_t* n) {
    return echo_result_curve(r, curve, out, cap, n);
  });
  const echo_keyframe_kind which = enum_value(in, 2);
  switch (in.byte() % 3) {
    case 0:  // capacity counts doubles, the count points: the adaptor converts the count to doubles
      buffer_call<double>(in, "echo_result_contour", [&](double* out, std::size_t cap, std::size_t* n) {
        const echo_status s = echo_result_contour(r, which, out, cap, n);
        if (s == ECHO_OK || s == ECHO_BUFFER_TOO_SMALL) *n *= 2;
        return s;
      });
      break;
    case 1:
      buffer_call<double>(in, "echo_result_discs", [&](double* out, std::size_t cap, std::size_t* n) {
        const echo_status s = echo_result_discs(r, which, out, cap, n);
        if (s == ECHO_OK || s == ECHO_BUFFER_TOO_SMALL) *n *= 4;
        return s;
      });
      break;
    default:
      buffer_call<std::uint8_t>(in, "echo_result_mask", [&](std::uint8_t* out, std::size_t cap, std::size_t* n) {
        return echo_result_mask(r, which, out, cap, n);
      });
  }
  const std::int32_t indent = in.byte() < 240 ? in.range(-3, 8) : static_cast<std::int32_t>(in.u32());
  text_call(in, "echo_result_json", true, [&](char* out, std::size_t cap, std::size_t* n) {
    return echo_result_json(r, indent, out, cap, n);
  });
  const echo_language language = enum_value(in, 2);
  text_call(in, "echo_result_text", false, [&](char* out, std::size_t cap, std::size_t* n) {
    return echo_result_text(r, language, out, cap, n);
  });
}

void render(FuzzInput& in, const echo_result* r) {
  Boxed<echo_render_options> options;
  ECHO_FUZZ_CHECK(echo_render_options_init(options.get(), sizeof(echo_render_options)) == ECHO_OK);
  options->struct_size = struct_size_for(in, sizeof(echo_render_options));
  options->kind = enum_value(in, 3);
  // Sizes: mostly refused ones and the default; a valid one at most 1023 px (8192 x 8192 is valid but slow).
  const auto side = [&in]() -> std::int32_t {
    if (in.byte() < 240) return in.range(-2, 96);
    const std::int32_t raw = static_cast<std::int32_t>(in.u32());
    return raw >= 0 && raw <= 8192 ? raw % 1024 : raw;
  };
  options->width = side();
  options->height = side();
  const echo_render_options* passed = in.byte() >= 240 ? nullptr : options.get();
  OutStruct<echo_image_info> info(in);
  const echo_status query = CALL(echo_result_render(r, passed, nullptr, 0, info.get()));
  info.after(query);
  if (query != ECHO_OK) return;
  const echo_image_info& got = *info.get();
  if (got.struct_size != sizeof(echo_image_info)) return;
  ECHO_FUZZ_CHECK(got.size_bytes == static_cast<std::size_t>(got.height) * got.row_stride_bytes);
  ECHO_FUZZ_CHECK(got.size_bytes <= (std::size_t(1) << 28));
  const std::size_t capacity = capacity_for(in, got.size_bytes);
  std::unique_ptr<std::uint8_t[]> pixels(new std::uint8_t[capacity ? capacity : 1]);
  OutStruct<echo_image_info> second(in);
  const echo_status s = CALL(echo_result_render(r, passed, pixels.get(), capacity, second.get()));
  if (s == ECHO_OK) ECHO_FUZZ_CHECK(capacity >= got.size_bytes);
}

void read_result(FuzzInput& in, const echo_result* r) {
  switch (in.byte() % 4) {
    case 0: read_scalars(in, r); break;
    case 1: read_structs(in, r); break;
    case 2: read_buffers(in, r); break;
    default: render(in, r);
  }
}

void read_cine(FuzzInput& in, const echo_cine* c) {
  OutStruct<echo_cine_info> info(in);
  const echo_status s = CALL(echo_cine_get_info(c, info.get()));
  info.after(s);
  if (s == ECHO_OK && info.get()->struct_size == sizeof(echo_cine_info)) {
    const echo_cine_info& i = *info.get();
    ECHO_FUZZ_CHECK(i.rows > 0 && i.cols > 0 && i.frame_count > 0);
    for (const char* t : {i.source_kind, i.transfer_syntax, i.photometric, i.manufacturer, i.model_name,
                          i.timing_source, i.view_hint})
      check_text(t);
  }
  buffer_call<double>(in, "echo_cine_frame_times", [&](double* out, std::size_t cap, std::size_t* n) {
    return echo_cine_frame_times(c, out, cap, n);
  });
  const std::int32_t index = in.byte() < 224 ? in.range(-1, 17) : static_cast<std::int32_t>(in.u32());
  buffer_call<std::uint8_t>(in, "echo_cine_frame_gray8", [&](std::uint8_t* out, std::size_t cap, std::size_t* n) {
    return echo_cine_frame_gray8(c, index, out, cap, n);
  });
}

// --- sessions -----------------------------------------------------------------------------------------------
void on_beat(const echo_beat_event* event, const echo_beat* beat, void* user_data) {
  ECHO_FUZZ_CHECK(event != nullptr && beat != nullptr && event->struct_size >= sizeof(echo_beat_event) &&
                  beat->exclusion_reason != nullptr);
  ++static_cast<State*>(user_data)->beats_seen;
}

void session_op(FuzzInput& in, State& st) {
  const int slot = in.byte() % 2;
  echo_session*& session = st.sessions[slot];
  switch (in.byte() % 4) {
    case 0: {
      Boxed<echo_session_options> options;
      ECHO_FUZZ_CHECK(echo_session_options_init(options.get(), sizeof(echo_session_options)) == ECHO_OK);
      options->struct_size = struct_size_for(in, sizeof(echo_session_options));
      options->window_frames = in.byte() < 200 ? in.range(0, 20) : static_cast<std::int32_t>(in.u32());
      options->mm_per_px_x = in.byte() < 128 ? st.pixels.mm_per_px : in.real();
      options->mm_per_px_y = in.byte() < 128 ? st.pixels.mm_per_px : in.real();
      options->calibration_trusted = enum_value(in, 2);
      options->gray16_bits_stored = 16 - in.range(0, 18);
      static const std::uint32_t kQueued[] = {64, 1, 2, 0};
      options->max_queued_beats = in.byte() < 200 ? kQueued[in.byte() % 4] : in.u32();
      options->reserved0 = in.byte() < 250 ? 0 : 1;
      const echo_session_options* passed = in.byte() >= 240 ? nullptr : options.get();
      const echo_model* model = st.model(in);
      echo_session* made = make_handle<echo_session>("echo_session_create", [&](echo_session** out) {
        return echo_session_create(model, passed, out);
      });
      store(session, made, echo_session_destroy);
      st.pushed[slot] = 0;
      if (made && in.byte() < 96) CALL(echo_session_set_beat_callback(made, in.flag() ? on_beat : nullptr, &st));
      break;
    }
    case 1: {  // push a run of frames
      const int count = in.range(1, 16);
      const Pixels& px = st.pixels;
      const double loop_ms = px.times_ms.back() + (px.frames > 1 ? px.times_ms[1] - px.times_ms[0] : 33.3);
      for (int i = 0; i < count; ++i) {
        const std::int64_t k = st.pushed[slot]++;  // the loop repeats, with increasing times
        const int index = static_cast<int>(k % px.frames);
        Boxed<echo_frame> frame = one_frame(in, *st.frames, index);
        const double time_ms = in.byte() < 224 ? px.times_ms[index] + loop_ms * static_cast<double>(k / px.frames) : in.real();
        OutStruct<echo_frame_result> result(in);
        const bool want_result = in.byte() >= 32;
        const echo_status s = CALL(echo_session_push_frame(session, frame.get(), time_ms, want_result ? result.get() : nullptr));
        if (want_result) result.after(s);
      }
      break;
    }
    case 2: {
      OutStruct<echo_beat_event> event(in);
      OutStruct<echo_beat> beat(in);
      const echo_status s = CALL(echo_session_poll_beat(session, event.get(), beat.get()));
      event.after(s), beat.after(s);
      std::int64_t pushed = -1;
      std::uint64_t dropped = 0;
      CALL(echo_session_frames_pushed(session, &pushed));
      CALL(echo_session_dropped_beats(session, &dropped));
      buffer_call<double>(in, "echo_session_last_contour", [&](double* out, std::size_t cap, std::size_t* n) {
        const echo_status c = echo_session_last_contour(session, out, cap, n);
        if (c == ECHO_OK || c == ECHO_BUFFER_TOO_SMALL) *n *= 2;
        return c;
      });
      break;
    }
    default:
      echo_session_destroy(session);
      session = nullptr;
  }
}

// --- DICOM reports ------------------------------------------------------------------------------------------
void report_op(FuzzInput& in, State& st) {
  const int slot = in.byte() % 2;
  echo_dicom_report*& report = st.reports[slot];
  switch (in.byte() % 3) {
    case 0: {
      Boxed<echo_dicom_options> options;
      ECHO_FUZZ_CHECK(echo_dicom_options_init(options.get(), sizeof(echo_dicom_options)) == ECHO_OK);
      options->struct_size = struct_size_for(in, sizeof(echo_dicom_options));
      options->overlays = enum_value(in, 2);
      options->series_number = in.byte() < 200 ? in.range(0, 10000) : static_cast<std::int32_t>(in.u32());
      options->reserved0 = in.byte() < 250 ? 0 : 1;
      if (in.byte() >= 192 && !st.bytes.empty()) {
        options->source_data = st.bytes.data();
        options->source_size = in.byte() % (st.bytes.size() + 1);
      }
      if (in.byte() >= 224 && !st.bytes.empty()) {
        options->second_source_data = st.bytes.data();
        options->second_source_size = in.byte() % (st.bytes.size() + 1);
      }
      const echo_dicom_options* passed = in.byte() >= 240 ? nullptr : options.get();
      const echo_result* result = st.result(in);
      echo_dicom_report* made = make_handle<echo_dicom_report>("echo_result_dicom_report", [&](echo_dicom_report** out) {
        return echo_result_dicom_report(result, passed, out);
      });
      store(report, made, echo_dicom_report_destroy);
      break;
    }
    case 1: {
      std::size_t count = 0;
      if (CALL(echo_dicom_report_count(report, &count)) == ECHO_OK) ECHO_FUZZ_CHECK(count >= 1);
      const std::size_t index = in.byte() < 224 ? in.byte() % (count + 2) : in.u64();
      OutStruct<echo_dicom_object> object(in);
      const echo_status s = CALL(echo_dicom_report_object(report, index, object.get()));
      object.after(s);
      if (s == ECHO_OK && object.get()->struct_size == sizeof(echo_dicom_object)) {
        const echo_dicom_object& o = *object.get();
        check_text(o.kind), check_text(o.sop_class_uid), check_text(o.sop_instance_uid);
        ECHO_FUZZ_CHECK(o.data != nullptr && o.size > 132 && std::memcmp(o.data + 128, "DICM", 4) == 0);
      }
      if (in.byte() >= 248) {  // all or nothing into a scratch folder
        const std::string dir = echo_fuzz::scratch_path(".report");
        CALL(echo_dicom_report_write(report, in.flag() ? dir.c_str() : nullptr));
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
      }
      break;
    }
    default:
      echo_dicom_report_destroy(report);
      report = nullptr;
  }
}

// --- creation, analysis, misuse -----------------------------------------------------------------------------
void make_cine(FuzzInput& in, State& st) {
  echo_cine* made = nullptr;
  switch (in.byte() % 3) {
    case 0:
      made = make_handle<echo_cine>("echo_cine_from_frames", [&](echo_cine** out) {
        return echo_cine_from_frames(in.byte() >= 248 ? nullptr : st.frames->frames.get(), out);
      });
      break;
    case 1: {
      Boxed<echo_read_options> options;
      read_options(in, options);
      const echo_read_options* passed = in.byte() >= 224 ? nullptr : options.get();
      const std::size_t size = st.bytes.empty() ? 0 : in.byte() % (st.bytes.size() + 1);
      made = make_handle<echo_cine>("echo_cine_load_buffer", [&](echo_cine** out) {
        return echo_cine_load_buffer(in.byte() >= 248 ? nullptr : st.bytes.data(), size, passed, out);
      });
      break;
    }
    default: {  // a file: the payload under a name the reader dispatches on, or paths that are not files
      static const char* const kExtensions[] = {".dcm", ".avi", ".png", ""};
      const std::uint8_t kind = in.byte();
      const std::string path = echo_fuzz::scratch_path(kExtensions[kind & 3]);
      const char* passed = path.c_str();
      if (kind >= 192) passed = kind & 4 ? "" : kind & 8 ? "/nonexistent/echo_fuzz" : "/tmp";
      else if (!echo_fuzz::write_bytes(path, st.bytes.data(), st.bytes.size())) return;
      Boxed<echo_read_options> options;
      read_options(in, options);
      made = make_handle<echo_cine>("echo_cine_load_file", [&](echo_cine** out) {
        return echo_cine_load_file(kind >= 250 ? nullptr : passed, in.byte() >= 192 ? nullptr : options.get(), out);
      });
      std::error_code ec;
      std::filesystem::remove(path, ec);
    }
  }
  store(st.cines[in.byte() % kSlots], made, echo_cine_destroy);
}

void analyze(FuzzInput& in, State& st) {
  const echo_model* model = st.model(in);
  echo_result* made = nullptr;
  switch (in.byte() % 4) {
    case 0:
      made = make_handle<echo_result>("echo_analyze_frames", [&](echo_result** out) {
        return echo_analyze_frames(model, in.byte() >= 248 ? nullptr : st.frames->frames.get(), out);
      });
      break;
    case 1: {
      const echo_cine* cine = st.cine(in);
      made = make_handle<echo_result>("echo_analyze_cine", [&](echo_result** out) { return echo_analyze_cine(model, cine, out); });
      break;
    }
    case 2: {
      const echo_cine* a4c = st.cine(in);
      const echo_cine* a2c = st.cine(in);
      made = make_handle<echo_result>("echo_analyze_biplane", [&](echo_result** out) {
        return echo_analyze_biplane(model, a4c, a2c, out);
      });
      break;
    }
    default: {
      const std::size_t size = st.bytes.empty() ? 0 : in.byte() % (st.bytes.size() + 1);
      made = make_handle<echo_result>("echo_analyze_buffer", [&](echo_result** out) {
        return echo_analyze_buffer(model, in.byte() >= 248 ? nullptr : st.bytes.data(), size, out);
      });
    }
  }
  if (in.byte() >= 240) {  // a NULL out pointer is refused
    ECHO_FUZZ_CHECK(CALL(echo_analyze_cine(model, st.cine(in), nullptr)) == ECHO_INVALID_ARGUMENT);
  }
  store(st.results[in.byte() % kSlots], made, echo_result_destroy);
}

// echo_model_load with fuzzed options: paths that are not a model, the shipped ones, bad enumerations.
void load_model(FuzzInput& in, State& st) {
  Boxed<echo_model_options> options;
  ECHO_FUZZ_CHECK(echo_model_options_init(options.get(), sizeof(echo_model_options)) == ECHO_OK);
  options->struct_size = struct_size_for(in, sizeof(echo_model_options));
  options->device = in.byte() < 200 ? ECHO_DEVICE_CPU : enum_value(in, 3);
  options->precision = enum_value(in, 4);
  static const std::int32_t kThreads[] = {1, 1, 1, 0, 2, -1, 1025};
  options->threads = kThreads[in.byte() % 7];  // the valid ones kept small: LibTorch's thread count is process-wide
  options->batch_size = in.byte() < 200 ? in.range(0, 8) : static_cast<std::int32_t>(in.u32());
  options->sex = enum_value(in, 3);
  static const char* const kPaths[] = {ECHO_MODELS_DIR "/lv_seg_int8.pt", ECHO_MODELS_DIR "/lv_seg_fp32.pt",
                                       ECHO_MODELS_DIR "/lv_seg_int8.json", ECHO_MODELS_DIR, "", "/nonexistent.pt",
                                       nullptr};
  options->model_path = kPaths[in.byte() % 7];
  options->enable_vlm = in.byte() < 240 ? 0 : enum_value(in, 2);
  options->vlm_language = enum_value(in, 2);
  static const char* const kVlmPaths[] = {nullptr, "", "/nonexistent.pt", ECHO_MODELS_DIR "/vlm/vlm.json"};
  options->vlm_model_path = kVlmPaths[in.byte() % 4];
  options->vlm_tolerance_points = in.byte() < 200 ? 10.0 : in.real();
  options->lead_with_vlm = enum_value(in, 2);
  options->decode_threads = in.byte() < 200 ? 1 : static_cast<std::int32_t>(in.u32());
  if (in.byte() >= 200) options->max_total_pixels = in.u64();
  echo_model* made = make_handle<echo_model>("echo_model_load", [&](echo_model** out) {
    return echo_model_load(in.byte() >= 248 ? nullptr : options.get(), out);
  });
  if (made) {
    OutStruct<echo_model_info> info(in);
    info.after(CALL(echo_model_get_info(made, info.get())));
  }
  store(st.own_model, made, echo_model_destroy);
}

// Calls that must be refused whatever the state: NULL handles, NULL out pointers, bad struct sizes, the
// *_init functions with wrong sizes, empty model buffers, files that do not exist.
void misuse(FuzzInput& in) {
  echo_result* result = nullptr;
  echo_cine* cine = nullptr;
  echo_model* model = nullptr;
  std::size_t n = 0;
  const std::size_t size = in.u16() % 2048;
  unsigned char box[2048] = {};
  switch (in.byte() % 14) {
    case 0: CALL(echo_model_options_init(in.flag() ? nullptr : reinterpret_cast<echo_model_options*>(box), size)); break;
    case 1: CALL(echo_frames_init(in.flag() ? nullptr : reinterpret_cast<echo_frames*>(box), size)); break;
    case 2: CALL(echo_frame_init(reinterpret_cast<echo_frame*>(box), size)); break;
    case 3: CALL(echo_read_options_init(reinterpret_cast<echo_read_options*>(box), size)); break;
    case 4: CALL(echo_render_options_init(reinterpret_cast<echo_render_options*>(box), size)); break;
    case 5: CALL(echo_session_options_init(reinterpret_cast<echo_session_options*>(box), size)); break;
    case 6: CALL(echo_dicom_options_init(reinterpret_cast<echo_dicom_options*>(box), size)); break;
    case 7: CALL(echo_validate_options_init(reinterpret_cast<echo_validate_options*>(box), size)); break;
    case 8:
      ECHO_FUZZ_CHECK(CALL(echo_model_load_from_memory(nullptr, in.byte(), box, 0, nullptr, &model)) != ECHO_OK);
      ECHO_FUZZ_CHECK(CALL(echo_model_load_from_memory(box, 0, box, 1, nullptr, &model)) != ECHO_OK);
      ECHO_FUZZ_CHECK(CALL(echo_model_load_from_memory(box, 1, box, 1, nullptr, nullptr)) != ECHO_OK);
      break;
    case 9:
      ECHO_FUZZ_CHECK(CALL(echo_analyze_file(nullptr, "/nonexistent.dcm", &result)) != ECHO_OK);
      ECHO_FUZZ_CHECK(CALL(echo_analyze_file(shared_model(), in.flag() ? nullptr : "/nonexistent.dcm", &result)) != ECHO_OK);
      break;
    case 10:
      ECHO_FUZZ_CHECK(CALL(echo_cine_load_buffer(box, 0, nullptr, &cine)) != ECHO_OK);
      ECHO_FUZZ_CHECK(CALL(echo_cine_from_frames(nullptr, &cine)) != ECHO_OK);
      ECHO_FUZZ_CHECK(CALL(echo_cine_get_info(nullptr, nullptr)) != ECHO_OK);
      break;
    case 11:
      ECHO_FUZZ_CHECK(CALL(echo_model_get_info(nullptr, nullptr)) != ECHO_OK);
      ECHO_FUZZ_CHECK(CALL(echo_session_create(nullptr, nullptr, nullptr)) != ECHO_OK);
      ECHO_FUZZ_CHECK(CALL(echo_session_push_frame(nullptr, nullptr, 0, nullptr)) != ECHO_OK);
      ECHO_FUZZ_CHECK(CALL(echo_dicom_report_write(nullptr, nullptr)) != ECHO_OK);
      break;
    case 12:
      ECHO_FUZZ_CHECK(CALL(echo_review_apply(nullptr, "/nonexistent", "/nonexistent")) != ECHO_OK);
      ECHO_FUZZ_CHECK(CALL(echo_validate(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr)) != ECHO_OK);
      ECHO_FUZZ_CHECK(CALL(echo_validate(shared_model(), "/nonexistent", "/nonexistent.csv", "/nonexistent", nullptr,
                                         nullptr)) != ECHO_OK);
      break;
    default:
      ECHO_FUZZ_CHECK(std::strcmp(echo_version(), ECHO_VERSION_STRING) == 0 && echo_abi_version() == ECHO_ABI_VERSION);
      (void)echo_status_str(static_cast<echo_status>(in.u32()));
      check_text(echo_last_error());
      (void)n;
  }
  ECHO_FUZZ_CHECK(result == nullptr && cine == nullptr && model == nullptr);
}

void destroy_all(FuzzInput& in, State& st) {
  if (in.flag()) {  // the model first: sessions and results may outlive it
    echo_model_destroy(st.own_model);
    st.own_model = nullptr;
  }
  for (auto*& s : st.sessions) echo_session_destroy(s), s = nullptr;
  for (auto*& r : st.reports) echo_dicom_report_destroy(r), r = nullptr;
  for (auto*& r : st.results) echo_result_destroy(r), r = nullptr;
  for (auto*& c : st.cines) echo_cine_destroy(c), c = nullptr;
  echo_model_destroy(st.own_model);
  st.own_model = nullptr;
  echo_model_destroy(nullptr), echo_result_destroy(nullptr), echo_cine_destroy(nullptr);
  echo_session_destroy(nullptr), echo_dicom_report_destroy(nullptr);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)shared_model();
  (void)phantoms();
  return 0;
}

// Layout of one input: a 128-byte header (pixels recipe, payload length, the frames struct), then 64-byte call
// blocks (an op byte and its arguments; a block cut short reads as zeros, and zeros are the ordinary call),
// and the payload (bytes for the buffer / file calls and payload pixels) at the end.
static constexpr std::size_t kHeaderBytes = echo_fuzz::kCapiHeaderBytes, kBlockBytes = echo_fuzz::kCapiBlockBytes;

static FuzzInput block(FuzzInput& in, std::size_t bytes) {
  FuzzInput out(in.rest(), std::min(bytes, in.remaining()));
  in.take(bytes);
  return out;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)shared_model();
  (void)phantoms();
  FuzzInput whole(data, size);
  FuzzInput header = block(whole, kHeaderBytes);
  State st;
  const std::size_t payload = std::min<std::size_t>(header.range(0, 512), whole.remaining());
  st.bytes.assign(whole.rest() + whole.remaining() - payload, whole.rest() + whole.remaining());
  FuzzInput program(whole.rest(), whole.remaining() - payload);
  st.pixels = header.byte() < 192 ? phantom_pixels(header) : payload_pixels(header, st.bytes);
  st.frames = make_frames(header, st.pixels);
  for (int step = 0; step < 24 && program.remaining() > 0; ++step) {
    FuzzInput in = block(program, kBlockBytes);
    switch (in.byte() % 10) {
      case 0: make_cine(in, st); break;
      case 1: analyze(in, st); break;
      case 2: read_result(in, st.result(in)); break;
      case 3: read_cine(in, st.cine(in)); break;
      case 4: session_op(in, st); break;
      case 5: report_op(in, st); break;
      case 6: {  // destroy one handle (the slot is cleared: a handle is destroyed once)
        const int i = in.byte() % kSlots;
        if (in.flag()) echo_cine_destroy(st.cines[i]), st.cines[i] = nullptr;
        else echo_result_destroy(st.results[i]), st.results[i] = nullptr;
        break;
      }
      case 7: if (in.byte() >= 240) load_model(in, st); break;  // a full model load: ~1.5 s under ASan
      case 8: misuse(in); break;
      default: st.frames = make_frames(in, st.pixels);  // new frame structs over the same pixels
    }
  }
  destroy_all(header, st);
  return 0;
}
