"""Authentication and the catalog end to end, with psql and psycopg as the
clients: a server made by `bgw init -A scram-sha-256 --pwfile -U`, hba.conf
methods (scram-sha-256, md5, password, reject) chosen per role, roles and
databases created, altered and dropped from SQL, and PostgreSQL's SQLSTATEs
for every refusal.
"""

from __future__ import annotations


import psycopg
import pytest

import harness
from pwauth import ADMIN, PASSWORD, ok, psql, refused, refused_login


def test_scram_password_right_wrong_and_missing(pwsrv):
    assert ok(psql(pwsrv, "SELECT current_user")) == ADMIN
    # Over TCP too (the host rules).
    assert ok(psql(pwsrv, "SELECT 1", host="127.0.0.1")) == "1"
    refused_login(psql(pwsrv, "SELECT 1", password="wrong"),
                  'password authentication failed for user "admin"')
    # An unknown role gets the same answer after a full exchange.
    refused_login(psql(pwsrv, "SELECT 1", user="nobody"),
                  'password authentication failed for user "nobody"')
    refused_login(psql(pwsrv, "SELECT 1", password=None), "no password supplied")
    # The verifier is stored, never the password.
    catalog = (pwsrv.datadir / "global" / "catalog.db").read_bytes()
    assert PASSWORD.encode() not in catalog
    assert b"SCRAM-SHA-256$4096:" in catalog


def test_hba_methods_per_role(pwsrv):
    ok(psql(pwsrv, "CREATE ROLE bob LOGIN PASSWORD 'bob-pw'"))
    ok(psql(pwsrv, "SET password_encryption = 'md5'; CREATE ROLE carol LOGIN PASSWORD 'carol-pw'"))
    ok(psql(pwsrv, "CREATE ROLE dave LOGIN PASSWORD 'dave-pw'"))
    ok(psql(pwsrv, "CREATE ROLE erin NOLOGIN PASSWORD 'erin-pw'"))
    assert ok(psql(pwsrv, "SELECT rolname, rolpassword FROM pg_roles WHERE rolname = 'bob'")) \
        == "bob|********"
    # First match wins: these rules come before init's "local all all scram-sha-256".
    hba = pwsrv.datadir / "hba.conf"
    hba.write_text("local all bob password\nlocal all carol md5\nlocal all dave reject\n"
                   + hba.read_text())
    pwsrv.reload()
    harness.wait_until(lambda: psql(pwsrv, "SELECT 1", user="dave", password="dave-pw")
                       .returncode != 0, what="hba.conf reloaded")
    assert ok(psql(pwsrv, "SELECT current_user", user="bob", password="bob-pw")) == "bob"
    assert ok(psql(pwsrv, "SELECT current_user", user="carol", password="carol-pw")) == "carol"
    refused_login(psql(pwsrv, "SELECT 1", user="carol", password="bob-pw"),
                  'password authentication failed for user "carol"')
    refused_login(psql(pwsrv, "SELECT 1", user="dave", password="dave-pw"),
                  'pg_hba.conf rejects connection for host "[local]", user "dave"')
    refused_login(psql(pwsrv, "SELECT 1", user="erin", password="erin-pw"),
                  'role "erin" is not permitted to log in')
    # ALTER ROLE changes what the next login needs.
    ok(psql(pwsrv, "ALTER ROLE bob PASSWORD 'new-pw'"))
    refused_login(psql(pwsrv, "SELECT 1", user="bob", password="bob-pw"), "bob")
    assert ok(psql(pwsrv, "SELECT 1", user="bob", password="new-pw")) == "1"
    # Non-superusers may not create roles or databases.
    refused(psql(pwsrv, "CREATE ROLE x", user="bob", password="new-pw"), "42501",
            "permission denied to create role")
    refused(psql(pwsrv, "CREATE DATABASE x", user="bob", password="new-pw"), "42501",
            "permission denied to create database")


def test_databases_lifecycle(pwsrv):
    ok(psql(pwsrv, "CREATE DATABASE app"))
    refused(psql(pwsrv, "CREATE DATABASE app"), "42P04", 'database "app" already exists')
    refused(psql(pwsrv, "BEGIN; CREATE DATABASE app2"), "25001",
            "CREATE DATABASE cannot run inside a transaction block")
    ok(psql(pwsrv, "CREATE TABLE t (x int); INSERT INTO t VALUES (7)", dbname="app"))
    assert ok(psql(pwsrv, "SELECT x FROM t", dbname="app")) == "7"
    # Databases are separate files: postgres has no table t.
    refused(psql(pwsrv, "SELECT x FROM t"), "42P01", 'relation "t" does not exist')

    held = psycopg.connect(host=str(pwsrv.sockdir), port=pwsrv.port, user=ADMIN,
                           password=PASSWORD, dbname="app", autocommit=True)
    try:
        refused(psql(pwsrv, "DROP DATABASE app"), "55006",
                'database "app" is being accessed by other users')
        refused(psql(pwsrv, "DROP DATABASE app", dbname="app"), "55006",
                "cannot drop the currently open database")
    finally:
        held.close()
    harness.wait_until(lambda: psql(pwsrv, "DROP DATABASE app").returncode == 0,
                       what="DROP DATABASE once the other session is gone")
    refused_login(psql(pwsrv, "SELECT 1", dbname="app"), 'database "app" does not exist')
    assert not any(p.name.startswith("16") and p.suffix == ".db"
                   for p in (pwsrv.datadir / "base").iterdir() if p.name != "5.db"), \
        list((pwsrv.datadir / "base").iterdir())

    ok(psql(pwsrv, "CREATE DATABASE closed"))
    ok(psql(pwsrv, "ALTER DATABASE closed ALLOW_CONNECTIONS false"))
    refused_login(psql(pwsrv, "SELECT 1", dbname="closed"),
                  'database "closed" is not currently accepting connections')
    assert ok(psql(pwsrv, "SELECT datname, datallowconn FROM pg_database "
                          "WHERE datname = 'closed'")) == "closed|f"


def test_failed_transaction_block_and_rollback(pwsrv):
    ok(psql(pwsrv, "CREATE TABLE a (id int primary key)"))
    cp = psql(pwsrv, "BEGIN; INSERT INTO a VALUES (1); INSERT INTO a VALUES (1);")
    refused(cp, "23505", "duplicate key value violates unique constraint")
    # One simple query is one transaction: nothing of it was kept.
    assert ok(psql(pwsrv, "SELECT count(*) FROM a")) == "0"
    with psycopg.connect(host=str(pwsrv.sockdir), port=pwsrv.port, user=ADMIN,
                         password=PASSWORD, dbname="postgres") as c:
        c.execute("INSERT INTO a VALUES (2)")
        with pytest.raises(psycopg.errors.UniqueViolation):
            c.execute("INSERT INTO a VALUES (2)")
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            c.execute("SELECT 1")
        c.rollback()
        assert c.execute("SELECT count(*) FROM a").fetchone()[0] == 0
