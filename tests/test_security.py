"""The SQL sandbox and PostgreSQL's privileges, tried as an attacker would.

Every test logs in as an ordinary role (never a superuser unless it says
so), through real clients (psycopg, psql), and checks both that the attack
fails with PostgreSQL's SQLSTATE and a message naming the object, and that
it left nothing behind: no file written, no row changed, no backend crashed
(a crash would show as a "terminating any other active server processes"
line in the log and every session would be cut).

What is covered (docs/security.md explains the model):
  * the engine-wide refusals: ATTACH/DETACH (the catalog, other databases,
    new files), fts3_tokenizer (literal and bound pointers), load_extension,
    raw pragmas that break durability or the schema, VACUUM INTO, dbstat,
    the server's bgw_catalog_* tables, even for superusers where it matters;
  * C functions: no tampering with their binding, no use from views or
    triggers (DIRECTONLY), EXECUTE privilege;
  * PostgreSQL's privileges: owners, GRANT/REVOKE on tables and columns,
    PUBLIC, WITH GRANT OPTION and CASCADE, views read with their owner's
    privileges, schema public (PG15: CREATE for the database owner only),
    TEMPORARY and CONNECT on databases, TRUNCATE, REFERENCES, OR REPLACE,
    triggers, role membership with INHERIT and SET ROLE, DROP ROLE with
    dependents, REASSIGN/DROP OWNED, has_*_privilege;
  * a REVOKE reaching statements another session already prepared;
  * limits: statement_timeout, cancel, idle_in_transaction_session_timeout,
    idle_session_timeout, temp_file_limit, session_memory_limit.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

import harness

SUPERUSER = harness.OS_USER
CRASH = "terminating any other active server processes"


def connect(srv, user: str, dbname: str = "postgres", autocommit: bool = True, **kw):
    return psycopg.connect(host=str(srv.sockdir), port=srv.port, user=user, dbname=dbname,
                           autocommit=autocommit, connect_timeout=30, **kw)


def run(srv, user: str, *statements: str, dbname: str = "postgres"):
    """Runs statements as `user`; returns the last one's rows (None without)."""
    with connect(srv, user, dbname) as conn:
        rows = None
        for sql in statements:
            cur = conn.execute(sql)
            rows = cur.fetchall() if cur.description else None
        return rows


def refused(srv, user: str, sql: str, sqlstate: str = "42501", text: str | None = None,
            params=None, dbname: str = "postgres") -> psycopg.Error:
    with connect(srv, user, dbname) as conn:
        with pytest.raises(psycopg.Error) as info:
            conn.execute(sql, params)
        err = info.value
        assert err.sqlstate == sqlstate, f"{sql}: {err.sqlstate} {err}"
        if text is not None:
            assert text in str(err), f"{sql}: {err}"
        # The session survives the refusal.
        assert conn.execute("SELECT 1").fetchone() == (1,)
    return err


@pytest.fixture
def srv(server):
    """A running server with an ordinary login `alice` and a superuser table."""
    run(server, SUPERUSER,
        "CREATE ROLE alice LOGIN",
        "CREATE ROLE bob LOGIN",
        "CREATE TABLE secret (id int PRIMARY KEY, s text)",
        "INSERT INTO secret VALUES (1, 'the secret')")
    return server


def assert_no_crash(srv):
    assert CRASH not in srv.read_log(), srv.log_tail()


# ---------------------------------------------------------------------------
# The sandbox: what nobody reaches through SQL


def test_attach_is_refused_for_everyone_and_creates_nothing(srv, tmp_path):
    catalog = srv.datadir / "global" / "catalog.db"
    for user in ("alice", SUPERUSER):
        refused(srv, user, f"ATTACH DATABASE '{catalog}' AS c", text="attach")
        new_file = tmp_path / f"made-by-{user}.db"
        refused(srv, user, f"ATTACH '{new_file}' AS x")
        assert not new_file.exists()
        refused(srv, user, "ATTACH 'file:/etc/passwd?mode=ro' AS y")
        refused(srv, user, "DETACH main")
    # The attack in the issue: make oneself a superuser through the catalog.
    refused(srv, "alice", f"ATTACH DATABASE '{catalog}' AS c")
    assert run(srv, SUPERUSER, "SELECT rolsuper FROM pg_roles WHERE rolname = 'alice'") == [(False,)]
    # Another database's file, by path.
    run(srv, SUPERUSER, "CREATE DATABASE other")
    other = run(srv, SUPERUSER, "SELECT oid FROM pg_database WHERE datname = 'other'")[0][0]
    refused(srv, "alice", f"ATTACH '{srv.datadir}/base/{other}.db' AS o")
    refused(srv, "alice", f"VACUUM INTO '{tmp_path}/copy.db'", "0A000")
    assert not (tmp_path / "copy.db").exists()


