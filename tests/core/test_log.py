"""The leveled logger (firmware/wanwatch/log.py, syslog.py) under the real MicroPython and CPython: levels,
bounded one-line messages, arguments of skipped lines never formatted, stderr by default, syslog
datagrams with their priority (facility daemon), and the fallback to stderr when the socket is
missing or full, never blocking, never raising. Plus the rule that makes stdout safe: no part of
firmware/ prints a log line."""
import ast
import os
import socket
import subprocess
import sys

import pytest

from tests.conftest import run_micropython
from tests.support import paths
from wanwatch import log

DRIVER = os.path.join(paths.TESTS, "core", "log_driver.py")

STDERR_HEAD = [
    "wanwatch: mqtt: shown counted",
    "wanwatch: warning: mqtt: warned 1",
    "wanwatch: error: mqtt: failed",
    "wanwatch: event agent_start device_id=x version=0.1.0",
    "wanwatch: " + "x" * 237 + "...",
    "wanwatch: two lines ",
    "wanwatch: bad %d ('format',)",
    "wanwatch: not a string",
    "wanwatch: warning: mqtt: kept",
]
SYSLOG = [(27, "mqtt: to syslog e"), (28, "mqtt: to syslog w"), (30, "mqtt: to syslog i"),
          (31, "mqtt: to syslog d"), (30, "event modem_ready vendor=generic")]
RESULTS = ["RESULT formatted 1", "RESULT syslog 5 0", "RESULT missing 0 2", "RESULT full 1000 True True",
           "RESULT done"]


def drain(sock):
    out = []
    while True:
        try:
            out.append(sock.recv(4096))
        except BlockingIOError:
            return out


