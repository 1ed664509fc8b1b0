"""dns.Resolver against real servers: dnsmasq, a resolver that never answers (reads and drops),
a port nobody listens on; the same driver under the real MicroPython and CPython, with the event
loop's longest stall measured in-process. Then resolv.conf, hosts, cache and TTL rules (CPython)."""
import asyncio
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import run_micropython
from tests.support import paths
from tests.support.dnsserver import Dnsmasq, SilentDNS, free_udp_port
from tests.support.fakeclock import FakeClock
from wanwatch import dns
from wanwatch.clock import Clock
from wanwatch.dns import DNSError, NXDomain, Resolver

HERE = os.path.dirname(os.path.abspath(__file__))
DRIVER = os.path.join(HERE, "mpy_resolver.py")
TIMEOUT = 1.5
RECORDS = (("broker.test", "127.0.0.1", None), ("v6only.test", None, "2001:db8::5"))
CNAMES = (("mqtt.test", "broker.test"),)


@pytest.fixture
def servers():
    """dnsmasq on 127.0.0.1:good; on 127.0.0.1:silent a resolver that never answers, and a
    second dnsmasq at 127.0.0.2 on the same port; refused: a port nobody listens on."""
    silent = SilentDNS("127.0.0.1").start()
    good = Dnsmasq(RECORDS, CNAMES, ttl=300).start()
    second = Dnsmasq(RECORDS, CNAMES, ttl=300, host="127.0.0.2", port=silent.port).start()
    refused = free_udp_port()
    yield good, silent, second, refused
    good.stop()
    second.stop()
    silent.stop()


def run_driver(runtime, good, silent, refused):
    args = [DRIVER, str(good.port), str(silent.port), str(refused), str(TIMEOUT)]
    if runtime == "micropython":
        r = run_micropython(args, timeout=60)
    else:
        r = subprocess.run([sys.executable] + args, capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, PYTHONPATH=paths.FIRMWARE))
    assert r.returncode == 0, r.stdout + r.stderr
    steps = {}
    for line in r.stdout.splitlines():
        d = json.loads(line)
        steps[d["step"]] = d
    return steps


@pytest.mark.parametrize("runtime", ["micropython", "cpython"])
def test_resolver_with_real_servers(runtime, servers):
    good, silent, second, refused = servers
    s = run_driver(runtime, good, silent, refused)
    print(json.dumps(s, indent=1))
    assert s["answer"]["addr"] == "127.0.0.1" and s["answer"]["queries"] == 1 and s["answer"]["ms"] < 500
    assert s["cached"]["addr"] == "127.0.0.1" and s["cached"]["queries"] == 0
    assert s["cname"]["addr"] == "127.0.0.1"
    assert s["aaaa_only"]["addr"] == "2001:db8::5" and s["aaaa_only"]["queries"] == 2  # A: no data, AAAA
    assert s["nxdomain"]["addr"] is None and "no such name" in s["nxdomain"]["error"]
    assert s["nxdomain"]["queries"] == 1  # definitive: no other type, no retry
    assert s["literal"]["addr"] == "192.0.2.7" and s["literal"]["queries"] == 0
    # the resolver goes silent: the known broker keeps its last good address, after the timeout
    k = s["silent_known"]
    assert k["addr"] == "127.0.0.1" and k["stale"] == 1 and k["queries"] == 2  # 2 attempts, A only: no time left for AAAA
    assert TIMEOUT * 1000 - 100 <= k["ms"] <= TIMEOUT * 1000 + 300
    assert "no answer" in k["last_error"]
    again = s["silent_known_again"]
    assert again["addr"] == "127.0.0.1" and again["queries"] == 0 and again["ms"] < 50  # served stale
    u = s["silent_unknown"]
    assert u["addr"] is None and "no answer" in u["error"]
    assert TIMEOUT * 1000 - 100 <= u["ms"] <= TIMEOUT * 1000 + 300
    # the loop never stalls while the resolver waits (ticker sleeping 20 ms)
    for step in s.values():
        assert step["max_gap_ms"] < 100, step
    # nobody listening: ICMP port unreachable ends each try at once
    assert s["refused_unknown"]["addr"] is None and s["refused_unknown"]["ms"] < 300
    assert "refused" in s["refused_unknown"]["error"].lower()
    # first server silent, the second answers after the first one's share of the timeout
    sec = s["second_server"]
    assert sec["addr"] == "127.0.0.1" and sec["queries"] == 2
    assert TIMEOUT * 1000 / 4 - 100 <= sec["ms"] <= TIMEOUT * 1000 / 2
    assert second.queries("broker.test") and silent.received == 5


# --- CPython: files, cache, TTLs, hostile replies ----------------------------------------------------
def resolve(r, name):
    return asyncio.run(asyncio.wait_for(r.resolve(name), 30))


