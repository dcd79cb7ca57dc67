"""Background workers, dynamic registration and postmaster death.

A static worker, bgw_test's launcher_main, runs the scenarios named by
`bgw_test.scenario` from inside the server: it registers dynamic workers
with RegisterDynamicBackgroundWorker (bgw_notify_pid = itself), follows them
through their handles (WaitForBackgroundWorkerStartup / Shutdown,
GetBackgroundWorkerPid, TerminateBackgroundWorker) and logs what it saw as
"bgw_test RESULT key=value" lines. These tests check those results against
PostgreSQL's semantics and against what the server and the workers logged:
register/wait/terminate, stale handles and slot reuse, slot exhaustion, the
parallel quota, failing and restarting dynamic workers, invalid definitions,
registrants that exit, and a registrant waiting when the postmaster is
SIGKILLed.
"""

from __future__ import annotations

import os
import re
import signal
import time

import harness
from harness import children_of, cmdline, pid_alive, proc_ppid, wait_until
from test_bgworker import (
    LAUNCHER,
    LAUNCHER_NAME,
    TIME_SLACK,
    assert_no_crash,
    exit_rx,
    fatal_admin_rx,
    line_time,
    log_lines,
    results,
    start_bgw_server,
    starts,
    wait_result,
    wait_starts,
)

def start_launcher(make_server, scenario: str, extra_workers: str = "", **settings):
    spec = LAUNCHER + ("," + extra_workers if extra_workers else "")
    srv = start_bgw_server(make_server, spec, **{"bgw_test.scenario": scenario}, **settings)
    return srv


def test_register_wait_terminate(make_server):
    srv = start_launcher(make_server, "basic,badnotify")
    r = wait_result(srv, "all_done")
    launcher = starts(srv, LAUNCHER_NAME)[0]
    assert r["basic_registered"] == "1", r
    assert r["basic_startup"] == "BGWH_STARTED", r
    pid = int(r["basic_pid"])
    assert pid > 0
    assert (r["basic_getpid"], r["basic_getpid_pid"]) == ("BGWH_STARTED", str(pid)), r
    assert r["basic_type"] == "bgw_test sleep_main", r
    assert r["basic_shutdown"] == "BGWH_STOPPED", r
    assert r["basic_after"] == "BGWH_STOPPED", r

    w = wait_starts(srv, "bgw_test dyn basic")[0]
    assert len(starts(srv, "bgw_test dyn basic")) == 1
    assert w.pid == pid
    assert w.type == "bgw_test sleep_main" and w.flags == 1 and w.restart == -1
    # bgw_main_arg by value (64 bits), bgw_notify_pid = the registrant.
    assert w.arg == 0x1122334455, w.line
    assert w.notify == launcher.pid, (w.line, launcher.pid)
    assert w.ppid == srv.pid, "dynamic workers are children of the postmaster"
    srv.wait_for_log(r"bgw_test: sleep_main extra=ok name=\"bgw_test dyn basic\"$")
    # TerminateBackgroundWorker = SIGTERM; die() -> FATAL -> exit 1; unregistered.
    srv.wait_for_log(fatal_admin_rx(pid, "bgw_test sleep_main"))
    srv.wait_for_log(exit_rx("bgw_test dyn basic", 1, pid))
    assert not pid_alive(pid)

    # A bgw_notify_pid that is not a child of the postmaster is dropped: the
    # worker runs, without a notify pid (the registrant has to poll).
    assert r["badnotify_registered"] == "1", r
    assert r["badnotify_status"] == "BGWH_STARTED", r
    bad = wait_starts(srv, "bgw_test dyn badnotify")[0]
    assert bad.pid == int(r["badnotify_pid"]) and bad.notify == 0, bad.line
    assert r["badnotify_shutdown"] == "BGWH_STOPPED", r
    assert_no_crash(srv)


def test_worker_whose_library_is_missing(make_server):
    srv = start_launcher(make_server, "fail")
    r = wait_result(srv, "all_done")
    # STARTED means "forked": the worker may already have failed by the time
    # the registrant looks, in which case the handle reads STOPPED.
    assert r["fail_startup"] in ("BGWH_STARTED", "BGWH_STOPPED"), r
    assert r["fail_shutdown"] == "BGWH_STOPPED", r
    m = srv.wait_for_log(exit_rx("bgw_test dyn fail", 1).replace(r"PID \d+", r"PID (\d+)"))
    pid = int(m.group(1))
    if r["fail_startup"] == "BGWH_STARTED":
        assert int(r["fail_pid"]) == pid, r
    srv.wait_for_log(
        rf"\[{pid}\] bgw_test sleep_main ERROR:  could not access file "
        r"\"bgw_test_no_such_library\": No such file or directory$"
    )
    assert not starts(srv, "bgw_test dyn fail")
    assert_no_crash(srv)


