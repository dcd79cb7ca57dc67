// The postmaster's wal-index locks; see wal_index_pins.h.
#include "postmaster/wal_index_pins.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "common/log.h"
#include "common/status.h"
#include "port/wal_index_lock.h"
#include "postmaster/child.h"

namespace bgw {
namespace {

// base/<oid>.db: digits, then ".db" (not CREATE DATABASE's temporary names).
bool IsDatabaseFileName(const char* name) {
  size_t len = std::strlen(name);
  if (len <= 3 || std::strcmp(name + len - 3, ".db") != 0) return false;
  for (size_t i = 0; i + 3 < len; i++) {
    if (name[i] < '0' || name[i] > '9') return false;
  }
  return true;
}

}  // namespace

bool WalIndexPins::Reconcile() {
  std::set<std::string> wanted;
  wanted.insert(data_dir_ + "/global/catalog.db");
  const std::string base = data_dir_ + "/base";
  if (DIR* dir = opendir(base.c_str())) {
    while (struct dirent* e = readdir(dir)) {
      if (IsDatabaseFileName(e->d_name)) wanted.insert(base + "/" + e->d_name);
    }
    closedir(dir);
  } else {
    BGW_WARNING("could not open directory \"%s\": %s", base.c_str(), ErrnoText(errno).c_str());
  }

  // Let go of dropped databases, and of -shm files that were unlinked and
  // replaced (DROP DATABASE, or a CREATE DATABASE that removed leftovers):
  // our lock on the old inode protects nobody.
  for (auto it = pins_.begin(); it != pins_.end();) {
    auto next = std::next(it);
    struct stat st;
    bool same = wanted.count(it->first) != 0 && stat((it->first + "-shm").c_str(), &st) == 0 &&
                st.st_dev == it->second.dev && st.st_ino == it->second.ino;
    if (!same) Release(it);
    it = next;
  }

  bool all_held = true;
  for (const std::string& path : wanted) {
    if (pins_.count(path) != 0) continue;
    if (Adopt(path) == AdoptResult::kBusy) all_held = false;
  }
  return all_held;
}

bool WalIndexPins::ResetAfterCrash() {
  for (auto it = pins_.begin(); it != pins_.end();) {
    auto next = std::next(it);
    Result<bool> reset = wal_index::ResetIfSoleHolder(it->second.fd.get());
    if (!reset.ok()) {
      // The lock may be gone: this file goes back to SQLite's own rule.
      log::EmitStatus(log::Level::kWarning, reset.status());
      Release(it);
    }
    it = next;
  }
  return Reconcile();
}

WalIndexPins::AdoptResult WalIndexPins::Adopt(const std::string& db_path) {
  struct stat db;
  if (stat(db_path.c_str(), &db) != 0) return AdoptResult::kSkipped;  // dropped meanwhile
  // Created the way SQLite would create it on a first open (same flags, the
  // database file's permission bits), so it makes no difference which of the
  // two creates it. SQLite would also copy the database's owner as root,
  // which the server never is (bgw refuses to start as root).
  const std::string shm_path = db_path + "-shm";
  UniqueFd fd(open(shm_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, db.st_mode & 0777));
  if (!fd) {
    BGW_WARNING("could not open \"%s\": %s", shm_path.c_str(), ErrnoText(errno).c_str());
    return AdoptResult::kSkipped;
  }
  struct stat st;
  if (fstat(fd.get(), &st) != 0) {
    BGW_WARNING("could not stat \"%s\": %s", shm_path.c_str(), ErrnoText(errno).c_str());
    return AdoptResult::kSkipped;
  }
  Result<wal_index::Hold> hold = wal_index::TakeShared(fd.get());
  if (!hold.ok()) {
    BGW_WARNING("%s: \"%s\"", hold.status().message().c_str(), shm_path.c_str());
    return AdoptResult::kSkipped;
  }
  // No lock was taken on a busy file, so closing this descriptor is safe.
  if (*hold == wal_index::Hold::kBusy) return AdoptResult::kBusy;
  BGW_DEBUG1("holding wal-index \"%s\" (%s)", shm_path.c_str(),
             *hold == wal_index::Hold::kReset ? "reset" : "in use");
  RegisterPostmasterOnlyFd(fd.get());
  Pin& pin = pins_[db_path];
  pin.fd = std::move(fd);
  pin.dev = st.st_dev;
  pin.ino = st.st_ino;
  return AdoptResult::kHeld;
}

void WalIndexPins::Release(std::map<std::string, Pin>::iterator it) {
  BGW_DEBUG1("releasing wal-index \"%s-shm\"", it->first.c_str());
  UnregisterPostmasterOnlyFd(it->second.fd.get());
  pins_.erase(it);  // closes the descriptor, which drops the lock
}

}  // namespace bgw
