"""Processes: titles, real clients (pg_isready, psql), the wire protocol's
first steps, idleness, postmaster death, and crash handling."""

import os
import shutil
import signal
import socket
import struct
import time

import pytest

import harness
from harness import (
    LOG_READY,
    children_of,
    cmdline,
    ctx_switches,
    describe,
    pid_alive,
    wait_gone,
    wait_until,
)

PG_ISREADY = shutil.which("pg_isready") or "/usr/lib/postgresql/15/bin/pg_isready"
PSQL = shutil.which("psql") or "/usr/lib/postgresql/15/bin/psql"


def test_process_titles(server):
    pm = server.pid
    assert cmdline(pm).startswith("bgw: postmaster"), repr(cmdline(pm))
    server.open_idle_connection()
    server.open_idle_connection(unix=True)
    backends = server.wait_children("backend", 2)
    for b in backends:
        assert harness.proc_ppid(b) == pm
        assert cmdline(b).startswith("bgw: backend"), repr(cmdline(b))
    # Every child of the postmaster carries a bgw title.
    for c in children_of(pm):
        assert cmdline(c).startswith("bgw: "), (c, cmdline(c))


def test_startup_process_exits(server):
    pm = server.pid
    # The startup process logs the state it found the data directory in.
    m = server.wait_for_log(r"\[(\d+)\] startup LOG:  database system was shut down at")
    startup = int(m.group(1))
    assert startup != pm
    wait_until(
        lambda: not pid_alive(startup) and not server.children_by_kind("startup", pm),
        what="the startup process to exit once the server is ready",
    )
    log = server.read_log()
    assert log.index(m.group(0)) < log.index(harness.LOG_READY), log


def test_backend_exits_when_client_disconnects(server):
    conn = server.open_idle_connection()
    (backend,) = server.wait_children("backend", 1)
    conn.close()
    wait_gone([backend])
    assert server.is_accepting()


@pytest.mark.skipif(not os.path.exists(PG_ISREADY), reason="pg_isready not installed")
def test_pg_isready(server):
    for host in (str(server.sockdir), "127.0.0.1"):
        cp = harness.run(
            [PG_ISREADY, "-h", host, "-p", str(server.port), "-t", "30"], env=harness.pg_env()
        )
        assert cp.returncode == 0, describe(cp)
        assert "accepting connections" in cp.stdout, describe(cp)
    server.stop("fast")
    cp = harness.run(
        [PG_ISREADY, "-h", "127.0.0.1", "-p", str(server.port), "-t", "5"], env=harness.pg_env()
    )
    assert cp.returncode == 2, f"pg_isready after stop: {describe(cp)}"


@pytest.mark.skipif(not os.path.exists(PSQL), reason="psql not installed")
@pytest.mark.parametrize("via", ["tcp", "unix"])
def test_psql_gets_fatal_from_server(server, via):
    host = "127.0.0.1" if via == "tcp" else str(server.sockdir)
    cp = harness.run(
        [
            PSQL,
            "-w",
            "-X",
            "-h",
            host,
            "-p",
            str(server.port),
            "-U",
            "bgw_test_no_such_role",
            "-d",
            "bgw_test_no_such_db",
            "-c",
            "select 1",
        ],
        env=harness.pg_env(),
    )
    assert cp.returncode == 2, describe(cp)
    assert "FATAL" in cp.stderr, describe(cp)
    assert "refused" not in cp.stderr and "No such file" not in cp.stderr, describe(cp)
    assert server.is_accepting()


def test_ssl_request_answered_n_then_fatal(server):
    r = harness.probe_tcp(server.port, ssl=True)
    assert r.ssl_response == b"N", r
    assert r.error is not None, r
    assert r.severity == "FATAL", r
    assert r.error.get("C") and len(r.error["C"]) == 5, r
    assert r.error.get("M"), r


def test_startup_message_fatal_over_unix_socket(server):
    r = harness.probe_unix(str(server.sockdir), server.port)
    assert r.error is not None and r.severity == "FATAL", r
    assert r.error.get("C") != "57P03", r


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(struct.pack("!I", 0x7FFFFFFF) + b"x" * 16, id="huge_length"),
        pytest.param(struct.pack("!I", 3), id="tiny_length"),
        pytest.param(struct.pack("!II", 8, 0x00020000), id="protocol_2"),
        pytest.param(struct.pack("!II", 8, 0x12345678), id="unknown_code"),
        pytest.param(
            harness.startup_packet({"user": "x"})[:-1] + b"z", id="unterminated_params"
        ),
        pytest.param(b"GET / HTTP/1.0\r\n\r\n", id="http"),
    ],
)
def test_garbage_startup_packet(server, payload):
    pm = server.pid
    mark = server.log_mark()
    s = harness.connect_tcp(server.port)
    try:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        # The backend answers (an error or nothing) and closes the connection.
        harness.wait_eof(s)
    finally:
        s.close()
    assert server.pid == pm and pid_alive(pm)
    assert server.is_accepting()
    log = server.log_since(mark)
    assert "terminating any other active server processes" not in log, log


