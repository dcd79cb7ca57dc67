// The Server Programming Interface (executor/spi.h) over the worker's SQL
// session: statements go through the engine's Prepare/Bind/Execute, rows are
// copied into palloc'd tuples in SPI's memory context.
//
// Memory follows PostgreSQL: SPI_connect opens a procedure context (child of
// TopTransactionContext) and makes it current; tuple tables are children of
// it; SPI_finish switches back and deletes it. So results never outlive the
// connection, and a transaction's end (commit or abort) frees everything an
// unfinished connection held (AtEndOfTransaction).
//
// Errors: see spi_internal.h for why every entry point splits into an *Impl
// holding the C++ objects and a thin C function that raises afterwards.
#include "postgres/executor/spi.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "postgres/access/xact.h"
#include "postgres/catalog/pg_type.h"
#include "postgres/fmgr.h"
#include "postgres/miscadmin.h"
#include "postgres/utils/builtins.h"
#include "postgres/utils/elog.h"
#include "postgres/utils/memutils.h"
#include "spi/spi_internal.h"
#include "sql/datum.h"
#include "sql/lexer.h"
#include "sql/value.h"

// A deformed row: one Datum, null flag and output text per column. Private:
// modules read rows through SPI_getbinval/SPI_getvalue/heap_getattr.
struct HeapTupleHeaderData {
  int natts;
  Datum* values;
  bool* nulls;
  char** texts;  // PostgreSQL's output form; nullptr for nulls
};

// A prepared plan. Allocated with new (it owns C++ objects); freed at
// SPI_finish unless kept.
struct _SPI_plan {
  std::vector<std::shared_ptr<bgw::sql::Statement>> statements;
  std::vector<uint32_t> argtypes;
  bool kept = false;
  int connection_depth = 0;  // the SPI connection that owns an unkept plan
};

extern "C" {
uint64 SPI_processed = 0;
SPITupleTable* SPI_tuptable = nullptr;
int SPI_result = 0;
}

