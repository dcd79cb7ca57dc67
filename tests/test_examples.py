"""The example modules, end to end: real servers, real clients (psql, psycopg).

modules/bgw_libpq_worker: a preloaded worker that connects to its own server
through libpq, found from the server's port and unix_socket_directories:
  * its rows appear in the table it writes, from every worker;
  * its NOTIFY reaches a psycopg listener, with the row count as payload;
  * a bad conninfo is logged with libpq's message, retried every naptime,
    never crashes the server, and a reload with a good conninfo recovers;
  * a query error (its table dropped) is logged and the next round recovers;
  * SIGTERM ends it with exit code 1 (die), not a crash, and it restarts,
    even while its query waits for a lock.

modules/bgw_worker_spi: database workers on transactions and SPI:
  * deltas inserted with psql are folded into the total;
  * a reload of bgw_worker_spi.naptime takes effect;
  * a failed round is caught (PG_TRY) and the worker lives on; an uncaught
    connection error exits 1 and the worker is restarted;
  * bgw_worker_spi_launch() starts dynamic workers (by database name or oid,
    with flags) and rejects unknown flags.
"""

import os
import re
import signal
import subprocess
import threading
import time

import psycopg
import pytest

import harness

SUPERUSER = os.environ.get("BGW_TEST_SUPERUSER") or harness.OS_USER


def start(make_server, **settings):
    srv = make_server()
    srv.init(dynamic_library_path=harness.BGW_MODULE_DIR, **settings)
    srv.start()
    return srv


def psql(srv, sql, check=True, timeout=60):
    """Runs `sql` with psql -X -A -t; returns the CompletedProcess."""
    cp = subprocess.run(
        ["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", str(srv.sockdir), "-p",
         str(srv.port), "-U", SUPERUSER, "-d", "postgres", "-c", sql],
        capture_output=True, text=True, timeout=timeout, env=harness.pg_env())
    if check:
        assert cp.returncode == 0, f"psql failed on {sql!r}: {cp.stdout}{cp.stderr}"
    return cp


def value(srv, sql) -> str:
    return psql(srv, sql).stdout.strip()


def table_exists(srv, name) -> bool:
    cp = psql(srv, f"SELECT count(*) FROM {name}", check=False)
    return cp.returncode == 0


def libpq_workers(srv) -> list[int]:
    return srv.children_by_kind("bgw_libpq_worker")


# ---------------------------------------------------------------------------
# bgw_libpq_worker

def test_libpq_worker_rows_and_notify(make_server):
    srv = start(make_server, shared_preload_libraries="bgw_libpq_worker",
                **{"bgw_libpq_worker.naptime": 1, "bgw_libpq_worker.workers": 2,
                   "bgw_libpq_worker.channel": "rounds"})
    srv.wait_children("bgw_libpq_worker", 2)

    # Listen first, then wait for a notification sent after LISTEN committed.
    received = []
    t = None
    conn = psycopg.connect(host=str(srv.sockdir), port=srv.port, dbname="postgres",
                           user=SUPERUSER, autocommit=True)
    try:
        listener_pid = conn.info.backend_pid
        conn.execute("LISTEN rounds")

        def listen():
            for n in conn.notifies():
                received.append(n)
                break

        t = threading.Thread(target=listen, daemon=True)
        t.start()
        t.join(30)
        assert received, f"no notification on channel rounds\n{srv.log_tail()}"
    finally:
        # A listener still blocked in notifies() owns the connection.
        if t is None or not t.is_alive():
            conn.close()
    n = received[0]
    assert n.channel == "rounds"
    assert int(n.payload) >= 1
    assert n.pid != listener_pid

    # Rows from both workers, with consecutive rounds, in the table they created.
    harness.wait_until(
        lambda: table_exists(srv, "bgw_libpq_worker_rounds")
        and value(srv, "SELECT count(DISTINCT worker) FROM bgw_libpq_worker_rounds") == "2",
        what="rows from both workers")
    rows = value(srv, "SELECT worker, min(round), count(*) FROM bgw_libpq_worker_rounds "
                      "GROUP BY worker ORDER BY worker")
    for line in rows.splitlines():
        worker, first_round, count = line.split("|")
        assert worker in ("1", "2") and first_round == "1" and int(count) >= 1, rows
    log = srv.read_log()
    assert re.search(r'bgw_libpq_worker 1: connected to database "postgres" as "%s"'
                     % re.escape(SUPERUSER), log), log[-3000:]
    assert re.search(r"bgw_libpq_worker [12]: round \d+: \d+ rows in bgw_libpq_worker_rounds, "
                     r'notified channel "rounds"', log), log[-3000:]
    # The workers are clients like any other: pg_stat_activity would show them,
    # and the table is an ordinary one that psql can write too.
    psql(srv, "INSERT INTO bgw_libpq_worker_rounds (worker, round) VALUES (99, 1)")


