// A small libpq client for the protocol integration tests
// (tests/test_protocol.py): exercises what drivers rely on -- parameters in
// text and binary, prepared statements and their description, cancel,
// LISTEN/NOTIFY delivered to an idle connection, connection errors, single-
// row mode -- and prints what it saw as "key=value" lines for the test to
// check.
//
//   bgw_libpq_client CONNINFO SCENARIO
//
// Exit status 0 = the scenario ran (its findings are in the output, even
// failures the test expects); 2 = the client itself could not proceed.
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <sys/select.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

[[noreturn]] void Die(const char* what, PGconn* conn) {
  std::fprintf(stderr, "%s: %s\n", what, conn ? PQerrorMessage(conn) : "");
  std::exit(2);
}

PGconn* Connect(const std::string& conninfo) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (PQstatus(conn) != CONNECTION_OK) Die("connect", conn);
  return conn;
}

const char* Field(const PGresult* r, int code) {
  const char* v = PQresultErrorField(r, code);
  return v ? v : "";
}

// Runs a command that must succeed.
void Exec(PGconn* conn, const char* sql) {
  PGresult* r = PQexec(conn, sql);
  ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    std::fprintf(stderr, "%s: %s\n", sql, PQresultErrorMessage(r));
    std::exit(2);
  }
  PQclear(r);
}

uint64_t BigEndian(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::string Hex(const char* p, int n) {
  std::string s;
  char buf[3];
  for (int i = 0; i < n; i++) {
    std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned char>(p[i]));
    s += buf;
  }
  return s;
}

void PrintError(const char* key, const PGresult* r) {
  std::printf("%s.status=%s\n", key, PQresStatus(PQresultStatus(r)));
  std::printf("%s.sqlstate=%s\n", key, Field(r, PG_DIAG_SQLSTATE));
  std::printf("%s.message=%s\n", key, Field(r, PG_DIAG_MESSAGE_PRIMARY));
}

// Text and binary parameters and results for the common types.
int Params(PGconn* conn) {
  const char* sql =
      "SELECT $1::int4 AS i4, $2::int8 AS i8, $3::float8 AS f8, $4::text AS t, "
      "$5::bytea AS b, $6::bool AS ok, $7::text AS n";
  const char* values[7] = {"-42", "9000000000", "2.5", "héllo", "\\x00ff41", "true", nullptr};
  for (int fmt = 0; fmt <= 1; fmt++) {
    PGresult* r = PQexecParams(conn, sql, 7, nullptr, values, nullptr, nullptr, fmt);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      PrintError(fmt ? "binary" : "text", r);
      PQclear(r);
      continue;
    }
    const char* key = fmt ? "binary" : "text";
    std::printf("%s.rows=%d\n", key, PQntuples(r));
    for (int c = 0; c < PQnfields(r); c++) {
      std::printf("%s.%s.type=%u\n", key, PQfname(r, c), PQftype(r, c));
      if (PQgetisnull(r, 0, c)) {
        std::printf("%s.%s=NULL\n", key, PQfname(r, c));
        continue;
      }
      const char* v = PQgetvalue(r, 0, c);
      int len = PQgetlength(r, 0, c);
      std::string shown;
      if (!fmt) {
        shown = v;
      } else {
        switch (PQftype(r, c)) {
          case 23:
            shown = len == 4 ? std::to_string(static_cast<int32_t>(BigEndian(v, 4))) : "badlen";
            break;
          case 20:
            shown = len == 8 ? std::to_string(static_cast<int64_t>(BigEndian(v, 8))) : "badlen";
            break;
          case 701: {
            uint64_t bits = BigEndian(v, 8);
            double d;
            std::memcpy(&d, &bits, sizeof d);
            shown = len == 8 ? std::to_string(d) : "badlen";
            break;
          }
          case 16:
            shown = len == 1 ? (v[0] ? "t" : "f") : "badlen";
            break;
          case 17:
            shown = "hex:" + Hex(v, len);
            break;
          default:
            shown = std::string(v, static_cast<size_t>(len));
        }
      }
      std::printf("%s.%s=%s\n", key, PQfname(r, c), shown.c_str());
    }
    PQclear(r);
  }
  // A binary int4 parameter.
  uint32_t be = htonl(41);
  const char* bin_values[1] = {reinterpret_cast<const char*>(&be)};
  int lengths[1] = {4};
  int formats[1] = {1};
  Oid types[1] = {23};
  PGresult* r =
      PQexecParams(conn, "SELECT $1::int4 + 1 AS plus", 1, types, bin_values, lengths, formats, 0);
  if (PQresultStatus(r) == PGRES_TUPLES_OK) {
    std::printf("binparam.plus=%s\n", PQgetvalue(r, 0, 0));
  } else {
    PrintError("binparam", r);
  }
  PQclear(r);
  // A malformed binary parameter: 3 bytes for an int4.
  lengths[0] = 3;
  r = PQexecParams(conn, "SELECT $1::int4", 1, types, bin_values, lengths, formats, 0);
  PrintError("badbinary", r);
  PQclear(r);
  // The connection still works.
  r = PQexec(conn, "SELECT 1");
  std::printf("after.status=%s\n", PQresStatus(PQresultStatus(r)));
  PQclear(r);
  return 0;
}

