"""The modern C++ module API (include/bgworker/*.h), driven through the
example module modules/bgw_cxx_example (built into BGW_MODULE_DIR).

Its launcher (a static worker registered with bgworker::RegisterStatic)
runs the scenario named by `bgw_cxx_example.scenario` with
bgworker::WorkerHandle and logs what it saw as
"bgw_cxx_example RESULT key=value ..." lines. These tests check those
results against what the server and the workers themselves logged, and
against the processes that really ran.
"""

from __future__ import annotations

import os
import re

import pytest

import harness
from harness import BGW_MODULE_DIR, pid_alive, wait_gone, wait_until

LIBRARY = "bgw_cxx_example"

CRASH_LINES = (
    "terminating any other active server processes",
    "all server processes terminated; reinitializing",
    "was terminated by signal",
    "terminate called",  # std::terminate: a C++ exception escaped
    "PANIC:",
)

_RESULT_RX = re.compile(r"LOG:  bgw_cxx_example RESULT (.*)$", re.M)
_PAIR_RX = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def results(srv: harness.Server) -> dict[str, str]:
    """Every RESULT pair of the log (key="quoted text" or key=value); later ones win."""
    out: dict[str, str] = {}
    for m in _RESULT_RX.finditer(srv.read_log()):
        for key, value in _PAIR_RX.findall(m.group(1)):
            out[key] = re.sub(r"\\(.)", r"\1", value[1:-1]) if value.startswith('"') else value
    return out


def wait_result(srv: harness.Server, key: str, timeout: float = 90) -> dict[str, str]:
    try:
        return wait_until(lambda: (lambda r: r if key in r else None)(results(srv)), timeout,
                          what=f"launcher result {key!r}")
    except AssertionError as e:
        raise AssertionError(f"{e}\n--- log ---\n{srv.log_tail(80)}")


def start_server(make_server, **settings) -> harness.Server:
    if not os.path.exists(os.path.join(BGW_MODULE_DIR, LIBRARY + ".so")):
        pytest.fail(f"{LIBRARY}.so not built in {BGW_MODULE_DIR} (set BGW_MODULE_DIR)")
    srv = make_server()
    # Absolute: the server does not run in the test's working directory.
    srv.init(dynamic_library_path=os.path.abspath(BGW_MODULE_DIR), shared_preload_libraries=LIBRARY,
             **settings)
    srv.start()
    return srv


def assert_no_crash(srv: harness.Server) -> None:
    log = srv.read_log()
    for line in CRASH_LINES:
        assert line not in log, f"{line!r} in the log:\n{srv.log_tail(80)}"


def sleeper_starts(srv: harness.Server) -> dict[int, int]:
    """pid -> sleeper index, from the sleepers' own "started" lines."""
    rx = re.compile(r"LOG:  bgw_cxx_example sleeper (\d+) started pid=(\d+) launcher=(\d+)")
    return {int(m.group(2)): int(m.group(1)) for m in rx.finditer(srv.read_log())}


