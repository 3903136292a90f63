/*
 * echo/echo.h: the stable C ABI (v1) of the EchoAnalyzer SDK (libechoanalyzer.so.1).
 *
 * C99, no C++ types, no exceptions across the boundary. Every result is a second opinion that a
 * clinician must confirm.
 *
 * Conventions (docs/c_api.md says more):
 *  - Handles are opaque and typed: echo_model (a loaded model plus the analysis options), echo_cine (a
 *    loaded cine loop), echo_result (one analysis), echo_session (one live stream). Every *_create / *_load
 *    has a *_destroy that accepts NULL.
 *  - Options and result structs are passed by pointer and start with `uint32_t struct_size`. Fill options
 *    with the matching echo_*_init(&s, sizeof s) before changing fields. The library reads (and, for
 *    output structs, writes) only the first struct_size bytes; a struct_size smaller than the v1 struct
 *    or larger than this library knows is rejected with ECHO_INVALID_ARGUMENT. Fields are only ever
 *    appended, so a program built against an older header keeps working with a newer library.
 *  - Every fallible function returns an echo_status: ECHO_OK (0) or a negative code. Codes are never
 *    renumbered. On failure the out-parameters are left untouched (one documented exception: the
 *    `*out_count` / `*out_length` / `*out_size` of a buffer call is set to the required size when it
 *    returns ECHO_BUFFER_TOO_SMALL) and echo_last_error() tells why, on the calling thread.
 *    No exception and no signal ever leaves the library because of bad input.
 *  - A quality-gate rejection is a result, not an error: the analysis returns ECHO_OK, the result says
 *    quality pass = 0 and why, and the EF accessors return ECHO_NO_RESULT.
 *  - Strings are UTF-8 and NUL-terminated. A `const char*` handed out by the library is owned by the handle
 *    it came from and stays valid until that handle is destroyed (unless stated otherwise).
 *  - Input pixel buffers are borrowed for the duration of the call only; the library keeps no pointer.
 *  - Buffer calls take (buffer, capacity) and report the size needed; pass buffer = NULL (capacity 0) to
 *    ask for the size without copying.
 *  - Booleans are int32_t 0 / 1. Enumerations are int32_t with named constants; new constants may be
 *    added, existing ones never change value.
 *
 * Threading:
 *  - echo_model and echo_cine are immutable after creation: any number of threads may use one at once
 *    (for example many echo_analyze_* calls and echo_session_create on one shared model). Destroy a model
 *    only after every call that uses it has returned; sessions and results keep what they need, so they
 *    may outlive the model they came from.
 *  - echo_result is immutable: any number of threads may read one at once; destroy it once, after the
 *    last reader.
 *  - echo_session is used by one thread at a time (calls on one session must not overlap); different
 *    sessions may run on different threads at once. The beat callback runs on the thread that called
 *    echo_session_push_frame, before that call returns; it must not call echo_session_destroy on its own
 *    session.
 *  - echo_last_error() is thread-local.
 *
 * Versioning: ECHO_ABI_VERSION is the SONAME major; it changes only on a breaking change, which is made
 * only after the affected function or field was marked deprecated for at least one minor release.
 */
#ifndef ECHO_ECHO_H
#define ECHO_ECHO_H

#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------------------------------------------- */
/* Export macro and versions                                                                             */

#if defined(_WIN32)
#  if defined(ECHO_BUILDING_LIBRARY)
#    define ECHO_API __declspec(dllexport)
#  else
#    define ECHO_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define ECHO_API __attribute__((visibility("default")))
#else
#  define ECHO_API
#endif

#if defined(__GNUC__) || defined(__clang__)
#  define ECHO_DEPRECATED(message) __attribute__((deprecated(message)))
#else
#  define ECHO_DEPRECATED(message)
#endif

#define ECHO_VERSION_MAJOR 0
#define ECHO_VERSION_MINOR 1
#define ECHO_VERSION_PATCH 0
#define ECHO_VERSION_STRING "0.1.0"
/* The C ABI major: the library's SONAME is libechoanalyzer.so.ECHO_ABI_VERSION. */
#define ECHO_ABI_VERSION 1

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version "MAJOR.MINOR.PATCH" (static string) and its ABI major. Compare them with the
 * macros above to detect a header / library mismatch at run time. */
ECHO_API const char* echo_version(void);
ECHO_API int32_t echo_abi_version(void);

/* ---------------------------------------------------------------------------------------------------- */
/* Status codes                                                                                          */

typedef int32_t echo_status;
enum {
  ECHO_OK = 0,
  ECHO_INVALID_ARGUMENT = -1, /* NULL handle, wrong struct_size, out-of-range value, bad frame dims */
  ECHO_NOT_FOUND = -2,        /* a file or resource does not exist */
  ECHO_IO_FAILED = -3,        /* the operating system refused a read or write */
  ECHO_UNSUPPORTED = -4,      /* well-formed input the SDK does not handle (format, syntax, device) */
  ECHO_MALFORMED = -5,        /* the input is damaged or breaks its own format */
  ECHO_TOO_LARGE = -6,        /* a declared size beyond the configured limit, refused before allocation */
  ECHO_MODEL_INVALID = -7,    /* a model file or manifest that fails its contract or its hash */
  ECHO_OUT_OF_MEMORY = -8,
  ECHO_INTERNAL = -9,         /* a bug: please report it with echo_last_error() */
  ECHO_BUFFER_TOO_SMALL = -10, /* a caller-owned output buffer cannot hold the result */
  ECHO_CANCELLED = -11,
  ECHO_NO_RESULT = -12        /* the requested item does not exist in this result (withheld EF, no beat) */
};

