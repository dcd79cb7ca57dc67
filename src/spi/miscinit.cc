// miscadmin.h's user-id functions: the roles the SQL session published
// (compat/session_roles.h), and role names and attributes from the shared
// catalog. Lookups run in an inner frame that owns the C++ objects; the C
// entry points raise only afterwards (compat/pending_error.h).
#include <optional>

#include "compat/pending_error.h"
#include "compat/session_roles.h"
#include "postgres/miscadmin.h"
#include "postgres/utils/elog.h"
#include "postgres/utils/palloc.h"
#include "storage/catalog_cache.h"

namespace {

struct FoundRole {
  bool exists = false;
  bool superuser = false;
  char* name = nullptr;  // palloc'd
};

void LookupRole(Oid role, FoundRole* out, bgw::PendingError* err) {
  if (DataDir == nullptr) {
    bgw::CaptureOwn(ERROR, ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                    "the catalog is not available in this process", nullptr, err);
    return;
  }
  bgw::storage::CatalogLookup lookup(DataDir);
  bgw::Result<std::optional<bgw::storage::RoleInfo>> found =
      lookup.FindRole(static_cast<uint32_t>(role));
  if (!found.ok()) return bgw::Capture(found.status(), err);
  if (!*found) return;
  out->exists = true;
  out->superuser = (*found)->superuser;
  out->name = pstrdup((*found)->name.c_str());
}

FoundRole Role(Oid role) {
  FoundRole f;
  bgw::PendingError err;
  LookupRole(role, &f, &err);
  bgw::RaiseIfSet(err);
  return f;
}

}  // namespace

extern "C" {

Oid GetUserId(void) { return bgw::compat::PublishedSessionRoles().current; }

// Without SECURITY DEFINER functions the outer user is the current one.
Oid GetOuterUserId(void) { return bgw::compat::PublishedSessionRoles().current; }

Oid GetSessionUserId(void) { return bgw::compat::PublishedSessionRoles().session; }

Oid GetAuthenticatedUserId(void) { return bgw::compat::PublishedSessionRoles().authenticated; }

bool superuser(void) { return bgw::compat::PublishedSessionRoles().current_superuser; }

bool superuser_arg(Oid roleid) {
  const bgw::compat::SessionRoles& roles = bgw::compat::PublishedSessionRoles();
  if (roleid != InvalidOid && roleid == roles.current) return roles.current_superuser;
  return Role(roleid).superuser;
}

char* GetUserNameFromId(Oid roleid, bool noerr) {
  FoundRole f = Role(roleid);
  if (!f.exists && !noerr) {
    ereport(ERROR, errcode(ERRCODE_UNDEFINED_OBJECT), errmsg("invalid role OID: %u", roleid));
  }
  return f.name;
}

}  // extern "C"
