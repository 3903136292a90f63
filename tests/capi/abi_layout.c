/* ABI v1 layout of every public struct, frozen with C11 _Static_assert (sizes and field offsets on LP64
 * platforms: x86-64 and AArch64 Linux), plus the calls that need no model, exercised from C.
 * A failing assert here means a change broke the ABI: fields may only be appended (see docs/c_api.md). */
#include <echo/echo.h>

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define SIZE(T, n) _Static_assert(sizeof(T) == (n), "sizeof(" #T ") changed: the ABI broke")
#define AT(T, f, n) _Static_assert(offsetof(T, f) == (n), "offsetof(" #T ", " #f ") changed: the ABI broke")

/* Enumerations are int32_t everywhere. */
_Static_assert(sizeof(echo_status) == 4, "echo_status is int32_t");
_Static_assert(sizeof(echo_device) == 4 && sizeof(echo_precision) == 4 && sizeof(echo_pixel_format) == 4,
               "enums are int32_t");
_Static_assert(ECHO_OK == 0 && ECHO_INVALID_ARGUMENT == -1 && ECHO_NOT_FOUND == -2 && ECHO_IO_FAILED == -3 &&
                   ECHO_UNSUPPORTED == -4 && ECHO_MALFORMED == -5 && ECHO_TOO_LARGE == -6 &&
                   ECHO_MODEL_INVALID == -7 && ECHO_OUT_OF_MEMORY == -8 && ECHO_INTERNAL == -9 &&
                   ECHO_BUFFER_TOO_SMALL == -10 && ECHO_CANCELLED == -11 && ECHO_NO_RESULT == -12,
               "status codes are never renumbered");
_Static_assert(ECHO_PIXEL_GRAY8 == 0 && ECHO_PIXEL_GRAY16 == 1 && ECHO_PIXEL_RGB8 == 2 && ECHO_PIXEL_BGR8 == 3 &&
                   ECHO_PIXEL_RGBA8 == 4,
               "pixel formats are never renumbered");
_Static_assert(ECHO_QUALITY_BLURRED == 0 && ECHO_QUALITY_NO_SECTOR == 13, "quality codes are never renumbered");

#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu
SIZE(echo_model_options, 72);
AT(echo_model_options, struct_size, 0); AT(echo_model_options, device, 4); AT(echo_model_options, precision, 8);
AT(echo_model_options, threads, 12); AT(echo_model_options, batch_size, 16); AT(echo_model_options, sex, 20);
AT(echo_model_options, model_path, 24); AT(echo_model_options, enable_vlm, 32);
AT(echo_model_options, vlm_language, 36); AT(echo_model_options, vlm_model_path, 40);
AT(echo_model_options, vlm_tolerance_points, 48); AT(echo_model_options, lead_with_vlm, 56);
AT(echo_model_options, decode_threads, 60); AT(echo_model_options, max_total_pixels, 64);

SIZE(echo_model_info, 56);
AT(echo_model_info, vlm_loaded, 4); AT(echo_model_info, name, 8); AT(echo_model_info, version, 16);
AT(echo_model_info, weights_sha256, 24); AT(echo_model_info, precision, 32); AT(echo_model_info, device, 40);
AT(echo_model_info, validated_on_real_patients, 48); AT(echo_model_info, reserved0, 52);

SIZE(echo_frame, 32);
AT(echo_frame, format, 4); AT(echo_frame, width, 8); AT(echo_frame, height, 12);
AT(echo_frame, row_stride_bytes, 16); AT(echo_frame, data, 24);

SIZE(echo_frames, 96);
AT(echo_frames, format, 4); AT(echo_frames, width, 8); AT(echo_frames, height, 12); AT(echo_frames, frame_count, 16);
AT(echo_frames, gray16_bits_stored, 20); AT(echo_frames, row_stride_bytes, 24);
AT(echo_frames, frame_stride_bytes, 32); AT(echo_frames, data, 40); AT(echo_frames, frame_data, 48);
AT(echo_frames, frame_times_ms, 56); AT(echo_frames, fps, 64); AT(echo_frames, mm_per_px_x, 72);
AT(echo_frames, mm_per_px_y, 80); AT(echo_frames, calibration_trusted, 88); AT(echo_frames, reserved0, 92);

SIZE(echo_read_options, 24);
AT(echo_read_options, decode_threads, 4); AT(echo_read_options, max_total_pixels, 8);
AT(echo_read_options, max_color_frames, 16); AT(echo_read_options, reserved0, 20);

SIZE(echo_cine_info, 128);
AT(echo_cine_info, rows, 4); AT(echo_cine_info, cols, 8); AT(echo_cine_info, frame_count, 12);
AT(echo_cine_info, fps, 16); AT(echo_cine_info, duration_ms, 24); AT(echo_cine_info, mm_per_px_x, 32);
AT(echo_cine_info, mm_per_px_y, 40); AT(echo_cine_info, calibration_trusted, 48);
AT(echo_cine_info, calibration_source, 52); AT(echo_cine_info, heart_rate_bpm, 56);
AT(echo_cine_info, bits_stored, 64); AT(echo_cine_info, color_frame_count, 68); AT(echo_cine_info, source_kind, 72);
AT(echo_cine_info, transfer_syntax, 80); AT(echo_cine_info, photometric, 88); AT(echo_cine_info, manufacturer, 96);
AT(echo_cine_info, model_name, 104); AT(echo_cine_info, timing_source, 112); AT(echo_cine_info, view_hint, 120);

SIZE(echo_quality_reason, 56);
AT(echo_quality_reason, code_id, 4); AT(echo_quality_reason, severity, 8); AT(echo_quality_reason, reserved0, 12);
AT(echo_quality_reason, code, 16); AT(echo_quality_reason, message_en, 24); AT(echo_quality_reason, message_zh, 32);
AT(echo_quality_reason, value, 40); AT(echo_quality_reason, threshold, 48);

SIZE(echo_ef_classification, 48);
AT(echo_ef_classification, category_id, 4); AT(echo_ef_classification, category, 8);
AT(echo_ef_classification, heart_failure_class, 16); AT(echo_ef_classification, label_en, 24);
AT(echo_ef_classification, label_zh, 32); AT(echo_ef_classification, basis, 40);

SIZE(echo_beat, 72);
AT(echo_beat, ed_frame, 4); AT(echo_beat, es_frame, 8); AT(echo_beat, has_volumes, 12); AT(echo_beat, ed_time_ms, 16);
AT(echo_beat, es_time_ms, 24); AT(echo_beat, edv_ml, 32); AT(echo_beat, esv_ml, 40); AT(echo_beat, ef_percent, 48);
AT(echo_beat, excluded, 56); AT(echo_beat, reserved0, 60); AT(echo_beat, exclusion_reason, 64);

SIZE(echo_keyframe, 120);
AT(echo_keyframe, frame, 4); AT(echo_keyframe, valid, 8); AT(echo_keyframe, volumes_in_ml, 12);
AT(echo_keyframe, area_mm2, 16); AT(echo_keyframe, volume_ml, 24); AT(echo_keyframe, volume_area_length_ml, 32);
AT(echo_keyframe, long_axis_mm, 40); AT(echo_keyframe, apex_x, 48); AT(echo_keyframe, apex_y, 56);
AT(echo_keyframe, annulus_left_x, 64); AT(echo_keyframe, annulus_left_y, 72); AT(echo_keyframe, annulus_right_x, 80);
AT(echo_keyframe, annulus_right_y, 88); AT(echo_keyframe, contour_point_count, 96); AT(echo_keyframe, disc_count, 104);
AT(echo_keyframe, invalid_reason, 112);

SIZE(echo_timings, 72);
AT(echo_timings, reserved0, 4); AT(echo_timings, decode_ms, 8); AT(echo_timings, preprocess_ms, 16);
AT(echo_timings, quality_ms, 24); AT(echo_timings, inference_ms, 32); AT(echo_timings, geometry_ms, 40);
AT(echo_timings, cardiac_ms, 48); AT(echo_timings, vlm_ms, 56); AT(echo_timings, total_ms, 64);

SIZE(echo_vlm_answer, 72);
AT(echo_vlm_answer, kind, 4); AT(echo_vlm_answer, text, 8); AT(echo_vlm_answer, has_ef, 16);
AT(echo_vlm_answer, compared, 20); AT(echo_vlm_answer, ef_percent, 24); AT(echo_vlm_answer, difference_points, 32);
AT(echo_vlm_answer, disagrees, 40); AT(echo_vlm_answer, rejection_code_count, 44);
AT(echo_vlm_answer, rejection_codes, 48); AT(echo_vlm_answer, decode_ms, 56); AT(echo_vlm_answer, new_tokens, 64);
AT(echo_vlm_answer, hit_token_limit, 68);

SIZE(echo_render_options, 16);
AT(echo_render_options, kind, 4); AT(echo_render_options, width, 8); AT(echo_render_options, height, 12);

SIZE(echo_image_info, 32);
AT(echo_image_info, width, 4); AT(echo_image_info, height, 8); AT(echo_image_info, channels, 12);
AT(echo_image_info, row_stride_bytes, 16); AT(echo_image_info, size_bytes, 24);

SIZE(echo_session_options, 40);
AT(echo_session_options, window_frames, 4); AT(echo_session_options, mm_per_px_x, 8);
AT(echo_session_options, mm_per_px_y, 16); AT(echo_session_options, calibration_trusted, 24);
AT(echo_session_options, gray16_bits_stored, 28); AT(echo_session_options, max_queued_beats, 32);
AT(echo_session_options, reserved0, 36);

SIZE(echo_frame_result, 48);
AT(echo_frame_result, frame_index, 4); AT(echo_frame_result, time_ms, 8); AT(echo_frame_result, lv_area_mm2, 16);
AT(echo_frame_result, quality_score, 24); AT(echo_frame_result, beat_completed, 32);
AT(echo_frame_result, reserved0, 36); AT(echo_frame_result, contour_point_count, 40);

SIZE(echo_beat_event, 24);
AT(echo_beat_event, beat_index, 4); AT(echo_beat_event, running_ef_mean, 8);
AT(echo_beat_event, closing_frame_index, 16);

SIZE(echo_dicom_options, 48);
AT(echo_dicom_options, overlays, 4); AT(echo_dicom_options, series_number, 8); AT(echo_dicom_options, reserved0, 12);
AT(echo_dicom_options, source_data, 16); AT(echo_dicom_options, source_size, 24);
AT(echo_dicom_options, second_source_data, 32); AT(echo_dicom_options, second_source_size, 40);

SIZE(echo_dicom_object, 48);
AT(echo_dicom_object, reserved0, 4); AT(echo_dicom_object, kind, 8); AT(echo_dicom_object, sop_class_uid, 16);
AT(echo_dicom_object, sop_instance_uid, 24); AT(echo_dicom_object, data, 32); AT(echo_dicom_object, size, 40);

SIZE(echo_validate_options, 24);
AT(echo_validate_options, only_present, 4); AT(echo_validate_options, progress, 8);
AT(echo_validate_options, user_data, 16);

SIZE(echo_validation_summary, 368);
AT(echo_validation_summary, rows, 4); AT(echo_validation_summary, bad_reference, 36);
AT(echo_validation_summary, refused_by_reason, 40); AT(echo_validation_summary, refused_without_gate_reason, 168);
AT(echo_validation_summary, ef_pairs, 172); AT(echo_validation_summary, answered_share, 176);
AT(echo_validation_summary, ef_mae, 184); AT(echo_validation_summary, ef_pearson_r, 232);
AT(echo_validation_summary, specificity_below_50, 264); AT(echo_validation_summary, ed_offset_clips, 272);
AT(echo_validation_summary, ed_median_abs_offset_frames, 280); AT(echo_validation_summary, es_share_within_1, 320);
AT(echo_validation_summary, vlm_ran, 328); AT(echo_validation_summary, vlm_answered_share, 336);
AT(echo_validation_summary, vlm_ef_bias, 352); AT(echo_validation_summary, vlm_ef_pairs, 360);
AT(echo_validation_summary, reserved0, 364);
#endif

static int failures = 0;

#define EXPECT(cond)                                                          \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);     \
      ++failures;                                                             \
    }                                                                         \
  } while (0)

