// STUB (replaced by the backend status implementation).
#include "ipc/backend_status.h"
namespace bgw::backend_status {
const char* StateName(State) { return nullptr; }
size_t ShmemSize(int) { return 0; }
void ShmemInit(int) {}
uint32_t BeginClientBackend(int, std::string_view, int) { return 0; }
void BeginWorker(int, std::string_view) {}
void ReportConnection(uint32_t, std::string_view, uint32_t, std::string_view, std::string_view) {}
void ReportApplicationName(std::string_view) {}
void ReportActivity(State, const char*) {}
void ReportTransactionStart(int64_t) {}
bool Attached() { return false; }
std::vector<Entry> Snapshot() { return {}; }
std::optional<Entry> Find(pid_t) { return std::nullopt; }
bool SignalCancel(pid_t, uint32_t) { return false; }
int CountOtherBackendsInDatabase(uint32_t) { return 0; }
int CountBackendsOfRole(uint32_t) { return 0; }
int CountBackendsInDatabase(uint32_t) { return 0; }
int64_t NowMicros() { return 0; }
}  // namespace bgw::backend_status
