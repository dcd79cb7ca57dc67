"""The server never runs as root: `bgw init`, `bgw start` and `bgw run` refuse
effective uid 0 before they touch anything; the control commands still work.

The tests themselves run unprivileged (conftest.py insists), so they appear
as root through `unshare --map-root-user`: a new user namespace in which our
own uid is 0. The kernel keeps our real identity for files and signals, so
a data directory we made and a server we started stay ours to inspect.
(The real and saved ID checks cannot be reached this way; the unit test
src/cli/privilege_test.cc covers them with made-up IDs.)
"""

import os
import shutil

import pytest

import harness
from harness import BGW_BIN, describe, output

SERVER_COMMANDS = ["init", "start", "run"]


@pytest.fixture(scope="module")
def as_root():
    """Command prefix that runs a program as uid 0 of a fresh user namespace."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare (util-linux) is not installed")
    cp = harness.run([unshare, "--map-root-user", "id", "-u"])
    if cp.returncode != 0 or cp.stdout.strip() != "0":
        pytest.skip("unprivileged user namespaces are not available here "
                    f"(unshare --map-root-user: {output(cp).strip() or cp.returncode})")
    return [unshare, "--map-root-user"]


def _refused(cp, sub):
    assert cp.returncode == 1, describe(cp)
    err = cp.stderr
    assert f'bgw: error: refusing to run "bgw {sub}" as root\n' in err, describe(cp)
    assert "must run under an unprivileged user ID" in err, describe(cp)
    assert "HINT:  Create an ordinary user" in err, describe(cp)
    assert "scripts/demo" in err, describe(cp)
    assert cp.stdout == "", describe(cp)


def _tree(path):
    """Every entry under `path` with its size and modification time."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            out[os.path.relpath(full, path)] = (st.st_size, st.st_mtime_ns)
    return out


def test_init_refuses_root_before_creating_or_reading_anything(as_root, tmp_path):
    d = tmp_path / "data"
    # A missing password file would be reported if it were read first.
    cp = harness.run([*as_root, BGW_BIN, "init", "-D", d, "-A", "scram-sha-256",
                      "--pwfile", tmp_path / "no-such-pwfile"])
    _refused(cp, "init")
    assert not d.exists(), "a refused bgw init must not create the data directory"
    cp = harness.run([*as_root, BGW_BIN, "init", "-D", d])
    _refused(cp, "init")
    assert not d.exists()


@pytest.mark.parametrize("sub", ["start", "run"])
def test_start_and_run_refuse_root_and_leave_the_data_directory_alone(as_root, make_server, sub):
    srv = make_server()
    srv.init()
    before = _tree(srv.datadir)
    # Not refused, `run` would start a server here (in the namespace the
    # directory's owner is uid 0, as is the command) and time out below.
    extra = ["-t", "10"] if sub == "start" else []
    cp = harness.run([*as_root, BGW_BIN, sub, "-D", srv.datadir, *extra], timeout=30)
    _refused(cp, sub)
    assert _tree(srv.datadir) == before, "a refused command must not touch the data directory"
    assert not srv.pidfile.exists()
    assert not srv.logfile.exists(), "bgw start opened its log before refusing"


@pytest.mark.parametrize("sub", SERVER_COMMANDS)
def test_help_and_usage_errors_still_work_as_root(as_root, tmp_path, sub):
    cp = harness.run([*as_root, BGW_BIN, sub, "--help"])
    assert cp.returncode == 0, describe(cp)
    assert "Usage:" in cp.stdout and "as root" in cp.stdout, describe(cp)
    cp = harness.run([*as_root, BGW_BIN, sub, "-D", tmp_path / "d", "--no-such-option"])
    assert cp.returncode == 2, describe(cp)
    assert not (tmp_path / "d").exists()


def test_control_commands_work_as_root(as_root, server):
    """stop, status, reload and config only read files and send signals."""
    for args in (["status", "-D", server.datadir], ["reload", "-D", server.datadir],
                 ["config", "--version"], ["--help"]):
        cp = harness.run([*as_root, BGW_BIN, *args])
        assert cp.returncode == 0, describe(cp)
    pid = server.pid
    cp = harness.run([*as_root, BGW_BIN, "stop", "-D", server.datadir, "-m", "fast"])
    assert cp.returncode == 0, describe(cp)
    assert "server stopped" in cp.stdout, describe(cp)
    assert not harness.pid_alive(pid)
