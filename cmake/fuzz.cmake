# libFuzzer targets of fuzz/ and their bounded ctest runs. Included by CMakeLists.txt instead
# of the host's targets when configured with -DASTRO_FUZZ=ON, in a build directory of its own:
#   CC=clang-14 cmake -S . -B build-fuzz -DASTRO_FUZZ=ON
#   cmake --build build-fuzz && ctest --test-dir build-fuzz
# The project's C files (ASTRO_CORE_SOURCES: src/ minus host.c and main.c) are compiled with
# -fsanitize=fuzzer-no-link,address,undefined; each target fuzz/fuzz_<name>.c is linked with
# -fsanitize=fuzzer,address,undefined. Lua, libyaml and libcurl are Debian's, not
# instrumented. See fuzz/README.md.
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "ASTRO_FUZZ needs clang for libFuzzer: configure a fresh build directory "
                      "with CC=clang-14 (compiler here: ${CMAKE_C_COMPILER_ID})")
endif()

set(ASTRO_FUZZ_TARGETS yaml jwt retry_after headers config_update term)
set(ASTRO_FUZZ_RUNS 20000 CACHE STRING "libFuzzer -runs of each fuzz/<target> ctest test")
set(ASTRO_FUZZ_MAX_TIME 60 CACHE STRING "-max_total_time (seconds) cap of each ctest fuzz run")
# Longest input libFuzzer makes up for each target.
set(ASTRO_FUZZ_MAX_LEN_yaml 8192)
set(ASTRO_FUZZ_MAX_LEN_jwt 2048)
set(ASTRO_FUZZ_MAX_LEN_retry_after 128)
set(ASTRO_FUZZ_MAX_LEN_headers 4096)
set(ASTRO_FUZZ_MAX_LEN_config_update 4096)
set(ASTRO_FUZZ_MAX_LEN_term 4096)

set(ASTRO_FUZZ_SAN -fsanitize=address,undefined -fno-sanitize-recover=undefined
    -fno-omit-frame-pointer)

add_library(astro_fuzz_core OBJECT ${ASTRO_CORE_SOURCES})
target_include_directories(astro_fuzz_core PUBLIC ${CMAKE_SOURCE_DIR}/include)
target_compile_options(astro_fuzz_core PRIVATE ${ASTRO_WARNINGS} -fsanitize=fuzzer-no-link
                       ${ASTRO_FUZZ_SAN})
target_compile_definitions(astro_fuzz_core PRIVATE _POSIX_C_SOURCE=200809L _DEFAULT_SOURCE
                           ASTRO_VERSION="${PROJECT_VERSION}")
target_link_libraries(astro_fuzz_core PUBLIC lua_static yaml_static CURL::libcurl ZLIB::ZLIB jq_lib m)

enable_testing()
foreach(t IN LISTS ASTRO_FUZZ_TARGETS)
  add_executable(fuzz_${t} fuzz/fuzz_${t}.c)
  target_compile_options(fuzz_${t} PRIVATE -Wall -Wextra -fsanitize=fuzzer ${ASTRO_FUZZ_SAN})
  target_link_options(fuzz_${t} PRIVATE -fsanitize=fuzzer ${ASTRO_FUZZ_SAN})
  target_link_libraries(fuzz_${t} PRIVATE astro_fuzz_core)
  set_target_properties(fuzz_${t} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
  # fuzz/<target>: every file of fuzz/regressions/<target>/ and fuzz/corpus/<target>/ once,
  # then a reproducible (-seed=1) run of ASTRO_FUZZ_RUNS inputs from the seed corpus.
  add_test(NAME fuzz/${t}
           COMMAND sh ${CMAKE_SOURCE_DIR}/fuzz/run_test.sh $<TARGET_FILE:fuzz_${t}> ${t}
                   ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/fuzz-work/${t} ${ASTRO_FUZZ_RUNS}
                   -max_len=${ASTRO_FUZZ_MAX_LEN_${t}} -max_total_time=${ASTRO_FUZZ_MAX_TIME}
           WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(fuzz/${t} PROPERTIES TIMEOUT 300)
endforeach()
