// PostgreSQL's catalogue as views of the truth: what the shared catalog,
// the database's catalogue (catalogue.h) and SQLite's schema hold, computed
// at each scan (system::AddView), never copies that could drift.
//
//   pg_namespace, pg_class, pg_attribute   with owners and ACLs (relacl,
//       attacl, nspacl: aclitem[] text, as psql's \dp and \dn show them)
//   pg_roles, pg_user, pg_authid           pg_authid (password verifiers)
//       for superusers only, as PostgreSQL
//   pg_auth_members, pg_database (datacl), pg_policy (empty: no row security)
//
// and the functions that ask about privileges and names: has_table_privilege,
// has_column_privilege, has_any_column_privilege, has_schema_privilege,
// has_database_privilege, has_function_privilege, pg_has_role (each with and
// without the leading role argument, roles and objects by name or OID),
// pg_get_userbyid, pg_encoding_to_char, pg_table_is_visible,
// array_to_string, obj_description / col_description / shobj_description
// (no comments are stored: NULL).
//
// Relation and namespace OIDs are the catalogue's (public is 2200,
// pg_catalog 11, as in PostgreSQL); attribute numbers are SQLite's column
// order from 1.
#pragma once

#include "common/status.h"
#include "sql/builtins.h"
#include "sql/privileges.h"
#include "sql/session.h"

struct sqlite3;

namespace bgw::sql::catalog_views {

inline constexpr uint32_t kPgCatalogNamespace = 11;
inline constexpr uint32_t kPublicNamespace = 2200;

// The catalogue questions (has_table_privilege, pg_get_userbyid, ...) as
// builtins.h functions.
std::span<const builtins::Function> Functions();

// `info` and `access` are the session's and must outlive `db`.
Status Register(sqlite3* db, const SessionInfo* info, privileges::AccessControl* access);

}  // namespace bgw::sql::catalog_views
