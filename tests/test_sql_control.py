"""Server control from SQL, end to end with psql and psycopg.

NOTE: these tests need every branch of issue 4 merged (protocol session,
SQL engine, catalog/auth, and the shared branch's system views, functions,
notify queue and C functions). They were written on the shared branch and
cannot pass there alone: the lead runs them after the merge.

What they check against a real server:
  * pg_stat_activity lists the client backends and workers, with PostgreSQL's
    state names and "<insufficient privilege>" for other roles' queries;
  * bgw_launch_worker / bgw_workers / bgw_terminate_worker, and a C function
    that registers a worker and waits for it (the registrant's latch is set
    by the postmaster's SIGUSR1);
  * pg_terminate_backend / pg_cancel_backend on a busy session, and the
    WARNING + false for a pid that is not a server process;
  * CREATE FUNCTION ... LANGUAGE C from modules/bgw_sql_test: calls, NULLs,
    an ERROR with its SQLSTATE, the PG_FUNCTION_INFO_V1 check, definitions
    remembered by new sessions, DROP FUNCTION;
  * LISTEN / NOTIFY / pg_notify between two sessions.
"""

import os
import subprocess
import time

import pytest

import harness

SUPERUSER = os.environ.get("BGW_TEST_SUPERUSER") or harness.OS_USER


def start(make_server, **settings):
    srv = make_server()
    srv.init(dynamic_library_path=harness.BGW_MODULE_DIR, **settings)
    srv.start()
    return srv


def psql(srv, sql, user=SUPERUSER, check=True, timeout=60):
    """Runs `sql` with psql -X -A -t (unaligned, tuples only); returns the CompletedProcess."""
    cp = subprocess.run(
        ["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose",
         "-h", str(srv.sockdir), "-p", str(srv.port), "-U", user, "-d", "postgres", "-c", sql],
        capture_output=True, text=True, timeout=timeout, env=harness.pg_env())
    if check:
        assert cp.returncode == 0, f"psql failed on {sql!r}: {cp.stdout}{cp.stderr}"
    return cp


def value(srv, sql, **kw) -> str:
    return psql(srv, sql, **kw).stdout.strip()


