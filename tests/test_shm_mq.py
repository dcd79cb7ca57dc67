"""Shared memory message queues (storage/shm_mq.h) in a real server.

The test module modules/bgw_shm_mq_test is PostgreSQL's test_shm_mq driven
by a launcher worker: for each case of `bgw_shm_mq_test.cases`
(queue_size:message_size:loops:workers[:flags]) it lays out a DSM segment
with a shm_toc holding workers + 1 queues, registers the relay workers
(bgw_main_arg = the segment's handle), relays the messages around the ring
launcher -> worker 1 -> ... -> worker N -> launcher, checks that each comes
back byte-identical, and logs

    bgw_shm_mq_test RESULT case=<n> spec="<spec>" ok=<true|false> messages=<m>
        bytes=<b> ms=<t>[ error="<message: detail>"]

These tests run PostgreSQL's regression cases (empty messages, 1-byte
messages, random 100-1000 byte messages through a 32 KiB and a 100-byte
queue, and 270000-byte messages through 3 workers pipelined), and the
failure paths: a relay worker whose function does not exist must be
reported (SHM_MQ_DETACHED through the queue's worker handle, or the
readiness wait), never waited for forever.
"""

from __future__ import annotations

import os
import re

import pytest

import harness
from harness import BGW_MODULE_DIR

LIBRARY = "bgw_shm_mq_test"

RESULT_RX = re.compile(
    r'bgw_shm_mq_test RESULT case=(?P<case>\d+) spec="(?P<spec>[^"]*)" '
    r"ok=(?P<ok>true|false) messages=(?P<messages>\d+) bytes=(?P<bytes>\d+) "
    r'ms=(?P<ms>[\d.]+)(?: error="(?P<error>[^"]*)")?$',
    re.M,
)
DONE_RX = r"bgw_shm_mq_test DONE cases=(\d+) failed=(\d+) checks_failed=(\d+)$"
CRASH_LINES = (
    "terminating any other active server processes",
    "all server processes terminated; reinitializing",
)


def start_server(make_server, **settings) -> harness.Server:
    if not os.path.exists(os.path.join(BGW_MODULE_DIR, LIBRARY + ".so")):
        pytest.fail(f"{LIBRARY}.so not built in {BGW_MODULE_DIR} (set BGW_MODULE_DIR)")
    srv = make_server()
    conf = {
        "dynamic_library_path": BGW_MODULE_DIR,
        "shared_preload_libraries": LIBRARY,
        "max_worker_processes": 16,
    }
    conf.update(settings)
    srv.init(**conf)
    srv.start()
    return srv


def wait_done(srv: harness.Server, timeout: float = 100) -> tuple[int, int, int]:
    m = srv.wait_for_log(DONE_RX, timeout=timeout)
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def results(srv: harness.Server) -> dict[int, dict]:
    return {int(m["case"]): m.groupdict() for m in RESULT_RX.finditer(srv.read_log())}


def segment_prefix(srv: harness.Server) -> str:
    """Name prefix of the server's DSM segments: bgw.<st_dev>.<st_ino> of its data directory."""
    st = os.stat(srv.datadir)
    return f"bgw.{st.st_dev}.{st.st_ino}."


def segment_files(srv: harness.Server) -> list[str]:
    prefix = segment_prefix(srv)
    return sorted(n for n in os.listdir("/dev/shm") if n.startswith(prefix))


def assert_no_crash(srv: harness.Server) -> None:
    log = srv.read_log()
    for line in CRASH_LINES:
        assert line not in log, f"unexpected crash handling:\n{srv.log_tail(60)}"
    assert "PANIC" not in log and "terminated by signal" not in log, srv.log_tail(60)


# PostgreSQL's test_shm_mq regression calls, as cases.
REGRESSION_CASES = [
    # spec, messages, exact bytes or (min, max) per message
    ("1024:0:2000:1", 2000, 0),
    ("1024:1:2001:1", 2001, 2001),
    ("32768:100-1000:10000:1", 10000, (100, 1000)),
    ("100:100-1000:10000:1", 10000, (100, 1000)),
    ("16384:270000:200:3:pipelined", 200, 270000 * 200),
]


def test_postgresql_regression_cases(make_server):
    srv = start_server(
        make_server, **{"bgw_shm_mq_test.cases": ",".join(c[0] for c in REGRESSION_CASES)}
    )
    ncases, failed, _ = wait_done(srv)
    r = results(srv)
    assert ncases == len(REGRESSION_CASES), r
    for i, (spec, messages, size) in enumerate(REGRESSION_CASES, start=1):
        res = r[i]
        assert res["spec"] == spec
        assert res["ok"] == "true", (spec, res)
        assert int(res["messages"]) == messages, (spec, res)
        if isinstance(size, tuple):
            assert size[0] * messages <= int(res["bytes"]) <= size[1] * messages, (spec, res)
        else:
            assert int(res["bytes"]) == size, (spec, res)
    assert failed == 0

    # Every relay worker (1+1+1+1+3) ran and ended the way PostgreSQL's does
    # (proc_exit(1) once its input queue is detached), without an error.
    log = srv.read_log()
    exits = re.findall(
        r'background worker "bgw_shm_mq_test worker \d+" \(PID \d+\) exited with exit code (\d+)$',
        log,
        re.M,
    )
    assert exits == ["1"] * 7, exits
    assert not re.search(r"bgw_shm_mq_test worker ERROR", log), srv.log_tail(40)
    assert_no_crash(srv)
    # Every segment went away with its last detach.
    assert segment_files(srv) == []
    srv.stop("fast")
    assert segment_files(srv) == []


