"""PostgreSQL-style modules build, install and test here unmodified: a PGXS
Makefile with bgworker's pg_config, extensions (control files and scripts)
with CREATE/ALTER/DROP EXTENSION, and the refusal paths of each.

The fixture tests/pgxs/bgw_tally is laid out as PostgreSQL modules are
(worker_spi's shape); nothing in it is bgworker's."""

import os
import shutil
import subprocess

import psycopg
import pytest

import harness

SOURCE_DIR = os.environ.get("BGW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), ".."))
PG_CONFIG = os.path.join(harness.BGW_BUILD_DIR, "pg_config")
SUPERUSER = harness.OS_USER

pytestmark = pytest.mark.skipif(shutil.which("make") is None or shutil.which("gcc") is None,
                                reason="make and gcc are needed")


def pg_config(*args: str) -> str:
    cp = harness.run([PG_CONFIG, *args])
    assert cp.returncode == 0, harness.describe(cp)
    return cp.stdout.strip()


def make(cwd, *targets, env=None):
    return harness.run(["make", f"PG_CONFIG={PG_CONFIG}", *targets], cwd=str(cwd), env=env,
                       timeout=300)


def connect(srv, user=SUPERUSER, dbname="postgres"):
    return psycopg.connect(host=str(srv.sockdir), port=srv.port, user=user, dbname=dbname,
                           autocommit=True, connect_timeout=30)


def error_of(srv, sql, user=SUPERUSER) -> psycopg.Error:
    with connect(srv, user) as conn:
        with pytest.raises(psycopg.Error) as info:
            conn.execute(sql)
        return info.value


def fixture_copy(tmp_path, name):
    """A clean copy of tests/pgxs/<name> to build in (the source stays untouched)."""
    module = tmp_path / name
    shutil.copytree(os.path.join(SOURCE_DIR, "tests", "pgxs", name), module,
                    ignore=shutil.ignore_patterns("results", "*.o", "*.so", "regression.*"))
    return module


def client_env(srv):
    env = harness.pg_env()
    env.update(PGHOST=str(srv.sockdir), PGPORT=str(srv.port), PGUSER=SUPERUSER)
    return env


def installcheck(module, srv):
    """The module's REGRESS suite against srv; asserts it passed (diffs shown if not)."""
    check = make(module, "installcheck", env=client_env(srv))
    diffs = module / "regression.diffs"
    assert check.returncode == 0, harness.describe(check) + (
        diffs.read_text() if diffs.exists() else "")
    return check


@pytest.fixture
def extension_files():
    """Writes control files and scripts into the share directory the server
    reads (pg_config --sharedir), and removes them afterwards."""
    directory = os.path.join(pg_config("--sharedir"), "extension")
    os.makedirs(directory, exist_ok=True)
    written = []

    def write(name, text):
        path = os.path.join(directory, name)
        with open(path, "w") as f:
            f.write(text)
        written.append(path)

    yield write
    for path in written:
        os.unlink(path)


def test_pg_config_speaks_postgresql():
    assert pg_config("--version") == "PostgreSQL 15.0"
    assert os.path.isfile(pg_config("--pgxs"))
    server_include = pg_config("--includedir-server")
    assert os.path.isfile(os.path.join(server_include, "postgres.h"))
    with open(os.path.join(server_include, "pg_config.h")) as f:
        assert "#define PG_VERSION_NUM 150000" in f.read()
    everything = harness.run([PG_CONFIG]).stdout
    for name in ("BINDIR", "PKGLIBDIR", "SHAREDIR", "PGXS", "CFLAGS", "VERSION"):
        assert f"\n{name} = " in "\n" + everything, everything
    bad = harness.run([PG_CONFIG, "--no-such-item"])
    assert bad.returncode == 2


@pytest.mark.parametrize("source", ["bgw_shm_mq_test", "bgw_worker_spi", "bgw_example"])
def test_in_tree_c_modules_build_with_pgxs(tmp_path, source):
    """The repository's PostgreSQL-style C modules (test_shm_mq's and
    worker_spi's surfaces among them) also build with a plain PGXS Makefile
    and PostgreSQL's compiler flags, warning-free."""
    module = tmp_path / source
    module.mkdir()
    shutil.copy(os.path.join(SOURCE_DIR, "modules", source, source + ".c"), module)
    (module / "Makefile").write_text(
        f"MODULES = {source}\nPG_CONFIG = pg_config\nPGXS := $(shell $(PG_CONFIG) --pgxs)\n"
        "include $(PGXS)\n")
    built = make(module)
    assert built.returncode == 0, harness.describe(built)
    assert "warning:" not in built.stdout + built.stderr, harness.describe(built)
    assert (module / (source + ".so")).is_file()


def test_module_builds_installs_and_passes_its_own_regression_tests(make_server, tmp_path):
    module = fixture_copy(tmp_path, "bgw_tally")
    built = make(module)
    assert built.returncode == 0, harness.describe(built)
    # PostgreSQL's warning flags: the module and our headers are clean under them.
    assert "warning:" not in built.stdout + built.stderr, harness.describe(built)
    installed = make(module, "install")
    assert installed.returncode == 0, harness.describe(installed)
    assert os.path.isfile(os.path.join(pg_config("--pkglibdir"), "bgw_tally.so"))
    srv = make_server()
    srv.init()
    srv.start()
    check = installcheck(module, srv)
    assert "All 1 tests passed." in check.stdout, check.stdout
    # The workers ran as the module's own, under their own names.
    log = srv.read_log()
    assert "bgw_tally worker 1: counted 3 steps of 1" in log
    assert "bgw_tally worker 2: counted 2 steps of 10" in log
    # A failing test fails installcheck, with the diff where pg_regress puts it.
    (module / "expected" / "bgw_tally.out").write_text("something else\n")
    failed = make(module, "installcheck", env=client_env(srv))
    assert failed.returncode != 0
    assert "FAILED" in failed.stdout
    assert "+CREATE EXTENSION bgw_tally VERSION '1.0';" in (module / "regression.diffs").read_text()
    cleaned = make(module, "clean")
    assert cleaned.returncode == 0 and not (module / "bgw_tally.so").exists()


def test_shared_memory_module_counts_across_sessions(make_server, tmp_path):
    """A pg_stat_statements-shaped module (shmem_request_hook, shmem_startup_hook,
    a named LWLock tranche, ShmemInitHash) builds with its Makefile, passes its
    own tests when preloaded, shares its table between sessions, and says so
    clearly when it is not preloaded."""
    module = fixture_copy(tmp_path, "bgw_hits")
    installed = make(module, "install")
    assert installed.returncode == 0, harness.describe(installed)
    assert "warning:" not in installed.stdout + installed.stderr, harness.describe(installed)
    srv = make_server()
    srv.init()
    srv.set_conf(shared_preload_libraries="bgw_hits")
    srv.start()
    installcheck(module, srv)
    with connect(srv) as conn:
        conn.execute("CREATE EXTENSION bgw_hits")
        conn.execute("SELECT bgw_hits_hit('shared')")
    with connect(srv) as other:
        assert other.execute("SELECT bgw_hits_hit('shared')").fetchone() == (2,)
    srv.stop()
    srv.set_conf(shared_preload_libraries="")
    srv.start()
    e = error_of(srv, "SELECT bgw_hits_hit('x')")
    assert e.sqlstate == "55000" and "shared_preload_libraries" in str(e)


def test_extension_refusals(make_server, extension_files):
    extension_files("bgwx_plain.control", "default_version = '1.0'\nsuperuser = false\n"
                    "comment = 'a plain one'\n")
    extension_files("bgwx_plain--1.0.sql",
                    '\\echo Use "CREATE EXTENSION bgwx_plain" to load this file. \\quit\n'
                    "CREATE TABLE bgwx_plain_t (v int4);\nCREATE VIEW bgwx_plain_v AS "
                    "SELECT v FROM bgwx_plain_t;\n")
    extension_files("bgwx_needs.control", "default_version = '1.0'\nrequires = 'bgwx_plain'\n")
    extension_files("bgwx_needs--1.0.sql", "CREATE TABLE bgwx_needs_t (v int4);\n")
    extension_files("bgwx_super.control", "default_version = '1.0'\n")
    extension_files("bgwx_super--1.0.sql", "CREATE TABLE bgwx_super_t (v int4);\n")
    extension_files("bgwx_broken.control", "default_version = '1.0'\nflavour = 'strange'\n")
    extension_files("bgwx_halfway.control", "default_version = '1.0'\n")
    extension_files("bgwx_halfway--1.0.sql",
                    "CREATE TABLE bgwx_halfway_t (v int4);\nSELECT no_such_column FROM "
                    "bgwx_halfway_t;\n")
    extension_files("bgwx_noversion.control", "comment = 'no default_version'\n")
    srv = make_server()
    srv.init()
    srv.start()
    with connect(srv) as conn:
        conn.execute("CREATE ROLE alice LOGIN")

    # Names are file name parts: no way out of the share directory.
    for name in ('"../../../tmp/x"', '"a--b"', '"-a"'):
        e = error_of(srv, f"CREATE EXTENSION {name}", user="alice")
        assert e.sqlstate == "22023" and "invalid extension name" in str(e), name
    e = error_of(srv, "CREATE EXTENSION bgwx_plain VERSION '../1.0'", user="alice")
    assert e.sqlstate == "22023" and "invalid extension version name" in str(e)
    e = error_of(srv, "CREATE EXTENSION bgwx_missing")
    assert e.sqlstate == "58P01" and 'extension "bgwx_missing" is not available' in str(e)
    e = error_of(srv, "CREATE EXTENSION bgwx_broken")
    assert e.sqlstate == "42601"
    assert 'unrecognized parameter "flavour"' in str(e) and "bgwx_broken.control\" line 2" in str(e)
    e = error_of(srv, "CREATE EXTENSION bgwx_noversion")
    assert e.sqlstate == "22023"
    e = error_of(srv, "CREATE EXTENSION bgwx_plain VERSION '9.9'")
    assert e.sqlstate == "22023" and '"9.9"' in str(e)
    # An ordinary role may not install what needs a superuser.
    e = error_of(srv, "CREATE EXTENSION bgwx_super", user="alice")
    assert e.sqlstate == "42501" and "permission denied to create extension" in str(e)
    assert e.diag.message_hint == "Must be superuser to create this extension."
    # A script that fails half way leaves nothing behind.
    e = error_of(srv, "CREATE EXTENSION bgwx_halfway")
    assert "bgwx_halfway--1.0.sql" in (e.diag.message_detail or ""), e.diag.message_detail
    with connect(srv) as conn:
        assert conn.execute("SELECT count(*) FROM pg_extension").fetchone() == (0,)
        with pytest.raises(psycopg.Error):
            conn.execute("SELECT * FROM bgwx_halfway_t")
    # requires: refused without CASCADE, installed with it.
    e = error_of(srv, "CREATE EXTENSION bgwx_needs")
    assert e.sqlstate == "42704" and 'required extension "bgwx_plain" is not installed' in str(e)
    with connect(srv) as conn:
        conn.execute("CREATE EXTENSION bgwx_needs CASCADE")
        names = conn.execute("SELECT extname FROM pg_extension ORDER BY 1").fetchall()
        assert names == [("bgwx_needs",), ("bgwx_plain",)]
        avail = dict(conn.execute(
            "SELECT name, installed_version FROM pg_available_extensions "
            "WHERE name LIKE 'bgwx_%'").fetchall())
        assert avail["bgwx_plain"] == "1.0" and avail["bgwx_super"] is None
    # What depends on an extension keeps it, unless CASCADE.
    e = error_of(srv, "DROP EXTENSION bgwx_plain")
    assert e.sqlstate == "2BP01" and "extension bgwx_needs depends on extension bgwx_plain" in (
        e.diag.message_detail or "")
    # Only its owner or a superuser drops an extension.
    e = error_of(srv, "DROP EXTENSION bgwx_needs", user="alice")
    assert e.sqlstate == "42501"
    with connect(srv) as conn:
        conn.execute("DROP EXTENSION bgwx_plain CASCADE")
        assert conn.execute("SELECT count(*) FROM pg_extension").fetchone() == (0,)
        for table in ("bgwx_plain_t", "bgwx_plain_v", "bgwx_needs_t"):
            with pytest.raises(psycopg.Error):
                conn.execute(f"SELECT * FROM {table}")
    e = error_of(srv, "DROP EXTENSION bgwx_plain")
    assert e.sqlstate == "42704"
    with connect(srv) as conn:
        conn.execute("DROP EXTENSION IF EXISTS bgwx_plain")
    # superuser = false: an ordinary role may install it (given CREATE on
    # public, which PostgreSQL 15 no longer grants to everyone), and owns it.
    e = error_of(srv, "CREATE EXTENSION bgwx_plain", user="alice")
    assert e.sqlstate == "42501" and "permission denied for schema public" in str(e)
    with connect(srv) as conn:
        conn.execute("GRANT CREATE ON SCHEMA public TO alice")
    with connect(srv, user="alice") as conn:
        conn.execute("CREATE EXTENSION bgwx_plain")
        conn.execute("DROP EXTENSION bgwx_plain")
    # An attacker drops her extension's table, the superuser makes one of
    # that name, and her DROP EXTENSION (which drops members whoever owns
    # them) must leave it alone: it is not the member any more.
    with connect(srv, user="alice") as conn:
        conn.execute("CREATE EXTENSION bgwx_plain")
        conn.execute("DROP VIEW bgwx_plain_v")
        conn.execute("DROP TABLE bgwx_plain_t")
    with connect(srv) as conn:
        conn.execute("CREATE TABLE bgwx_plain_t (secret text)")
        conn.execute("INSERT INTO bgwx_plain_t VALUES ('keep me')")
    with connect(srv, user="alice") as conn:
        conn.execute("DROP EXTENSION bgwx_plain")
    with connect(srv) as conn:
        assert conn.execute("SELECT secret FROM bgwx_plain_t").fetchall() == [("keep me",)]


def test_psql_dx_lists_extensions(make_server, extension_files):
    extension_files("bgwx_listed.control", "default_version = '2.0'\ncomment = 'listed by dx'\n")
    extension_files("bgwx_listed--2.0.sql", "CREATE TABLE bgwx_listed_t (v int4);\n")
    srv = make_server()
    srv.init()
    srv.start()
    with connect(srv) as conn:
        conn.execute("CREATE EXTENSION bgwx_listed")
    cmd = ["psql", "-X", "-h", str(srv.sockdir), "-p", str(srv.port), "-U", SUPERUSER, "postgres",
           "-c", "\\dx"]
    dx = harness.run(cmd, env=harness.pg_env())
    assert dx.returncode == 0, harness.describe(dx)
    assert "bgwx_listed | 2.0" in dx.stdout and "listed by dx" in dx.stdout, dx.stdout
