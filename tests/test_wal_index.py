"""The postmaster's shared lock on every database's wal-index (-shm) file.

The postmaster holds SQLite's "dead man switch" byte (128) of each -shm file
shared, so that a backend that is the only process with a database open does
not truncate the -shm and rebuild the wal-index from the whole -wal file
(src/postmaster/wal_index_pins.h). These tests check, with real servers and
psql, that the postmaster holds exactly the right files (catalog, each
database, new ones after CREATE DATABASE, none of dropped ones), that data
committed by one short connection is read by the next, and that a crashed
backend, a crash reinitialization and a SIGKILLed postmaster leave the data
intact.
"""

import os
import re
import shutil
import signal
import subprocess
import time

import pytest

import harness

SUPERUSER = os.environ.get("BGW_TEST_SUPERUSER") or harness.OS_USER
DMS_BYTE = 128


def psql(srv, sql: str, db: str = "postgres", check: bool = True) -> str:
    cmd = ["psql", "-X", "-q", "-A", "-t", "-w", "-v", "ON_ERROR_STOP=1", "-h", str(srv.sockdir),
           "-p", str(srv.port), "-U", SUPERUSER, "-d", db, "-c", sql]
    cp = harness.run(cmd)
    if check:
        assert cp.returncode == 0, f"psql {sql!r} failed: {harness.describe(cp)}"
    return cp.stdout.strip()


def shm_inode(path) -> int | None:
    try:
        return os.stat(str(path) + "-shm").st_ino
    except FileNotFoundError:
        return None


def dms_holders(path) -> set[int]:
    """Pids holding a POSIX lock on byte 128 of path's -shm file (/proc/locks)."""
    ino = shm_inode(path)
    if ino is None:
        return set()
    st = os.stat(str(path) + "-shm")
    dev = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{ino}"
    holders = set()
    with open("/proc/locks") as f:
        for line in f:
            fields = line.split()
            # "1: POSIX  ADVISORY  READ 19960 fe:00:10961036 128 128"
            if "->" in fields:  # a blocked waiter, not a holder
                continue
            if len(fields) >= 8 and fields[1] == "POSIX" and fields[5] == dev and \
                    fields[6] == str(DMS_BYTE) and fields[7] == str(DMS_BYTE):
                holders.add(int(fields[4]))
    return holders


def postmaster_shm_fds(srv) -> list[str]:
    out = []
    fd_dir = f"/proc/{srv.pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except FileNotFoundError:
            continue
        if "-shm" in target:
            out.append(target)
    return out


def db_path(srv, name: str):
    oid = int(psql(srv, f"SELECT oid FROM pg_database WHERE datname = '{name}'"))
    return srv.datadir / "base" / f"{oid}.db"


def wait_held(srv, path) -> None:
    harness.wait_until(lambda: srv.pid in dms_holders(path), what=f"postmaster holds {path}-shm")


def test_postmaster_holds_catalog_and_databases(server):
    catalog = server.datadir / "global" / "catalog.db"
    postgres = db_path(server, "postgres")
    assert server.pid in dms_holders(catalog)
    assert server.pid in dms_holders(postgres)
    # One descriptor per file: a second one would drop the lock when closed.
    fds = postmaster_shm_fds(server)
    assert sorted(fds) == sorted([str(catalog) + "-shm", str(postgres) + "-shm"]), fds


def test_children_do_not_keep_the_postmasters_descriptors(server):
    conn = server.open_idle_connection(unix=True)
    try:
        (backend,) = server.wait_children("backend", 1)
        # The backend has not opened any database yet (no startup packet):
        # every -shm descriptor it had came from the postmaster.
        targets = [os.readlink(f"/proc/{backend}/fd/{fd}") for fd in os.listdir(f"/proc/{backend}/fd")]
        assert not [t for t in targets if "-shm" in t], targets
    finally:
        conn.close()


def test_short_connections_see_each_others_commits(server):
    psql(server, "CREATE TABLE t(i INTEGER, s TEXT)")
    for i in range(8):
        psql(server, f"INSERT INTO t VALUES ({i}, 'row {i}')")
        # Each psql is a new backend that exits before the next starts.
        assert psql(server, "SELECT count(*), sum(i) FROM t") == f"{i + 1}|{i * (i + 1) // 2}"
    assert server.pid in dms_holders(db_path(server, "postgres"))


