// STUB (replaced by the notify implementation).
#include "ipc/notify.h"
namespace bgw::notify {
size_t ShmemSize(int) { return 0; }
void ShmemInit(int) {}
sql::SqlStatus Listen(std::string_view) { return sql::SqlOk(); }
sql::SqlStatus Unlisten(std::string_view) { return sql::SqlOk(); }
sql::SqlStatus Notify(std::string_view, std::string_view) { return sql::SqlOk(); }
sql::SqlStatus AtCommit() { return sql::SqlOk(); }
void AtAbort() {}
std::vector<sql::Notification> Take() { return {}; }
void UnlistenAll() {}
}  // namespace bgw::notify
