"""The shared catalog snapshot (src/storage/catalog_cache.h) end to end: client
backends and database workers look roles and databases up in shared memory,
so every catalog change must reach the very next connection. Each check below
first connects (which leaves the snapshot current), then changes the catalog
from SQL, then connects again at once: a snapshot that was not invalidated
would answer with the old rows.
"""

from __future__ import annotations

import os
import subprocess

import pytest

import harness
from pwauth import PASSWORD, ok, psql, refused_login


def test_created_roles_and_databases_are_seen_at_once(pwsrv):
    ok(psql(pwsrv, "SELECT 1"))
    ok(psql(pwsrv, "CREATE ROLE bob LOGIN PASSWORD 'bob-pw'"))
    assert ok(psql(pwsrv, "SELECT current_user", user="bob", password="bob-pw")) == "bob"
    ok(psql(pwsrv, "CREATE DATABASE app"))
    assert ok(psql(pwsrv, "SELECT current_database()", dbname="app")) == "app"
    # A role and a database in one session, used by the next connection.
    ok(psql(pwsrv, ["CREATE ROLE carol LOGIN PASSWORD 'carol-pw'", "CREATE DATABASE app2"]))
    assert ok(psql(pwsrv, "SELECT current_user || '@' || current_database()", user="carol",
                   password="carol-pw", dbname="app2")) == "carol@app2"


def test_alter_rename_and_drop_take_effect_for_the_next_connection(pwsrv):
    ok(psql(pwsrv, "CREATE ROLE dave LOGIN PASSWORD 'dave-pw'"))
    ok(psql(pwsrv, "CREATE DATABASE app"))
    assert ok(psql(pwsrv, "SELECT 1", user="dave", password="dave-pw", dbname="app")) == "1"

    ok(psql(pwsrv, "ALTER ROLE dave NOLOGIN"))
    refused_login(psql(pwsrv, "SELECT 1", user="dave", password="dave-pw"),
                  'role "dave" is not permitted to log in')
    ok(psql(pwsrv, "ALTER ROLE dave LOGIN CONNECTION LIMIT 0"))
    refused_login(psql(pwsrv, "SELECT 1", user="dave", password="dave-pw"),
                  'too many connections for role "dave"')
    ok(psql(pwsrv, "ALTER ROLE dave CONNECTION LIMIT -1"))
    assert ok(psql(pwsrv, "SELECT 1", user="dave", password="dave-pw")) == "1"

    ok(psql(pwsrv, "ALTER DATABASE app ALLOW_CONNECTIONS false"))
    refused_login(psql(pwsrv, "SELECT 1", dbname="app"),
                  'database "app" is not currently accepting connections')
    ok(psql(pwsrv, "ALTER DATABASE app ALLOW_CONNECTIONS true"))
    ok(psql(pwsrv, "ALTER DATABASE app CONNECTION LIMIT 0"))
    refused_login(psql(pwsrv, "SELECT 1", user="dave", password="dave-pw", dbname="app"),
                  'too many connections for database "app"')
    ok(psql(pwsrv, "ALTER DATABASE app CONNECTION LIMIT -1"))
    assert ok(psql(pwsrv, "SELECT 1", dbname="app")) == "1"

    ok(psql(pwsrv, "ALTER DATABASE app RENAME TO app_renamed"))
    refused_login(psql(pwsrv, "SELECT 1", dbname="app"), 'database "app" does not exist')
    assert ok(psql(pwsrv, "SELECT current_database()", dbname="app_renamed")) == "app_renamed"

    ok(psql(pwsrv, "DROP DATABASE app_renamed"))
    refused_login(psql(pwsrv, "SELECT 1", dbname="app_renamed"),
                  'database "app_renamed" does not exist')

    ok(psql(pwsrv, "DROP ROLE dave"))
    # SCRAM answers an unknown role like a wrong password (no role probing).
    refused_login(psql(pwsrv, "SELECT 1", user="dave", password="dave-pw"),
                  'password authentication failed for user "dave"')


def test_password_changes_reach_the_next_scram_and_md5_login(pwsrv):
    ok(psql(pwsrv, "CREATE ROLE erin LOGIN PASSWORD 'old-pw'"))
    assert ok(psql(pwsrv, "SELECT 1", user="erin", password="old-pw")) == "1"
    ok(psql(pwsrv, "ALTER ROLE erin PASSWORD 'new-pw'"))
    refused_login(psql(pwsrv, "SELECT 1", user="erin", password="old-pw"),
                  'password authentication failed for user "erin"')
    assert ok(psql(pwsrv, "SELECT 1", user="erin", password="new-pw")) == "1"

    # md5: the hba method for this role, and an md5 verifier.
    hba = pwsrv.datadir / "hba.conf"
    hba.write_text("local all frank md5\n" + hba.read_text())
    pwsrv.reload()
    ok(psql(pwsrv, "SET password_encryption = 'md5'; CREATE ROLE frank LOGIN PASSWORD 'f-old'"))
    harness.wait_until(lambda: psql(pwsrv, "SELECT 1", user="frank", password="f-old")
                       .returncode == 0, what="hba.conf reloaded")
    ok(psql(pwsrv, "SET password_encryption = 'md5'; ALTER ROLE frank PASSWORD 'f-new'"))
    refused_login(psql(pwsrv, "SELECT 1", user="frank", password="f-old"),
                  'password authentication failed for user "frank"')
    assert ok(psql(pwsrv, "SELECT 1", user="frank", password="f-new")) == "1"
    # A user changing their own password.
    ok(psql(pwsrv, "SET password_encryption = 'md5'; ALTER ROLE frank PASSWORD 'f-own'",
            user="frank", password="f-new"))
    assert ok(psql(pwsrv, "SELECT 1", user="frank", password="f-own")) == "1"


