/* The public header compiles as strict C99 (-std=c99 -pedantic -Werror) on its own. */
#include <echo/echo.h>

/* Every handle and struct is usable from C99. */
int capi_header_c99_uses_everything(void);
int capi_header_c99_uses_everything(void) {
  echo_model_options model_options;
  echo_frames frames;
  echo_frame frame;
  echo_session_options session_options;
  echo_beat beat;
  echo_beat_event event;
  echo_model* model = 0;
  echo_result* result = 0;
  (void)model;
  (void)result;
  model_options.struct_size = sizeof model_options;
  frames.struct_size = sizeof frames;
  frame.struct_size = sizeof frame;
  session_options.struct_size = sizeof session_options;
  beat.struct_size = sizeof beat;
  event.struct_size = sizeof event;
  return (int)(model_options.struct_size + frames.struct_size + frame.struct_size + session_options.struct_size +
               beat.struct_size + event.struct_size);
}
