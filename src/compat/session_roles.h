// The roles of this process's SQL session, published by the SQL engine
// (sql/session.cc) whenever they change: at session start, SET ROLE, SET
// SESSION AUTHORIZATION and their undoing. miscadmin.h's GetUserId(),
// GetSessionUserId(), GetAuthenticatedUserId() and superuser() answer from
// it (spi/miscinit.cc). One SQL session per process: a client backend's or
// a worker's (BackgroundWorkerInitializeConnection). Written and read by the
// one thread of the process; no barriers needed.
#pragma once

#include <cstdint>

namespace bgw::compat {

struct SessionRoles {
  uint32_t current = 0;  // 0 = no session in this process
  uint32_t session = 0;
  uint32_t authenticated = 0;
  bool current_superuser = false;
};

void PublishSessionRoles(const SessionRoles& roles);
const SessionRoles& PublishedSessionRoles();

}  // namespace bgw::compat
