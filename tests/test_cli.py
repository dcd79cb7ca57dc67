"""The `bgw` command line: usage, init, and the control commands on a stopped server."""

import os
import re
import stat

import pytest

from harness import bgw, describe, output

SUBCOMMANDS = ["init", "run", "start", "stop", "status", "reload"]

SETTINGS = [
    "port",
    "listen_addresses",
    "unix_socket_directories",
    "max_connections",
    "max_worker_processes",
    "shared_preload_libraries",
    "dynamic_library_path",
    "authentication_timeout",
    "restart_after_crash",
    "cluster_name",
    "log_min_messages",
    "log_line_prefix",
    "log_destination",
    "log_directory",
    "log_filename",
]


def test_top_level_help():
    cp = bgw("--help")
    assert cp.returncode == 0, describe(cp)
    text = output(cp)
    assert re.search(r"usage", text, re.I), describe(cp)
    for sub in SUBCOMMANDS:
        assert sub in text, f"--help does not mention subcommand {sub!r}:\n{text}"


@pytest.mark.parametrize("sub", SUBCOMMANDS)
def test_subcommand_help(sub):
    cp = bgw(sub, "--help")
    assert cp.returncode == 0, describe(cp)
    text = output(cp)
    assert re.search(r"usage", text, re.I), describe(cp)
    assert sub in text, describe(cp)
    assert "-D" in text, f"help of {sub} does not document -D:\n{text}"


def test_unknown_subcommand_exit_2():
    cp = bgw("frobnicate")
    assert cp.returncode == 2, describe(cp)
    assert "frobnicate" in output(cp), describe(cp)


@pytest.mark.parametrize("sub", SUBCOMMANDS)
def test_unknown_option_exit_2(sub, tmp_path):
    cp = bgw(sub, "-D", tmp_path / "d", "--no-such-option")
    assert cp.returncode == 2, describe(cp)
    assert not (tmp_path / "d").exists(), "a rejected command must not create anything"


def test_stop_bad_mode_rejected(tmp_path):
    d = tmp_path / "d"
    assert bgw("init", "-D", d).returncode == 0
    cp = bgw("stop", "-D", d, "-m", "sideways")
    assert cp.returncode != 0, describe(cp)
    assert cp.returncode != 3, "a bad -m value is a usage error, not 'not running'"
    assert "sideways" in output(cp), describe(cp)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_init_layout(tmp_path):
    d = tmp_path / "data"
    cp = bgw("init", "-D", d)
    assert cp.returncode == 0, describe(cp)
    assert d.is_dir()
    assert _mode(d) == 0o700, oct(_mode(d))
    for f in ["BGW_VERSION", "bgw.conf", "hba.conf", "global/bgw_control"]:
        assert (d / f).is_file(), f"missing {f}"
    for sub in ["global", "base", "log", "modules"]:
        assert (d / sub).is_dir(), f"missing directory {sub}/"
    assert (d / "BGW_VERSION").read_text().strip(), "BGW_VERSION is empty"
    assert not (d / "postmaster.pid").exists()


def test_init_conf_lists_every_setting_commented(tmp_path):
    d = tmp_path / "data"
    assert bgw("init", "-D", d).returncode == 0
    conf = (d / "bgw.conf").read_text()
    assert re.search(r"^#\s*port\s*=\s*5432\b", conf, re.M), conf
    assert re.search(r"^#\s*log_min_messages\s*=\s*'?warning'?", conf, re.M), conf
    for name in SETTINGS:
        assert re.search(rf"^#\s*{name}\s*=", conf, re.M), f"{name} not listed commented out"
        assert not re.search(rf"^\s*{name}\s*=", conf, re.M), f"{name} set (not commented) by init"


def test_init_existing_empty_dir(tmp_path):
    d = tmp_path / "empty"
    d.mkdir(mode=0o755)
    os.chmod(d, 0o755)
    cp = bgw("init", "-D", d)
    assert cp.returncode == 0, describe(cp)
    assert (d / "bgw.conf").is_file()
    assert _mode(d) == 0o700, f"existing directory left with mode {oct(_mode(d))}"


def test_init_refuses_non_empty_dir(tmp_path):
    d = tmp_path / "full"
    d.mkdir()
    (d / "precious.txt").write_text("keep me")
    cp = bgw("init", "-D", d)
    assert cp.returncode == 1, describe(cp)
    assert "exists but is not empty" in output(cp), describe(cp)
    assert sorted(os.listdir(d)) == ["precious.txt"]
    assert (d / "precious.txt").read_text() == "keep me"


