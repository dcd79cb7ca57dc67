"""Dynamic shared memory segments (storage/dsm.h) in a real server.

A segment is /dev/shm/bgw.<st_dev>.<st_ino>.<handle> (the data directory's
device and inode). The launcher worker of modules/bgw_shm_mq_test runs the
scenarios of `bgw_shm_mq_test.dsm_tests` and logs one
"bgw_shm_mq_test CHECK name=... ok=..." line per check:

  pin     a worker creates and pins a segment and exits; another worker
          attaches it by handle, finds its contents and unpins it; then it
          is gone (dsm_attach returns NULL);
  detach  the launcher's segment stays usable by a worker after the launcher
          detaches, and is gone after the worker's detach;
  errors  misuse of dsm/shm_toc/shm_mq raises the expected ERRORs; a worker
          without BGWORKER_SHMEM_ACCESS gets a clear one;
  hold    the launcher holds an unpinned and a pinned segment and a worker
          holds the unpinned one, forever ("bgw_shm_mq_test DSM HOLDING").

And, whatever happens to the processes, nothing of the server is left in
/dev/shm after a fast stop, a crash (SIGKILL of a worker attached to shared
memory, then reinitialization), or a SIGKILLed postmaster followed by a
restart.
"""

from __future__ import annotations

import os
import re
import signal

import harness
from harness import LOG_READY, pid_alive
from test_shm_mq import assert_no_crash, segment_files, segment_prefix, start_server, wait_done

CHECK_RX = re.compile(
    r'bgw_shm_mq_test CHECK name=(?P<name>\w+) ok=(?P<ok>true|false) detail="(?P<detail>[^"]*)"$',
    re.M,
)
HOLDING_RX = (
    r"bgw_shm_mq_test DSM HOLDING handles=(\d+),(\d+),(\d+) launcher_pid=(\d+) worker_pid=(\d+)$"
)


def checks(srv: harness.Server) -> dict[str, dict]:
    return {m["name"]: m.groupdict() for m in CHECK_RX.finditer(srv.read_log())}


def wait_holding(srv: harness.Server, since: int = 0) -> dict:
    m = srv.wait_for_log(HOLDING_RX, since=since, timeout=60)
    mailbox, unpinned, pinned, launcher, worker = (int(x) for x in m.groups())
    return {
        "handles": [mailbox, unpinned, pinned],
        "pinned": pinned,
        "launcher": launcher,
        "worker": worker,
    }


def segment_exists(srv: harness.Server, handle: int) -> bool:
    return os.path.exists(f"/dev/shm/{segment_prefix(srv)}{handle}")


def test_pinning_detaching_and_errors(make_server):
    srv = start_server(make_server, **{"bgw_shm_mq_test.dsm_tests": "pin,detach,errors"})
    _, _, checks_failed = wait_done(srv, timeout=60)
    c = checks(srv)
    expected = [
        "pin_created",
        "pin_survives_creator_exit",
        "pin_gone_after_unpin_and_detach",
        "pin_gone_for_launcher",
        "detach_worker_attached",
        "detach_unmapped_here",
        "detach_shared_after_creator_detached",
        "detach_gone_after_last_detach",
        "detach_gone_for_launcher",
        "dsm_create_zero",
        "dsm_create_huge",
        "dsm_attach_invalid_handle_is_null",
        "dsm_create",
        "dsm_attach_twice",
        "dsm_unpin_not_pinned",
        "dsm_pin_twice",
        "shm_toc_attach_wrong_magic",
        "shm_toc_out_of_space",
        "shm_toc_missing_key",
        "shm_mq_create_too_small",
        "shm_mq_sender_twice",
        "shm_mq_receiver_twice",
        "shm_mq_get_sender",
        "shm_mq_send_too_big",
        "shm_mq_loopback",
        "dsm_attach_after_detach_is_null",
    ]
    assert sorted(c) == sorted(expected), sorted(c)
    failed = {k: v for k, v in c.items() if v["ok"] != "true"}
    assert not failed, failed
    assert checks_failed == 0
    assert c["dsm_create_zero"]["detail"] == "cannot create a dynamic shared memory segment of 0 bytes"
    assert c["dsm_attach_twice"]["detail"] == "can't attach the same segment more than once"
    assert c["shm_mq_sender_twice"]["detail"] == "queue already has a sender"
    assert c["shm_toc_out_of_space"]["detail"] == "out of shared memory"

    # A worker without BGWORKER_SHMEM_ACCESS is told why it cannot.
    m = srv.wait_for_log(r'bgw_shm_mq_test NOSHMEM error="([^"]*)"$')
    assert m.group(1) == (
        "cannot create dynamic shared memory segments: this process has no access to shared memory"
    )
    # The pinned segment outlived its creator and is gone now.
    pinned = int(srv.wait_for_log(r"bgw_shm_mq_test DSM pinned handle=(\d+)$").group(1))
    assert not segment_exists(srv, pinned)
    assert segment_files(srv) == []
    assert_no_crash(srv)


def test_nothing_left_after_a_fast_stop(make_server):
    srv = start_server(make_server, **{"bgw_shm_mq_test.dsm_tests": "hold"})
    held = wait_holding(srv)
    for h in held["handles"]:
        assert segment_exists(srv, h), (h, segment_files(srv))
    srv.stop("fast")
    # The pinned segment had no process left to remove it: the postmaster did.
    assert segment_files(srv) == []


def test_nothing_left_after_a_crash(make_server):
    srv = start_server(make_server, **{"bgw_shm_mq_test.dsm_tests": "hold"})
    held = wait_holding(srv)
    assert len(segment_files(srv)) == 3
    mark = srv.log_mark()
    os.kill(held["worker"], signal.SIGKILL)  # attached to shared memory: a crash
    srv.wait_for_log(r"all server processes terminated; reinitializing$", since=mark)
    srv.wait_for_log(re.escape(LOG_READY) + "$", since=mark)
    assert not pid_alive(held["launcher"])
    # Killed processes never detached; reinitialization removed everything.
    assert segment_files(srv) == []
    srv.stop("fast")
    assert segment_files(srv) == []


def test_nothing_left_after_postmaster_sigkill_and_restart(make_server):
    srv = start_server(make_server, **{"bgw_shm_mq_test.dsm_tests": "hold"})
    held = wait_holding(srv)
    pm = srv.pid
    kids = harness.children_of(pm)
    os.kill(pm, signal.SIGKILL)
    harness.wait_gone([pm] + kids, timeout=10)
    # The children saw the postmaster die and exited, detaching what they
    # could; the pinned segment had nobody to remove it.
    assert segment_exists(srv, held["pinned"]), segment_files(srv)

    mark = srv.log_mark()
    srv.start()
    held2 = wait_holding(srv, since=mark)
    for h in held["handles"]:
        assert not segment_exists(srv, h), (h, segment_files(srv))
    assert sorted(segment_files(srv)) == sorted(
        f"{segment_prefix(srv)}{h}" for h in held2["handles"]
    )
    srv.stop("fast")
    assert segment_files(srv) == []


def test_segments_of_another_server_are_left_alone(make_server):
    """The prefix is per data directory: one server's cleanup never touches another's."""
    a = start_server(make_server, **{"bgw_shm_mq_test.dsm_tests": "hold"})
    held = wait_holding(a)
    b = start_server(make_server, **{"bgw_shm_mq_test.dsm_tests": "hold"})
    wait_holding(b)
    assert segment_prefix(a) != segment_prefix(b)
    b.stop("fast")
    assert segment_files(b) == []
    for h in held["handles"]:
        assert segment_exists(a, h)
    a.stop("fast")
    assert segment_files(a) == []
