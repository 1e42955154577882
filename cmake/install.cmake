# `cmake --install <build> [--prefix <prefix>]`: what goes where under the prefix (GNUInstallDirs).
#   bin/astro                                       the binary
#   share/astro/sandbox/                            the sandbox API (sandbox.py, its sandbox_*.py
#                                                   extensions, seed/demo.json), for plugin specs
#   share/doc/astro/                                README.md, and docs/*.md in docs/ (its links hold)
#   share/doc/astro/examples/                       examples/ (automations, the offboard plugin and its spec)
#   share/bash-completion/completions/astro         `astro completion bash`
#   share/zsh/site-functions/_astro                 `astro completion zsh`
#   share/fish/vendor_completions.d/astro.fish      `astro completion fish`
# The completion scripts are made at build time by the binary just built.
#
# Also a script: `cmake -DASTRO=<binary> -DSHELL_NAME=<shell> -DOUT=<file> -DHOME_DIR=<dir>
# -P cmake/install.cmake` writes one completion script (run from the build, below).
if(CMAKE_SCRIPT_MODE_FILE)
  # An empty home: no plugin of whoever builds changes the script or speaks up.
  file(MAKE_DIRECTORY ${HOME_DIR})
  set(ENV{HOME} ${HOME_DIR})
  set(ENV{ASTRO_HOME} ${HOME_DIR})
  # A sanitizer build's leak check belongs to its spec suite (cmake/tests.cmake), not to the build.
  set(ENV{ASAN_OPTIONS} "detect_leaks=0")
  execute_process(COMMAND ${ASTRO} completion ${SHELL_NAME}
                  OUTPUT_FILE ${OUT}.tmp RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${ASTRO} completion ${SHELL_NAME} failed (${rc})")
  endif()
  file(RENAME ${OUT}.tmp ${OUT})
  return()
endif()

include(GNUInstallDirs)

# The binary finds its data (astro.sandbox_path()) from its own folder: the path from the
# install's bin folder to its share/astro, compiled in.
file(RELATIVE_PATH ASTRO_DATA_FROM_BIN ${CMAKE_INSTALL_FULL_BINDIR} ${CMAKE_INSTALL_FULL_DATADIR}/astro)
target_compile_definitions(astro_core PRIVATE ASTRO_DATA_FROM_BIN="${ASTRO_DATA_FROM_BIN}")

install(TARGETS astro RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The sandbox: sandbox.py imports its extensions from its own folder and reads seed/ there.
file(GLOB ASTRO_SANDBOX_FILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/spec/support/sandbox*.py)
install(FILES ${ASTRO_SANDBOX_FILES} DESTINATION ${CMAKE_INSTALL_DATADIR}/astro/sandbox)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/spec/support/seed/ DESTINATION ${CMAKE_INSTALL_DATADIR}/astro/sandbox/seed)

install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
file(GLOB ASTRO_DOCS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES ${ASTRO_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# Completion scripts, made by the binary just built.
set(ASTRO_COMPLETION_DIR ${CMAKE_BINARY_DIR}/completions)
set(ASTRO_COMPLETIONS)
foreach(shell_file bash:astro.bash zsh:_astro fish:astro.fish)
  string(REPLACE ":" ";" pair ${shell_file})
  list(GET pair 0 shell)
  list(GET pair 1 name)
  add_custom_command(
    OUTPUT ${ASTRO_COMPLETION_DIR}/${name}
    COMMAND ${CMAKE_COMMAND} -DASTRO=$<TARGET_FILE:astro> -DSHELL_NAME=${shell}
            -DOUT=${ASTRO_COMPLETION_DIR}/${name} -DHOME_DIR=${ASTRO_COMPLETION_DIR}/home
            -P ${CMAKE_SOURCE_DIR}/cmake/install.cmake
    DEPENDS astro ${CMAKE_SOURCE_DIR}/cmake/install.cmake
    COMMENT "Generating the ${shell} completion script"
    VERBATIM)
  list(APPEND ASTRO_COMPLETIONS ${ASTRO_COMPLETION_DIR}/${name})
endforeach()
add_custom_target(astro_completions ALL DEPENDS ${ASTRO_COMPLETIONS})
install(FILES ${ASTRO_COMPLETION_DIR}/astro.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME astro)
install(FILES ${ASTRO_COMPLETION_DIR}/_astro DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/site-functions)
install(FILES ${ASTRO_COMPLETION_DIR}/astro.fish DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)
