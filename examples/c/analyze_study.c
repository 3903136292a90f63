/* Example (C99): analyse one echo study with the C ABI and print what a reporting application would store.
 *
 *   analyze_study STUDY.dcm [ED_OVERLAY.ppm]
 *
 * Prints the quality gate, the EF (or why it is withheld), the beats and the short clinical text, and writes
 * the end-diastolic overlay as a binary PPM when a second argument is given. Exit 0: EF given, 1: refused
 * by the quality gate, 2: error. */
#include <echo/echo.h>

#include <stdio.h>
#include <stdlib.h>

static int fail(const char* what, echo_status status) {
  fprintf(stderr, "%s: %s: %s\n", what, echo_status_str(status), echo_last_error());
  return 2;
}

static void print_text(const echo_result* result, echo_language language) {
  size_t length = 0;
  char* text;
  if (echo_result_text(result, language, NULL, 0, &length) != ECHO_OK) return;
  text = (char*)malloc(length + 1);
  if (text != NULL && echo_result_text(result, language, text, length + 1, &length) == ECHO_OK) printf("%s\n", text);
  free(text);
}

static int write_overlay(const echo_result* result, const char* path) {
  echo_render_options options;
  echo_image_info info;
  uint8_t* pixels;
  FILE* out;
  echo_status status;
  echo_render_options_init(&options, sizeof options);
  options.kind = ECHO_IMAGE_ED_OVERLAY;
  info.struct_size = sizeof info;
  status = echo_result_render(result, &options, NULL, 0, &info); /* size query */
  if (status != ECHO_OK) return fail("overlay size", status);
  pixels = (uint8_t*)malloc(info.size_bytes);
  if (pixels == NULL) return 2;
  status = echo_result_render(result, &options, pixels, info.size_bytes, &info);
  if (status != ECHO_OK) {
    free(pixels);
    return fail("overlay", status);
  }
  out = fopen(path, "wb");
  if (out == NULL) {
    free(pixels);
    perror(path);
    return 2;
  }
  fprintf(out, "P6\n%d %d\n255\n", (int)info.width, (int)info.height);
  fwrite(pixels, 1, info.size_bytes, out);
  fclose(out);
  free(pixels);
  printf("ED overlay: %s (%dx%d)\n", path, (int)info.width, (int)info.height);
  return 0;
}

int main(int argc, char** argv) {
  echo_model_options options;
  echo_model* model = NULL;
  echo_result* result = NULL;
  echo_status status;
  int32_t pass = 0;
  size_t i, count = 0;
  double ef = 0.0;
  int exit_code;

  if (argc < 2) {
    fprintf(stderr, "usage: %s STUDY.dcm [ED_OVERLAY.ppm]\n", argv[0]);
    return 64;
  }
  printf("EchoAnalyzer %s, C ABI %d\n", echo_version(), (int)echo_abi_version());

  echo_model_options_init(&options, sizeof options); /* defaults: installed INT8 model, CPU */
  status = echo_model_load(&options, &model);
  if (status != ECHO_OK) return fail("loading the model", status);

  status = echo_analyze_file(model, argv[1], &result);
  if (status != ECHO_OK) {
    echo_model_destroy(model);
    return fail(argv[1], status);
  }

  echo_result_quality_pass(result, &pass);
  echo_result_reason_count(result, &count);
  printf("quality: %s\n", pass ? "pass" : "refused");
  for (i = 0; i < count; ++i) {
    echo_quality_reason reason;
    reason.struct_size = sizeof reason;
    if (echo_result_reason(result, i, &reason) == ECHO_OK) {
      printf("  [%s] %s / %s\n", reason.code, reason.message_en, reason.message_zh);
    }
  }

  status = echo_result_ef_percent(result, &ef);
  if (status == ECHO_OK) {
    double edv = 0.0, esv = 0.0;
    printf("EF %.17g %%\n", ef);
    if (echo_result_edv_ml(result, &edv) == ECHO_OK && echo_result_esv_ml(result, &esv) == ECHO_OK) {
      printf("EDV %.1f mL, ESV %.1f mL\n", edv, esv);
    }
    echo_result_beat_count(result, &count);
    for (i = 0; i < count; ++i) {
      echo_beat beat;
      beat.struct_size = sizeof beat;
      if (echo_result_beat(result, i, &beat) == ECHO_OK) {
        printf("  beat %u: ED frame %d, ES frame %d, EF %.1f%s\n", (unsigned)i, (int)beat.ed_frame,
               (int)beat.es_frame, beat.ef_percent, beat.excluded ? " (excluded)" : "");
      }
    }
    exit_code = 0;
  } else {
    const char* why = "";
    echo_result_ef_withheld_reason(result, &why);
    printf("EF withheld: %s\n", why);
    exit_code = 1;
  }
  print_text(result, ECHO_LANGUAGE_EN);
  print_text(result, ECHO_LANGUAGE_ZH);
  printf("second opinion: a clinician must confirm this result\n");

  if (argc > 2 && exit_code == 0 && write_overlay(result, argv[2]) != 0) exit_code = 2;

  echo_result_destroy(result);
  echo_model_destroy(model);
  return exit_code;
}