def test_fts3_tokenizer_pointers_cannot_be_planted_or_read(srv):
    refused(srv, "alice", "SELECT fts3_tokenizer('simple')", text="fts3_tokenizer")
    refused(srv, "alice", "SELECT fts3_tokenizer('x', X'4141414141414141')")
    # SQLite trusts pointers that arrive as bound parameters: the protocol's
    # Bind must not be a way around the refusal.
    refused(srv, "alice", "SELECT fts3_tokenizer(%s, %s)", params=("x", b"AAAAAAAA"))
    refused(srv, SUPERUSER, "SELECT fts3_tokenizer(%s, %s)", params=("x", b"AAAAAAAA"))
    run(srv, SUPERUSER, "CREATE VIRTUAL TABLE docs USING fts4(body, tokenize=simple)",
        "INSERT INTO docs VALUES ('hello world')")
    assert run(srv, SUPERUSER, "SELECT count(*) FROM docs WHERE docs MATCH 'hello'") == [(1,)]
    assert_no_crash(srv)


def test_load_extension_is_refused(srv, tmp_path):
    for user in ("alice", SUPERUSER):
        refused(srv, user, f"SELECT load_extension('{tmp_path}/x.so')", text="load_extension")


@pytest.mark.parametrize("pragma", [
    "writable_schema = 1", "synchronous = OFF", "journal_mode = OFF", "journal_mode = DELETE",
    "locking_mode = EXCLUSIVE", "trusted_schema = 1", "schema_version = 1", "user_version = 7",
    "busy_timeout = 0", "temp_store_directory = '/tmp'", "full_column_names = 1"])
def test_dangerous_pragmas_are_refused_even_for_superusers(srv, pragma):
    for user in ("alice", SUPERUSER):
        refused(srv, user, f"PRAGMA {pragma}", text="PRAGMA")
    # Still WAL, still synchronous FULL: nothing was changed.
    assert run(srv, SUPERUSER, "PRAGMA journal_mode") == [("wal",)]
    assert run(srv, SUPERUSER, "PRAGMA synchronous") == [(2,)]


def test_ordinary_roles_may_only_read_introspection_pragmas(srv):
    assert [r[1] for r in run(srv, "alice", "PRAGMA table_info(secret)")] == ["id", "s"]
    assert run(srv, "alice", "SELECT name FROM pragma_table_info('secret') ORDER BY cid") == [
        ("id",), ("s",)]
    assert run(srv, "alice", "PRAGMA foreign_keys") == [(1,)]
    for pragma in ("foreign_keys = OFF", "database_list", "integrity_check", "cache_size = 1",
                   "query_only = 1", "recursive_triggers = 0", "hard_heap_limit = 0"):
        refused(srv, "alice", f"PRAGMA {pragma}", text="PRAGMA")
    refused(srv, "alice", "SELECT * FROM pragma_database_list")
    # A superuser keeps the rest.
    assert run(srv, SUPERUSER, "PRAGMA cache_size = 100") is None
    assert len(run(srv, SUPERUSER, "PRAGMA database_list")) >= 1


def test_raw_pages_and_statistics_tables_are_out_of_reach(srv):
    refused(srv, "alice", "SELECT * FROM dbstat", text="dbstat")
    refused(srv, "alice", "CREATE VIRTUAL TABLE d USING dbstat", text="module")
    refused(srv, SUPERUSER, "UPDATE sqlite_master SET sql = 'x'")


def test_the_server_catalogue_tables_are_guarded(srv):
    for table in ("bgw_catalog_class", "bgw_catalog_proc", "bgw_catalog_namespace",
                  "bgw_catalog_column_acl"):
        refused(srv, "alice", f"SELECT * FROM {table}", text=table)
        refused(srv, "alice", f"DELETE FROM {table}", text=table)
        refused(srv, SUPERUSER, f"DELETE FROM {table}", text=table)
        refused(srv, SUPERUSER, f"DROP TABLE {table}", text=table)
    refused(srv, SUPERUSER, "UPDATE bgw_catalog_class SET owner = 1", text="bgw_catalog_class")
    refused(srv, SUPERUSER, "CREATE TABLE bgw_catalog_mine (x int)", text="bgw_catalog_mine")
    # Superusers may read them (for diagnosis); the rows are what the server
    # recorded: the table belongs to its creator.
    rows = run(srv, SUPERUSER, "SELECT kind, owner FROM bgw_catalog_class WHERE name = 'secret'")
    assert rows == [("r", 10)]
    # Nor can a trigger or view smuggle access in.
    run(srv, SUPERUSER, "GRANT CREATE ON SCHEMA public TO alice")
    run(srv, "alice", "CREATE TABLE mine (x int)")
    # Nor can a table hide a catalogue view from everyone else.
    refused(srv, "alice", "CREATE VIEW pg_roles AS SELECT 'x' AS rolname", "42P07")
    refused(srv, "alice", "CREATE TEMP TABLE pg_class (x int)", "42P07")
    refused(srv, "alice", "ALTER TABLE mine RENAME TO pg_authid", "42P07")
    refused(srv, "alice", "ALTER TABLE mine RENAME TO bgw_catalog_x", "42P07")
    assert run(srv, "alice", "SELECT count(*) FROM pg_roles WHERE rolname = 'alice'") == [(1,)]
    refused(srv, "alice", "CREATE TRIGGER t AFTER INSERT ON mine BEGIN "
                          "UPDATE bgw_catalog_class SET owner = 1; END")
    refused(srv, "alice", "CREATE VIEW v AS SELECT * FROM bgw_catalog_proc")


