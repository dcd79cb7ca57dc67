"""Fixtures for the bgw integration tests (see harness.py)."""

import os

import pytest

import harness
import pwauth


def pytest_configure(config):
    """As root every server the tests start would refuse to run (the server
    never runs as root), so stop at once with the reason, not in each test."""
    if os.geteuid() == 0:
        pytest.exit(
            "the integration tests run as root: run the tests as an unprivileged user; "
            "scripts/test does this (started as root, it creates the system user bgw "
            "and runs the build and the tests as bgw)",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


@pytest.fixture(autouse=True)
def _bgw_binary_and_cleanup():
    """Every test: the server binary must exist; afterwards nothing we started survives."""
    if not os.access(harness.BGW_BIN, os.X_OK):
        pytest.fail(f"server binary {harness.BGW_BIN} not found (set BGW_BIN)")
    yield
    harness.kill_all_descendants()


@pytest.fixture
def make_server(tmp_path):
    """Factory: make_server() -> an un-initialised harness.Server under tmp_path."""
    servers = []

    def factory(name=None):
        srv = harness.Server(tmp_path / (name or f"s{len(servers)}"))
        servers.append(srv)
        return srv

    yield factory
    for srv in servers:
        try:
            srv.cleanup()
        except Exception:  # keep cleaning the others
            pass
    harness.kill_all_descendants()


@pytest.fixture
def server(make_server):
    """A running server: 127.0.0.1 on a free port, socket dir under the test dir or /tmp."""
    srv = make_server()
    srv.init()
    srv.start()
    return srv


@pytest.fixture
def pwsrv(make_server, tmp_path):
    """A running server with SCRAM for everyone: superuser pwauth.ADMIN, password
    pwauth.PASSWORD; TCP on 127.0.0.1 and a Unix socket."""
    srv = make_server()
    pwfile = tmp_path / "pw"
    pwfile.write_text(pwauth.PASSWORD + "\n")
    cp = harness.bgw("init", "-D", srv.datadir, "-A", "scram-sha-256", "--pwfile", str(pwfile),
                     "-U", pwauth.ADMIN)
    assert cp.returncode == 0, harness.describe(cp)
    srv.set_conf(port=srv.port, listen_addresses="127.0.0.1",
                 unix_socket_directories=str(srv.sockdir), authentication_timeout=600)
    srv.start()
    return srv
