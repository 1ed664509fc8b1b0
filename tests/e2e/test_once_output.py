"""`wanwatch --once | jq` works in every case: stdout is exactly one JSON document (the status) and
nothing else, with the broker down, the modem absent, a link down, all at once, and at every
log level; the log lines say what happened on stderr, each with its level."""
import json
import os
import subprocess
import sys

import pytest

from host_tools.localbroker import free_port
from tests.conftest import run_micropython
from tests.e2e.test_agent_slice import emu, site_config  # noqa: F401 (emu: the emulated modem fixture)
from tests.support import paths

ROOT = os.geteuid() == 0  # raw ICMP sockets: without them the links stay "unknown" with a note


UP = {"name": "wan", "device": "lo", "role": "primary", "targets": ["127.0.0.1"]}
# a link whose target never answers (TEST-NET-1), and one on a device that does not exist
DOWN = {"name": "wwan", "device": "lo", "role": "backup", "targets": ["192.0.2.1"]}
GONE = {"name": "lte", "device": "nosuch0", "role": "backup", "targets": ["127.0.0.1"]}


def config(tmp_path, port, broker_port, links=None, **over):
    return site_config(tmp_path, port, broker_port, links=links or [UP], **over)


def once(cfg, runtime="micropython"):
    args = ["-m", "wanwatch", "--config", cfg, "--once"]
    if runtime == "cpython":
        return subprocess.run([sys.executable] + args, env=dict(os.environ, PYTHONPATH=paths.FIRMWARE),
                              capture_output=True, text=True, timeout=60)
    return run_micropython(args)


def only_json(r):
    """stdout is one JSON document on one line, nothing before or after it."""
    assert r.stdout.endswith("\n") and r.stdout.count("\n") == 1, (r.stdout, r.stderr)
    doc = json.loads(r.stdout)
    assert doc["device_id"] == "e2e-shop" and doc["v"] == 1
    return doc


def log_lines(r):
    lines = r.stderr.splitlines()
    assert all(l.startswith("wanwatch: ") for l in lines), r.stderr
    return lines


@pytest.mark.parametrize("runtime", ["micropython", "cpython"])
def test_broker_down(tmp_path, emu, runtime):
    r = once(config(tmp_path, emu.path, free_port()), runtime)
    assert r.returncode == 0, r.stderr
    doc = only_json(r)
    assert doc["mqtt"]["connected"] is False and doc["modem"]["state"] == "ready"
    assert [l for l in log_lines(r) if l.startswith("wanwatch: warning: mqtt: broker not reached: ")], r.stderr


@pytest.mark.parametrize("runtime", ["micropython", "cpython"])
def test_modem_absent(tmp_path, runtime):
    r = once(config(tmp_path, str(tmp_path / "ttyGONE"), free_port()), runtime)
    assert r.returncode == 1, r.stderr
    doc = only_json(r)
    assert doc["modem"]["state"] == "absent" and doc["mqtt"]["connected"] is False
    lines = log_lines(r)
    assert lines[0].startswith("wanwatch: error: modem: ") and "ttyGONE" in lines[0], lines
    assert "wanwatch: mqtt: status not published (no modem)" in lines


def test_link_down(tmp_path, emu):
    r = once(config(tmp_path, emu.path, free_port(), links=[UP, DOWN, GONE]))
    assert r.returncode == 0, r.stderr
    doc = only_json(r)
    assert set(doc["links"]) == {"wan", "wwan", "lte"}
    if ROOT:
        assert doc["links"]["wan"]["loss_pct"] == 0 and doc["links"]["wwan"]["loss_pct"] == 100
        assert [l for l in log_lines(r) if l.startswith("wanwatch: warning: links: cannot bind probe socket "
                                                         "to device nosuch0")], r.stderr
    else:
        assert [l for l in log_lines(r) if l.startswith("wanwatch: warning: links: raw ICMP")], r.stderr


@pytest.mark.parametrize("level", ["error", "warning", "info", "debug"])
def test_everything_wrong_at_every_level(tmp_path, level):
    """Broker down, modem absent, a link down and one gone, at each log level: still one JSON
    document on stdout; stderr holds exactly the lines of that level and above."""
    cfg = config(tmp_path, str(tmp_path / "ttyGONE"), free_port(), links=[UP, DOWN, GONE], log_level=level)
    r = once(cfg)
    assert r.returncode == 1, r.stderr
    doc = only_json(r)
    assert doc["modem"]["state"] == "absent" and doc["mqtt"]["connected"] is False
    tags = {"error": "error: ", "warning": "warning: ", "debug": "debug: "}
    seen = set()
    for l in log_lines(r):
        body = l[len("wanwatch: "):]
        seen.add(next((k for k, t in tags.items() if body.startswith(t)), "info"))
    order = ["error", "warning", "info", "debug"]
    assert seen <= set(order[:order.index(level) + 1]), (level, r.stderr)
    assert "error" in seen  # the modem line, at every level