def test_c_function_bindings_cannot_be_redirected_or_hidden_in_views(make_server):
    srv = make_server()
    srv.init(dynamic_library_path=harness.BGW_MODULE_DIR)
    srv.start()
    run(srv, SUPERUSER,
        "CREATE ROLE alice LOGIN",
        "CREATE FUNCTION add_one(integer) RETURNS integer AS 'bgw_sql_test', 'add_one' "
        "LANGUAGE C STRICT",
        "GRANT CREATE ON SCHEMA public TO alice")
    # The attack of the issue: rewrite the binding, reconnect, run other code.
    refused(srv, "alice", "UPDATE bgw_catalog_proc SET symbol = 'raise_error'")
    assert run(srv, "alice", "SELECT add_one(1)") == [(2,)]
    # A function with side effects in a view or a trigger someone else set
    # up would run with the reader's privileges: C functions are direct-only.
    run(srv, "alice", "CREATE TABLE t (x int)")
    with connect(srv, "alice") as conn:
        conn.execute("CREATE VIEW v AS SELECT add_one(x) AS y FROM t")
        conn.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(psycopg.Error) as info:
            conn.execute("SELECT * FROM v").fetchall()
        assert "unsafe use of add_one" in str(info.value)
    # EXECUTE can be taken away.
    run(srv, SUPERUSER, "REVOKE EXECUTE ON FUNCTION add_one(integer) FROM PUBLIC")
    refused(srv, "alice", "SELECT add_one(1)", text="permission denied for function add_one")
    assert run(srv, SUPERUSER, "SELECT add_one(1)") == [(2,)]
    run(srv, SUPERUSER, "GRANT EXECUTE ON FUNCTION add_one TO alice")
    assert run(srv, "alice", "SELECT add_one(5)") == [(6,)]
    refused(srv, "alice", "CREATE FUNCTION f2(int) RETURNS int AS 'bgw_sql_test', 'add_one' "
                          "LANGUAGE C", text="permission denied for language c")


# ---------------------------------------------------------------------------
# PostgreSQL's privileges


def test_tables_belong_to_their_creator_and_need_grants(srv):
    refused(srv, "alice", "SELECT * FROM secret", text="permission denied for table secret")
    refused(srv, "alice", "SELECT count(*) FROM secret")
    refused(srv, "alice", "INSERT INTO secret VALUES (2, 'x')")
    refused(srv, "alice", "UPDATE secret SET s = 'x'")
    refused(srv, "alice", "DELETE FROM secret")
    refused(srv, "alice", "TRUNCATE secret")
    refused(srv, "alice", "DROP TABLE secret", text="must be owner of table secret")
    refused(srv, "alice", "ALTER TABLE secret ADD COLUMN x int", text="must be owner")
    refused(srv, "alice", "CREATE INDEX i ON secret (s)", text="must be owner")
    refused(srv, "alice", "ALTER TABLE secret RENAME TO mine", text="must be owner")
    assert run(srv, SUPERUSER, "SELECT s FROM secret") == [("the secret",)]

    run(srv, SUPERUSER, "GRANT SELECT ON secret TO alice")
    assert run(srv, "alice", "SELECT s FROM secret") == [("the secret",)]
    refused(srv, "alice", "UPDATE secret SET s = 'x'")
    refused(srv, "bob", "SELECT * FROM secret")
    run(srv, SUPERUSER, "GRANT UPDATE (s) ON secret TO alice")
    run(srv, "alice", "UPDATE secret SET s = 'changed' WHERE id = 1")
    refused(srv, "alice", "UPDATE secret SET id = 5")
    run(srv, SUPERUSER, "REVOKE ALL ON secret FROM alice")
    refused(srv, "alice", "SELECT * FROM secret")
    run(srv, SUPERUSER, "GRANT SELECT ON secret TO PUBLIC")
    assert run(srv, "bob", "SELECT count(*) FROM secret") == [(1,)]
    run(srv, SUPERUSER, "REVOKE SELECT ON secret FROM PUBLIC")
    refused(srv, "bob", "SELECT count(*) FROM secret")


def test_column_privileges(srv):
    run(srv, SUPERUSER, "CREATE TABLE emp (id int, name text, salary int)",
        "INSERT INTO emp VALUES (1, 'ann', 100)",
        "GRANT SELECT (id, name) ON emp TO alice")
    assert run(srv, "alice", "SELECT id, name FROM emp") == [(1, "ann")]
    assert run(srv, "alice", "SELECT count(*) FROM emp") == [(1,)]
    refused(srv, "alice", "SELECT * FROM emp")
    refused(srv, "alice", "SELECT salary FROM emp")
    refused(srv, "alice", "SELECT id FROM emp WHERE salary > 50")
    refused(srv, "alice", "SELECT id FROM emp ORDER BY salary")
    refused(srv, SUPERUSER, "GRANT SELECT (nosuch) ON emp TO alice", "42703")
    refused(srv, SUPERUSER, "GRANT DELETE (id) ON emp TO alice", "0LP01")
    # The grants show in the catalogue and in has_column_privilege.
    assert run(srv, "alice", "SELECT has_column_privilege('emp', 'name', 'SELECT'), "
                             "has_column_privilege('emp', 'salary', 'SELECT'), "
                             "has_table_privilege('emp', 'SELECT')") == [(True, False, False)]


