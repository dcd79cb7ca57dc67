// Listen sockets: TCP on listen_addresses:port and a Unix socket
// <dir>/.s.PGSQL.<port> in each unix_socket_directories entry, with a
// <socket>.lock lock file beside each so two servers never share a socket.
// All sockets are non-blocking and close-on-exec; the postmaster owns them.
#pragma once

#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "port/unique_fd.h"
#include "postmaster/lockfile.h"

namespace bgw {

struct ListenSocket {
  UniqueFd fd;
  bool is_unix = false;
  std::string description;  // "127.0.0.1:5432" or the socket path
  std::string unix_path;    // socket file to unlink at exit (Unix only)
};

struct ListenSet {
  std::vector<ListenSocket> sockets;
  std::vector<LockFile> socket_locks;
  std::string first_socket_dir;
  std::string first_listen_addr;
  pid_t owner = getpid();
  ~ListenSet();  // unlinks the Unix socket files this process created
};

// Opens every socket. Each address that cannot be bound is logged (WARNING,
// like PostgreSQL); it is an error only if nothing at all could be opened, or
// if a Unix socket directory is unusable.
Result<std::unique_ptr<ListenSet>> OpenListenSockets(const std::string& listen_addresses, int port,
                                                     const std::string& unix_socket_directories,
                                                     const std::string& data_dir, int backlog);

}  // namespace bgw
