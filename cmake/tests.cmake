# Every spec file is a ctest test run through the real host binary on Lua 5.4:
#   build/astro --lua /usr/bin/busted -o TAP <spec file>
find_program(BUSTED_SCRIPT busted PATHS /usr/bin REQUIRED)
find_program(PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT PYTHON3)
  find_program(PYTHON3 python3 REQUIRED)
endif()

file(GLOB_RECURSE ASTRO_SPECS CONFIGURE_DEPENDS RELATIVE ${CMAKE_SOURCE_DIR}
     ${CMAKE_SOURCE_DIR}/spec/unit/*_spec.lua ${CMAKE_SOURCE_DIR}/spec/integration/*_spec.lua
     ${CMAKE_SOURCE_DIR}/examples/*_spec.lua)
list(SORT ASTRO_SPECS)
foreach(spec IN LISTS ASTRO_SPECS)
  string(REGEX REPLACE "^spec/" "" name "${spec}")
  string(REGEX REPLACE "^examples/(.*)" "examples/\\1" name "${name}")
  string(REGEX REPLACE "_spec\\.lua$" "" name "${name}")
  add_test(NAME ${name}
           COMMAND $<TARGET_FILE:astro> --lua ${BUSTED_SCRIPT} -o TAP ${spec}
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  # The sandbox is on loopback: a proxy set on the machine (http_proxy and the others) must not
  # be in the way of the specs, or of the curl(1) they drive the sandbox with. The proxy spec
  # sets and unsets these variables itself for each run.
  set_tests_properties(${name} PROPERTIES
    ENVIRONMENT "ASTRO_BIN=$<TARGET_FILE:astro>;ASTRO_SOURCE_DIR=${CMAKE_SOURCE_DIR};ASTRO_PYTHON=${PYTHON3};ASTRO_LUA_DIR=;no_proxy=127.0.0.1,localhost;NO_PROXY=127.0.0.1,localhost"
    TIMEOUT 300)
  list(APPEND ASTRO_SPEC_TESTS ${name})
endforeach()

# The fault matrix runs every command against every fault twice (about 200 s, mostly the
# waits the faults cost): more time than the others.
if(TEST integration/fault_matrix)
  set_tests_properties(integration/fault_matrix PROPERTIES TIMEOUT 900)
endif()

# The install spec installs this build into a temporary prefix with this cmake.
if(TEST integration/install)
  set_property(TEST integration/install APPEND PROPERTY ENVIRONMENT "ASTRO_CMAKE=${CMAKE_COMMAND}")
endif()

# -DASTRO_SANITIZE=ON: every astro process of the specs (the host running busted and each CLI
# run it starts) writes its AddressSanitizer/LeakSanitizer/UBSan reports into
# <build>/sanitizer/, where output captured by a spec cannot hide them; sanitizer/reports
# runs after all specs and fails, printing them, when there is any.
if(ASTRO_SANITIZE)
  set(ASTRO_SANITIZER_DIR ${CMAKE_BINARY_DIR}/sanitizer)
  set_property(TEST ${ASTRO_SPEC_TESTS} APPEND PROPERTY ENVIRONMENT
    "ASAN_OPTIONS=detect_leaks=1:log_path=${ASTRO_SANITIZER_DIR}/asan"
    "LSAN_OPTIONS=suppressions=${CMAKE_SOURCE_DIR}/cmake/lsan.supp:print_suppressions=0"
    "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=${ASTRO_SANITIZER_DIR}/ubsan")
  set_property(TEST ${ASTRO_SPEC_TESTS} APPEND PROPERTY FIXTURES_REQUIRED sanitizer)
  add_test(NAME sanitizer/setup COMMAND sh -c [[rm -rf "$1" && mkdir -p "$1"]] sh ${ASTRO_SANITIZER_DIR})
  add_test(NAME sanitizer/reports COMMAND sh -c [[
    set -- "$1"/*
    [ -e "$1" ] || { echo "no sanitizer report"; exit 0; }
    for f; do echo "== $f"; cat "$f"; done
    exit 1]] sh ${ASTRO_SANITIZER_DIR})
  set_tests_properties(sanitizer/setup PROPERTIES FIXTURES_SETUP sanitizer)
  set_tests_properties(sanitizer/reports PROPERTIES FIXTURES_CLEANUP sanitizer)
endif()

# The sandbox's self-tests: test_sandbox.py and one test_sandbox_<extension>.py per extension.
file(GLOB ASTRO_SANDBOX_TESTS CONFIGURE_DEPENDS RELATIVE ${CMAKE_SOURCE_DIR}
     ${CMAKE_SOURCE_DIR}/spec/support/test_sandbox*.py)
list(SORT ASTRO_SANDBOX_TESTS)
foreach(t IN LISTS ASTRO_SANDBOX_TESTS)
  string(REGEX REPLACE "^spec/support/test_(.*)\\.py$" "support/\\1" name "${t}")
  add_test(NAME ${name} COMMAND ${PYTHON3} ${t} WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
endforeach()
