"""Background workers, static registration: exit codes and restarts, crashes
and reinitialization, signals, shutdown, module loading, registration checks,
process titles, shared memory visibility, configuration reload.

Every test runs a real server that preloads the test module
modules/bgw_test (built into BGW_MODULE_DIR) and registers the workers
described by `bgw_test.static_workers` (see the banner of bgw_test.c for the
item syntax: function:restart:flags:arg:delay_ms).  The module logs one
"bgw_test: <function> started pid=... name=..." line per incarnation; tests
read those and the server's own lines.

Absence is never checked with a fixed sleep: a "sentinel" worker that exits
with code 1 and restarts every second tells when enough time has passed for
a wrongly restarted worker to have shown up.

Dynamic registration (launcher_main scenarios) and postmaster death are in
test_bgworker_dynamic.py.
"""

from __future__ import annotations

import os
import re
import signal
import time

import pytest

import harness
from harness import (
    BGW_MODULE_DIR,
    LOG_READY,
    LOG_SHUT_DOWN,
    children_of,
    cmdline,
    log_line_time,
    pid_alive,
    proc_ppid,
    wait_gone,
    wait_until,
)

LIBRARY = "bgw_test"

CRASH_LINES = (
    "terminating any other active server processes",
    "all server processes terminated; reinitializing",
)

# Tolerance for comparing log timestamps (ms resolution, two processes).
TIME_SLACK = 0.05

_STARTED_RX = re.compile(
    r"^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})[^\[\n]*\[(?P<logpid>\d+)\] (?P<kind>[^\n]*?) "
    r"LOG:  bgw_test: (?P<fn>\w+) started pid=(?P<pid>\d+) name=\"(?P<name>[^\"]*)\" "
    r"type=\"(?P<type>[^\"]*)\" flags=(?P<flags>-?\d+) start_time=(?P<start_time>-?\d+) "
    r"restart=(?P<restart>-?\d+) library=\"(?P<library>[^\"]*)\" "
    r"function=\"(?P<function>[^\"]*)\" arg=(?P<arg>-?\d+) notify=(?P<notify>-?\d+) "
    r"ppid=(?P<ppid>\d+)$",
    re.M,
)


class Start:
    """One incarnation of a worker, from its "started" log line."""

    def __init__(self, m: re.Match):
        self.line = m.group(0)
        self.t = log_line_time(m.group(0))
        self.logpid = int(m.group("logpid"))
        self.kind = m.group("kind")
        self.fn = m.group("fn")
        self.pid = int(m.group("pid"))
        self.name = m.group("name")
        self.type = m.group("type")
        self.flags = int(m.group("flags"))
        self.start_time = int(m.group("start_time"))
        self.restart = int(m.group("restart"))
        self.library = m.group("library")
        self.function = m.group("function")
        self.arg = int(m.group("arg"))
        self.notify = int(m.group("notify"))
        self.ppid = int(m.group("ppid"))

    def __repr__(self):
        return f"Start({self.name!r}, pid={self.pid}, t={self.t})"


# ---------------------------------------------------------------------------
# Helpers (also used by test_bgworker_dynamic.py).


def module_settings(static_workers: str, **settings) -> dict:
    conf = {
        "dynamic_library_path": BGW_MODULE_DIR,
        "shared_preload_libraries": LIBRARY,
        "bgw_test.static_workers": static_workers,
    }
    conf.update(settings)
    return conf


def start_bgw_server(make_server, static_workers: str, **settings) -> harness.Server:
    """A running server preloading bgw_test with these static workers."""
    if not os.path.exists(os.path.join(BGW_MODULE_DIR, LIBRARY + ".so")):
        pytest.fail(f"{LIBRARY}.so not built in {BGW_MODULE_DIR} (set BGW_MODULE_DIR)")
    srv = make_server()
    srv.init(**module_settings(static_workers, **settings))
    srv.start()
    return srv


def starts(srv: harness.Server, name: str | None = None) -> list[Start]:
    found = [Start(m) for m in _STARTED_RX.finditer(srv.read_log())]
    return [s for s in found if name is None or s.name == name]