def test_views_read_with_their_owners_privileges(srv):
    run(srv, SUPERUSER,
        "CREATE VIEW public_part AS SELECT id FROM secret",
        "GRANT SELECT ON public_part TO alice")
    # Through the view, the view's owner's rights apply to what it reads ...
    assert run(srv, "alice", "SELECT * FROM public_part") == [(1,)]
    assert run(srv, "alice", "SELECT count(*) FROM public_part") == [(1,)]
    assert run(srv, "alice", "SELECT 1 FROM public_part") == [(1,)]
    assert run(srv, "alice", "SELECT exists(SELECT 1 FROM public_part)") == [(True,)]
    # ... and the reader needs rights on the view itself, however it is
    # used (even when SQLite merges the view into the query).
    refused(srv, "bob", "SELECT * FROM public_part", text="permission denied for view public_part")
    refused(srv, "bob", "SELECT count(*) FROM public_part")
    refused(srv, "bob", "SELECT 1 FROM public_part")
    run(srv, SUPERUSER, "GRANT SELECT ON secret TO bob")
    refused(srv, "bob", "SELECT count(*) FROM public_part")
    refused(srv, "bob", "SELECT 1 WHERE EXISTS (SELECT 1 FROM public_part)")
    # A view alice owns over a table she cannot read reads nothing.
    run(srv, SUPERUSER, "GRANT CREATE ON SCHEMA public TO alice")
    run(srv, "alice", "CREATE VIEW peek AS SELECT s FROM secret")
    refused(srv, "alice", "SELECT * FROM peek", text="permission denied for table secret")
    run(srv, "alice", "GRANT SELECT ON peek TO bob")
    refused(srv, "bob", "SELECT * FROM peek", text="permission denied for table secret")


def test_grant_option_and_cascade(srv):
    run(srv, SUPERUSER, "CREATE ROLE carol LOGIN",
        "GRANT SELECT ON secret TO alice WITH GRANT OPTION")
    refused(srv, "bob", "GRANT SELECT ON secret TO carol", text="permission denied")
    run(srv, "alice", "GRANT SELECT ON secret TO bob")
    assert run(srv, "bob", "SELECT count(*) FROM secret") == [(1,)]
    with connect(srv, "alice") as conn:
        notices = []
        conn.add_notice_handler(lambda diag: notices.append((diag.sqlstate, diag.message_primary)))
        conn.execute("GRANT SELECT, INSERT ON secret TO carol")  # no option for INSERT
        assert notices == [("01007", 'not all privileges were granted for "secret"')], notices
    assert run(srv, "carol", "SELECT count(*) FROM secret") == [(1,)]
    refused(srv, "bob", "INSERT INTO secret VALUES (9, 'x')")
    # Revoking alice's option needs CASCADE for what she passed on.
    refused(srv, SUPERUSER, "REVOKE GRANT OPTION FOR SELECT ON secret FROM alice", "2BP01")
    run(srv, SUPERUSER, "REVOKE GRANT OPTION FOR SELECT ON secret FROM alice CASCADE")
    assert run(srv, "alice", "SELECT count(*) FROM secret") == [(1,)]
    refused(srv, "bob", "SELECT count(*) FROM secret")
    acl = run(srv, SUPERUSER, "SELECT relacl FROM pg_class WHERE relname = 'secret'")[0][0]
    assert f"alice=r/{SUPERUSER}" in acl and "bob" not in acl, acl


def test_schema_public_follows_postgresql_15(srv):
    refused(srv, "alice", "CREATE TABLE t (x int)", text="permission denied for schema public")
    refused(srv, "alice", "CREATE VIEW v AS SELECT 1")
    refused(srv, "alice", "CREATE VIRTUAL TABLE f USING fts5(x)")
    assert not run(srv, SUPERUSER, "SELECT name FROM sqlite_master WHERE name IN ('t', 'v', 'f')")
    # The database owner may create there.
    run(srv, SUPERUSER, "CREATE DATABASE alicedb OWNER alice")
    run(srv, "alice", "CREATE TABLE t (x int)", dbname="alicedb")
    refused(srv, "bob", "CREATE TABLE u (x int)", dbname="alicedb")
    run(srv, "alice", "GRANT CREATE ON SCHEMA public TO bob", dbname="alicedb")
    run(srv, "bob", "CREATE TABLE u (x int)", dbname="alicedb")
    # bob owns his table, and alice (database owner) does not get into it.
    refused(srv, "alice", "SELECT * FROM u", dbname="alicedb")
    assert run(srv, "alice", "SELECT has_schema_privilege('public', 'CREATE')",
               dbname="alicedb") == [(True,)]