namespace bgw::spi {
namespace {

struct Connection {
  MemoryContext saved = nullptr;  // current at SPI_connect
  MemoryContext proc = nullptr;
  uint64 outer_processed = 0;
  SPITupleTable* outer_tuptable = nullptr;
};

std::vector<Connection>& Stack() {
  static auto* stack = new std::vector<Connection>();
  return *stack;
}
std::vector<_SPI_plan*>& UnkeptPlans() {
  static auto* plans = new std::vector<_SPI_plan*>();
  return *plans;
}

void FreePlansOf(size_t depth) {
  std::vector<_SPI_plan*>& plans = UnkeptPlans();
  for (size_t i = 0; i < plans.size();) {
    if (static_cast<size_t>(plans[i]->connection_depth) >= depth) {
      delete plans[i];
      plans.erase(plans.begin() + static_cast<long>(i));
    } else {
      i++;
    }
  }
}

// PostgreSQL refuses transaction control inside SPI (SPI_ERROR_TRANSACTION).
bool IsTransactionControl(std::string_view sql) {
  static const char* const kWords[] = {"begin",    "start", "commit",    "end",
                                       "rollback", "abort", "savepoint", "release"};
  std::vector<sql::Token> t = sql::SignificantTokens(sql);
  std::string w = t.empty() || t[0].kind != sql::TokenKind::kWord ? "" : sql::IdentifierValue(t[0]);
  for (const char* k : kWords) {
    if (w == k) return true;
  }
  // PREPARE TRANSACTION 'gid' (two-phase commit), not PREPARE name AS ...
  return w == "prepare" && t.size() > 1 && t[1].kind == sql::TokenKind::kWord &&
         sql::IdentifierValue(t[1]) == "transaction";
}

bool IsReadOnlyCommand(std::string_view sql) {
  std::string w = sql::FirstKeyword(sql);
  return w == "select" || w == "values" || w == "table" || w == "show" || w == "explain" ||
         w == "with";
}

std::string Upper(std::string w) {
  for (char& c : w) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return w;
}

// A parameter Datum as the engine's Value; false for a type we cannot take.
bool FromDatum(Datum d, uint32_t type, sql::Value* out, PendingError* err) {
  std::optional<sql::Value> v = sql::DatumToValue(d, type);
  if (!v) {
    std::string msg = "SPI parameters of type " + std::to_string(type) + " (" +
                      sql::TypeName(type) + ") are not supported";
    CaptureOwn(ERROR, ERRCODE_FEATURE_NOT_SUPPORTED, msg.c_str(),
               "Pass the value as text and cast it in the query.", err);
    return false;
  }
  *out = std::move(*v);
  return true;
}

class CollectRows : public sql::RowSink {
 public:
  Status Row(std::span<const sql::Value> values) override {
    rows.emplace_back(values.begin(), values.end());
    return Status::Ok();
  }
  std::vector<std::vector<sql::Value>> rows;
};

// The rows as a tuple table, each value also as its Datum (sql/datum.h). A
// value its column's type cannot hold (SQLite stores what it is given) is an
// error, not a wrong Datum.
Result<SPITupleTable*> BuildTupleTable(const std::vector<sql::Column>& columns,
                                       const std::vector<std::vector<sql::Value>>& rows) {
  MemoryContext cxt =
      AllocSetContextCreate(CurrentMemoryContext, "SPI TupTable", ALLOCSET_DEFAULT_SIZES);
  MemoryContext old = MemoryContextSwitchTo(cxt);
  const int natts = static_cast<int>(columns.size());
  auto* table = static_cast<SPITupleTable*>(palloc0(sizeof(SPITupleTable)));
  table->tuptabcxt = cxt;
  table->tupdesc = static_cast<TupleDesc>(
      palloc0(offsetof(TupleDescData, attrs) + sizeof(FormData_pg_attribute) * (natts + 1)));
  table->tupdesc->natts = natts;
  table->tupdesc->tdtypmod = -1;
  table->tupdesc->tdrefcount = -1;
  for (int i = 0; i < natts; i++) {
    FormData_pg_attribute* a = TupleDescAttr(table->tupdesc, i);
    std::strncpy(a->attname.data, columns[i].name.c_str(), NAMEDATALEN - 1);
    a->atttypid = columns[i].type_oid;
    a->attrelid = columns[i].table_oid;
    a->attlen = sql::TypeLength(columns[i].type_oid);
    a->attnum = static_cast<int16>(i + 1);
    a->atttypmod = columns[i].type_mod;
    a->attbyval = a->attlen > 0 && a->attlen <= 8;
  }
  table->numvals = rows.size();
  table->alloced = rows.size() > 0 ? rows.size() : 1;
  table->vals = static_cast<HeapTuple*>(palloc0(sizeof(HeapTuple) * table->alloced));
  for (size_t r = 0; r < rows.size(); r++) {
    auto* tuple = static_cast<HeapTupleData*>(palloc0(sizeof(HeapTupleData)));
    auto* h = static_cast<HeapTupleHeaderData*>(palloc0(sizeof(HeapTupleHeaderData)));
    h->natts = natts;
    h->values = static_cast<Datum*>(palloc0(sizeof(Datum) * (natts + 1)));
    h->nulls = static_cast<bool*>(palloc0(sizeof(bool) * (natts + 1)));
    h->texts = static_cast<char**>(palloc0(sizeof(char*) * (natts + 1)));
    for (int c = 0; c < natts && c < static_cast<int>(rows[r].size()); c++) {
      const sql::Value& v = rows[r][c];
      if (v.is_null()) {
        h->nulls[c] = true;
        continue;
      }
      std::string out = sql::FormatText(v, columns[c].type_oid);
      h->texts[c] = pstrdup(out.c_str());
      Result<Datum> d = sql::ValueToDatum(v, columns[c].type_oid);
      if (!d.ok()) {
        MemoryContextSwitchTo(old);
        MemoryContextDelete(cxt);
        return d.error();
      }
      h->values[c] = *d;
    }
    tuple->t_len = sizeof(HeapTupleHeaderData);
    tuple->t_tableOid = natts > 0 ? columns[0].table_oid : 0;
    tuple->t_data = h;
    table->vals[r] = tuple;
  }
  MemoryContextSwitchTo(old);
  return table;
}

uint64 CountFromTag(const std::string& tag) {
  size_t space = tag.rfind(' ');
  if (space == std::string::npos) return 0;
  return std::strtoull(tag.c_str() + space + 1, nullptr, 10);
}

int ResultCode(const std::string& tag, bool returns_rows) {
  std::string w = tag.substr(0, tag.find(' '));
  if (w == "SELECT") return SPI_OK_SELECT;
  if (w == "INSERT") return returns_rows ? SPI_OK_INSERT_RETURNING : SPI_OK_INSERT;
  if (w == "UPDATE") return returns_rows ? SPI_OK_UPDATE_RETURNING : SPI_OK_UPDATE;
  if (w == "DELETE") return returns_rows ? SPI_OK_DELETE_RETURNING : SPI_OK_DELETE;
  if (w == "MERGE") return SPI_OK_MERGE;
  return SPI_OK_UTILITY;
}

// Checks that SPI may run SQL now; a negative code or an error otherwise.
int CheckReady(PendingError* err) {
  if (Stack().empty()) return SPI_ERROR_UNCONNECTED;
  if (CurrentSession() == nullptr) {
    CaptureOwn(ERROR, ERRCODE_CONNECTION_DOES_NOT_EXIST,
               "cannot execute SQL without a database connection",
               "Call BackgroundWorkerInitializeConnection() with a database first.", err);
    return 0;
  }
  return 1;
}

// Binds and runs one prepared statement, leaving its results in
// SPI_processed/SPI_tuptable. The session has marked the transaction failed
// when this returns an error.
int RunStatement(const std::shared_ptr<sql::Statement>& statement, std::vector<sql::Value> values,
                 long count, PendingError* err) {
  sql::Session& session = *CurrentSession();
  auto fail = [&](const ErrorReport& e) {
    session.AfterError();
    Capture(e, err);
    return 0;
  };
  auto portal = session.Bind(statement, std::move(values));
  if (!portal.ok()) return fail(portal.error());
  auto columns = (*portal)->Describe();
  if (!columns.ok()) return fail(columns.error());
  CollectRows sink;
  auto result = (*portal)->Execute(columns->empty() ? 0 : count, sink);
  if (!result.ok()) return fail(result.error());
  const bool returns_rows = !columns->empty();
  const std::string& tag = result->command_tag;
  int code = result->suspended ? SPI_OK_SELECT : ResultCode(tag, returns_rows);
  SPI_tuptable = nullptr;
  if (returns_rows) {
    auto table = BuildTupleTable(*columns, sink.rows);
    if (!table.ok()) return fail(table.error());
    SPI_tuptable = *table;
  }
  if (returns_rows &&
      (code == SPI_OK_SELECT || code == SPI_OK_UTILITY || code == SPI_OK_INSERT_RETURNING ||
       code == SPI_OK_UPDATE_RETURNING || code == SPI_OK_DELETE_RETURNING)) {
    SPI_processed = sink.rows.size();
  } else {
    SPI_processed = code == SPI_OK_UTILITY ? 0 : CountFromTag(tag);
  }
  return code;
}

int ExecuteImpl(const char* src, bool read_only, long count, PendingError* err) {
  if (src == nullptr || count < 0) return SPI_ERROR_ARGUMENT;
  int ready = CheckReady(err);
  if (ready <= 0) return ready;
  SPI_processed = 0;
  SPI_tuptable = nullptr;
  std::vector<std::string> statements = sql::Session::SplitStatements(src);
  for (const std::string& s : statements) {
    if (IsTransactionControl(s)) return SPI_ERROR_TRANSACTION;
  }
  int code = SPI_OK_UTILITY;
  for (const std::string& s : statements) {
    if (read_only && !IsReadOnlyCommand(s)) {
      std::string msg = Upper(sql::FirstKeyword(s)) + " is not allowed in a non-volatile function";
      CaptureOwn(ERROR, ERRCODE_FEATURE_NOT_SUPPORTED, msg.c_str(), nullptr, err);
      return 0;
    }
    sql::Session& session = *CurrentSession();
    auto statement = session.Prepare(s, {});
    if (!statement.ok()) {
      session.AfterError();
      Capture(statement.error(), err);
      return 0;
    }
    code = RunStatement(*statement, {}, count, err);
    if (err->elevel != 0) return 0;
  }
  return code;
}

_SPI_plan* PrepareImpl(const char* src, int nargs, const Oid* argtypes, PendingError* err) {
  if (src == nullptr || nargs < 0 || (nargs > 0 && argtypes == nullptr)) {
    SPI_result = SPI_ERROR_ARGUMENT;
    return nullptr;
  }
  int ready = CheckReady(err);
  if (ready <= 0) {
    SPI_result = ready < 0 ? ready : SPI_ERROR_UNCONNECTED;
    return nullptr;
  }
  std::vector<std::string> statements = sql::Session::SplitStatements(src);
  for (const std::string& s : statements) {
    if (IsTransactionControl(s)) {
      SPI_result = SPI_ERROR_TRANSACTION;
      return nullptr;
    }
  }
  if (statements.size() > 1 && nargs > 0) {
    CaptureOwn(ERROR, ERRCODE_SYNTAX_ERROR,
               "cannot insert multiple commands into a prepared statement", nullptr, err);
    return nullptr;
  }
  auto plan = std::make_unique<_SPI_plan>();
  plan->argtypes.assign(argtypes, argtypes + nargs);
  sql::Session& session = *CurrentSession();
  for (const std::string& s : statements) {
    auto statement = session.Prepare(s, plan->argtypes);
    if (!statement.ok()) {
      session.AfterError();
      Capture(statement.error(), err);
      return nullptr;
    }
    plan->statements.push_back(std::move(*statement));
  }
  plan->connection_depth = static_cast<int>(Stack().size());
  UnkeptPlans().push_back(plan.get());
  SPI_result = 0;
  return plan.release();
}

int ExecutePlanImpl(_SPI_plan* plan, const Datum* values, const char* nulls, bool read_only,
                    long count, PendingError* err) {
  if (plan == nullptr || count < 0) return SPI_ERROR_ARGUMENT;
  if (!plan->argtypes.empty() && values == nullptr) return SPI_ERROR_PARAM;
  int ready = CheckReady(err);
  if (ready <= 0) return ready;
  SPI_processed = 0;
  SPI_tuptable = nullptr;
  std::vector<sql::Value> params;
  for (size_t i = 0; i < plan->argtypes.size(); i++) {
    sql::Value v;
    if (nulls == nullptr || nulls[i] != 'n') {
      if (!FromDatum(values[i], plan->argtypes[i], &v, err)) return 0;
    }
    params.push_back(std::move(v));
  }
  int code = SPI_OK_UTILITY;
  for (const auto& statement : plan->statements) {
    if (read_only && !IsReadOnlyCommand(statement->sql())) {
      std::string msg =
          Upper(sql::FirstKeyword(statement->sql())) + " is not allowed in a non-volatile function";
      CaptureOwn(ERROR, ERRCODE_FEATURE_NOT_SUPPORTED, msg.c_str(), nullptr, err);
      return 0;
    }
    code = RunStatement(statement, params, count, err);
    if (err->elevel != 0) return 0;
  }
  return code;
}

// The engine's own notices (e.g. "there is no transaction in progress") go
// to the server log, like a worker's other messages: it has no client.
void ReportNotices() {
  sql::Session* session = CurrentSession();
  if (session == nullptr) return;
  for (const ErrorReport& n : session->TakeNotices()) {
    // Safe with C++ objects alive: below ERROR, ereport returns normally.
    ereport(n.severity == "WARNING" ? WARNING : NOTICE, errmsg("%s", n.message.c_str()));
  }
}

}  // namespace

bool AtEndOfTransaction() {
  bool leaked = !Stack().empty();
  if (leaked) {
    MemoryContextSwitchTo(Stack().front().saved);
    // The contexts are children of TopTransactionContext: deleted with it.
    Stack().clear();
  }
  FreePlansOf(0);
  SPI_tuptable = nullptr;
  SPI_processed = 0;
  return leaked;
}

}  // namespace bgw::spi

