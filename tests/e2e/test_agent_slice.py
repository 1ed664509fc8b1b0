"""The vertical slice: the agent under real MicroPython (source and .mpy bundle) and CPython, against
the emulated modem and a real mosquitto; status read back from the broker with paho-mqtt."""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from host_tools.emulator import Emulator
from tests.conftest import run_micropython
from tests.support import paths


def site_config(tmp_path, tty, mqtt_port, **over):
    cfg = {
        "device_id": "e2e-shop",
        "modem": {"port": tty, "vendor": "auto", "poll_s": 2},
        "links": [{"name": "wan", "device": "lo", "role": "primary", "targets": ["127.0.0.1"]},
                  {"name": "wwan", "device": "lo", "role": "backup", "metered": True, "targets": ["127.0.0.1"]}],
        "usage": {"cap_mb": 1000},
        "mqtt": {"host": "127.0.0.1", "port": mqtt_port, "status_interval_s": 2},
        "state_dir": str(tmp_path / "flash"),
        "run_dir": str(tmp_path / "run"),
    }
    cfg.update(over)
    p = tmp_path / "site.json"
    p.write_text(json.dumps(cfg))
    return str(p)


def assert_matches_emulator(doc, emu):
    exp = emu.expected()
    assert doc["v"] == 1 and doc["device_id"] == "e2e-shop"
    assert doc["modem"]["state"] == "ready"
    for k in ("imei", "model", "firmware"):
        assert doc["modem"][k] == exp[k], k
    for k in ("iccid", "imsi"):
        assert doc["sim"][k] == exp[k], k
    assert doc["sim"]["state"] == "ready"
    for k in ("operator", "mcc", "mnc", "registration"):
        assert doc["network"][k] == exp[k], k
    assert doc["network"]["registered"] is True
    for k in ("csq", "rssi_dbm", "rsrp_dbm", "rsrq_db", "rat"):
        assert doc["signal"][k] == exp[k], (k, doc["signal"][k], exp[k])


class StatusWatcher:
    def __init__(self, port, device="e2e-shop"):
        self.msgs = {}
        self.event = threading.Event()
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="e2e-watch-%d" % os.getpid())
        self.c.on_message = self._on
        self.c.connect("127.0.0.1", port)
        self.c.subscribe("wanwatch/%s/#" % device, qos=1)
        self.c.loop_start()

    def _on(self, client, userdata, msg):
        self.msgs.setdefault(msg.topic.split("/", 2)[2], []).append((msg.payload, msg.retain))
        self.event.set()

    def wait(self, sub, timeout=30):
        t = time.time() + timeout
        while time.time() < t:
            if self.msgs.get(sub):
                return self.msgs[sub][-1][0]
            time.sleep(0.1)
        raise AssertionError("no message on %s; got %s" % (sub, list(self.msgs)))

    def stop(self):
        self.c.loop_stop()
        self.c.disconnect()


@pytest.fixture
def emu(tmp_path):
    e = Emulator(profile="generic")
    e.start(link=str(tmp_path / "ttyMODEM"))
    yield e
    e.stop()


@pytest.mark.parametrize("runtime", ["micropython-bundle", "micropython-source", "cpython"])
def test_once_publishes_retained_status(tmp_path, emu, broker, mpy_bundle, runtime):
    cfg = site_config(tmp_path, emu.path, broker.port)
    args = ["-m", "wanwatch", "--config", cfg, "--once"]
    if runtime == "cpython":
        env = dict(os.environ, PYTHONPATH=paths.FIRMWARE)
        r = subprocess.run([sys.executable] + args, env=env, capture_output=True, text=True, timeout=60)
    else:
        r = run_micropython(args, micropypath=mpy_bundle if runtime == "micropython-bundle" else paths.FIRMWARE)
    assert r.returncode == 0, r.stderr + r.stdout
    doc = json.loads(r.stdout.strip().splitlines()[-1])
    assert_matches_emulator(doc, emu)
    assert doc["mqtt"]["connected"] is True
    w = StatusWatcher(broker.port)
    try:
        retained = json.loads(w.wait("status"))
        assert_matches_emulator(retained, emu)
        assert w.msgs["status"][-1][1] is True  # retained flag
    finally:
        w.stop()