def wait_starts(srv: harness.Server, name: str, count: int = 1, timeout: float = 60) -> list[Start]:
    """The first `count` incarnations of worker `name` (waits for them)."""
    try:
        found = wait_until(
            lambda: (lambda s: s if len(s) >= count else None)(starts(srv, name)),
            timeout,
            what=f"{count} start(s) of worker {name!r}",
        )
    except AssertionError as e:
        raise AssertionError(f"{e}\n--- log ---\n{srv.log_tail(60)}")
    return found[:count]


def exit_rx(name: str, code: int, pid: int | None = None) -> str:
    p = str(pid) if pid is not None else r"\d+"
    return (
        rf"background worker \"{re.escape(name)}\" \(PID {p}\) exited with exit code {code}$"
    )


def log_lines(srv: harness.Server, pattern: str, text: str | None = None) -> list[str]:
    rx = re.compile(pattern)
    return [l for l in (srv.read_log() if text is None else text).splitlines() if rx.search(l)]


def line_time(srv: harness.Server, pattern: str) -> float:
    lines = log_lines(srv, pattern)
    assert lines, f"no log line /{pattern}/\n--- log ---\n{srv.log_tail(60)}"
    return log_line_time(lines[0])


def fatal_admin_rx(pid: int, bgw_type: str) -> str:
    """The FATAL a worker logs for SIGTERM, with %b (its bgw_type) in the prefix."""
    return (
        rf"\[{pid}\] {re.escape(bgw_type)} FATAL:  terminating background worker "
        rf"\"{re.escape(bgw_type)}\" due to administrator command$"
    )


def assert_no_crash(srv: harness.Server) -> None:
    log = srv.read_log()
    for line in CRASH_LINES:
        assert line not in log, f"unexpected crash handling:\n{srv.log_tail(60)}"


def wait_sentinel(srv: harness.Server, name: str, count: int, after: float | None = None):
    """Waits until sentinel worker `name` (exit 1, restart 1 s) started `count`
    times (after time `after`, if given)."""

    def check():
        s = [x for x in starts(srv, name) if after is None or x.t >= after]
        return s if len(s) >= count else None

    try:
        return wait_until(check, 60, what=f"{count} starts of sentinel {name!r}")
    except AssertionError as e:
        raise AssertionError(f"{e}\n--- log ---\n{srv.log_tail(60)}")


# launcher_main (dynamic registration scenarios, bgw_test.scenario) logs
# "bgw_test RESULT key=value ..." lines.
LAUNCHER = "launcher_main:-1:s"
LAUNCHER_NAME = "bgw_test launcher_main 1"

_RESULT_RX = re.compile(r"LOG:  bgw_test RESULT (.*)$", re.M)
_QUOTED_RX = re.compile(r'^(\w+)="(.*)"$')


def results(srv: harness.Server) -> dict[str, str]:
    """Every "bgw_test RESULT" of the log; key="text with spaces" or k=v k=v."""
    out: dict[str, str] = {}
    for m in _RESULT_RX.finditer(srv.read_log()):
        body = m.group(1)
        q = _QUOTED_RX.match(body)
        if q:
            out[q.group(1)] = q.group(2)
            continue
        for pair in body.split():
            k, _, v = pair.partition("=")
            out[k] = v
    return out


def wait_result(srv: harness.Server, key: str, timeout: float = 60) -> dict[str, str]:
    """All results, once launcher result `key` is in the log."""
    try:
        return wait_until(lambda: (lambda r: r if key in r else None)(results(srv)), timeout,
                          what=f"launcher result {key!r}")
    except AssertionError as e:
        raise AssertionError(f"{e}\n--- log ---\n{srv.log_tail(80)}")


# ---------------------------------------------------------------------------
# Exit codes and restarts.


