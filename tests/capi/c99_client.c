/* A C99 client of the INSTALLED library: built with -std=c99 -pedantic -Werror and pkg-config, it analyses
 * a phantom DICOM with the installed reference model and prints the EF (exit 0), or the reason (exit 1). */
#include <echo/echo.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char** argv) {
  echo_model_options options;
  echo_model* model = NULL;
  echo_result* result = NULL;
  echo_status status;
  double ef = 0.0;
  int32_t pass = 0;
  if (argc != 2) {
    fprintf(stderr, "usage: %s STUDY.dcm\n", argv[0]);
    return 64;
  }
  if (echo_abi_version() != ECHO_ABI_VERSION || strcmp(echo_version(), ECHO_VERSION_STRING) != 0) {
    fprintf(stderr, "header %s (ABI %d) does not match library %s (ABI %d)\n", ECHO_VERSION_STRING,
            ECHO_ABI_VERSION, echo_version(), (int)echo_abi_version());
    return 2;
  }
  echo_model_options_init(&options, sizeof options);
  status = echo_model_load(&options, &model);
  if (status != ECHO_OK) {
    fprintf(stderr, "model: %s: %s\n", echo_status_str(status), echo_last_error());
    return 2;
  }
  status = echo_analyze_file(model, argv[1], &result);
  if (status != ECHO_OK) {
    fprintf(stderr, "analysis: %s: %s\n", echo_status_str(status), echo_last_error());
    echo_model_destroy(model);
    return 2;
  }
  echo_result_quality_pass(result, &pass);
  status = echo_result_ef_percent(result, &ef);
  if (status == ECHO_OK) {
    printf("quality pass %d, EF %.17g %%\n", (int)pass, ef);
  } else {
    printf("EF withheld: %s\n", echo_last_error());
  }
  echo_result_destroy(result);
  echo_model_destroy(model);
  return status == ECHO_OK ? 0 : 1;
}
