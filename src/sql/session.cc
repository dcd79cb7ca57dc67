// STUB (replaced by the SQL engine).
#include "sql/session.h"
namespace bgw::sql {
SqlResult<std::unique_ptr<Session>> Session::Open(const SessionInfo&) {
  return MakeError("0A000", "SQL engine not implemented");
}
std::vector<std::string> Session::SplitStatements(std::string_view sql) {
  return {std::string(sql)};
}
}  // namespace bgw::sql
