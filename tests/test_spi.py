"""Background workers with a database connection: BackgroundWorkerInitializeConnection,
the transaction commands and SPI, end to end through real processes.

The workers come from modules/bgw_spi_test: spi_launch(mode, arg, conn) registers a
dynamic worker with BGWORKER_BACKEND_DATABASE_CONNECTION and returns its pid; each mode
logs what is checked here (see the module's banner). psql and psycopg check the data.
"""

import os
import re
import signal
import subprocess

import psycopg
import pytest

import harness

SUPERUSER = os.environ.get("BGW_TEST_SUPERUSER") or harness.OS_USER


def psql(srv, sql, check=True):
    cp = subprocess.run(
        ["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", str(srv.sockdir), "-p",
         str(srv.port), "-U", SUPERUSER, "-d", "postgres", "-c", sql],
        capture_output=True, text=True, timeout=60, env=harness.pg_env())
    if check:
        assert cp.returncode == 0, f"psql failed on {sql!r}: {cp.stdout}{cp.stderr}"
    return cp


def value(srv, sql):
    return psql(srv, sql).stdout.strip()


@pytest.fixture
def srv(make_server):
    s = make_server()
    s.init(dynamic_library_path=harness.BGW_MODULE_DIR)
    s.start()
    psql(s, "CREATE FUNCTION spi_launch(text, int4, text) RETURNS int4 "
            "AS 'bgw_spi_test' LANGUAGE C STRICT")
    return s


def launch(srv, mode, arg=0, conn="postgres;;0"):
    """The worker's pid, or 0 when it had already exited when spi_launch looked."""
    return int(value(srv, f"SELECT spi_launch('{mode}', {arg}, '{conn}')"))


def run(srv, mode, arg=0, conn="postgres;;0"):
    """Launches a worker that may finish at once; its pid, from its own log line."""
    mark = srv.log_mark()
    launch(srv, mode, arg, conn)
    m = srv.wait_for_log(rf"\[(\d+)\] .*spi_test {mode}: connected to database", since=mark)
    return int(m.group(1))


def exit_line(pid, code):
    return rf"\(PID {pid}\) exited with exit code {code}"


def test_connect_by_name_and_by_oid_shows_in_pg_stat_activity(srv):
    psql(srv, "CREATE DATABASE app")
    app_oid = int(value(srv, "SELECT oid FROM pg_database WHERE datname = 'app'"))
    pid = launch(srv, "connect", conn="app;;0")
    srv.wait_for_log(rf"spi_test connect: connected to database {app_oid}")
    row = harness.wait_until(lambda: value(
        srv, f"SELECT datname, usename, backend_type FROM pg_stat_activity WHERE pid = {pid}"))
    assert row == f"app|{SUPERUSER}|spi_test"

    pid2 = launch(srv, "connect", conn=f"#{app_oid};10;0")
    row = harness.wait_until(lambda: value(
        srv, f"SELECT datid, datname, usesysid FROM pg_stat_activity WHERE pid = {pid2}"))
    assert row == f"{app_oid}|app|10"
    for p in (pid, pid2):
        assert value(srv, f"SELECT pg_terminate_backend({p})") == "t"
    harness.wait_gone([pid, pid2])


def test_connection_refusals_are_fatal(srv):
    def ends_with(mode, conn, level, message):
        """The worker logs `level: message`, exits with code 1, and never connected
        unless its mode connects first. Returns the worker's log lines."""
        mark = srv.log_mark()
        launch(srv, mode, conn=conn)
        m = srv.wait_for_log(rf"\[(\d+)\] .*{level}:  {message}", since=mark)
        pid = int(m.group(1))
        srv.wait_for_log(exit_line(pid, 1), since=mark)
        return [l for l in srv.log_since(mark).splitlines() if f"[{pid}]" in l]

    for mode, conn, message in [
        ("noflag", "postgres;;0",
         "database connection requirement not indicated during registration"),
        ("connect", "nosuchdb;;0", 'database "nosuchdb" does not exist'),
        ("connect", "postgres;nosuchrole;0", 'role "nosuchrole" does not exist'),
    ]:
        lines = ends_with(mode, conn, "FATAL", message)
        assert not [l for l in lines if "connected to database" in l], lines
    lines = ends_with("twice", "postgres;;0", "ERROR",
                      "BackgroundWorkerInitializeConnection may only be called once")
    assert [l for l in lines if "spi_test twice: connected to database" in l], lines
    lines = ends_with("nodb", ";;0", "ERROR", "cannot execute SQL without a database connection")
    assert [l for l in lines if "spi_test nodb: connected to database 0" in l], lines


def test_allow_connections_false_and_bypass(srv):
    psql(srv, "CREATE DATABASE closed")
    psql(srv, "ALTER DATABASE closed WITH ALLOW_CONNECTIONS false")
    mark = srv.log_mark()
    pid = launch(srv, "connect", conn="closed;;0")
    srv.wait_for_log(r'FATAL:.*database "closed" is not currently accepting connections',
                     since=mark)
    if pid:
        harness.wait_gone([pid])
    pid = launch(srv, "connect", conn="closed;;1")  # BGWORKER_BYPASS_ALLOWCONN
    assert pid > 0
    harness.wait_until(lambda: value(
        srv, f"SELECT datname FROM pg_stat_activity WHERE pid = {pid}") == "closed")
    psql(srv, f"SELECT pg_terminate_backend({pid})")


