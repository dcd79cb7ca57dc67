"""The C++ database face (include/bgworker/database.h) in a real worker:
modules/bgw_cxx_db_test connects, runs typed statements in RAII
transactions and logs one RESULT line per check; psql then sees what it
committed (and not what it rolled back)."""

from __future__ import annotations

import re

import harness
from harness import BGW_MODULE_DIR

RESULT_RX = re.compile(r"bgw_cxx_db_test RESULT check=(\S+) ok=(true|false) detail=(.*)$", re.M)


def test_cxx_database_face(make_server):
    srv = make_server()
    srv.init(dynamic_library_path=BGW_MODULE_DIR, shared_preload_libraries="bgw_cxx_db_test")
    srv.start()
    harness.wait_until(lambda: "bgw_cxx_db_test DONE" in srv.logfile.read_text(),
                       what="the worker's checks")
    results = {m.group(1): (m.group(2), m.group(3)) for m in
               RESULT_RX.finditer(srv.logfile.read_text())}
    assert set(results) == {"typed_rows", "sql_error", "dropped_rolls_back",
                            "serial_transactions"}, results
    failed = {k: v for k, v in results.items() if v[0] != "true"}
    assert not failed, f"{failed}\n{srv.log_tail()}"
    cp = harness.run(["psql", "-X", "-A", "-t", "-h", str(srv.sockdir), "-p", str(srv.port),
                      "-d", "postgres", "-c",
                      "SELECT count(*), sum(CASE WHEN id = 100 THEN 1 ELSE 0 END) "
                      "FROM cxx_items"], env=harness.pg_env())
    assert cp.returncode == 0 and cp.stdout.strip() == "11|0", harness.describe(cp)