def test_nameservers_from_resolv_conf(tmp_path):
    p = tmp_path / "resolv.conf"
    p.write_text("# generated\nsearch lan\nnameserver 127.0.0.53 # stub\nnameserver bogus\n"
                 "nameserver fe80::1%eth0\nnameserver 127.0.0.53\noptions edns0\nnameserver ::1\n"
                 "nameserver 192.0.2.4\n")
    assert dns.nameservers(str(p)) == ["127.0.0.53", "fe80::1%eth0", "::1"]  # at most 3, no repeats
    assert dns.nameservers(str(tmp_path / "missing")) == []
    (tmp_path / "bin").write_bytes(b"\xff\xfe nameserver 1.2.3.4\x00\n")
    assert dns.nameservers(str(tmp_path / "bin")) == []
    (tmp_path / "long").write_text("#" * 1000 + " nameserver 192.0.2.1\nnameserver 192.0.2.2\n")
    assert dns.nameservers(str(tmp_path / "long")) == ["192.0.2.2"]  # a long line is cut, not split
    (tmp_path / "huge").write_text("#" * 100000 + "\nnameserver 192.0.2.1\n")
    assert dns.nameservers(str(tmp_path / "huge")) == []  # bounded: a 100 KB line is not read whole


def test_resolv_conf_is_used_and_reread(tmp_path):
    good = Dnsmasq(RECORDS, ttl=300).start()
    try:
        conf = tmp_path / "resolv.conf"
        conf.write_text("nameserver 127.0.0.1\n")
        clock = FakeClock()
        r = Resolver(clock, port=good.port, resolv_conf=str(conf), hosts=None, timeout=2)
        assert resolve(r, "broker.test") == "127.0.0.1"
        conf.write_text("nameserver 127.0.0.9\n")  # nothing there: refused at once
        clock.advance(301)
        assert resolve(r, "broker.test") == "127.0.0.1" and r.stale == 1 and "127.0.0.9" in r.last_error
    finally:
        good.stop()


def test_no_nameserver_means_localhost(tmp_path):
    good = Dnsmasq(RECORDS).start()
    try:
        (tmp_path / "resolv.conf").write_text("search lan\n")
        r = Resolver(Clock(), port=good.port, resolv_conf=str(tmp_path / "resolv.conf"), hosts=None)
        assert resolve(r, "broker.test") == "127.0.0.1" and r.queries == 1
    finally:
        good.stop()


def test_hosts_file_first(tmp_path):
    h = tmp_path / "hosts"
    h.write_text("127.0.0.1 localhost\n::1 localhost ip6-localhost\n# 10.0.0.9 broker.lan\n"
                 "2001:db8::9 broker.lan\n10.0.0.7 other Broker.LAN\n")
    assert dns.hosts_address("broker.lan", str(h)) == "10.0.0.7"  # IPv4 preferred, case-insensitive
    assert dns.hosts_address("ip6-localhost", str(h)) == "::1"
    assert dns.hosts_address("nothere", str(h)) is None
    r = Resolver(Clock(), ["127.0.0.9"], hosts=str(h))
    assert resolve(r, "broker.lan.") == "10.0.0.7" and r.queries == 0


def test_bad_input_to_resolver():
    with pytest.raises(DNSError):
        Resolver(Clock(), ["dns.example"])
    r = Resolver(Clock(), ["127.0.0.9"], hosts=None)
    for bad in ("", "a..b", "x" * 300, "bad name"):
        with pytest.raises(DNSError):
            resolve(r, bad)
    assert r.queries == 0


def test_ttl_clamped_and_cache_bounded():
    good = Dnsmasq(RECORDS + tuple(("h%d.test" % i, "10.0.0.%d" % i, None) for i in range(6)), ttl=5).start()
    try:
        clock = FakeClock()
        r = Resolver(clock, ["127.0.0.1"], port=good.port, min_ttl=30, max_ttl=60, max_names=4, hosts=None)
        assert resolve(r, "broker.test") == "127.0.0.1"
        clock.advance(29)  # TTL 5 raised to min_ttl 30: still cached
        assert resolve(r, "broker.test") == "127.0.0.1" and r.queries == 1
        clock.advance(2)
        assert resolve(r, "broker.test") == "127.0.0.1" and r.queries == 2
        for i in range(6):
            assert resolve(r, "h%d.test" % i) == "10.0.0.%d" % i
        assert len(r._cache) == 4  # bounded: the names whose answers run out first went
        assert r.known("h5.test") == "10.0.0.5" and r.known("broker.test") is None
    finally:
        good.stop()
    long = Dnsmasq(RECORDS, ttl=86400).start()
    try:
        clock = FakeClock()
        r = Resolver(clock, ["127.0.0.1"], port=long.port, max_ttl=60, hosts=None)
        resolve(r, "broker.test")
        clock.advance(61)  # a day's TTL cut to max_ttl: asked again
        resolve(r, "broker.test")
        assert r.queries == 2
    finally:
        long.stop()