def test_temporary_objects_need_temporary_on_the_database(srv):
    run(srv, "alice", "CREATE TEMP TABLE scratch (x int)")
    run(srv, SUPERUSER, "REVOKE TEMPORARY ON DATABASE postgres FROM PUBLIC")
    refused(srv, "alice", "CREATE TEMP TABLE scratch (x int)",
            text="permission denied to create temporary tables")
    # Temp triggers on someone else's table: not without owning it.
    run(srv, SUPERUSER, "GRANT TEMPORARY ON DATABASE postgres TO alice")
    refused(srv, "alice", "CREATE TEMP TRIGGER spy AFTER INSERT ON secret BEGIN SELECT 1; END")


def test_connect_privilege_is_checked_for_every_login(srv):
    run(srv, SUPERUSER, "CREATE DATABASE private", "REVOKE CONNECT ON DATABASE private FROM PUBLIC")
    with pytest.raises(psycopg.OperationalError) as info:
        connect(srv, "alice", dbname="private")
    assert "permission denied for database \"private\"" in str(info.value)
    run(srv, SUPERUSER, "GRANT CONNECT ON DATABASE private TO alice")
    assert run(srv, "alice", "SELECT current_database()", dbname="private") == [("private",)]
    assert run(srv, "alice", "SELECT has_database_privilege('private', 'CONNECT')") == [(True,)]


def test_truncate_references_and_replace_are_their_own_privileges(srv):
    run(srv, SUPERUSER, "GRANT SELECT, INSERT, DELETE ON secret TO alice",
        "GRANT CREATE ON SCHEMA public TO alice")
    refused(srv, "alice", "TRUNCATE secret", text="permission denied for table secret")
    # A foreign key lets one probe the referenced table's keys.
    refused(srv, "alice", "CREATE TABLE probe (k int REFERENCES secret(id))",
            text="permission denied for table secret")
    assert not run(srv, SUPERUSER, "SELECT name FROM sqlite_master WHERE name = 'probe'")
    run(srv, SUPERUSER, "GRANT REFERENCES ON secret TO alice")
    run(srv, "alice", "CREATE TABLE probe (k int REFERENCES secret(id))")
    # REPLACE deletes the row it replaces: INSERT alone is not enough.
    run(srv, SUPERUSER, "REVOKE DELETE ON secret FROM alice")
    refused(srv, "alice", "INSERT OR REPLACE INTO secret VALUES (1, 'mine now')")
    refused(srv, "alice", "REPLACE INTO secret VALUES (1, 'mine now')")
    assert run(srv, SUPERUSER, "SELECT s FROM secret WHERE id = 1") == [("the secret",)]
    run(srv, SUPERUSER, "GRANT TRUNCATE ON secret TO alice")
    run(srv, "alice", "TRUNCATE secret")
    assert run(srv, SUPERUSER, "SELECT count(*) FROM secret") == [(0,)]


def test_triggers_on_other_roles_tables_are_refused(srv):
    run(srv, SUPERUSER, "GRANT CREATE ON SCHEMA public TO alice", "GRANT SELECT ON secret TO alice")
    run(srv, "alice", "CREATE TABLE log (s text)")
    refused(srv, "alice", "CREATE TRIGGER steal AFTER INSERT ON secret BEGIN "
                          "INSERT INTO log SELECT s FROM secret; END", text="secret")
    run(srv, SUPERUSER, "GRANT TRIGGER ON secret TO alice")
    run(srv, "alice", "CREATE TRIGGER steal AFTER INSERT ON secret BEGIN "
                      "INSERT INTO log VALUES (new.s); END")
    # The trigger runs with the privileges of whoever fires it: bob cannot
    # write alice's log, so his insert fails as a whole.
    run(srv, SUPERUSER, "GRANT INSERT ON secret TO bob")
    refused(srv, "bob", "INSERT INTO secret VALUES (2, 'two')", text="permission denied for table log")
    assert run(srv, SUPERUSER, "SELECT count(*) FROM secret") == [(1,)]
    # A trigger named like a view would confuse whose privileges apply in it.
    run(srv, "alice", "CREATE VIEW lv AS SELECT * FROM log")
    refused(srv, "alice", "CREATE TRIGGER lv AFTER INSERT ON log BEGIN SELECT 1; END", "42P07")


