"""Server lifecycle: start, stop in every mode, the pid file, locking, shutdown
with open connections, signals during startup, and data directory checks."""

import os
import re
import signal
import subprocess
import time

import pytest

import harness
from harness import (
    LOG_READY,
    LOG_SHUT_DOWN,
    bgw,
    children_of,
    cmdline,
    describe,
    output,
    pid_alive,
    wait_gone,
)

SHUTDOWN_LINES = {
    "smart": "received smart shutdown request",
    "fast": "received fast shutdown request",
    "immediate": "received immediate shutdown request",
}


def test_start_prints_and_logs_ready(make_server):
    srv = make_server()
    srv.init()
    cp = srv.start()
    assert "server started" in output(cp), describe(cp)
    srv.wait_for_log(LOG_READY)
    assert srv.is_accepting()
    pm = srv.pid
    assert cmdline(pm).startswith("bgw: postmaster"), cmdline(pm)
    st = srv.status()
    assert st.returncode == 0, describe(st)
    assert f"server is running (PID: {pm})" in output(st), describe(st)
    assert str(srv.port) in output(st), f"status does not mention the port:\n{describe(st)}"


@pytest.mark.parametrize("mode", ["smart", "fast", "immediate"])
def test_stop_modes(server, mode):
    pm = server.pid
    mark = server.log_mark()
    cp = server.stop(mode)
    assert "server stopped" in output(cp), describe(cp)
    # `bgw stop` returns once the server has stopped.
    assert not pid_alive(pm), f"postmaster {pm} still alive after bgw stop returned"
    log = server.log_since(mark)
    assert SHUTDOWN_LINES[mode] in log, log
    if mode != "immediate":
        assert LOG_SHUT_DOWN in log, log
        assert not server.pidfile.exists(), "postmaster.pid left behind after a clean stop"
    st = server.status()
    assert st.returncode == 3, describe(st)
    # The data directory is usable again.
    server.start()
    server.wait_accepting()


def test_default_stop_mode_is_fast(server):
    mark = server.log_mark()
    server.stop()
    assert SHUTDOWN_LINES["fast"] in server.log_since(mark)


@pytest.mark.parametrize(
    "sig,mode", [(signal.SIGTERM, "smart"), (signal.SIGINT, "fast"), (signal.SIGQUIT, "immediate")]
)
def test_shutdown_signals(server, sig, mode):
    pm = server.pid
    mark = server.log_mark()
    os.kill(pm, sig)
    wait_gone([pm])
    log = server.log_since(mark)
    assert SHUTDOWN_LINES[mode] in log, log
    if mode != "immediate":
        assert LOG_SHUT_DOWN in log, log
        assert not server.pidfile.exists()


def test_pidfile_contents(make_server):
    srv = make_server()
    srv.init()
    before = int(time.time())
    srv.start()
    after = int(time.time())
    info = srv.wait_pidfile_status("ready")
    lines = info["lines"]
    assert len(lines) >= 8, info["text"]
    pm = int(lines[0])
    assert pid_alive(pm) and cmdline(pm).startswith("bgw: postmaster")
    assert os.path.realpath(lines[1]) == os.path.realpath(srv.datadir), lines[1]
    start_time = int(lines[2])
    assert before - 2 <= start_time <= after + 2, (before, start_time, after)
    assert int(lines[3]) == srv.port
    assert os.path.realpath(lines[4]) == os.path.realpath(srv.sockdir), lines[4]
    assert lines[5] == "127.0.0.1", lines[5]
    assert re.fullmatch(r"\s*-?\d+\s+-?\d+\s*", lines[6]), f"shm key line: {lines[6]!r}"
    assert lines[7] == "ready   ", f"status line must be padded to 8 chars: {lines[7]!r}"
    # The Unix socket exists where the pid file says.
    assert os.path.exists(harness.socket_path(lines[4], srv.port))
    srv.stop("fast")
    assert not srv.pidfile.exists()
    assert not os.path.exists(harness.socket_path(str(srv.sockdir), srv.port)), "socket left behind"


# PostgreSQL names the lock file relative to the data directory; an absolute
# path is accepted too.
LOCK_EXISTS_RE = r'lock file "(?:/\S*/)?postmaster\.pid" already exists'


def test_double_start_refused(server):
    pm = server.pid
    cp = server.start(check=False)
    assert cp.returncode == 1, describe(cp)
    text = output(cp)
    assert re.search(LOCK_EXISTS_RE, text), describe(cp)
    assert f"Is another postmaster (PID {pm}) running" in text, describe(cp)
    # The running server is untouched.
    assert server.pid == pm and pid_alive(pm)
    assert server.is_accepting()