using bgw::spi::PendingError;

extern "C" {

int SPI_connect(void) { return SPI_connect_ext(0); }

int SPI_connect_ext(int options) {
  (void)options;
  if (!IsTransactionState()) {
    ereport(ERROR, errcode(ERRCODE_INVALID_TRANSACTION_STATE),
            errmsg("SPI_connect called outside a transaction"),
            errhint("Call StartTransactionCommand() first."));
  }
  bgw::spi::Connection c;
  c.saved = CurrentMemoryContext;
  c.proc = AllocSetContextCreate(TopTransactionContext, "SPI Proc", ALLOCSET_DEFAULT_SIZES);
  c.outer_processed = SPI_processed;
  c.outer_tuptable = SPI_tuptable;
  bgw::spi::Stack().push_back(c);
  MemoryContextSwitchTo(c.proc);
  SPI_processed = 0;
  SPI_tuptable = nullptr;
  return SPI_OK_CONNECT;
}

int SPI_finish(void) {
  if (bgw::spi::Stack().empty()) return SPI_ERROR_UNCONNECTED;
  bgw::spi::Connection c = bgw::spi::Stack().back();
  bgw::spi::FreePlansOf(bgw::spi::Stack().size());
  bgw::spi::Stack().pop_back();
  MemoryContextSwitchTo(c.saved);
  MemoryContextDelete(c.proc);
  SPI_processed = c.outer_processed;
  SPI_tuptable = c.outer_tuptable;
  return SPI_OK_FINISH;
}

int SPI_execute(const char* src, bool read_only, long count) {
  CHECK_FOR_INTERRUPTS();
  PendingError err;
  int code = bgw::spi::ExecuteImpl(src, read_only, count, &err);
  bgw::spi::ReportNotices();
  bgw::spi::RaiseIfSet(err);
  return code;
}

int SPI_exec(const char* src, long count) { return SPI_execute(src, false, count); }

int SPI_execute_with_args(const char* src, int nargs, Oid* argtypes, Datum* Values,
                          const char* Nulls, bool read_only, long count) {
  if (src == nullptr || nargs < 0 || count < 0 ||
      (nargs > 0 && (argtypes == nullptr || Values == nullptr))) {
    return SPI_ERROR_ARGUMENT;
  }
  SPIPlanPtr plan = SPI_prepare(src, nargs, argtypes);
  if (plan == nullptr) return SPI_result;
  int code = SPI_execute_plan(plan, Values, Nulls, read_only, count);
  SPI_freeplan(plan);
  return code;
}

SPIPlanPtr SPI_prepare(const char* src, int nargs, Oid* argtypes) {
  CHECK_FOR_INTERRUPTS();
  PendingError err;
  SPIPlanPtr plan = bgw::spi::PrepareImpl(src, nargs, argtypes, &err);
  bgw::spi::RaiseIfSet(err);
  return plan;
}

int SPI_execute_plan(SPIPlanPtr plan, Datum* Values, const char* Nulls, bool read_only,
                     long count) {
  CHECK_FOR_INTERRUPTS();
  PendingError err;
  int code = bgw::spi::ExecutePlanImpl(plan, Values, Nulls, read_only, count, &err);
  bgw::spi::ReportNotices();
  bgw::spi::RaiseIfSet(err);
  return code;
}

int SPI_execp(SPIPlanPtr plan, Datum* Values, const char* Nulls, long count) {
  return SPI_execute_plan(plan, Values, Nulls, false, count);
}

int SPI_keepplan(SPIPlanPtr plan) {
  if (plan == nullptr || plan->kept) return SPI_ERROR_ARGUMENT;
  plan->kept = true;
  auto& plans = bgw::spi::UnkeptPlans();
  std::erase(plans, plan);
  return 0;
}

int SPI_freeplan(SPIPlanPtr plan) {
  if (plan == nullptr) return SPI_ERROR_ARGUMENT;
  std::erase(bgw::spi::UnkeptPlans(), plan);
  delete plan;
  return 0;
}

int SPI_getargcount(SPIPlanPtr plan) {
  if (plan == nullptr) {
    SPI_result = SPI_ERROR_ARGUMENT;
    return -1;
  }
  return static_cast<int>(plan->argtypes.size());
}

Oid SPI_getargtypeid(SPIPlanPtr plan, int argIndex) {
  if (plan == nullptr || argIndex < 0 || argIndex >= static_cast<int>(plan->argtypes.size())) {
    SPI_result = SPI_ERROR_ARGUMENT;
    return InvalidOid;
  }
  return plan->argtypes[argIndex];
}

static bool ValidColumn(HeapTuple tuple, TupleDesc tupdesc, int fnumber) {
  return tuple != nullptr && tupdesc != nullptr && tuple->t_data != nullptr && fnumber >= 1 &&
         fnumber <= tupdesc->natts && fnumber <= tuple->t_data->natts;
}

char* SPI_getvalue(HeapTuple tuple, TupleDesc tupdesc, int fnumber) {
  SPI_result = 0;
  if (!ValidColumn(tuple, tupdesc, fnumber)) {
    SPI_result = SPI_ERROR_NOATTRIBUTE;
    return nullptr;
  }
  if (tuple->t_data->nulls[fnumber - 1]) return nullptr;
  return pstrdup(tuple->t_data->texts[fnumber - 1]);
}

Datum SPI_getbinval(HeapTuple tuple, TupleDesc tupdesc, int fnumber, bool* isnull) {
  SPI_result = 0;
  if (!ValidColumn(tuple, tupdesc, fnumber)) {
    SPI_result = SPI_ERROR_NOATTRIBUTE;
    *isnull = true;
    return (Datum)0;
  }
  *isnull = tuple->t_data->nulls[fnumber - 1];
  return *isnull ? (Datum)0 : tuple->t_data->values[fnumber - 1];
}

Datum bgw_heap_getattr(HeapTuple tup, int attnum, TupleDesc tupleDesc, bool* isnull) {
  if (!ValidColumn(tup, tupleDesc, attnum)) {
    elog(ERROR, "invalid attribute number %d", attnum);
  }
  return SPI_getbinval(tup, tupleDesc, attnum, isnull);
}

int SPI_fnumber(TupleDesc tupdesc, const char* fname) {
  if (tupdesc == nullptr || fname == nullptr) return SPI_ERROR_NOATTRIBUTE;
  for (int i = 0; i < tupdesc->natts; i++) {
    if (std::strcmp(TupleDescAttr(tupdesc, i)->attname.data, fname) == 0) return i + 1;
  }
  return SPI_ERROR_NOATTRIBUTE;
}

char* SPI_fname(TupleDesc tupdesc, int fnumber) {
  SPI_result = 0;
  if (tupdesc == nullptr || fnumber < 1 || fnumber > tupdesc->natts) {
    SPI_result = SPI_ERROR_NOATTRIBUTE;
    return nullptr;
  }
  return pstrdup(TupleDescAttr(tupdesc, fnumber - 1)->attname.data);
}

char* SPI_gettype(TupleDesc tupdesc, int fnumber) {
  SPI_result = 0;
  if (tupdesc == nullptr || fnumber < 1 || fnumber > tupdesc->natts) {
    SPI_result = SPI_ERROR_NOATTRIBUTE;
    return nullptr;
  }
  return pstrdup(bgw::sql::TypeName(TupleDescAttr(tupdesc, fnumber - 1)->atttypid));
}

Oid SPI_gettypeid(TupleDesc tupdesc, int fnumber) {
  SPI_result = 0;
  if (tupdesc == nullptr || fnumber < 1 || fnumber > tupdesc->natts) {
    SPI_result = SPI_ERROR_NOATTRIBUTE;
    return InvalidOid;
  }
  return TupleDescAttr(tupdesc, fnumber - 1)->atttypid;
}

void SPI_freetuptable(SPITupleTable* tuptable) {
  if (tuptable == nullptr) return;
  if (tuptable == SPI_tuptable) SPI_tuptable = nullptr;
  MemoryContextDelete(tuptable->tuptabcxt);
}

void* SPI_palloc(Size size) {
  MemoryContext target =
      bgw::spi::Stack().empty() ? CurrentMemoryContext : bgw::spi::Stack().back().saved;
  return MemoryContextAlloc(target, size);
}

void* SPI_repalloc(void* pointer, Size size) { return repalloc(pointer, size); }
void SPI_pfree(void* pointer) { pfree(pointer); }

const char* SPI_result_code_string(int code) {
  switch (code) {
    case SPI_ERROR_CONNECT:
      return "SPI_ERROR_CONNECT";
    case SPI_ERROR_COPY:
      return "SPI_ERROR_COPY";
    case SPI_ERROR_OPUNKNOWN:
      return "SPI_ERROR_OPUNKNOWN";
    case SPI_ERROR_UNCONNECTED:
      return "SPI_ERROR_UNCONNECTED";
    case SPI_ERROR_ARGUMENT:
      return "SPI_ERROR_ARGUMENT";
    case SPI_ERROR_PARAM:
      return "SPI_ERROR_PARAM";
    case SPI_ERROR_TRANSACTION:
      return "SPI_ERROR_TRANSACTION";
    case SPI_ERROR_NOATTRIBUTE:
      return "SPI_ERROR_NOATTRIBUTE";
    case SPI_ERROR_NOOUTFUNC:
      return "SPI_ERROR_NOOUTFUNC";
    case SPI_ERROR_TYPUNKNOWN:
      return "SPI_ERROR_TYPUNKNOWN";
    case SPI_OK_CONNECT:
      return "SPI_OK_CONNECT";
    case SPI_OK_FINISH:
      return "SPI_OK_FINISH";
    case SPI_OK_FETCH:
      return "SPI_OK_FETCH";
    case SPI_OK_UTILITY:
      return "SPI_OK_UTILITY";
    case SPI_OK_SELECT:
      return "SPI_OK_SELECT";
    case SPI_OK_SELINTO:
      return "SPI_OK_SELINTO";
    case SPI_OK_INSERT:
      return "SPI_OK_INSERT";
    case SPI_OK_DELETE:
      return "SPI_OK_DELETE";
    case SPI_OK_UPDATE:
      return "SPI_OK_UPDATE";
    case SPI_OK_INSERT_RETURNING:
      return "SPI_OK_INSERT_RETURNING";
    case SPI_OK_DELETE_RETURNING:
      return "SPI_OK_DELETE_RETURNING";
    case SPI_OK_UPDATE_RETURNING:
      return "SPI_OK_UPDATE_RETURNING";
    case SPI_OK_MERGE:
      return "SPI_OK_MERGE";
    default:
      return "Unrecognized SPI code";
  }
}

}  // extern "C"