static void check_versions(void) {
  EXPECT(strcmp(echo_version(), ECHO_VERSION_STRING) == 0);
  EXPECT(echo_abi_version() == ECHO_ABI_VERSION);
}

static void check_status_names(void) {
  EXPECT(strcmp(echo_status_str(ECHO_OK), "ok") == 0);
  EXPECT(strcmp(echo_status_str(ECHO_INVALID_ARGUMENT), "invalid_argument") == 0);
  EXPECT(strcmp(echo_status_str(ECHO_BUFFER_TOO_SMALL), "buffer_too_small") == 0);
  EXPECT(strcmp(echo_status_str(ECHO_NO_RESULT), "no_result") == 0);
  EXPECT(strcmp(echo_status_str(-1000), "unknown") == 0);
  EXPECT(strcmp(echo_status_str(7), "unknown") == 0);
}

/* A caller built against a header whose struct is one field shorter or longer than v1 is refused, and
 * the struct is left as it was. */
static void check_struct_sizes(void) {
  echo_model_options options;
  unsigned char before[sizeof options];
  memset(&options, 0xAB, sizeof options);
  memcpy(before, &options, sizeof options);
  EXPECT(echo_model_options_init(&options, sizeof options - 8) == ECHO_INVALID_ARGUMENT);
  EXPECT(memcmp(before, &options, sizeof options) == 0);
  EXPECT(strstr(echo_last_error(), "struct_size") != NULL);
  EXPECT(echo_model_options_init(&options, 0) == ECHO_INVALID_ARGUMENT);
  EXPECT(echo_model_options_init(NULL, sizeof options) == ECHO_INVALID_ARGUMENT);
  EXPECT(echo_model_options_init(&options, sizeof options + 8) == ECHO_INVALID_ARGUMENT);
  EXPECT(memcmp(before, &options, sizeof options) == 0);
  EXPECT(echo_model_options_init(&options, sizeof options) == ECHO_OK);
  EXPECT(options.struct_size == sizeof options);
  EXPECT(options.model_path == NULL && options.device == ECHO_DEVICE_AUTO && options.threads == 0);
  EXPECT(options.vlm_tolerance_points == 10.0);
  EXPECT(options.max_total_pixels > 0);

  {
    echo_frames frames;
    echo_session_options session;
    echo_render_options render;
    echo_read_options read;
    echo_frame frame;
    EXPECT(echo_frames_init(&frames, sizeof frames) == ECHO_OK && frames.gray16_bits_stored == 16);
    EXPECT(echo_session_options_init(&session, sizeof session) == ECHO_OK && session.max_queued_beats == 64);
    EXPECT(echo_render_options_init(&render, sizeof render) == ECHO_OK && render.kind == ECHO_IMAGE_VOLUME_CURVE);
    EXPECT(echo_read_options_init(&read, sizeof read) == ECHO_OK && read.max_color_frames == 8);
    EXPECT(echo_frame_init(&frame, sizeof frame) == ECHO_OK && frame.data == NULL);
    EXPECT(echo_frames_init(&frames, 3) == ECHO_INVALID_ARGUMENT);
  }
  {
    echo_validate_options validate;
    echo_validation_summary summary;
    memset(&summary, 0, sizeof summary);
    summary.struct_size = sizeof summary;
    EXPECT(echo_validate_options_init(&validate, sizeof validate) == ECHO_OK);
    EXPECT(validate.only_present == 0 && validate.progress == NULL && validate.user_data == NULL);
    EXPECT(echo_validate(NULL, "in", "t.csv", "out", &validate, &summary) == ECHO_INVALID_ARGUMENT);
    EXPECT(strstr(echo_last_error(), "model") != NULL);
    EXPECT(summary.rows == 0);
  }

  /* A wrong struct_size in options passed to a real call is refused before anything is loaded. */
  {
    echo_model* model = (echo_model*)&options; /* must stay untouched */
    echo_model_options_init(&options, sizeof options);
    options.struct_size = 12;
    EXPECT(echo_model_load(&options, &model) == ECHO_INVALID_ARGUMENT);
    EXPECT(model == (echo_model*)&options);
  }
}

