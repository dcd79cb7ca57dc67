"""Integration-test harness for the bgw server.

Drives real server processes through the `bgw` command line and talks to them
over real sockets.  Only the Python standard library is used.

Process bookkeeping: on import this module makes the test process a child
subreaper (prctl PR_SET_CHILD_SUBREAPER), so every process a test starts --
including a postmaster daemonized by `bgw start` and the children of a
postmaster that was SIGKILLed -- stays in our process tree.  That gives
teardown a reliable "kill everything we started" (all our descendants) and
means zombies are reaped by us, not by whatever PID 1 the machine has.  A
small reaper thread reaps orphaned zombies that were re-parented to us; the
processes we spawned ourselves (subprocess.Popen) are left to their Popen
object.  All spawning must therefore go through `spawn()` / `run()` here.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

BGW_BIN = os.environ.get("BGW_BIN") or "/work/main/build/bgw"
BGW_BUILD_DIR = os.environ.get("BGW_BUILD_DIR") or str(Path(BGW_BIN).parent)

# The superuser `bgw init` creates by default is named after the effective
# user. getpass.getuser() would trust $USER and $LOGNAME instead, which a
# switch of user (setpriv, su -p) may leave naming the caller.
OS_USER = pwd.getpwuid(os.geteuid()).pw_name

# Generous default timeouts: the VM is small and noisy.  Nothing asserts on
# speed; these only bound how long a broken server can hang a test.
CMD_TIMEOUT = 90.0
WAIT_TIMEOUT = 60.0

LOG_READY = "database system is ready to accept connections"
LOG_SHUT_DOWN = "database system is shut down"

PG_PROTOCOL_V3 = 196608
SSL_REQUEST_CODE = 80877103
GSSENC_REQUEST_CODE = 80877104

# ---------------------------------------------------------------------------
# Process-tree bookkeeping.

_PR_SET_CHILD_SUBREAPER = 36
_spawn_lock = threading.RLock()
_tracked: dict[int, subprocess.Popen] = {}  # pid -> Popen that owns its reaping


def _make_subreaper() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except Exception:  # pragma: no cover - best effort
        return False


SUBREAPER = _make_subreaper()

# SIGQUIT to a process that has not installed its handlers yet dumps core;
# keep cores out of the test directories.
try:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
except (ValueError, OSError):  # pragma: no cover
    pass


def _direct_children(pid: int | None = None) -> list[int]:
    """Children of `pid` (default: this process) via /proc/PID/task/*/children."""
    pid = os.getpid() if pid is None else pid
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out.extend(int(x) for x in f.read().split())
        except OSError:
            continue
    return out


def _reap_orphans() -> None:
    with _spawn_lock:
        for pid in _direct_children():
            popen = _tracked.get(pid)
            if popen is not None:
                if popen.returncode is None:
                    continue  # its Popen reaps it
                del _tracked[pid]  # stale entry: that pid was reaped already
            if proc_state(pid) == "Z":
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass


def _reaper_loop() -> None:
    while True:
        try:
            _reap_orphans()
        except Exception:
            pass
        time.sleep(0.05)


class _TrackedPopen(subprocess.Popen):
    """Every Popen of the test process (also subprocess.run's, used directly
    by tests) is registered before the reaper can see its child: otherwise
    the reaper could reap a finished psql first, and Popen.wait() would then
    report exit status 0 for a command that failed."""

    def __init__(self, *args, **kwargs):
        with _spawn_lock:
            super().__init__(*args, **kwargs)
            _tracked[self.pid] = self


subprocess.Popen = _TrackedPopen  # subprocess.run looks Popen up at call time

threading.Thread(target=_reaper_loop, name="bgw-test-reaper", daemon=True).start()


def spawn(args, **kwargs) -> subprocess.Popen:
    """subprocess.Popen, registered so the reaper thread leaves it alone."""
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.Popen([str(a) for a in args], **kwargs)


def run(args, timeout: float = CMD_TIMEOUT, env=None, cwd=None) -> subprocess.CompletedProcess:
    """Runs a command to completion; returns CompletedProcess with text output."""
    p = spawn(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError(
            f"command timed out after {timeout}s: {args!r}\nstdout: {out.decode(errors='replace')}"
            f"\nstderr: {err.decode(errors='replace')}"
        )
    return subprocess.CompletedProcess(
        p.args, p.returncode, out.decode(errors="replace"), err.decode(errors="replace")
    )


def bgw(*args, timeout: float = CMD_TIMEOUT, env=None, cwd=None) -> subprocess.CompletedProcess:
    return run([BGW_BIN, *args], timeout=timeout, env=env, cwd=cwd)


def output(cp: subprocess.CompletedProcess) -> str:
    return (cp.stdout or "") + (cp.stderr or "")


def describe(cp: subprocess.CompletedProcess) -> str:
    return f"exit={cp.returncode}\n--- stdout ---\n{cp.stdout}\n--- stderr ---\n{cp.stderr}"


# ---------------------------------------------------------------------------
# /proc helpers.


def _read_stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the comm field: [state, ppid, pgrp, ...]."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode(errors="replace")
    except OSError:
        return None
    close = data.rfind(")")
    if close < 0:
        return None
    return data[close + 2 :].split()


def proc_state(pid: int) -> str | None:
    st = _read_stat(pid)
    return st[0] if st else None


def proc_ppid(pid: int) -> int | None:
    st = _read_stat(pid)
    return int(st[1]) if st else None


def pid_alive(pid: int) -> bool:
    """True if the process exists and is not a zombie (or dead)."""
    state = proc_state(pid)
    return state is not None and state not in ("Z", "X", "x")


def all_pids() -> list[int]:
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def children_of(pid: int, include_zombies: bool = False) -> list[int]:
    """Direct children of `pid`, found by scanning the ppid of every process."""
    out = []
    for p in all_pids():
        st = _read_stat(p)
        if st is None or int(st[1]) != pid:
            continue
        if not include_zombies and st[0] in ("Z", "X", "x"):
            continue
        out.append(p)
    return sorted(out)


def descendants_of(pid: int, include_zombies: bool = False) -> list[int]:
    parent = {}
    state = {}
    for p in all_pids():
        st = _read_stat(p)
        if st is None:
            continue
        parent[p] = int(st[1])
        state[p] = st[0]
    out = []
    frontier = [pid]
    while frontier:
        cur = frontier.pop()
        for p, pp in parent.items():
            if pp == cur and p not in out:
                out.append(p)
                frontier.append(p)
    if not include_zombies:
        out = [p for p in out if state.get(p) not in ("Z", "X", "x")]
    return sorted(out)


def cmdline(pid: int) -> str:
    """Process title as ps shows it (NULs become spaces, trailing ones dropped)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            data = f.read()
    except OSError:
        return ""
    return data.replace(b"\0", b" ").decode(errors="replace").strip()


def ctx_switches(pid: int) -> int | None:
    """voluntary + nonvoluntary context switches of the whole process."""
    try:
        with open(f"/proc/{pid}/status") as f:
            text = f.read()
    except OSError:
        return None
    v = re.search(r"^voluntary_ctxt_switches:\s*(\d+)", text, re.M)
    n = re.search(r"^nonvoluntary_ctxt_switches:\s*(\d+)", text, re.M)
    if not v or not n:
        return None
    return int(v.group(1)) + int(n.group(1))


def wait_until(predicate, timeout: float = WAIT_TIMEOUT, interval: float = 0.05, what: str = ""):
    """Polls `predicate` until it returns a truthy value; returns that value.

    Raises AssertionError naming `what` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


def wait_gone(pids, timeout: float = WAIT_TIMEOUT) -> None:
    pids = list(pids)
    wait_until(
        lambda: not any(pid_alive(p) for p in pids),
        timeout,
        what=f"processes to exit: {[(p, cmdline(p)) for p in pids if pid_alive(p)]}",
    )


def kill_quietly(pid: int, sig: int = signal.SIGKILL) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def kill_all_descendants() -> None:
    """SIGKILLs every live descendant of the test process and reaps them."""
    for _ in range(20):
        victims = [p for p in descendants_of(os.getpid()) if pid_alive(p)]
        if not victims:
            break
        for p in victims:
            kill_quietly(p)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(pid_alive(p) for p in victims):
            time.sleep(0.02)
    with _spawn_lock:
        for p in list(_tracked.values()):
            if p.returncode is None:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
    _reap_orphans()


# ---------------------------------------------------------------------------
# Network helpers.


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def socket_path(sockdir: str, port: int) -> str:
    return os.path.join(sockdir, f".s.PGSQL.{port}")


def connect_tcp(port: int, host: str = "127.0.0.1", timeout: float = 30.0) -> socket.socket:
    s = socket.create_connection((host, port), timeout=timeout)
    s.settimeout(timeout)
    return s


def connect_unix(sockdir: str, port: int, timeout: float = 30.0) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(socket_path(sockdir, port))
    except Exception:
        s.close()
        raise
    return s


def recv_exact(sock: socket.socket, n: int) -> bytes | None:
    """Reads exactly n bytes; None if the peer closed first."""
    buf = b""
    while len(buf) < n:
        try:
            chunk = sock.recv(n - len(buf))
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        buf += chunk
    return buf


def wait_eof(sock: socket.socket, timeout: float = WAIT_TIMEOUT) -> bytes:
    """Reads until the peer closes the connection; returns what was received."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        except socket.timeout:
            raise AssertionError(f"connection not closed by the server within {timeout}s")
        if not chunk:
            return data
        data += chunk
        if time.monotonic() > deadline:
            raise AssertionError(f"connection not closed by the server within {timeout}s")


# ---------------------------------------------------------------------------
# Minimal PostgreSQL v3 protocol client.


def ssl_request_packet() -> bytes:
    return struct.pack("!II", 8, SSL_REQUEST_CODE)


def startup_packet(params: dict[str, str], version: int = PG_PROTOCOL_V3) -> bytes:
    body = struct.pack("!I", version)
    for k, v in params.items():
        body += k.encode() + b"\0" + v.encode() + b"\0"
    body += b"\0"
    return struct.pack("!I", len(body) + 4) + body


def read_message(sock: socket.socket) -> tuple[str, bytes] | None:
    """One backend message as (type char, payload); None on EOF."""
    head = recv_exact(sock, 5)
    if head is None:
        return None
    mtype = chr(head[0])
    (length,) = struct.unpack("!I", head[1:])
    if length < 4 or length > 1 << 24:
        raise AssertionError(f"implausible message length {length} for type {mtype!r}")
    payload = recv_exact(sock, length - 4)
    if payload is None:
        return None
    return mtype, payload


def parse_error_fields(payload: bytes) -> dict[str, str]:
    """ErrorResponse/NoticeResponse fields: {'S': 'FATAL', 'C': '57P03', 'M': ...}."""
    fields = {}
    for part in payload.split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode(errors="replace")
    return fields


class ProbeResult:
    def __init__(self):
        self.ssl_response: bytes | None = None
        self.messages: list[tuple[str, bytes]] = []
        self.error: dict[str, str] | None = None
        self.eof = False

    @property
    def severity(self) -> str | None:
        if self.error is None:
            return None
        return self.error.get("V") or self.error.get("S")

    def __repr__(self):
        return (
            f"ProbeResult(ssl={self.ssl_response!r}, types={[m[0] for m in self.messages]}, "
            f"error={self.error}, eof={self.eof})"
        )


def probe(
    sock: socket.socket,
    ssl: bool = False,
    user: str = "bgw_test_no_such_role",
    database: str = "bgw_test_no_such_db",
    extra: dict[str, str] | None = None,
) -> ProbeResult:
    """Sends [SSLRequest,] StartupMessage and reads until an ErrorResponse,
    an authentication request / ReadyForQuery, or EOF.  Closes nothing."""
    r = ProbeResult()
    if ssl:
        sock.sendall(ssl_request_packet())
        r.ssl_response = recv_exact(sock, 1)
        if r.ssl_response != b"N":
            return r
    params = {"user": user, "database": database, "application_name": "bgw_tests"}
    params.update(extra or {})
    sock.sendall(startup_packet(params))
    while True:
        msg = read_message(sock)
        if msg is None:
            r.eof = True
            return r
        r.messages.append(msg)
        if msg[0] == "E":
            r.error = parse_error_fields(msg[1])
            return r
        if msg[0] == "R" and len(msg[1]) >= 4 and struct.unpack("!I", msg[1][:4])[0] == 0:
            continue  # AuthenticationOk: the session setup goes on
        if msg[0] in ("R", "Z"):
            return r


def probe_tcp(port: int, host: str = "127.0.0.1", **kw) -> ProbeResult:
    with connect_tcp(port, host) as s:
        return probe(s, **kw)


def probe_unix(sockdir: str, port: int, **kw) -> ProbeResult:
    with connect_unix(sockdir, port) as s:
        return probe(s, **kw)


# ---------------------------------------------------------------------------
# Server.


def _quote(value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


class Server:
    """One data directory and the server that runs on it."""

    def __init__(self, base: Path, name: str = "data"):
        self.base = Path(base)
        self.datadir = self.base / name
        self.port = free_port()
        sockdir = self.base / "sock"
        if len(str(sockdir)) + len("/.s.PGSQL.65535.lock") >= 100:
            self.sockdir = Path(tempfile.mkdtemp(prefix="bgw"))
            self._own_sockdir = True
        else:
            sockdir.mkdir(parents=True, exist_ok=True)
            self.sockdir = sockdir
            self._own_sockdir = False
        self.known_pids: set[int] = set()
        self.run_procs: list[subprocess.Popen] = []
        self.sockets: list[socket.socket] = []

    # -- paths
    @property
    def conf(self) -> Path:
        return self.datadir / "bgw.conf"

    @property
    def pidfile(self) -> Path:
        return self.datadir / "postmaster.pid"

    @property
    def logfile(self) -> Path:
        return self.datadir / "log" / "bgw.log"

    # -- setup
    def init(self, check: bool = True, base_settings: bool = True, **settings):
        cp = bgw("init", "-D", self.datadir)
        if check:
            assert cp.returncode == 0, f"bgw init failed: {describe(cp)}"
            if base_settings:
                self.set_conf(
                    port=self.port,
                    listen_addresses="127.0.0.1",
                    unix_socket_directories=str(self.sockdir),
                    authentication_timeout=600,
                )
            if settings:
                self.set_conf(**settings)
        return cp

    def set_conf(self, **settings) -> None:
        """Appends `name = value` lines to bgw.conf (later lines win)."""
        self.append_conf("".join(f"{k} = {_quote(v)}\n" for k, v in settings.items()))

    def append_conf(self, text: str) -> int:
        """Appends raw text; returns the 1-based line number of its first line."""
        existing = self.conf.read_text() if self.conf.exists() else ""
        if existing and not existing.endswith("\n"):
            existing += "\n"
        first_line = existing.count("\n") + 1
        self.conf.write_text(existing + text)
        return first_line

    # -- control via the CLI
    def start(self, *extra, check: bool = True, timeout: int = 60) -> subprocess.CompletedProcess:
        cp = bgw("start", "-D", self.datadir, "-t", str(timeout), *extra, timeout=timeout + 30)
        if check:
            assert cp.returncode == 0, f"bgw start failed: {describe(cp)}\n--- log ---\n{self.log_tail()}"
        if cp.returncode == 0:
            info = self.read_pidfile()
            if info:
                self.known_pids.add(info["pid"])
        return cp

    def stop(self, mode: str | None = None, check: bool = True, timeout: int = 60):
        args = ["stop", "-D", self.datadir, "-t", str(timeout)]
        if mode:
            args += ["-m", mode]
        cp = bgw(*args, timeout=timeout + 30)
        if check:
            assert cp.returncode == 0, f"bgw stop failed: {describe(cp)}\n--- log ---\n{self.log_tail()}"
        return cp

    def status(self):
        return bgw("status", "-D", self.datadir)

    def reload(self):
        return bgw("reload", "-D", self.datadir)

    def spawn_run(self, *extra) -> subprocess.Popen:
        """`bgw run` in the foreground (its own session); stderr to run.stderr."""
        self.run_stderr_path = self.base / f"run-{len(self.run_procs)}.stderr"
        errf = open(self.run_stderr_path, "wb")
        try:
            p = spawn(
                [BGW_BIN, "run", "-D", self.datadir, *extra],
                stdout=subprocess.DEVNULL,
                stderr=errf,
                start_new_session=True,
                cwd=self.base,
            )
        finally:
            errf.close()
        self.run_procs.append(p)
        self.known_pids.add(p.pid)
        return p

    # -- state
    def read_pidfile(self) -> dict | None:
        """postmaster.pid as a dict; None if missing.  Raw lines in 'lines'."""
        try:
            text = self.pidfile.read_text()
        except FileNotFoundError:
            return None
        lines = text.split("\n")
        info: dict = {"lines": lines, "text": text}
        try:
            info["pid"] = int(lines[0])
        except (ValueError, IndexError):
            info["pid"] = None
        return info

    def wait_pidfile_status(self, status: str, timeout: float = WAIT_TIMEOUT) -> dict:
        def check():
            info = self.read_pidfile()
            if info and len(info["lines"]) >= 8 and info["lines"][7].strip() == status:
                return info
            return None

        return wait_until(check, timeout, what=f"postmaster.pid status {status!r}")

    @property
    def pid(self) -> int:
        info = self.read_pidfile()
        assert info and info["pid"], f"no postmaster.pid in {self.datadir}"
        self.known_pids.add(info["pid"])
        return info["pid"]

    def children(self) -> list[int]:
        return children_of(self.pid)

    def children_by_kind(self, kind: str, pm_pid: int | None = None) -> list[int]:
        pm = pm_pid or self.pid
        return [c for c in children_of(pm) if cmdline(c).startswith(f"bgw: {kind}")]

    def wait_children(self, kind: str, count: int, timeout: float = WAIT_TIMEOUT) -> list[int]:
        pm = self.pid

        def check():
            found = self.children_by_kind(kind, pm)
            return found if len(found) >= count else None

        return wait_until(
            check,
            timeout,
            what=f"{count} '{kind}' children of postmaster {pm} "
            f"(children now: {[(c, cmdline(c)) for c in children_of(pm)]})",
        )

    def is_accepting(self) -> bool:
        try:
            r = probe_tcp(self.port)
        except OSError:
            return False
        return r.error is not None and r.error.get("C") != "57P03"

    def wait_accepting(self, timeout: float = WAIT_TIMEOUT) -> None:
        wait_until(self.is_accepting, timeout, interval=0.2, what="server to accept connections")

    # -- log
    def read_log(self) -> str:
        try:
            return self.logfile.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_mark(self) -> int:
        try:
            return self.logfile.stat().st_size
        except FileNotFoundError:
            return 0

    def log_since(self, mark: int) -> str:
        try:
            with open(self.logfile, "rb") as f:
                f.seek(mark)
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.read_log().splitlines()[-n:])

    def wait_for_log(self, pattern: str, since: int = 0, timeout: float = WAIT_TIMEOUT) -> re.Match:
        rx = re.compile(pattern, re.M)

        def check():
            return rx.search(self.log_since(since))

        try:
            return wait_until(check, timeout, interval=0.05, what=f"log line /{pattern}/")
        except AssertionError as e:
            raise AssertionError(f"{e}\n--- log since mark ---\n{self.log_since(since)[-4000:]}")

    # -- clients
    def open_idle_connection(self, unix: bool = False) -> socket.socket:
        """A connection that sends nothing (keeps a backend waiting)."""
        s = connect_unix(str(self.sockdir), self.port) if unix else connect_tcp(self.port)
        self.sockets.append(s)
        return s

    # -- teardown
    def cleanup(self) -> None:
        for s in self.sockets:
            try:
                s.close()
            except OSError:
                pass
        info = self.read_pidfile()
        if info and info.get("pid"):
            self.known_pids.add(info["pid"])
        if any(pid_alive(p) for p in self.known_pids) and os.path.exists(BGW_BIN):
            try:
                bgw("stop", "-D", self.datadir, "-m", "immediate", "-t", "20", timeout=40)
            except AssertionError:
                pass
        for p in self.known_pids:
            if pid_alive(p):
                for c in descendants_of(p):
                    kill_quietly(c)
                kill_quietly(p)
        for p in self.run_procs:
            if p.poll() is None:
                p.kill()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        if self._own_sockdir:
            shutil.rmtree(self.sockdir, ignore_errors=True)


def pg_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGCONNECT_TIMEOUT"] = "30"
    return env


# ---------------------------------------------------------------------------
# Background worker tests (test_bgworker*.py): where the test modules are
# built, and the time of a server log line.

BGW_MODULE_DIR = os.environ.get("BGW_MODULE_DIR") or os.path.join(BGW_BUILD_DIR, "modules")

_LOG_TIME_RX = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.(\d{3})")


def log_line_time(line: str) -> float | None:
    """Seconds since the epoch of a log line's %m prefix (local time, ms); None if absent."""
    m = _LOG_TIME_RX.match(line)
    if not m:
        return None
    return time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")) + int(m.group(2)) / 1000.0