def test_libpq_worker_bad_conninfo_is_logged_and_retried(make_server):
    srv = start(make_server, shared_preload_libraries="bgw_libpq_worker",
                **{"bgw_libpq_worker.naptime": 1,
                   "bgw_libpq_worker.conninfo": "host=/nonexistent/bgw port=1 "
                                                "dbname=postgres password=sekrit"})
    (pid,) = srv.wait_children("bgw_libpq_worker", 1)
    # libpq's own reason, on one LOG line, then a retry each naptime.
    m = srv.wait_for_log(r"bgw_libpq_worker 1: could not connect: (.*)")
    assert "No such file or directory" in m.group(1), m.group(0)
    # The conninfo is shown, but never a password.
    assert "password='********'" in srv.read_log()
    assert "sekrit" not in srv.read_log()
    harness.wait_until(
        lambda: srv.read_log().count("bgw_libpq_worker 1: could not connect") >= 3,
        what="three connection attempts")
    assert "bgw_libpq_worker 1: will retry in 1 s" in srv.read_log()
    # Same process all along: failures are handled, not fatal; server is fine.
    assert libpq_workers(srv) == [pid]
    assert value(srv, "SELECT 1") == "1"
    assert "terminated by signal" not in srv.read_log()
    assert not table_exists(srv, "bgw_libpq_worker_rounds")

    # A reload to the default (the server's own socket) lets the worker in.
    mark = srv.log_mark()
    srv.set_conf(**{"bgw_libpq_worker.conninfo": ""})
    srv.reload()
    srv.wait_for_log(r"bgw_libpq_worker 1: round \d+: 1 rows", since=mark)
    assert libpq_workers(srv) == [pid]
    assert int(value(srv, "SELECT count(*) FROM bgw_libpq_worker_rounds")) >= 1


def test_libpq_worker_bad_database_query_error(make_server):
    # The connection works but the database does not exist: the server's own
    # FATAL, as libpq reports it, is logged.
    srv = start(make_server, shared_preload_libraries="bgw_libpq_worker",
                **{"bgw_libpq_worker.naptime": 1, "bgw_libpq_worker.database": "nosuchdb"})
    m = srv.wait_for_log(r"bgw_libpq_worker 1: could not connect: (.*)")
    assert "nosuchdb" in m.group(1), m.group(0)
    assert value(srv, "SELECT 1") == "1"


def test_libpq_worker_recovers_from_a_dropped_table(make_server):
    # The INSERT fails with the server's error; the worker reconnects and
    # creates the table again on the next round.
    srv = start(make_server, shared_preload_libraries="bgw_libpq_worker",
                **{"bgw_libpq_worker.naptime": 1})
    (pid,) = srv.wait_children("bgw_libpq_worker", 1)
    srv.wait_for_log(r"bgw_libpq_worker 1: round 1:")
    mark = srv.log_mark()
    psql(srv, "DROP TABLE bgw_libpq_worker_rounds")
    m = srv.wait_for_log(r"bgw_libpq_worker 1: query failed: (.*)", since=mark)
    assert "bgw_libpq_worker_rounds" in m.group(1), m.group(0)
    srv.wait_for_log(r"bgw_libpq_worker 1: round \d+: 1 rows", since=mark)
    assert libpq_workers(srv) == [pid]


def test_libpq_worker_sigterm_exits_cleanly_and_restarts(make_server):
    srv = start(make_server, shared_preload_libraries="bgw_libpq_worker",
                **{"bgw_libpq_worker.naptime": 3600})
    (pid,) = srv.wait_children("bgw_libpq_worker", 1)
    srv.wait_for_log(r"bgw_libpq_worker 1: round 1:")
    mark = srv.log_mark()
    # Asleep in WaitLatch for an hour: SIGTERM must still end it at once.
    os.kill(pid, signal.SIGTERM)
    harness.wait_gone([pid], timeout=10)
    srv.wait_for_log(r'"bgw_libpq_worker 1" \(PID %d\) exited with exit code 1' % pid, since=mark)
    # Restarted after bgw_restart_time (5 s); no crash reinitialization.
    harness.wait_until(lambda: libpq_workers(srv) and libpq_workers(srv) != [pid],
                       timeout=30, what="restarted worker")
    srv.wait_for_log(r"bgw_libpq_worker 1: round 1:", since=mark)
    assert "terminated by signal" not in srv.read_log()
    assert value(srv, "SELECT count(*) FROM bgw_libpq_worker_rounds") == "2"


