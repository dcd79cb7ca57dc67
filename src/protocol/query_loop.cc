// The query cycle; see session.h for the contract.
//
// Shaped after PostgreSQL's PostgresMain: one loop that sleeps while idle,
// reads a message, dispatches it, and owes the client a ReadyForQuery after
// each simple query and each Sync. Extended-protocol errors set
// ignore_till_sync: every message up to the next Sync is read and dropped, so
// a client's pipeline after a failed step does nothing.
//
// Frontend bodies are decoded by protocol/messages.h (shared with the fuzz
// target); this file holds only session state: prepared statements and
// portals by name, and what is owed to the client.
#include "protocol/query_loop.h"

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/strutil.h"
#include "guc/settings.h"
#include "postgres/miscadmin.h"
#include "postgres/storage/latch.h"
#include "postgres/utils/guc.h"
#include "postgres/utils/memutils.h"
#include "postgres/utils/wait_event.h"
#include "protocol/messages.h"

namespace bgw::protocol {
namespace {

struct PortalEntry {
  std::shared_ptr<sql::Statement> statement;
  std::unique_ptr<sql::Portal> portal;
  std::vector<int16_t> result_formats;
  std::optional<std::vector<sql::Column>> columns;  // after the first Describe
};

class Loop;

// Encodes rows straight into the output buffer, one DataRow per row.
class WireSink : public sql::RowSink {
 public:
  WireSink(Loop& loop, const std::vector<sql::Column>& columns, std::span<const int16_t> formats)
      : loop_(loop), columns_(columns), formats_(formats) {}
  Status Row(std::span<const sql::Value> values) override;

 private:
  Loop& loop_;
  const std::vector<sql::Column>& columns_;
  std::span<const int16_t> formats_;
  std::vector<std::optional<std::string>> row_;  // reused: no allocation per row
};

class Loop {
 public:
  Loop(Connection& conn, sql::Session& session) : conn_(conn), session_(session) {}

  SessionEnd Run();

  // For WireSink: sends early once the buffer is large. False when the
  // client is gone (the session then ends).
  bool FlushIfLarge();
  Connection& conn() { return conn_; }

 private:
  bool WaitForMessage(FrontendMessage* msg);
  bool HandleIdleInterrupts();
  void Dispatch(const FrontendMessage& msg);

  void HandleQuery(std::span<const uint8_t> body);
  void HandleParse(std::span<const uint8_t> body);
  void HandleBind(std::span<const uint8_t> body);
  void HandleDescribe(std::span<const uint8_t> body);
  void HandleExecute(std::span<const uint8_t> body);
  void HandleClose(std::span<const uint8_t> body);
  void HandleSync();

  // Runs one statement of a simple query; false after an error (sent).
  bool RunSimpleStatement(const std::string& sql);
  Result<sql::ExecuteResult> ExecutePortal(sql::Portal& portal,
                                           const std::vector<sql::Column>& columns,
                                           std::span<const int16_t> formats, int64_t max_rows);
  Result<const std::vector<sql::Column>*> PortalColumns(PortalEntry& entry);
  void SendRowDescription(const std::vector<sql::Column>& columns,
                          std::span<const int16_t> formats);

  // Queues an ErrorResponse (and logs it). A FATAL one is flushed and ends
  // the session.
  void SendError(const ErrorReport& error);
  // An extended-protocol step failed: report, abort, skip until Sync.
  void ExtendedError(const ErrorReport& error);
  void SendReportedSettings();
  void SendNotifications();
  // NoticeResponse for the warnings and notices the engine collected (from
  // its own statements and from ereport(WARNING/NOTICE) in functions).
  void SendNotices();
  // After a transaction may have ended: portals do not outlive it.
  void AfterTransactionStep();

