// The C++ database face (include/bgworker/database.h) over the C API.
//
// Every call that can raise ereport(ERROR) runs inside CatchPgErrors with a
// lambda that keeps only trivially destructible state (pointers, Datums, C
// strings) across the call; the C++ containers live in the outer frames,
// which the error's siglongjmp never crosses (error.h explains the rule).
#include "bgworker/database.h"

#include <cstring>

#include "postgres/access/xact.h"
#include "postgres/catalog/pg_type.h"
#include "postgres/executor/spi.h"
#include "postgres/postgres.h"
#include "postgres/postmaster/bgworker.h"
#include "postgres/utils/builtins.h"
#include "postgres/utils/snapmgr.h"

namespace bgworker {

void ConnectToDatabase(const char* dbname, const char* user, uint32_t flags) {
  BackgroundWorkerInitializeConnection(dbname, user, flags);
}

Expected<Transaction> Transaction::Begin() {
  Expected<int> rc = CatchPgErrors([] {
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    int r = SPI_connect();
    PushActiveSnapshot(GetTransactionSnapshot());
    return r;
  });
  if (!rc) {
    (void)CatchPgErrors([] { AbortCurrentTransaction(); });
    return std::move(rc).error();
  }
  if (*rc != SPI_OK_CONNECT) {
    (void)CatchPgErrors([] { AbortCurrentTransaction(); });
    return Unexpected(Errc::kNotUnderPostmaster,
                      std::string("SPI_connect failed: ") + SPI_result_code_string(*rc));
  }
  return Transaction();
}

Expected<Result> Transaction::ExecuteParams(std::string_view sql,
                                            const std::vector<Param>& params) {
  if (!active_) return Unexpected(Errc::kNotUnderPostmaster, "the transaction has ended");
  const std::string text(sql);
  const int n = static_cast<int>(params.size());
  std::vector<Oid> types(params.size());
  std::vector<Datum> values(params.size());
  std::vector<char> nulls(params.size(), ' ');
  for (size_t i = 0; i < params.size(); i++) {
    const Param& p = params[i];
    if (std::holds_alternative<std::nullptr_t>(p)) {
      types[i] = TEXTOID;
      nulls[i] = 'n';
    } else if (const int64_t* v = std::get_if<int64_t>(&p)) {
      types[i] = INT8OID;
      values[i] = Int64GetDatum(*v);
    } else if (const double* d = std::get_if<double>(&p)) {
      types[i] = FLOAT8OID;
      values[i] = Float8GetDatum(*d);
    } else if (const bool* b = std::get_if<bool>(&p)) {
      types[i] = BOOLOID;
      values[i] = BoolGetDatum(*b);
    } else {
      types[i] = TEXTOID;
    }
  }
  Oid* type_ptr = types.data();
  Datum* value_ptr = values.data();
  const char* null_ptr = nulls.data();
  const Param* param_ptr = params.data();
  Expected<int> rc = CatchPgErrors([&] {
    for (int i = 0; i < n; i++) {
      if (type_ptr[i] == TEXTOID && null_ptr[i] == ' ') {
        value_ptr[i] = CStringGetTextDatum(std::get<std::string>(param_ptr[i]).c_str());
      }
    }
    return SPI_execute_with_args(text.c_str(), n, type_ptr, value_ptr, null_ptr, false, 0);
  });
  if (!rc) return std::move(rc).error();
  if (*rc < 0) {
    return Unexpected(Errc::kPgError,
                      std::string("SPI_execute_with_args: ") + SPI_result_code_string(*rc));
  }

  Result result;
  result.processed = SPI_processed;
  SPITupleTable* table = SPI_tuptable;
  if (table == nullptr) return result;
  const int natts = table->tupdesc->natts;
  for (int c = 1; c <= natts; c++) {
    Expected<char*> name = CatchPgErrors([&] { return SPI_fname(table->tupdesc, c); });
    result.columns.emplace_back(name && *name != nullptr ? *name : "");
    result.types.push_back(SPI_gettypeid(table->tupdesc, c));
  }
  for (uint64_t r = 0; r < table->numvals; r++) {
    std::vector<std::optional<std::string>> fields;
    fields.reserve(natts);
    for (int c = 1; c <= natts; c++) {
      Expected<char*> v =
          CatchPgErrors([&] { return SPI_getvalue(table->vals[r], table->tupdesc, c); });
      if (!v) return std::move(v).error();
      if (*v == nullptr) {
        fields.emplace_back(std::nullopt);
      } else {
        fields.emplace_back(std::string(*v));
      }
    }
    result.rows.emplace_back(std::move(fields));
  }
  return result;
}

Expected<void> Transaction::Commit() {
  if (!active_) return Unexpected(Errc::kNotUnderPostmaster, "the transaction has ended");
  active_ = false;
  Expected<void> done = CatchPgErrors([] {
    SPI_finish();
    PopActiveSnapshot();
    CommitTransactionCommand();
  });
  if (!done) AbortQuietly();
  return done;
}

void Transaction::Rollback() noexcept {
  if (!active_) return;
  active_ = false;
  AbortQuietly();
}

// Each step on its own: after an error SPI may already be disconnected
// (SPI_finish then fails), which must not skip the abort itself.
void Transaction::AbortQuietly() noexcept {
  (void)CatchPgErrors([] { SPI_finish(); });
  (void)CatchPgErrors([] { PopActiveSnapshot(); });
  (void)CatchPgErrors([] { AbortCurrentTransaction(); });
}

}  // namespace bgworker
