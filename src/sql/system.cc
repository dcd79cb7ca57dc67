// STUB (replaced by the system views and functions).
#include "sql/system.h"
namespace bgw::sql::system {
SqlStatus Register(sqlite3*, const SessionInfo&) { return SqlOk(); }
SqlStatus CreateCFunction(sqlite3*, const SessionInfo&, std::string_view) {
  return MakeError("0A000", "not implemented");
}
SqlStatus DropFunction(sqlite3*, const SessionInfo&, std::string_view) {
  return MakeError("0A000", "not implemented");
}
}  // namespace bgw::sql::system