def test_exit_0_unregisters_exit_1_restarts_after_restart_time(make_server):
    # 1: exit 0 with a restart time of 1 s: unregistered, never restarted.
    # 2: exit 1, restart 2 s: restarted, each time no sooner than 2 s.
    # 3: exit 1, BGW_NEVER_RESTART: never restarted.
    # 4: exit 1 after 300 ms, restart time 0 (a zeroed struct): at once.
    srv = start_bgw_server(
        make_server,
        "exit_code_main:1:s:0,exit_code_main:2:s:1,exit_code_main:-1:s:1,exit_code_main:0:s:1:300",
    )
    restarting = "bgw_test exit_code_main 2"
    runs = wait_starts(srv, restarting, 3, timeout=60)
    # Two restart intervals of worker 2 have passed: workers 1 and 3 would
    # have been restarted by now.
    (zero,) = starts(srv, "bgw_test exit_code_main 1")
    (never,) = starts(srv, "bgw_test exit_code_main 3")
    wait_gone([zero.pid, never.pid])
    log = srv.read_log()

    # Exit 0 is not an event worth a LOG line (PostgreSQL logs it at DEBUG1).
    assert not re.search(r"exit_code_main 1\" \(PID \d+\) exited", log), log
    srv.wait_for_log(exit_rx("bgw_test exit_code_main 3", 1, never.pid))
    assert zero.arg == 0 and never.arg == 1 and runs[0].arg == 1
    assert [r.restart for r in (zero, runs[0], never)] == [1, 2, -1]

    # Worker 2: every exit logged, every restart >= 2 s after the exit.
    exits = log_lines(srv, exit_rx(restarting, 1))
    assert len(exits) >= 2, log
    for i in range(2):
        assert f"(PID {runs[i].pid})" in exits[i], (exits, runs)
        gap = runs[i + 1].t - log_line_time(exits[i])
        assert gap >= 2 - TIME_SLACK, f"restarted {gap:.3f}s after exit, restart time is 2s"
        assert gap < 2 + 10, f"restart took {gap:.3f}s"
        assert runs[i + 1].pid != runs[i].pid

    # The module counts its incarnations in the data directory too.
    count = int((srv.datadir / "bgw_test.bgw_test_exit_code_main_2.count").read_text())
    assert count >= 3
    assert int((srv.datadir / "bgw_test.bgw_test_exit_code_main_1.count").read_text()) == 1
    assert int((srv.datadir / "bgw_test.bgw_test_exit_code_main_3.count").read_text()) == 1

    # Restart time 0: restarted right away, not after some default interval.
    zero_wait = "bgw_test exit_code_main 4"
    runs4 = starts(srv, zero_wait)
    exits4 = log_lines(srv, exit_rx(zero_wait, 1))
    assert len(runs4) >= 3 and len(exits4) >= 2, (runs4, exits4)
    for i in range(2):
        assert f"(PID {runs4[i].pid})" in exits4[i], (exits4, runs4)
        gap = runs4[i + 1].t - log_line_time(exits4[i])
        assert gap < 0.9, f"restart time 0, restarted after {gap:.3f}s"
    assert_no_crash(srv)


CRASHERS = {
    # kind: (static item, exit log line suffix)
    "exit_code_2": ("exit_code_main:-1:s:2:2000", r"exited with exit code 2$"),
    "sigsegv": ("segfault_main:-1:s::2000", r"was terminated by signal 11: Segmentation fault$"),
    "sigabrt": ("abort_main:-1:s::2000", r"was terminated by signal 6: Aborted$"),
}


