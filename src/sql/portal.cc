// Prepared statements and portals: a statement caches its prepared SQLite
// statement and lends it to one portal at a time (a second concurrent portal
// prepares its own); a portal runs it in steps of max_rows, describes its
// columns and builds PostgreSQL's command tag.
#include "sql/session_internal.h"

#include <sqlite3.h>

#include <algorithm>

#include "common/strutil.h"
#include "guc/settings.h"

namespace bgw::sql {
namespace internal {

// ---------------------------------------------------------------------------
// StatementImpl

const std::string& StatementImpl::sql() const { return sql_; }
bool StatementImpl::empty() const { return kind == Kind::kEmpty; }
const std::vector<uint32_t>& StatementImpl::param_types() const { return params; }

std::vector<Column> StatementImpl::DescribeColumns() const {
  if (kind == Kind::kSqlite) {
    std::vector<Column> out = columns;
    if (registry && registry->session != nullptr) registry->session->ProbeTypes(*this, &out);
    for (Column& c : out) {
      if (c.type_oid == 0) c.type_oid = oid::kText;
      c.type_len = TypeLength(c.type_oid);
    }
    reported = out;
    return out;
  }
  return UtilityColumns();
}

std::vector<Column> StatementImpl::UtilityColumns() const {
  std::vector<Column> out;
  auto text_col = [&](std::string name) {
    Column c;
    c.name = std::move(name);
    c.type_oid = oid::kText;
    out.push_back(c);
  };
  if (kind == Kind::kShow) {
    if (show_all) {
      text_col("name");
      text_col("setting");
      text_col("description");
    } else {
      text_col(show_name);
    }
  }
  return out;
}

StatementImpl::~StatementImpl() {
  if (cached != nullptr) sqlite3_finalize(cached);
}

// ---------------------------------------------------------------------------
// PortalImpl

PortalImpl::PortalImpl(std::shared_ptr<Registry> registry, std::shared_ptr<StatementImpl> stmt,
                       std::vector<Value> params)
    : registry_(std::move(registry)), statement_(std::move(stmt)), params_(std::move(params)) {
  registry_->live.insert(this);
}

PortalImpl::~PortalImpl() {
  registry_->live.erase(this);
  ReleaseStatement();
}

void PortalImpl::ReleaseStatement() {
  if (st_ == nullptr) return;
  sqlite3_reset(st_);
  sqlite3_clear_bindings(st_);
  if (statement_->cached == nullptr) {
    statement_->cached = st_;
  } else {
    sqlite3_finalize(st_);
  }
  st_ = nullptr;
}

void PortalImpl::TransactionEnded() {
  if (st_ != nullptr && started_ && !done_) {
    sqlite3_reset(st_);
    invalid_ = true;
  }
}

Result<std::vector<Column>> PortalImpl::Describe() {
  SessionImpl* s = registry_->session;
  if (s == nullptr) return MakeError("08003", "the session has ended");
  if (columns_) return *columns_;
  if (statement_->kind != Kind::kSqlite) {
    columns_ = statement_->UtilityColumns();
    return *columns_;
  }
  if (s->failed() && !statement_->columns.empty()) return s->AbortedError();
  if (statement_->reported && statement_->reported->size() == statement_->columns.size()) {
    columns_ = *statement_->reported;
    return *columns_;
  }
  std::vector<Column> cols = statement_->columns;
  bool unknown = false;
  for (const Column& c : cols) unknown = unknown || c.type_oid == 0;
  if (unknown && !done_ && !invalid_) {
    // Learn the value types from the first row; the row is kept for Execute.
    if (!started_) {
      if (Status st = Start(s); !st.ok()) return st.error();
    }
    s->fctx().deadline_us = deadline_us_;
    Status st = Fetch(s);
    s->fctx().deadline_us = 0;
    if (!st.ok()) return st.error();
    if (row_ready_) {
      for (size_t k = 0; k < cols.size(); ++k) {
        if (cols[k].type_oid == 0) {
          cols[k].type_oid = ValueTypeOid(ColumnValue(st_, static_cast<int>(k)));
        }
      }
    }
  }
  for (Column& c : cols) {
    if (c.type_oid == 0) c.type_oid = oid::kText;
    c.type_len = TypeLength(c.type_oid);
  }
  columns_ = cols;
  return *columns_;
}

Status PortalImpl::Start(SessionImpl* s) {
  if (Status st = s->Reauthorize(*statement_, &st_, params_); !st.ok()) return st;
  const int64_t now = functions::NowMicros();
  deadline_us_ = guc::statement_timeout > 0 ? now + int64_t{guc::statement_timeout} * 1000 : 0;
  s->fctx().statement_start_us = now;
  s->fctx().deadline_us = deadline_us_;
  const bool write = sqlite3_stmt_readonly(Stmt(s)) == 0;
  // A statement that writes may change the schema (DDL, a C function's
  // row): this session's cached statements are then prepared afresh.
  if (write) s->InvalidateStatementCache();
  Status st = s->EnsureTransaction(true, write);
  s->fctx().deadline_us = 0;
  if (!st.ok()) return st;
  started_ = true;
  return Status::Ok();
}

sqlite3_stmt* PortalImpl::Stmt(SessionImpl*) { return st_; }

Status PortalImpl::Fetch(SessionImpl* s) {
  int rc = s->StepUser(*statement_, st_);
  if (rc == SQLITE_ROW) {
    row_ready_ = true;
    return Status::Ok();
  }
  if (rc == SQLITE_DONE) {
    done_ = true;
    tag_ = CompletionTag(s);
    sqlite3_reset(st_);
    if (Status after = s->AfterUserStatement(*statement_); !after.ok()) {
      failed_ = true;
      return after;
    }
    return Status::Ok();
  }
  ErrorReport e = s->MapSqliteError(rc);
  sqlite3_reset(st_);
  done_ = true;
  failed_ = true;
  return e;
}

std::string PortalImpl::CompletionTag(SessionImpl* s) const {
  const SqliteTag& tag = statement_->tag;
  const long long changes = static_cast<long long>(sqlite3_changes64(s->db()));
  switch (tag.style) {
    case TagStyle::kRows:
      if (tag.base == "EXPLAIN") return tag.base;
      return tag.base + " " + std::to_string(rows_);
    case TagStyle::kInsert:
      return StringPrintf("INSERT 0 %lld", changes);
    case TagStyle::kUpdate:
      return StringPrintf("UPDATE %lld", changes);
    case TagStyle::kDelete:
      return StringPrintf("DELETE %lld", changes);
    case TagStyle::kFixed:
      break;
  }
  return tag.base;
}

Result<ExecuteResult> PortalImpl::Execute(int64_t max_rows, RowSink& sink) {
  SessionImpl* s = registry_->session;
  if (s == nullptr) return MakeError("08003", "the session has ended");
  if (statement_->kind != Kind::kSqlite) return ExecuteUtility(s, max_rows, sink);
  if (failed_) return MakeError("55000", "portal cannot be run again after an error");
  if (done_) return ExecuteResult{tag_, false};
  if (invalid_) return MakeError("34000", "portal does not exist after its transaction ended");
  if (s->failed()) return s->AbortedError();
  if (!started_) {
    if (Status st = Start(s); !st.ok()) return st.error();
  }
  if (!columns_) {
    // Execute without Describe (e.g. a client that reuses a described
    // statement): the types are still needed to present values.
    Result<std::vector<Column>> cols = Describe();
    if (!cols.ok()) return cols.error();
  }
  const int ncols = static_cast<int>(columns_->size());
  s->fctx().deadline_us = deadline_us_;
  int64_t sent = 0;
  std::vector<Value> row;
  while (max_rows <= 0 || sent < max_rows) {
    if (!row_ready_) {
      Status st = Fetch(s);
      if (!st.ok()) {
        s->fctx().deadline_us = 0;
        return st.error();
      }
      if (done_) break;
    }
    if (sqlite3_column_count(st_) != ncols) {
      // The schema changed under a prepared statement (SQLite re-prepared
      // it with other columns): the client's row description is stale.
      s->fctx().deadline_us = 0;
      sqlite3_reset(st_);
      done_ = true;
      failed_ = true;
      return MakeError("0A000", "cached plan must not change result type");
    }
    row.clear();
    for (int k = 0; k < ncols; ++k) row.push_back(ColumnValue(st_, k));
    row_ready_ = false;
    ++rows_;
    ++sent;
    Status st = sink.Row(row);
    if (!st.ok()) {
      s->fctx().deadline_us = 0;
      sqlite3_reset(st_);
      done_ = true;
      failed_ = true;
      return st.error();
    }
  }
  if (!done_ && !row_ready_) {
    // max_rows reached: look one row ahead so "suspended" means more rows.
    Status st = Fetch(s);
    if (!st.ok()) {
      s->fctx().deadline_us = 0;
      return st.error();
    }
  }
  s->fctx().deadline_us = 0;
  if (done_) {
    ReleaseStatement();
    return ExecuteResult{tag_, false};
  }
  return ExecuteResult{"", true};
}

Result<ExecuteResult> PortalImpl::ExecuteUtility(SessionImpl* s, int64_t max_rows, RowSink& sink) {
  if (!utility_ran_) {
    Result<UtilityResult> r = s->RunUtility(*statement_);
    if (!r.ok()) return r.error();
    utility_ran_ = true;
    tag_ = r->tag;
    util_rows_ = std::move(r->rows);
  }
  int64_t sent = 0;
  while (util_pos_ < util_rows_.size() && (max_rows <= 0 || sent < max_rows)) {
    Status st = sink.Row(util_rows_[util_pos_]);
    ++util_pos_;
    ++sent;
    if (!st.ok()) return st.error();
  }
  if (util_pos_ < util_rows_.size()) return ExecuteResult{"", true};
  return ExecuteResult{tag_, false};
}

}  // namespace internal
}  // namespace bgw::sql
