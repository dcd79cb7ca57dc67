// Access control lists: PostgreSQL's aclitem model, for tables, columns,
// schemas, databases and functions.
//
// An ACL is a list of items "grantee=privileges/grantor", where the grantee 0
// is PUBLIC and each privilege may carry its grant option ('*'). An object
// whose ACL was never changed has none stored (NULL in PostgreSQL): its
// privileges are the defaults of its kind (DefaultAcl: the owner holds them
// all, and PUBLIC holds CONNECT and TEMPORARY on databases and EXECUTE on
// functions). The first GRANT or REVOKE materializes the defaults and edits
// them, as PostgreSQL's aclupdate does, so "revoke from the owner" and
// "revoke from PUBLIC" both mean what they mean there.
//
// Storage form (Encode/Decode) names roles by OID, so renaming a role never
// touches an ACL: "16385=arw*/10,0=r/10". The display form (Format) is
// PostgreSQL's aclitem[] text with role names: {alice=arw*/bob,=r/bob}.
//
// Pure functions; no SQLite, no catalog access. Checks against a role's
// memberships take a predicate (roles.h decides who has whose privileges).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bgw::sql::acl {

// One bit per privilege, in PostgreSQL's letter order ("arwdDxtXUCTc").
enum Privilege : uint32_t {
  kInsert = 1u << 0,      // a
  kSelect = 1u << 1,      // r
  kUpdate = 1u << 2,      // w
  kDelete = 1u << 3,      // d
  kTruncate = 1u << 4,    // D
  kReferences = 1u << 5,  // x
  kTrigger = 1u << 6,     // t
  kExecute = 1u << 7,     // X
  kUsage = 1u << 8,       // U
  kCreate = 1u << 9,      // C
  kTemporary = 1u << 10,  // T
  kConnect = 1u << 11,    // c
};

// The grantee that stands for every role.
inline constexpr uint32_t kPublic = 0;

enum class ObjectKind { kTable, kColumn, kSchema, kDatabase, kFunction };

struct Item {
  uint32_t grantee = kPublic;
  uint32_t grantor = 0;
  uint32_t privileges = 0;
  uint32_t grant_options = 0;  // subset of privileges
  bool operator==(const Item&) const = default;
};
using Acl = std::vector<Item>;

// Every privilege an object of this kind can have (ALL PRIVILEGES).
uint32_t AllPrivileges(ObjectKind kind);
// The privileges of an object whose ACL was never set (acldefault).
Acl DefaultAcl(ObjectKind kind, uint32_t owner);

// The letter of one privilege bit, or 0.
char Letter(uint32_t privilege);
// "SELECT", "INSERT", ... for one privilege bit; "" if not one.
const char* Name(uint32_t privilege);
// SQL privilege keyword (case-insensitive, "ALL" excluded) to its bit, 0 if
// unknown. "TEMP" and "TEMPORARY" are the same privilege.
uint32_t FromName(std::string_view name);

// Storage form; "" for an empty ACL (no privileges at all, which is not the
// same as "never set": callers keep that distinction as std::nullopt).
std::string Encode(const Acl& acl);
// Parses Encode's output; nullopt if malformed (a damaged catalog row is
// treated by callers as "owner only").
std::optional<Acl> Decode(std::string_view text);

// PostgreSQL's aclitem[] output: {alice=arw*/bob,=r/bob}. `name_of` maps a
// role OID to its name (PostgreSQL prints the number of a dropped role).
std::string Format(const Acl& acl, const std::function<std::string(uint32_t)>& name_of);
// One item's privilege letters with grant options ("arw*").
std::string Letters(uint32_t privileges, uint32_t grant_options);

// GRANT `privileges` to `grantee`, as `grantor`; with_grant_option also
// grants the option to grant them further.
void Grant(Acl* acl, uint32_t grantee, uint32_t grantor, uint32_t privileges,
           bool with_grant_option);

// REVOKE [GRANT OPTION FOR] `privileges` FROM `grantee` (only what
// `grantor` granted, as in PostgreSQL). Privileges the grantee passed on
// with its grant option depend on it: with `cascade` they are revoked too
// (recursively); without, and if any exist, nothing changes and the result
// is false (PostgreSQL's 2BP01 "dependent privileges exist").
bool Revoke(Acl* acl, uint32_t grantee, uint32_t grantor, uint32_t privileges,
            bool grant_option_only, bool cascade);

// Replaces every reference to role `from` (as grantee or grantor) by `to`,
// merging items that become duplicates (ALTER ... OWNER TO, REASSIGN OWNED).
void ReplaceRole(Acl* acl, uint32_t from, uint32_t to);
// Removes the items whose grantee is `role` (DROP OWNED).
void RemoveGrantee(Acl* acl, uint32_t role);
// Whether `role` appears in the ACL as grantee or grantor.
bool Mentions(const Acl& acl, uint32_t role);

// The privileges (and, separately, grant options) held through the ACL by
// whoever `holds` says has the privileges of a grantee (PUBLIC included:
// callers answer true for kPublic).
uint32_t Mask(const Acl& acl, const std::function<bool(uint32_t grantee)>& holds);
uint32_t GrantOptionMask(const Acl& acl, const std::function<bool(uint32_t grantee)>& holds);

}  // namespace bgw::sql::acl