/* A static English name of a status ("ok", "invalid_argument", ...; "unknown" for others). Never NULL. */
ECHO_API const char* echo_status_str(echo_status status);

/* The message of the last failed call on this thread ("" when none). Names the input and the reason and
 * never contains patient identifiers. Valid until the next failing echo_* call on this thread; successful
 * calls leave it unchanged. Never NULL. */
ECHO_API const char* echo_last_error(void);

/* ---------------------------------------------------------------------------------------------------- */
/* Handles                                                                                               */

typedef struct echo_model echo_model;     /* loaded model + analysis options; shared by threads */
typedef struct echo_cine echo_cine;       /* a loaded cine loop (grey frames, timing, calibration) */
typedef struct echo_result echo_result;   /* one analysis; immutable */
typedef struct echo_session echo_session; /* one live stream; one thread at a time */

/* ---------------------------------------------------------------------------------------------------- */
/* Enumerations (int32_t)                                                                                */

typedef int32_t echo_device;
enum { ECHO_DEVICE_AUTO = 0, ECHO_DEVICE_CPU = 1, ECHO_DEVICE_CUDA = 2 };

typedef int32_t echo_precision;
enum { ECHO_PRECISION_AUTO = 0, ECHO_PRECISION_FP32 = 1, ECHO_PRECISION_INT8 = 2, ECHO_PRECISION_FP16 = 3 };

typedef int32_t echo_sex;
enum { ECHO_SEX_UNKNOWN = 0, ECHO_SEX_MALE = 1, ECHO_SEX_FEMALE = 2 };

typedef int32_t echo_language;
enum { ECHO_LANGUAGE_EN = 0, ECHO_LANGUAGE_ZH = 1 };

/* Pixel layouts of raw scanner buffers. GRAY16 is scaled to 8 bits by its bits_stored. */
typedef int32_t echo_pixel_format;
enum {
  ECHO_PIXEL_GRAY8 = 0,
  ECHO_PIXEL_GRAY16 = 1, /* native-endian uint16 */
  ECHO_PIXEL_RGB8 = 2,
  ECHO_PIXEL_BGR8 = 3,
  ECHO_PIXEL_RGBA8 = 4
};

/* Per-frame curves of a result (echo_result_curve). */
typedef int32_t echo_curve;
enum {
  ECHO_CURVE_FRAME_TIME_MS = 0, /* frame count values */
  ECHO_CURVE_LV_AREA_MM2 = 1,   /* frame count values; px^2 when the calibration is unknown */
  ECHO_CURVE_LV_VOLUME_ML = 2,  /* frame count values; relative units when the calibration is unknown */
  ECHO_CURVE_EF_PER_BEAT = 3    /* EF of each used beat (excluded beats left out), as the JSON report */
};

/* The two keyframes of a result: the ED and ES frames of the first used beat. */
typedef int32_t echo_keyframe_kind;
enum { ECHO_KEYFRAME_ED = 0, ECHO_KEYFRAME_ES = 1 };

/* Pictures a result can render (echo_result_render). */
typedef int32_t echo_image_kind;
enum {
  ECHO_IMAGE_ED_OVERLAY = 0,  /* the ED frame with contour, long axis and discs; original frame size */
  ECHO_IMAGE_ES_OVERLAY = 1,  /* the same at ES */
  ECHO_IMAGE_VOLUME_CURVE = 2 /* the LV volume (or area) over time with ED / ES marked */
};

/* Severity of a quality reason: a REJECT reason withholds the EF. */
typedef int32_t echo_severity;
enum { ECHO_SEVERITY_INFO = 0, ECHO_SEVERITY_WARNING = 1, ECHO_SEVERITY_REJECT = 2 };

/* Quality-gate reason codes (echo_quality_reason.code_id; .code is the same as a stable string). */
typedef int32_t echo_quality_code;
enum {
  ECHO_QUALITY_BLURRED = 0,
  ECHO_QUALITY_OVERGAIN = 1,
  ECHO_QUALITY_UNDERGAIN = 2,
  ECHO_QUALITY_LOW_CONTRAST = 3,
  ECHO_QUALITY_NOISY = 4,
  ECHO_QUALITY_TOO_FEW_FRAMES = 5,
  ECHO_QUALITY_LOW_FRAME_RATE = 6,
  ECHO_QUALITY_NO_FULL_BEAT = 7,
  ECHO_QUALITY_PROBE_MOTION = 8,
  ECHO_QUALITY_COLOR_DOPPLER = 9,
  ECHO_QUALITY_NON_APICAL_VIEW = 10,
  ECHO_QUALITY_LV_CUT_OFF = 11,
  ECHO_QUALITY_FORESHORTENED = 12,
  ECHO_QUALITY_NO_SECTOR = 13
};

/* EF categories after ASE/EACVI 2015 (echo_ef_classification.category_id). */
typedef int32_t echo_ef_category;
enum {
  ECHO_EF_NORMAL = 0,
  ECHO_EF_MILDLY_REDUCED = 1,
  ECHO_EF_MODERATELY_REDUCED = 2,
  ECHO_EF_SEVERELY_REDUCED = 3,
  ECHO_EF_HYPERDYNAMIC = 4
};

