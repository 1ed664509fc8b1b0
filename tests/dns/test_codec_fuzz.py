"""Fuzzing dns.parse/read_name: any bytes give a result or a DNSError, never another exception,
results stay within their bounds; and the same inputs give the same results under the real
MicroPython as under CPython."""
import json
import os
import random
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import run_micropython
from tests.dns.test_codec import BROKER, QID, REAL, header, question, rr
from wanwatch import dns
from wanwatch.dns import AAAA, A, DNSError

HERE = os.path.dirname(os.path.abspath(__file__))
OWNERS = [b"\xc0\x0c", b"\x06broker\x04test\x00", b"\x01a\x04test\x00", b"\xc0\x1d", b"\xc0\x2a", b"\x00"]


def check(msg, qid=QID, qname=BROKER, qtype=A):
    """parse() under its contract; returns the result or the DNSError class name."""
    try:
        addrs, ttl = dns.parse(msg, qid, qname, qtype)
    except DNSError as e:
        return type(e).__name__
    assert len(addrs) <= dns.MAX_ADDRS
    assert 0 <= ttl <= dns.TTL_CAP
    for a in addrs:
        assert isinstance(a, str) and (a.count(".") == 3 if qtype == A else ":" in a)
    return addrs, ttl


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=600), st.sampled_from([A, AAAA]))
def test_any_bytes(data, qtype):
    check(data, (data[0] << 8 | data[1]) if len(data) > 1 else 0, BROKER, qtype)


@st.composite
def responses(draw):
    """Plausible responses (our id, QR, the question) with random records, then mutated."""
    n = draw(st.integers(0, 6))
    recs = b""
    for _ in range(n):
        owner = draw(st.sampled_from(OWNERS))
        rtype = draw(st.sampled_from([1, 5, 28, 16, draw(st.integers(0, 65535))]))
        if rtype == 5:
            rdata = draw(st.sampled_from(OWNERS + [b"\x03srv\xc0\x13"]))
        else:
            rdata = draw(st.binary(max_size=20) | st.just(bytes(4)) | st.just(bytes(16)))
        recs += rr(owner, rtype, draw(st.integers(0, 2 ** 32 - 1)), rdata, draw(st.sampled_from([1, 1, 3])))
    flags = draw(st.sampled_from([0x8180, 0x8180, 0x8183, 0x8182, 0x8380, draw(st.integers(0, 65535))]))
    msg = bytearray(header(flags=flags, an=draw(st.integers(0, n + 2))) + question() + recs)
    for _ in range(draw(st.integers(0, 4))):
        if not msg:
            break
        i = draw(st.integers(0, len(msg) - 1))
        op = draw(st.integers(0, 2))
        if op == 0:
            msg[i] = draw(st.integers(0, 255))
        elif op == 1:
            del msg[i:]
        else:
            msg[i:i] = bytes([draw(st.sampled_from([0xC0, 0x3F, 0x00, 0xFF]))])
    return bytes(msg)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(responses())
def test_mutated_responses(msg):
    check(msg)


@settings(max_examples=1500, deadline=None)
@given(st.binary(max_size=300), st.integers(0, 320))
def test_read_name_any_bytes(data, pos):
    try:
        name, end = dns.read_name(data, pos)
    except DNSError:
        return
    assert 1 <= len(name) <= 255 and name[-1] == 0
    assert pos < end <= len(data)


def test_worst_case_is_fast():
    # 32 A records (as many as are read), each owner a pointer to the previous record's owner:
    # up to 15 jumps per name, then the chain walk over all of them; bounded, far below a loop tick
    msg = bytearray(header(an=40) + question())
    owners = []
    for k in range(40):
        owner = b"\xc0\x0c" if k % 15 == 0 else bytes([0xC0 | owners[-1] >> 8, owners[-1] & 255])
        owners.append(len(msg))
        msg += rr(owner, 1, 60, bytes([10, 0, k >> 8, k & 255]))
    addrs, ttl = dns.parse(bytes(msg), QID, BROKER, A)
    assert len(addrs) == dns.MAX_ADDRS and ttl == 60
    t0 = time.perf_counter()
    for _ in range(100):
        check(bytes(msg))
    assert (time.perf_counter() - t0) / 100 < 0.005


def _corpus(n=1500, seed=13):
    rnd = random.Random(seed)
    keys = list(REAL)
    out = []
    for i in range(n):
        name, qtype = keys[i % len(keys)]
        m = bytearray(bytes.fromhex(REAL[(name, qtype)]))
        for _ in range(rnd.randint(0, 4)):
            j = rnd.randrange(len(m))
            r = rnd.random()
            if r < 0.6:
                m[j] = rnd.randrange(256)
            elif r < 0.8:
                del m[j:]
            else:
                m[j:j] = bytes([rnd.choice([0xC0, 0x3F, 0x00])])
            if not m:
                m = bytearray(b"\x12")
        out.append((m.hex(), name, qtype))
    return out


def test_micropython_parses_like_cpython(tmp_path):
    corpus = _corpus()
    path = tmp_path / "corpus.json"
    path.write_text(json.dumps(corpus))
    r = run_micropython([os.path.join(HERE, "mpy_codec.py"), str(path)], timeout=120)
    assert r.returncode == 0, r.stderr
    got = r.stdout.splitlines()
    want = []
    for hexmsg, name, qtype in corpus:
        try:
            want.append(repr(dns.parse(bytes.fromhex(hexmsg), QID, dns.encode_name(name), qtype)))
        except DNSError as e:
            want.append("E " + type(e).__name__)
    assert len(got) == len(want)
    diff = [(i, g, w) for i, (g, w) in enumerate(zip(got, want)) if g != w]
    assert not diff, diff[:5]
    assert sum(1 for w in want if not w.startswith("E")) > 100  # the corpus reaches the answers