@pytest.mark.parametrize("kind", sorted(CRASHERS))
def test_worker_crash_reinitializes_server(make_server, kind):
    item, exit_suffix = CRASHERS[kind]
    crash_fn = item.split(":")[0]
    crasher = f"bgw_test {crash_fn} 1"
    # 2: restartable (60 s!): restarted at once after the reinitialization.
    # 3: BGW_NEVER_RESTART: gone after the reinitialization.
    # 4: sentinel (exit 1, restart 1 s).
    # 5: launcher: leaves a dynamic worker with restart 60 s ("survivor") and
    #    one with BGW_NEVER_RESTART ("mortal"), then waits.
    srv = start_bgw_server(
        make_server,
        f"{item},sleep_main:60:s,sleep_main:-1:s,exit_code_main:1:s:1,launcher_main:-1:s",
        **{"bgw_test.scenario": "survivors"},
    )
    pm = srv.pid
    c = wait_starts(srv, crasher)[0]
    s2 = wait_starts(srv, "bgw_test sleep_main 2")[0]
    s3 = wait_starts(srv, "bgw_test sleep_main 3")[0]
    r = wait_result(srv, "survivors_started")
    assert r["survivors_started"] == "BGWH_STARTED,BGWH_STARTED", r
    survivor = wait_starts(srv, "bgw_test dyn survivor")[0]
    mortal = wait_starts(srv, "bgw_test dyn mortal")[0]
    launcher = wait_starts(srv, "bgw_test launcher_main 5")[0]
    assert survivor.notify == launcher.pid
    srv.open_idle_connection()
    (backend,) = srv.wait_children("backend", 1)
    assert CRASH_LINES[0] not in srv.read_log(), (
        "the crash came before the test was ready (the worker crashes 2 s after its start)"
    )

    crash_rx = rf"background worker \"{re.escape(crasher)}\" \(PID {c.pid}\) {exit_suffix}"
    srv.wait_for_log(crash_rx)
    srv.wait_for_log(CRASH_LINES[0])
    srv.wait_for_log(CRASH_LINES[1])
    # Every other child was stopped (SIGQUIT): workers and the client backend.
    wait_gone([s2.pid, s3.pid, backend, c.pid, survivor.pid, mortal.pid, launcher.pid])
    reinit = line_time(srv, re.escape(CRASH_LINES[1]))
    assert line_time(srv, crash_rx) <= reinit

    # The restartable worker is back at once, not after its 60 s.
    again = wait_starts(srv, "bgw_test sleep_main 2", 2, timeout=30)[1]
    assert again.pid != s2.pid
    assert again.t - reinit < 15, f"restarted {again.t - reinit:.1f}s after reinitialization"
    assert proc_ppid(again.pid) == pm
    srv.wait_accepting()
    assert srv.read_log().count(LOG_READY) >= 2

    # Two sentinel incarnations after the reinitialization (>= 1 s): the
    # crasher and worker 3 (both BGW_NEVER_RESTART) would have started.
    wait_sentinel(srv, "bgw_test exit_code_main 4", 2, after=reinit)
    assert len(starts(srv, crasher)) == 1, starts(srv, crasher)
    assert len(starts(srv, "bgw_test sleep_main 3")) == 1
    # Dynamic registrations survive a crash too (unless BGW_NEVER_RESTART);
    # their registrant is gone, so they come back without a notify pid.
    again = wait_starts(srv, "bgw_test dyn survivor", 2)[1]
    assert again.pid != survivor.pid and again.notify == 0, again.line
    assert again.t - reinit < 15
    assert len(starts(srv, "bgw_test dyn mortal")) == 1
    assert len(starts(srv, "bgw_test launcher_main 5")) == 1
    assert srv.pid == pm and pid_alive(pm)
    assert srv.read_log().count(CRASH_LINES[1]) == 1, "more than one crash"


def test_crash_of_worker_without_shmem_access_is_contained(make_server):
    # Without BGWORKER_SHMEM_ACCESS a worker cannot have corrupted shared
    # memory: its crash is that worker's business (PostgreSQL 13-14 rule),
    # restarted after its restart time; nothing else is touched.
    srv = start_bgw_server(make_server, "segfault_main:1:::300,sleep_main:-1:s")
    name = "bgw_test segfault_main 1"
    first = wait_starts(srv, name)[0]
    s = wait_starts(srv, "bgw_test sleep_main 2")[0]
    assert first.flags == 0
    crash_rx = exit_rx(name, 0, first.pid).replace(
        "exited with exit code 0", "was terminated by signal 11: Segmentation fault"
    )
    srv.wait_for_log(crash_rx)
    second = wait_starts(srv, name, 2)[1]
    gap = second.t - line_time(srv, crash_rx)
    assert gap >= 1 - TIME_SLACK, f"restarted {gap:.3f}s after the crash, restart time is 1s"
    assert pid_alive(s.pid) and len(starts(srv, "bgw_test sleep_main 2")) == 1
    assert_no_crash(srv)


# ---------------------------------------------------------------------------
# Signals and shutdown.


