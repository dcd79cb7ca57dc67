// Wait events and activity reporting (utils/wait_event.h, pgstat.h): where
// a process publishes what it waits for, and the names pg_stat_activity
// shows for the values.
#include <cstdio>

#include "ipc/backend_status.h"
#include "ipc/proc.h"
#include "postgres/pgstat.h"
#include "postgres/storage/lwlock.h"
#include "postgres/utils/wait_event.h"

namespace {
uint32 local_wait_event_info = 0;
}  // namespace

extern "C" {

uint32* my_wait_event_info = &local_wait_event_info;

const char* pgstat_get_wait_event_type(uint32 wait_event_info) {
  switch (wait_event_info & 0xFF000000U) {
    case PG_WAIT_LWLOCK:
      return "LWLock";
    case PG_WAIT_LOCK:
      return "Lock";
    case PG_WAIT_BUFFER_PIN:
      return "BufferPin";
    case PG_WAIT_ACTIVITY:
      return "Activity";
    case PG_WAIT_CLIENT:
      return "Client";
    case PG_WAIT_EXTENSION:
      return "Extension";
    case PG_WAIT_IPC:
      return "IPC";
    case PG_WAIT_TIMEOUT:
      return "Timeout";
    case PG_WAIT_IO:
      return "IO";
    default:
      return wait_event_info == 0 ? nullptr : "???";
  }
}

const char* pgstat_get_wait_event(uint32 wait_event_info) {
  if ((wait_event_info & 0xFF000000U) == PG_WAIT_LWLOCK) {
    return GetLWLockIdentifier(PG_WAIT_LWLOCK, static_cast<uint16>(wait_event_info & 0xFFFFU));
  }
  switch (wait_event_info) {
    case 0:
      return nullptr;
    case PG_WAIT_EXTENSION:
      return "Extension";
    case WAIT_EVENT_BGWORKER_STARTUP:
      return "BgWorkerStartup";
    case WAIT_EVENT_BGWORKER_SHUTDOWN:
      return "BgWorkerShutdown";
    case WAIT_EVENT_MQ_SEND:
      return "MessageQueueSend";
    case WAIT_EVENT_MQ_RECEIVE:
      return "MessageQueueReceive";
    case WAIT_EVENT_MQ_INTERNAL:
      return "MessageQueueInternal";
    case WAIT_EVENT_MQ_PUT_MESSAGE:
      return "MessageQueuePutMessage";
    case WAIT_EVENT_PG_SLEEP:
      return "PgSleep";
    case WAIT_EVENT_CLIENT_READ:
      return "ClientRead";
    case WAIT_EVENT_CLIENT_WRITE:
      return "ClientWrite";
    default:
      break;
  }
  static char unknown[32];
  std::snprintf(unknown, sizeof unknown, "unknown wait event %u", wait_event_info & 0xFFFFFFU);
  return unknown;
}

long pgstat_report_stat(bool) { return 0; }

void pgstat_report_activity(BackendState state, const char* cmd_str) {
  // Published in this process's backend status entry (pg_stat_activity);
  // a process without one (no shared memory access) records nothing.
  using bgw::backend_status::State;
  State s = State::kUndefined;
  switch (state) {
    case STATE_IDLE:
      s = State::kIdle;
      break;
    case STATE_RUNNING:
      s = State::kRunning;
      break;
    case STATE_IDLEINTRANSACTION:
      s = State::kIdleInTransaction;
      break;
    case STATE_IDLEINTRANSACTION_ABORTED:
      s = State::kIdleInTransactionAborted;
      break;
    case STATE_FASTPATH:
      s = State::kFastpath;
      break;
    case STATE_DISABLED:
      s = State::kDisabled;
      break;
    case STATE_UNDEFINED:
      break;
  }
  bgw::backend_status::ReportActivity(s, cmd_str);
}

}  // extern "C"
