"""Carrier calibration below the agent: the pattern language (CPython = MicroPython), the USSD and
SMS parsers, the ledger's correction, and the modem-level exchanges against the emulator."""
import asyncio
import json
import os
import subprocess
import sys

import pytest

from host_tools.emulator import Emulator
from tests.conftest import run_micropython
from tests.support import paths
from tests.usage.helpers import MB, Rig, usage_error
from wanwatch.usage import carrier as C
from wanwatch.usage import tracker as U
from wanwatch.clock import Clock
from wanwatch.events import EventBus
from wanwatch.modem import messages as M
from wanwatch.modem.supervisor import ModemSupervisor

VECTORS = os.path.join(paths.TESTS, "usage", "carrier_vectors.py")


def vector_lines(runner):
    return [json.loads(l) for l in runner.splitlines() if l.strip()]


def test_patterns_same_under_micropython_and_cpython():
    r = run_micropython([VECTORS])
    assert r.returncode == 0, r.stdout + r.stderr
    c = subprocess.run([sys.executable, VECTORS], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=paths.FIRMWARE))
    assert c.returncode == 0, c.stderr
    got = vector_lines(r.stdout)
    assert got == vector_lines(c.stdout)
    res = dict((a, b) for a, b in got)
    assert res["Te quedan {num} {unit}"] == 7_440_000_000           # remaining (example: DIGI)
    assert res["Datenvolumen von {num} {unit}"] == 2_821_000_000    # used (example: o2)
    assert res["{num} {unit} DATA"] == 11_170_000_000               # "GBs": plural unit
    assert res["MobiGPRS-* rest {num} {unit}"] == 334_540_000       # "Mb" is MB, '*' skips the option size
    assert res["remaining: {num}"] == 1_234_500_000                  # no {unit}: the entry's unit (MB)
    assert res["left {num}{unit}"] == 1_500_000_000                 # one separator + 3 digits: thousands
    assert res["restan {num} {unit}"] == 2_500_000_000              # decimal comma
    assert res["{num} {unit} remaining"] == 512 * 1024
    assert res["price \\* {num}"] == 3 * MB
    assert res["data * {num} {unit}"] == 3 * 10 ** 9               # as little as possible, then the number
    assert res["balance {num} {unit}"] == 4 * 10 ** 9               # '10 EUR' is no unit: next place
    assert res["nope {num}"] is None
    assert res["a*b*c*d*{num}"] is None                             # bounded work, no match
    assert "exactly once" in res["{num} {num}"] and "unknown placeholder" in res["{foo} {num}"]
    assert "at most" in res["{num" + "x" * 300] and "'}' without" in res["a} {num}"]
    assert "* 4 times" in res["a * b * c * d * e * f {num}"]
    assert res["1.234,5"] == 1234.5 and res["1,5"] == 1.5 and res["1,234,567"] == 1234567 and res["1.2.3"] == 123


def test_config_names_each_bad_key():
    ok = {"method": "ussd", "code": "*123#", "pattern": "Te quedan {num} {unit}"}
    sms = {"method": "sms", "number": "22555", "pattern": "{num}"}
    assert usage_error({"calibration": [ok, sms]}) is None
    assert usage_error({"calibration": ok}) == ("calibration", "must be a list of 1 to 4 objects, got " + repr(ok)[:57] + "...")
    for entry, key in ((dict(ok, code="*123"), "code"), (dict(sms, number="x"), "number"), (dict(sms, value="left"), "value"),
                       (dict(sms, unit="parsec"), "unit"), (dict(sms, interval_s=0), "interval_s"),
                       (dict(sms, colour=1), "colour"), (dict(ok, pattern="{num"), "pattern"),
                       ({"method": "ussd", "pattern": "{num}"}, "code")):
        assert usage_error({"calibration": [ok, entry]})[0] == "calibration[1]." + key, entry


def test_cusd_and_cmgr_parsers():
    assert M.parse_cusd('+CUSD: 0,"Te quedan 7.44 GB",15') == (0, "Te quedan 7.44 GB", 15)
    assert M.parse_cusd('+CUSD: 2') == (2, None, None)
    assert M.parse_cusd('+CUSD: 0,"Balance 5 GB\nvalid until 12.06.",15') == (0, "Balance 5 GB\nvalid until 12.06.", 15)
    assert M.parse_cusd('+CUSD: 1,"1. Data\n2. Voice') == (1, "1. Data\n2. Voice", None)  # never closed
    hexed = "Data left: 3 GB".encode("utf-16-be").hex().upper()
    assert M.decode(hexed, 72) == "Data left: 3 GB"
    assert M.decode(hexed) == "Data left: 3 GB"  # CSCS="UCS2" modems: recognised without the dcs
    assert M.decode("12345678") == "12345678" and M.decode("CAFE", 15) == "CAFE"
    lines = ['+CMGR: "REC UNREAD","+4917012",,"24/05/01,10:00:00+08"', "Ihr Verbrauch:", "Datenvolumen von 2821 MB"]
    assert M.parse_cmgr(lines) == ("+4917012", "Ihr Verbrauch:\nDatenvolumen von 2821 MB")
    assert M.parse_cmgr(["OK"]) is None