def bound(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.setblocking(False)
    return s


def parse_datagram(d, pid):
    """(priority, message) of '<PRI>wanwatch[pid]: message'."""
    text = d.decode()
    assert text.startswith("<") and ">" in text, text
    pri, rest = text[1:].split(">", 1)
    head = "wanwatch[%d]: " % pid
    assert rest.startswith(head), (rest, head)
    return int(pri), rest[len(head):]


@pytest.mark.parametrize("runtime", ["micropython", "cpython"])
def test_logger_under_both_runtimes(tmp_path, runtime):
    d = str(tmp_path)
    logd, full = bound(d + "/log"), bound(d + "/full")
    try:
        if runtime == "micropython":
            p = subprocess.Popen([paths.micropython(), DRIVER, d], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, env=dict(os.environ, MICROPYPATH=paths.FIRMWARE + ":.frozen"))
        else:
            p = subprocess.Popen([sys.executable, DRIVER, d], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, env=dict(os.environ, PYTHONPATH=paths.FIRMWARE))
        # a blocking send into the unread socket would hang the driver: the timeout would say so
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, out + err
        assert out.splitlines() == RESULTS, out + err
        lines = err.splitlines()
        assert lines[:len(STDERR_HEAD)] == STDERR_HEAD, err
        rest = lines[len(STDERR_HEAD):]
        # no logd: the reason once, then the lines as they would have been on stderr anyway
        missing = d + "/missing"
        assert rest[0].startswith("wanwatch: warning: log: syslog socket %s: " % missing), rest[0]
        assert rest[0].endswith("; lines go to stderr until it takes them"), rest[0]
        assert rest[1:3] == ["wanwatch: mqtt: fallback 1", "wanwatch: warning: mqtt: fallback 2"], rest
        # logd's queue full: the reason once, every line that did not fit on stderr, none lost
        assert rest[3].startswith("wanwatch: warning: log: syslog socket %s/full: " % d), rest[3]
        flooded = rest[4:]
        assert all(l.startswith("wanwatch: mqtt: flood ") for l in flooded), flooded[:3]
        got = [parse_datagram(x, p.pid) for x in drain(full)]
        assert len(got) + len(flooded) == 1000 and len(got) > 0 and len(flooded) > 0
        assert [m for _, m in got] == ["mqtt: flood %d" % i for i in range(len(got))]  # in order, then stderr
        assert flooded[0] == "wanwatch: mqtt: flood %d" % len(got)
        # the socket got each line once with its priority: daemon (3) << 3 | severity
        assert [parse_datagram(x, p.pid) for x in drain(logd)] == SYSLOG
    finally:
        logd.close()
        full.close()


@pytest.fixture
def reset_log():
    yield
    log.setup("info")


def test_skipped_levels_cost_no_formatting(reset_log, capsys):
    class Loud:
        calls = 0

        def __str__(self):
            Loud.calls += 1
            return "loud"

    log.setup("error")
    a = log.Logger("a")
    a.warning("%s", Loud())
    a.info("%s", Loud())
    a.debug("%s", Loud())
    assert Loud.calls == 0 and capsys.readouterr().err == ""
    a.error("%s", Loud())
    assert Loud.calls == 1 and capsys.readouterr().err == "wanwatch: error: a: loud\n"
    log.setup("nonsense")  # the config rejects it; the logger falls back to info
    assert log.level == log.INFO


def test_syslog_comes_back_after_a_full_queue(reset_log, tmp_path, capsys):
    sock = bound(str(tmp_path / "log"))
    try:
        s = log.setup("info", str(tmp_path / "log"))
        n = 0
        while s.fallbacks == 0:  # fill logd's queue
            log.info("fill %d", n)
            n += 1
            assert n < 100000
        assert s.failing and capsys.readouterr().err.count("lines go to stderr") == 1
        drain(sock)  # logd catches up
        log.info("back")
        assert not s.failing and capsys.readouterr().err == ""
        assert drain(sock) == [("<30>wanwatch[%d]: back" % os.getpid()).encode()]
    finally:
        sock.close()


def test_unusable_syslog_path_falls_back_to_stderr(reset_log, capsys):
    log.setup("info", "/nonexistent/" + "x" * 200)  # longer than a unix socket path can be
    log.info("still said")
    err = capsys.readouterr().err
    assert err.endswith("wanwatch: still said\n") and "syslog socket" in err


def test_micropython_rejects_a_path_too_long_for_sockaddr_un(tmp_path):
    r = run_micropython(["-c", "from wanwatch import log\nlog.setup('info', '/x' * 60)\nlog.info('on stderr')"])
    assert r.returncode == 0 and r.stdout == "", r.stdout + r.stderr
    assert r.stderr.splitlines()[-1] == "wanwatch: on stderr" and "107 bytes" in r.stderr, r.stderr


# --- stdout is machine output: no part of firmware/ writes a log line there ------------------------
# (file, function): the only places that print, and what they print
OUTPUT = {
    ("wanwatch/cli.py", "main"): "usage, version, `config ok`",
    ("wanwatch/cli.py", "_err"): "usage and config errors (stderr, one line)",
    ("wanwatch/agent.py", "once"): "the --once status document",
    ("wanwatch/report/table.py", "main_status"): "`wanwatch status [--json]`",
    ("wanwatch/report/console.py", "status"): "status() at a board's REPL",
    ("wanwatch/report/console.py", "run"): "the line console's answers",
    ("wanwatch/log.py", "to_stderr"): "the logger itself",
}


def _writers(tree):
    """(enclosing function, line) of every print() and sys.stdout/sys.stderr write in a module."""
    found = []

    def walk(node, fn):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                walk(child, child.name)
                continue
            if isinstance(child, ast.Call):
                f = child.func
                if isinstance(f, ast.Name) and f.id == "print":
                    found.append((fn, child.lineno))
                elif (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Attribute)
                      and f.value.attr in ("stdout", "stderr")):
                    found.append((fn, child.lineno))
            walk(child, fn)
    walk(tree, None)
    return found


def test_no_log_line_is_printed_outside_the_logger():
    stray = []
    for dirpath, _, names in os.walk(os.path.join(paths.FIRMWARE, "wanwatch")):
        for name in names:
            if not name.endswith(".py"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, paths.FIRMWARE)
            with open(path) as f:
                tree = ast.parse(f.read(), rel)
            for fn, line in _writers(tree):
                if (rel, fn) not in OUTPUT:
                    stray.append("%s:%d (in %s)" % (rel, line, fn))
    assert not stray, "log through wanwatch.log, not print: " + ", ".join(stray)
