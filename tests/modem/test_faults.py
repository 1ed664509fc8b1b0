"""Fault scenarios: the real agent (MicroPython, .mpy bundle, daemon, poll_s 1) against the emulator,
read back from its RAM status file <run_dir>/status.json and events.json (written every 5 s).
Two agents run side by side to keep this fast: one walks signal/registration/SIM/counter faults with
split writes on, the other reboot, hang, garbage and a URC flood. No crash; recovery within 30 s of
the fault ending; the events are emitted."""
import json
import os
import subprocess
import threading
import time

from host_tools.emulator import Emulator
from host_tools.localbroker import free_port
from tests.support import paths


def read(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


class Agent:
    def __init__(self, tmp, profile, bundle):
        self.emu = Emulator(profile=profile)
        tty = self.emu.start()
        self.run_dir = os.path.join(tmp, "run")
        cfg = {"device_id": "fault-" + profile, "modem": {"port": tty, "vendor": "auto", "poll_s": 1},
               "links": [{"name": "wan", "device": "lo", "role": "primary", "targets": ["127.0.0.1"]}],
               "mqtt": {"host": "127.0.0.1", "port": free_port()},
               "state_dir": os.path.join(tmp, "flash"), "run_dir": self.run_dir}
        p = os.path.join(tmp, "site.json")
        with open(p, "w") as f:
            json.dump(cfg, f)
        env = dict(os.environ, MICROPYPATH=bundle + ":.frozen")
        self.log = open(os.path.join(tmp, "agent.log"), "w+")
        self.proc = subprocess.Popen([paths.micropython(), "-m", "wanwatch", "--config", p], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def status(self):
        return read(os.path.join(self.run_dir, "status.json"))

    def events(self):
        return read(os.path.join(self.run_dir, "events.json")) or []

    def wait(self, what, cond, timeout=30):
        t = time.time() + timeout
        doc = None
        while time.time() < t:
            assert self.proc.poll() is None, "agent exited: " + self.output()
            doc = self.status()
            try:
                if doc and cond(doc):
                    return doc
            except (KeyError, TypeError):
                pass
            time.sleep(0.2)
        raise AssertionError("%s: not within %d s; last status %r" % (what, timeout, doc))

    def wait_event(self, typ, timeout=30, **fields):
        t = time.time() + timeout
        while time.time() < t:
            for e in self.events():
                if e.get("type") == typ and all(e.get(k) == v for k, v in fields.items()):
                    return e
            time.sleep(0.2)
        raise AssertionError("no %s event %r; have %r" % (typ, fields, [e.get("type") for e in self.events()]))

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-3000:]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.emu.stop()
        out = self.output()
        self.log.close()
        return out


def radio_faults(a):
    e = a.emu
    e.split_writes = True
    a.wait("ready", lambda d: d["modem"]["state"] == "ready" and d["signal"]["rsrp_dbm"] == -97
           and d["signal"]["nr"]["rsrp_dbm"] == -85)
    c0 = a.status()["modem"]["counters"]
    assert c0 == {"rx_bytes": e.state["rx_bytes"], "tx_bytes": e.state["tx_bytes"]}
    e.set(rsrp_dbm=-110, rx_bytes=e.state["rx_bytes"] + 5000000, tx_bytes=e.state["tx_bytes"] + 1000)
    a.wait("signal change + counters growing", lambda d: d["signal"]["rsrp_dbm"] == -110
           and d["modem"]["counters"]["rx_bytes"] == c0["rx_bytes"] + 5000000)
    e.set(creg=3, cgreg=3, cereg=3)
    a.wait("registration denied", lambda d: d["network"]["registration"] == "denied"
           and d["network"]["registered"] is False and d["signal"]["rat"] is None and d["signal"]["rsrp_dbm"] is None)
    a.wait_event("registration", new="denied")
    e.set(creg=1, cgreg=1, cereg=1, cpin=None)
    a.wait("SIM removed", lambda d: d["sim"]["state"] == "absent" and d["sim"]["iccid"] is None)
    a.wait_event("sim_changed", new=None)
    e.set(cpin="READY")
    a.wait("SIM back, registered", lambda d: d["sim"]["state"] == "ready" and d["network"]["registered"] is True
           and d["sim"]["iccid"] == e.state["iccid"])


def modem_faults(a):
    e = a.emu
    a.wait("ready", lambda d: d["modem"]["state"] == "ready" and d["signal"]["rsrp_dbm"] == -97)
    e.reboot()
    a.wait_event("modem_reboot")
    a.wait("ready after reboot", lambda d: d["modem"]["state"] == "ready" and d["network"]["registered"] is True)
    e.hang(12)
    a.wait("hang seen", lambda d: d["modem"]["state"] == "unresponsive", timeout=30)
    a.wait_event("modem_recovery", step="resync")
    a.wait("back after hang", lambda d: d["modem"]["state"] == "ready" and d["network"]["registered"] is True,
           timeout=30)
    for _ in range(3):
        e.garbage(64)
    e.urc_flood(200)
    e.set(rsrp_dbm=-101)
    a.wait("after garbage and URC flood", lambda d: d["modem"]["state"] == "ready"
           and d["signal"]["rsrp_dbm"] == -101, timeout=30)


def test_faults(tmp_path, mpy_bundle):
    runs = [(radio_faults, "quectel-rm500q"), (modem_faults, "simcom-sim7600")]
    agents, errors, threads = [], [], []
    for i, (fn, prof) in enumerate(runs):
        d = tmp_path / str(i)
        d.mkdir()
        agents.append(Agent(str(d), prof, mpy_bundle))

    def go(fn, a):
        try:
            fn(a)
        except BaseException as ex:  # reported below with the agent log
            errors.append((fn.__name__, ex))
    try:
        for (fn, _), a in zip(runs, agents):
            th = threading.Thread(target=go, args=(fn, a))
            th.start()
            threads.append(th)
        for th in threads:
            th.join(120)
    finally:
        outs = [a.stop() for a in agents]
    assert not errors, "%r\n--- agent logs ---\n%s" % (errors, "\n---\n".join(outs))
    for o in outs:
        assert "Traceback" not in o, o