static void check_null_handles(void) {
  double value = -1.0;
  size_t count = 7;
  int32_t flag = 5;
  echo_beat beat;
  echo_model* model = NULL;
  echo_cine* cine = NULL;
  beat.struct_size = sizeof beat;
  EXPECT(echo_result_ef_percent(NULL, &value) == ECHO_INVALID_ARGUMENT && value == -1.0);
  EXPECT(strstr(echo_last_error(), "result") != NULL);
  EXPECT(echo_result_quality_pass(NULL, &flag) == ECHO_INVALID_ARGUMENT && flag == 5);
  EXPECT(echo_result_curve(NULL, ECHO_CURVE_LV_VOLUME_ML, NULL, 0, &count) == ECHO_INVALID_ARGUMENT && count == 7);
  EXPECT(echo_result_beat(NULL, 0, &beat) == ECHO_INVALID_ARGUMENT);
  EXPECT(echo_result_json(NULL, 2, NULL, 0, &count) == ECHO_INVALID_ARGUMENT && count == 7);
  EXPECT(echo_analyze_file(NULL, "x.dcm", NULL) == ECHO_INVALID_ARGUMENT);
  EXPECT(echo_session_create(NULL, NULL, NULL) == ECHO_INVALID_ARGUMENT);
  EXPECT(echo_session_push_frame(NULL, NULL, 0.0, NULL) == ECHO_INVALID_ARGUMENT);
  EXPECT(echo_model_get_info(NULL, NULL) == ECHO_INVALID_ARGUMENT);
  EXPECT(echo_model_load(NULL, NULL) == ECHO_INVALID_ARGUMENT);
  EXPECT(echo_cine_load_file(NULL, NULL, &cine) == ECHO_INVALID_ARGUMENT && cine == NULL);
  EXPECT(echo_cine_load_file("/nonexistent/study.dcm", NULL, &cine) == ECHO_NOT_FOUND && cine == NULL);
  EXPECT(strlen(echo_last_error()) > 0);
  EXPECT(echo_model_load_from_memory(NULL, 0, NULL, 0, NULL, &model) == ECHO_INVALID_ARGUMENT && model == NULL);
  /* Destroying NULL is a no-op. */
  echo_model_destroy(NULL);
  echo_cine_destroy(NULL);
  echo_result_destroy(NULL);
  echo_session_destroy(NULL);
}

