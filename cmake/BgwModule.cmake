# bgw_add_module(NAME SOURCES src...)
#
# Builds a loadable module (NAME.so, no "lib" prefix) against the
# PostgreSQL-compatible headers, the way an out-of-tree module would with
# `bgw config --cflags`. Undefined symbols are left for the server to provide
# when it loads the module.
#
# Warnings: always -Wall -Wextra; -Werror only with BGW_MODULE_WERROR, which
# is on for the modules in this tree (CI keeps them warning-free) and off by
# default for a module author's own build, where a newer or different
# compiler may warn about code we never see.

include(${CMAKE_CURRENT_LIST_DIR}/BgwModulePaths.cmake OPTIONAL)
if(NOT DEFINED BGW_SOURCE_INCLUDE_DIR AND NOT DEFINED BGW_INSTALLED_INCLUDEDIR)
  message(FATAL_ERROR "BgwModule.cmake: use the copy installed with bgworker "
                      "(bgw config --cmakedir), which knows where the server's headers are")
endif()
if(DEFINED BGW_SOURCE_INCLUDE_DIR)
  set(_bgw_module_werror_default ON)
else()
  set(_bgw_module_werror_default OFF)
endif()
option(BGW_MODULE_WERROR "Treat warnings as errors in bgw_add_module() targets"
       ${_bgw_module_werror_default})

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
    # Out of tree: the installation this file belongs to (BgwModulePaths.cmake
    # is written beside it at install time), so bgw need not be on PATH;
    # `make install` puts the module where the server loads $libdir from.
    target_include_directories(${name} PRIVATE ${BGW_INSTALLED_INCLUDEDIR}/postgres
                               ${BGW_INSTALLED_INCLUDEDIR})
    install(TARGETS ${name} LIBRARY DESTINATION ${BGW_INSTALLED_PKGLIBDIR})
  endif()
  target_compile_options(${name} PRIVATE -Wall -Wextra -fPIC)
  if(BGW_MODULE_WERROR)
    target_compile_options(${name} PRIVATE -Werror)
  endif()
  # GCC 12 at -O3 reports a false -Wrestrict inside libstdc++'s std::string
  # (GCC bug 105329, fixed in GCC 13); the top-level CMakeLists.txt works
  # around it for the server's own targets, this for C++ modules.
  target_compile_options(${name} PRIVATE
    $<$<AND:$<COMPILE_LANG_AND_ID:CXX,GNU>,$<VERSION_LESS:$<CXX_COMPILER_VERSION>,13>>:-Wno-restrict>)
endfunction()
