"""The C++ shared-memory toolkit (include/bgworker/shmem.h), driven through
the module modules/bgw_cxx_shmem_test (built into BGW_MODULE_DIR).

Its launcher logs "bgw_cxx_shmem RESULT key=value ..." lines: typed shared
structs (SharedStruct) with RAII lock guards under three concurrent
incrementers, TryLock and lock conflicts as values, a Channel<Record> echo
through a DSM segment laid out with shm_toc, and SharedStruct::Attach in a
worker without shared memory access (an error value, not a crash).
"""

from __future__ import annotations

import os
import re

import pytest

import harness
from harness import BGW_MODULE_DIR, wait_until

LIBRARY = "bgw_cxx_shmem_test"

CRASH_LINES = (
    "terminating any other active server processes",
    "all server processes terminated; reinitializing",
    "was terminated by signal",
    "terminate called",
    "PANIC:",
    "stuck spinlock",
)

_RESULT_RX = re.compile(r"LOG:  bgw_cxx_shmem RESULT (.*)$", re.M)
_PAIR_RX = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def results(srv: harness.Server) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in _RESULT_RX.finditer(srv.read_log()):
        for key, value in _PAIR_RX.findall(m.group(1)):
            out[key] = re.sub(r"\\(.)", r"\1", value[1:-1]) if value.startswith('"') else value
    return out


def wait_result(srv: harness.Server, key: str, timeout: float = 180) -> dict[str, str]:
    try:
        return wait_until(lambda: (lambda r: r if key in r else None)(results(srv)), timeout,
                          what=f"launcher result {key!r}")
    except AssertionError as e:
        raise AssertionError(f"{e}\n--- log ---\n{srv.log_tail(80)}")


def assert_no_crash(srv: harness.Server) -> None:
    log = srv.read_log()
    for line in CRASH_LINES:
        assert line not in log, f"{line!r} in the log:\n{srv.log_tail(80)}"


def test_shared_struct_locks_and_channel(make_server):
    if not os.path.exists(os.path.join(BGW_MODULE_DIR, LIBRARY + ".so")):
        pytest.fail(f"{LIBRARY}.so not built in {BGW_MODULE_DIR} (set BGW_MODULE_DIR)")
    iterations, records = 5000, 300
    srv = make_server()
    srv.init(dynamic_library_path=os.path.abspath(BGW_MODULE_DIR), shared_preload_libraries=LIBRARY,
             **{"bgw_cxx_shmem_test.iterations": iterations,
                "bgw_cxx_shmem_test.records": records})
    srv.start()
    r = wait_result(srv, "done")
    assert r["done"] == "1", r

    # The struct was created once (by the startup hook) and attached by all.
    assert (r["attach"], r["init_count"]) == ("ok", "1"), r

    # Errors of SharedStruct::Attach are values: space never requested,
    # a name too long for the index.
    assert r["unrequested"] == "kPgError", r
    assert "out of shared memory" in r["unrequested_message"], r
    assert r["long_name"] == "kInvalidSpec", r

    # Three incrementers, LWLockGuard and SpinLockGuard: exact totals.
    expected = 3 * iterations
    assert int(r["expected"]) == expected, r
    assert int(r["counter"]) == expected, r
    assert int(r["spin_counter"]) == expected, r
    assert (r["workers_done"], r["workers_stopped"]) == ("3", "3"), r
    assert len(re.findall(r"bgw_cxx_shmem incrementer \d done", srv.read_log())) == 3

    # TryLock on a held lock is busy; a conflicting acquire is an ERROR
    # caught as a value; interrupt holdoff stays consistent.
    assert (r["trylock_held"], r["self_conflict"]) == ("busy", "kPgError"), r
    assert r["holdoff_while_held"] == "1", r
    assert (r["trylock_free"], r["holdoff_after"]) == ("acquired", "0"), r

    # Channel<Record> through DSM + shm_toc: every record came back intact.
    assert r["early_receive"] == "kTimeout", r
    assert (r["echo_sent"], r["echo_ok"], r["echo_bad"]) == (str(records), str(records), "0"), r
    assert r["echo_worker_mismatch"] == "kInvalidSpec", r
    assert r["odd_sent"] == "ok" and r["size_mismatch"] == "kInvalidSpec", r
    assert "received a message of 5 bytes" in r["size_mismatch_message"], r
    assert (r["echo_worker_end"], r["echoed"]) == ("kStopped", str(records)), r
    assert (r["after_detach"], r["send_detached"]) == ("kStopped", "kInvalidSpec"), r
    assert r["echo_worker"] == "stopped", r

    # No BGWORKER_SHMEM_ACCESS: an Expected error, logged, not a crash.
    assert r["noshmem"] in ("kPgError", "kNotUnderPostmaster"), r
    assert "shared memory is not available" in r["noshmem_message"], r
    assert r["noshmem_worker"] == "stopped", r

    log = srv.read_log()
    assert not re.search(r'background worker "bgw_cxx_shmem_test [^"]*" \(PID \d+\) exited with '
                         r"exit code 1", log), srv.log_tail(60)
    assert "ERROR:" not in log, srv.log_tail(60)
    assert_no_crash(srv)
    srv.stop("fast")
    assert harness.LOG_SHUT_DOWN in srv.read_log()
    assert_no_crash(srv)