def test_authentication_timeout(make_server):
    srv = make_server()
    srv.init(authentication_timeout=1)
    srv.start()
    conn = srv.open_idle_connection()
    harness.wait_eof(conn, timeout=60)
    wait_until(lambda: not srv.children_by_kind("backend"), what="the timed-out backend to exit")
    assert srv.is_accepting()


def _server_processes(srv):
    pm = srv.pid
    return [pm, *harness.descendants_of(pm)]


def _snapshot(pids):
    return {p: ctx_switches(p) for p in pids}


def test_idle_server_makes_no_context_switches(server):
    server.open_idle_connection()
    server.open_idle_connection(unix=True)
    pm = server.pid
    server.wait_children("backend", 2)
    wait_until(lambda: not server.children_by_kind("startup", pm), what="startup process exit")
    # Let the fresh connections settle: until nothing changes for 1 s (bounded).
    pids = _server_processes(server)
    before = _snapshot(pids)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now_pids = _server_processes(server)
        now = _snapshot(now_pids)
        if now == before and now_pids == pids:
            break
        pids, before = now_pids, now
    assert None not in before.values(), before
    # The measurement window itself (the brief's 10 s).
    time.sleep(10.0)
    after_pids = _server_processes(server)
    after = _snapshot(pids)
    assert after_pids == pids, f"process set changed while idle: {pids} -> {after_pids}"
    diffs = {
        f"{p} ({cmdline(p)})": (after[p] - before[p]) if after[p] is not None else "exited"
        for p in pids
        if after[p] != before[p]
    }
    assert not diffs, f"context switches while idle over 10 s: {diffs}"


def test_postmaster_sigkill_children_exit(server):
    conns = [server.open_idle_connection(), server.open_idle_connection(),
             server.open_idle_connection(unix=True)]
    pm = server.pid
    server.wait_children("backend", 3)
    kids = harness.descendants_of(pm)
    assert len(kids) >= 3, kids
    os.kill(pm, signal.SIGKILL)
    wait_gone([pm], timeout=30)
    # Children notice postmaster death promptly: none is alive 1 s later.
    time.sleep(1.0)
    alive = [(k, cmdline(k)) for k in kids if pid_alive(k)]
    if alive:
        try:
            wait_gone([k for k, _ in alive], timeout=20)
            late = "they exited later"
        except AssertionError:
            late = "they were still alive 20 s later"
        pytest.fail(f"children alive 1 s after the postmaster's SIGKILL: {alive}; {late}")
    for c in conns:
        harness.wait_eof(c, timeout=10)
    # The stale pid file does not prevent a new start.
    server.start()
    server.wait_accepting()


def test_backend_crash_reinitializes(server):
    victim_conn = server.open_idle_connection()
    other_conn = server.open_idle_connection(unix=True)
    pm = server.pid
    backends = server.wait_children("backend", 2)
    mark = server.log_mark()
    os.kill(backends[0], signal.SIGKILL)
    server.wait_for_log(r"terminating any other active server processes", since=mark)
    server.wait_for_log(r"all server processes terminated; reinitializing", since=mark)
    server.wait_for_log(LOG_READY, since=mark)
    assert server.pid == pm, "the postmaster itself must survive a child crash"
    # Every other backend was terminated too.
    wait_gone(backends)
    harness.wait_eof(victim_conn, timeout=30)
    harness.wait_eof(other_conn, timeout=30)
    server.wait_pidfile_status("ready")
    server.wait_accepting()
    if os.path.exists(PG_ISREADY):
        cp = harness.run(
            [PG_ISREADY, "-h", "127.0.0.1", "-p", str(server.port), "-t", "30"],
            env=harness.pg_env(),
        )
        assert cp.returncode == 0, describe(cp)
    # And the server keeps working: a new backend, a clean stop.
    server.open_idle_connection()
    server.wait_children("backend", 1)
    server.stop("fast")


def test_backend_crash_without_restart_shuts_down(make_server):
    srv = make_server()
    srv.init(restart_after_crash=False)
    srv.start()
    conn = srv.open_idle_connection()
    pm = srv.pid
    (backend,) = srv.wait_children("backend", 1)
    mark = srv.log_mark()
    os.kill(backend, signal.SIGKILL)
    wait_gone([pm])
    log = srv.log_since(mark)
    assert "terminating any other active server processes" in log, log
    assert "reinitializing" not in log, log
    harness.wait_eof(conn, timeout=30)
    leftovers = [(c, cmdline(c)) for c in harness.descendants_of(os.getpid()) if pid_alive(c)]
    assert not leftovers, leftovers
    st = srv.status()
    assert st.returncode == 3, describe(st)