def test_roles_inherit_privileges_and_set_role(srv):
    run(srv, SUPERUSER,
        "CREATE ROLE readers NOLOGIN",
        "GRANT SELECT ON secret TO readers",
        "GRANT readers TO alice",
        "CREATE ROLE dave LOGIN NOINHERIT IN ROLE readers")
    assert run(srv, "alice", "SELECT count(*) FROM secret") == [(1,)]
    # NOINHERIT: a member only after SET ROLE.
    refused(srv, "dave", "SELECT count(*) FROM secret")
    assert run(srv, "dave", "SET ROLE readers", "SELECT current_user, session_user, "
                                                "count(*) FROM secret") == [("readers", "dave", 1)]
    refused(srv, "alice", "SET ROLE " + SUPERUSER, text="permission denied to set role")
    refused(srv, "alice", "SET SESSION AUTHORIZATION bob", text="session authorization")
    refused(srv, "alice", "SET ROLE nosuch", "22023")
    # SET ROLE to a role with fewer privileges really drops them.
    with connect(srv, SUPERUSER) as conn:
        conn.execute("SET ROLE bob")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM secret")
        conn.execute("RESET ROLE")
        assert conn.execute("SELECT count(*) FROM secret").fetchone() == (1,)
        conn.execute("SET SESSION AUTHORIZATION alice")
        assert conn.execute("SELECT current_user, session_user").fetchone() == ("alice", "alice")
        conn.execute("RESET SESSION AUTHORIZATION")
        assert conn.execute("SELECT current_user").fetchone() == (SUPERUSER,)
        # SET LOCAL ROLE ends with the transaction; a rolled back SET ROLE too.
        conn.execute("BEGIN")
        conn.execute("SET LOCAL ROLE bob")
        assert conn.execute("SELECT current_user").fetchone() == ("bob",)
        conn.execute("COMMIT")
        assert conn.execute("SELECT current_user").fetchone() == (SUPERUSER,)
        conn.execute("BEGIN")
        conn.execute("SET ROLE bob")
        conn.execute("ROLLBACK")
        assert conn.execute("SELECT current_user").fetchone() == (SUPERUSER,)
    # Membership management needs CREATEROLE or the admin option.
    refused(srv, "alice", "GRANT readers TO bob", text="admin option")
    run(srv, SUPERUSER, "GRANT readers TO alice WITH ADMIN OPTION")
    run(srv, "alice", "GRANT readers TO bob")
    assert run(srv, "bob", "SELECT count(*) FROM secret") == [(1,)]
    refused(srv, SUPERUSER, "GRANT alice TO readers", "0LP01")
    refused(srv, SUPERUSER, "GRANT readers TO readers", "0LP01")
    refused(srv, SUPERUSER, "GRANT pg_database_owner TO alice", "0LP01")
    assert run(srv, "bob", "SELECT pg_has_role('readers', 'MEMBER')") == [(True,)]


def test_superuser_and_role_attributes_cannot_be_taken(srv):
    refused(srv, "alice", "ALTER ROLE alice SUPERUSER", text="superuser")
    refused(srv, "alice", "ALTER ROLE alice CREATEROLE", text="permission denied")
    refused(srv, "alice", "CREATE ROLE eve SUPERUSER", text="superuser")
    refused(srv, "alice", "CREATE ROLE eve", text="permission denied to create role")
    refused(srv, "alice", "ALTER ROLE bob PASSWORD 'x'")
    refused(srv, "alice", "DROP ROLE bob")
    refused(srv, "alice", "CREATE DATABASE mine", text="permission denied to create database")
    run(srv, "alice", "ALTER ROLE alice PASSWORD 'mine'")  # one's own password
    refused(srv, SUPERUSER, "CREATE ROLE pg_evil", "42939")
    # CREATEROLE: ordinary roles, never superusers.
    run(srv, SUPERUSER, "ALTER ROLE alice CREATEROLE CREATEDB")
    run(srv, "alice", "CREATE ROLE eve LOGIN", "ALTER ROLE eve CONNECTION LIMIT 3",
        "CREATE DATABASE alices OWNER alice")
    refused(srv, "alice", f"ALTER ROLE {SUPERUSER} NOSUPERUSER", text="superuser")
    refused(srv, "alice", f"DROP ROLE {SUPERUSER}", text="superusers")
    refused(srv, "alice", f"CREATE DATABASE given OWNER {SUPERUSER}", text="must be member")
    run(srv, "alice", "DROP ROLE eve")
    # A superuser demoted mid-session loses it at the next statement.
    run(srv, SUPERUSER, "CREATE ROLE boss LOGIN SUPERUSER")
    with connect(srv, "boss") as conn:
        assert conn.execute("SELECT count(*) FROM secret").fetchone() == (1,)
        run(srv, SUPERUSER, "ALTER ROLE boss NOSUPERUSER")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM secret")


def test_drop_role_with_dependents_and_owned_cleanup(srv):
    run(srv, SUPERUSER, "GRANT CREATE ON SCHEMA public TO alice", "GRANT SELECT ON secret TO bob")
    run(srv, "alice", "CREATE TABLE a1 (x int)", "CREATE VIEW a2 AS SELECT * FROM a1")
    err = refused(srv, SUPERUSER, "DROP ROLE alice", "2BP01")
    assert "owner of table a1" in err.diag.message_detail
    assert "privileges for schema public" in err.diag.message_detail
    err = refused(srv, SUPERUSER, "DROP ROLE bob", "2BP01", text="cannot be dropped")
    assert "privileges for table secret" in err.diag.message_detail
    run(srv, SUPERUSER, "REASSIGN OWNED BY alice TO bob", "DROP OWNED BY alice", "DROP ROLE alice")
    assert run(srv, "bob", "SELECT count(*) FROM a1") == [(0,)]
    run(srv, SUPERUSER, "DROP OWNED BY bob", "DROP ROLE bob")
    assert not run(srv, SUPERUSER, "SELECT name FROM sqlite_master WHERE name IN ('a1', 'a2')")