def test_nologin_role_and_bypass(srv):
    psql(srv, "CREATE ROLE shy NOLOGIN")
    mark = srv.log_mark()
    launch(srv, "connect", conn="postgres;shy;0")
    srv.wait_for_log(r'FATAL:.*role "shy" is not permitted to log in', since=mark)
    pid = launch(srv, "connect", conn="postgres;shy;2")  # BGWORKER_BYPASS_ROLELOGINCHECK
    assert pid > 0
    harness.wait_until(lambda: value(
        srv, f"SELECT usename FROM pg_stat_activity WHERE pid = {pid}") == "shy")
    psql(srv, f"SELECT pg_terminate_backend({pid})")


def test_spi_insert_update_select_with_args_and_plans(srv):
    mark = srv.log_mark()
    pid = run(srv, "crud", 20)
    m = srv.wait_for_log(r"crud: done .*", since=mark)
    # 20 transactions of insert + prepared update (+10 hits each); item 3 deleted.
    assert m.group(0).startswith("crud: done n=20 sum=200 rows=19 nulls=4"), m.group(0)
    log = srv.log_since(mark)
    assert "crud: row 2 name=item 2 type1=int4 fname3=score nattr=-9" in log
    assert "crud: deleted id 3" in log
    harness.wait_gone([pid])
    assert value(srv, "SELECT count(*), sum(hits) FROM items") == "19|190"
    assert value(srv, "SELECT name, score FROM items WHERE id = 4") == "item 4|2"


def test_error_caught_with_pg_try_then_the_worker_continues(srv):
    mark = srv.log_mark()
    pid = run(srv, "errors")
    srv.wait_for_log(r"errors: continued caught=2 rows=2", since=mark)
    log = srv.log_since(mark)
    assert re.search(r"errors: caught 23505: .*duplicate key", log), log
    assert "errors: then 25P02" in log
    assert "errors: COMMIT in SPI gives SPI_ERROR_TRANSACTION" in log
    assert "errors: NULL query gives SPI_ERROR_ARGUMENT" in log
    assert "errors: unconnected finish gives SPI_ERROR_UNCONNECTED" in log
    harness.wait_gone([pid])
    # The aborted transaction's row 2 is absent; 1 and 3 committed.
    assert value(srv, "SELECT id FROM errs ORDER BY id").split() == ["1", "3"]


def test_uncaught_error_ends_the_worker_with_exit_1(srv):
    mark = srv.log_mark()
    pid = run(srv, "uncaught")
    srv.wait_for_log(r'ERROR:.*relation "no_such_table" does not exist', since=mark)
    srv.wait_for_log(exit_line(pid, 1), since=mark)
    assert "uncaught: not reached" not in srv.log_since(mark)


def test_concurrent_increments_lose_no_update(srv):
    n = 400
    psql(srv, "CREATE TABLE counter (id int4 PRIMARY KEY, v int8 NOT NULL)")
    psql(srv, "INSERT INTO counter VALUES (1, 0)")
    mark = srv.log_mark()
    pids = [run(srv, "counter", n) for _ in range(2)]
    psql(srv, "INSERT INTO counter VALUES (2, 0)")  # go: both start together
    harness.wait_until(lambda: len(re.findall(r"counter: done", srv.log_since(mark))) == 2,
                       timeout=120, what="both counter workers")
    harness.wait_gone(pids)
    assert value(srv, "SELECT v FROM counter WHERE id = 1") == str(2 * n)


def test_worker_notify_reaches_a_listening_client(srv):
    with psycopg.connect(host=str(srv.sockdir), port=srv.port, user=SUPERUSER,
                         dbname="postgres", autocommit=True) as conn:
        conn.execute("LISTEN spi_chan")
        got = []
        conn.add_notify_handler(got.append)
        pid = run(srv, "notify", 42)

        def received():
            conn.execute("SELECT 1")  # notifications arrive with any result
            return got

        harness.wait_until(received, what="the worker's notification")
        assert [(n.channel, n.payload, n.pid) for n in got] == [("spi_chan", "payload 42", pid)]


def test_listening_worker_logs_notifications(srv):
    mark = srv.log_mark()
    launch(srv, "listen")
    pid = int(srv.wait_for_log(r"\[(\d+)\] .*listen: listening", since=mark).group(1))
    sender = value(srv, "SELECT pg_notify('spi_chan', 'hello'), pg_backend_pid()").split("|")[1]
    # Logged by the worker itself, naming the backend that sent it.
    srv.wait_for_log(rf'\[{pid}\] .*LOG:  NOTIFY for "spi_chan" payload "hello" from PID '
                     rf'{sender}$', since=mark)
    assert value(srv, f"SELECT pg_terminate_backend({pid})") == "t"
    srv.wait_for_log(exit_line(pid, 1), since=mark)


def test_kill_9_mid_transaction_keeps_only_committed_rows(srv):
    mark = srv.log_mark()
    pid = run(srv, "crash")
    srv.wait_for_log(r"crash: in transaction", since=mark)
    os.kill(pid, signal.SIGKILL)
    srv.wait_for_log(r"all server processes terminated; reinitializing|"
                     r"reinitializ", since=mark)
    harness.wait_until(lambda: psql(srv, "SELECT 1", check=False).returncode == 0,
                       what="the server after crash reinitialization")
    assert value(srv, "SELECT string_agg(v, ',') FROM crash") == "committed"


@pytest.mark.parametrize("handler_arg", [0, 1], ids=["die", "bgworker_die"])
def test_sigterm_mid_transaction_rolls_back(srv, handler_arg):
    mark = srv.log_mark()
    pid = run(srv, "crash", handler_arg)
    srv.wait_for_log(r"crash: in transaction", since=mark)
    os.kill(pid, signal.SIGTERM)
    srv.wait_for_log(r"FATAL:.*terminating (background worker|connection)", since=mark)
    srv.wait_for_log(exit_line(pid, 1), since=mark)
    assert value(srv, "SELECT string_agg(v, ',') FROM crash") == "committed"
