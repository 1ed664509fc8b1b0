"""Byte-exact `raw:` captures through ATEngine.feed (whole, 1-byte and 7-byte splits), on CPython and on
the real MicroPython; and every parser over every transcript line gives the same answer on both."""
import json
import os
import random

import pytest

from tests.conftest import run_micropython
from tests.modem import transcripts as T
from tests.modem import mp_runner
from tests.modem.transcripts import clean_lines
from tests.support import paths

HERE = os.path.dirname(os.path.abspath(__file__))


def raw_cases():
    cases = []
    for p in T.all_files():
        t = T.load(p)
        for cmd, data in t.raw:
            c = cmd.split(" (")[0]
            if c.startswith("tail of block 2"):
                c = "AT+CMGS=18"
            for chunk in (len(data), 1, 7):
                cases.append((t, c, data, chunk))
    return cases


def _feed_all():
    """[command, bytes, chunk, prompt, vendor]: the engine speaks the dialect of the file's vendor."""
    return [[c, list(d), k, c.startswith("AT+CMGS"), t.id.split("_")[0]] for (t, c, d, k) in raw_cases()]


def _resp_lines(data, cmd):
    """Reply lines as the transcript shows them: not echo, not blank, not final, not trailing URCs."""
    out = []
    for l in data.decode("latin-1").replace("\r", "\n").split("\n"):
        l = l.strip()
        if not l or l.upper() == cmd.upper():
            continue
        if l in ("OK", "ERROR") or l.startswith("+CME ERROR") or l.startswith("+CMS ERROR"):
            break
        out.append(l)
    return out


def check_feed(results):
    cases = raw_cases()
    assert len(results) == len(cases) >= 60
    for (t, cmd, data, chunk), r in zip(cases, results):
        where = "%s %s chunk=%d" % (t.id, cmd, chunk)
        exp = {}
        for e in t.expects:
            if e.cmd == cmd or (cmd.startswith("AT+CMGS") and e.keys.get("block") == "2"):
                exp = e.keys
        if cmd == "AT+CMGS=18" and data.endswith(b"> "):
            assert r["prompt"] is True and r["final"] is None, where
            continue
        if "final" in exp:
            assert r["final"] == exp["final"], where
        if "cme_code" in exp:
            assert r["code"] == int(exp["cme_code"]), where
        if "cme_text" in exp:
            assert r["text"] == exp["cme_text"], where
        if cmd.startswith("AT+CMGS"):
            assert "+CMGS: 73" in r["lines"] and r["final"] == "OK", where
            continue
        assert r["final"] in ("OK", "CME_ERROR"), where
        if r["final"] == "OK":
            assert r["lines"] == _resp_lines(data, cmd), where
        if "trailing_urc" in exp:
            assert any(u.startswith(exp["trailing_urc"]) for u in r["urcs"]), where
        assert r["reboots"] == 0, where


def test_raw_feed_cpython():
    check_feed(mp_runner.run({"feed": _feed_all()})["feed"])


def _parse_all():
    blocks = []
    for p in T.all_files():
        lines = [l for l in clean_lines(T.load(p)) if l.strip()]
        blocks.append(lines)
    # mutated lines: truncations and field drops, to compare garbage handling too
    rnd = random.Random(7)
    extra = []
    for b in blocks:
        for l in b[:20]:
            cut = rnd.randrange(0, len(l) + 1)
            extra.append(l[:cut])
            extra.append(l.replace(",", ",,", 1))
    blocks.append(extra)
    return blocks


def _round(x):
    if isinstance(x, float):
        return round(x, 6)
    if isinstance(x, dict):
        return dict((k, _round(v)) for k, v in x.items())
    if isinstance(x, (list, tuple)):
        return [_round(v) for v in x]
    return x


def test_micropython_parity(tmp_path):
    """Same feeds and parses on the real MicroPython: identical results, nothing raised."""
    cases = {"feed": _feed_all(), "parse": _parse_all()}
    f = tmp_path / "cases.json"
    f.write_text(json.dumps(cases))
    p = run_micropython([os.path.join(HERE, "mp_runner.py"), str(f)], timeout=60, heapsize="64M")
    assert p.returncode == 0, p.stderr[-2000:]
    mp = json.loads(p.stdout)
    check_feed(mp["feed"])
    cp = json.loads(json.dumps(mp_runner.run(cases)))
    assert _round(mp["parse"]) == _round(cp["parse"])
    assert "RAISED" not in p.stdout