/* What the vision-language model answered. */
typedef int32_t echo_vlm_kind;
enum { ECHO_VLM_UNREADABLE = 0, ECHO_VLM_EF = 1, ECHO_VLM_REJECTION = 2 };

/* ---------------------------------------------------------------------------------------------------- */
/* Model                                                                                                 */

typedef struct echo_model_options {
  uint32_t struct_size;
  echo_device device;            /* ECHO_DEVICE_AUTO: CUDA when the build and machine have it, else CPU */
  echo_precision precision;      /* ECHO_PRECISION_AUTO: INT8 on CPU, FP16 on CUDA */
  int32_t threads;               /* inference threads; 0 = all hardware threads */
  int32_t batch_size;            /* frames per forward pass; 0 = the engine's default */
  echo_sex sex;                  /* for the sex-specific ASE/EACVI EF ranges */
  const char* model_path;        /* model manifest or file; NULL = the installed reference model */
  int32_t enable_vlm;            /* 1: also run the vision-language model */
  echo_language vlm_language;    /* language of the VLM's answer */
  const char* vlm_model_path;    /* NULL = the installed reference VLM */
  double vlm_tolerance_points;   /* VLM vs measured EF cross-check tolerance (default 10) */
  int32_t lead_with_vlm;         /* 1: the result's EF is the VLM's (the measured one stays readable) */
  int32_t decode_threads;        /* threads decoding compressed DICOM frames; 0 = all */
  uint64_t max_total_pixels;     /* frames * rows * cols above this is refused (ECHO_TOO_LARGE) */
} echo_model_options;

/* Fills *options with the defaults. struct_size must be sizeof(echo_model_options) of the caller's header. */
ECHO_API echo_status echo_model_options_init(echo_model_options* options, size_t struct_size);

/* Loads the segmentation model (and the VLM when enabled) and keeps the options. options may be NULL
 * (defaults). The manifest's SHA-256 and contract are checked; a model that does not fit is refused with
 * ECHO_MODEL_INVALID and a message saying what did not fit. */
ECHO_API echo_status echo_model_load(const echo_model_options* options, echo_model** out_model);

/* The same from memory: the TorchScript file and its JSON manifest (both borrowed for the call).
 * options->model_path is ignored. */
ECHO_API echo_status echo_model_load_from_memory(const void* model_data, size_t model_size,
                                                 const void* manifest_data, size_t manifest_size,
                                                 const echo_model_options* options, echo_model** out_model);

ECHO_API void echo_model_destroy(echo_model* model);

typedef struct echo_model_info {
  uint32_t struct_size;
  int32_t vlm_loaded;            /* 1 when the VLM is loaded */
  const char* name;              /* strings owned by the model (or result) they were read from */
  const char* version;
  const char* weights_sha256;
  const char* precision;         /* "fp32", "int8", "fp16" */
  const char* device;            /* "cpu", "cuda" */
  /* Appended after v1 (a caller whose struct ends at `device` still works): 1 when the model's manifest claims
     validation on patient images; 0 for every bundled model (phantoms only): tell the user. */
  int32_t validated_on_real_patients;
  int32_t reserved0;             /* written as 0 */
} echo_model_info;

ECHO_API echo_status echo_model_get_info(const echo_model* model, echo_model_info* out_info);

/* ---------------------------------------------------------------------------------------------------- */
/* Cine loops: DICOM / video / image files, memory buffers, raw frames                                  */

/* One borrowed frame of caller memory. */
typedef struct echo_frame {
  uint32_t struct_size;
  echo_pixel_format format;
  int32_t width;                 /* 1 .. 16384 */
  int32_t height;                /* 1 .. 16384 */
  size_t row_stride_bytes;       /* 0 = tightly packed */
  const void* data;
} echo_frame;

ECHO_API echo_status echo_frame_init(echo_frame* frame, size_t struct_size);

/* Many borrowed frames of one size and layout, with their timing and calibration. */
typedef struct echo_frames {
  uint32_t struct_size;
  echo_pixel_format format;
  int32_t width;
  int32_t height;
  int32_t frame_count;
  int32_t gray16_bits_stored;    /* ECHO_PIXEL_GRAY16 only: significant bits (9..16; default 16) */
  size_t row_stride_bytes;       /* 0 = tightly packed */
  size_t frame_stride_bytes;     /* distance between frames in `data`; 0 = height * row stride */
  const void* data;              /* frame i at data + i * frame_stride_bytes ... */
  const void* const* frame_data; /* ... or, when not NULL, frame i at frame_data[i] (data is ignored) */
  const double* frame_times_ms;  /* frame_count increasing time stamps, or NULL to use fps */
  double fps;                    /* used when frame_times_ms is NULL */
  double mm_per_px_x;            /* 0 when unknown: volumes are then withheld */
  double mm_per_px_y;
  int32_t calibration_trusted;   /* 1: the caller vouches for mm_per_px (volumes in mL) */
  int32_t reserved0;             /* 0 */
} echo_frames;

ECHO_API echo_status echo_frames_init(echo_frames* frames, size_t struct_size);

