# ECHO_SANITIZE=address,undefined (or thread) instruments every target of the build.
if(ECHO_SANITIZE)
  add_compile_options(-fsanitize=${ECHO_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${ECHO_SANITIZE})
endif()
