// SQLite -shm dead-man-switch locking from outside SQLite; see wal_index_lock.h.
#include "port/wal_index_lock.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace bgw::wal_index {
namespace {

struct flock DmsLock(short type) {
  struct flock lk = {};
  lk.l_type = type;
  lk.l_whence = SEEK_SET;
  lk.l_start = kDmsByte;
  lk.l_len = 1;
  return lk;
}

// F_SETLK on the DMS byte: true if taken, false if another process holds a
// conflicting lock.
Result<bool> SetDms(int fd, short type) {
  struct flock lk = DmsLock(type);
  if (fcntl(fd, F_SETLK, &lk) == 0) return true;
  if (errno == EAGAIN || errno == EACCES) return false;
  return Status::FromErrno("could not lock the wal-index file");
}

// Holding the byte exclusively proves no process uses the wal-index: the
// first connection's truncation, then the downgrade to shared (atomic for a
// POSIX lock the process already holds, so there is no unlocked instant).
Status TruncateAndDowngrade(int fd) {
  if (ftruncate(fd, kResetSize) != 0) {
    Status s = Status::FromErrno("could not truncate the wal-index file");
    struct flock unlock = DmsLock(F_UNLCK);
    (void)fcntl(fd, F_SETLK, &unlock);
    return s;
  }
  Result<bool> shared = SetDms(fd, F_RDLCK);
  if (!shared.ok()) return shared.status();
  // Converting a lock we hold cannot conflict with anybody.
  return Status::Ok();
}

}  // namespace

Result<Hold> TakeShared(int shm_fd) {
  struct flock probe = DmsLock(F_WRLCK);
  if (fcntl(shm_fd, F_GETLK, &probe) != 0) {
    return Status::FromErrno("could not test the wal-index lock");
  }
  if (probe.l_type == F_WRLCK) return Hold::kBusy;
  if (probe.l_type == F_RDLCK) {
    // Live users. If they all left and a new first connection took the byte
    // exclusively since the probe, this fails: retry later. If that first
    // connection already finished its reset and holds it shared, joining
    // is right too. If it only probed and has not locked yet, our lock makes
    // its F_SETLK fail and SQLite retries (xShmMap's SQLITE_BUSY is treated
    // as transient by walTryBeginRead); it then joins the wal-index the
    // leavers kept up to date, which no system crash can have made stale
    // while a process of this boot held the byte.
    Result<bool> joined = SetDms(shm_fd, F_RDLCK);
    if (!joined.ok()) return joined.status();
    return *joined ? Hold::kJoined : Hold::kBusy;
  }
  // Nobody holds it: act as the first connection. Losing the race for the
  // exclusive lock means somebody else is the first connection: retry later.
  Result<bool> exclusive = SetDms(shm_fd, F_WRLCK);
  if (!exclusive.ok()) return exclusive.status();
  if (!*exclusive) return Hold::kBusy;
  if (Status s = TruncateAndDowngrade(shm_fd); !s.ok()) return s;
  return Hold::kReset;
}

Result<bool> ResetIfSoleHolder(int shm_fd) {
  // Upgrading fails without touching our shared lock if anyone else holds
  // the byte.
  Result<bool> exclusive = SetDms(shm_fd, F_WRLCK);
  if (!exclusive.ok()) return exclusive.status();
  if (!*exclusive) return false;
  if (Status s = TruncateAndDowngrade(shm_fd); !s.ok()) return s;
  return true;
}

}  // namespace bgw::wal_index
