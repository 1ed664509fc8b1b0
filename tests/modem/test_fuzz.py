"""Fuzz: random and mutated bytes through ATEngine.feed and every parser: nothing escapes."""
import random

from hypothesis import given, settings, strategies as st, HealthCheck

from tests.modem import transcripts as T
from tests.modem.mp_runner import LINE_PARSERS, BLOCK_PARSERS, feed_case
from wanwatch.modem.engine import ATEngine
from wanwatch.modem.vendors import generic as g

SEEDS = []
for _p in T.all_files():
    _t = T.load(_p)
    SEEDS.extend(l.strip() for l in _t.lines if l.strip())
    SEEDS.extend(d.decode("latin-1") for _, d in _t.raw)


def mutate(rnd, s):
    ops = rnd.randrange(1, 4)
    s = list(s)
    for _ in range(ops):
        k = rnd.randrange(5)
        if k == 0 and s:
            del s[rnd.randrange(len(s))]
        elif k == 1:
            s.insert(rnd.randrange(len(s) + 1), rnd.choice(',"-:\t 0123456789ABCDEFfx\x00\xff\r\n'))
        elif k == 2 and s:
            s[rnd.randrange(len(s))] = chr(rnd.randrange(256))
        elif k == 3 and s:
            i = rnd.randrange(len(s))
            s = s[:i]
        else:
            s = s + s[:rnd.randrange(len(s) + 1)]
    return "".join(s)


def all_parsers(text):
    lines = text.replace("\r", "\n").split("\n")
    for _, fn in LINE_PARSERS:
        for l in lines:
            fn(l)
    for _, fn in BLOCK_PARSERS:
        fn(lines)
    g.parse_reg(text, False)
    g.fields(text)
    g.hex_id(text)


class _Clock:
    def monotonic(self):
        return 0.0


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=600), st.integers(1, 64), st.sampled_from(["AT+CSQ", "AT+CGMM", 'AT+QENG="servingcell"',
                                                                     "AT!GSTATUS?", "AT+CMGS=18"]))
def test_feed_random_bytes(data, chunk, cmd):
    feed_case(cmd, data, chunk, cmd.startswith("AT+CMGS"))


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(0, 2 ** 32), st.integers(0, 10 ** 6))
def test_parsers_on_mutated_transcript_lines(seed, pick):
    rnd = random.Random(seed)
    line = mutate(rnd, SEEDS[pick % len(SEEDS)])
    all_parsers(line)
    feed_case(line.split(":")[0][:20] or "AT", line.encode("latin-1", "replace"), rnd.randrange(1, 16), False)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=300))
def test_parsers_on_random_text(text):
    all_parsers(text)
    for pre in ("+QENG: ", "+CPSI: ", "^HCSQ: ", "#RFSTS: ", "+UCGED: ", "+QTEMP: ", "+CREG: ", "+QCAINFO: "):
        all_parsers(pre + text)


def test_engine_survives_long_lines_and_stays_usable():
    e = ATEngine(None, _Clock())
    cur = e.begin("AT+CSQ")
    e.feed(b"x" * 5000 + b"\r\n+CSQ: 20,99\r\nOK\r\n")
    assert cur.resp.ok and cur.resp.lines == ["+CSQ: 20,99"] and e.garbage >= 1


def test_bench_modem_runs_clean():
    import subprocess
    import sys
    from tests.support import paths
    import os
    r = subprocess.run([sys.executable, os.path.join(paths.ROOT, "bench", "bench_modem.py"), "--n", "30000"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "inputs=30000 escaped=0" in r.stdout