  Connection& conn_;
  sql::Session& session_;
  std::map<std::string, std::shared_ptr<sql::Statement>, std::less<>> statements_;
  std::map<std::string, PortalEntry, std::less<>> portals_;
  bool ignore_till_sync_ = false;
  bool send_ready_ = true;                            // a ReadyForQuery is owed
  bool idle_ = false;                                 // the last thing sent was ReadyForQuery
  std::chrono::steady_clock::time_point idle_since_;  // when idle_ became true
  std::optional<SessionEnd> end_;
  // The idle wait's client socket, MyLatch and postmaster death, registered
  // once for the connection: an idle wait is then one epoll_wait, with no
  // epoll_ctl to add and remove the socket each time.
  struct FreeWaitSet {
    void operator()(WaitEventSet* set) const { FreeWaitEventSet(set); }
  };
  std::unique_ptr<WaitEventSet, FreeWaitSet> idle_wait_;
  int idle_latch_pos_ = -1;
};

Status WireSink::Row(std::span<const sql::Value> values) {
  row_.resize(values.size());
  for (size_t i = 0; i < values.size(); i++) {
    const sql::Value& v = values[i];
    if (v.is_null()) {
      row_[i].reset();
      continue;
    }
    uint32_t type = i < columns_.size() ? columns_[i].type_oid : sql::oid::kText;
    if (ResultFormat(formats_, i) == kFormatBinary) {
      Result<std::string> bin = sql::FormatBinary(v, type);
      if (!bin.ok()) return bin.error();
      row_[i] = std::move(*bin);
    } else {
      row_[i] = sql::FormatText(v, type);
    }
  }
  loop_.conn().Out().DataRow(row_);
  if (!loop_.FlushIfLarge()) {
    ErrorReport e = MakeError("08006", "connection to client lost");
    e.severity = "FATAL";
    return e;
  }
  return Status::Ok();
}

bool Loop::FlushIfLarge() {
  if (end_) return false;
  if (conn_.Out().size() < kOutputFlushThreshold) return true;
  Status st = conn_.Flush();
  if (!st) {
    end_ = SessionEnd::kClientGone;
    return false;
  }
  return true;
}

void Loop::SendNotices() {
  for (const ErrorReport& n : session_.TakeNotices()) {
    if (end_) continue;
    conn_.Out().NoticeResponse(ErrorFields{n.severity, n.sqlstate, n.message, n.detail, n.hint});
  }
}

void Loop::SendError(const ErrorReport& error) {
  SendNotices();
  bool fatal = error.severity == "FATAL" || error.severity == "PANIC";
  log::Message m;
  m.level = fatal ? log::Level::kFatal : log::Level::kError;
  m.sqlstate = error.sqlstate;
  m.text = error.message;
  m.detail = error.detail;
  m.hint = error.hint;
  log::Emit(m);
  if (end_) return;  // the client is gone: nothing more to send
  conn_.Out().ErrorResponse(
      ErrorFields{error.severity, error.sqlstate, error.message, error.detail, error.hint});
  if (fatal) {
    (void)conn_.Flush();
    end_ = SessionEnd::kFatal;
  }
}

void Loop::ExtendedError(const ErrorReport& error) {
  SendError(error);
  session_.AfterError();
  ignore_till_sync_ = true;
}

void Loop::SendReportedSettings() {
  for (const auto& [name, value] : session_.TakeReportedSettings()) {
    conn_.Out().ParameterStatus(name, value);
  }
}

void Loop::SendNotifications() {
  for (const sql::Notification& n : session_.TakeNotifications()) {
    conn_.Out().NotificationResponse(n.sender_pid, n.channel, n.payload);
  }
}

void Loop::AfterTransactionStep() {
  // Portals are not holdable: they end with the transaction that made them.
  if (session_.TransactionStatus() == 'I') portals_.clear();
}

// ---------------------------------------------------------------------------
// Waiting

bool Loop::HandleIdleInterrupts() {
  if (ProcDiePending) {
    ProcDiePending = false;
    InterruptPending = false;
    ErrorReport e = MakeError("57P01", "terminating connection due to administrator command");
    e.severity = "FATAL";
    SendError(e);
    return false;
  }
  // A cancel that arrives between commands has nothing to cancel
  // (PostgreSQL ignores it while reading a command, too).
  QueryCancelPending = false;
  InterruptPending = false;
  if (ConfigReloadPending) {
    ConfigReloadPending = false;
    ProcessConfigFile(PGC_SIGHUP);
  }
  // Outside a transaction, an idle client learns of notifications at once.
  if (idle_ && session_.TransactionStatus() == 'I') SendNotifications();
  return true;
}

bool Loop::WaitForMessage(FrontendMessage* msg) {
  for (;;) {
    ResetLatch(MyLatch);
    if (!HandleIdleInterrupts()) return false;
    // A pipelined message already received is read without sleeping; the
    // output waits for the next real sleep (one send per round trip).
    if (conn_.BufferedInput() > 0) break;
    if (!conn_.Out().empty()) {
      Status st = conn_.Flush();
      if (!st) {
        end_ = SessionEnd::kClientGone;
        return false;
      }
    }
    if (!idle_wait_) {
      idle_wait_.reset(CreateWaitEventSet(TopMemoryContext, 3));
      AddWaitEventToSet(idle_wait_.get(), WL_SOCKET_READABLE, conn_.fd(), nullptr, nullptr);
      idle_latch_pos_ =
          AddWaitEventToSet(idle_wait_.get(), WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, nullptr);
      AddWaitEventToSet(idle_wait_.get(), WL_POSTMASTER_DEATH, PGINVALID_SOCKET, nullptr, nullptr);
    }
    ModifyWaitEvent(idle_wait_.get(), idle_latch_pos_, WL_LATCH_SET, MyLatch);  // no system call
    // An idle session may wait only so long, inside a transaction
    // (idle_in_transaction_session_timeout: it holds SQLite's snapshot and
    // maybe the write lock) and outside (idle_session_timeout).
    long timeout_ms = -1;
    if (idle_) {
      const bool in_transaction = session_.TransactionStatus() != 'I';
      const int limit =
          in_transaction ? guc::idle_in_transaction_session_timeout : guc::idle_session_timeout;
      if (limit > 0) {
        const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - idle_since_)
                                .count();
        if (waited >= limit) {
          ErrorReport e = in_transaction ? MakeError("25P03",
                                                     "terminating connection due to "
                                                     "idle-in-transaction timeout")
                                         : MakeError("57P05",
                                                     "terminating connection due to idle-session "
                                                     "timeout");
          e.severity = "FATAL";
          SendError(e);
          return false;
        }
        timeout_ms = limit - static_cast<long>(waited);
      }
    }
    WaitEvent events[3];
    int n = WaitEventSetWait(idle_wait_.get(), timeout_ms, events, 3, WAIT_EVENT_CLIENT_READ);
    uint32_t rc = 0;
    for (int i = 0; i < n; i++) rc |= events[i].events;
    if (rc & WL_POSTMASTER_DEATH) {
      // PostgreSQL tells the client why, best effort, and so do we.
      ErrorReport e =
          MakeError("57P01", "terminating connection due to unexpected postmaster exit");
      e.severity = "FATAL";
      SendError(e);
      end_ = SessionEnd::kPostmasterDied;
      return false;
    }
    if (rc & WL_SOCKET_READABLE) break;
  }