def test_many_roles_beyond_the_snapshot_still_work(pwsrv):
    # More roles than the snapshot holds (512): every connection then asks
    # SQLite, and the answers stay right.
    stmts = "; ".join(f"CREATE ROLE r{i} NOLOGIN" for i in range(520))
    ok(psql(pwsrv, stmts))
    ok(psql(pwsrv, "CREATE ROLE last LOGIN PASSWORD 'last-pw'"))
    assert ok(psql(pwsrv, "SELECT current_user", user="last", password="last-pw")) == "last"
    refused_login(psql(pwsrv, "SELECT 1", user="r7", password="x"),
                  'password authentication failed for user "r7"')
    ok(psql(pwsrv, "DROP ROLE last"))
    refused_login(psql(pwsrv, "SELECT 1", user="last", password="last-pw"),
                  'password authentication failed for user "last"')


# ---- database workers (modules/bgw_spi_test, as tests/test_spi.py) -------------

SUPERUSER = os.environ.get("BGW_TEST_SUPERUSER") or harness.OS_USER


def trust_psql(srv, sql):
    cp = subprocess.run(
        ["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", str(srv.sockdir), "-p",
         str(srv.port), "-U", SUPERUSER, "-d", "postgres", "-c", sql],
        capture_output=True, text=True, timeout=60, env=harness.pg_env())
    assert cp.returncode == 0, harness.describe(cp)
    return cp.stdout.strip()


@pytest.fixture
def srv(make_server):
    s = make_server()
    s.init(dynamic_library_path=harness.BGW_MODULE_DIR)
    s.start()
    trust_psql(s, "CREATE FUNCTION spi_launch(text, int4, text) RETURNS int4 "
                  "AS 'bgw_spi_test' LANGUAGE C STRICT")
    return s


def worker_connects(srv, conn, datname, usename):
    """A 'connect' worker for conn ("db;role;flags") gets in, as pg_stat_activity shows."""
    mark = srv.log_mark()
    trust_psql(srv, f"SELECT spi_launch('connect', 0, '{conn}')")
    m = srv.wait_for_log(r"\[(\d+)\] .*spi_test connect: connected to database", since=mark)
    pid = int(m.group(1))
    row = harness.wait_until(lambda: trust_psql(
        srv, f"SELECT datname, usename FROM pg_stat_activity WHERE pid = {pid}"),
        what=f"worker {pid} in pg_stat_activity")
    assert row == f"{datname}|{usename}", row
    assert trust_psql(srv, f"SELECT pg_terminate_backend({pid})") == "t"
    harness.wait_gone([pid])


def worker_refused(srv, conn, pattern):
    """A 'connect' worker for conn stops with the FATAL `pattern`, never connected."""
    mark = srv.log_mark()
    trust_psql(srv, f"SELECT spi_launch('connect', 0, '{conn}')")
    m = srv.wait_for_log(rf"\[(\d+)\] .*{pattern}", since=mark)
    pid = int(m.group(1))
    srv.wait_for_log(rf"\(PID {pid}\) exited with exit code 1", since=mark)
    assert "spi_test connect: connected" not in srv.log_since(mark), srv.log_since(mark)


def test_worker_connections_see_catalog_changes_at_once(srv):
    trust_psql(srv, "CREATE DATABASE wapp")
    trust_psql(srv, "CREATE ROLE wrole LOGIN")
    worker_connects(srv, "wapp;wrole;0", "wapp", "wrole")
    trust_psql(srv, "ALTER DATABASE wapp RENAME TO wapp2")
    worker_refused(srv, "wapp;wrole;0", r'FATAL:.*database "wapp" does not exist')
    worker_connects(srv, "wapp2;wrole;0", "wapp2", "wrole")
    trust_psql(srv, "ALTER DATABASE wapp2 ALLOW_CONNECTIONS false")
    worker_refused(srv, "wapp2;wrole;0",
                   r'FATAL:.*database "wapp2" is not currently accepting connections')
    trust_psql(srv, "ALTER ROLE wrole NOLOGIN")
    worker_refused(srv, "postgres;wrole;0", r'FATAL:.*role "wrole" is not permitted to log in')
    trust_psql(srv, "DROP ROLE wrole")
    worker_refused(srv, "postgres;wrole;0", r'FATAL:.*role "wrole" does not exist')
