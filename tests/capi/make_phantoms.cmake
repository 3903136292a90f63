# Makes the phantom studies the C ABI tests read (cmake -DECHOA=... -DOUT_DIR=... -P make_phantoms.cmake).
# Each case is made only when missing, so a rerun costs nothing.
cmake_minimum_required(VERSION 3.20)
file(MAKE_DIRECTORY ${OUT_DIR})
# name and `echoa synth` arguments, one case per entry (arguments separated by spaces).
set(cases
  "a4c_ef55 --view a4c --ef 55 --hr 70 --seed 7"
  "a2c_ef55 --view a2c --ef 55 --hr 70 --seed 7"
  "a4c_ef35 --view a4c --ef 35 --hr 90 --seed 11"
  "a4c_blur --view a4c --ef 55 --hr 70 --seed 13 --artifact blur")
foreach(entry IN LISTS cases)
  separate_arguments(parts UNIX_COMMAND "${entry}")
  list(POP_FRONT parts name)
  set(out ${OUT_DIR}/${name}.dcm)
  if(EXISTS ${out})
    continue()
  endif()
  execute_process(COMMAND ${ECHOA} synth ${parts} --out ${out} RESULT_VARIABLE rc
                  OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr)
  if(NOT rc EQUAL 0 OR NOT EXISTS ${out})
    file(REMOVE ${out})
    message(FATAL_ERROR "echoa synth ${parts} failed (${rc}):\n${stdout}\n${stderr}")
  endif()
endforeach()
message(STATUS "phantoms in ${OUT_DIR}")