def test_once_without_broker_still_prints_status(tmp_path, emu):
    from host_tools.localbroker import free_port
    cfg = site_config(tmp_path, emu.path, free_port())
    r = run_micropython(["-m", "wanwatch", "--config", cfg, "--once"])
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)  # the whole of stdout: the log line about the broker is on stderr
    assert doc["mqtt"]["connected"] is False
    assert_matches_emulator(doc, emu)
    assert "wanwatch: warning: mqtt: broker not reached: " in r.stderr


def test_once_modem_port_missing_exits_1(tmp_path, broker):
    cfg = site_config(tmp_path, str(tmp_path / "no-such-tty"), broker.port)
    r = run_micropython(["-m", "wanwatch", "--config", cfg, "--once"])
    assert r.returncode == 1
    assert "wanwatch: error: modem: " in r.stderr and "no-such-tty" in r.stderr
    doc = json.loads(r.stdout)  # still the status document, saying so
    assert doc["modem"]["state"] == "absent" and doc["modem"]["imei"] is None


def test_bad_config_exits_2_one_line(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text(json.dumps({"device_id": "x", "modem": {"port": "/dev/null", "vendor": "nokia"}, "links": []}))
    r = run_micropython(["-m", "wanwatch", "--config", str(p)])
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("config error: %s: modem.vendor: " % p), r.stderr


def test_daemon_publishes_status_and_follows_signal_changes(tmp_path, emu, broker, mpy_bundle):
    cfg = site_config(tmp_path, emu.path, broker.port)
    env = dict(os.environ, MICROPYPATH=mpy_bundle + ":.frozen")
    w = StatusWatcher(broker.port)
    proc = subprocess.Popen([paths.micropython(), "-m", "wanwatch", "--config", cfg], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert w.wait("state", 30) == b"online"
        # the first status goes out at connect, maybe before the first modem poll finished:
        # wait for the one that carries the modem's values
        deadline = time.time() + 30
        while time.time() < deadline:
            doc = json.loads(w.wait("status", 30))
            if doc["modem"]["state"] == "ready" and doc["network"]["registered"]:
                break
            time.sleep(0.2)
        assert_matches_emulator(doc, emu)
        inv = json.loads(w.wait("inventory", 30))
        assert inv["imei"] == emu.expected()["imei"] and inv["device_id"] == "e2e-shop"
        emu.set(rsrp_dbm=-111)
        deadline = time.time() + 30
        while time.time() < deadline:
            doc = json.loads(w.msgs["status"][-1][0])
            if doc["signal"]["rsrp_dbm"] == emu.expected()["rsrp_dbm"] and emu.expected()["rsrp_dbm"] == -111:
                break
            time.sleep(0.3)
        else:
            raise AssertionError("status did not follow the signal change: %s" % doc["signal"])
        # the RAM status file for `wanwatch status` exists and parses
        with open(tmp_path / "run" / "status.json") as f:
            assert json.load(f)["device_id"] == "e2e-shop"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)
        # the last will: broker publishes offline after the TCP connection dies
        deadline = time.time() + 15
        while time.time() < deadline and w.msgs["state"][-1][0] != b"offline":
            time.sleep(0.2)
        w.stop()
    assert w.msgs["state"][-1][0] == b"offline"


def test_daemon_retries_absent_modem_then_finds_it(tmp_path, broker, mpy_bundle):
    """No modem at start: the daemon keeps running, reports it absent, and picks the port up when it
    appears (backoff 1, 2, 4 s ...)."""
    link = str(tmp_path / "ttyLATER")
    cfg = site_config(tmp_path, link, broker.port)
    env = dict(os.environ, MICROPYPATH=mpy_bundle + ":.frozen")
    w = StatusWatcher(broker.port)
    proc = subprocess.Popen([paths.micropython(), "-m", "wanwatch", "--config", cfg], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    emu = Emulator(profile="generic")
    try:
        doc = json.loads(w.wait("status", 30))
        assert doc["modem"]["state"] == "absent" and doc["modem"]["imei"] is None
        time.sleep(2)
        assert proc.poll() is None
        emu.start(link=link)
        deadline = time.time() + 40
        while time.time() < deadline:
            doc = json.loads(w.msgs["status"][-1][0])
            if doc["modem"]["state"] == "ready" and doc["network"]["registered"]:
                break
            time.sleep(0.3)
        assert_matches_emulator(doc, emu)
        events = [json.loads(p) for p, _ in w.msgs.get("event", [])]
        types = [e["type"] for e in events]
        assert "modem_absent" in types and "modem_ready" in types
        assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    finally:
        proc.kill()
        proc.wait()
        emu.stop()
        w.stop()