typedef struct echo_read_options {
  uint32_t struct_size;
  int32_t decode_threads;        /* 0 = all hardware threads */
  uint64_t max_total_pixels;     /* frames * rows * cols above this is refused (ECHO_TOO_LARGE) */
  int32_t max_color_frames;      /* original colour kept for this many frames (-1 all, 0 none) */
  int32_t reserved0;             /* 0 */
} echo_read_options;

ECHO_API echo_status echo_read_options_init(echo_read_options* options, size_t struct_size);

/* DICOM (any transfer syntax the SDK reads), video (AVI/MP4) or still image, by content / extension.
 * options may be NULL (defaults). */
ECHO_API echo_status echo_cine_load_file(const char* path, const echo_read_options* options, echo_cine** out_cine);
/* DICOM from memory (borrowed for the call). */
ECHO_API echo_status echo_cine_load_buffer(const void* data, size_t size, const echo_read_options* options,
                                           echo_cine** out_cine);
/* Raw frames (copied, converted to 8-bit luma). */
ECHO_API echo_status echo_cine_from_frames(const echo_frames* frames, echo_cine** out_cine);
ECHO_API void echo_cine_destroy(echo_cine* cine);

typedef struct echo_cine_info {
  uint32_t struct_size;
  int32_t rows;
  int32_t cols;
  int32_t frame_count;
  double fps;                    /* 0 when unknown */
  double duration_ms;
  double mm_per_px_x;            /* 0 when unknown */
  double mm_per_px_y;
  int32_t calibration_trusted;
  int32_t calibration_source;    /* 0 none, 1 ultrasound region, 2 pixel spacing, 3 caller, 4 synthetic */
  double heart_rate_bpm;         /* from the file; 0 when absent */
  int32_t bits_stored;
  int32_t color_frame_count;     /* frames whose original colour was kept */
  const char* source_kind;       /* "dicom", "video", "image", "raw", "synthetic"; owned by the cine */
  const char* transfer_syntax;   /* e.g. "JPEG Baseline"; "" when not DICOM */
  const char* photometric;
  const char* manufacturer;
  const char* model_name;
  const char* timing_source;
  const char* view_hint;         /* e.g. "a4c" when the source states it, else "" */
} echo_cine_info;

ECHO_API echo_status echo_cine_get_info(const echo_cine* cine, echo_cine_info* out_info);
/* Time stamps of the frames (ms since the first frame). */
ECHO_API echo_status echo_cine_frame_times(const echo_cine* cine, double* out_times, size_t capacity,
                                           size_t* out_count);
/* Frame `index` as 8-bit luma, rows * cols bytes, row-major, tightly packed. */
ECHO_API echo_status echo_cine_frame_gray8(const echo_cine* cine, int32_t index, uint8_t* out_pixels,
                                           size_t capacity, size_t* out_size);

/* ---------------------------------------------------------------------------------------------------- */
/* Analysis                                                                                              */

/* Each returns ECHO_OK with a result (also when the quality gate refuses the image) or an error. The
 * model may be shared: these calls are safe from any number of threads at once. */
ECHO_API echo_status echo_analyze_file(const echo_model* model, const char* path, echo_result** out_result);
ECHO_API echo_status echo_analyze_buffer(const echo_model* model, const void* data, size_t size,
                                         echo_result** out_result);
ECHO_API echo_status echo_analyze_frames(const echo_model* model, const echo_frames* frames,
                                         echo_result** out_result);
ECHO_API echo_status echo_analyze_cine(const echo_model* model, const echo_cine* cine, echo_result** out_result);
/* Biplane method of discs from an apical 4-chamber and an apical 2-chamber cine of the same study. */
ECHO_API echo_status echo_analyze_biplane(const echo_model* model, const echo_cine* a4c, const echo_cine* a2c,
                                          echo_result** out_result);

ECHO_API void echo_result_destroy(echo_result* result);

/* ---------------------------------------------------------------------------------------------------- */
/* Result accessors. Each returns ECHO_OK, ECHO_INVALID_ARGUMENT (NULL result / out pointer / bad index),
 * or ECHO_NO_RESULT when the item does not exist in this result (the message says why).                 */

/* Quality gate. */
ECHO_API echo_status echo_result_quality_pass(const echo_result* result, int32_t* out_pass);
ECHO_API echo_status echo_result_quality_score(const echo_result* result, double* out_score);  /* 0..1 */
ECHO_API echo_status echo_result_reason_count(const echo_result* result, size_t* out_count);

typedef struct echo_quality_reason {
  uint32_t struct_size;
  echo_quality_code code_id;
  echo_severity severity;
  int32_t reserved0;
  const char* code;              /* the same as a stable string: "blurred", "overgain", "non_apical_view" */
  const char* message_en;        /* e.g. "image blurred (sharpness 12.3 < 45.0)" */
  const char* message_zh;        /* e.g. "图像模糊 (清晰度 12.3 < 45.0)" */
  double value;                  /* the measured value (unit in message_en) */
  double threshold;              /* the threshold it crossed */
} echo_quality_reason;

ECHO_API echo_status echo_result_reason(const echo_result* result, size_t index, echo_quality_reason* out_reason);