def test_dynamic_worker_exit_1_restarts_same_handle(make_server):
    srv = start_launcher(make_server, "restart")
    r = wait_result(srv, "all_done")
    assert r["restart_startup"] == "BGWH_STARTED", r
    assert r["restart_status"] == "BGWH_STARTED", r
    pid1, pid2 = int(r["restart_pid1"]), int(r["restart_pid2"])
    assert pid1 > 0 and pid2 > 0 and pid1 != pid2, r
    # Between the incarnations the handle read STOPPED (pid 0), for about
    # the restart time.
    assert r["restart_seen_stopped"] == "1", r
    assert int(r["restart_gap_ms"]) >= 900, r
    # The wait returns when the second incarnation exits, though the worker
    # is restartable; terminating it then unregisters it for good.
    assert r["restart_shutdown"] == "BGWH_STOPPED", r
    assert r["restart_after_terminate"] == "BGWH_STOPPED", r
    srv.wait_for_log(exit_rx("bgw_test dyn restart", 1, pid2))
    runs = starts(srv, "bgw_test dyn restart")
    assert [x.pid for x in runs] == [pid1, pid2], runs
    gap = runs[1].t - line_time(srv, exit_rx("bgw_test dyn restart", 1, pid1))
    assert gap >= 1 - TIME_SLACK, f"restarted {gap:.3f}s after exit, restart time is 1s"
    assert_no_crash(srv)


def test_invalid_dynamic_registration_raises_error(make_server):
    srv = start_launcher(make_server, "invalid")
    r = wait_result(srv, "all_done")
    assert r["invalid_dbconn_error"] == (
        'background worker "bgw_test dyn invalid dbconn": must attach to shared memory in '
        "order to request a database connection"
    ), r
    assert r["invalid_restart_error"] == (
        'background worker "bgw_test dyn invalid restart": invalid restart interval'
    ), r
    assert r["invalid_parallel_error"] == (
        'background worker "bgw_test dyn invalid parallel": parallel workers may not be '
        "configured for restart"
    ), r
    # The registrant caught the errors and goes on.
    assert r["invalid_then_valid"] == "1", r
    assert r["invalid_then_valid_startup"] == "BGWH_STARTED", r
    assert not starts(srv, "bgw_test dyn invalid dbconn")
    assert not starts(srv, "bgw_test dyn invalid restart")
    assert_no_crash(srv)


def test_slot_exhaustion_reuse_and_stale_handles(make_server):
    max_workers = 5
    srv = start_launcher(make_server, "slots", max_worker_processes=max_workers)
    r = wait_result(srv, "all_done")
    # The launcher holds one slot; every other one can be registered, no more.
    assert (r["slots_registered"], r["slots_max"]) == (str(max_workers - 1), str(max_workers)), r
    assert r["slots_started"] == str(max_workers - 1), r
    assert r["slots_first_shutdown"] == "BGWH_STOPPED", r
    # A freed slot can be registered again, and then the array is full again.
    assert (r["slots_reuse"], r["slots_reuse_startup"]) == ("1", "BGWH_STARTED"), r
    reuse_pid = int(r["slots_reuse_pid"])
    assert r["slots_full_again"] == "1", r
    # The handle of the worker that left reads STOPPED (its slot was reused)
    # and terminating through it leaves the new occupant alone.
    assert r["slots_stale"] == "BGWH_STOPPED", r
    assert r["slots_second_shutdown"] == "BGWH_STOPPED", r
    assert (r["slots_reuse_after"], r["slots_reuse_after_pid"]) == (
        "BGWH_STARTED", str(reuse_pid)), r
    # (Workers log their start line on their own time: wait for it.)
    reuse = wait_starts(srv, "bgw_test dyn slot reuse")[0]
    assert reuse.pid == reuse_pid
    assert pid_alive(reuse_pid) and proc_ppid(reuse_pid) == srv.pid
    assert not re.search(rf"\[{reuse_pid}\] .*FATAL", srv.read_log())
    # Slot 1 and 2 workers were terminated, the others still run.
    first = wait_starts(srv, "bgw_test dyn slot 1")[0]
    second = wait_starts(srv, "bgw_test dyn slot 2")[0]
    assert not pid_alive(first.pid) and not pid_alive(second.pid)
    for n in range(3, max_workers):
        w = wait_starts(srv, f"bgw_test dyn slot {n}")[0]
        assert pid_alive(w.pid), w
        assert w.arg == n
    assert not starts(srv, "bgw_test dyn slot overflow")
    assert not starts(srv, f"bgw_test dyn slot {max_workers}")
    assert_no_crash(srv)