def test_stale_is_served_for_stale_s_then_retried():
    silent = SilentDNS().start()
    good = Dnsmasq(RECORDS, ttl=30).start()
    try:
        clock = FakeClock()
        r = Resolver(clock, ["127.0.0.1"], port=good.port, timeout=0.4, hosts=None)
        assert resolve(r, "broker.test") == "127.0.0.1"
        r.port = silent.port
        clock.advance(31)
        assert resolve(r, "broker.test") == "127.0.0.1" and r.stale == 1 and silent.received_wait(2) == 2
        clock.advance(dns.STALE_S - 1)
        assert resolve(r, "broker.test") == "127.0.0.1" and r.queries == 3  # no query while stale
        clock.advance(2)
        assert resolve(r, "broker.test") == "127.0.0.1" and r.stale == 2 and r.queries == 5
        r.port = good.port
        clock.advance(dns.STALE_S + 1)
        assert resolve(r, "broker.test") == "127.0.0.1" and r.last_error is None  # recovered
    finally:
        good.stop()
        silent.stop()


class Scripted:
    """A UDP server answering each query with reply(query) -> list of datagrams."""

    def __init__(self, reply):
        import socket
        import threading
        self.reply = reply
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stopped:
            try:
                q, peer = self.sock.recvfrom(512)
            except OSError:
                continue
            for d in self.reply(q):
                self.sock.sendto(d, peer)

    def stop(self):
        self.stopped = True
        self.t.join(2)
        self.sock.close()


def answer(q, addr=(10, 1, 2, 3), rcode=0):
    """A correct A answer to query q (question copied)."""
    hdr = q[:2] + bytes([0x81, 0x80 | rcode]) + b"\x00\x01\x00\x01\x00\x00\x00\x00"
    return hdr + q[12:] + b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + bytes(addr)


def test_unrelated_and_garbage_datagrams_are_ignored():
    def reply(q):
        wrong_id = bytes([q[0] ^ 1, q[1]]) + answer(q, (6, 6, 6, 6))[2:]
        return [b"", b"\x00" * 3, wrong_id, b"\xff" * 40, answer(q)]
    srv = Scripted(reply)
    try:
        r = Resolver(Clock(), ["127.0.0.1"], port=srv.port, hosts=None, timeout=2)
        assert resolve(r, "broker.test") == "10.1.2.3" and r.queries == 1
    finally:
        srv.stop()


def test_a_flood_of_unrelated_datagrams_ends_the_try():
    def reply(q):
        return [bytes([q[0] ^ 1, q[1]]) + answer(q)[2:]] * 50
    srv = Scripted(reply)
    try:
        clock = Clock()
        r = Resolver(clock, ["127.0.0.1"], port=srv.port, hosts=None, timeout=3, attempts=1)
        t0 = clock.monotonic()
        with pytest.raises(DNSError):
            resolve(r, "broker.test")
        assert clock.monotonic() - t0 < 1.5  # gave up after MAX_DATAGRAMS, not at the timeout
    finally:
        srv.stop()


def test_server_failure_moves_to_the_next_server_at_once():
    bad = Scripted(lambda q: [answer(q, rcode=2)])
    good = Dnsmasq(RECORDS, host="127.0.0.2", port=bad.port).start()
    try:
        clock = Clock()
        r = Resolver(clock, ["127.0.0.1", "127.0.0.2"], port=bad.port, hosts=None, timeout=4)
        t0 = clock.monotonic()
        assert resolve(r, "broker.test") == "127.0.0.1" and r.queries == 2
        assert clock.monotonic() - t0 < 0.5
    finally:
        good.stop()
        bad.stop()
    nx = Scripted(lambda q: [answer(q, rcode=3)])
    try:
        r = Resolver(Clock(), ["127.0.0.1", "127.0.0.1"], port=nx.port, hosts=None)
        with pytest.raises(DNSError, match="no such name"):
            resolve(r, "broker.test")
        assert r.queries == 1
    finally:
        nx.stop()


def test_ipv6_server():
    good = Dnsmasq(RECORDS, host="::1").start()
    try:
        r = Resolver(Clock(), ["::1"], port=good.port, hosts=None)
        assert resolve(r, "broker.test") == "127.0.0.1"
    finally:
        good.stop()


def test_lookup_all_gives_every_address_of_both_families():
    """The budget policy's allowlist needs all of a name's addresses, not the first."""
    good = Dnsmasq((("pay.test", "127.0.0.7", "2001:db8::7"), ("pay.test", "127.0.0.8", None),
                    ("v6only.test", None, "2001:db8::5")), (("cdn.test", "pay.test"),), ttl=300).start()
    try:
        r = Resolver(Clock(), servers=["127.0.0.1"], port=good.port, timeout=TIMEOUT, hosts=None)
        addrs, ttl = asyncio.run(r.lookup_all("cdn.test"))
        assert sorted(addrs) == ["127.0.0.7", "127.0.0.8", "2001:db8::7"] and 0 < ttl <= 300
        assert asyncio.run(r.lookup_all("v6only.test"))[0] == ["2001:db8::5"]
        assert asyncio.run(r.lookup_all("10.9.0.20"))[0] == ["10.9.0.20"]
        with pytest.raises(NXDomain):
            asyncio.run(r.lookup_all("nothere.test"))
    finally:
        good.stop()
    dead = Resolver(Clock(), servers=["127.0.0.1"], port=free_udp_port(), timeout=0.5, hosts=None)
    with pytest.raises(DNSError):
        asyncio.run(dead.lookup_all("pay.test"))
