// The "dead man switch" (DMS) lock of a SQLite WAL database's -shm file,
// taken from outside SQLite.
//
// SQLite's unix VFS (3.40.1 here; the protocol is documented on
// https://www.sqlite.org/walformat.html) decides whether a -shm file is live
// by a POSIX lock on byte 128 (UNIX_SHM_DMS, just after the eight WAL locks
// at bytes 120..127). Every connection that uses the -shm holds that byte
// shared. An opener asks F_GETLK: if somebody holds it shared, the wal-index
// in the file is in use and is reused as is; if nobody holds it, the opener is
// the first connection: it takes the byte exclusively, truncates the file (to
// 3 bytes) so a wal-index left by a system crash is never trusted, downgrades
// to shared, and its first read rebuilds the wal-index from the -wal file
// (WAL recovery). If it is held exclusively, a first connection is doing
// exactly that and the opener gets SQLITE_BUSY, which SQLite retries.
//
// A process that holds the byte shared for a long time without ever running
// SQLite on the file therefore makes every SQLite opener a "later" one. These
// helpers do the two things such a holder needs, with the same steps as
// SQLite's first connection so SQLite cannot tell the difference.
//
// POSIX record locks belong to the (process, file) pair: closing ANY
// descriptor of the file in the holding process drops them, and fork does
// not pass them on. Callers keep exactly one descriptor per -shm file.
#pragma once

#include <sys/types.h>

#include "common/status.h"

namespace bgw::wal_index {

// UNIX_SHM_BASE (120) + SQLITE_SHM_NLOCK (8) in SQLite's os_unix.c.
inline constexpr off_t kDmsByte = 128;
// What SQLite's first connection truncates the -shm file to ("an arbitrary
// small number, less than the -shm header size", as a debugging aid).
inline constexpr off_t kResetSize = 3;

enum class Hold {
  kReset,   // nobody used the file: taken exclusively, truncated, now shared
  kJoined,  // live users hold it shared: now shared too, content untouched
  kBusy,    // a first connection holds it exclusively right now: retry later
};

// Takes a shared lock on the DMS byte of `shm_fd` (an O_RDWR descriptor of a
// -shm file) following SQLite's first-connection rule (see above). Every
// step is non-blocking (F_SETLK). A lost race (the state changed between
// F_GETLK and F_SETLK) is kBusy, never a wrong decision: the lock is only
// taken shared while someone else holds it shared, or after our own
// exclusive lock proved nobody used the file. Errors: fcntl/ftruncate failures.
Result<Hold> TakeShared(int shm_fd);

// Caller holds the DMS byte of `shm_fd` shared (TakeShared). If it is the
// only holder, redoes the first connection's reset: upgrade to exclusive,
// truncate, downgrade. Returns true if the file was reset, false if another
// process holds the byte too (the wal-index is in use and left alone). The
// shared lock is held on return either way.
Result<bool> ResetIfSoleHolder(int shm_fd);

}  // namespace bgw::wal_index
