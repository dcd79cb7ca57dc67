# bgw_add_module(NAME SOURCES src...)
#
# Builds a loadable module (NAME.so, no "lib" prefix) against the
# PostgreSQL-compatible headers, the way an out-of-tree module would with
# `bgw config --cflags`. Undefined symbols are left for the server to provide
# when it loads the module.
function(bgw_add_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES" ${ARGN})
  add_library(${name} MODULE ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES PREFIX "" SUFFIX ".so"
    LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/modules)
  # Default symbol visibility, as PostgreSQL 13-15 modules expect: their
  # worker entry points are often not marked PGDLLEXPORT.
  if(DEFINED BGW_SOURCE_INCLUDE_DIR)
    target_include_directories(${name} PRIVATE ${BGW_SOURCE_INCLUDE_DIR}/postgres
                               ${BGW_SOURCE_INCLUDE_DIR})
  else()
    # Out of tree: ask the installed server where its headers are.
    execute_process(COMMAND bgw config --includedir OUTPUT_VARIABLE bgw_inc
                    OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
    target_include_directories(${name} PRIVATE ${bgw_inc} ${bgw_inc}/..)
  endif()
  target_compile_options(${name} PRIVATE -Wall -Wextra -Werror -fPIC)
endfunction()