def test_no_wal_index_reset_on_connect(server):
    """What this is for: a backend's open does not truncate the -shm file."""
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    psql(server, "CREATE TABLE t(i INTEGER); INSERT INTO t VALUES (1)")
    out = server.base / "strace.txt"
    tracer = harness.spawn(["strace", "-f", "-qq", "-e", "trace=ftruncate,fcntl", "-o", str(out),
                            "-p", str(server.pid)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
    try:
        # strace attaches asynchronously; it reports attaching on stderr
        # only without -qq, so wait for its first trace line instead.
        harness.wait_until(lambda: out.exists(), what="strace started")
        time.sleep(0.5)
        assert psql(server, "SELECT i FROM t") == "1"
        assert psql(server, "INSERT INTO t VALUES (2); SELECT count(*) FROM t") == "2"
    finally:
        tracer.send_signal(signal.SIGINT)
        tracer.wait(timeout=harness.WAIT_TIMEOUT)
    trace = out.read_text()
    # Skipped only when strace could trace nothing at all (ptrace refused):
    # a trace without the lock test is a failure, not a reason to skip.
    if not trace.strip():
        pytest.skip(f"strace traced nothing (ptrace not permitted?): {tracer.stderr.read()!r}")
    assert "F_GETLK" in trace, f"no backend tested the dead man switch:\n{trace[-4000:]}"
    # Every opener found the dead man switch held shared, so none truncated.
    assert re.search(r"F_GETLK, \{l_type=F_RDLCK, l_whence=SEEK_SET, l_start=128", trace), trace
    assert "l_type=F_UNLCK, l_whence=SEEK_SET, l_start=128" not in trace, trace
    assert "ftruncate(" not in trace, trace


def test_create_drop_recreate_database(server):
    for round_ in range(2):
        psql(server, "CREATE DATABASE wal_db")
        path = db_path(server, "wal_db")
        wait_held(server, path)
        psql(server, "CREATE TABLE t(i INTEGER)", db="wal_db")
        for i in range(4):
            psql(server, f"INSERT INTO t VALUES ({i})", db="wal_db")
            assert psql(server, "SELECT count(*) FROM t", db="wal_db") == str(i + 1)
        psql(server, "DROP DATABASE wal_db")
        assert not path.exists()
        # The postmaster lets go of the dropped file's wal-index.
        harness.wait_until(lambda: not [t for t in postmaster_shm_fds(server)
                                        if t.startswith(str(path))],
                           what="postmaster closed the dropped database's -shm")
    # Two rounds with the same name: the second database started empty
    # (CREATE TABLE succeeded again) and the postmaster holds catalog + postgres.
    assert len(postmaster_shm_fds(server)) == 2, postmaster_shm_fds(server)


def test_backend_crash_then_reconnect(server):
    psql(server, "CREATE TABLE t(i INTEGER)")
    psql(server, "INSERT INTO t VALUES (1), (2)")
    mark = server.log_mark()
    busy = harness.spawn(["psql", "-X", "-q", "-h", str(server.sockdir), "-p", str(server.port),
                          "-U", SUPERUSER, "-d", "postgres", "-c",
                          "BEGIN; INSERT INTO t VALUES (100); SELECT pg_sleep(60)"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        (backend,) = server.wait_children("backend", 1)
        harness.wait_until(lambda: psql(server, "SELECT count(*) FROM pg_stat_activity "
                                        "WHERE query LIKE '%pg_sleep(60)%' AND pid <> "
                                        "pg_backend_pid()") == "1",
                           what="the backend is inside its transaction")
        pm = server.pid
        os.kill(backend, signal.SIGKILL)
        server.wait_for_log(r"all server processes terminated; reinitializing", since=mark)
        server.wait_accepting()
        assert server.pid == pm
    finally:
        busy.kill()
        busy.wait()
    # Committed rows are there; the killed transaction's row is not.
    assert psql(server, "SELECT group_concat(i) FROM (SELECT i FROM t ORDER BY i)") == "1,2"
    psql(server, "INSERT INTO t VALUES (3)")
    assert psql(server, "SELECT count(*) FROM t") == "3"
    assert server.pid in dms_holders(db_path(server, "postgres"))


def test_postmaster_sigkill_then_restart(server):
    psql(server, "CREATE TABLE t(i INTEGER)")
    psql(server, "INSERT INTO t VALUES (1), (2), (3)")
    path = db_path(server, "postgres")
    pm = server.pid
    kids = harness.children_of(pm)
    os.kill(pm, signal.SIGKILL)
    harness.wait_gone([pm, *kids])
    # The kernel dropped the dead postmaster's locks.
    assert not dms_holders(path)
    server.start()
    assert server.pid != pm
    wait_held(server, path)
    assert psql(server, "SELECT sum(i) FROM t") == "6"
    psql(server, "INSERT INTO t VALUES (4)")
    server.stop()
    # Stopped: nobody holds the files, and offline tools open them as SQLite's
    # first connection (the -wal is replayed), as before.
    assert not dms_holders(path)
    server.start()
    assert psql(server, "SELECT sum(i) FROM t") == "10"
