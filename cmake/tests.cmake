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
  set_tests_properties(${name} PROPERTIES
    ENVIRONMENT "ASTRO_BIN=$<TARGET_FILE:astro>;ASTRO_SOURCE_DIR=${CMAKE_SOURCE_DIR};ASTRO_PYTHON=${PYTHON3};ASTRO_LUA_DIR="
    TIMEOUT 300)
endforeach()

if(EXISTS ${CMAKE_SOURCE_DIR}/spec/support/test_sandbox.py)
  add_test(NAME support/sandbox COMMAND ${PYTHON3} spec/support/test_sandbox.py
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
endif()
