// The SQLite sandbox for user SQL; see sandbox.h.
//
// The VFS wraps SQLite's default ("unix") VFS. The database file and its
// journals are opened by the real VFS into our file object directly (their
// methods are the real ones, so the hot path pays nothing); only temporary
// files get wrapping methods, to count their bytes. Every other open is
// refused, and so are deletes and existence checks of other names, and
// loading shared libraries.
#include "sql/sandbox.h"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "common/strutil.h"
#include "sql/system.h"

namespace bgw::sql::sandbox {
namespace {

// ---- the confining VFS ------------------------------------------------------

constexpr const char* kVfsName = "bgw-sandbox";

sqlite3_vfs* real_vfs = nullptr;
sqlite3_vfs sandbox_vfs;
// Full pathnames (as the real VFS makes them) of the database files open
// through this VFS in this process; a session holds one.
std::vector<std::string>* allowed = nullptr;

int64_t temp_bytes = 0;
int64_t temp_limit = -1;
bool temp_limit_hit = false;

bool IsAllowed(const char* name, const char* suffix) {
  if (name == nullptr || allowed == nullptr) return false;
  const size_t n = std::strlen(name), s = std::strlen(suffix);
  for (const std::string& path : *allowed) {
    if (n == path.size() + s && std::memcmp(name, path.data(), path.size()) == 0 &&
        std::memcmp(name + path.size(), suffix, s) == 0) {
      return true;
    }
  }
  return false;
}

bool IsOwnFile(const char* name) {
  return IsAllowed(name, "") || IsAllowed(name, "-wal") || IsAllowed(name, "-journal");
}

// A temporary file: our header, then the real VFS's file object.
struct TempFile {
  sqlite3_file base;
  sqlite3_int64 size;  // bytes counted in temp_bytes
  sqlite3_file* Real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};

TempFile* Temp(sqlite3_file* f) { return reinterpret_cast<TempFile*>(f); }

void Account(TempFile* t, sqlite3_int64 new_size) {
  temp_bytes += new_size - t->size;
  t->size = new_size;
}

int TempClose(sqlite3_file* f) {
  TempFile* t = Temp(f);
  Account(t, 0);
  return t->Real()->pMethods->xClose(t->Real());
}
int TempRead(sqlite3_file* f, void* buf, int amt, sqlite3_int64 offset) {
  return Temp(f)->Real()->pMethods->xRead(Temp(f)->Real(), buf, amt, offset);
}
int TempWrite(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 offset) {
  TempFile* t = Temp(f);
  const sqlite3_int64 end = offset + amt;
  if (end > t->size && temp_limit >= 0 && temp_bytes + (end - t->size) > temp_limit) {
    temp_limit_hit = true;
    return SQLITE_FULL;
  }
  int rc = t->Real()->pMethods->xWrite(t->Real(), buf, amt, offset);
  if (rc == SQLITE_OK && end > t->size) Account(t, end);
  return rc;
}
int TempTruncate(sqlite3_file* f, sqlite3_int64 size) {
  TempFile* t = Temp(f);
  int rc = t->Real()->pMethods->xTruncate(t->Real(), size);
  if (rc == SQLITE_OK && size < t->size) Account(t, size);
  return rc;
}
int TempSync(sqlite3_file* f, int flags) {
  return Temp(f)->Real()->pMethods->xSync(Temp(f)->Real(), flags);
}
int TempFileSize(sqlite3_file* f, sqlite3_int64* size) {
  return Temp(f)->Real()->pMethods->xFileSize(Temp(f)->Real(), size);
}
int TempLock(sqlite3_file* f, int level) {
  return Temp(f)->Real()->pMethods->xLock(Temp(f)->Real(), level);
}
int TempUnlock(sqlite3_file* f, int level) {
  return Temp(f)->Real()->pMethods->xUnlock(Temp(f)->Real(), level);
}
int TempCheckReserved(sqlite3_file* f, int* out) {
  return Temp(f)->Real()->pMethods->xCheckReservedLock(Temp(f)->Real(), out);
}
int TempFileControl(sqlite3_file* f, int op, void* arg) {
  return Temp(f)->Real()->pMethods->xFileControl(Temp(f)->Real(), op, arg);
}
int TempSectorSize(sqlite3_file* f) {
  return Temp(f)->Real()->pMethods->xSectorSize(Temp(f)->Real());
}
int TempDeviceCharacteristics(sqlite3_file* f) {
  return Temp(f)->Real()->pMethods->xDeviceCharacteristics(Temp(f)->Real());
}

// Version 1: temporary files need neither shared memory nor mmap.
const sqlite3_io_methods kTempMethods = {1,
                                         TempClose,
                                         TempRead,
                                         TempWrite,
                                         TempTruncate,
                                         TempSync,
                                         TempFileSize,
                                         TempLock,
                                         TempUnlock,
                                         TempCheckReserved,
                                         TempFileControl,
                                         TempSectorSize,
                                         TempDeviceCharacteristics,
                                         nullptr,
                                         nullptr,
                                         nullptr,
                                         nullptr,
                                         nullptr,
                                         nullptr};

constexpr int kTempKinds = SQLITE_OPEN_TEMP_DB | SQLITE_OPEN_TEMP_JOURNAL | SQLITE_OPEN_SUBJOURNAL |
                           SQLITE_OPEN_TRANSIENT_DB;

int VfsOpen(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  file->pMethods = nullptr;
  if (name == nullptr || (flags & kTempKinds) != 0) {
    // Anonymous (or deleted-on-close) temporary storage.
    TempFile* t = Temp(file);
    t->size = 0;
    int rc = real_vfs->xOpen(real_vfs, name, t->Real(), flags, out_flags);
    if (rc != SQLITE_OK) {
      if (t->Real()->pMethods != nullptr) t->Real()->pMethods->xClose(t->Real());
      return rc;
    }
    file->pMethods = &kTempMethods;
    return SQLITE_OK;
  }
  const bool main_db = (flags & SQLITE_OPEN_MAIN_DB) != 0 && IsAllowed(name, "");
  const bool journal = (flags & (SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_WAL)) != 0 &&
                       (IsAllowed(name, "-wal") || IsAllowed(name, "-journal"));
  if (!main_db && !journal) return SQLITE_CANTOPEN;
  return real_vfs->xOpen(real_vfs, name, file, flags, out_flags);
}

int VfsDelete(sqlite3_vfs*, const char* name, int sync_dir) {
  if (!IsOwnFile(name)) return SQLITE_IOERR_DELETE;
  return real_vfs->xDelete(real_vfs, name, sync_dir);
}

int VfsAccess(sqlite3_vfs*, const char* name, int flags, int* result) {
  if (!IsOwnFile(name)) {
    *result = 0;
    return SQLITE_OK;
  }
  return real_vfs->xAccess(real_vfs, name, flags, result);
}

int VfsFullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return real_vfs->xFullPathname(real_vfs, name, n, out);
}

void* VfsDlOpen(sqlite3_vfs*, const char*) { return nullptr; }
void VfsDlError(sqlite3_vfs*, int n, char* out) {
  if (n > 0) std::snprintf(out, static_cast<size_t>(n), "loading libraries is not permitted");
}
void (*VfsDlSym(sqlite3_vfs*, void*, const char*))(void) { return nullptr; }
void VfsDlClose(sqlite3_vfs*, void*) {}

int VfsRandomness(sqlite3_vfs*, int n, char* out) {
  return real_vfs->xRandomness(real_vfs, n, out);
}
int VfsSleep(sqlite3_vfs*, int us) { return real_vfs->xSleep(real_vfs, us); }
int VfsCurrentTime(sqlite3_vfs*, double* t) { return real_vfs->xCurrentTime(real_vfs, t); }
int VfsGetLastError(sqlite3_vfs*, int n, char* out) {
  return real_vfs->xGetLastError != nullptr ? real_vfs->xGetLastError(real_vfs, n, out) : 0;
}
int VfsCurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* t) {
  return real_vfs->xCurrentTimeInt64(real_vfs, t);
}