/* EF (percent). ECHO_NO_RESULT when withheld (see echo_result_ef_withheld_reason). */
ECHO_API echo_status echo_result_ef_percent(const echo_result* result, double* out_ef_percent);
ECHO_API echo_status echo_result_ef_sd(const echo_result* result, double* out_sd_points);
ECHO_API echo_status echo_result_ef_median(const echo_result* result, double* out_median_percent);
/* Why the EF is withheld ("" when it is not). */
ECHO_API echo_status echo_result_ef_withheld_reason(const echo_result* result, const char** out_reason);
/* "measured" or "vlm" (which EF echo_result_ef_percent gives). */
ECHO_API echo_status echo_result_ef_source(const echo_result* result, const char** out_source);
/* "beats" (ED and ES of complete beats) or "loop_extremes" (no ED-to-ED beat could be delimited in a loop that
   covers a heart period: the EF is from the loop's largest and smallest LV, a rougher estimate). */
ECHO_API echo_status echo_result_ef_basis(const echo_result* result, const char** out_basis);

typedef struct echo_ef_classification {
  uint32_t struct_size;
  echo_ef_category category_id;
  const char* category;          /* stable code: "normal", "mildly_reduced", "moderately_reduced", ... */
  const char* heart_failure_class; /* EF band: "HFrEF" (<= 40), "HFmrEF" (41-49), "HFpEF" (>= 50) */
  const char* label_en;          /* "mildly reduced" */
  const char* label_zh;          /* "轻度减低" */
  const char* basis;             /* which ranges were used (sex-specific or not) */
} echo_ef_classification;

ECHO_API echo_status echo_result_ef_classification(const echo_result* result, echo_ef_classification* out);

/* Mean EDV / ESV over used beats in mL. ECHO_NO_RESULT when the calibration is unknown or untrusted
 * (see echo_result_volumes_unavailable_reason) or the EF is withheld. */
ECHO_API echo_status echo_result_edv_ml(const echo_result* result, double* out_edv_ml);
ECHO_API echo_status echo_result_esv_ml(const echo_result* result, double* out_esv_ml);
ECHO_API echo_status echo_result_volumes_unavailable_reason(const echo_result* result, const char** out_reason);

/* View ("a4c", "a2c", "other", "unknown") and the model's confidence. */
ECHO_API echo_status echo_result_view(const echo_result* result, const char** out_view);
ECHO_API echo_status echo_result_view_confidence(const echo_result* result, double* out_confidence);
ECHO_API echo_status echo_result_is_biplane(const echo_result* result, int32_t* out_biplane);
/* Heart rate and where it came from ("r_wave", "autocorrelation", "dicom"). */
ECHO_API echo_status echo_result_heart_rate_bpm(const echo_result* result, double* out_bpm);
ECHO_API echo_status echo_result_heart_rate_source(const echo_result* result, const char** out_source);
/* Frames, rows and cols of the analysed cine (of the A4C for biplane). */
ECHO_API echo_status echo_result_dimensions(const echo_result* result, int32_t* out_frame_count, int32_t* out_rows,
                                            int32_t* out_cols);
/* Always 1: a clinician must confirm the result. */
ECHO_API echo_status echo_result_is_second_opinion(const echo_result* result, int32_t* out_flag);
/* The SDK version that produced the result. */
ECHO_API echo_status echo_result_sdk_version(const echo_result* result, const char** out_version);
ECHO_API echo_status echo_result_model_info(const echo_result* result, echo_model_info* out_info);

/* Heartbeats. */
ECHO_API echo_status echo_result_beat_count(const echo_result* result, size_t* out_count);

typedef struct echo_beat {
  uint32_t struct_size;
  int32_t ed_frame;
  int32_t es_frame;
  int32_t has_volumes;           /* 0: edv_ml / esv_ml are NaN (calibration unknown or untrusted) */
  double ed_time_ms;
  double es_time_ms;
  double edv_ml;
  double esv_ml;
  double ef_percent;
  int32_t excluded;              /* 1: left out of the mean (see exclusion_reason) */
  int32_t reserved0;
  const char* exclusion_reason;  /* "" when used; owned by the result (or session, see below) */
} echo_beat;

ECHO_API echo_status echo_result_beat(const echo_result* result, size_t index, echo_beat* out_beat);

/* Per-frame curves (and EF per beat) copied into caller arrays. */
ECHO_API echo_status echo_result_curve(const echo_result* result, echo_curve curve, double* out_values,
                                       size_t capacity, size_t* out_count);

/* The LV measured on a keyframe (original image pixels). ECHO_NO_RESULT when no beat was found. */
typedef struct echo_keyframe {
  uint32_t struct_size;
  int32_t frame;                 /* frame index in the cine */
  int32_t valid;                 /* 0: the LV could not be measured on this frame (see invalid_reason) */
  int32_t volumes_in_ml;         /* 0: uncalibrated, volumes are relative (px^3) and lengths in px */
  double area_mm2;               /* px^2 when uncalibrated */
  double volume_ml;              /* method of discs; relative units when uncalibrated */
  double volume_area_length_ml;  /* area-length formula; relative units when uncalibrated */
  double long_axis_mm;           /* px when uncalibrated */
  double apex_x;
  double apex_y;
  double annulus_left_x;
  double annulus_left_y;
  double annulus_right_x;
  double annulus_right_y;
  uint64_t contour_point_count;
  uint64_t disc_count;
  const char* invalid_reason;    /* "" when valid */
} echo_keyframe;

