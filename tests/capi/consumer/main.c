/* find_package(EchoAnalyzer) consumer, C: prints the SDK version and the EF of one study. */
#include <echo/echo.h>

#include <stdio.h>

int main(int argc, char** argv) {
  echo_model* model = NULL;
  echo_result* result = NULL;
  double ef = 0.0;
  echo_status status;
  if (argc != 2) return 64;
  printf("EchoAnalyzer %s (ABI %d)\n", echo_version(), (int)echo_abi_version());
  status = echo_model_load(NULL, &model);
  if (status == ECHO_OK) status = echo_analyze_file(model, argv[1], &result);
  if (status == ECHO_OK) status = echo_result_ef_percent(result, &ef);
  if (status != ECHO_OK) {
    fprintf(stderr, "%s: %s\n", echo_status_str(status), echo_last_error());
  } else {
    printf("EF %.17g\n", ef);
  }
  echo_result_destroy(result);
  echo_model_destroy(model);
  return status == ECHO_OK ? 0 : 1;
}