def test_parallel_workers_count_against_max_parallel_workers(make_server):
    srv = start_launcher(make_server, "parallel", max_worker_processes=12)
    r = wait_result(srv, "all_done")
    limit = int(r["parallel_max"])  # max_parallel_workers, 8 by default
    assert 0 < limit < 11, r
    # RegisterDynamicBackgroundWorker returns false (no error) beyond the
    # quota, though free slots remain; other workers are not limited by it.
    assert r["parallel_registered"] == str(limit), r
    assert r["parallel_other_registered"] == "1", r
    assert r["parallel_first_shutdown"] == "BGWH_STOPPED", r
    assert r["parallel_again_registered"] == "1", r
    assert_no_crash(srv)


def test_worker_outlives_registrant(make_server):
    srv = start_launcher(make_server, "orphan")
    pm = srv.pid
    r = wait_result(srv, "done")
    assert r["done"] == "orphan" and r["orphan_startup"] == "BGWH_STARTED", r
    launcher_pid = int(r["launcher_pid"])
    harness.wait_gone([launcher_pid])
    w = wait_starts(srv, "bgw_test dyn orphan")[0]
    assert w.pid == int(r["orphan_pid"])
    assert w.notify == launcher_pid
    assert pid_alive(w.pid), "a dynamic worker must outlive its registrant"
    # Its next exit and restart must not notify (or trip over) the registrant
    # that is gone.
    os.kill(w.pid, signal.SIGTERM)
    srv.wait_for_log(exit_rx("bgw_test dyn orphan", 1, w.pid))
    again = wait_starts(srv, "bgw_test dyn orphan", 2)[1]
    assert again.pid != w.pid
    assert again.notify == 0, f"notifications to an exited registrant must stop: {again.line}"
    assert pid_alive(pm) and srv.pid == pm
    assert srv.is_accepting()
    assert_no_crash(srv)


def test_postmaster_sigkill_leaves_no_worker(make_server):
    spec = ",".join(
        [
            "sleep_main:-1:s",  # 2: notices WL_POSTMASTER_DEATH itself
            "sleep_main:5:s",  # 3
            "ignore_sigterm_main:-1:s",  # 4: WL_EXIT_ON_PM_DEATH
            "busy_main:-1:s",  # 5: never checks: killed by the server's safety net
            "no_shmem_main:-1:",  # 6
        ]
    )
    srv = start_launcher(make_server, "pmdeath", spec)
    pm = srv.pid
    r = wait_result(srv, "pmdeath_waiting")
    assert r["pmdeath_startup"] == "BGWH_STARTED", r
    dyn_pid = int(r["pmdeath_pid"])
    names = [
        "bgw_test sleep_main 2",
        "bgw_test sleep_main 3",
        "bgw_test ignore_sigterm_main 4",
        "bgw_test busy_main 5",
        "bgw_test no_shmem_main 6",
    ]
    workers = {n: wait_starts(srv, n)[0].pid for n in names}
    launcher = starts(srv, LAUNCHER_NAME)[0].pid
    kids = children_of(pm)
    for p in list(workers.values()) + [launcher, dyn_pid]:
        assert p in kids, (p, [(k, cmdline(k)) for k in kids])

    os.kill(pm, signal.SIGKILL)
    killed_at = time.monotonic()
    harness.wait_gone([pm], timeout=10)
    try:
        harness.wait_gone(kids, timeout=max(0.0, killed_at + 1.0 - time.monotonic()))
    except AssertionError:
        alive = [(k, cmdline(k)) for k in kids if pid_alive(k)]
        raise AssertionError(f"children alive 1 s after the postmaster's SIGKILL: {alive}")

    srv.wait_for_log(r"bgw_test RESULT pmdeath_shutdown=BGWH_POSTMASTER_DIED$", timeout=10)
    for pid in (workers["bgw_test sleep_main 2"], workers["bgw_test sleep_main 3"], dyn_pid):
        assert log_lines(srv, rf"\[{pid}\] .*LOG:  bgw_test: postmaster died pid={pid} "), (
            f"sleep_main {pid} did not see WL_POSTMASTER_DEATH\n{srv.log_tail(40)}"
        )
