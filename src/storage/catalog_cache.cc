// The shared catalog snapshot; see catalog_cache.h.
//
// Readers take no lock: the snapshot is a seqlock (as backend_status's
// entries), so a reader copies the entry it wants and retries when a
// publisher moved the counter. That matters because a client backend looks
// its role up before it owns a proc slot (no LWLock yet) and while SIGTERM
// still _exit()s it at once: a reader holding a lock there could die with
// it. Publishers never wait either: one try-lock, and whoever loses simply
// does not publish (the winner's rows are as good as its own).
#include "storage/catalog_cache.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <type_traits>
#include <utility>

#include "ipc/segment.h"

namespace bgw::storage {
namespace catalog_cache {
namespace {

// Names and verifiers are stored with their length, not NUL-terminated:
// comparisons are bytewise on exactly the stored bytes, as the catalog's
// BINARY collation compares them.
struct DatabaseEntry {
  uint32_t oid;
  uint32_t owner;
  int32_t connection_limit;
  uint8_t allow_connections;
  uint8_t name_len;
  uint8_t has_acl;
  uint16_t acl_len;
  char name[kMaxNameLen];
  char acl[kMaxAclLen];
};

// RoleEntry::flags
enum : uint8_t {
  kSuperuser = 1,
  kCanLogin = 2,
  kInherit = 4,
  kCreateRole = 8,
  kCreateDb = 16,
  kReplication = 32,
  kBypassRls = 64,
};

struct RoleEntry {
  uint32_t oid;
  int32_t connection_limit;
  uint8_t flags;
  uint8_t name_len;
  uint8_t verifier_len;
  char name[kMaxNameLen];
  char verifier[kMaxVerifierLen];
};

struct MembershipEntry {
  uint32_t role;
  uint32_t member;
  uint32_t grantor;
  uint8_t admin_option;
};
static_assert(kMaxNameLen <= UINT8_MAX && kMaxVerifierLen <= UINT8_MAX && kMaxAclLen <= UINT16_MAX);

// The snapshot in the main segment.
//
// Protocol:
//   generation: the catalog's change counter. ShmemInit stores 1 (the
//     postmaster, no child running). Every process that commits a catalog
//     write adds 1 (seq_cst) after the SQLite COMMIT and before the
//     statement reports success. Never decreases within a segment's life.
//   snapshot_generation: the generation the published rows were read at;
//     0 = nothing published. The snapshot is current iff it equals
//     generation. Written only by the publisher inside the seqlock (below).
//     A rebuilder reads generation (seq_cst) BEFORE its SQLite reads and
//     publishes only if generation still has that value once it holds the
//     publish lock; a commit after that check makes generation move past
//     snapshot_generation, so a write concurrent with a rebuild can never be
//     masked by it.
//   overflow_generation: a rebuilder whose rows do not fit stores the
//     generation it read (relaxed): readers seeing it equal to generation
//     skip rebuilding and query SQLite directly. Only a hint; a stale value
//     merely costs a pointless rebuild.
//   publishing: the publishers' try-lock (exchange 1, acquire; store 0,
//     release). Held with every catchable signal blocked, so only a crash
//     (which reinitializes shared memory) can leave it held.
//   objects_generation: InvalidateObjects' counter (catalog_cache.h);
//     independent of the rest, only ever incremented (seq_cst).
//   changecount, num_databases, num_roles, num_memberships, databases, roles,
//     memberships: a seqlock,
//     written only by the publish-lock holder: it stores changecount+1 (odd)
//     and issues a release fence (pairs with the reader's acquire fence after
//     its copy), writes the rows, counts and snapshot_generation, then stores
//     changecount+2 with release order (pairs with the reader's acquire load
//     before its copy). Readers copy one entry between those two loads of
//     changecount and discard the copy when the counter was odd or moved:
//     a torn entry is never used. Counts are clamped and lengths checked
//     before use, so even a torn copy cannot read out of bounds.
struct Shared {
  std::atomic<uint64_t> generation;
  std::atomic<uint64_t> overflow_generation;
  std::atomic<uint32_t> publishing;
  std::atomic<uint64_t> objects_generation;
  alignas(64) std::atomic<uint32_t> changecount;
  std::atomic<uint64_t> snapshot_generation;
  uint32_t num_databases;
  uint32_t num_roles;
  uint32_t num_memberships;
  DatabaseEntry databases[kMaxDatabases];
  RoleEntry roles[kMaxRoles];
  MembershipEntry memberships[kMaxMemberships];
};
static_assert(std::is_trivially_copyable_v<DatabaseEntry> &&
              std::is_trivially_copyable_v<RoleEntry> &&
              std::is_trivially_copyable_v<MembershipEntry>);

Shared* shared = nullptr;
const void* shared_segment = nullptr;  // the mapping `shared` points into

// Reads that met a publisher mid-write this many times give up and fall back
// to SQLite rather than spin.
constexpr int kReadAttempts = 4;

Shared* Attached() {
  // A process that unmapped the segment (shmem::DetachForChild), or a test
  // that replaced it, must not follow the old pointer.
  if (shared == nullptr || !shmem::IsAttached() || shmem::SegmentAddress() != shared_segment) {
    return nullptr;
  }
  return shared;
}

bool Matches(const DatabaseEntry& e, const std::string& name) {
  return e.name_len == name.size() && e.name_len <= kMaxNameLen &&
         std::memcmp(e.name, name.data(), e.name_len) == 0;
}
bool Matches(const DatabaseEntry& e, uint32_t oid) { return e.oid == oid; }
bool Matches(const RoleEntry& e, const std::string& name) {
  return e.name_len == name.size() && e.name_len <= kMaxNameLen &&
         std::memcmp(e.name, name.data(), e.name_len) == 0;
}
bool Matches(const RoleEntry& e, uint32_t oid) { return e.oid == oid; }

DatabaseInfo ToInfo(const DatabaseEntry& e) {
  DatabaseInfo d;
  d.oid = e.oid;
  d.name.assign(e.name, std::min<size_t>(e.name_len, kMaxNameLen));
  d.owner = e.owner;
  d.allow_connections = e.allow_connections != 0;
  d.connection_limit = e.connection_limit;
  if (e.has_acl != 0) d.acl.emplace(e.acl, std::min<size_t>(e.acl_len, kMaxAclLen));
  return d;
}

RoleInfo ToInfo(const RoleEntry& e) {
  RoleInfo r;
  r.oid = e.oid;
  r.name.assign(e.name, std::min<size_t>(e.name_len, kMaxNameLen));
  r.superuser = (e.flags & kSuperuser) != 0;
  r.can_login = (e.flags & kCanLogin) != 0;
  r.inherit = (e.flags & kInherit) != 0;
  r.create_role = (e.flags & kCreateRole) != 0;
  r.create_db = (e.flags & kCreateDb) != 0;
  r.replication = (e.flags & kReplication) != 0;
  r.bypass_rls = (e.flags & kBypassRls) != 0;
  r.connection_limit = e.connection_limit;
  r.password.assign(e.verifier, std::min<size_t>(e.verifier_len, kMaxVerifierLen));
  return r;
}

bool Fits(const DatabaseInfo& d) {
  return d.name.size() <= kMaxNameLen && (!d.acl || d.acl->size() <= kMaxAclLen);
}
bool Fits(const RoleInfo& r) {
  return r.name.size() <= kMaxNameLen && r.password.size() <= kMaxVerifierLen;
}

void Store(const DatabaseInfo& d, DatabaseEntry* e) {
  e->oid = d.oid;
  e->owner = d.owner;
  e->connection_limit = d.connection_limit;
  e->allow_connections = d.allow_connections ? 1 : 0;
  e->name_len = static_cast<uint8_t>(d.name.size());
  std::memcpy(e->name, d.name.data(), d.name.size());
  e->has_acl = d.acl ? 1 : 0;
  e->acl_len = d.acl ? static_cast<uint16_t>(d.acl->size()) : 0;
  if (d.acl) std::memcpy(e->acl, d.acl->data(), d.acl->size());
}

void Store(const RoleInfo& r, RoleEntry* e) {
  e->oid = r.oid;
  e->connection_limit = r.connection_limit;
  e->flags = static_cast<uint8_t>(
      (r.superuser ? kSuperuser : 0) | (r.can_login ? kCanLogin : 0) | (r.inherit ? kInherit : 0) |
      (r.create_role ? kCreateRole : 0) | (r.create_db ? kCreateDb : 0) |
      (r.replication ? kReplication : 0) | (r.bypass_rls ? kBypassRls : 0));
  e->name_len = static_cast<uint8_t>(r.name.size());
  e->verifier_len = static_cast<uint8_t>(r.password.size());
  std::memcpy(e->name, r.name.data(), r.name.size());
  std::memcpy(e->verifier, r.password.data(), r.password.size());
}

// The rows of one kind in the snapshot.
template <typename Info>
struct Rows;
template <>
struct Rows<DatabaseInfo> {
  using Entry = DatabaseEntry;
  static const Entry* Begin(const Shared* s) { return s->databases; }
  static uint32_t Count(const Shared* s) {
    return std::min<uint32_t>(s->num_databases, kMaxDatabases);
  }
};
template <>
struct Rows<RoleInfo> {
  using Entry = RoleEntry;
  static const Entry* Begin(const Shared* s) { return s->roles; }
  static uint32_t Count(const Shared* s) { return std::min<uint32_t>(s->num_roles, kMaxRoles); }
};

}  // namespace

size_t ShmemSize() { return sizeof(Shared); }

void ShmemInit() {
  bool found = false;
  shared = static_cast<Shared*>(shmem::InitStruct("CatalogCache", sizeof(Shared), &found));
  shared_segment = shared != nullptr ? shmem::SegmentAddress() : nullptr;
  if (shared == nullptr || found) return;
  // Zero-filled: snapshot_generation 0 never equals generation, so a new
  // segment (also after a crash) starts stale and the first connection
  // rebuilds it.
  shared->generation.store(1, std::memory_order_relaxed);
}

void DetachForTesting() {
  shared = nullptr;
  shared_segment = nullptr;
}

void Invalidate() {
  if (Shared* s = Attached()) s->generation.fetch_add(1, std::memory_order_seq_cst);
}

uint64_t Generation() {
  Shared* s = Attached();
  return s != nullptr ? s->generation.load(std::memory_order_seq_cst) : 0;
}

uint64_t ObjectsGeneration() {
  Shared* s = Attached();
  return s != nullptr ? s->objects_generation.load(std::memory_order_seq_cst) : 0;
}

void InvalidateObjects() {
  if (Shared* s = Attached()) s->objects_generation.fetch_add(1, std::memory_order_seq_cst);
}

bool Publish(uint64_t generation, const std::vector<DatabaseInfo>& databases,
             const std::vector<RoleInfo>& roles, const std::vector<Membership>& memberships) {
  Shared* s = Attached();
  if (s == nullptr || generation == 0) return false;
  if (databases.size() > kMaxDatabases || roles.size() > kMaxRoles ||
      memberships.size() > kMaxMemberships ||
      !std::all_of(databases.begin(), databases.end(), [](const auto& d) { return Fits(d); }) ||
      !std::all_of(roles.begin(), roles.end(), [](const auto& r) { return Fits(r); })) {
    s->overflow_generation.store(generation, std::memory_order_relaxed);
    return false;
  }
  // A signal handler that exits (the pre-authentication SIGTERM handler
  // _exit()s) must not leave the lock held or the counter odd.
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  bool published = false;
  if (s->publishing.exchange(1, std::memory_order_acquire) == 0) {
    if (s->generation.load(std::memory_order_seq_cst) == generation) {
      uint32_t c = s->changecount.load(std::memory_order_relaxed);
      s->changecount.store(c + 1, std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_release);
      for (size_t i = 0; i < databases.size(); i++) Store(databases[i], &s->databases[i]);
      for (size_t i = 0; i < roles.size(); i++) Store(roles[i], &s->roles[i]);
      for (size_t i = 0; i < memberships.size(); i++) {
        const Membership& m = memberships[i];
        s->memberships[i] =
            MembershipEntry{m.role, m.member, m.grantor, m.admin_option ? uint8_t{1} : uint8_t{0}};
      }
      s->num_databases = static_cast<uint32_t>(databases.size());
      s->num_roles = static_cast<uint32_t>(roles.size());
      s->num_memberships = static_cast<uint32_t>(memberships.size());
      s->snapshot_generation.store(generation, std::memory_order_relaxed);
      s->changecount.store(c + 2, std::memory_order_release);
      published = true;
    }
    s->publishing.store(0, std::memory_order_release);
  }
  sigprocmask(SIG_SETMASK, &old, nullptr);
  return published;
}

template <typename Info, typename Key>
Probe Lookup(const Key& key, std::optional<Info>* out) {
  using Entry = typename Rows<Info>::Entry;
  Shared* s = Attached();
  if (s == nullptr) return Probe::kUnusable;
  for (int attempt = 0; attempt < kReadAttempts; attempt++) {
    uint32_t before = s->changecount.load(std::memory_order_acquire);
    if (before & 1) continue;
    uint64_t generation = s->generation.load(std::memory_order_seq_cst);
    if (s->snapshot_generation.load(std::memory_order_relaxed) != generation) {
      return s->overflow_generation.load(std::memory_order_relaxed) == generation ? Probe::kUnusable
                                                                                  : Probe::kStale;
    }
    bool found = false;
    Entry copy{};
    const Entry* entries = Rows<Info>::Begin(s);
    for (uint32_t i = 0, n = Rows<Info>::Count(s); i < n; i++) {
      if (Matches(entries[i], key)) {
        std::memcpy(&copy, &entries[i], sizeof copy);
        found = true;
        break;
      }
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (s->changecount.load(std::memory_order_relaxed) != before) continue;
    if (found) {
      *out = ToInfo(copy);
    } else {
      out->reset();
    }
    return Probe::kAnswered;
  }
  return Probe::kStale;
}

namespace {

// Copies every row of one kind out of the seqlock (see Shared).
template <typename Row, typename Copy>
Probe CopyAll(std::vector<Row>* out, Copy copy) {
  Shared* s = Attached();
  if (s == nullptr) return Probe::kUnusable;
  for (int attempt = 0; attempt < kReadAttempts; attempt++) {
    uint32_t before = s->changecount.load(std::memory_order_acquire);
    if (before & 1) continue;
    uint64_t generation = s->generation.load(std::memory_order_seq_cst);
    if (s->snapshot_generation.load(std::memory_order_relaxed) != generation) {
      return s->overflow_generation.load(std::memory_order_relaxed) == generation ? Probe::kUnusable
                                                                                  : Probe::kStale;
    }
    out->clear();
    copy(s, out);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (s->changecount.load(std::memory_order_relaxed) != before) continue;
    return Probe::kAnswered;
  }
  return Probe::kStale;
}

}  // namespace

Probe Memberships(std::vector<Membership>* out) {
  return CopyAll(out, [](const Shared* s, std::vector<Membership>* rows) {
    const uint32_t n = std::min<uint32_t>(s->num_memberships, kMaxMemberships);
    for (uint32_t i = 0; i < n; i++) {
      const MembershipEntry& e = s->memberships[i];
      rows->push_back(Membership{e.role, e.member, e.grantor, e.admin_option != 0});
    }
  });
}

Probe Databases(std::vector<DatabaseInfo>* out) {
  return CopyAll(out, [](const Shared* s, std::vector<DatabaseInfo>* rows) {
    for (uint32_t i = 0, n = Rows<DatabaseInfo>::Count(s); i < n; i++) {
      rows->push_back(ToInfo(s->databases[i]));
    }
  });
}

Probe Roles(std::vector<RoleInfo>* out) {
  return CopyAll(out, [](const Shared* s, std::vector<RoleInfo>* rows) {
    for (uint32_t i = 0, n = Rows<RoleInfo>::Count(s); i < n; i++) {
      rows->push_back(ToInfo(s->roles[i]));
    }
  });
}

template Probe Lookup<DatabaseInfo, std::string>(const std::string&, std::optional<DatabaseInfo>*);
template Probe Lookup<DatabaseInfo, uint32_t>(const uint32_t&, std::optional<DatabaseInfo>*);
template Probe Lookup<RoleInfo, std::string>(const std::string&, std::optional<RoleInfo>*);
template Probe Lookup<RoleInfo, uint32_t>(const uint32_t&, std::optional<RoleInfo>*);

}  // namespace catalog_cache

namespace {

bool Matches(const DatabaseInfo& d, const std::string& name) { return d.name == name; }
bool Matches(const DatabaseInfo& d, uint32_t oid) { return d.oid == oid; }
bool Matches(const RoleInfo& r, const std::string& name) { return r.name == name; }
bool Matches(const RoleInfo& r, uint32_t oid) { return r.oid == oid; }

// Catalog's single-row query for a key.
Result<std::optional<DatabaseInfo>> QueryOne(Catalog& c, const std::string& name, DatabaseInfo*) {
  return c.FindDatabase(name);
}
Result<std::optional<DatabaseInfo>> QueryOne(Catalog& c, uint32_t oid, DatabaseInfo*) {
  return c.FindDatabase(oid);
}
Result<std::optional<RoleInfo>> QueryOne(Catalog& c, const std::string& name, RoleInfo*) {
  return c.FindRole(name);
}
Result<std::optional<RoleInfo>> QueryOne(Catalog& c, uint32_t oid, RoleInfo*) {
  return c.FindRole(oid);
}

const std::vector<DatabaseInfo>& Pick(const std::vector<DatabaseInfo>& d,
                                      const std::vector<RoleInfo>&, DatabaseInfo*) {
  return d;
}
const std::vector<RoleInfo>& Pick(const std::vector<DatabaseInfo>&, const std::vector<RoleInfo>& r,
                                  RoleInfo*) {
  return r;
}

}  // namespace

CatalogLookup::CatalogLookup(std::string data_dir) : data_dir_(std::move(data_dir)) {}
CatalogLookup::~CatalogLookup() = default;

Result<Catalog*> CatalogLookup::OpenCatalog() {
  if (!catalog_) {
    Result<std::unique_ptr<Catalog>> opened = Catalog::Open(data_dir_);
    if (!opened.ok()) return opened.error();
    catalog_ = std::move(*opened);
  }
  return catalog_.get();
}

template <typename Info, typename Key>
Result<std::optional<Info>> CatalogLookup::Find(const Key& key) {
  std::optional<Info> answer;
  catalog_cache::Probe probe = catalog_cache::Lookup<Info, Key>(key, &answer);
  if (probe == catalog_cache::Probe::kAnswered) return answer;
  Result<Catalog*> catalog = OpenCatalog();
  if (!catalog.ok()) return catalog.error();
  Info* tag = nullptr;
  // No snapshot to refill (no segment, or the catalog does not fit): the
  // single-row query is cheaper than reading every row.
  if (probe == catalog_cache::Probe::kUnusable) return QueryOne(**catalog, key, tag);

  // Read before the rows, so a commit racing with these reads leaves the
  // generation moved and Publish refuses (see the protocol in Shared).
  const uint64_t generation = catalog_cache::Generation();
  Result<std::vector<DatabaseInfo>> databases = (*catalog)->ListDatabases();
  if (!databases.ok()) return databases.error();
  Result<std::vector<RoleInfo>> roles = (*catalog)->ListRoles();
  if (!roles.ok()) return roles.error();
  Result<std::vector<Membership>> memberships = (*catalog)->ListMemberships();
  if (!memberships.ok()) return memberships.error();
  (void)catalog_cache::Publish(generation, *databases, *roles, *memberships);
  for (const Info& row : Pick(*databases, *roles, tag)) {
    if (Matches(row, key)) return std::optional<Info>(row);
  }
  return std::optional<Info>();
}

Result<std::optional<RoleInfo>> CatalogLookup::FindRole(const std::string& name) {
  return Find<RoleInfo>(name);
}
Result<std::optional<RoleInfo>> CatalogLookup::FindRole(uint32_t oid) {
  return Find<RoleInfo>(oid);
}
Result<std::optional<DatabaseInfo>> CatalogLookup::FindDatabase(const std::string& name) {
  return Find<DatabaseInfo>(name);
}
Result<std::optional<DatabaseInfo>> CatalogLookup::FindDatabase(uint32_t oid) {
  return Find<DatabaseInfo>(oid);
}

template <typename Row>
Result<std::vector<Row>> CatalogLookup::ListAll(catalog_cache::Probe (*probe)(std::vector<Row>*),
                                                Result<std::vector<Row>> (Catalog::*query)()) {
  std::vector<Row> out;
  catalog_cache::Probe p = probe(&out);
  if (p == catalog_cache::Probe::kAnswered) return out;
  if (p == catalog_cache::Probe::kStale) {
    // Any lookup rebuilds the whole snapshot; then ask it again.
    Result<std::optional<RoleInfo>> any = FindRole(kBootstrapSuperuserOid);
    if (!any.ok()) return any.error();
    if (probe(&out) == catalog_cache::Probe::kAnswered) return out;
  }
  Result<Catalog*> catalog = OpenCatalog();
  if (!catalog.ok()) return catalog.error();
  return ((**catalog).*query)();
}

Result<std::vector<Membership>> CatalogLookup::ListMemberships() {
  return ListAll<Membership>(catalog_cache::Memberships, &Catalog::ListMemberships);
}

Result<std::vector<RoleInfo>> CatalogLookup::ListRoles() {
  return ListAll<RoleInfo>(catalog_cache::Roles, &Catalog::ListRoles);
}

Result<std::vector<DatabaseInfo>> CatalogLookup::ListDatabases() {
  return ListAll<DatabaseInfo>(catalog_cache::Databases, &Catalog::ListDatabases);
}

}  // namespace bgw::storage