bool RegisterVfs() {
  if (real_vfs != nullptr) return true;
  if (sqlite3_initialize() != SQLITE_OK) return false;
  sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
  if (real == nullptr || real->iVersion < 2) return false;
  real_vfs = real;
  allowed = new std::vector<std::string>();
  sandbox_vfs = sqlite3_vfs{};
  sandbox_vfs.iVersion = 2;
  sandbox_vfs.szOsFile = static_cast<int>(sizeof(TempFile)) + real->szOsFile;
  sandbox_vfs.mxPathname = real->mxPathname;
  sandbox_vfs.zName = kVfsName;
  sandbox_vfs.xOpen = VfsOpen;
  sandbox_vfs.xDelete = VfsDelete;
  sandbox_vfs.xAccess = VfsAccess;
  sandbox_vfs.xFullPathname = VfsFullPathname;
  sandbox_vfs.xDlOpen = VfsDlOpen;
  sandbox_vfs.xDlError = VfsDlError;
  sandbox_vfs.xDlSym = VfsDlSym;
  sandbox_vfs.xDlClose = VfsDlClose;
  sandbox_vfs.xRandomness = VfsRandomness;
  sandbox_vfs.xSleep = VfsSleep;
  sandbox_vfs.xCurrentTime = VfsCurrentTime;
  sandbox_vfs.xGetLastError = VfsGetLastError;
  sandbox_vfs.xCurrentTimeInt64 = VfsCurrentTimeInt64;
  if (sqlite3_vfs_register(&sandbox_vfs, 0) != SQLITE_OK) {
    real_vfs = nullptr;
    return false;
  }
  return true;
}

