"""A module written only against the PostgreSQL-compatible headers builds with
plain gcc and `bgw config --cflags`, loads from the data directory's modules/
(the default dynamic_library_path), and its workers run."""

import os
import shutil
import subprocess

import pytest

import harness

SOURCE_DIR = os.environ.get("BGW_SOURCE_DIR", os.path.join(os.path.dirname(__file__), ".."))


def test_bgw_config_reports_paths():
    cp = harness.bgw("config", "--cflags")
    assert cp.returncode == 0, harness.describe(cp)
    assert "-I" in cp.stdout and "postgres" in cp.stdout
    inc = harness.bgw("config", "--includedir").stdout.strip()
    assert os.path.isfile(os.path.join(inc, "postgres.h")), inc
    assert os.path.isfile(os.path.join(inc, "postmaster", "bgworker.h")), inc
    bad = harness.bgw("config", "--no-such-option")
    assert bad.returncode == 2


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
def test_plain_gcc_module_runs(make_server, tmp_path):
    cflags = harness.bgw("config", "--cflags").stdout.split()
    src = os.path.join(SOURCE_DIR, "modules", "bgw_example", "bgw_example.c")
    srv = make_server()
    srv.init()
    so = srv.datadir / "modules" / "bgw_example.so"
    cp = subprocess.run(["gcc", "-std=c11", "-Wall", "-Werror", *cflags, "-shared", "-o", str(so), src],
                        capture_output=True, text=True, timeout=120)
    assert cp.returncode == 0, cp.stderr
    srv.set_conf(shared_preload_libraries="bgw_example", **{"bgw_example.naptime": "1",
                                                           "bgw_example.workers": "2"})
    srv.start()
    srv.wait_for_log(r"bgw_example worker 1 started")
    srv.wait_for_log(r"bgw_example worker 2: heartbeat 1")
    # Worker 1 launches a dynamic task every third heartbeat and waits for it.
    srv.wait_for_log(r"bgw_example: task 1 started as PID \d+")
    srv.wait_for_log(r"bgw_example task 1: 9592 primes below 100000")
    srv.wait_for_log(r"bgw_example: task 1 finished")
    titles = [harness.cmdline(p) for p in srv.children()]
    assert "bgw: bgw_example bgw_example worker 1" in titles, titles
    st = srv.status()
    assert 'name="bgw_example worker 1"' in st.stdout and "state=running" in st.stdout, st.stdout
    srv.stop("fast")
    log = srv.read_log()
    assert 'terminating background worker "bgw_example" due to administrator command' in log
    assert "database system is shut down" in log


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
def test_error_in_pg_init_fails_startup_cleanly(make_server, tmp_path):
    """An ERROR raised by a preloaded module's _PG_init stops the server with a
    FATAL naming it, and leaves neither postmaster.pid nor sockets behind."""
    src = tmp_path / "failinit.c"
    src.write_text('#include "postgres.h"\n#include "fmgr.h"\nPG_MODULE_MAGIC;\n'
                   'void _PG_init(void) { elog(ERROR, "failinit: refusing to initialize"); }\n')
    cflags = harness.bgw("config", "--cflags").stdout.split()
    srv = make_server()
    srv.init()
    so = srv.datadir / "modules" / "failinit.so"
    cp = subprocess.run(["gcc", *cflags, "-shared", "-o", str(so), str(src)],
                        capture_output=True, text=True, timeout=120)
    assert cp.returncode == 0, cp.stderr
    srv.set_conf(shared_preload_libraries="failinit")
    r = srv.start(check=False)
    assert r.returncode == 1
    assert "FATAL:  failinit: refusing to initialize" in harness.output(r)
    assert not srv.pidfile.exists()
    assert not any(p.name.startswith(".s.PGSQL") for p in srv.sockdir.iterdir())