def test_init_twice_refused(tmp_path):
    d = tmp_path / "data"
    assert bgw("init", "-D", d).returncode == 0
    before = (d / "bgw.conf").read_text()
    cp = bgw("init", "-D", d)
    assert cp.returncode == 1, describe(cp)
    assert "exists but is not empty" in output(cp), describe(cp)
    assert (d / "bgw.conf").read_text() == before


@pytest.fixture
def stopped_datadir(tmp_path):
    d = tmp_path / "data"
    cp = bgw("init", "-D", d)
    assert cp.returncode == 0, describe(cp)
    return d


def test_status_stopped_exit_3(stopped_datadir):
    cp = bgw("status", "-D", stopped_datadir)
    assert cp.returncode == 3, describe(cp)
    assert "no server running" in output(cp), describe(cp)


def test_stop_stopped_exit_3(stopped_datadir):
    cp = bgw("stop", "-D", stopped_datadir)
    assert cp.returncode == 3, describe(cp)


@pytest.mark.parametrize("mode", ["smart", "fast", "immediate"])
def test_stop_modes_stopped_exit_3(stopped_datadir, mode):
    cp = bgw("stop", "-D", stopped_datadir, "-m", mode)
    assert cp.returncode == 3, describe(cp)


def test_reload_stopped_exit_3(stopped_datadir):
    cp = bgw("reload", "-D", stopped_datadir)
    assert cp.returncode == 3, describe(cp)


def test_status_stale_pidfile_is_not_running(stopped_datadir):
    # A pid file naming a process that is not a bgw postmaster (our own pid:
    # alive, but not a postmaster) must not be reported as a running server.
    (stopped_datadir / "postmaster.pid").write_text(
        f"{os.getpid()}\n{stopped_datadir}\n0\n5432\n/tmp\n127.0.0.1\n0 0\nready   \n"
    )
    cp = bgw("status", "-D", stopped_datadir)
    assert cp.returncode == 3, describe(cp)


