# Runs under real MicroPython and CPython alike: feeds byte-exact captures through ATEngine.feed and
# every firmware parser over transcript lines; prints one JSON document. Usage: mp_runner.py <cases.json>
import sys
import json

from wanwatch.modem import vendors
from wanwatch.modem.engine import ATEngine, parse_final
from wanwatch.modem.vendors import generic as g
from wanwatch.modem.vendors import quectel as q
from wanwatch.modem.vendors import simcom as s
from wanwatch.modem.vendors import huawei as h
from wanwatch.modem.vendors import sierra as si
from wanwatch.modem.vendors import ublox as u
from wanwatch.modem.vendors import telit as t


class _Clock:
    def monotonic(self):
        return 0.0

    def time(self):
        return 0


def feed_case(cmd, data, chunk, prompt, vendor=None):
    """data through ATEngine.feed in chunk-byte pieces with cmd in flight; vendor: the driver whose
    dialect the engine speaks (None: V.250/27.007 only)."""
    e = ATEngine(None, _Clock(), vendors.load(vendor) if vendor else None)
    urcs = []
    reboots = []
    e.on_urc(urcs.append)
    e.on_reboot(lambda: reboots.append(1))
    cur = e.begin(cmd, prompt)
    i = 0
    while i < len(data):
        e.feed(data[i:i + chunk])
        i += chunk
    r = cur.resp
    return {"final": r.final if r else None, "code": r.code if r else None, "text": r.text if r else None,
            "lines": r.lines if r else cur.lines, "urcs": urcs, "reboots": len(reboots),
            "prompt": cur.prompted}


def _one(fn, arg):
    try:
        return fn(arg)
    except Exception as ex:
        return "RAISED " + type(ex).__name__


LINE_PARSERS = (("csq", g.parse_csq), ("cesq", g.parse_cesq), ("reg", g.parse_reg), ("cops", g.parse_cops),
                ("qnwinfo", q.parse_qnwinfo), ("qgdcnt", q.parse_qgdcnt), ("qspn", q.parse_qspn),
                ("cpsi", s.parse_cpsi), ("cpmutemp", s.parse_cpmutemp), ("hcsq", h.parse_hcsq),
                ("sysinfoex", h.parse_sysinfoex), ("sysinfo", h.parse_sysinfo), ("rfsts", t.parse_rfsts),
                ("iccid", g.normalize_iccid), ("final", lambda l: list(parse_final(l) or ())))
BLOCK_PARSERS = (("qeng", q.parse_qeng_servingcell), ("qtemp", q.parse_qtemp), ("qcainfo", q.parse_qcainfo),
                 ("gstatus", si.parse_gstatus), ("ucged", u.parse_ucged))



def parse_lines(lines):
    out = []
    for l in lines:
        r = {}
        for name, fn in LINE_PARSERS:
            r[name] = _one(fn, l)
        out.append(r)
    blk = {}
    for name, fn in BLOCK_PARSERS:
        blk[name] = _one(fn, lines)
    return {"lines": out, "block": blk}


def run(cases):
    out = {"feed": [], "parse": []}
    for c in cases.get("feed", ()):
        out["feed"].append(feed_case(c[0], bytes(c[1]), c[2], c[3], c[4] if len(c) > 4 else None))
    for lines in cases.get("parse", ()):
        out["parse"].append(parse_lines(lines))
    return out


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    print(json.dumps(run(cases)))