def test_default_sigterm_handler_exits_1_and_restarts(make_server):
    # 1: keeps the server's SIGTERM handler, restart 1 s.
    # 2: installs die(), BGW_NEVER_RESTART.
    srv = start_bgw_server(make_server, "default_sigterm_main:1:s,sleep_main:-1:s")
    d = wait_starts(srv, "bgw_test default_sigterm_main 1")[0]
    s = wait_starts(srv, "bgw_test sleep_main 2")[0]
    assert d.kind == "bgw_test default_sigterm_main"

    os.kill(s.pid, signal.SIGTERM)
    srv.wait_for_log(fatal_admin_rx(s.pid, "bgw_test sleep_main"))
    srv.wait_for_log(exit_rx("bgw_test sleep_main 2", 1, s.pid))
    wait_gone([s.pid])

    os.kill(d.pid, signal.SIGTERM)
    srv.wait_for_log(fatal_admin_rx(d.pid, "bgw_test default_sigterm_main"))
    srv.wait_for_log(exit_rx("bgw_test default_sigterm_main 1", 1, d.pid))
    d2 = wait_starts(srv, "bgw_test default_sigterm_main 1", 2)[1]
    gap = d2.t - line_time(srv, exit_rx("bgw_test default_sigterm_main 1", 1, d.pid))
    assert gap >= 1 - TIME_SLACK, f"restarted {gap:.3f}s after exit, restart time is 1s"
    # The die() worker (BGW_NEVER_RESTART) stayed down meanwhile.
    assert len(starts(srv, "bgw_test sleep_main 2")) == 1
    assert_no_crash(srv)


def test_worker_ignoring_sigterm_is_killed_at_fast_shutdown(make_server):
    srv = start_bgw_server(make_server, "ignore_sigterm_main:-1:s,sleep_main:-1:s")
    ig = wait_starts(srv, "bgw_test ignore_sigterm_main 1")[0]
    sl = wait_starts(srv, "bgw_test sleep_main 2")[0]
    pm = srv.pid
    mark = srv.log_mark()
    cp = srv.stop("fast", timeout=60)
    assert cp.returncode == 0, harness.describe(cp)
    log = srv.log_since(mark)
    assert "received fast shutdown request" in log, log
    assert "issuing SIGKILL to recalcitrant children" in log, log
    assert re.search(fatal_admin_rx(sl.pid, "bgw_test sleep_main"), log, re.M), log
    assert LOG_SHUT_DOWN in log, log
    assert not pid_alive(ig.pid) and not pid_alive(sl.pid) and not pid_alive(pm)
    asked = line_time(srv, "received fast shutdown request")
    killed = line_time(srv, "issuing SIGKILL to recalcitrant children")
    # The documented grace time before SIGKILL is 5 s.
    assert killed - asked >= 5 - 0.5, f"SIGKILL after {killed - asked:.2f}s"
    # The well-behaved worker was not the reason for the wait.
    assert line_time(srv, exit_rx("bgw_test sleep_main 2", 1, sl.pid)) < killed


def test_sighup_reaches_worker_that_reloads(make_server):
    # 3: has signals unblocked but no SIGHUP handler: SIGHUP is ignored.
    srv = start_bgw_server(make_server, "sleep_main:-1:s,sleep_main:-1:s,default_sigterm_main:-1:s")
    d = wait_starts(srv, "bgw_test default_sigterm_main 3")[0]
    for n in (1, 2):
        wait_starts(srv, f"bgw_test sleep_main {n}")
        srv.wait_for_log(rf"bgw_test: sleep_main naptime=10000 name=\"bgw_test sleep_main {n}\"$")
    for naptime in (1234, 2345):
        mark = srv.log_mark()
        srv.set_conf(**{"bgw_test.naptime": naptime})
        cp = srv.reload()
        assert cp.returncode == 0, harness.describe(cp)
        for n in (1, 2):
            srv.wait_for_log(
                rf"bgw_test: sleep_main reloaded naptime={naptime} "
                rf"name=\"bgw_test sleep_main {n}\"$",
                since=mark,
            )
    # The first SIGHUP reached it long before the second reload was done.
    assert pid_alive(d.pid), "SIGHUP killed a worker that has no handler for it"
    assert not log_lines(srv, r"default_sigterm_main 3\" \(PID")
    assert_no_crash(srv)