// ---- engine-wide authorizer rules --------------------------------------------

bool internal_scope = false;
std::optional<ErrorReport>* last_denial = nullptr;

std::string Lower(const char* s) { return s != nullptr ? AsciiLower(s) : std::string(); }

bool OneOf(const std::string& s, std::initializer_list<const char*> names) {
  return std::any_of(names.begin(), names.end(), [&](const char* n) { return s == n; });
}

// Pragmas nobody may set from SQL: they would break durability (journal
// mode, synchronous), the schema (writable_schema, schema_version), the
// sandbox (trusted_schema, temp_store_directory, the busy handler the
// engine's interrupts rely on) or the engine's assumptions about results
// and files (column naming, locking mode, our format version).
bool PragmaNeverSettable(const std::string& name) {
  return OneOf(
      name, {"journal_mode", "synchronous", "writable_schema", "locking_mode", "trusted_schema",
             "busy_timeout", "schema_version", "user_version", "temp_store_directory",
             "data_store_directory", "count_changes", "empty_result_callbacks", "full_column_names",
             "short_column_names", "legacy_file_format", "key", "rekey", "hexkey", "hexrekey"});
}

int Refuse(std::string message, std::string hint = {}) {
  return Deny(MakeError("42501", std::move(message), "", std::move(hint)));
}

int Callback(void* arg, int action, const char* a1, const char* a2, const char* database,
             const char* inner) {
  if (internal_scope) return SQLITE_OK;
  switch (action) {
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
      return Refuse("permission denied to attach or detach a database file",
                    "Each database is a separate file of the server: connect to it instead.");
    case SQLITE_TRANSACTION:
    case SQLITE_SAVEPOINT:
      // The engine runs transactions and savepoints itself (BEGIN, SAVEPOINT
      // ... are its statements); SQLite's own could desynchronize it.
      return Refuse("permission denied for raw transaction control");
    case SQLITE_FUNCTION: {
      const std::string fn = Lower(a2);
      if (fn == "load_extension" || fn == "fts3_tokenizer") {
        return Refuse("permission denied for function " + fn);
      }
      break;
    }
    case SQLITE_PRAGMA: {
      const std::string name = Lower(a1);
      if (a2 != nullptr && PragmaNeverSettable(name)) {
        return Refuse("permission denied to set PRAGMA " + name,
                      "The server manages this setting itself.");
      }
      if (IsReservedName(a2)) return Refuse("permission denied for table " + Lower(a2));
      break;
    }
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE:
    case SQLITE_DROP_TABLE:
    case SQLITE_ALTER_TABLE:
    case SQLITE_DROP_INDEX:
    case SQLITE_DROP_TRIGGER:
    case SQLITE_CREATE_INDEX:
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_CREATE_TEMP_TRIGGER:
    case SQLITE_CREATE_TEMP_INDEX:
    case SQLITE_CREATE_TABLE:
    case SQLITE_CREATE_TEMP_TABLE:
    case SQLITE_CREATE_VIEW:
    case SQLITE_CREATE_TEMP_VIEW:
    case SQLITE_CREATE_VTABLE:
    case SQLITE_DROP_VIEW:
    case SQLITE_DROP_TEMP_VIEW:
    case SQLITE_DROP_TEMP_TABLE:
    case SQLITE_DROP_VTABLE: {
      // The object is a1 (ALTER: a2); an index or trigger's table is a2.
      const bool with_table = action == SQLITE_DROP_INDEX || action == SQLITE_DROP_TRIGGER ||
                              action == SQLITE_CREATE_INDEX || action == SQLITE_CREATE_TRIGGER ||
                              action == SQLITE_CREATE_TEMP_TRIGGER ||
                              action == SQLITE_CREATE_TEMP_INDEX;
      const char* object = action == SQLITE_ALTER_TABLE ? a2 : a1;
      const char* reserved = IsReservedName(object)             ? object
                             : with_table && IsReservedName(a2) ? a2
                                                                : nullptr;
      if (reserved != nullptr) {
        return Refuse("permission denied for table " + Lower(reserved),
                      "Names starting with bgw_catalog_ belong to the server.");
      }
      // A table or view named like a catalogue view would hide it from
      // every session (SQLite looks in the schema before eponymous tables):
      // PostgreSQL's pg_catalog always comes first.
      const bool creates = action == SQLITE_CREATE_TABLE || action == SQLITE_CREATE_TEMP_TABLE ||
                           action == SQLITE_CREATE_VIEW || action == SQLITE_CREATE_TEMP_VIEW ||
                           action == SQLITE_CREATE_VTABLE;
      if (creates && system::IsView(Lower(a1))) {
        return Deny(MakeError("42P07", "relation \"" + Lower(a1) + "\" already exists"));
      }
      break;
    }
    case SQLITE_READ:
      break;
    default:
      break;
  }
  auto* session = static_cast<Authorizer*>(arg);
  if (session == nullptr) return SQLITE_OK;
  return session->Authorize(action, a1, a2, database, inner);
}

}  // namespace