def test_status_not_a_data_dir_exit_4(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir(mode=0o700)
    cp = bgw("status", "-D", empty)
    assert cp.returncode == 4, describe(cp)


def test_status_missing_dir_exit_4(tmp_path):
    cp = bgw("status", "-D", tmp_path / "does-not-exist")
    assert cp.returncode == 4, describe(cp)


# --- bgw init: authentication options and the catalog -----------------------


def _hba_rules(d):
    return [
        line.split()
        for line in (d / "hba.conf").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _catalog_rows(d, sql):
    import sqlite3

    con = sqlite3.connect(f"file:{d / 'global' / 'catalog.db'}?mode=ro", uri=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_init_default_auth_is_trust_and_superuser_is_os_user(tmp_path):
    import pwd

    d = tmp_path / "data"
    cp = bgw("init", "-D", d)
    assert cp.returncode == 0, describe(cp)
    assert _hba_rules(d) == [
        ["local", "all", "all", "trust"],
        ["host", "all", "all", "127.0.0.1/32", "trust"],
        ["host", "all", "all", "::1/128", "trust"],
    ]
    me = pwd.getpwuid(os.geteuid()).pw_name
    # The bootstrap superuser; the other roles are PostgreSQL's predefined ones.
    assert _catalog_rows(
        d, "SELECT oid, name, superuser, can_login, password FROM roles WHERE name NOT LIKE 'pg\\_%' ESCAPE '\\'"
    ) == [
        (10, me, 1, 1, "")
    ]
    assert _catalog_rows(d, "SELECT oid, name, owner FROM databases") == [(5, "postgres", 10)]
    assert (d / "base" / "5.db").is_file()
    assert _mode(d / "global" / "catalog.db") == 0o600


def test_init_auth_options_and_pwfile(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("pencil\nsecond line ignored\n")
    d = tmp_path / "data"
    cp = bgw("init", "-D", d, "-U", "boss", "--auth=md5", "--auth-local=password", f"--pwfile={pw}")
    assert cp.returncode == 0, describe(cp)
    assert _hba_rules(d) == [
        ["local", "all", "all", "password"],
        ["host", "all", "all", "127.0.0.1/32", "md5"],
        ["host", "all", "all", "::1/128", "md5"],
    ]
    [(name, verifier)] = _catalog_rows(d, "SELECT name, password FROM roles WHERE oid = 10")
    assert name == "boss"
    # password_encryption's default: a SCRAM verifier, never the password.
    assert re.fullmatch(r"SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}", verifier), verifier
    assert "pencil" not in verifier


def test_init_auth_host_only(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("x")
    d = tmp_path / "data"
    cp = bgw("init", "-D", d, "--auth-host", "scram-sha-256", "--pwfile", pw)
    assert cp.returncode == 0, describe(cp)
    assert [r[-1] for r in _hba_rules(d)] == ["trust", "scram-sha-256", "scram-sha-256"]


@pytest.mark.parametrize(
    "args",
    [
        ["--auth=md5"],
        ["--auth-local=scram-sha-256"],
        ["-A", "password"],
        ["--auth-host=md5", "--auth=trust"],
    ],
)
def test_init_password_method_without_pwfile_is_a_usage_error(tmp_path, args):
    d = tmp_path / "data"
    cp = bgw("init", "-D", d, *args)
    assert cp.returncode == 2, describe(cp)
    assert "must specify a password for the superuser to enable password authentication" in output(cp)
    assert not d.exists(), "nothing half-created"


@pytest.mark.parametrize("method", ["peer", "ident", "cert", "bogus"])
def test_init_unsupported_method_is_a_usage_error(tmp_path, method):
    d = tmp_path / "data"
    cp = bgw("init", "-D", d, f"--auth={method}")
    assert cp.returncode == 2, describe(cp)
    assert f'invalid authentication method "{method}"' in output(cp), describe(cp)
    assert not d.exists()


def test_init_unreadable_or_empty_pwfile_fails(tmp_path):
    d = tmp_path / "data"
    cp = bgw("init", "-D", d, "--auth=md5", f"--pwfile={tmp_path / 'missing'}")
    assert cp.returncode == 1, describe(cp)
    assert "could not open file" in output(cp), describe(cp)
    assert not d.exists()
    empty = tmp_path / "empty"
    empty.write_text("")
    cp = bgw("init", "-D", d, "--auth=md5", f"--pwfile={empty}")
    assert cp.returncode == 1, describe(cp)
    assert "is empty" in output(cp), describe(cp)
    assert not d.exists()


def test_init_refuses_pg_prefixed_superuser(tmp_path):
    d = tmp_path / "data"
    cp = bgw("init", "-D", d, "-U", "pg_boss")
    assert cp.returncode == 2, describe(cp)
    assert "pg_" in output(cp)
    assert not d.exists()


def test_init_help_lists_auth_options():
    cp = bgw("init", "--help")
    assert cp.returncode == 0, describe(cp)
    for opt in ["--auth=", "--auth-local=", "--auth-host=", "--pwfile=", "--username="]:
        assert opt in output(cp), opt


def test_bad_hba_conf_stops_the_start_naming_the_line(make_server):
    srv = make_server()
    srv.init()
    hba = srv.datadir / "hba.conf"
    hba.write_text(hba.read_text() + "local all all peer\n")
    line = hba.read_text().count("\n")
    cp = srv.start(check=False, timeout=20)
    assert cp.returncode != 0, describe(cp)
    text = output(cp) + srv.read_log()
    assert f'configuration file "{hba}" line {line}: authentication method "peer" not supported' in text, text


def test_bad_hba_conf_on_reload_keeps_the_server_running(make_server):
    srv = make_server()
    srv.init()
    srv.start()
    hba = srv.datadir / "hba.conf"
    hba.write_text(hba.read_text() + "host all +admins 10.0.0.0/8 md5\n")
    line = hba.read_text().count("\n")
    mark = srv.log_mark()
    cp = srv.reload()
    assert cp.returncode == 0, describe(cp)
    srv.wait_for_log(
        rf'line {line}: group membership \("\+admins"\) is not supported', since=mark
    )
    srv.wait_for_log("the previous rules stay in force", since=mark)
    cp = srv.status()
    assert cp.returncode == 0, describe(cp)
    srv.stop()


def test_init_warns_about_default_trust_only_when_no_method_chosen(tmp_path):
    cp = bgw("init", "-D", tmp_path / "a")
    assert cp.returncode == 0, describe(cp)
    assert 'enabling "trust" authentication' in cp.stderr, describe(cp)
    cp = bgw("init", "-D", tmp_path / "b", "--auth=trust")
    assert cp.returncode == 0, describe(cp)
    assert "warning" not in cp.stderr, describe(cp)
