// commands/dbcommands.h: database names and OIDs from the shared catalog.
//
// The lookups run in inner frames that own the C++ objects; the C entry
// points raise only afterwards (compat/pending_error.h explains why).
#include "postgres/commands/dbcommands.h"

#include <cstring>
#include <optional>
#include <string>

#include "compat/pending_error.h"
#include "postgres/miscadmin.h"
#include "postgres/utils/elog.h"
#include "postgres/utils/palloc.h"
#include "storage/catalog_cache.h"

namespace {

struct Found {
  bool exists = false;
  Oid oid = InvalidOid;
  char* name = nullptr;  // palloc'd
};

template <typename Key>
void Lookup(const Key& key, Found* out, bgw::PendingError* err) {
  if (DataDir == nullptr) {
    bgw::CaptureOwn(ERROR, ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "the catalog is not available in this process", nullptr, err);
    return;
  }
  bgw::storage::CatalogLookup lookup(DataDir);
  bgw::Result<std::optional<bgw::storage::DatabaseInfo>> found = lookup.FindDatabase(key);
  if (!found.ok()) return bgw::Capture(found.status(), err);
  if (!*found) return;
  out->exists = true;
  out->oid = (*found)->oid;
  out->name = pstrdup((*found)->name.c_str());
}

}  // namespace

extern "C" {

char* get_database_name(Oid dbid) {
  Found f;
  bgw::PendingError err;
  Lookup(static_cast<uint32_t>(dbid), &f, &err);
  bgw::RaiseIfSet(err);
  return f.exists ? f.name : nullptr;
}

Oid get_database_oid(const char* dbname, bool missing_ok) {
  Found f;
  bgw::PendingError err;
  Lookup(std::string(dbname), &f, &err);
  bgw::RaiseIfSet(err);
  if (!f.exists && !missing_ok) {
    ereport(ERROR, errcode(ERRCODE_UNDEFINED_DATABASE),
            errmsg("database \"%s\" does not exist", dbname));
  }
  return f.oid;
}

}  // extern "C"