def test_failing_workers_are_reported_not_waited_for(make_server):
    cases = [
        # Worker 1 cannot start and the launcher goes straight to its queues:
        # the queue's worker handle turns that into SHM_MQ_DETACHED.
        "1024:100:10:1:badworker",
        # Worker 2 of 3 cannot start: the readiness wait notices.
        "1024:100:10:3:badmiddle",
        # A case that cannot even be set up.
        "10:1:1:1",
        # The launcher carries on, and its slots were all given back.
        "4096:5000:50:8",
    ]
    srv = start_server(make_server, **{"bgw_shm_mq_test.cases": ",".join(cases)})
    ncases, failed, _ = wait_done(srv, timeout=60)
    r = results(srv)
    assert (ncases, failed) == (4, 3), r

    assert r[1]["ok"] == "false", r[1]
    assert r[1]["error"] == (
        "could not receive message: shm_mq_receive returned SHM_MQ_DETACHED for message 0."
    ), r[1]
    assert r[2]["ok"] == "false", r[2]
    assert r[2]["error"] == "one or more background workers failed to start", r[2]
    assert r[3]["ok"] == "false" and "queue size must be at least" in r[3]["error"], r[3]
    assert r[4]["ok"] == "true" and int(r[4]["messages"]) == 50, r[4]

    log = srv.read_log()
    missing = re.findall(
        r'bgw_shm_mq_test worker ERROR:  could not find function "bgw_shm_mq_test_no_such_function"',
        log,
    )
    assert len(missing) == 2, srv.log_tail(60)
    assert_no_crash(srv)
    assert segment_files(srv) == []


# ---------------------------------------------------------------- from SQL

SQL_FUNCTIONS = """
CREATE FUNCTION test_shm_mq(queue_size int8, message text, repeat_count int4,
    num_workers int4) RETURNS void AS 'bgw_shm_mq_test', 'test_shm_mq' LANGUAGE C;
CREATE FUNCTION test_shm_mq_pipelined(queue_size int8, message text, repeat_count int4,
    num_workers int4) RETURNS void AS 'bgw_shm_mq_test', 'test_shm_mq_pipelined' LANGUAGE C;
"""


def psql(srv: harness.Server, sql: str, timeout: float = 300) -> "subprocess.CompletedProcess":
    return harness.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(srv.sockdir),
                        "-p", str(srv.port), "-d", "postgres", "-At", "-c", sql],
                       timeout=timeout)


def test_pg_regression_cases_from_sql(make_server):
    """PostgreSQL's test_shm_mq regression queries, run by a client backend
    that starts the relay workers itself (random text built with SQLite's
    randomblob: hex digits, 2 characters per random byte)."""
    srv = make_server()
    srv.init(dynamic_library_path=BGW_MODULE_DIR, max_worker_processes=16)
    srv.start()
    cp = psql(srv, SQL_FUNCTIONS)
    assert cp.returncode == 0, harness.describe(cp)
    queries = [
        "SELECT test_shm_mq(1024, '', 2000, 1)",
        "SELECT test_shm_mq(1024, 'a', 2001, 1)",
        "SELECT test_shm_mq(32768, substr(hex(randomblob(500)), 1, 100 + abs(random()) % 901),"
        " 10000, 1)",
        "SELECT test_shm_mq(100, substr(hex(randomblob(500)), 1, 100 + abs(random()) % 901),"
        " 10000, 1)",
        "SELECT test_shm_mq_pipelined(16384, hex(randomblob(135000)), 200, 3)",
    ]
    for q in queries:
        cp = psql(srv, q)
        assert cp.returncode == 0, f"{q}: {harness.describe(cp)}"
    # Every relay worker is gone again.
    cp = psql(srv, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = "
                   "'bgw_shm_mq_test worker'")
    assert cp.returncode == 0 and cp.stdout.strip() == "0", harness.describe(cp)


def test_sql_errors_are_reported(make_server):
    srv = make_server()
    srv.init(dynamic_library_path=BGW_MODULE_DIR, max_worker_processes=16)
    srv.start()
    assert psql(srv, SQL_FUNCTIONS).returncode == 0
    cp = psql(srv, "SELECT test_shm_mq(10, 'x', 1, 1)")
    assert cp.returncode != 0 and "queue size must be at least" in cp.stderr, harness.describe(cp)
    cp = psql(srv, "SELECT test_shm_mq(1024, 'x', 1, 0)")
    assert cp.returncode != 0 and "number of workers must be" in cp.stderr, harness.describe(cp)
    # The session survives its errors and the server still relays.
    cp = psql(srv, "SELECT test_shm_mq(1024, 'after', 10, 2)")
    assert cp.returncode == 0, harness.describe(cp)