ECHO_API echo_status echo_result_keyframe(const echo_result* result, echo_keyframe_kind which,
                                          echo_keyframe* out_keyframe);
/* The LV contour at a keyframe: count points as x0, y0, x1, y1, ... (2 * count doubles; capacity counts
 * doubles, out_count counts points). */
ECHO_API echo_status echo_result_contour(const echo_result* result, echo_keyframe_kind which, double* out_xy,
                                         size_t capacity, size_t* out_point_count);
/* The discs at a keyframe: count discs as x0, y0, x1, y1 of each disc's end points (4 * count doubles). */
ECHO_API echo_status echo_result_discs(const echo_result* result, echo_keyframe_kind which, double* out_segments,
                                       size_t capacity, size_t* out_disc_count);
/* The LV cavity mask at a keyframe: rows * cols bytes, 255 inside the contour (pixel centres), else 0. */
ECHO_API echo_status echo_result_mask(const echo_result* result, echo_keyframe_kind which, uint8_t* out_mask,
                                      size_t capacity, size_t* out_size);

/* Wall-clock time of each stage of this analysis. */
typedef struct echo_timings {
  uint32_t struct_size;
  int32_t reserved0;
  double decode_ms;
  double preprocess_ms;
  double quality_ms;
  double inference_ms;
  double geometry_ms;
  double cardiac_ms;
  double vlm_ms;
  double total_ms;
} echo_timings;

ECHO_API echo_status echo_result_timings(const echo_result* result, echo_timings* out_timings);

/* Vision-language answer and its cross-check with the measured EF. ECHO_NO_RESULT when the VLM did not run. */
typedef struct echo_vlm_answer {
  uint32_t struct_size;
  echo_vlm_kind kind;
  const char* text;              /* exactly what the model produced (UTF-8) */
  int32_t has_ef;
  int32_t compared;              /* 1 when both EFs exist and were compared */
  double ef_percent;             /* NaN unless has_ef */
  double difference_points;      /* VLM - measured; 0 when not compared */
  int32_t disagrees;             /* 1: |difference| > tolerance: do not trust either number unchecked */
  int32_t rejection_code_count;
  const char* rejection_codes;   /* comma-separated quality codes for ECHO_VLM_REJECTION, else "" */
  double decode_ms;
  int32_t new_tokens;            /* tokens generated, the stop token included */
  int32_t hit_token_limit;       /* 1: stopped by the token limit, not by a stop token */
} echo_vlm_answer;

ECHO_API echo_status echo_result_vlm_answer(const echo_result* result, echo_vlm_answer* out_answer);

/* Reports. out_length is the text length in bytes without the terminating NUL; capacity must hold the
 * NUL too. indent < 0 gives compact JSON. */
ECHO_API echo_status echo_result_json(const echo_result* result, int32_t indent, char* out_text, size_t capacity,
                                      size_t* out_length);
/* "LVEF approximately 52% (normal)" / "LVEF约为52%(正常)", or the refusal with its reasons. */
ECHO_API echo_status echo_result_text(const echo_result* result, echo_language language, char* out_text,
                                      size_t capacity, size_t* out_length);

/* Pictures into caller memory: RGB, 3 bytes per pixel, rows packed at out_info->row_stride_bytes. */
typedef struct echo_render_options {
  uint32_t struct_size;
  echo_image_kind kind;
  int32_t width;                 /* ECHO_IMAGE_VOLUME_CURVE only: 0 = 800 */
  int32_t height;                /* ECHO_IMAGE_VOLUME_CURVE only: 0 = 360 */
} echo_render_options;

ECHO_API echo_status echo_render_options_init(echo_render_options* options, size_t struct_size);

typedef struct echo_image_info {
  uint32_t struct_size;
  int32_t width;
  int32_t height;
  int32_t channels;              /* 3 (R, G, B) */
  size_t row_stride_bytes;       /* width * 3 */
  size_t size_bytes;             /* height * row_stride_bytes */
} echo_image_info;

/* With out_pixels NULL: fills *out_info only (size query). Otherwise renders into out_pixels, which must
 * hold out_info->size_bytes (ECHO_BUFFER_TOO_SMALL otherwise, with *out_info filled). out_info must have
 * struct_size set. ECHO_NO_RESULT for a keyframe overlay when no beat was found. */
ECHO_API echo_status echo_result_render(const echo_result* result, const echo_render_options* options,
                                        uint8_t* out_pixels, size_t capacity, echo_image_info* out_info);

/* ---------------------------------------------------------------------------------------------------- */
/* Streaming sessions (live frames from a scanner)                                                      */

typedef struct echo_session_options {
  uint32_t struct_size;
  int32_t window_frames;         /* frames kept for beat detection; 0 = about 3 beats at 150 bpm min */
  double mm_per_px_x;            /* of the frames that will be pushed; 0 when unknown */
  double mm_per_px_y;
  int32_t calibration_trusted;
  int32_t gray16_bits_stored;    /* ECHO_PIXEL_GRAY16 frames: significant bits (9..16; default 16) */
  uint32_t max_queued_beats;     /* polling queue bound; the oldest events are dropped (default 64) */
  int32_t reserved0;
} echo_session_options;

ECHO_API echo_status echo_session_options_init(echo_session_options* options, size_t struct_size);