def test_demo_handles_waits_and_errors(make_server):
    srv = start_server(make_server, **{"bgw_cxx_example.workers": 3,
                                       "bgw_cxx_example.timeout_ms": 300})
    r = wait_result(srv, "demo_done")
    assert r["demo_done"] == "1", r
    assert r["scenario"] == "demo" and r["name"] == "bgw_cxx_example launcher", r
    launcher = int(r["launcher_pid"])

    # Invalid definitions come back as values; the launcher carried on.
    assert r["invalid_name"] == "kInvalidSpec", r
    assert "name is 200 bytes long; the limit is 95" in r["invalid_name_message"], r
    assert r["invalid_db_at_start"] == "kInvalidSpec", r
    assert r["invalid_restart"] == "kInvalidSpec", r
    assert r["invalid_extra"] == "kInvalidSpec", r
    # Nothing with a 200-character name reached the server.
    assert "x" * 96 not in srv.read_log()

    # An ereport(ERROR) caught by CatchPgErrors: a value, not logged.
    assert (r["caught_error"], r["sqlstate"]) == ("kPgError", "22012"), r
    assert "division by zero, raised on purpose" not in srv.read_log()

    # Three sleepers started; the pids WaitForStartup returned are theirs.
    assert r["started"] == "3", r
    pids = [int(p) for p in r["pids"].split(",")]
    assert len(set(pids)) == 3 and launcher not in pids, r
    seen = wait_until(lambda: (lambda s: s if all(p in s for p in pids) else None)(sleeper_starts(srv)),
                      what="sleepers' own start lines")
    assert sorted(seen[p] for p in pids) == [1, 2, 3], seen
    rx = re.compile(r"sleeper \d+ started pid=\d+ launcher=(\d+)")
    assert {int(x) for x in rx.findall(srv.read_log())} == {launcher}

    # Waiting for a sleeper that keeps running timed out after ~300 ms.
    assert r["timeout"] == "kTimeout", r
    assert 300 <= int(r["elapsed_ms"]) < 10000, r
    assert r["timeout_state"] == "kStarted" and int(r["timeout_pid"]) in pids, r

    # The last sleeper was terminated and seen stopped within the timeout.
    assert r["terminated"] == "ok" and r["terminated_state"] == "kStopped", r
    terminated = int(r["terminated_pid"])
    assert terminated == pids[-1], r
    assert harness.wait_until(lambda: not pid_alive(terminated), what="terminated sleeper gone")
    log = srv.read_log()
    assert re.search(r'terminating background worker "bgw_cxx_example sleeper" due to '
                     r"administrator command", log), srv.log_tail(60)

    # A C++ exception escaping a worker body became an ERROR and exit 1.
    assert r["thrower"] == "stopped", r
    assert re.search(r"ERROR:  unhandled C\+\+ exception: bgw_cxx_example thrower: thrown on "
                     r"purpose", log), srv.log_tail(60)
    assert re.search(r'background worker "bgw_cxx_example thrower" \(PID \d+\) exited with exit '
                     r"code 1", log), srv.log_tail(60)

    # The launcher returned: its handles' destructors (OnDestroy::kTerminate)
    # stopped the remaining sleepers, and the launcher was unregistered.
    wait_gone(pids + [launcher])
    assert not re.search(r'background worker "bgw_cxx_example launcher" \(PID \d+\) exited',
                         srv.read_log())
    assert_no_crash(srv)
    # ... and unregistered them (never-restart workers that exited 1).
    wait_until(lambda: "bgw_cxx_example sleeper" not in srv.status().stdout,
               what="sleepers unregistered")
    srv.stop("fast")
    assert harness.LOG_SHUT_DOWN in srv.read_log()
    assert_no_crash(srv)


def test_slot_exhaustion_and_reuse(make_server):
    # Three slots: the launcher holds one, so two dynamic workers fit.
    srv = start_server(make_server, max_worker_processes=3,
                       **{"bgw_cxx_example.scenario": "exhaust"})
    r = wait_result(srv, "exhaust_done")
    assert r["scenario"] == "exhaust", r
    assert (r["exhaust"], r["registered"], r["max_worker_processes"]) == ("kNoFreeSlot", "2", "3"), r
    assert "max_worker_processes" in r["exhaust_message"], r
    assert r["exhaust_started"] == "2", r
    # A stopped worker's slot is free again.
    assert r["reuse"] == "ok", r
    wait_until(lambda: len(sleeper_starts(srv)) >= 3, what="three sleeper starts")
    wait_gone(list(sleeper_starts(srv)))
    assert_no_crash(srv)
    srv.stop("fast")
    assert_no_crash(srv)


def test_unknown_scenario_is_reported(make_server):
    # The launcher's scenario comes from a setting; a bad value is a result,
    # not a crash or a restart loop.
    srv = start_server(make_server, **{"bgw_cxx_example.scenario": "nope"})
    r = wait_result(srv, "unknown_scenario")
    assert r["unknown_scenario"] == "nope", r
    srv.stop("fast")
    assert_no_crash(srv)
