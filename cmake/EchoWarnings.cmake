# echo_warnings(target): the project's warning set, applied to our own targets only.
function(echo_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wno-unused-parameter>
    # GCC's -Wshadow=local; clang (the fuzz tree) spells the same check -Wshadow-uncaptured-local.
    $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CXX_COMPILER_ID:GNU>>:-Wshadow=local>
    $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CXX_COMPILER_ID:Clang>>:-Wshadow-uncaptured-local>
    $<$<COMPILE_LANGUAGE:C>:-Wall -Wextra>)
endfunction()