def busy_session(srv, seconds=60):
    """A psql session running pg_sleep; returns (Popen, backend pid)."""
    p = subprocess.Popen(
        ["psql", "-X", "-A", "-t", "-h", str(srv.sockdir), "-p", str(srv.port), "-U", SUPERUSER,
         "-d", "postgres", "-c", f"SELECT pg_sleep({seconds})"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=harness.pg_env())

    def find():
        out = value(srv, "SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' "
                         "AND state = 'active'")
        return int(out.splitlines()[0]) if out else None

    pid = harness.wait_until(find, what="the pg_sleep session in pg_stat_activity")
    return p, pid


def test_pg_stat_activity_lists_this_session(make_server):
    srv = start(make_server)
    out = value(srv, "SELECT state, backend_type, usename, datname, query FROM pg_stat_activity "
                     "WHERE query LIKE '%marker_1234%' AND backend_type = 'client backend'")
    state, btype, user, db, query = out.split("|", 4)
    assert (state, btype, user, db) == ("active", "client backend", SUPERUSER, "postgres")
    assert "marker_1234" in query
    started = value(srv, "SELECT backend_start FROM pg_stat_activity LIMIT 1")
    assert started.endswith("+00"), started


def test_launch_list_and_terminate_a_worker(make_server):
    srv = start(make_server)
    pid = int(value(srv, "SELECT bgw_launch_worker('postgres', 'IdleWorkerMain', 0, "
                         "'sql idle', 'sql idle type', -1)"))
    assert harness.pid_alive(pid)
    row = value(srv, f"SELECT name, type, state, dynamic FROM bgw_workers WHERE pid = {pid}")
    assert row == "sql idle|sql idle type|running|t"
    assert value(srv, f"SELECT backend_type FROM pg_stat_activity WHERE pid = {pid}") == \
        "sql idle type"
    # Its latch wait shows as a wait event (PG_WAIT_EXTENSION).
    assert harness.wait_until(
        lambda: value(srv, "SELECT wait_event_type || '/' || wait_event FROM pg_stat_activity "
                           f"WHERE pid = {pid}") == "Extension/Extension",
        what="the worker's wait event")
    assert value(srv, f"SELECT bgw_terminate_worker({pid})") == "t"
    harness.wait_gone([pid])
    assert value(srv, "SELECT bgw_terminate_worker(1)") == "f"


def test_launch_fails_cleanly_without_free_slots(make_server):
    srv = start(make_server, max_worker_processes=1)
    value(srv, "SELECT bgw_launch_worker('postgres', 'IdleWorkerMain')")
    cp = psql(srv, "SELECT bgw_launch_worker('postgres', 'IdleWorkerMain')", check=False)
    assert cp.returncode != 0
    assert "53000" in cp.stderr and "could not register background worker" in cp.stderr
    assert "max_worker_processes" in cp.stderr


def test_terminate_and_cancel_backend(make_server):
    srv = start(make_server)
    p, pid = busy_session(srv)
    assert value(srv, f"SELECT pg_cancel_backend({pid})") == "t"
    _, err = p.communicate(timeout=30)
    assert "canceling statement due to user request" in err
    p, pid = busy_session(srv)
    assert value(srv, f"SELECT pg_terminate_backend({pid})") == "t"
    _, err = p.communicate(timeout=30)
    assert p.returncode != 0
    harness.wait_gone([pid])
    cp = psql(srv, "SELECT pg_terminate_backend(1)")
    assert cp.stdout.strip() == "f"
    assert "PID 1 is not a PostgreSQL server process" in cp.stderr
    assert value(srv, "SELECT pg_reload_conf()") == "t"


def test_c_functions_from_a_module(make_server):
    srv = start(make_server)
    psql(srv, "CREATE FUNCTION add_one(integer) RETURNS integer "
              "AS 'bgw_sql_test', 'add_one' LANGUAGE C STRICT")
    psql(srv, "CREATE FUNCTION concat_text(text, text) RETURNS text "
              "AS 'bgw_sql_test' LANGUAGE C STRICT")
    psql(srv, "CREATE FUNCTION is_null_arg(int) RETURNS bool "
              "AS 'bgw_sql_test' LANGUAGE C CALLED ON NULL INPUT")
    psql(srv, "CREATE FUNCTION raise_error(text) RETURNS void AS 'bgw_sql_test' LANGUAGE C")
    psql(srv, "CREATE FUNCTION launch_idle_worker() RETURNS int4 AS 'bgw_sql_test' LANGUAGE C")
    # A new session binds the remembered definitions.
    assert value(srv, "SELECT add_one(41)") == "42"
    assert value(srv, "SELECT concat_text('ab', 'cd')") == "abcd"
    assert value(srv, "SELECT add_one(NULL) IS NULL") == "t"
    assert value(srv, "SELECT is_null_arg(NULL)") == "t"
    cp = psql(srv, "SELECT raise_error('oops')", check=False)
    assert cp.returncode != 0
    assert "P0001" in cp.stderr and "raise_error: oops" in cp.stderr
    assert "raised by bgw_sql_test" in cp.stderr

    cp = psql(srv, "CREATE FUNCTION no_info(int) RETURNS int AS 'bgw_sql_test' LANGUAGE C",
              check=False)
    assert "42883" in cp.stderr
    assert 'could not find function information for function "no_info"' in cp.stderr
    assert "PG_FUNCTION_INFO_V1" in cp.stderr

    pid = int(value(srv, "SELECT launch_idle_worker()"))
    assert pid > 0 and harness.pid_alive(pid)
    assert value(srv, f"SELECT bgw_terminate_worker({pid})") == "t"

    psql(srv, "CREATE OR REPLACE FUNCTION add_one(integer) RETURNS integer "
              "AS 'bgw_sql_test', 'add_one' LANGUAGE C STRICT")
    psql(srv, "DROP FUNCTION add_one(integer)")
    cp = psql(srv, "SELECT add_one(1)", check=False)
    assert cp.returncode != 0
    cp = psql(srv, "DROP FUNCTION add_one(integer)", check=False)
    assert "42883" in cp.stderr
    psql(srv, "DROP FUNCTION IF EXISTS add_one(integer)")


def test_listen_notify_between_sessions(make_server):
    psycopg = pytest.importorskip("psycopg")
    srv = start(make_server)
    dsn = f"host={srv.sockdir} port={srv.port} user={SUPERUSER} dbname=postgres"
    got = []
    with psycopg.connect(dsn, autocommit=True) as listener, \
            psycopg.connect(dsn, autocommit=True) as sender:
        listener.add_notify_handler(got.append)
        listener.execute("LISTEN ch")
        sender.execute("SELECT pg_notify('ch', 'hello')")
        sender.execute("NOTIFY ch, 'second'")
        sender.execute("NOTIFY other, 'not for us'")
        with sender.transaction():
            sender.execute("NOTIFY ch, 'in tx'")
            sender.execute("NOTIFY ch, 'in tx'")
        deadline = time.time() + 10
        while len(got) < 3 and time.time() < deadline:
            listener.execute("SELECT 1")
            time.sleep(0.05)
        assert [(n.channel, n.payload) for n in got] == [
            ("ch", "hello"), ("ch", "second"), ("ch", "in tx")]
        assert all(n.pid == sender.info.backend_pid for n in got)


def test_non_superuser_limits(make_server):
    srv = start(make_server)
    psql(srv, "CREATE ROLE bob LOGIN")
    p, pid = busy_session(srv)
    q = value(srv, f"SELECT query FROM pg_stat_activity WHERE pid = {pid}", user="bob")
    assert q == "<insufficient privilege>"
    cp = psql(srv, f"SELECT pg_terminate_backend({pid})", user="bob", check=False)
    assert "42501" in cp.stderr and "permission denied to terminate process" in cp.stderr
    cp = psql(srv, "SELECT bgw_launch_worker('postgres', 'IdleWorkerMain')", user="bob",
              check=False)
    assert "must be superuser to launch background workers" in cp.stderr
    cp = psql(srv, "CREATE FUNCTION f(int) RETURNS int AS 'bgw_sql_test', 'add_one' LANGUAGE C",
              user="bob", check=False)
    assert "permission denied for language c" in cp.stderr
    assert value(srv, f"SELECT pg_terminate_backend({pid})") == "t"
    p.communicate(timeout=30)