  msg->type = 0;
  msg->body.clear();
  Status st = conn_.ReadMessage(msg, MaxFrontendBodyLength, kNoDeadline);
  if (st.ok()) return true;
  switch (IoCodeOf(st)) {
    case IoCode::kEof:
      if (msg->type != 0) {
        // A message cut short: say so (a half-closed client may still read).
        ErrorReport e = MakeError("08P01", st.message());
        e.severity = "FATAL";
        SendError(e);
      }
      end_ = SessionEnd::kClientGone;
      return false;
    case IoCode::kProtocolViolation: {
      ErrorReport e = MakeError("08P01", st.message());
      e.severity = "FATAL";
      SendError(e);
      return false;
    }
    case IoCode::kPostmasterDied:
      end_ = SessionEnd::kPostmasterDied;
      return false;
    default:
      log::Log(log::Level::kLog, "%s", st.message().c_str());
      end_ = SessionEnd::kClientGone;
      return false;
  }
}

SessionEnd Loop::Run() {
  FrontendMessage msg;
  for (;;) {
    if (end_) {
      // Answers to messages pipelined before Terminate are still owed.
      if (*end_ == SessionEnd::kTerminate && !conn_.Out().empty()) (void)conn_.Flush();
      return *end_;
    }
    if (send_ready_) {
      SendNotices();
      SendNotifications();
      conn_.Out().ReadyForQuery(session_.TransactionStatus());
      send_ready_ = false;
      idle_ = true;
      idle_since_ = std::chrono::steady_clock::now();
      session_.ReportIdle();
    }
    if (!WaitForMessage(&msg)) return end_.value_or(SessionEnd::kFatal);
    idle_ = false;
    Dispatch(msg);
  }
}

void Loop::Dispatch(const FrontendMessage& msg) {
  std::span<const uint8_t> body(msg.body);
  if (ignore_till_sync_ && msg.type != 'S' && msg.type != 'X') return;
  switch (msg.type) {
    case 'Q':
      HandleQuery(body);
      return;
    case 'P':
      HandleParse(body);
      return;
    case 'B':
      HandleBind(body);
      return;
    case 'D':
      HandleDescribe(body);
      return;
    case 'E':
      HandleExecute(body);
      return;
    case 'C':
      HandleClose(body);
      return;
    case 'S':
      HandleSync();
      return;
    case 'H':
      if (Status st = conn_.Flush(); !st) end_ = SessionEnd::kClientGone;
      return;
    case 'X':
      end_ = SessionEnd::kTerminate;
      return;
    case 'F':
      // A fastpath call is a complete round trip of its own.
      SendError(MakeError("0A000", "fastpath function calls are not supported"));
      session_.AfterError();
      (void)session_.Sync();
      send_ready_ = true;
      return;
    case 'd':
    case 'c':
    case 'f':
      // Copy messages outside COPY are accepted and ignored, per protocol.
      return;
    default:
      // MaxFrontendBodyLength already refused any other type.
      SendError(ErrorReport{
          "FATAL",
          "08P01",
          StringPrintf("invalid frontend message type %d", static_cast<uint8_t>(msg.type)),
          {},
          {}});
      return;
  }
}

// ---------------------------------------------------------------------------
// Statements

void Loop::SendRowDescription(const std::vector<sql::Column>& columns,
                              std::span<const int16_t> formats) {
  std::vector<FieldDescription> fields;
  fields.reserve(columns.size());
  for (size_t i = 0; i < columns.size(); i++) {
    const sql::Column& c = columns[i];
    fields.push_back(FieldDescription{c.name, c.table_oid, c.attnum, c.type_oid, c.type_len,
                                      c.type_mod, ResultFormat(formats, i)});
  }
  conn_.Out().RowDescription(fields);
}

Result<sql::ExecuteResult> Loop::ExecutePortal(sql::Portal& portal,
                                               const std::vector<sql::Column>& columns,
                                               std::span<const int16_t> formats, int64_t max_rows) {
  WireSink sink(*this, columns, formats);
  return portal.Execute(max_rows, sink);
}

bool Loop::RunSimpleStatement(const std::string& text) {
  auto stmt = session_.Prepare(text, {});
  if (!stmt.ok()) {
    SendError(stmt.error());
    return false;
  }
  if ((*stmt)->empty()) {
    conn_.Out().EmptyQueryResponse();
    return true;
  }
  auto portal = session_.Bind(*stmt, {});
  if (!portal.ok()) {
    SendError(portal.error());
    return false;
  }
  auto columns = (*portal)->Describe();
  if (!columns.ok()) {
    SendError(columns.error());
    return false;
  }
  if (!columns->empty()) SendRowDescription(*columns, {});
  auto result = ExecutePortal(**portal, *columns, {}, 0);
  if (!result.ok()) {
    SendError(result.error());
    return false;
  }
  SendNotices();
  conn_.Out().CommandComplete(result->command_tag);
  SendReportedSettings();
  return true;
}

void Loop::HandleQuery(std::span<const uint8_t> body) {
  send_ready_ = true;
  auto q = DecodeQuery(body);
  if (!q.ok()) {
    SendError(q.error());
    return;
  }
  // A simple query ends the life of the unnamed statement and portal.
  statements_.erase("");
  portals_.erase("");
  session_.ReportQueryStart(q->query);
  std::vector<std::string> statements = sql::Session::SplitStatements(q->query);
  bool failed = false;
  if (statements.empty()) conn_.Out().EmptyQueryResponse();
  for (const std::string& text : statements) {
    if (!RunSimpleStatement(text)) {
      failed = true;
      break;
    }
  }
  if (end_) return;
  if (failed) session_.AfterError();
  // The end of a simple query commits its implicit transaction.
  Status st = session_.Sync();
  if (!st.ok()) {
    if (!failed) SendError(st.error());
    session_.AfterError();
  }
  SendReportedSettings();
  AfterTransactionStep();
}

void Loop::HandleParse(std::span<const uint8_t> body) {
  auto m = DecodeParse(body);
  if (!m.ok()) return ExtendedError(m.error());
  if (!m->statement.empty() && statements_.contains(m->statement)) {
    return ExtendedError(MakeError(
        "42P05", StringPrintf("prepared statement \"%.*s\" already exists",
                              static_cast<int>(m->statement.size()), m->statement.data())));
  }
  std::vector<std::string> parts = sql::Session::SplitStatements(m->query);
  if (parts.size() > 1) {
    return ExtendedError(
        MakeError("42601", "cannot insert multiple commands into a prepared statement"));
  }
  if (m->statement.empty()) statements_.erase("");
  auto stmt = session_.Prepare(parts.empty() ? std::string_view() : std::string_view(parts[0]),
                               m->param_types);
  if (!stmt.ok()) return ExtendedError(stmt.error());
  statements_[std::string(m->statement)] = std::move(*stmt);
  conn_.Out().ParseComplete();
}

namespace {

ErrorReport NoSuchStatement(std::string_view name) {
  if (name.empty()) return MakeError("26000", "unnamed prepared statement does not exist");
  return MakeError("26000", StringPrintf("prepared statement \"%.*s\" does not exist",
                                         static_cast<int>(name.size()), name.data()));
}

ErrorReport NoSuchPortal(std::string_view name) {
  return MakeError("34000", StringPrintf("portal \"%.*s\" does not exist",
                                         static_cast<int>(name.size()), name.data()));
}

}  // namespace

void Loop::HandleBind(std::span<const uint8_t> body) {
  auto m = DecodeBind(body);
  if (!m.ok()) return ExtendedError(m.error());
  if (m->portal.empty()) portals_.erase("");
  auto it = statements_.find(m->statement);
  if (it == statements_.end()) return ExtendedError(NoSuchStatement(m->statement));
  std::shared_ptr<sql::Statement> stmt = it->second;
  if (!m->portal.empty() && portals_.contains(m->portal)) {
    return ExtendedError(
        MakeError("42P03", StringPrintf("portal \"%.*s\" already exists",
                                        static_cast<int>(m->portal.size()), m->portal.data())));
  }
  const std::vector<uint32_t>& types = stmt->param_types();
  if (m->params.size() != types.size()) {
    return ExtendedError(MakeError(
        "08P01", StringPrintf("bind message supplies %zu parameters, but prepared statement "
                              "\"%.*s\" requires %zu",
                              m->params.size(), static_cast<int>(m->statement.size()),
                              m->statement.data(), types.size())));
  }
  std::vector<sql::Value> values;
  values.reserve(types.size());
  for (size_t i = 0; i < types.size(); i++) {
    const auto& p = m->params[i];
    if (!p) {
      values.push_back(sql::Value::Null());
      continue;
    }
    if (m->param_formats[i] == kFormatBinary) {
      auto v = sql::ParseBinary(*p, types[i]);
      if (!v.ok()) {
        ErrorReport e = v.error();
        if (e.sqlstate == "22P03") {
          e.message = StringPrintf("incorrect binary data format in bind parameter %zu", i + 1);
        }
        return ExtendedError(e);
      }
      values.push_back(std::move(*v));
    } else {
      std::string_view text(reinterpret_cast<const char*>(p->data()), p->size());
      auto v = sql::ParseText(text, types[i]);
      if (!v.ok()) return ExtendedError(v.error());
      values.push_back(std::move(*v));
    }
  }
  if (m->result_formats.size() > 1) {
    Status ok = CheckResultFormats(m->result_formats, stmt->DescribeColumns().size());
    if (!ok.ok()) return ExtendedError(ok.error());
  }
  auto portal = session_.Bind(stmt, std::move(values));
  if (!portal.ok()) return ExtendedError(portal.error());
  PortalEntry entry;
  entry.statement = std::move(stmt);
  entry.portal = std::move(*portal);
  entry.result_formats = std::move(m->result_formats);
  portals_[std::string(m->portal)] = std::move(entry);
  conn_.Out().BindComplete();
}

Result<const std::vector<sql::Column>*> Loop::PortalColumns(PortalEntry& entry) {
  if (!entry.columns) {
    if (entry.statement->empty()) {
      entry.columns.emplace();
    } else {
      auto cols = entry.portal->Describe();
      if (!cols.ok()) return cols.error();
      entry.columns = std::move(*cols);
    }
  }
  return &*entry.columns;
}

void Loop::HandleDescribe(std::span<const uint8_t> body) {
  auto m = DecodeDescribe(body);
  if (!m.ok()) return ExtendedError(m.error());
  if (m->kind == 'S') {
    auto it = statements_.find(m->name);
    if (it == statements_.end()) return ExtendedError(NoSuchStatement(m->name));
    const sql::Statement& stmt = *it->second;
    conn_.Out().ParameterDescription(stmt.param_types());
    std::vector<sql::Column> columns =
        stmt.empty() ? std::vector<sql::Column>{} : stmt.DescribeColumns();
    if (columns.empty()) {
      conn_.Out().NoData();
    } else {
      SendRowDescription(columns, {});
    }
    return;
  }
  auto it = portals_.find(m->name);
  if (it == portals_.end()) return ExtendedError(NoSuchPortal(m->name));
  auto columns = PortalColumns(it->second);
  if (!columns.ok()) return ExtendedError(columns.error());
  if ((*columns)->empty()) {
    conn_.Out().NoData();
  } else {
    SendRowDescription(**columns, it->second.result_formats);
  }
}

void Loop::HandleExecute(std::span<const uint8_t> body) {
  auto m = DecodeExecute(body);
  if (!m.ok()) return ExtendedError(m.error());
  auto it = portals_.find(m->portal);
  if (it == portals_.end()) return ExtendedError(NoSuchPortal(m->portal));
  PortalEntry& entry = it->second;
  if (entry.statement->empty()) {
    conn_.Out().EmptyQueryResponse();
    return;
  }
  session_.ReportQueryStart(entry.statement->sql());
  auto columns = PortalColumns(entry);
  if (!columns.ok()) return ExtendedError(columns.error());
  auto result = ExecutePortal(*entry.portal, **columns, entry.result_formats, m->max_rows);
  if (!result.ok()) return ExtendedError(result.error());
  SendNotices();
  if (result->suspended) {
    conn_.Out().PortalSuspended();
  } else {
    conn_.Out().CommandComplete(result->command_tag);
  }
  SendReportedSettings();
}

void Loop::HandleClose(std::span<const uint8_t> body) {
  auto m = DecodeClose(body);
  if (!m.ok()) return ExtendedError(m.error());
  // Closing something that does not exist is not an error.
  if (m->kind == 'S') {
    auto it = statements_.find(m->name);
    if (it != statements_.end()) statements_.erase(it);
  } else {
    auto it = portals_.find(m->name);
    if (it != portals_.end()) portals_.erase(it);
  }
  conn_.Out().CloseComplete();
}

void Loop::HandleSync() {
  ignore_till_sync_ = false;
  Status st = session_.Sync();
  if (!st.ok()) {
    SendError(st.error());
    session_.AfterError();
  }
  SendReportedSettings();
  AfterTransactionStep();
  send_ready_ = true;
}

}  // namespace

SessionEnd RunSession(Connection& conn, sql::Session& session) {
  Loop loop(conn, session);
  return loop.Run();
}

}  // namespace bgw::protocol