def test_smart_shutdown_keeps_workers_until_clients_leave(make_server):
    srv = start_bgw_server(make_server, "sleep_main:-1:s,exit_code_main:1:s:1")
    pm = srv.pid
    s = wait_starts(srv, "bgw_test sleep_main 1")[0]
    conn = srv.open_idle_connection()
    srv.wait_children("backend", 1)
    os.kill(pm, signal.SIGTERM)
    asked = log_line_time(srv.wait_for_log(r"^.*received smart shutdown request$").group(0))
    # Workers keep running, and are still (re)started, while a client is
    # connected.
    wait_sentinel(srv, "bgw_test exit_code_main 2", 2, after=asked)
    assert pid_alive(s.pid) and pid_alive(pm)
    assert not log_lines(srv, fatal_admin_rx(s.pid, "bgw_test sleep_main"))
    # The last client leaves: workers get SIGTERM and the server stops.
    conn.close()
    wait_gone([pm])
    srv.wait_for_log(fatal_admin_rx(s.pid, "bgw_test sleep_main"))
    srv.wait_for_log(LOG_SHUT_DOWN)
    assert not pid_alive(s.pid)


# ---------------------------------------------------------------------------
# What a worker sees: titles, MyBgworkerEntry, shared memory.


def test_process_titles_and_registration_fields(make_server):
    # Arguments travel by value, 64-bit: a negative one and 2^53 + 1.
    # 4: empty bgw_type: the server uses bgw_name. 5: BgWorkerStart_PostmasterStart.
    srv = start_bgw_server(
        make_server,
        "sleep_main:-1:s:-42,sleep_main:5:sc:9007199254740993,no_shmem_main:-1:,"
        "sleep_main:-1:se,sleep_main:0:sp",
    )
    pm = srv.pid
    w1 = wait_starts(srv, "bgw_test sleep_main 1")[0]
    w2 = wait_starts(srv, "bgw_test sleep_main 2")[0]
    w3 = wait_starts(srv, "bgw_test no_shmem_main 3")[0]
    w4 = wait_starts(srv, "bgw_test sleep_main 4")[0]
    w5 = wait_starts(srv, "bgw_test sleep_main 5")[0]
    expected = [
        # (start, type, flags, start_time, restart, arg)
        (w1, "bgw_test sleep_main", 1, 2, -1, -42),
        (w2, "bgw_test sleep_main", 1, 1, 5, 9007199254740993),
        (w3, "bgw_test no_shmem_main", 0, 2, -1, 0),
        (w4, "bgw_test sleep_main 4", 1, 2, -1, 0),
        (w5, "bgw_test sleep_main", 1, 0, 0, 0),
    ]
    for w, bgw_type, flags, start_time, restart, arg in expected:
        assert cmdline(w.pid) == f"bgw: {bgw_type} {w.name}", (w, cmdline(w.pid))
        assert proc_ppid(w.pid) == pm and w.ppid == pm
        assert w.logpid == w.pid
        assert w.kind == bgw_type, f"%b of a worker should be its bgw_type: {w.line}"
        assert (w.type, w.flags, w.start_time, w.restart, w.arg) == (
            bgw_type, flags, start_time, restart, arg), w.line
        assert (w.library, w.function, w.notify) == (LIBRARY, w.fn, 0), w.line
    for n in (1, 2, 4, 5):
        srv.wait_for_log(rf"bgw_test: sleep_main extra=ok name=\"bgw_test sleep_main {n}\"$")
    assert "extra=mismatch" not in srv.read_log()
    # Every child of the postmaster carries a bgw title.
    for c in children_of(pm):
        assert cmdline(c).startswith("bgw: "), (c, cmdline(c))


def _count_maps(pid: int) -> tuple[int, int]:
    with open(f"/proc/{pid}/maps") as f:
        text = f.read()
    return text.count("/dev/zero (deleted)"), text.count("/SYSV")


