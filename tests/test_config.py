"""Configuration: errors in bgw.conf (and included files) stop startup with the
file, line and setting named; -c overrides; reload (SIGHUP) semantics."""

import os
import re

import pytest

import harness
from harness import describe, output


def _paths(p):
    return {str(p), os.path.realpath(p)}


def _assert_names_location(text, path, line, setting):
    assert any(p in text for p in _paths(path)), f"message does not name {path}:\n{text}"
    assert re.search(rf"\bline {line}\b", text), f"message does not name line {line}:\n{text}"
    assert setting is None or setting in text, f"message does not name {setting!r}:\n{text}"


BAD_LINES = [
    # id, line, setting named in the message (None: syntax errors), extra needles
    ("bad_int", "port = 'abc'", "port", ['invalid value for parameter "port": "abc"']),
    ("bad_int_unquoted", "max_connections = lots", "max_connections", ["lots"]),
    ("int_out_of_range", "port = 70000", "port", ["70000"]),
    ("int_below_range", "port = 0", "port", ['"port"']),
    ("unknown_setting", "foo_bar = 1", "foo_bar", ['unrecognized configuration parameter "foo_bar"']),
    ("syntax_two_values", "max_connections = 10 20", None, ["syntax error"]),
    ("syntax_unterminated_quote", "cluster_name = 'abc", None, ["syntax error"]),
    ("syntax_no_name", "= 5", None, ["syntax error"]),
    ("bad_bool", "restart_after_crash = maybe", "restart_after_crash", ["Boolean"]),
    ("bad_enum", "log_min_messages = loud", "log_min_messages", ["loud"]),
]


@pytest.mark.parametrize("case", BAD_LINES, ids=[c[0] for c in BAD_LINES])
def test_bad_setting_rejected_at_start(make_server, case):
    _, text, setting, needles = case
    srv = make_server()
    srv.init()
    line = srv.append_conf("# a comment line before the error\n" + text + "\n") + 1
    cp = srv.start(check=False)
    assert cp.returncode == 1, describe(cp)
    out = output(cp)
    _assert_names_location(out, srv.conf, line, setting)
    for n in needles:
        assert n in out, f"missing {n!r}:\n{out}"
    assert not srv.pidfile.exists(), "pid file left by a failed start"
    st = srv.status()
    assert st.returncode == 3, describe(st)


def test_bad_setting_rejected_by_run(make_server):
    srv = make_server()
    srv.init()
    line = srv.append_conf("port = 'abc'\n")
    p = srv.spawn_run()
    rc = p.wait(timeout=harness.CMD_TIMEOUT)
    err = srv.run_stderr_path.read_text(errors="replace")
    assert rc != 0, err
    _assert_names_location(err, srv.conf, line, "port")
    assert 'invalid value for parameter "port": "abc"' in err, err


def test_error_in_included_file(make_server):
    srv = make_server()
    srv.init()
    other = srv.datadir / "other.conf"
    other.write_text("# included\nport = 'abc'\n")
    srv.append_conf("include 'other.conf'\n")
    cp = srv.start(check=False)
    assert cp.returncode == 1, describe(cp)
    _assert_names_location(output(cp), other, 2, "port")


def test_missing_included_file(make_server):
    srv = make_server()
    srv.init()
    srv.append_conf("include 'no-such-file.conf'\n")
    cp = srv.start(check=False)
    assert cp.returncode == 1, describe(cp)
    assert "no-such-file.conf" in output(cp), describe(cp)


def test_included_file_applies(make_server):
    srv = make_server()
    srv.init()
    new_port = harness.free_port()
    (srv.datadir / "other.conf").write_text(f"port = {new_port}\n")
    srv.append_conf("include 'other.conf'\n")
    srv.port = new_port
    srv.start()
    info = srv.wait_pidfile_status("ready")
    assert int(info["lines"][3]) == new_port
    assert srv.is_accepting()


def test_later_line_wins(make_server):
    srv = make_server()
    srv.init()
    new_port = harness.free_port()
    srv.set_conf(port=new_port)
    srv.port = new_port
    srv.start()
    assert int(srv.wait_pidfile_status("ready")["lines"][3]) == new_port


