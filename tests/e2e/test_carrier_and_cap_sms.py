"""Carrier calibration and the at-cap SMS through the whole agent under the real MicroPython (.mpy
bundle), the emulated modem and a real mosquitto. The metered link's kernel counters come from a
fake /sys tree (usage.sys_root) the test grows, so the traffic is exact and on cue."""
import contextlib
import json
import os
import subprocess
import threading
import time

from host_tools.emulator import Emulator
from tests.e2e.test_agent_slice import StatusWatcher, site_config
from tests.support import paths

MB = 10 ** 6
DIGI = ("Tu consumo adicional es de 0.00 euros. Te quedan 7.44 GB, 94 min nacionales y 998 SMS a DIGI, "
        "validos hasta dia 15.")  # an example reply format (source: tests/usage/carrier_vectors.py)
O2 = "Ihr aktueller Verbrauch liegt bei 0 Min, 0 SMS einem Datenvolumen von 2821 MB"


class FakeSys:
    """/sys/class/net/lo/statistics of a metered 'lo' the test controls (written atomically)."""

    def __init__(self, root):
        self.dir = os.path.join(str(root), "lo")
        os.makedirs(os.path.join(self.dir, "statistics"))
        with open(os.path.join(self.dir, "ifindex"), "w") as f:
            f.write("1\n")
        self.rx = self.tx = 0
        self.add(0)

    def add(self, rx, tx=0):
        self.rx += rx
        self.tx += tx
        for name, v in (("rx_bytes", self.rx), ("tx_bytes", self.tx)):
            p = os.path.join(self.dir, "statistics", name)
            with open(p + ".w", "w") as f:
                f.write("%d\n" % v)
            os.replace(p + ".w", p)


