// bgw_cxx_db_test: a worker using bgworker/database.h end to end.
//
// Preloaded, it registers one static worker (database connection flag) that
// connects to bgw_cxx_db_test.database, then logs one line per check:
//
//   bgw_cxx_db_test RESULT check=<name> ok=<true|false> detail=<text>
//
// and finally "bgw_cxx_db_test DONE". Checks: typed parameters and rows,
// NULLs, an SQL error as an Expected with its SQLSTATE, a transaction
// dropped without Commit rolled back, many transactions in series.
#include "postgres.h"

#include <string>

#include "bgworker/bgworker.h"
#include "bgworker/database.h"
#include "fmgr.h"
#include "postmaster/bgworker.h"
#include "utils/guc.h"

extern "C" {
PG_MODULE_MAGIC;
PGDLLEXPORT void _PG_init(void);
PGDLLEXPORT void bgw_cxx_db_test_main(Datum arg);
}

namespace {

char* database_setting = nullptr;

void Report(const char* check, bool ok, const std::string& detail) {
  elog(LOG, "bgw_cxx_db_test RESULT check=%s ok=%s detail=%s", check, ok ? "true" : "false",
       detail.c_str());
}

void Run() {
  using bgworker::Transaction;
  {
    Transaction tx = Transaction::Begin().value();
    tx.Execute("CREATE TABLE IF NOT EXISTS cxx_items (id int8, name text, score float8, ok bool)")
        .value();
    for (int64_t i = 1; i <= 10; i++) {
      tx.Execute("INSERT INTO cxx_items VALUES ($1, $2, $3, $4)", i, "item " + std::to_string(i),
                 i * 1.5, i % 2 == 0)
          .value();
    }
    tx.Execute("INSERT INTO cxx_items VALUES ($1, $2, $3, $4)", int64_t{11}, nullptr, nullptr,
               nullptr)
        .value();
    tx.Commit().value();
  }
  {
    Transaction tx = Transaction::Begin().value();
    bgworker::Result r =
        tx.Execute("SELECT id, name, score, ok FROM cxx_items WHERE id >= $1 ORDER BY id",
                   int64_t{9})
            .value();
    bool ok = r.rows.size() == 3 && r.columns.size() == 4 && r.columns[1] == "name" &&
              r.rows[0].Get<int64_t>(0) == 9 && r.rows[0].Get<std::string>(1) == "item 9" &&
              r.rows[0].Get<double>(2) == 13.5 && !r.rows[0].Get<bool>(3) &&
              r.rows[1].Get<bool>(3) && r.rows[2].IsNull(1) &&
              !r.rows[2].Get<std::optional<std::string>>(1).has_value();
    Report("typed_rows", ok, std::to_string(r.rows.size()) + " rows");
    tx.Commit().value();
  }
  {
    Transaction tx = Transaction::Begin().value();
    auto r = tx.Execute("SELECT * FROM no_such_table");
    Report("sql_error", !r && r.error().sqlstate == "42P01",
           r ? std::string("no error") : r.error().ToString());
    // tx goes out of scope: rolled back.
  }
  {
    Transaction tx = Transaction::Begin().value();
    tx.Execute("INSERT INTO cxx_items VALUES (100, 'rolled back', 0, false)").value();
  }  // no Commit
  {
    Transaction tx = Transaction::Begin().value();
    auto r = tx.Execute("SELECT count(*) FROM cxx_items WHERE id = 100").value();
    Report("dropped_rolls_back", r.rows.at(0).Get<int64_t>(0) == 0,
           r.rows.at(0).Text(0).value_or("NULL"));
    tx.Commit().value();
  }
  int committed = 0;
  for (int i = 0; i < 50; i++) {
    Transaction tx = Transaction::Begin().value();
    tx.Execute("UPDATE cxx_items SET score = score + 1 WHERE id = 1").value();
    if (tx.Commit()) committed++;
  }
  {
    Transaction tx = Transaction::Begin().value();
    auto r = tx.Execute("SELECT score FROM cxx_items WHERE id = 1").value();
    Report("serial_transactions", committed == 50 && r.rows.at(0).Get<double>(0) == 51.5,
           r.rows.at(0).Text(0).value_or("NULL"));
    tx.Commit().value();
  }
}

}  // namespace

void bgw_cxx_db_test_main(Datum) {
  BackgroundWorkerUnblockSignals();
  bgworker::ConnectToDatabase(database_setting != nullptr ? database_setting : "postgres");
  bgworker::ExceptionBoundary([] { Run(); });
  elog(LOG, "bgw_cxx_db_test DONE");
}

void _PG_init(void) {
  if (!process_shared_preload_libraries_in_progress) return;
  DefineCustomStringVariable("bgw_cxx_db_test.database", "Database the test worker uses.", nullptr,
                             &database_setting, "postgres", PGC_POSTMASTER, 0, nullptr, nullptr,
                             nullptr);
  BackgroundWorker worker;
  memset(&worker, 0, sizeof(worker));
  worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
  worker.bgw_restart_time = BGW_NEVER_RESTART;
  snprintf(worker.bgw_library_name, BGW_MAXLEN, "bgw_cxx_db_test");
  snprintf(worker.bgw_function_name, BGW_MAXLEN, "bgw_cxx_db_test_main");
  snprintf(worker.bgw_name, BGW_MAXLEN, "bgw_cxx_db_test");
  snprintf(worker.bgw_type, BGW_MAXLEN, "bgw_cxx_db_test");
  RegisterBackgroundWorker(&worker);
}
