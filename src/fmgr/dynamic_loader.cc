// Module loading; see dynamic_loader.h.
#include "fmgr/dynamic_loader.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <map>
#include <vector>

#include "common/log.h"
#include "common/strutil.h"
#include "guc/settings.h"
#include "port/install_layout.h"
#include "postgres/fmgr.h"
#include "postgres/miscadmin.h"

namespace bgw::loader {
namespace {

std::string data_directory;
// Loaded libraries by resolved path, and by the name they were asked for.
// std::less<>: LoadedHandle looks names up without building a std::string.
std::map<std::string, void*> by_path;
std::map<std::string, void*, std::less<>> by_name;

bool IsFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::vector<std::string> SearchDirectories() {
  std::vector<std::string> dirs;
  std::string path = guc::dynamic_library_path ? guc::dynamic_library_path : "$libdir";
  size_t start = 0;
  while (start <= path.size()) {
    size_t colon = path.find(':', start);
    std::string dir(Trim(path.substr(start, colon == std::string::npos ? colon : colon - start)));
    if (StartsWith(dir, "$libdir")) {
      dir = Layout().pkglibdir + dir.substr(7);
    } else if (StartsWith(dir, "$datadir")) {
      dir = data_directory + dir.substr(8);
    }
    if (!dir.empty()) dirs.push_back(dir);
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return dirs;
}

// Resolves a library name to a file, PostgreSQL's expand_dynamic_library_name.
Result<std::string> Resolve(const std::string& name) {
  std::vector<std::string> tried;
  auto try_path = [&](const std::string& p) -> bool {
    tried.push_back(p);
    return IsFile(p);
  };
  bool has_suffix = name.size() > 3 && name.compare(name.size() - 3, 3, ".so") == 0;
  // '$libdir/x' (extension scripts' MODULE_PATHNAME) is x in the module
  // directory, the one pg_config --pkglibdir names.
  if (StartsWith(name, "$libdir/")) {
    const std::string path = Layout().pkglibdir + name.substr(7);
    if (try_path(path)) return path;
    if (!has_suffix && try_path(path + ".so")) return path + ".so";
  } else if (name.find('/') != std::string::npos) {
    if (try_path(name)) return name;
    if (!has_suffix && try_path(name + ".so")) return name + ".so";
  } else {
    for (const std::string& dir : SearchDirectories()) {
      if (try_path(dir + "/" + name)) return dir + "/" + name;
      if (!has_suffix && try_path(dir + "/" + name + ".so")) return dir + "/" + name + ".so";
    }
  }
  std::string detail = "Searched:";
  for (const std::string& t : tried) detail += " \"" + t + "\"";
  if (tried.empty()) detail = "dynamic_library_path is empty.";
  return MakeError("58P01", "could not access file \"" + name + "\": No such file or directory",
                   detail + ".");
}

Status CheckMagic(void* handle, const std::string& path) {
  auto magic_fn =
      reinterpret_cast<PGModuleMagicFunction>(dlsym(handle, PG_MAGIC_FUNCTION_NAME_STRING));
  if (magic_fn == nullptr) {
    return MakeError("XX000", "incompatible library \"" + path + "\": missing magic block", "",
                     "Extension libraries are required to use the PG_MODULE_MAGIC macro.");
  }
  const Pg_magic_struct* m = magic_fn();
  static const Pg_magic_struct kExpected = PG_MODULE_MAGIC_DATA;
  if (m == nullptr || m->len != kExpected.len || m->abi_magic != kExpected.abi_magic) {
    return MakeError("XX000", "incompatible library \"" + path + "\": magic block mismatch",
                     "The library was not built against bgw's module headers (for example, it "
                     "was built for PostgreSQL itself).",
                     "Rebuild it with its PGXS Makefile and bgw's pg_config (make "
                     "PG_CONFIG=.../pg_config), or the flags from \"bgw config --cflags\".");
  }
  if (m->version != kExpected.version) {
    return MakeError("XX000",
                     StringPrintf("incompatible library \"%s\": version mismatch", path.c_str()),
                     StringPrintf("Server is version %d, library is version %d.", kExpected.version,
                                  m->version));
  }
  std::string diffs;
  if (m->funcmaxargs != kExpected.funcmaxargs) diffs += " FUNC_MAX_ARGS";
  if (m->indexmaxkeys != kExpected.indexmaxkeys) diffs += " INDEX_MAX_KEYS";
  if (m->namedatalen != kExpected.namedatalen) diffs += " NAMEDATALEN";
  if (m->float8byval != kExpected.float8byval) diffs += " FLOAT8PASSBYVAL";
  if (!diffs.empty()) {
    return MakeError("XX000", "incompatible library \"" + path + "\": magic block mismatch",
                     "Differs in:" + diffs + ".");
  }
  return Status::Ok();
}

}  // namespace

void SetDataDirectory(const std::string& data_dir) { data_directory = data_dir; }

Result<void*> LoadLibrary(const std::string& name) {
  void (*init)(void) = nullptr;
  Result<void*> handle = LoadLibraryDeferInit(name, &init);
  if (init != nullptr) init();
  return handle;
}

Result<void*> LoadLibraryDeferInit(const std::string& name, void (**init)(void)) {
  *init = nullptr;
  if (auto it = by_name.find(name); it != by_name.end()) return it->second;
  Result<std::string> path = Resolve(name);
  if (!path.ok()) return path.status();
  if (auto it = by_path.find(*path); it != by_path.end()) {
    by_name[name] = it->second;
    return it->second;
  }
  void* handle = dlopen(path->c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (handle == nullptr) {
    const char* err = dlerror();
    return Status::Error("could not load library \"" + *path + "\": " + (err ? err : "unknown"));
  }
  if (Status s = CheckMagic(handle, *path); !s.ok()) {
    dlclose(handle);
    return s;
  }
  by_path[*path] = handle;
  by_name[name] = handle;
  *init = reinterpret_cast<void (*)(void)>(dlsym(handle, "_PG_init"));
  return handle;
}

void* LoadedHandle(std::string_view name) {
  auto it = by_name.find(name);
  return it == by_name.end() ? nullptr : it->second;
}

Result<void*> LookupFunction(const std::string& library, const std::string& function) {
  Result<void*> handle = LoadLibrary(library);
  if (!handle.ok()) return handle.status();
  void* fn = dlsym(*handle, function.c_str());
  if (fn == nullptr) {
    return Status::Error("could not find function \"" + function + "\" in file \"" + library +
                         "\"");
  }
  return fn;
}

Status PreloadLibraries(const std::string& list) {
  for (const std::string& name : SplitTrimmed(list, ',')) {
    if (name.empty()) continue;
    std::string lib = name;
    if (lib.size() >= 2 && lib.front() == '"' && lib.back() == '"')
      lib = lib.substr(1, lib.size() - 2);
    process_shared_preload_libraries_in_progress = true;
    Result<void*> r = LoadLibrary(lib);
    process_shared_preload_libraries_in_progress = false;
    if (!r.ok()) return r.status();
    BGW_LOG("loaded library \"%s\"", lib.c_str());
  }
  process_shared_preload_libraries_done = true;
  return Status::Ok();
}

}  // namespace bgw::loader

namespace {

// ERROR unwinds with siglongjmp, which must not cross live C++ objects: the
// message is copied into palloc'd C strings inside a scope that ends before
// ereport runs.
struct ErrorText {
  char* message = nullptr;
  char* detail = nullptr;
  char* hint = nullptr;
};

ErrorText ToErrorText(const bgw::Status& status) {
  bgw::log::Message m = bgw::log::MessageFromStatus(bgw::log::Level::kError, status);
  ErrorText t;
  t.message = pstrdup(m.text.c_str());
  if (!m.detail.empty()) t.detail = pstrdup(m.detail.c_str());
  if (!m.hint.empty()) t.hint = pstrdup(m.hint.c_str());
  return t;
}

// Loads `filename`; on failure fills *error and returns nullptr. A first
// load's _PG_init is returned in *init, to be run by the caller.
void* LoadOrDescribe(const char* filename, ErrorText* error, void (**init)(void)) {
  bgw::Result<void*> handle = bgw::loader::LoadLibraryDeferInit(filename, init);
  if (handle.ok()) return *handle;
  *error = ToErrorText(handle.status());
  return nullptr;
}

pg_noreturn void ThrowLoadError(const ErrorText& e) {
  ereport(ERROR, errcode_for_file_access(), errmsg("%s", e.message),
          e.detail ? errdetail("%s", e.detail) : 0, e.hint ? errhint("%s", e.hint) : 0);
  pg_unreachable();
}

}  // namespace

extern "C" {

void* load_external_function(const char* filename, const char* funcname, bool signalNotFound,
                             void** filehandle) {
  ErrorText error;
  void (*init)(void) = nullptr;
  void* handle = LoadOrDescribe(filename, &error, &init);
  if (handle == nullptr) ThrowLoadError(error);
  if (init != nullptr) init();  // no C++ object is alive here
  if (filehandle != nullptr) *filehandle = handle;
  void* fn = dlsym(handle, funcname);
  if (fn == nullptr && signalNotFound) {
    ereport(ERROR, errcode(ERRCODE_UNDEFINED_FUNCTION),
            errmsg("could not find function \"%s\" in file \"%s\"", funcname, filename));
  }
  return fn;
}

void load_file(const char* filename, bool) {
  ErrorText error;
  void (*init)(void) = nullptr;
  if (LoadOrDescribe(filename, &error, &init) == nullptr) ThrowLoadError(error);
  if (init != nullptr) init();
}

}  // extern "C"