bool IsReservedName(const char* name) {
  static constexpr char kPrefix[] = "bgw_catalog_";
  return name != nullptr && sqlite3_strnicmp(name, kPrefix, sizeof kPrefix - 1) == 0;
}

Result<sqlite3*> Open(const std::string& path) {
  if (!RegisterVfs()) return MakeError("58030", "could not set up the SQLite sandbox");
  std::vector<char> full(static_cast<size_t>(real_vfs->mxPathname) + 1);
  if (real_vfs->xFullPathname(real_vfs, path.c_str(), static_cast<int>(full.size()), full.data()) !=
      SQLITE_OK) {
    return MakeError("58030", StringPrintf("could not resolve database file \"%s\"", path.c_str()));
  }
  const std::string resolved = full.data();
  allowed->push_back(resolved);
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, kVfsName);
  if (rc != SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    allowed->erase(std::find(allowed->begin(), allowed->end(), resolved));
    return MakeError("58030", StringPrintf("could not open database file \"%s\": %s", path.c_str(),
                                           msg.c_str()));
  }
  sqlite3_extended_result_codes(db, 1);
  for (int op : {SQLITE_DBCONFIG_DEFENSIVE, SQLITE_DBCONFIG_TRUSTED_SCHEMA,
                 SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION,
                 SQLITE_DBCONFIG_DQS_DML, SQLITE_DBCONFIG_DQS_DDL, SQLITE_DBCONFIG_WRITABLE_SCHEMA,
                 SQLITE_DBCONFIG_RESET_DATABASE}) {
    (void)sqlite3_db_config(db, op, op == SQLITE_DBCONFIG_DEFENSIVE ? 1 : 0, nullptr);
  }
  (void)sqlite3_enable_load_extension(db, 0);
  // Nothing is ever attached; PostgreSQL's limit on bind parameters.
  sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
  sqlite3_limit(db, SQLITE_LIMIT_VARIABLE_NUMBER, 65535);
  sqlite3_limit(db, SQLITE_LIMIT_WORKER_THREADS, 0);
  return db;
}

void Close(sqlite3* db) {
  if (db == nullptr) return;
  const char* name = sqlite3_db_filename(db, "main");
  if (name != nullptr && allowed != nullptr) {
    auto it = std::find(allowed->begin(), allowed->end(), std::string(name));
    if (it != allowed->end()) allowed->erase(it);
  }
  sqlite3_close_v2(db);
}

void SetAuthorizer(sqlite3* db, Authorizer* session) {
  sqlite3_set_authorizer(db, Callback, session);
}

int Deny(ErrorReport error) {
  if (last_denial == nullptr) last_denial = new std::optional<ErrorReport>();
  *last_denial = std::move(error);
  return SQLITE_DENY;
}

std::optional<ErrorReport> TakeDenial() {
  if (last_denial == nullptr) return std::nullopt;
  std::optional<ErrorReport> e = std::move(*last_denial);
  last_denial->reset();
  return e;
}

InternalScope::InternalScope() : saved_(internal_scope) { internal_scope = true; }
InternalScope::~InternalScope() { internal_scope = saved_; }
bool InInternalScope() { return internal_scope; }

void ApplyLimits(int64_t memory_limit_bytes, int64_t temp_limit_bytes) {
  (void)sqlite3_hard_heap_limit64(memory_limit_bytes < 0 ? 0 : memory_limit_bytes);
  temp_limit = temp_limit_bytes;
}

bool TakeTempLimitExceeded() {
  bool hit = temp_limit_hit;
  temp_limit_hit = false;
  return hit;
}

int64_t TempBytes() { return temp_bytes; }

}  // namespace bgw::sql::sandbox
