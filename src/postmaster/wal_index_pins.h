// The postmaster's shared locks on the wal-index (-shm) files of every
// database, so that no backend's SQLite open is ever the "first connection".
//
// Every backend and database worker is a fresh process. When it is the only
// process with a database open (pgbench -C: one short-lived backend at a
// time), SQLite finds nobody holding the -shm file's dead-man-switch byte, so
// it truncates the -shm, and its first read rebuilds the wal-index from the
// whole -wal file and re-extends the -shm: about a millisecond per
// connection. The postmaster instead holds that byte shared for its lifetime
// (port/wal_index_lock.h), so every opener reuses the live wal-index. The
// postmaster never runs SQLite on these files: the lock is all it holds (the
// lock footprint of an idle SQLite connection minus the database file's
// SHARED lock, which is not needed because connections are configured with
// SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE and so never delete the -wal or unlink
// the -shm when they close).
//
// Correctness rests on three rules:
//  * A file is taken by SQLite's own first-connection rule (TakeShared): a
//    file nobody uses is truncated first, so a wal-index left by a system
//    crash is never trusted; a file in use is joined as is.
//  * One descriptor per file in the postmaster, never another (closing any
//    descriptor of a file drops the process's POSIX locks on it). Children
//    inherit the descriptors and close them at once in LaunchChild, before
//    any SQLite code runs in them: a child holds no lock of its own then, so
//    closing drops nothing, and a child never keeps a dropped database's
//    file alive.
//  * A crash reinitialization (no child left) resets each file the
//    postmaster alone holds, as a restart would: a crashed child may have
//    scribbled on its mapping of the wal-index as on shared memory.
// A database the postmaster does not hold yet (created a moment ago, or
// busy when last tried) works exactly as without this: slower opens, same
// result.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>

#include "port/unique_fd.h"

namespace bgw {

class WalIndexPins {
 public:
  explicit WalIndexPins(std::string data_dir) : data_dir_(std::move(data_dir)) {}
  WalIndexPins(const WalIndexPins&) = delete;
  WalIndexPins& operator=(const WalIndexPins&) = delete;

  // Postmaster only; children may be running. Holds global/catalog.db and
  // every base/<oid>.db that is not held yet, and lets go of files whose
  // database is gone or was replaced. Returns false if some file was busy
  // (a first connection was resetting it): call again a little later.
  // Failures are logged (the database then just opens the slow way).
  bool Reconcile();

  // Postmaster only, while no child exists (crash reinitialization): see the
  // banner. Then Reconcile().
  bool ResetAfterCrash();

  size_t held() const { return pins_.size(); }

 private:
  struct Pin {
    UniqueFd fd;  // the only descriptor of the -shm file in the postmaster
    dev_t dev = 0;
    ino_t ino = 0;
  };
  enum class AdoptResult { kHeld, kBusy, kSkipped };

  AdoptResult Adopt(const std::string& db_path);
  void Release(std::map<std::string, Pin>::iterator it);

  std::string data_dir_;
  std::map<std::string, Pin> pins_;  // by database file path
};

}  // namespace bgw