int Prepared(PGconn* conn) {
  Oid types[1] = {23};
  PGresult* r = PQprepare(conn, "double_it", "SELECT $1::int4 * 2 AS doubled", 1, types);
  std::printf("prepare.status=%s\n", PQresStatus(PQresultStatus(r)));
  PQclear(r);
  for (int i = 1; i <= 3; i++) {
    std::string v = std::to_string(i);
    const char* values[1] = {v.c_str()};
    r = PQexecPrepared(conn, "double_it", 1, values, nullptr, nullptr, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
      std::printf("exec.%d=%s\n", i, PQgetvalue(r, 0, 0));
    } else {
      PrintError("exec", r);
    }
    PQclear(r);
  }
  r = PQdescribePrepared(conn, "double_it");
  std::printf("describe.status=%s\n", PQresStatus(PQresultStatus(r)));
  std::printf("describe.nparams=%d\n", PQnparams(r));
  if (PQnparams(r) > 0) std::printf("describe.param0=%u\n", PQparamtype(r, 0));
  std::printf("describe.nfields=%d\n", PQnfields(r));
  if (PQnfields(r) > 0) {
    std::printf("describe.field0=%s\n", PQfname(r, 0));
    std::printf("describe.type0=%u\n", PQftype(r, 0));
  }
  PQclear(r);
  // The same name again: 42P05.
  r = PQprepare(conn, "double_it", "SELECT 1", 0, nullptr);
  PrintError("again", r);
  PQclear(r);
  r = PQdescribePrepared(conn, "no_such_statement");
  PrintError("missing", r);
  PQclear(r);
  return 0;
}