def test_double_run_refused(server):
    pm = server.pid
    p = server.spawn_run()
    try:
        rc = p.wait(timeout=harness.CMD_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail("second `bgw run` on a running data directory did not exit")
    err = server.run_stderr_path.read_text(errors="replace")
    assert rc != 0, err
    assert re.search(LOCK_EXISTS_RE, err), err
    assert f"Is another postmaster (PID {pm}) running" in err, err
    assert server.pid == pm and pid_alive(pm)
    assert server.is_accepting()


def test_stale_pidfile_recovered(server):
    conn = server.open_idle_connection()
    backends = server.wait_children("backend", 1)
    pm = server.pid
    kids = children_of(pm)
    assert set(backends) <= set(kids)
    os.kill(pm, signal.SIGKILL)
    wait_gone([pm, *kids])
    assert server.pidfile.exists(), "a SIGKILLed postmaster cannot remove its pid file"
    conn.close()
    st = server.status()
    assert st.returncode == 3, f"status with a stale pid file: {describe(st)}"
    cp = server.start(check=False)
    assert cp.returncode == 0, f"start over a stale pid file failed: {describe(cp)}"
    new_pm = server.pid
    assert new_pm != pm
    assert server.is_accepting()


def test_smart_shutdown_waits_for_client(server):
    conn = server.open_idle_connection()
    (backend,) = server.wait_children("backend", 1)
    pm = server.pid
    mark = server.log_mark()
    stopper = harness.spawn(
        [harness.BGW_BIN, "stop", "-D", server.datadir, "-m", "smart", "-t", "120"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        server.wait_for_log(SHUTDOWN_LINES["smart"], since=mark)
        # New connections are refused while the server waits for the client.
        r = harness.probe_unix(str(server.sockdir), server.port)
        assert r.error is not None, r
        assert r.error.get("C") == "57P03", r
        assert "shutting down" in r.error.get("M", ""), r
        # A negative check needs some time to pass: the server must still be
        # waiting for the open connection.
        time.sleep(1.5)
        assert stopper.poll() is None, "smart stop returned while a client was connected"
        assert pid_alive(pm) and pid_alive(backend)
        assert LOG_SHUT_DOWN not in server.log_since(mark)
        conn.close()  # the backend sees EOF and exits; then the server stops
        out, _ = stopper.communicate(timeout=harness.CMD_TIMEOUT)
    finally:
        if stopper.poll() is None:
            stopper.kill()
            stopper.wait()
    assert stopper.returncode == 0, out
    wait_gone([pm, backend])
    assert LOG_SHUT_DOWN in server.log_since(mark)
    assert not server.pidfile.exists()


def test_fast_shutdown_does_not_wait_for_client(server):
    conn = server.open_idle_connection()
    (backend,) = server.wait_children("backend", 1)
    pm = server.pid
    mark = server.log_mark()
    server.stop("fast")
    assert not pid_alive(pm) and not pid_alive(backend)
    assert LOG_SHUT_DOWN in server.log_since(mark)
    # The client's connection was closed by the server.
    harness.wait_eof(conn)


def test_immediate_shutdown_with_client(server):
    conn = server.open_idle_connection()
    (backend,) = server.wait_children("backend", 1)
    pm = server.pid
    mark = server.log_mark()
    server.stop("immediate")
    wait_gone([pm, backend])
    # The backend was killed before the client's startup packet: it says nothing.
    assert harness.wait_eof(conn) == b""
    log = server.log_since(mark)
    assert SHUTDOWN_LINES["immediate"] in log, log
    # No clean shutdown was recorded, so the next start recovers.
    assert LOG_SHUT_DOWN not in log, log
    mark = server.log_mark()
    server.start()
    server.wait_accepting()
    log = server.log_since(mark)
    assert "database system was interrupted; last known up at" in log, log
    assert "automatic recovery in progress" in log, log


@pytest.mark.parametrize("delay", [0.0, 0.01, 0.05, 0.2, "pidfile"])
@pytest.mark.parametrize(
    "sig", [signal.SIGQUIT, signal.SIGTERM, signal.SIGINT], ids=["SIGQUIT", "SIGTERM", "SIGINT"]
)
def test_signal_during_startup(make_server, sig, delay):
    srv = make_server()
    srv.init()
    p = srv.spawn_run()
    if delay == "pidfile":
        # The moment the lock file appears: startup has begun creating state.
        deadline = time.monotonic() + harness.WAIT_TIMEOUT
        while not srv.pidfile.exists() and p.poll() is None:
            assert time.monotonic() < deadline, "postmaster.pid never appeared"
        assert p.poll() is None, (
            f"`bgw run` exited ({p.returncode}) before any signal:\n"
            f"{srv.run_stderr_path.read_text(errors='replace')}"
        )
    elif delay:
        time.sleep(delay)  # vary the phase of startup the signal hits
    os.kill(p.pid, sig)
    try:
        rc = p.wait(timeout=harness.CMD_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`bgw run` ignored {sig.name} during startup:\n{srv.log_tail()}")
    # The postmaster waits for its children before exiting: none may remain.
    leftovers = [(c, cmdline(c)) for c in harness.descendants_of(os.getpid()) if pid_alive(c)]
    assert not leftovers, f"children left behind after {sig.name}: {leftovers}"
    err = srv.run_stderr_path.read_text(errors="replace")
    # Either the signal arrived before the handlers were installed (killed by
    # it), or it was handled as a shutdown request.
    mode = {signal.SIGTERM: "smart", signal.SIGINT: "fast", signal.SIGQUIT: "immediate"}[sig]
    if rc == -sig:
        # Killed by the signal's default action: acceptable only if that
        # happened before the server created anything (signals must be
        # blocked/handled before lock files and sockets exist).
        left = [str(srv.pidfile)] if srv.pidfile.exists() else []
        left += [str(f) for f in srv.sockdir.glob(".s.PGSQL.*")]
        assert not left, (
            f"`bgw run` was killed by {sig.name}'s default action after it had created "
            f"{left}: signals are not handled yet at that point of startup\n--- log ---\n"
            f"{srv.read_log()}"
        )
    else:
        assert rc >= 0, f"`bgw run` died of signal {-rc}\n{err}"
        assert SHUTDOWN_LINES[mode] in err, err
        if sig != signal.SIGQUIT:
            assert rc == 0, f"exit status {rc} after a {mode} shutdown\n{err}"
    # The data directory is usable afterwards.
    srv.start()
    srv.wait_accepting()


def test_run_foreground_logs_to_stderr_and_file(make_server):
    srv = make_server()
    srv.init()
    p = srv.spawn_run()
    srv.wait_accepting()
    srv.wait_for_log(LOG_READY)
    assert srv.pid == p.pid, "bgw run must be the postmaster itself"
    os.kill(p.pid, signal.SIGINT)
    assert p.wait(timeout=harness.CMD_TIMEOUT) == 0
    err = srv.run_stderr_path.read_text(errors="replace")
    assert LOG_READY in err, err
    assert SHUTDOWN_LINES["fast"] in err, err
    # Log line format: '%m [%p] %b ' then the severity.
    assert re.search(
        rf"^\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{{3}} \S+ \[{p.pid}\] postmaster LOG:  {LOG_READY}",
        err,
        re.M,
    ), err


# ---------------------------------------------------------------------------
# Data directory checks.


def _start_fails(srv, *needles):
    cp = srv.start(check=False)
    assert cp.returncode == 1, describe(cp)
    text = output(cp)
    assert any(n in text for n in needles), f"expected one of {needles}:\n{describe(cp)}"
    assert not srv.pidfile.exists() or srv.read_pidfile()["pid"] is None
    return cp


@pytest.mark.parametrize("mode", [0o750, 0o755, 0o705])
def test_bad_permissions_refused(make_server, mode):
    srv = make_server()
    srv.init()
    os.chmod(srv.datadir, mode)
    cp = _start_fails(srv, "has invalid permissions")
    assert str(srv.datadir) in output(cp) or os.path.realpath(srv.datadir) in output(cp)


def test_bad_permissions_refused_by_run(make_server):
    srv = make_server()
    srv.init()
    os.chmod(srv.datadir, 0o750)
    p = srv.spawn_run()
    rc = p.wait(timeout=harness.CMD_TIMEOUT)
    err = srv.run_stderr_path.read_text(errors="replace")
    assert rc != 0, err
    assert "has invalid permissions" in err, err


@pytest.mark.parametrize("missing", ["bgw.conf", "BGW_VERSION", "global"])
def test_missing_files_refused(make_server, missing):
    srv = make_server()
    srv.init()
    target = srv.datadir / missing
    if target.is_dir():
        import shutil

        shutil.rmtree(target)
    else:
        target.unlink()
    cp = _start_fails(srv, "is not a valid data directory", "is missing")
    assert missing in output(cp), describe(cp)


def test_nonexistent_datadir_refused(tmp_path):
    cp = bgw("start", "-D", tmp_path / "nope", "-t", "30")
    assert cp.returncode == 1, describe(cp)
    assert "nope" in output(cp)
