"""Modem parser fuzz benchmark: >= 1 M mutated transcript lines through the firmware parsers (each line to
the parser its prefix selects, plus the AT line engine), counting anything that escapes.

    .venv/bin/python bench/bench_modem.py [--n 1000000] [--seed 1]

Prints inputs, escaped exceptions, elapsed seconds and inputs/s. Exit 1 if anything escaped.
"""
import argparse
import os
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "firmware"))
sys.path.insert(0, ROOT)

from tests.modem import transcripts as T  # noqa: E402
from wanwatch.modem.engine import ATEngine  # noqa: E402
from wanwatch.modem.vendors import generic as g, quectel as q, simcom as s, huawei as h, sierra as si  # noqa: E402
from wanwatch.modem.vendors import ublox as u, telit as t  # noqa: E402

DISPATCH = {"+CSQ": g.parse_csq, "+CESQ": g.parse_cesq, "+CREG": g.parse_reg, "+CGREG": g.parse_reg,
            "+CEREG": g.parse_reg, "+C5GREG": g.parse_reg, "+COPS": g.parse_cops, "+QNWINFO": q.parse_qnwinfo,
            "+QGDCNT": q.parse_qgdcnt, "+QSPN": q.parse_qspn, "+CPSI": s.parse_cpsi, "+CPMUTEMP": s.parse_cpmutemp,
            "^HCSQ": h.parse_hcsq, "^SYSINFOEX": h.parse_sysinfoex, "^SYSINFO": h.parse_sysinfo,
            "#RFSTS": t.parse_rfsts}
BLOCK = {"+QENG": q.parse_qeng_servingcell, "+QTEMP": lambda l: q.parse_qtemp(l),
         "+QCAINFO": q.parse_qcainfo, "+UCGED": u.parse_ucged}
ALPHABET = ',"-:\t 0123456789ABCDEFfx\x00\xff'


class _Clock:
    def monotonic(self):
        return 0.0


def seeds():
    out = []
    for p in T.all_files():
        for l in T.load(p).lines:
            l = l.strip()
            if l:
                out.append(l)
    return out


def mutate(rnd, line):
    n = len(line)
    k = rnd.randrange(6)
    i = rnd.randrange(n + 1)
    if k == 0:
        return line[:i] + line[i + 1:]
    if k == 1:
        return line[:i] + rnd.choice(ALPHABET) + line[i:]
    if k == 2:
        return line[:i]
    if k == 3:
        return line[:i] + chr(rnd.randrange(256)) + line[i + 1:]
    if k == 4:
        return line.replace(",", ",,", 1)
    return line + line[i:]


def run(n, seed):
    rnd = random.Random(seed)
    base = seeds()
    escaped = 0
    first = None
    eng = ATEngine(None, _Clock())
    t0 = time.time()
    for i in range(n):
        line = mutate(rnd, base[i % len(base)])
        c = line.find(":")
        key = line[:c] if c > 0 else line
        try:
            fn = DISPATCH.get(key)
            if fn is not None:
                fn(line)
            else:
                fb = BLOCK.get(key)
                if fb is not None:
                    fb([line])
                elif "GSTATUS" in line or (c > 0 and " " in key):
                    si.parse_gstatus([line])
                else:
                    g.fields(line)
            if i % 16 == 0:
                if eng._pending is None:
                    eng.begin("AT+CSQ")
                eng.feed(line.encode("latin-1", "replace") + b"\r\n")
        except Exception as e:
            escaped += 1
            if first is None:
                first = (line, repr(e))
    dt = time.time() - t0
    return escaped, first, dt


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    escaped, first, dt = run(a.n, a.seed)
    print("bench_modem: inputs=%d escaped=%d elapsed_s=%.1f rate=%.0f/s" % (a.n, escaped, dt, a.n / dt))
    if first:
        print("first escape: %r -> %s" % first)
    return 1 if escaped else 0


if __name__ == "__main__":
    sys.exit(main())
