// Loading modules: finding a library on dynamic_library_path, checking its
// magic block, running its _PG_init() once per process, and resolving
// functions in it (PostgreSQL's dfmgr).
//
// A library loaded by the postmaster (shared_preload_libraries) is inherited
// by every child through fork, so a worker whose function lives in a
// preloaded library does not load anything; other libraries are loaded in
// the worker itself, where _PG_init() runs with
// process_shared_preload_libraries_in_progress false.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace bgw::loader {

// Where modules are searched: dynamic_library_path with $libdir (the
// installation's module directory) and $datadir (the data directory)
// expanded. Set by the postmaster before preloading.
void SetDataDirectory(const std::string& data_dir);

// Loads `name` (a bare name searched on the path, or a path), checks its
// magic block, and calls _PG_init() the first time. Returns the dlopen
// handle. Errors read like PostgreSQL's ("could not access file ...",
// "incompatible library ...: missing magic block") with a DETAIL naming what
// was searched.
Result<void*> LoadLibrary(const std::string& name);

// The same, but a first load returns _PG_init in *init instead of calling it
// (nullptr when there is nothing to run): callers that may be unwound by an
// ERROR from _PG_init (siglongjmp) run it once their C++ objects are gone.
Result<void*> LoadLibraryDeferInit(const std::string& name, void (**init)(void));

// The handle of `name` if this process has already loaded it under that
// name (a preloaded library in the postmaster), else nullptr. Never loads,
// never allocates.
void* LoadedHandle(std::string_view name);

// Finds `function` in `library` (loading it if needed).
Result<void*> LookupFunction(const std::string& library, const std::string& function);

// Postmaster: loads each comma-separated library of shared_preload_libraries
// with process_shared_preload_libraries_in_progress set.
Status PreloadLibraries(const std::string& list);

}  // namespace bgw::loader
