"""The v3 protocol session end to end: real servers driven by psql, pgbench,
psycopg, a libpq client (tests/libpq_client.cc, built as bgw_libpq_client)
and raw sockets for what no well-behaved client sends.

Covers the query cycle as clients see it: simple and extended queries,
parameters in text and binary, prepared statements, cancel, LISTEN/NOTIFY
delivered to an idle session, startup errors with PostgreSQL's SQLSTATEs,
protocol violations (answered with 08P01, then the connection closes, and the
server keeps serving everyone else) and a client vanishing mid-transaction.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import struct
import subprocess
import time

import pytest

import harness

LIBPQ_CLIENT = os.path.join(harness.BGW_BUILD_DIR, "bgw_libpq_client")
PSQL = shutil.which("psql")
PGBENCH = shutil.which("pgbench")
USER = harness.OS_USER


def conninfo(srv, dbname: str = "postgres", **extra) -> str:
    parts = {"host": str(srv.sockdir), "port": str(srv.port), "user": USER, "dbname": dbname}
    parts.update({k: str(v) for k, v in extra.items()})
    return " ".join(f"{k}={v}" for k, v in parts.items())


def psql(srv, *args, input: str | None = None, dbname: str = "postgres", timeout: float = 60):
    assert PSQL, "psql not installed"
    cmd = [PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(srv.sockdir), "-p", str(srv.port),
           "-U", USER, "-d", dbname, *args]
    return subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout,
                          env=harness.pg_env())


def libpq(srv, scenario: str, info: str | None = None, timeout: float = 90) -> dict[str, str]:
    if not os.access(LIBPQ_CLIENT, os.X_OK):
        pytest.skip("bgw_libpq_client not built (libpq development files missing)")
    cp = subprocess.run([LIBPQ_CLIENT, info or conninfo(srv), scenario], capture_output=True,
                        text=True, timeout=timeout, env=harness.pg_env())
    assert cp.returncode == 0, f"libpq client failed: {cp.stdout}\n{cp.stderr}\n{srv.log_tail()}"
    out = {}
    for line in cp.stdout.splitlines():
        key, _, value = line.partition("=")
        out[key] = value
    return out


@pytest.fixture
def srv(make_server):
    s = make_server()
    s.init()
    s.start()
    return s


# ---------------------------------------------------------------------------
# Raw protocol helpers.


def msg(mtype: str, body: bytes = b"") -> bytes:
    return mtype.encode() + struct.pack("!I", len(body) + 4) + body


def open_session(srv) -> tuple[socket.socket, int]:
    """A raw, authenticated session at its first ReadyForQuery; returns (sock, backend pid)."""
    s = harness.connect_unix(str(srv.sockdir), srv.port)
    s.sendall(harness.startup_packet({"user": USER, "database": "postgres"}))
    pid = 0
    while True:
        m = harness.read_message(s)
        assert m is not None, f"EOF during startup\n{srv.log_tail()}"
        if m[0] == "E":
            raise AssertionError(f"startup failed: {harness.parse_error_fields(m[1])}")
        if m[0] == "K":
            pid = struct.unpack("!I", m[1][:4])[0]
        if m[0] == "Z":
            return s, pid


def read_until(s: socket.socket, types: str) -> list[tuple[str, bytes]]:
    """Messages up to and including the first whose type is in `types` (or EOF)."""
    got = []
    while True:
        m = harness.read_message(s)
        if m is None:
            return got
        got.append(m)
        if m[0] in types:
            return got


def expect_fatal_then_eof(s: socket.socket, sqlstate: str) -> dict[str, str]:
    msgs = read_until(s, "E")
    assert msgs and msgs[-1][0] == "E", f"no ErrorResponse: {msgs}"
    fields = harness.parse_error_fields(msgs[-1][1])
    assert fields.get("S") == "FATAL", fields
    assert fields.get("C") == sqlstate, fields
    assert harness.wait_eof(s) == b""
    return fields


def simple_query(s: socket.socket, sql: str) -> list[tuple[str, bytes]]:
    s.sendall(msg("Q", sql.encode() + b"\0"))
    return read_until(s, "Z")


# ---------------------------------------------------------------------------
# psql


def test_psql_script_and_multi_statement(srv):
    cp = psql(srv, "-A", "-t", input=(
        "CREATE TABLE t (id int, name text);\n"
        "INSERT INTO t VALUES (1, 'one'), (2, 'two');\n"
        "SELECT count(*) FROM t; SELECT name FROM t WHERE id = 2;\n"
        "\\conninfo\n"))
    assert cp.returncode == 0, cp.stderr + srv.log_tail()
    lines = cp.stdout.splitlines()
    assert "2" in lines and "two" in lines, cp.stdout
    assert f'as user "{USER}"' in cp.stdout and str(srv.port) in cp.stdout, cp.stdout


def test_psql_error_stops_the_script(srv):
    cp = psql(srv, input="SELECT 1;\nSELECT * FROM no_such_table;\nSELECT 'not reached';\n")
    assert cp.returncode == 3, cp
    assert "no_such_table" in cp.stderr
    assert "not reached" not in cp.stdout


def test_psql_transaction_is_atomic_in_one_simple_query(srv):
    psql(srv, "-c", "CREATE TABLE a (x int)")
    cp = psql(srv, "-c", "INSERT INTO a VALUES (1); SELECT * FROM no_such_table")
    assert cp.returncode != 0
    cp = psql(srv, "-A", "-t", "-c", "SELECT count(*) FROM a")
    assert cp.stdout.strip() == "0", cp


# ---------------------------------------------------------------------------
# libpq


def test_libpq_parameters_text_and_binary(srv):
    out = libpq(srv, "params")
    for fmt in ("text", "binary"):
        assert out.get(f"{fmt}.rows") == "1", out
        assert out[f"{fmt}.i4"] == "-42"
        assert out[f"{fmt}.i8"] == "9000000000"
        assert out[f"{fmt}.t"] == "héllo"
        assert out[f"{fmt}.n"] == "NULL"
        assert out[f"{fmt}.i4.type"] == "23" and out[f"{fmt}.i8.type"] == "20"
        assert out[f"{fmt}.f8.type"] == "701" and out[f"{fmt}.ok.type"] == "16"
    assert out["text.f8"] == "2.5" and out["binary.f8"] == "2.500000"
    assert out["text.ok"] == "t" and out["binary.ok"] == "t"
    assert out["text.b"] == "\\x00ff41" and out["binary.b"] == "hex:00ff41"
    assert out["binparam.plus"] == "42"
    assert out["badbinary.sqlstate"] == "22P03", out
    assert out["after.status"] == "PGRES_TUPLES_OK"


def test_libpq_prepared_statements(srv):
    out = libpq(srv, "prepared")
    assert out["prepare.status"] == "PGRES_COMMAND_OK", out
    assert [out[f"exec.{i}"] for i in (1, 2, 3)] == ["2", "4", "6"]
    assert out["describe.nparams"] == "1" and out["describe.param0"] == "23"
    assert out["describe.nfields"] == "1" and out["describe.field0"] == "doubled"
    assert out["again.sqlstate"] == "42P05"
    assert out["missing.sqlstate"] == "26000"


def test_libpq_cancel(srv):
    out = libpq(srv, "cancel")
    assert out["cancel.sent"] == "1", out
    assert out["query.sqlstate"] == "57014", out
    assert out["query.message"] == "canceling statement due to user request"
    assert out["elapsed_under_10s"] == "1"
    assert out["after"] == "7"


def test_libpq_notify_reaches_an_idle_listener(srv):
    out = libpq(srv, "notify")
    assert out["notify.received"] == "1", out
    assert out["notify.channel"] == "bgw_chan"
    assert out["notify.payload"] == "hello there"
    assert out["notify.pid_matches"] == "1"
    assert out["notify.during_txn"] == "0"
    assert out["notify.after_txn"] == "second"


def test_libpq_single_row_mode(srv):
    out = libpq(srv, "singlerow")
    assert out["single.rows"] == "5", out
    assert out["single.final"] == "0"


def test_libpq_errors_and_empty_query(srv):
    out = libpq(srv, "errors")
    assert out["syntax.sqlstate"] == "42601", out
    assert out["multi.last"] == "2"
    assert out["empty.status"] == "PGRES_EMPTY_QUERY"


def test_unknown_database(srv):
    out = libpq(srv, "connect_error", conninfo(srv, dbname="no_such_db"))
    assert out["status"] == "bad"
    assert 'database "no_such_db" does not exist' in out["error"], out
    r = harness.probe_unix(str(srv.sockdir), srv.port, user=USER, database="no_such_db")
    assert r.error and r.error["C"] == "3D000" and r.severity == "FATAL", r


def test_role_without_login_and_connection_limits(srv):
    cp = psql(srv, input="CREATE ROLE nologin_role;\n"
                         "CREATE ROLE limited LOGIN CONNECTION LIMIT 0;\n"
                         "CREATE DATABASE closed_db ALLOW_CONNECTIONS false;\n"
                         "CREATE DATABASE full_db CONNECTION LIMIT 0;\n")
    assert cp.returncode == 0, cp.stderr
    sock = str(srv.sockdir)
    r = harness.probe_unix(sock, srv.port, user="nologin_role", database="postgres")
    assert r.error and r.error["C"] == "28000", r
    assert r.error["M"] == 'role "nologin_role" is not permitted to log in'
    r = harness.probe_unix(sock, srv.port, user="limited", database="postgres")
    assert r.error and r.error["C"] == "53300", r
    assert r.error["M"] == 'too many connections for role "limited"'
    r = harness.probe_unix(sock, srv.port, user="limited_missing", database="postgres")
    assert r.error and r.error["C"] in ("28000", "28P01"), r
    r = harness.probe_unix(sock, srv.port, user=USER, database="closed_db")
    assert r.error and r.error["C"] == "55000", r
    assert r.error["M"] == 'database "closed_db" is not currently accepting connections'
    # Superusers are exempt from the database limit, as in PostgreSQL.
    r = harness.probe_unix(sock, srv.port, user=USER, database="full_db")
    assert r.error is None, r


def test_startup_options_apply_settings(srv):
    cp = subprocess.run(
        [PSQL, "-X", "-A", "-t", "-c", "SHOW statement_timeout",
         conninfo(srv, options="'-c statement_timeout=1234'")],
        capture_output=True, text=True, timeout=60, env=harness.pg_env())
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout.strip() == "1234ms"


# ---------------------------------------------------------------------------
# pgbench and psycopg


@pytest.mark.parametrize("mode", ["simple", "extended", "prepared"])
def test_pgbench_select_1(srv, tmp_path, mode):
    assert PGBENCH, "pgbench not installed"
    script = tmp_path / "select1.sql"
    script.write_text("SELECT 1;\n")
    cp = subprocess.run(
        [PGBENCH, "-n", "-f", str(script), "-M", mode, "-c", "2", "-T", "2",
         "-h", str(srv.sockdir), "-p", str(srv.port), "-U", USER, "postgres"],
        capture_output=True, text=True, timeout=120, env=harness.pg_env())
    assert cp.returncode == 0, cp.stdout + cp.stderr + srv.log_tail()
    assert f"query mode: {mode}" in cp.stdout
    processed = [l for l in cp.stdout.splitlines() if "number of transactions actually processed" in l]
    assert processed and int(processed[0].split(":")[1].split("/")[0]) > 0, cp.stdout


def test_psycopg_parameters(srv):
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(conninfo(srv)) as conn:
        assert conn.execute("SELECT %s::int + 1", (41,)).fetchone() == (42,)
        conn.execute("CREATE TABLE p (id int, v text)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO p VALUES (%s, %s)", [(1, "a"), (2, None), (3, "c")])
        conn.commit()
        rows = conn.execute("SELECT id, v FROM p ORDER BY id").fetchall()
        assert rows == [(1, "a"), (2, None), (3, "c")]
        with conn.cursor(binary=True) as cur:
            cur.execute("SELECT %s::int8, %s::text", (2**40, "bin"))
            assert cur.fetchone() == (2**40, "bin")
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT * FROM missing_table")
        conn.rollback()
        assert conn.execute("SELECT 'still fine'").fetchone() == ("still fine",)


# ---------------------------------------------------------------------------
# Protocol violations and vanishing clients


def test_garbage_after_startup_is_fatal_08P01(srv):
    s, _ = open_session(srv)
    s.sendall(b"zzzz garbage")
    f = expect_fatal_then_eof(s, "08P01")
    assert f["M"] == "invalid frontend message type 122"
    s.close()
    # Everyone else is still served.
    assert psql(srv, "-A", "-t", "-c", "SELECT 1").stdout.strip() == "1"


def test_oversized_length_is_fatal_without_allocation(srv):
    s, _ = open_session(srv)
    s.sendall(b"Q" + struct.pack("!I", 0x7FFFFFF0))
    f = expect_fatal_then_eof(s, "08P01")
    assert f["M"] == "invalid message length"
    s.close()
    s, _ = open_session(srv)
    s.sendall(b"S" + struct.pack("!I", 100000))  # Sync has a small limit
    expect_fatal_then_eof(s, "08P01")
    s.close()
    assert psql(srv, "-A", "-t", "-c", "SELECT 2").stdout.strip() == "2"


def test_truncated_message_then_eof(srv):
    s, _ = open_session(srv)
    mark = srv.log_mark()
    s.sendall(b"Q" + struct.pack("!I", 100) + b"SELECT")
    s.shutdown(socket.SHUT_WR)
    expect_fatal_then_eof(s, "08P01")
    s.close()
    srv.wait_for_log("08P01|incomplete message", since=mark)
    assert psql(srv, "-A", "-t", "-c", "SELECT 3").stdout.strip() == "3"


def test_malformed_bind_is_an_error_and_the_session_goes_on(srv):
    s, _ = open_session(srv)
    s.sendall(msg("B", b"x\0") + msg("S"))
    got = read_until(s, "Z")
    assert [m[0] for m in got] == ["E", "Z"], got
    assert harness.parse_error_fields(got[0][1])["C"] == "08P01"
    got = simple_query(s, "SELECT 5")
    assert [m[0] for m in got] == ["T", "D", "C", "Z"], got
    s.sendall(msg("X"))
    assert harness.wait_eof(s) == b""


def test_extended_error_skips_until_sync(srv):
    s, _ = open_session(srv)
    s.sendall(msg("P", b"\0SELECT * FROM no_such_table\0\0\0")
              + msg("B", b"\0\0\0\0\0\0\0\0") + msg("E", b"\0\0\0\0\0") + msg("S"))
    got = read_until(s, "Z")
    assert [m[0] for m in got] == ["E", "Z"], got
    assert harness.parse_error_fields(got[0][1])["C"] == "42P01"
    s.close()


def test_sigterm_to_an_idle_backend_sends_57P01(srv):
    s, pid = open_session(srv)
    assert pid > 0
    os.kill(pid, signal.SIGTERM)
    f = expect_fatal_then_eof(s, "57P01")
    assert f["M"] == "terminating connection due to administrator command"
    s.close()


def test_disconnect_mid_transaction_commits_nothing(srv):
    psql(srv, "-c", "CREATE TABLE d (x int)")
    s, pid = open_session(srv)
    got = simple_query(s, "BEGIN; INSERT INTO d VALUES (1), (2)")
    assert got[-1][0] == "Z" and got[-1][1] == b"T", got
    s.close()  # no Terminate, no COMMIT
    harness.wait_gone([pid])
    cp = psql(srv, "-A", "-t", "-c", "SELECT count(*) FROM d")
    assert cp.stdout.strip() == "0", cp


def test_cancel_request_with_wrong_key_is_ignored(srv):
    s, pid = open_session(srv)
    c = harness.connect_unix(str(srv.sockdir), srv.port)
    c.sendall(struct.pack("!IIII", 16, 80877102, pid, 12345))
    assert harness.wait_eof(c) == b""
    c.close()
    got = simple_query(s, "SELECT 6")
    assert [m[0] for m in got] == ["T", "D", "C", "Z"], got
    s.close()