def test_worker_without_shmem_access_has_no_segment(make_server):
    srv = start_bgw_server(make_server, "no_shmem_main:-1:,sleep_main:-1:s")
    ns = wait_starts(srv, "bgw_test no_shmem_main 1")[0]
    sl = wait_starts(srv, "bgw_test sleep_main 2")[0]
    m = srv.wait_for_log(rf"bgw_test: no_shmem_main maps pid={ns.pid} main_segment=(-?\d+) "
                         r"interlock=(-?\d+)$")
    assert (int(m.group(1)), int(m.group(2))) == (0, 0), m.group(0)
    # The control: a worker with BGWORKER_SHMEM_ACCESS does map both.
    m = srv.wait_for_log(rf"bgw_test: sleep_main maps pid={sl.pid} main_segment=(-?\d+) "
                         r"interlock=(-?\d+)$")
    assert int(m.group(1)) >= 1 and int(m.group(2)) >= 1, m.group(0)
    # Seen from outside too.
    assert _count_maps(ns.pid) == (0, 0)
    main_segment, interlock = _count_maps(sl.pid)
    assert main_segment >= 1 and interlock >= 1


# ---------------------------------------------------------------------------
# Loading modules.


def test_worker_startup_errors_exit_1(make_server):
    spec = ",".join(
        [
            "no_such_function:-1:s",  # 1: not in the library
            "connect_main:-1:s",  # 2: connects without BGWORKER_BACKEND_DATABASE_CONNECTION
            "NoSuchMain:-1:sP",  # 3: library "postgres", no such internal function
            "IdleWorkerMain:-1:sP",  # 4: library "postgres", a built-in entry point
            "exit_code_main:1:s:1",  # 5: sentinel
        ]
    )
    srv = start_bgw_server(make_server, spec)
    expected = {
        "bgw_test no_such_function 1": (
            "bgw_test no_such_function",
            r"ERROR:  could not find function \"no_such_function\" in file "
            r"\"[^\"]*bgw_test(\.so)?\"$",
        ),
        "bgw_test connect_main 2": (
            "bgw_test connect_main",
            r"FATAL:  database connection requirement not indicated during registration$",
        ),
        "bgw_test NoSuchMain 3": (
            "bgw_test NoSuchMain",
            r"ERROR:  internal function \"NoSuchMain\" not found$",
        ),
    }
    for name, (bgw_type, message) in expected.items():
        m = srv.wait_for_log(
            rf"background worker \"{name}\" \(PID (\d+)\) exited with exit code 1$"
        )
        pid = int(m.group(1))
        srv.wait_for_log(rf"\[{pid}\] {re.escape(bgw_type)} {message}")
    assert not log_lines(srv, "bgw_test: connect_main connected")

    # The built-in entry point runs (and honours SIGTERM).
    (idle,) = srv.wait_children("bgw_test IdleWorkerMain bgw_test IdleWorkerMain 4", 1)
    # BGW_NEVER_RESTART: a second attempt would have come with the sentinel.
    wait_sentinel(srv, "bgw_test exit_code_main 5", 2)
    for name in expected:
        assert len(log_lines(srv, exit_rx(name, 1))) == 1, name
    assert pid_alive(idle)
    os.kill(idle, signal.SIGTERM)
    srv.wait_for_log(fatal_admin_rx(idle, "bgw_test IdleWorkerMain"))
    srv.wait_for_log(exit_rx("bgw_test IdleWorkerMain 4", 1, idle))
    assert_no_crash(srv)


def _run_foreground(srv: harness.Server) -> harness.subprocess.CompletedProcess:
    """`bgw run` of a server expected not to start."""
    return harness.bgw("run", "-D", srv.datadir, timeout=60)


def test_library_with_wrong_magic_block_is_refused(make_server):
    assert os.path.exists(os.path.join(BGW_MODULE_DIR, "bad_magic.so"))
    srv = make_server()
    srv.init(dynamic_library_path=BGW_MODULE_DIR, shared_preload_libraries="bad_magic")
    cp = srv.start(check=False, timeout=30)
    assert cp.returncode != 0, harness.describe(cp)
    path = os.path.join(BGW_MODULE_DIR, "bad_magic.so")
    srv.wait_for_log(rf"FATAL:  incompatible library \"{re.escape(path)}\": version mismatch$")
    assert "_PG_init was called" not in srv.read_log()
    # The detail says which versions differ.
    assert re.search(r"DETAIL:  .*library is version", srv.read_log()), srv.read_log()
    assert srv.read_pidfile() is None or not pid_alive(srv.read_pidfile()["pid"] or 0)
    run = _run_foreground(srv)
    assert run.returncode == 1, harness.describe(run)
    assert f'incompatible library "{path}"' in harness.output(run) + srv.read_log()


