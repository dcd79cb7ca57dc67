"""psql helpers for tests against a password-protected server (the `pwsrv`
fixture in conftest.py: `bgw init -A scram-sha-256 --pwfile -U admin`)."""

from __future__ import annotations

import subprocess

import harness

PASSWORD = "s3cret pass"
ADMIN = "admin"


def psql(srv, sql: str | list[str], user: str = ADMIN, password: str | None = PASSWORD,
         dbname: str = "postgres", host: str | None = None) -> subprocess.CompletedProcess:
    """One psql session; a list is several -c commands, each its own transaction."""
    env = harness.pg_env()
    if password is not None:
        env["PGPASSWORD"] = password
    cmd = ["psql", "-X", "-q", "-A", "-t", "-w", "-v", "ON_ERROR_STOP=1", "-v",
           "VERBOSITY=verbose", "-h", host or str(srv.sockdir), "-p", str(srv.port), "-U", user,
           "-d", dbname]
    for command in [sql] if isinstance(sql, str) else sql:
        cmd += ["-c", command]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)


def ok(cp: subprocess.CompletedProcess) -> str:
    assert cp.returncode == 0, harness.describe(cp)
    return cp.stdout.strip()


def refused(cp: subprocess.CompletedProcess, sqlstate: str, text: str) -> None:
    """A failed statement: psql's verbose error shows the SQLSTATE."""
    assert cp.returncode != 0, harness.describe(cp)
    assert sqlstate in cp.stderr and text in cp.stderr, harness.describe(cp)


def refused_login(cp: subprocess.CompletedProcess, text: str) -> None:
    """A refused connection: psql shows only the FATAL message (the unit tests
    in src/protocol and tests/test_protocol.py check these SQLSTATEs)."""
    assert cp.returncode == 2, harness.describe(cp)
    assert text in cp.stderr, harness.describe(cp)