def test_revoke_reaches_statements_prepared_in_other_sessions(srv):
    run(srv, SUPERUSER, "GRANT SELECT ON secret TO alice")
    with connect(srv, "alice") as conn:
        cur = conn.cursor()
        # psycopg prepares a statement it runs often (prepare_threshold).
        for _ in range(6):
            assert cur.execute("SELECT s FROM secret WHERE id = %s", (1,), prepare=True).fetchall()
        run(srv, SUPERUSER, "REVOKE SELECT ON secret FROM alice")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            cur.execute("SELECT s FROM secret WHERE id = %s", (1,), prepare=True)
        run(srv, SUPERUSER, "GRANT SELECT ON secret TO alice")
        assert cur.execute("SELECT s FROM secret WHERE id = %s", (1,), prepare=True).fetchall()


def test_privileges_of_tables_another_session_just_created(srv):
    run(srv, SUPERUSER, "GRANT CREATE ON SCHEMA public TO alice, bob")
    with connect(srv, "bob") as bob:
        assert bob.execute("SELECT 1").fetchone() == (1,)  # snapshot loaded
        run(srv, "alice", "CREATE TABLE fresh (x int)", "INSERT INTO fresh VALUES (1)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute("SELECT * FROM fresh")
        run(srv, "alice", "GRANT SELECT ON fresh TO bob")
        assert bob.execute("SELECT * FROM fresh").fetchall() == [(1,)]


def test_acl_columns_and_privilege_functions(srv):
    run(srv, SUPERUSER, "GRANT SELECT, UPDATE ON secret TO alice")
    acl = run(srv, "alice", "SELECT relacl FROM pg_class WHERE relname = 'secret'")[0][0]
    assert acl == f"{{{SUPERUSER}=arwdDxt/{SUPERUSER},alice=rw/{SUPERUSER}}}", acl
    assert run(srv, "alice", "SELECT has_table_privilege('secret', 'SELECT'), "
                             "has_table_privilege('secret', 'INSERT'), "
                             "has_table_privilege('bob', 'secret', 'SELECT'), "
                             "has_table_privilege('secret', 'UPDATE WITH GRANT OPTION')") == [
        (True, False, False, False)]
    refused(srv, "alice", "SELECT has_table_privilege('nosuch', 'SELECT')", "42P01")
    refused(srv, "alice", "SELECT has_table_privilege('secret', 'FLY')", "22023")
    nsacl = run(srv, "alice", "SELECT nspacl FROM pg_namespace WHERE nspname = 'public'")[0][0]
    assert nsacl == "{pg_database_owner=UC/pg_database_owner,=U/pg_database_owner}"
    datacl = run(srv, SUPERUSER, "REVOKE TEMP ON DATABASE postgres FROM PUBLIC",
                 "SELECT datacl FROM pg_database WHERE datname = 'postgres'")[0][0]
    assert datacl == f"{{=c/{SUPERUSER},{SUPERUSER}=CTc/{SUPERUSER}}}", datacl
    roles = run(srv, "alice", "SELECT rolname, rolsuper, rolinherit, rolcanlogin, rolpassword "
                              "FROM pg_roles WHERE rolname IN ('alice', 'pg_monitor') ORDER BY 1")
    assert roles == [("alice", False, True, True, "********"),
                     ("pg_monitor", False, True, False, "********")]
    refused(srv, "alice", "SELECT rolpassword FROM pg_authid", text="pg_authid")
    assert run(srv, SUPERUSER, "SELECT count(*) FROM pg_authid WHERE rolname = 'alice'") == [(1,)]


# ---------------------------------------------------------------------------
# Limits


def test_statement_timeout_and_cancel_stop_a_running_query(srv):
    with connect(srv, "alice") as conn:
        conn.execute("SET statement_timeout = 300")
        t0 = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled) as info:
            conn.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                         "SELECT count(*) FROM c")
        assert "statement timeout" in str(info.value)
        assert time.monotonic() - t0 < 30
        conn.execute("SET statement_timeout = 0")
        timer = threading.Timer(0.5, conn.cancel)
        timer.start()
        with pytest.raises(psycopg.errors.QueryCanceled) as info:
            conn.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                         "SELECT count(*) FROM c")
        timer.join()
        assert "user request" in str(info.value)
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_idle_timeouts_end_the_session(srv):
    conn = connect(srv, "alice", autocommit=False)
    conn.execute("SET idle_in_transaction_session_timeout = 300")
    conn.execute("SELECT 1")  # now idle inside a transaction
    time.sleep(1.5)
    with pytest.raises(psycopg.OperationalError) as info:
        conn.execute("SELECT 1")
    assert "idle-in-transaction timeout" in str(info.value)
    conn.close()
    # Outside a transaction, idle_session_timeout; and without either, an
    # idle session stays.
    conn = connect(srv, "alice")
    conn.execute("SET idle_session_timeout = 300")
    time.sleep(1.5)
    with pytest.raises(psycopg.OperationalError) as info:
        conn.execute("SELECT 1")
    assert "idle-session timeout" in str(info.value)
    conn.close()
    with connect(srv, "alice") as conn:
        time.sleep(1.0)
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_memory_and_temp_space_caps(make_server):
    srv = make_server()
    srv.init(session_memory_limit="64MB", temp_file_limit="2MB")
    srv.start()
    run(srv, SUPERUSER, "CREATE ROLE alice LOGIN")
    # One huge value: refused with 53200, and the session goes on.
    refused(srv, "alice", "SELECT length(randomblob(200000000))", "53200", text="out of memory")
    # A big sort spills to temporary files: capped by temp_file_limit.
    refused(srv, "alice", "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                          "LIMIT 2000000) SELECT x, randomblob(200) FROM c ORDER BY 2",
            "53400", text="temp_file_limit")
    # Ordinary roles cannot raise their own caps.
    refused(srv, "alice", "SET session_memory_limit = -1", "42501")
    refused(srv, "alice", "SET temp_file_limit = -1", "42501")
    assert_no_crash(srv)