def test_missing_preload_library_fails_start(make_server):
    srv = make_server()
    srv.init(dynamic_library_path=BGW_MODULE_DIR, shared_preload_libraries="bgw_test_no_such_lib")
    cp = srv.start(check=False, timeout=30)
    assert cp.returncode != 0, harness.describe(cp)
    srv.wait_for_log(
        r"FATAL:  could not access file \"bgw_test_no_such_lib\": No such file or directory$"
    )
    # It names where it looked.
    detail = log_lines(srv, r"DETAIL:  ")
    assert any(os.path.join(BGW_MODULE_DIR, "bgw_test_no_such_lib") in l for l in detail), (
        srv.read_log()
    )
    run = _run_foreground(srv)
    assert run.returncode == 1, harness.describe(run)


# ---------------------------------------------------------------------------
# Registration checks.


def test_invalid_static_registrations_are_logged_and_skipped(make_server):
    spec = ",".join(
        [
            "sleep_main:-1:d",  # 1: database connection without shared memory
            "sleep_main:-1:sdp",  # 2: database connection at postmaster start
            "sleep_main:-7:s",  # 3: restart interval
            "sleep_main:-1:sn",  # 4: notify pid on a static worker
            "sleep_main:-1:s",  # 5: valid
            "exit_code_main:1:s:1",  # 6: sentinel
        ]
    )
    srv = start_bgw_server(make_server, spec)
    wait_starts(srv, "bgw_test sleep_main 5")
    wait_sentinel(srv, "bgw_test exit_code_main 6", 2)
    log = srv.read_log()
    expected = {
        1: "must attach to shared memory in order to request a database connection",
        2: "cannot request database access if starting at postmaster start",
        3: "invalid restart interval",
        4: "only dynamic background workers can request notification",
    }
    for n, text in expected.items():
        assert re.search(
            rf"LOG:  background worker \"bgw_test sleep_main {n}\": {re.escape(text)}$", log, re.M
        ), f"worker {n}: {text}\n{log}"
        assert not starts(srv, f"bgw_test sleep_main {n}"), f"invalid worker {n} started"
    assert_no_crash(srv)


def test_more_static_workers_than_max_worker_processes(make_server):
    spec = "sleep_main:-1:s,exit_code_main:1:s:1,sleep_main:-1:s,sleep_main:-1:s"
    srv = start_bgw_server(make_server, spec, max_worker_processes=2)
    wait_starts(srv, "bgw_test sleep_main 1")
    wait_sentinel(srv, "bgw_test exit_code_main 2", 2)
    lines = srv.read_log().splitlines()
    idx = [i for i, l in enumerate(lines) if l.endswith("LOG:  too many background workers")]
    assert len(idx) == 2, "\n".join(lines)
    for i in idx:
        assert lines[i + 1].endswith(
            "DETAIL:  Up to 2 background workers can be registered with the current settings."
        ), lines[i : i + 3]
        assert lines[i + 2].endswith(
            'HINT:  Consider increasing the configuration parameter "max_worker_processes".'
        ), lines[i : i + 3]
    assert not starts(srv, "bgw_test sleep_main 3")
    assert not starts(srv, "bgw_test sleep_main 4")
    assert_no_crash(srv)


def test_more_than_100_static_workers_all_start(make_server):
    # The postmaster launches at most 100 workers per pass, then runs the next
    # pass at once: all 150 must start without any other event.
    n = 150
    srv = start_bgw_server(make_server, ",".join(["sleep_main:-1:s"] * n), max_worker_processes=n)
    pm = srv.pid
    wait_until(
        lambda: len(srv.children_by_kind("bgw_test sleep_main", pm)) >= n,
        60,
        what=f"{n} workers (now {len(srv.children_by_kind('bgw_test sleep_main', pm))})",
    )
    wait_until(lambda: len(starts(srv)) >= n, 60, what=f"{n} start lines")
    names = sorted(s.name for s in starts(srv))
    assert names == sorted(f"bgw_test sleep_main {i}" for i in range(1, n + 1))
    assert "too many background workers" not in srv.read_log()
    assert_no_crash(srv)