/* What each pushed frame gives back. */
typedef struct echo_frame_result {
  uint32_t struct_size;
  int32_t frame_index;
  double time_ms;
  double lv_area_mm2;            /* px^2 when uncalibrated */
  double quality_score;          /* 0..1 per-frame indicator */
  int32_t beat_completed;        /* 1: this frame closed a heartbeat (an event was emitted) */
  int32_t reserved0;
  uint64_t contour_point_count;  /* points of echo_session_last_contour; 0 when no LV was found */
} echo_frame_result;

/* A completed heartbeat: the session-level part of the event; the beat itself comes as an echo_beat, whose
 * exclusion_reason points into the session and stays valid until the next call on the session. */
typedef struct echo_beat_event {
  uint32_t struct_size;
  int32_t beat_index;            /* 0, 1, 2, ... since the session started */
  double running_ef_mean;        /* EF mean over the used beats so far; NaN while there is none */
  int64_t closing_frame_index;   /* the pushed frame that completed the beat */
} echo_beat_event;

/* Called for each completed beat, on the pushing thread, before echo_session_push_frame returns. Both
 * structs are only valid during the call. A session with a callback does not queue events for polling. */
typedef void (*echo_beat_callback)(const echo_beat_event* event, const echo_beat* beat, void* user_data);

/* options may be NULL (defaults: calibration unknown). The session keeps the model alive. */
ECHO_API echo_status echo_session_create(const echo_model* model, const echo_session_options* options,
                                         echo_session** out_session);
ECHO_API void echo_session_destroy(echo_session* session);

/* callback NULL: events are queued for echo_session_poll_beat. */
ECHO_API echo_status echo_session_set_beat_callback(echo_session* session, echo_beat_callback callback,
                                                    void* user_data);

/* Processes one borrowed frame (time_ms must increase). out_frame_result may be NULL. */
ECHO_API echo_status echo_session_push_frame(echo_session* session, const echo_frame* frame, double time_ms,
                                             echo_frame_result* out_frame_result);
/* The oldest queued beat event (removed from the queue). ECHO_NO_RESULT when none is waiting. Both out
 * structs must have struct_size set. */
ECHO_API echo_status echo_session_poll_beat(echo_session* session, echo_beat_event* out_event, echo_beat* out_beat);
/* The LV contour of the last pushed frame, in its pixels (2 * count doubles, like echo_result_contour). */
ECHO_API echo_status echo_session_last_contour(const echo_session* session, double* out_xy, size_t capacity,
                                               size_t* out_point_count);
ECHO_API echo_status echo_session_frames_pushed(const echo_session* session, int64_t* out_count);
/* Events dropped because the polling queue was full. */
ECHO_API echo_status echo_session_dropped_beats(const echo_session* session, uint64_t* out_count);

/* ---------------------------------------------------------------------------------------------------- */
/* DICOM for PACS (docs/pacs.md): a Comprehensive SR (PS3.16 TID 5200, left-ventricle section) and the   */
/* ED/ES overlays and volume curve as Secondary Capture, in one new series of the source's study.        */

typedef struct echo_dicom_report echo_dicom_report; /* the DICOM objects of one result; immutable */

typedef struct echo_dicom_options {
  uint32_t struct_size;
  int32_t overlays;              /* 1 (default): also the overlays as Secondary Capture; 0: the SR only */
  int32_t series_number;         /* Series Number of the new series; 0 = 9401 */
  int32_t reserved0;             /* 0 */
  const void* source_data;       /* the analysed DICOM file (borrowed for the call); NULL: not DICOM (new study) */
  size_t source_size;
  const void* second_source_data; /* biplane: the A2C DICOM file; NULL otherwise */
  size_t second_source_size;
} echo_dicom_options;

ECHO_API echo_status echo_dicom_options_init(echo_dicom_options* options, size_t struct_size);

/* Builds the SR (and overlays) of a result. The patient and study attributes of the source are copied into
 * the objects and nowhere else. The same input gives the same bytes (2.25. UIDs derived from the source's SOP
 * Instance UID and the content). ECHO_MALFORMED: a source that cannot be parsed or referenced. */
ECHO_API echo_status echo_result_dicom_report(const echo_result* result, const echo_dicom_options* options,
                                              echo_dicom_report** out_report);
ECHO_API void echo_dicom_report_destroy(echo_dicom_report* report);
ECHO_API echo_status echo_dicom_report_count(const echo_dicom_report* report, size_t* out_count);

typedef struct echo_dicom_object {
  uint32_t struct_size;
  int32_t reserved0;
  const char* kind;              /* "sr", "ed_overlay", "es_overlay", "volume_curve" */
  const char* sop_class_uid;
  const char* sop_instance_uid;
  const uint8_t* data;           /* a DICOM Part 10 file; owned by the report */
  size_t size;
} echo_dicom_object;

/* Object index (0 = the SR); every pointer stays valid until the report is destroyed. */
ECHO_API echo_status echo_dicom_report_object(const echo_dicom_report* report, size_t index,
                                              echo_dicom_object* out_object);
/* Writes DIRECTORY/<kind>.dcm for every object, all or nothing (created when missing). */
ECHO_API echo_status echo_dicom_report_write(const echo_dicom_report* report, const char* directory);

/* ---------------------------------------------------------------------------------------------------- */
/* Site validation (echoa validate; docs/validation.md)                                                  */