/* Raw frames straight from "scanner memory": layouts, conversions and impossible dimensions. */
static void check_raw_frames(void) {
  enum { W = 6, H = 4, N = 3, STRIDE = 16 };
  uint16_t pixels16[N][H][STRIDE / 2];
  double times[N] = {0.0, 20.0, 40.0};
  echo_frames frames;
  echo_cine* cine = NULL;
  echo_cine_info info;
  uint8_t gray[W * H];
  size_t size = 0;
  int f, y, x;
  for (f = 0; f < N; ++f)
    for (y = 0; y < H; ++y)
      for (x = 0; x < STRIDE / 2; ++x) pixels16[f][y][x] = (uint16_t)((f * 1000 + y * 100 + x * 10) & 0x0FFF);

  echo_frames_init(&frames, sizeof frames);
  frames.format = ECHO_PIXEL_GRAY16;
  frames.gray16_bits_stored = 12;
  frames.width = W;
  frames.height = H;
  frames.frame_count = N;
  frames.row_stride_bytes = STRIDE;
  frames.data = pixels16;
  frames.frame_times_ms = times;
  frames.mm_per_px_x = 0.3;
  frames.mm_per_px_y = 0.3;
  frames.calibration_trusted = 1;
  EXPECT(echo_cine_from_frames(&frames, &cine) == ECHO_OK);
  if (cine == NULL) return;
  info.struct_size = sizeof info;
  EXPECT(echo_cine_get_info(cine, &info) == ECHO_OK);
  EXPECT(info.rows == H && info.cols == W && info.frame_count == N);
  EXPECT(info.mm_per_px_x == 0.3 && info.calibration_trusted == 1 && info.calibration_source == 3);
  EXPECT(fabs(info.fps - 50.0) < 1e-9);
  EXPECT(strcmp(info.source_kind, "raw") == 0);
  EXPECT(echo_cine_frame_gray8(cine, 2, NULL, 0, &size) == ECHO_OK && size == W * H);
  memset(gray, 0, sizeof gray);
  size = 0;
  EXPECT(echo_cine_frame_gray8(cine, 2, gray, 3, &size) == ECHO_BUFFER_TOO_SMALL && size == W * H && gray[0] == 0);
  EXPECT(echo_cine_frame_gray8(cine, 2, gray, sizeof gray, &size) == ECHO_OK);
  /* 12 significant bits: 8-bit value = v >> 4. */
  EXPECT(gray[1 * W + 5] == (uint8_t)(pixels16[2][1][5] >> 4));
  EXPECT(gray[3 * W + 0] == (uint8_t)(pixels16[2][3][0] >> 4));
  EXPECT(echo_cine_frame_gray8(cine, 3, gray, sizeof gray, &size) == ECHO_INVALID_ARGUMENT);
  echo_cine_destroy(cine);

  /* Impossible frames: each refused with ECHO_INVALID_ARGUMENT, nothing written. */
  {
    echo_frames bad = frames;
    cine = NULL;
    bad.width = 0;
    EXPECT(echo_cine_from_frames(&bad, &cine) == ECHO_INVALID_ARGUMENT && cine == NULL);
    EXPECT(strstr(echo_last_error(), "impossible") != NULL);
    bad = frames; bad.height = -5;
    EXPECT(echo_cine_from_frames(&bad, &cine) == ECHO_INVALID_ARGUMENT);
    bad = frames; bad.width = 1 << 20;
    EXPECT(echo_cine_from_frames(&bad, &cine) == ECHO_INVALID_ARGUMENT);
    bad = frames; bad.row_stride_bytes = 2 * W - 1;
    EXPECT(echo_cine_from_frames(&bad, &cine) == ECHO_INVALID_ARGUMENT);
    EXPECT(strstr(echo_last_error(), "stride") != NULL);
    bad = frames; bad.data = NULL;
    EXPECT(echo_cine_from_frames(&bad, &cine) == ECHO_INVALID_ARGUMENT);
    bad = frames; bad.frame_count = 0;
    EXPECT(echo_cine_from_frames(&bad, &cine) == ECHO_INVALID_ARGUMENT);
    bad = frames; bad.format = 99;
    EXPECT(echo_cine_from_frames(&bad, &cine) == ECHO_INVALID_ARGUMENT);
    bad = frames; bad.gray16_bits_stored = 20;
    EXPECT(echo_cine_from_frames(&bad, &cine) == ECHO_INVALID_ARGUMENT);
    bad = frames; bad.frame_times_ms = NULL; bad.fps = 0.0;
    EXPECT(echo_cine_from_frames(&bad, &cine) == ECHO_INVALID_ARGUMENT);
    bad = frames; bad.mm_per_px_x = -1.0;
    EXPECT(echo_cine_from_frames(&bad, &cine) == ECHO_INVALID_ARGUMENT);
    bad = frames; bad.mm_per_px_y = NAN;
    EXPECT(echo_cine_from_frames(&bad, &cine) == ECHO_INVALID_ARGUMENT);
    bad = frames; bad.frame_stride_bytes = 8;
    EXPECT(echo_cine_from_frames(&bad, &cine) == ECHO_INVALID_ARGUMENT);
    {
      double backwards[N] = {0.0, 20.0, 10.0};
      bad = frames; bad.frame_times_ms = backwards;
      EXPECT(echo_cine_from_frames(&bad, &cine) == ECHO_INVALID_ARGUMENT);
    }
    bad = frames; bad.struct_size = sizeof bad + 4;
    EXPECT(echo_cine_from_frames(&bad, &cine) == ECHO_INVALID_ARGUMENT);
    bad = frames; bad.frame_count = 1 << 30; bad.width = 16384; bad.height = 16384; bad.row_stride_bytes = 0;
    EXPECT(echo_cine_from_frames(&bad, &cine) == ECHO_TOO_LARGE);
    EXPECT(cine == NULL);
  }
}

int main(void) {
  check_versions();
  check_status_names();
  check_struct_sizes();
  check_null_handles();
  check_raw_frames();
  if (failures != 0) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("ABI v1 layout and model-free calls: all checks passed\n");
  return 0;
}
