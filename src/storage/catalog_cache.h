// A snapshot of the shared catalog's databases and roles in the main shared
// memory segment, so that connecting (a client backend, a worker's
// BackgroundWorkerInitializeConnection) needs no SQLite connection to
// global/catalog.db: opening the catalog and running its lookups was about a
// third of a client connection's set-up.
//
// The snapshot is read-mostly and rebuilt lazily: every catalog commit
// (storage/catalog.cc) bumps a generation counter, which makes the snapshot
// stale at once; the next connection that finds it stale reads every row
// from SQLite, publishes them, and answers from what it read. A rebuild that
// raced with a commit is never published as current (see the protocol in
// catalog_cache.cc), so a catalog change is seen by every connection that
// starts after the statement that made it reported success.
//
// The cache is optional. A process without the main segment (`bgw` commands,
// dead-end backends, unit tests that use Catalog directly, a worker without
// BGWORKER_SHMEM_ACCESS) always asks SQLite, and so does everyone while the
// catalog does not fit the fixed capacity below: slower, never wrong.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/catalog.h"

namespace bgw::storage {

namespace catalog_cache {

// Capacity. A catalog with more rows, or a name or password verifier
// longer than these (in bytes), is not cached at all.
inline constexpr size_t kMaxDatabases = 128;
inline constexpr size_t kMaxRoles = 512;
inline constexpr size_t kMaxNameLen = 63;  // NAMEDATALEN - 1, as PostgreSQL's
// A SCRAM-SHA-256 verifier with a 16-byte salt is about 133 bytes, an md5
// one 35.
inline constexpr size_t kMaxVerifierLen = 255;
// A database ACL of about twenty grants.
inline constexpr size_t kMaxAclLen = 400;
inline constexpr size_t kMaxMemberships = 1024;

// Postmaster: bytes to request before the segment is created.
size_t ShmemSize();
// Postmaster, after creating the segment (at startup and after every crash
// reinitialization), while no child runs: a stale, empty snapshot.
void ShmemInit();
// Unit tests only: stop using the segment before it is destroyed.
void DetachForTesting();

// Any process, after a catalog write transaction committed (or might have),
// before the write reports success: makes the snapshot stale. Lock-free and
// async-signal-safe; a no-op without the main segment.
void Invalidate();

// The pieces CatalogLookup is made of, public for tests.
//
// kAnswered: the snapshot is current and *out says whether the row exists.
// kStale: rebuild (read Generation(), then every row, then Publish).
// kUnusable: no segment, or the catalog does not fit: query SQLite directly.
enum class Probe { kAnswered, kStale, kUnusable };
// Info = DatabaseInfo or RoleInfo; Key = std::string (name) or uint32_t (oid).
template <typename Info, typename Key>
Probe Lookup(const Key& key, std::optional<Info>* out);
// The current generation; 0 without the segment. A rebuilder reads it
// before reading the rows it will publish.
uint64_t Generation();
// Publishes rows read after Generation() returned `generation`. Refuses
// (false) if any commit happened since, if another process is publishing,
// or if the rows do not fit (then marks the catalog as too big for this
// generation). Any process attached to the segment.
bool Publish(uint64_t generation, const std::vector<DatabaseInfo>& databases,
             const std::vector<RoleInfo>& roles, const std::vector<Membership>& memberships);
// Every membership (role) row: kAnswered with *out filled, or kStale /
// kUnusable.
Probe Memberships(std::vector<Membership>* out);
Probe Roles(std::vector<RoleInfo>* out);
Probe Databases(std::vector<DatabaseInfo>* out);

// The objects' generation: a second counter beside the catalog's, for what
// lives in the databases' own files (owners and privileges of tables,
// schemas and functions; src/sql/catalogue.h). A session that committed a
// change to them bumps it after the commit; sessions compare it at each
// statement to know when to re-read theirs. 0 without the segment.
uint64_t ObjectsGeneration();
void InvalidateObjects();

}  // namespace catalog_cache

// Connection-time catalog lookups: answered from the shared snapshot when it
// is current, else from global/catalog.db, opened on first need and kept
// open for this object's later lookups (and then used to republish the
// snapshot). Each lookup is as fresh as a query at the moment of the call.
// Errors are those of Catalog::Open and of the Catalog reads, unchanged.
// Not thread-safe; one per connection attempt.
class CatalogLookup {
 public:
  explicit CatalogLookup(std::string data_dir);
  ~CatalogLookup();
  CatalogLookup(const CatalogLookup&) = delete;
  CatalogLookup& operator=(const CatalogLookup&) = delete;

  Result<std::optional<RoleInfo>> FindRole(const std::string& name);
  Result<std::optional<RoleInfo>> FindRole(uint32_t oid);
  Result<std::optional<DatabaseInfo>> FindDatabase(const std::string& name);
  Result<std::optional<DatabaseInfo>> FindDatabase(uint32_t oid);
  Result<std::vector<Membership>> ListMemberships();
  Result<std::vector<RoleInfo>> ListRoles();
  Result<std::vector<DatabaseInfo>> ListDatabases();

  // Whether some lookup had to open the catalog (tests and diagnostics).
  bool OpenedCatalog() const { return catalog_ != nullptr; }

 private:
  template <typename Info, typename Key>
  Result<std::optional<Info>> Find(const Key& key);
  template <typename Row>
  Result<std::vector<Row>> ListAll(catalog_cache::Probe (*probe)(std::vector<Row>*),
                                   Result<std::vector<Row>> (Catalog::*query)());
  Result<Catalog*> OpenCatalog();

  std::string data_dir_;
  std::unique_ptr<Catalog> catalog_;
};

}  // namespace bgw::storage