class Agent:
    """micropython -m wanwatch with its output collected line by line."""

    def __init__(self, cfg_path, bundle):
        env = dict(os.environ, MICROPYPATH=bundle + ":.frozen")
        self.p = subprocess.Popen([paths.micropython(), "-m", "wanwatch", "--config", cfg_path], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_line(self, part, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            for l in self.lines:
                if part in l:
                    return l
            assert self.p.poll() is None, "\n".join(self.lines[-30:])
            time.sleep(0.1)
        raise AssertionError("no log line with %r; last lines:\n%s" % (part, "\n".join(self.lines[-30:])))

    def stop(self):
        self.p.kill()
        self.p.wait()


def events(w, kind):
    return [json.loads(p) for p, _ in w.msgs.get("event", []) if json.loads(p)["type"] == kind]


def wait_event(w, kind, n=1, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        got = events(w, kind)
        if len(got) >= n:
            return got[n - 1]
        time.sleep(0.1)
    raise AssertionError("no %s event; got %s" % (kind, [json.loads(p)["type"] for p, _ in w.msgs.get("event", [])]))


def last_status(w, key, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        st = json.loads(w.msgs["status"][-1][0])["usage"]
        if st[key] is not None:
            return st
        time.sleep(0.2)
    raise AssertionError("status usage.%s still null: %r" % (key, st))


@contextlib.contextmanager
def site(tmp_path, broker, bundle, usage, prepare=None, **over):
    """(emulator, fake counter, broker watcher, agent) of one agent run; prepare(emu) scripts the
    emulator before the agent starts. Waits until the agent is online."""
    emu = Emulator(profile="generic")
    emu.start(link=str(tmp_path / "ttyMODEM"))
    if prepare:
        prepare(emu)
    sysroot = tmp_path / "sys"
    ctr = FakeSys(sysroot)
    u = dict({"sample_s": 0.2, "ram_save_s": 1, "sys_root": str(sysroot)}, **usage)
    w = StatusWatcher(broker.port)
    a = Agent(site_config(tmp_path, emu.port, broker.port, usage=u, **over), bundle)
    try:
        assert w.wait("state", 30) == b"online"
        time.sleep(1)
        yield emu, ctr, w, a
    finally:
        a.stop()
        emu.stop()
        w.stop()


def test_ussd_calibration_corrects_the_ledger_and_a_mismatch_changes_nothing(tmp_path, broker, mpy_bundle):
    cal = [{"method": "ussd", "code": "*133#", "pattern": "Te quedan {num} {unit}", "interval_s": 1,
            "iccid_prefix": "8949"}]
    first = lambda emu: emu.ussd_reply("*133#", "Servicio no disponible en este momento")  # not the balance
    with site(tmp_path, broker, mpy_bundle, {"cap_mb": 10000, "calibration": cal}, first) as (emu, ctr, w, a):
        ctr.add(2 * MB, 500_000)  # the SIM carries traffic: a calibration is due
        line = a.wait_line("does not match the pattern")
        assert "ledger unchanged: Servicio no disponible" in line
        assert not events(w, "usage_calibrated")
        assert json.loads(w.msgs["status"][-1][0])["usage"]["carrier_at"] is None
        emu.ussd_reply("*133#", DIGI)
        ctr.add(1 * MB, 500_000)  # more traffic: due again after interval_s
        ev = wait_event(w, "usage_calibrated")
        assert ev["method"] == "ussd" and ev["value"] == "remaining" and ev["carrier_bytes"] == 7_440_000_000
        assert ev["carrier_used_bytes"] == 10000 * MB - 7_440_000_000
        assert ev["diff_bytes"] == ev["carrier_used_bytes"] - ev["estimate_used_bytes"]
        st = last_status(w, "carrier_at")
        assert st["total_bytes"] == 4 * MB and st["remaining_bytes"] == 10000 * MB - 4 * MB
        assert st["carrier_remaining_bytes"] == 7_440_000_000 and st["used_pct"] == 25.6
        assert st["carrier_used_bytes"] == 2_560_000_000
        ussd = [c for c in emu.commands if c.startswith("AT+CUSD=1")]
        assert ussd == ['AT+CUSD=1,"*133#",15'] * 2  # asked twice, once per traffic burst


def test_sms_calibration_through_cmti_and_cmgr(tmp_path, broker, mpy_bundle):
    def prepare(emu):
        emu.deliver_sms("+4917099", "Hallo!")  # an older message on the SIM: left alone
        emu.auto_reply("22555", "+4930123", "Unser Angebot fuer Sie", keyword="DATA", delay=0.5)  # not from o2
        emu.auto_reply("22555", "o2", "Ihr Verbrauch:\n" + O2, keyword="DATA", delay=1.0)

    cal = [{"method": "sms", "number": "22555", "text": "DATA", "sender": "o2", "value": "used",
            "pattern": "Datenvolumen von {num} {unit}", "interval_s": 1}]
    with site(tmp_path, broker, mpy_bundle, {"cap_mb": 5000, "calibration": cal}, prepare) as (emu, ctr, w, a):
        ctr.add(3 * MB)
        ev = wait_event(w, "usage_calibrated", timeout=40)
        assert ev["method"] == "sms" and ev["value"] == "used" and ev["carrier_used_bytes"] == 2821 * MB
        assert ev["diff_bytes"] == 2821 * MB - 3 * MB and ev["carrier_remaining_bytes"] == 5000 * MB - 2821 * MB
        assert ("22555", "DATA") in emu.sms_sent
        # the reply (index 2) read and deleted; the old message and the one from another sender kept
        assert sorted(emu.inbox) == [0, 1]
        assert "SMS 1 from +4930123 is not the carrier's reply: left on the SIM" in a.wait_line("SMS 1 from")
        st = last_status(w, "carrier_at")
        assert st["carrier_used_bytes"] == 2821 * MB and st["used_pct"] == 56.4
        # the corrected estimate drives the thresholds: 50 % crossed on the carrier's count
        assert [e["pct"] for e in events(w, "usage_threshold")] == [50]


def test_at_cap_alert_sms_is_sent_with_the_broker_up(tmp_path, broker, mpy_bundle):
    with site(tmp_path, broker, mpy_bundle, {"cap_mb": 5, "at_cap_action": "alert_sms"},
              sms={"numbers": ["+4917000000001"], "max_per_day": 3}) as (emu, ctr, w, a):
        ctr.add(6 * MB)
        cap = wait_event(w, "usage_threshold", 4)
        assert cap["pct"] == 100 and cap["action"] == "alert_sms"
        sent = wait_event(w, "sms_sent")
        assert sent["about"] == "usage_threshold" and sent["about_seq"] == cap["seq"] and sent["ok"] == 1
        assert emu.sms_sent == [("+4917000000001", "wanwatch e2e-shop: backup SIM at 100% of its 5 MB cap")]
        with open(tmp_path / "flash" / "sms.json") as f:
            assert len(json.load(f)["sent"]) == 1  # booked in the SMS fallback's daily bound
        assert json.loads(w.msgs["status"][-1][0])["mqtt"]["connected"]  # the broker was up all along