def test_libpq_worker_sigterm_during_a_blocked_query(make_server):
    # A client holds the database's write lock, so the worker's INSERT waits
    # in the server; the worker waits on its socket with WaitLatchOrSocket,
    # so SIGTERM still ends it at once instead of after the client is done.
    srv = start(make_server, shared_preload_libraries="bgw_libpq_worker",
                **{"bgw_libpq_worker.naptime": 1})
    (pid,) = srv.wait_children("bgw_libpq_worker", 1)
    srv.wait_for_log(r"bgw_libpq_worker 1: round 1:")
    holder = subprocess.Popen(
        ["psql", "-X", "-A", "-t", "-h", str(srv.sockdir), "-p", str(srv.port), "-U", SUPERUSER,
         "-d", "postgres", "-c",
         "BEGIN; INSERT INTO bgw_libpq_worker_rounds (worker, round) VALUES (0, 0); "
         "SELECT pg_sleep(60)"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=harness.pg_env())
    srv.run_procs.append(holder)
    try:
        # Let the lock be taken and the worker's next INSERT start waiting.
        harness.wait_until(
            lambda: value(srv, "SELECT count(*) FROM pg_stat_activity "
                               "WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()")
            == "1", what="lock holder running")
        mark = srv.log_mark()
        time.sleep(2.5)
        log = srv.log_since(mark)
        assert not re.search(r"bgw_libpq_worker 1: (round \d+:|query failed)", log), log
        # Its session is the one waiting, in the INSERT.
        act = value(srv, "SELECT state, query FROM pg_stat_activity "
                          "WHERE application_name = 'bgw_libpq_worker 1'")
        assert act.startswith("active|INSERT INTO bgw_libpq_worker_rounds"), act
        t0 = time.monotonic()
        os.kill(pid, signal.SIGTERM)
        harness.wait_gone([pid], timeout=10)
        assert time.monotonic() - t0 < 5
        srv.wait_for_log(r'"bgw_libpq_worker 1" \(PID %d\) exited with exit code 1' % pid,
                         since=mark)
    finally:
        holder.kill()
        holder.wait(timeout=20)


# ---------------------------------------------------------------------------
# bgw_worker_spi

def spi_total(srv, index) -> str:
    return value(srv, f"SELECT value FROM bgw_worker_spi_{index} WHERE type = 'total'")


def wait_spi_table(srv, index):
    harness.wait_until(lambda: table_exists(srv, f"bgw_worker_spi_{index}")
                       and spi_total(srv, index) != "", what=f"table bgw_worker_spi_{index}")


def spi_workers(srv) -> list[int]:
    return srv.children_by_kind("bgw_worker_spi")


def test_worker_spi_folds_deltas(make_server):
    srv = start(make_server, shared_preload_libraries="bgw_worker_spi",
                **{"bgw_worker_spi.naptime": 1, "bgw_worker_spi.total_workers": 2})
    srv.wait_children("bgw_worker_spi", 2)
    wait_spi_table(srv, 1)
    wait_spi_table(srv, 2)
    assert spi_total(srv, 1) == "0"
    psql(srv, "INSERT INTO bgw_worker_spi_1 (type, value) "
              "VALUES ('delta', 1), ('delta', 2), ('delta', 39)")
    harness.wait_until(lambda: spi_total(srv, 1) == "42", what="total 42")
    assert value(srv, "SELECT count(*) FROM bgw_worker_spi_1 WHERE type = 'delta'") == "0"
    srv.wait_for_log(r"bgw_worker_spi worker 1: folded 3 deltas, total is now 42")
    # Worker 2's table is its own.
    assert spi_total(srv, 2) == "0"
    # The unique index keeps a single total row.
    cp = psql(srv, "INSERT INTO bgw_worker_spi_1 (type, value) VALUES ('total', 1)", check=False)
    assert cp.returncode != 0


def test_worker_spi_naptime_reload(make_server):
    srv = start(make_server, shared_preload_libraries="bgw_worker_spi",
                **{"bgw_worker_spi.naptime": 3600, "bgw_worker_spi.total_workers": 1})
    (pid,) = srv.wait_children("bgw_worker_spi", 1)
    wait_spi_table(srv, 1)
    psql(srv, "INSERT INTO bgw_worker_spi_1 (type, value) VALUES ('delta', 5)")
    time.sleep(1.5)
    assert spi_total(srv, 1) == "0"  # asleep for an hour
    mark = srv.log_mark()
    srv.set_conf(**{"bgw_worker_spi.naptime": 1})
    srv.reload()
    srv.wait_for_log(r"bgw_worker_spi worker 1: naptime is now 1 s", since=mark)
    harness.wait_until(lambda: spi_total(srv, 1) == "5", what="total 5")
    # The new naptime, not only the reload's wake-up, drives later rounds.
    psql(srv, "INSERT INTO bgw_worker_spi_1 (type, value) VALUES ('delta', 7)")
    harness.wait_until(lambda: spi_total(srv, 1) == "12", timeout=15, what="total 12")
    assert spi_workers(srv) == [pid]


def test_worker_spi_survives_a_failed_round(make_server):
    srv = start(make_server, shared_preload_libraries="bgw_worker_spi",
                **{"bgw_worker_spi.naptime": 1, "bgw_worker_spi.total_workers": 1})
    (pid,) = srv.wait_children("bgw_worker_spi", 1)
    wait_spi_table(srv, 1)
    mark = srv.log_mark()
    psql(srv, "DROP TABLE bgw_worker_spi_1")
    srv.wait_for_log(r"bgw_worker_spi worker 1: round failed, retrying in 1 s", since=mark)
    log = srv.log_since(mark)
    assert re.search(r'ERROR:  .*"?bgw_worker_spi_1"? does not exist', log), log
    # Caught with PG_TRY/PG_CATCH: same process, transaction aborted cleanly.
    assert spi_workers(srv) == [pid]
    assert value(srv, "SELECT 1") == "1"


def test_worker_spi_launch_dynamic(make_server):
    srv = start(make_server, **{"bgw_worker_spi.naptime": 1})
    psql(srv, "CREATE FUNCTION bgw_worker_spi_launch(int4, oid, oid, text) RETURNS int4 "
              "AS 'bgw_worker_spi', 'bgw_worker_spi_launch' LANGUAGE C")
    pid = int(value(srv, "SELECT bgw_worker_spi_launch(7, 0, 0, '')"))
    assert harness.pid_alive(pid)
    # Started means forked; its title may follow a moment later.
    harness.wait_until(lambda: pid in spi_workers(srv), what="the worker's process title")
    wait_spi_table(srv, 7)
    psql(srv, "INSERT INTO bgw_worker_spi_7 (type, value) VALUES ('delta', 3)")
    harness.wait_until(lambda: spi_total(srv, 7) == "3", what="dynamic worker's total")

    # By database oid, with flags.
    dboid = value(srv, "SELECT oid FROM pg_database WHERE datname = 'postgres'")
    pid8 = int(value(srv, f"SELECT bgw_worker_spi_launch(8, {dboid}, 0, "
                          "'ALLOWCONN, rolelogincheck')"))
    assert pid8 != pid and harness.pid_alive(pid8)
    wait_spi_table(srv, 8)


def test_worker_spi_launch_bad_flags(make_server):
    srv = start(make_server)
    psql(srv, "CREATE FUNCTION bgw_worker_spi_launch(int4, oid, oid, text) RETURNS int4 "
              "AS 'bgw_worker_spi', 'bgw_worker_spi_launch' LANGUAGE C")
    cp = psql(srv, "SELECT bgw_worker_spi_launch(1, 0, 0, 'ALLOWCONN,BOGUS')", check=False)
    assert cp.returncode != 0
    assert 'invalid flag value "BOGUS"' in cp.stderr, cp.stderr
    assert spi_workers(srv) == []


def test_worker_spi_uncaught_connection_error_restarts(make_server):
    # BackgroundWorkerInitializeConnection's error is not caught: the worker
    # exits with code 1 (no crash) and is restarted after bgw_restart_time.
    srv = start(make_server, shared_preload_libraries="bgw_worker_spi",
                **{"bgw_worker_spi.total_workers": 1, "bgw_worker_spi.database": "nosuchdb"})
    m = srv.wait_for_log(r'background worker "bgw_worker_spi worker 1" \(PID (\d+)\) exited '
                         r"with exit code 1")
    first = int(m.group(1))
    log = srv.read_log()
    assert re.search(r'FATAL:  database "nosuchdb" does not exist', log), log[-3000:]
    # Restarted (5 s later), failing the same way: a second, different PID.
    rx = re.compile(r'"bgw_worker_spi worker 1" \(PID (\d+)\) exited with exit code 1')
    harness.wait_until(lambda: any(int(p) != first for p in rx.findall(srv.read_log())),
                       timeout=30, what="restarted worker")
    assert "terminated by signal" not in srv.read_log()
    assert value(srv, "SELECT 1") == "1"