def test_remaining_reply_corrects_the_estimate_and_thresholds(tmp_path):
    r = Rig(tmp_path, cap_mb=1000)
    r.traffic(0)
    r.traffic(400 * MB)
    ev = C.correct(r.t, "remaining", 300 * MB, "ussd")  # the carrier counted 700 MB, we 400 MB
    assert ev["type"] == "usage_calibrated" and ev["diff_bytes"] == 300 * MB
    assert ev["carrier_used_bytes"] == 700 * MB and ev["estimate_used_bytes"] == 400 * MB
    st = r.t.status()
    assert st["total_bytes"] == 400 * MB and st["remaining_bytes"] == 600 * MB  # the router's own count
    assert st["carrier_remaining_bytes"] == 300 * MB and st["carrier_used_bytes"] == 700 * MB
    assert st["used_pct"] == 70.0 and st["carrier_at"] == int(r.clock.time())
    assert [e["pct"] for e in r.kinds("usage_threshold")] == [50]  # crossed on the carrier's count
    r.traffic(100 * MB)  # carried forward by what the router counts
    st = r.t.status()
    assert st["carrier_remaining_bytes"] == 200 * MB and st["used_pct"] == 80.0
    assert [e["pct"] for e in r.kinds("usage_threshold")] == [50, 80]
    assert r.kinds("usage_threshold")[1]["used_bytes"] == 800 * MB
    r.restart()  # the answer is on flash
    assert r.t.status()["carrier_remaining_bytes"] == 200 * MB


def test_used_reply_without_cap_and_rollover(tmp_path):
    r = Rig(tmp_path)
    r.traffic(0)
    r.traffic(10 * MB)
    ev = C.correct(r.t, "used", 12 * MB, "sms")
    assert ev["diff_bytes"] == 2 * MB and ev["cap_bytes"] is None and ev["used_pct"] is None
    st = r.t.status()
    assert st["carrier_used_bytes"] == 12 * MB and st["carrier_remaining_bytes"] is None
    assert st["remaining_bytes"] is None
    ev = C.correct(r.t, "remaining", 5 * MB, "sms")  # remaining without a cap: shown, nothing to correct
    assert ev["carrier_used_bytes"] is None and ev["diff_bytes"] is None
    r.traffic(1 * MB)
    assert r.t.status()["carrier_remaining_bytes"] == 4 * MB
    r.clock.advance(25 * 86400)  # into the next cycle: the carrier's figure was for the old one
    r.traffic(1)
    st = r.t.status()
    assert st["carrier_at"] is None and st["carrier_remaining_bytes"] is None


def test_due_after_traffic_or_near_a_threshold_never_more_often(tmp_path):
    r = Rig(tmp_path, cap_mb=1000)
    r.traffic(0)
    assert not C.due(r.t, 3600, 5)  # no traffic yet, far from 50 %
    r.traffic(2 * MB)
    assert C.due(r.t, 3600, 5)
    C.started(r.t)
    assert not C.due(r.t, 3600, 5)
    r.traffic(2 * MB, step=3599)
    assert not C.due(r.t, 3600, 5)  # not within the interval, whatever the traffic
    r.traffic(0, step=1)
    assert C.due(r.t, 3600, 5)
    C.started(r.t)
    r.clock.advance(3600)
    assert not C.due(r.t, 3600, 5)  # idle since: not asked
    C.correct(r.t, "used", 460 * MB, "ussd")  # 46 %: within 5 of the 50 % threshold
    assert C.due(r.t, 3600, 5)
    C.started(r.t)
    r.restart()  # the attempt time is on flash: a restart loop does not ask again
    r.clock.advance(60)
    assert not C.due(r.t, 3600, 5)


class Mini:
    """ModemSupervisor on the emulator (CPython), for the exchanges below the calibrator."""

    def __init__(self, tmp_path, **emu):
        self.emu = Emulator(profile="generic", **emu)
        tty = self.emu.start(link=str(tmp_path / "tty"))
        self.clock = Clock()  # real time: the exchanges wait for the emulator's answers
        self.mm = ModemSupervisor({"modem": {"port": tty, "baud": 115200, "vendor": "auto", "poll_s": 30}},
                               self.clock, EventBus(self.clock))

    def run(self, coro_fn):
        async def go():
            await self.mm._open()
            await self.mm._setup()
            try:
                return await coro_fn(self.mm)
            finally:
                self.mm._close()
        try:
            return asyncio.run(go())
        finally:
            self.emu.stop()


def test_ussd_against_the_emulator(tmp_path):
    m = Mini(tmp_path)
    m.emu.ussd_reply("*123#", "Te quedan 7.44 GB,\nvalidos hasta dia 15.")  # two lines, after the OK
    m.emu.ussd_reply("*124#", "Data left: 3 GB", dcs=72)  # hex UCS2

    async def go(mm):
        a = await M.ussd(mm, "*123#", 5)
        m.emu.ussd_inline = True
        b = await M.ussd(mm, "*124#", 5)
        c = await M.ussd(mm, "*999#", 5)
        return a, b, c

    a, b, c = m.run(go)
    assert a == {"text": "Te quedan 7.44 GB,\nvalidos hasta dia 15.", "status": 0, "error": None}
    assert b["text"] == "Data left: 3 GB"
    assert c["text"] is None and "not supported" in c["error"]
    assert 'AT+CUSD=1,"*123#",15' in m.emu.commands


def test_sms_read_and_delete_against_the_emulator(tmp_path):
    m = Mini(tmp_path)
    seen = []

    async def go(mm):
        mm.on_urc(seen.append)
        idx = m.emu.deliver_sms("o2", "Ihr Verbrauch:\nDatenvolumen von 2821 MB")
        await asyncio.sleep(0.3)
        got = await M.read_sms(mm, "SM", idx)
        ok = await M.delete_sms(mm, idx)
        gone = await M.read_sms(mm, "SM", idx)
        return got, ok, gone

    got, ok, gone = m.run(go)
    assert '+CMTI: "SM",0' in seen
    assert got == ("o2", "Ihr Verbrauch:\nDatenvolumen von 2821 MB") and ok and gone is None
    assert m.emu.inbox == {}