/* Called on the calling thread after each analysed clip (done of total; file_name as the table writes it,
 * valid during the call). Return 0 to go on, nonzero to stop: echo_validate then returns ECHO_CANCELLED and
 * the rows done so far are in out_dir/per_clip.csv. */
typedef int32_t (*echo_validate_progress)(int32_t done, int32_t total, const char* file_name, void* user_data);

typedef struct echo_validate_options {
  uint32_t struct_size;
  int32_t only_present;          /* 1: table rows without a file in the folder are skipped (counted), not errors */
  echo_validate_progress progress; /* NULL: no progress reports */
  void* user_data;               /* passed to progress */
} echo_validate_options;

ECHO_API echo_status echo_validate_options_init(echo_validate_options* options, size_t struct_size);

/* The figures of one validation run. A value that cannot be computed (no pair, one pair for an SD, no
 * reference positive for a sensitivity) is NaN. Differences are ours - reference. */
#define ECHO_VALIDATION_REASON_SLOTS 32
typedef struct echo_validation_summary {
  uint32_t struct_size;
  int32_t rows;                  /* data rows of the table */
  int32_t skipped_not_present;   /* rows left out by only_present */
  int32_t missing;               /* rows without a file in the folder */
  int32_t duplicates;            /* rows naming a file an earlier row named (analysed once) */
  int32_t unreadable;            /* files that could not be read or analysed */
  int32_t analysed;              /* answered + refused */
  int32_t answered;              /* an EF was given */
  int32_t refused;               /* the EF was withheld (a result, not an error) */
  int32_t bad_reference;         /* analysed rows whose reference EF is empty or not a number in 0..100 */
  int32_t refused_by_reason[ECHO_VALIDATION_REASON_SLOTS]; /* index echo_quality_code: clips refused with it */
  int32_t refused_without_gate_reason; /* refused although the gate passed (no measurable beat) */
  int32_t ef_pairs;              /* answered clips with a numeric reference EF: the n of the EF figures */
  double answered_share;         /* answered / (analysed + unreadable) */
  double ef_mae;
  double ef_rmse;
  double ef_bias;                /* mean difference */
  double ef_sd;                  /* sample SD of the differences */
  double ef_loa_low;             /* bias - 1.96 SD */
  double ef_loa_high;            /* bias + 1.96 SD */
  double ef_pearson_r;
  double sensitivity_below_40;   /* EF < 40 as a test: reference below 40 is a positive */
  double specificity_below_40;
  double sensitivity_below_50;
  double specificity_below_50;
  int32_t ed_offset_clips;       /* answered clips with a reference ED frame (denominator of the shares) */
  int32_t es_offset_clips;
  double ed_median_abs_offset_frames; /* |nearest ED of ours - reference ED| */
  double ed_share_within_3;      /* a clip without our keyframe counts as outside */
  double ed_share_within_1;
  double es_median_abs_offset_frames;
  double es_share_within_3;
  double es_share_within_1;
  int32_t vlm_ran;               /* clips the VLM answered at all (model loaded with enable_vlm) */
  int32_t vlm_answered;          /* of which with an EF */
  double vlm_answered_share;
  double vlm_ef_mae;             /* VLM EF against the reference */
  double vlm_ef_bias;
  int32_t vlm_ef_pairs;
  int32_t reserved0;
} echo_validation_summary;

/* Site acceptance: analyses every loop that table_csv lists (CSV with FileName and EF columns; optional EDV,
 * ESV, ED/ES frame columns; EchoNet's FileList.csv as it is) and finds in folder (by name, with or without
 * extension, subfolders included), with the model and its options, exactly as echo_analyze_file does. Writes
 * out_dir/per_clip.csv (row by row), summary.json (everything here plus the refusal reasons by name),
 * bland_altman.png and scatter.png; out_dir is created and must not lie inside folder (ECHO_INVALID_ARGUMENT).
 * A missing or unreadable file or a reference that is not a number is counted and named in its CSV row; the
 * run goes on. Fails with ECHO_NOT_FOUND (no table or folder), ECHO_MALFORMED (no FileName or EF column),
 * ECHO_IO_FAILED, ECHO_CANCELLED. options may be NULL; out_summary must have struct_size set. */
ECHO_API echo_status echo_validate(const echo_model* model, const char* folder, const char* table_csv,
                                   const char* out_dir, const echo_validate_options* options,
                                   echo_validation_summary* out_summary);

/* ---------------------------------------------------------------------------------------------------- */
/* Clinician review (echoa review apply; docs/review.md)                                                 */

/* Applies a clinician's corrections (the file the review page exports) to a review result (the result.json
 * that `echoa analyze --html` writes): volumes and EF recomputed with the SDK's geometry from the corrected
 * ED/ES frames and contours. Writes out_dir/final.json and out_dir/audit.json (out_dir created when missing)
 * and nothing at all when a check fails: ECHO_INVALID_ARGUMENT (corrections for another study, a frame outside
 * the loop, a self-intersecting or degenerate contour, a missing field; echo_last_error names the field),
 * ECHO_MALFORMED (not JSON), ECHO_NOT_FOUND, ECHO_IO_FAILED. The same inputs give byte-identical files. */
ECHO_API echo_status echo_review_apply(const char* result_path, const char* corrections_path, const char* out_dir);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ECHO_ECHO_H */