def test_psql_du_and_dp_show_the_truth(srv):
    run(srv, SUPERUSER, "CREATE ROLE readers NOLOGIN", "GRANT readers TO alice",
        "GRANT SELECT, UPDATE (s) ON secret TO alice", "GRANT SELECT ON secret TO readers")
    env = harness.pg_env()
    cmd = ["psql", "-X", "-h", str(srv.sockdir), "-p", str(srv.port), "-U", "alice", "postgres"]
    du = harness.run(cmd + ["-c", "\\du"], env=env)
    assert du.returncode == 0, harness.describe(du)
    lines = [line.strip() for line in du.stdout.splitlines()]
    assert "alice     |                                                            | {readers}" in lines, du.stdout
    assert "readers   | Cannot login                                               | {}" in lines, du.stdout
    assert any(line.startswith(SUPERUSER) and "Superuser, Create role, Create DB, Replication, Bypass RLS" in line
               for line in lines), du.stdout
    dp = harness.run(cmd + ["-c", "\\dp secret"], env=env)
    assert dp.returncode == 0, harness.describe(dp)
    text = dp.stdout
    for expected in (f"{SUPERUSER}=arwdDxt/{SUPERUSER}", f"alice=r/{SUPERUSER}",
                     f"readers=r/{SUPERUSER}", f"alice=w/{SUPERUSER}", "s:"):
        assert expected in text, text
    dn = harness.run(cmd + ["-c", "\\dn+"], env=env)
    assert "pg_database_owner=UC/pg_database_owner" in dn.stdout, harness.describe(dn)


def test_workers_spi_runs_with_the_privileges_of_its_role(make_server):
    """A worker connected as an ordinary role is checked like a client of
    that role (trusted module code chooses the role; the role's rights
    apply to its SQL)."""
    srv = make_server()
    srv.init(dynamic_library_path=harness.BGW_MODULE_DIR)
    srv.start()
    run(srv, SUPERUSER,
        "CREATE ROLE alice LOGIN",
        "CREATE TABLE secret (id int PRIMARY KEY, s text)",
        "INSERT INTO secret VALUES (1, 'x')",
        "CREATE FUNCTION spi_launch(text, int4, text) RETURNS int4 "
        "AS 'bgw_spi_test' LANGUAGE C")

    def launch_as(user):
        mark = srv.log_mark()
        run(srv, SUPERUSER, f"SELECT spi_launch('privileges', 0, 'postgres;{user};0')")
        srv.wait_for_log(r"privileges: insert (ok|denied)", since=mark)
        return srv.log_since(mark)

    log = launch_as("alice")
    assert "privileges: select denied 42501: permission denied for table secret" in log, log
    assert "privileges: insert denied 42501: permission denied for table secret" in log, log
    run(srv, SUPERUSER, "GRANT SELECT ON secret TO alice")
    log = launch_as("alice")
    assert "privileges: select ok n=1" in log, log
    assert "privileges: insert denied 42501" in log, log
    log = launch_as(SUPERUSER)
    assert "privileges: insert ok n=1" in log, log
    assert run(srv, SUPERUSER, "SELECT count(*) FROM secret") == [(2,)]
    # CONNECT is checked for workers as for clients.
    run(srv, SUPERUSER, "REVOKE CONNECT ON DATABASE postgres FROM PUBLIC")
    mark = srv.log_mark()
    run(srv, SUPERUSER, "SELECT spi_launch('privileges', 0, 'postgres;alice;0')")
    srv.wait_for_log(r'permission denied for database "postgres"', since=mark)
    assert "privileges: select" not in srv.log_since(mark)