int Cancel(PGconn* conn) {
  auto start = std::chrono::steady_clock::now();
  if (!PQsendQuery(conn, "SELECT pg_sleep(30)")) Die("send", conn);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  PGcancel* cancel = PQgetCancel(conn);
  char err[256];
  int sent = PQcancel(cancel, err, sizeof err);
  PQfreeCancel(cancel);
  std::printf("cancel.sent=%d\n", sent);
  PGresult* r;
  while ((r = PQgetResult(conn)) != nullptr) {
    PrintError("query", r);
    PQclear(r);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("elapsed_under_10s=%d\n", secs < 10 ? 1 : 0);
  r = PQexec(conn, "SELECT 7");
  std::printf("after=%s\n", PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "error");
  PQclear(r);
  return 0;
}

int Notify(PGconn* listener, const std::string& conninfo) {
  Exec(listener, "LISTEN bgw_chan");
  PGconn* sender = Connect(conninfo);
  Exec(sender, "NOTIFY bgw_chan, 'hello there'");
  int sender_pid = PQbackendPID(sender);
  // The listener is idle: the notification must arrive without a query.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  PGnotify* n = nullptr;
  while (n == nullptr && std::chrono::steady_clock::now() < deadline) {
    int sock = PQsocket(listener);
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(sock, &fds);
    timeval tv{1, 0};
    select(sock + 1, &fds, nullptr, nullptr, &tv);
    if (!PQconsumeInput(listener)) Die("consume", listener);
    n = PQnotifies(listener);
  }
  if (n == nullptr) {
    std::printf("notify.received=0\n");
  } else {
    std::printf("notify.received=1\n");
    std::printf("notify.channel=%s\n", n->relname);
    std::printf("notify.payload=%s\n", n->extra);
    std::printf("notify.pid_matches=%d\n", n->be_pid == sender_pid ? 1 : 0);
    PQfreemem(n);
  }
  // Inside a transaction, delivery waits for its end.
  Exec(listener, "BEGIN");
  Exec(sender, "NOTIFY bgw_chan, 'second'");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  PQconsumeInput(listener);
  n = PQnotifies(listener);
  std::printf("notify.during_txn=%d\n", n != nullptr ? 1 : 0);
  if (n) PQfreemem(n);
  Exec(listener, "COMMIT");
  n = PQnotifies(listener);
  std::printf("notify.after_txn=%s\n", n != nullptr ? n->extra : "none");
  if (n) PQfreemem(n);
  PQfinish(sender);
  return 0;
}

int SingleRow(PGconn* conn) {
  if (!PQsendQuery(conn,
                   "WITH RECURSIVE t(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM t WHERE x < 5) "
                   "SELECT x FROM t")) {
    Die("send", conn);
  }
  if (!PQsetSingleRowMode(conn)) Die("single row mode", conn);
  int single = 0, final_tuples = -1;
  PGresult* r;
  while ((r = PQgetResult(conn)) != nullptr) {
    if (PQresultStatus(r) == PGRES_SINGLE_TUPLE) single++;
    if (PQresultStatus(r) == PGRES_TUPLES_OK) final_tuples = PQntuples(r);
    if (PQresultStatus(r) == PGRES_FATAL_ERROR) PrintError("single", r);
    PQclear(r);
  }
  std::printf("single.rows=%d\n", single);
  std::printf("single.final=%d\n", final_tuples);
  return 0;
}

int Errors(PGconn* conn) {
  PGresult* r = PQexec(conn, "SELEC 1");
  PrintError("syntax", r);
  PQclear(r);
  r = PQexec(conn, "SELECT 1; SELECT 2");
  std::printf("multi.last=%s\n", PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "?");
  PQclear(r);
  r = PQexec(conn, "");
  std::printf("empty.status=%s\n", PQresStatus(PQresultStatus(r)));
  PQclear(r);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s CONNINFO SCENARIO\n", argv[0]);
    return 2;
  }
  std::string conninfo = argv[1];
  std::string scenario = argv[2];
  if (scenario == "connect_error") {
    // The connection is expected to fail: print libpq's message.
    PGconn* conn = PQconnectdb(conninfo.c_str());
    std::printf("status=%s\n", PQstatus(conn) == CONNECTION_OK ? "ok" : "bad");
    std::string msg = PQerrorMessage(conn);
    for (char& c : msg) {
      if (c == '\n') c = ' ';
    }
    std::printf("error=%s\n", msg.c_str());
    PQfinish(conn);
    return 0;
  }
  PGconn* conn = Connect(conninfo);
  int rc = 2;
  if (scenario == "params")
    rc = Params(conn);
  else if (scenario == "prepared")
    rc = Prepared(conn);
  else if (scenario == "cancel")
    rc = Cancel(conn);
  else if (scenario == "notify")
    rc = Notify(conn, conninfo);
  else if (scenario == "singlerow")
    rc = SingleRow(conn);
  else if (scenario == "errors")
    rc = Errors(conn);
  else
    std::fprintf(stderr, "unknown scenario %s\n", scenario.c_str());
  std::fflush(stdout);
  PQfinish(conn);
  return rc;
}
