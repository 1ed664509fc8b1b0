"""The lean board (boards/esp32-simcom-lean/manifest.py: core + the SIMCom driver) under real
MicroPython from its own .mpy bundle: `--check` and `--once` work against the emulated SIM7600 and a
real mosquitto (status published, retained); a config that needs an area or a vendor the build left
out is the one-line config error, in JSON and in UCI; `status` and `--syslog` say the same."""
import json

import pytest

from host_tools import build, manifest
from host_tools.emulator import Emulator
from tests.conftest import run_micropython
from tests.e2e.test_agent_slice import StatusWatcher, site_config

BOARD = "esp32-simcom-lean"
TAIL = "which is not in this build (its board manifest leaves it out)"


@pytest.fixture(scope="module")
def lean(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("lean") / "bundle")
    build.build(out, quiet=True, board=BOARD)
    return out


@pytest.fixture
def sim7600(tmp_path):
    e = Emulator(profile="simcom-sim7600")
    e.start(link=str(tmp_path / "ttyMODEM"))
    yield e
    e.stop()


def agent(bundle, cfg, *args):
    return run_micropython(["-m", "wanwatch", "--config", cfg] + list(args), micropypath=bundle)


def test_lean_bundle_holds_what_its_manifest_says(lean):
    r = run_micropython(["-c", "from wanwatch import built; print(built.BOARD, built.AREAS, sorted(built.VENDORS))"],
                        micropypath=lean)
    assert r.stdout.split(None, 1) == [BOARD, "() ['generic', 'simcom']\n"], r.stdout + r.stderr
    r = run_micropython(["-c", "import wanwatch.report.table"], micropypath=lean)
    assert r.returncode != 0 and "ImportError" in r.stdout + r.stderr  # really left out, not just unused


def test_check_and_once_under_micropython(lean, sim7600, broker, tmp_path):
    cfg = site_config(tmp_path, sim7600.path, broker.port, modem={"port": sim7600.path, "vendor": "simcom"})
    r = agent(lean, cfg, "--check")
    assert r.returncode == 0 and r.stdout == "config ok: %s\n" % cfg, r.stdout + r.stderr
    r = agent(lean, cfg, "--once")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("\n") == 1, r.stdout  # the status document and nothing else
    doc = json.loads(r.stdout)
    assert doc["modem"]["state"] == "ready" and doc["modem"]["vendor"] == "simcom", doc["modem"]
    assert doc["modem"]["imei"] == sim7600.expected()["imei"]
    assert doc["mqtt"]["connected"] is True
    assert doc["usage"]["cap_bytes"] == 1000 * 10 ** 6 and doc["usage"]["forecast_exhaustion"] is None
    w = StatusWatcher(broker.port)
    try:
        assert json.loads(w.wait("status"))["device_id"] == "e2e-shop"
    finally:
        w.stop()


@pytest.mark.parametrize("over, key, what", [
    ({"console": {"enabled": True}}, "console.enabled", "the console area"),
    ({"commands": {"key": "0123456789abcdef0123"}}, "commands.key", "the commands area"),
    ({"sms": {"numbers": ["+391234567"]}}, "sms.numbers", "the sms area"),
    ({"budget": {"rate_mbps": 2}, "actuator": "openwrt"}, "budget.rate_mbps", "the budget area"),
    ({"usage": {"calibration": [{"method": "ussd", "code": "*123#", "pattern": "{num}"}]}},
     "usage.calibration", "the calibration area"),
    ({"links": [{"name": "wan", "device": "lo", "role": "primary",
                 "checks": [{"type": "dns", "server": "127.0.0.1", "name": "example.com"}]}]},
     "links[0].checks", "the checks area"),
    ({"modem": {"port": "/dev/ttyUSB2", "vendor": "quectel"}}, "modem.vendor", "the quectel vendor driver"),
])
def test_a_key_needing_an_absent_area_is_one_config_error(lean, tmp_path, over, key, what):
    cfg = site_config(tmp_path, "/dev/ttyUSB2", 1883, **over)
    r = agent(lean, cfg, "--check")
    assert r.returncode == 2 and r.stdout == "", r.stdout
    assert r.stderr == "config error: %s: %s: needs %s, %s\n" % (cfg, key, what, TAIL)
    # the full build takes the same config (its own rules apply there, not this one)
    assert manifest.load("openwrt-quectel").areas >= {"console", "commands", "sms", "budget", "calibration", "checks"}


def test_uci_config_gets_the_same_error(lean, tmp_path):
    p = tmp_path / "wanwatch"
    p.write_text("config wanwatch 'main'\n\toption device_id 'shop'\n\n"
                 "config modem 'modem'\n\toption port '/dev/ttyUSB2'\n\n"
                 "config link 'wan'\n\toption device 'eth1'\n\toption role 'primary'\n\n"
                 "config console 'console'\n\toption enabled '1'\n")
    r = agent(lean, str(p), "--check")
    assert r.returncode == 2
    assert r.stderr == "config error: %s: console.enabled: needs the console area, %s\n" % (p, TAIL)


def test_status_and_syslog_need_their_areas(lean, tmp_path):
    r = run_micropython(["-m", "wanwatch", "status"], micropypath=lean)
    assert r.returncode == 2 and r.stderr == "wanwatch status: needs the table area, %s\n" % TAIL
    cfg = site_config(tmp_path, "/dev/ttyUSB2", 1883, modem={"port": "/dev/ttyUSB2", "vendor": "simcom"})
    r = agent(lean, cfg, "--syslog", "/dev/log", "--once")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == "wanwatch: --syslog: needs the syslog area, %s\n" % TAIL