def test_command_line_overrides_conf(make_server):
    srv = make_server()
    srv.init()
    conf_port = srv.port
    cli_port = harness.free_port()
    while cli_port == conf_port:
        cli_port = harness.free_port()
    srv.port = cli_port
    srv.start("-c", f"port={cli_port}")
    info = srv.wait_pidfile_status("ready")
    assert int(info["lines"][3]) == cli_port
    assert srv.is_accepting()
    with pytest.raises(ConnectionRefusedError):
        harness.connect_tcp(conf_port).close()


def test_command_line_overrides_conf_run(make_server):
    srv = make_server()
    srv.init()
    cli_port = harness.free_port()
    srv.port = cli_port
    p = srv.spawn_run("-c", f"port={cli_port}", "-c", "cluster_name=clitest")
    srv.wait_accepting()
    assert srv.pid == p.pid
    assert int(srv.read_pidfile()["lines"][3]) == cli_port


@pytest.mark.parametrize(
    "arg,needle",
    [
        ("port=abc", "abc"),
        ("port=70000", "70000"),
        ("no_such_setting=1", "no_such_setting"),
        ("restart_after_crash=maybe", "maybe"),
        ("log_min_messages=loud", "loud"),
    ],
)
def test_bad_command_line_setting_rejected(make_server, arg, needle):
    srv = make_server()
    srv.init()
    cp = srv.start("-c", arg, check=False)
    assert cp.returncode == 1, describe(cp)
    out = output(cp)
    assert needle in out, out
    assert arg.split("=")[0] in out, out
    assert not srv.pidfile.exists()


def test_command_line_setting_without_value(make_server):
    srv = make_server()
    srv.init()
    cp = srv.start("-c", "port", check=False)
    assert cp.returncode != 0, describe(cp)
    assert not srv.pidfile.exists()


# ---------------------------------------------------------------------------
# Reload.


def test_reload_applies_log_min_messages(server):
    mark = server.log_mark()
    assert not re.search(r"\bDEBUG\d?:", server.read_log()), "DEBUG output at the default level"
    server.set_conf(log_min_messages="debug1")
    cp = server.reload()
    assert cp.returncode == 0, describe(cp)
    assert "server signaled" in output(cp), describe(cp)
    server.wait_for_log(r'parameter "log_min_messages" changed to "debug1"', since=mark)
    # At debug2 the postmaster reports each child's exit (PostgreSQL logs
    # "server process ... exited" at DEBUG2): make a backend come and go.
    mark = server.log_mark()
    server.set_conf(log_min_messages="debug2")
    assert server.reload().returncode == 0
    server.wait_for_log(r'parameter "log_min_messages" changed to "debug2"', since=mark)
    harness.probe_tcp(server.port)
    server.wait_for_log(r"\bDEBUG2:", since=mark)
    pm = server.pid
    assert server.is_accepting() and server.pid == pm


def test_reload_postmaster_only_setting_ignored(server):
    old_port = server.port
    new_port = harness.free_port()
    mark = server.log_mark()
    server.set_conf(port=new_port)
    cp = server.reload()
    assert cp.returncode == 0, describe(cp)
    server.wait_for_log(
        r'parameter "port" cannot be changed without restarting the server', since=mark
    )
    assert int(server.read_pidfile()["lines"][3]) == old_port
    assert server.is_accepting()
    with pytest.raises(ConnectionRefusedError):
        harness.connect_tcp(new_port).close()


def test_reload_with_bad_value_keeps_running(server):
    pm = server.pid
    mark = server.log_mark()
    line = server.append_conf("log_min_messages = loud\n")
    cp = server.reload()
    assert cp.returncode == 0, describe(cp)
    server.wait_for_log(r"log_min_messages.*loud|loud.*log_min_messages", since=mark)
    assert server.pid == pm
    assert server.is_accepting()
    log = server.log_since(mark)
    assert re.search(rf"\bline {line}\b", log), log
    assert 'changed to "loud"' not in log


def test_reload_authentication_timeout(server):
    mark = server.log_mark()
    server.set_conf(authentication_timeout=1)
    assert server.reload().returncode == 0
    server.wait_for_log(r'parameter "authentication_timeout" changed to "1s?"', since=mark)
    conn = server.open_idle_connection()
    # With a 1 s timeout the waiting backend gives up and closes the connection.
    harness.wait_eof(conn, timeout=60)
    assert server.is_accepting()
