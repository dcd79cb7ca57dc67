// What every connected process is doing, for pg_stat_activity, cancel
// requests and DROP DATABASE (PostgreSQL's PgBackendStatus array).
//
// One entry per pmsignal child slot (the same index as proc::ProcSlot), so a
// client backend or a background worker finds its entry without a search.
//
// Protocol: only the owner writes its entry; readers never lock. The owner
// brackets every update with a change counter (odd while writing; release
// stores, PostgreSQL's st_changecount): a reader copies the entry, then
// retries if the counter was odd or changed (acquire loads around the copy).
// pid == 0 means free; the owner publishes pid last at Begin* and clears it
// first at exit. The cancel key is written once before pid is published.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bgw::backend_status {

enum class State : uint8_t {
  kUndefined,                 // shown as NULL (e.g. a worker that never reported)
  kIdle,                      // "idle"
  kRunning,                   // "active"
  kIdleInTransaction,         // "idle in transaction"
  kIdleInTransactionAborted,  // "idle in transaction (aborted)"
  kFastpath,                  // "fastpath function call"
  kDisabled,                  // "disabled"
};
const char* StateName(State state);  // nullptr for kUndefined

// A copy of one entry, as pg_stat_activity shows it. Times are microseconds
// since the Unix epoch; 0 = NULL.
struct Entry {
  pid_t pid = 0;
  int child_slot = -1;
  std::string backend_type;   // "client backend", or the worker's bgw_type
  uint32_t database_oid = 0;  // 0 = none
  std::string database_name;
  uint32_t role_oid = 0;  // 0 = none
  std::string role_name;
  std::string application_name;
  std::string client_addr;  // "" for Unix sockets and workers
  int client_port = -1;     // -1 for Unix sockets (PostgreSQL shows -1), NULL for workers
  State state = State::kUndefined;
  std::string query;  // at most kMaxQueryLen bytes (cut at a character boundary)
  int64_t backend_start = 0;
  int64_t xact_start = 0;
  int64_t query_start = 0;
  int64_t state_change = 0;
  uint32_t wait_event_info = 0;  // from the process's proc slot
};

inline constexpr size_t kMaxQueryLen = 1024;  // track_activity_query_size's default
inline constexpr size_t kMaxNameLen = 64;

size_t ShmemSize(int num_slots);
void ShmemInit(int num_slots);

// Owner side. BeginClientBackend/BeginWorker publish this process's entry
// (child slot = the process's pmsignal slot) and register its removal at
// exit. A client backend also gets a random cancel key (returned).
uint32_t BeginClientBackend(int child_slot, std::string_view client_addr, int client_port);
void BeginWorker(int child_slot, std::string_view bgw_type);
// After authentication / BackgroundWorkerInitializeConnection.
void ReportConnection(uint32_t database_oid, std::string_view database_name, uint32_t role_oid,
                      std::string_view role_name, std::string_view application_name);
void ReportApplicationName(std::string_view application_name);
// state + query (query is kept when nullptr is passed, like PostgreSQL's
// pgstat_report_activity with a NULL cmd_str); sets query_start when a new
// query starts running and state_change on every state change.
void ReportActivity(State state, const char* query);
void ReportTransactionStart(int64_t start_us);  // 0 = not in a transaction
bool Attached();                                // this process has an entry

// Reader side.
std::vector<Entry> Snapshot();
std::optional<Entry> Find(pid_t pid);
// CancelRequest: true and SIGINT sent when (pid, key) names a live client
// backend; false otherwise (PostgreSQL logs and ignores a wrong key).
bool SignalCancel(pid_t pid, uint32_t cancel_key);
// Client backends connected to a database, other than the caller.
int CountOtherBackendsInDatabase(uint32_t database_oid);
// Client backends of a role (connection limits); includes the caller.
int CountBackendsOfRole(uint32_t role_oid);
int CountBackendsInDatabase(uint32_t database_oid);

// Microseconds since the Unix epoch, the unit of every time above.
int64_t NowMicros();

}  // namespace bgw::backend_status
