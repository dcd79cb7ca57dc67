"""The shared-memory toolkit in real servers: RequestAddinShmemSpace (from
_PG_init and from shmem_request_hook), shmem_startup_hook with
AddinShmemInitLock and ShmemInitStruct, named and embedded LWLocks,
spinlocks and atomics shared by background workers, and what happens when a
worker dies or exits holding an LWLock.

Every test preloads modules/bgw_shmem_test (built into BGW_MODULE_DIR) and
registers the workers listed in `bgw_shmem_test.workers` (see the banner of
bgw_shmem_test.c); the module logs "bgw_shmem_test: ..." lines the tests read.
"""

from __future__ import annotations

import os
import re

import pytest

import harness
from harness import BGW_MODULE_DIR

LIBRARY = "bgw_shmem_test"

CRASH_LINES = (
    "terminating any other active server processes",
    "all server processes terminated; reinitializing",
)


def start_server(make_server, workers: str, **settings) -> harness.Server:
    if not os.path.exists(os.path.join(BGW_MODULE_DIR, LIBRARY + ".so")):
        pytest.fail(f"{LIBRARY}.so not built in {BGW_MODULE_DIR} (set BGW_MODULE_DIR)")
    srv = make_server()
    conf = {
        "dynamic_library_path": BGW_MODULE_DIR,
        "shared_preload_libraries": LIBRARY,
        "bgw_shmem_test.workers": workers,
    }
    conf.update(settings)
    srv.init(**conf)
    srv.start()
    return srv


def total_rx(generation: int, expected: int) -> str:
    n = str(expected)
    return (
        rf"LOG:  bgw_shmem_test: total generation={generation} counter={n} counter2={n} "
        rf"spin={n} atomic={n} expected={n}$"
    )


def assert_no_crash(srv: harness.Server) -> None:
    log = srv.read_log()
    for line in CRASH_LINES:
        assert line not in log, f"unexpected crash handling:\n{srv.log_tail(60)}"


@pytest.mark.parametrize("mode", ["hook", "init"])
def test_counters_under_lwlocks_are_exact_across_workers(make_server, mode):
    # hook: PostgreSQL 15 (shmem_request_hook); init: PostgreSQL 13/14
    # (RequestAddinShmemSpace straight from _PG_init).
    k, m = 4, 20000
    srv = start_server(
        make_server,
        ",".join(["counter"] * k),
        **{"bgw_shmem_test.request_mode": mode, "bgw_shmem_test.iterations": m},
    )
    srv.wait_for_log(total_rx(1, k * m), timeout=120)
    log = srv.read_log()
    # The struct was created once, by the postmaster's startup hook, and
    # every worker found it.
    startups = re.findall(r"\[(\d+)\] postmaster LOG:  bgw_shmem_test: shmem_startup "
                          r"generation=(\d+) found=(\w+)$", log, re.M)
    assert [(g, f) for _, g, f in startups] == [("1", "false")], startups
    assert int(startups[0][0]) == srv.pid
    assert len(re.findall(r"bgw_shmem_test: counter done", log)) == k
    assert len(re.findall(r"bgw_shmem_test: total ", log)) == 1
    assert "requesting no shared memory" not in log
    assert_no_crash(srv)
    srv.stop("fast")


@pytest.mark.parametrize("how,signal_line", [
    (0, r"was terminated by signal 9: Killed$"),
    (1, r"was terminated by signal 6: Aborted$"),
])
def test_worker_dying_with_an_lwlock_held_reinitializes_and_nobody_hangs(
        make_server, how, signal_line):
    # The killer takes the counters' LWLock, the counters queue up behind it
    # (sleeping), and the killer dies holding it. The crash must lead to a
    # reinitialization with a fresh struct, and the counters (restart time
    # 1 s) run again to an exact total; the killer (BGW_NEVER_RESTART) does
    # not come back.
    k, m = 3, 2000
    srv = start_server(
        make_server,
        f"killer:{how}," + ",".join(["counter"] * k),
        **{"bgw_shmem_test.iterations": m},
    )
    pm = srv.pid
    srv.wait_for_log(r"bgw_shmem_test: killer holding the lock")
    killer_exit = (rf"background worker \"bgw_shmem_test killer 1\" \(PID \d+\) "
                   + signal_line)
    srv.wait_for_log(killer_exit)
    srv.wait_for_log(re.escape(CRASH_LINES[0]))
    srv.wait_for_log(re.escape(CRASH_LINES[1]))
    srv.wait_for_log(r"postmaster LOG:  bgw_shmem_test: shmem_startup generation=2 found=false$")
    srv.wait_for_log(total_rx(2, k * m), timeout=120)
    log = srv.read_log()
    assert not re.search(r"bgw_shmem_test: total generation=1", log), \
        "counters finished while the killer held their lock"
    assert len(re.findall(r"bgw_shmem_test: killer started", log)) == 1
    assert log.count(CRASH_LINES[1]) == 1, "more than one crash"
    assert len(re.findall(r"bgw_shmem_test: counter started .* generation=2", log)) == k
    assert srv.pid == pm and harness.pid_alive(pm)
    srv.wait_accepting()
    srv.stop("fast")


