// Listen sockets; see listen.h.
#include "postmaster/listen.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "common/log.h"
#include "common/status.h"
#include "common/strutil.h"

namespace bgw {
namespace {

Status OpenTcp(const std::string& host, int port, int backlog, ListenSet* set) {
  struct addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  struct addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  const char* node = host == "*" ? nullptr : host.c_str();
  int rc = getaddrinfo(node, service.c_str(), &hints, &res);
  if (rc != 0) {
    return Status::Error(
        StringPrintf("could not translate host name \"%s\", service \"%s\" to "
                     "address: %s",
                     host.c_str(), service.c_str(), gai_strerror(rc)));
  }
  int opened = 0;
  std::string last_error;
  for (struct addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    char addr[INET6_ADDRSTRLEN] = "?";
    if (ai->ai_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr, addr, sizeof addr);
    } else if (ai->ai_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr, addr,
                sizeof addr);
    } else {
      continue;
    }
    const char* family = ai->ai_family == AF_INET ? "IPv4" : "IPv6";
    UniqueFd fd(socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
      last_error = StringPrintf("could not create %s socket for address \"%s\": %s", family, addr,
                                ErrnoText(errno).c_str());
      BGW_WARNING("%s", last_error.c_str());
      continue;
    }
    int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6)
      setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
      int err = errno;
      log::Message m;
      m.level = log::Level::kWarning;
      m.text = StringPrintf("could not bind %s address \"%s\": %s", family, addr,
                            ErrnoText(err).c_str());
      if (err == EADDRINUSE) {
        m.hint = StringPrintf("Is another postmaster already running on port %d?", port);
      }
      last_error = m.text;
      log::Emit(m);
      continue;
    }
    if (listen(fd.get(), backlog) != 0) {
      last_error = StringPrintf("could not listen on %s address \"%s\": %s", family, addr,
                                ErrnoText(errno).c_str());
      BGW_WARNING("%s", last_error.c_str());
      continue;
    }
    BGW_LOG("listening on %s address \"%s\", port %d", family, addr, port);
    ListenSocket ls;
    ls.fd = std::move(fd);
    ls.description = StringPrintf("%s:%d", addr, port);
    set->sockets.push_back(std::move(ls));
    opened++;
  }
  freeaddrinfo(res);
  if (opened == 0) {
    return Status::Error(last_error.empty()
                             ? "could not create any TCP/IP sockets for \"" + host + "\""
                             : last_error);
  }
  return Status::Ok();
}

Status OpenUnix(const std::string& dir, int port, int backlog, const std::string& data_dir,
                ListenSet* set) {
  std::string path = dir + "/.s.PGSQL." + std::to_string(port);
  struct sockaddr_un sun = {};
  if (path.size() >= sizeof sun.sun_path) {
    return Status::Error(
        StringPrintf("Unix-domain socket path \"%s\" is too long (maximum %zu bytes)", path.c_str(),
                     sizeof sun.sun_path - 1));
  }
  // The lock file proves no live server uses this socket; then a leftover
  // socket file is garbage and can go.
  Result<LockFile> lock = LockFile::Create(path + ".lock", data_dir, /*data_dir_lock=*/false);
  if (!lock.ok()) return lock.status();
  unlink(path.c_str());
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return Status::FromErrno("could not create Unix-domain socket");
  sun.sun_family = AF_UNIX;
  memcpy(sun.sun_path, path.c_str(), path.size() + 1);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) != 0) {
    return Status::FromErrno("could not bind Unix address \"" + path + "\"");
  }
  if (chmod(path.c_str(), 0777) != 0) {
    Status s = Status::FromErrno("could not set permissions of file \"" + path + "\"");
    unlink(path.c_str());  // bound: the file exists, and is ours
    return s;
  }
  if (listen(fd.get(), backlog) != 0) {
    Status s = Status::FromErrno("could not listen on Unix socket \"" + path + "\"");
    unlink(path.c_str());
    return s;
  }
  BGW_LOG("listening on Unix socket \"%s\"", path.c_str());
  ListenSocket ls;
  ls.fd = std::move(fd);
  ls.is_unix = true;
  ls.description = path;
  ls.unix_path = path;
  set->sockets.push_back(std::move(ls));
  set->socket_locks.push_back(std::move(*lock));
  return Status::Ok();
}

}  // namespace

ListenSet::~ListenSet() {
  // Like the lock files beside them, socket files are removed only by the
  // process that created them.
  if (getpid() != owner) return;
  for (const ListenSocket& s : sockets) {
    if (s.is_unix) unlink(s.unix_path.c_str());
  }
}

Result<std::unique_ptr<ListenSet>> OpenListenSockets(const std::string& listen_addresses, int port,
                                                     const std::string& unix_socket_directories,
                                                     const std::string& data_dir, int backlog) {
  auto set = std::make_unique<ListenSet>();
  std::string tcp_error;
  bool any_tcp_requested = false;
  for (const std::string& host : SplitTrimmed(listen_addresses, ',')) {
    if (host.empty()) continue;
    any_tcp_requested = true;
    if (set->first_listen_addr.empty()) set->first_listen_addr = host;
    Status s = OpenTcp(host, port, backlog, set.get());
    if (!s.ok()) {
      log::EmitStatus(log::Level::kWarning, s);
      tcp_error = s.message();
    }
  }
  for (const std::string& dir : SplitTrimmed(unix_socket_directories, ',')) {
    if (dir.empty()) continue;
    if (set->first_socket_dir.empty()) set->first_socket_dir = dir;
    if (Status s = OpenUnix(dir, port, backlog, data_dir, set.get()); !s.ok()) return s;
  }
  size_t tcp = 0;
  for (const ListenSocket& s : set->sockets) tcp += s.is_unix ? 0 : 1;
  if (any_tcp_requested && tcp == 0) {
    return MakeError("08006", "could not create any TCP/IP sockets", tcp_error);
  }
  if (set->sockets.empty()) {
    return MakeError("08006", "no socket created for listening", {},
                     "Set listen_addresses or unix_socket_directories.");
  }
  return set;
}

}  // namespace bgw
