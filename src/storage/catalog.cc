// STUB (replaced by the catalog implementation).
#include "storage/catalog.h"
namespace bgw::storage {
sql::SqlStatus Catalog::Initialize(const std::string&, const std::string&, const std::string&) {
  return sql::SqlOk();
}
sql::SqlResult<std::unique_ptr<Catalog>> Catalog::Open(const std::string&) {
  return sql::MakeError("0A000", "catalog not implemented");
}
}  // namespace bgw::storage