@pytest.mark.parametrize("how,code", [(0, 0), (1, 1), (2, 1), (3, 1)])
def test_worker_exiting_while_holding_an_lwlock_releases_it(make_server, how, code):
    # how: 0 returns from main (exit 0), 1 proc_exit(1), 2 uncaught ERROR,
    # 3 FATAL. None is a crash; the waiter sleeping on the lock gets it.
    srv = start_server(make_server, f"holder:{how},waiter")
    srv.wait_for_log(rf"bgw_shmem_test: holder exits holding the lock how={how}$")
    srv.wait_for_log(r"bgw_shmem_test: waiter acquired the lock waited=true$")
    if code != 0:
        srv.wait_for_log(r"background worker \"bgw_shmem_test holder 1\" \(PID \d+\) "
                         rf"exited with exit code {code}$")
    log = srv.read_log()
    if how == 2:
        assert "ERROR:  bgw_shmem_test: holder raises ERROR holding the lock" in log
    if how == 3:
        assert "FATAL:  bgw_shmem_test: holder raises FATAL holding the lock" in log
    assert_no_crash(srv)
    srv.stop("fast")


def test_worker_without_shmem_access_gets_a_clear_error(make_server):
    srv = start_server(make_server, "noshmem,counter", **{"bgw_shmem_test.iterations": 100})
    srv.wait_for_log(r"bgw_shmem_test: noshmem done$")
    hint = ("Register the background worker with BGWORKER_SHMEM_ACCESS in bgw_flags to use "
            "shared memory")
    srv.wait_for_log(r"bgw_shmem_test: noshmem ShmemInitStruct error: shared memory is not "
                     r"available in this process hint: " + re.escape(hint))
    srv.wait_for_log(r"bgw_shmem_test: noshmem LWLockAcquire error: shared memory is not "
                     r"available in this process hint: " + re.escape(hint))
    # The server and its shared memory are unaffected.
    srv.wait_for_log(total_rx(1, 100))
    log = srv.read_log()
    assert "noshmem ShmemInitStruct succeeded" not in log
    assert "noshmem LWLockAcquire succeeded" not in log
    assert_no_crash(srv)
    srv.stop("fast")


def test_late_requests_and_over_allocation_are_refused(make_server):
    srv = start_server(make_server, "late_request,overalloc")
    srv.wait_for_log(r"bgw_shmem_test: late_request done$")
    srv.wait_for_log(r"bgw_shmem_test: overalloc state intact$")
    log = srv.read_log()
    assert ("bgw_shmem_test: late RequestAddinShmemSpace error: cannot request additional shared "
            "memory outside shmem_request_hook") in log, log
    assert ("bgw_shmem_test: late RequestNamedLWLockTranche error: cannot request additional "
            "LWLocks outside shmem_request_hook") in log, log
    m = re.search(r"bgw_shmem_test: overalloc error: (.*) hint: (.*)$", log, re.M)
    assert m, log
    assert m.group(1) == ('out of shared memory: 1048576 bytes for "bgw_shmem_test overflow" '
                          'requested by library "bgw_shmem_test"'), m.group(1)
    assert "RequestAddinShmemSpace()" in m.group(2) and "shmem_request_hook" in m.group(2)
    assert re.search(r"bgw_shmem_test: overalloc detail: Modules reserved \d+ bytes with "
                     r"RequestAddinShmemSpace\(\); \d+ of them are left\.$", log, re.M), log
    assert "succeeded" not in "\n".join(l for l in log.splitlines() if "bgw_shmem_test:" in l)
    assert_no_crash(srv)
    srv.stop("fast")


def test_module_that_requests_nothing_cannot_take_the_servers_space(make_server):
    # Without RequestAddinShmemSpace, ShmemInitStruct in shmem_startup_hook
    # fails at startup with a message naming the library and the fix (the
    # server's own slack is not handed out to modules).
    if not os.path.exists(os.path.join(BGW_MODULE_DIR, LIBRARY + ".so")):
        pytest.fail(f"{LIBRARY}.so not built in {BGW_MODULE_DIR} (set BGW_MODULE_DIR)")
    srv = make_server()
    srv.init(**{
        "dynamic_library_path": BGW_MODULE_DIR,
        "shared_preload_libraries": LIBRARY,
        "bgw_shmem_test.request_mode": "none",
    })
    cp = srv.start(check=False, timeout=30)
    assert cp.returncode != 0, harness.describe(cp)
    text = srv.read_log() + harness.output(cp)
    assert re.search(r'out of shared memory: \d+ bytes for "bgw_shmem_test state" requested by '
                     r'library "bgw_shmem_test"', text), text
    assert "HINT:  Request the space with RequestAddinShmemSpace()" in text, text
    harness.wait_gone(srv.known_pids)
