"""The customer behind the router: a traffic generator in the bed's LAN namespace, and its handle
in the parent (`bed.lan_client()` -> LanClient).

Kinds of traffic, each over IPv4 and IPv6 (sample period; every sample waits TIMEOUT_S for its
answer):
  ping4/ping6  echo request to 10.9.0.1 / 2001:db8:9::1 every 50 ms (raw sockets; payload starts
               with the responder's LAN marker so its request log leaves these out)
  udp4/udp6    one fixed 5-tuple (source port UDP_SPORT) to SERVER:7000 at 50 packets/s, echoed
               (udp_server=VOIP: to the "VoIP provider" VOIP:7000 instead)
  tcp4/tcp6    a TCP connect to SERVER:7001 every second (ok = handshake done in time)
  dns4/dns6    a lookup of a unique name <n>.test.example every second: A via 192.168.1.1,
               AAAA via fd00:1::1 (the router's dnsmasq); ok = NOERROR with an answer
A sample's time is when it was sent (time.monotonic(), CLOCK_MONOTONIC: the same clock in every
namespace). The child keeps compact arrays of times, results and round-trip times per kind (at
most keep_s seconds, default 1 h) and answers queries over its stdin/stdout as JSON lines.

usage (child): python -m host_tools.netbed.lanclient [--keep-s N] [--kinds k,k,...] [--udp-server A4,A6]
"""
import errno
import json
import math
import os
import select
import socket
import struct
import sys
import time
from array import array

from .child import Child
from .plan import (IPV6_OF, LAN_CLIENT, LAN_ROUTER, SERVER, SERVER6, TARGETS, TARGETS6, TCP_PORT, TEST_DOMAIN,
                   UDP_ECHO_PORT)
from .responder import LAN_MARKER, csum

KINDS = ("ping4", "ping6", "udp4", "udp6", "tcp4", "tcp6", "dns4", "dns6")
PERIOD_S = {"ping4": 0.05, "ping6": 0.05, "udp4": 0.02, "udp6": 0.02,
            "tcp4": 1.0, "tcp6": 1.0, "dns4": 1.0, "dns6": 1.0}
TIMEOUT_S = 1.0
UDP_SPORT = 40700
PING_TARGETS = (TARGETS[0], TARGETS6[0])
PENDING, OK, FAIL = 0, 1, 2


def udp_pair(server):
    """udp_server -> (IPv4, IPv6) echo host: a pair, or a host's IPv4 address of plan.IPV6_OF
    (SERVER, VOIP)."""
    if isinstance(server, str):
        if server not in IPV6_OF:
            raise ValueError("udp_server %r: give an (IPv4, IPv6) pair or one of %s" % (server, ", ".join(IPV6_OF)))
        return server, IPV6_OF[server]
    v4, v6 = server
    return v4, v6


# --- child ---------------------------------------------------------------------------------------
class Series:
    """Samples of one kind: send times, results (PENDING/OK/FAIL) and round-trip times (s, NaN
    unless OK), appended in time order."""

    def __init__(self):
        self.t = array("d")
        self.r = bytearray()
        self.rtt = array("f")
        self.base = 0  # absolute index of t[0] (old samples are trimmed)

    def add(self, now):
        self.t.append(now)
        self.r.append(PENDING)
        self.rtt.append(math.nan)
        return self.base + len(self.t) - 1

    def set(self, idx, result, now=None):
        """Settles a pending sample; now (its answer's arrival) gives an OK sample its RTT."""
        i = idx - self.base
        if 0 <= i < len(self.r) and self.r[i] == PENDING:
            self.r[i] = result
            if result == OK and now is not None:
                self.rtt[i] = now - self.t[i]

    def trim(self, before):
        n = 0
        while n < len(self.t) and self.t[n] < before:
            n += 1
        if n:
            del self.t[:n]
            del self.r[:n]
            del self.rtt[:n]
            self.base += n

    def window(self, t0, t1):
        """Indexes [lo, hi) of the samples sent in [t0, t1)."""
        lo, hi = 0, len(self.t)
        while lo < hi and self.t[lo] < t0:
            lo += 1
        while hi > lo and self.t[hi - 1] >= t1:
            hi -= 1
        return lo, hi

    def report(self, t0, t1, period):
        lo, hi = self.window(t0, t1)
        sent = ok = 0
        gap, last = 0.0, t0
        for i in range(lo, hi):
            r = self.r[i]
            if r == PENDING:
                continue
            sent += 1
            if r == OK:
                ok += 1
                gap = max(gap, self.t[i] - last)
                last = self.t[i]
        gap = max(gap, t1 - last)
        return {"sent": sent, "ok": ok, "lost_s": round((sent - ok) * period, 3), "longest_gap_s": round(gap, 3)}

    def rtts_ms(self, t0, t1):
        lo, hi = self.window(t0, t1)
        return [round(self.rtt[i] * 1000, 3) for i in range(lo, hi) if self.r[i] == OK and not math.isnan(self.rtt[i])]

    def first_ok_after(self, t):
        lo, hi = self.window(t, float("inf"))
        for i in range(lo, hi):
            if self.r[i] == OK:
                return self.t[i]
        return None


def dns_query(qid, name, qtype):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", qtype, 1)


def dns_ok(data, qid):
    if len(data) < 12:
        return False
    rid, flags, _, ancount = struct.unpack("!HHHH", data[:8])
    return rid == qid and flags & 0x8000 and flags & 0xF == 0 and ancount > 0


class Generator:
    def __init__(self, kinds, keep_s, udp_server=(SERVER, SERVER6)):
        self.kinds = kinds
        self.keep_s = keep_s
        self.series = {k: Series() for k in KINDS}
        self.start = time.monotonic()
        self.next = {k: self.start for k in kinds}
        self.handlers = {}   # fd -> callable(now)
        self.pending = {}    # kind -> {key: (sample index, socket or None)}
        self.seq = {k: 0 for k in KINDS}
        self.dns_n = 0
        self.poll = select.poll()
        self.socks = {}
        self.ident = os.getpid() & 0xFFFF
        if "ping4" in kinds:
            self._persistent("ping4", socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP), self._ping_in)
        if "ping6" in kinds:
            self._persistent("ping6", socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6), self._ping_in)
        for kind, fam, src, dst in (("udp4", socket.AF_INET, LAN_CLIENT[0], udp_server[0]),
                                    ("udp6", socket.AF_INET6, LAN_CLIENT[1], udp_server[1])):
            if kind in kinds:
                s = socket.socket(fam, socket.SOCK_DGRAM)
                s.bind((src, UDP_SPORT))
                s.connect((dst, UDP_ECHO_PORT))
                self._persistent(kind, s, self._udp_in)
        for k in KINDS:
            self.pending[k] = {}

    def _persistent(self, kind, s, fn):
        s.setblocking(False)
        self.socks[kind] = s
        self.handlers[s.fileno()] = lambda now, kind=kind, s=s: fn(now, kind, s)
        self.poll.register(s, select.POLLIN)

    def _resolve(self, kind, key, result, now=None):
        got = self.pending[kind].pop(key, None)
        if got is None:
            return
        idx, s = got
        self.series[kind].set(idx, result, now)
        if s is not None:
            self._close(s)

    def _close(self, s):
        fd = s.fileno()
        self.handlers.pop(fd, None)
        try:
            self.poll.unregister(fd)
        except (KeyError, ValueError):
            pass
        s.close()

    # sending
    def send(self, kind, now):
        idx = self.series[kind].add(now)
        self.seq[kind] = seq = (self.seq[kind] + 1) & 0xFFFF
        try:
            if kind in ("ping4", "ping6"):
                payload = LAN_MARKER + struct.pack("!d", now)
                if kind == "ping4":
                    hdr = struct.pack("!BBHHH", 8, 0, 0, self.ident, seq)
                    pkt = hdr[:2] + struct.pack("!H", csum(hdr + payload)) + hdr[4:] + payload
                    self.socks[kind].sendto(pkt, (PING_TARGETS[0], 0))
                else:
                    pkt = struct.pack("!BBHHH", 128, 0, 0, self.ident, seq) + payload
                    self.socks[kind].sendto(pkt, (PING_TARGETS[1], 0))
                self.pending[kind][seq] = (idx, None)
            elif kind in ("udp4", "udp6"):
                self.pending[kind][seq] = (idx, None)
                self.socks[kind].send(struct.pack("!HI", seq, idx & 0xFFFFFFFF))
            elif kind in ("tcp4", "tcp6"):
                fam, dst = (socket.AF_INET, SERVER) if kind == "tcp4" else (socket.AF_INET6, SERVER6)
                s = socket.socket(fam, socket.SOCK_STREAM)
                s.setblocking(False)
                self.pending[kind][seq] = (idx, s)
                err = s.connect_ex((dst, TCP_PORT))
                if err not in (0, errno.EINPROGRESS):
                    self._resolve(kind, seq, FAIL)
                    return
                self.handlers[s.fileno()] = lambda now, kind=kind, seq=seq, s=s: self._tcp_done(now, kind, seq, s)
                self.poll.register(s, select.POLLOUT)
            else:
                fam, dst, qtype = ((socket.AF_INET, LAN_ROUTER[0], 1) if kind == "dns4"
                                   else (socket.AF_INET6, LAN_ROUTER[1], 28))
                self.dns_n += 1
                s = socket.socket(fam, socket.SOCK_DGRAM)
                s.setblocking(False)
                self.pending[kind][seq] = (idx, s)
                s.connect((dst, 53))
                s.send(dns_query(seq, "%d.%s" % (self.dns_n, TEST_DOMAIN), qtype))
                self.handlers[s.fileno()] = lambda now, kind=kind, seq=seq, s=s: self._dns_in(now, kind, seq, s)
                self.poll.register(s, select.POLLIN)
        except OSError:
            self._resolve(kind, seq, FAIL)

    # receiving
    def _ping_in(self, now, kind, s):
        while True:
            try:
                data = s.recv(2048)
            except OSError:
                return
            if kind == "ping4":
                off = (data[0] & 15) * 4
                want = 0
            else:
                off, want = 0, 129
            if len(data) >= off + 8 and data[off] == want:
                ident, seq = struct.unpack("!HH", data[off + 4:off + 8])
                if ident == self.ident:
                    self._resolve(kind, seq, OK, now)

    def _udp_in(self, now, kind, s):
        while True:
            try:
                data = s.recv(2048)
            except OSError:  # BlockingIOError, or an ICMP error reported on the connected socket
                return
            if len(data) >= 6:
                self._resolve(kind, struct.unpack("!H", data[:2])[0], OK, now)

    def _tcp_done(self, now, kind, seq, s):
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        self._resolve(kind, seq, OK if err == 0 else FAIL, now)

    def _dns_in(self, now, kind, seq, s):
        try:
            data = s.recv(4096)
        except OSError:
            self._resolve(kind, seq, FAIL)
            return
        self._resolve(kind, seq, OK if dns_ok(data, seq) else FAIL, now)

    def expire(self, now):
        for kind, pend in self.pending.items():
            if not pend:
                continue
            ser = self.series[kind]
            for key, (idx, s) in list(pend.items()):
                i = idx - ser.base
                if i < 0 or ser.t[i] <= now - TIMEOUT_S:
                    self._resolve(kind, key, FAIL)

    # queries
    def answer(self, req):
        now = time.monotonic()
        horizon = now - TIMEOUT_S  # every sample sent before this is settled
        op = req.get("op")
        if op == "report":
            t0 = req.get("t0")
            t0 = self.start if t0 is None else t0
            t1 = req.get("t1")
            t1 = horizon if t1 is None else min(t1, horizon)
            if t1 < t0:
                t1 = t0
            return {k: self.series[k].report(t0, t1, PERIOD_S[k]) for k in self.kinds}
        if op == "rtts":
            t0, t1 = req.get("t0"), req.get("t1")
            return self.series[req["kind"]].rtts_ms(self.start if t0 is None else t0, horizon if t1 is None else t1)
        if op == "first_ok_after":
            return self.series[req["kind"]].first_ok_after(req["t"])
        if op == "now":
            return now
        return {"error": "unknown op %r" % (op,)}

    def run(self):
        stdin = sys.stdin.fileno()
        os.set_blocking(stdin, False)
        self.poll.register(stdin, select.POLLIN)
        buf = b""
        last_trim = last_expire = self.start
        print("ready %d" % self.ident, flush=True)
        while True:
            now = time.monotonic()
            for kind in self.kinds:
                due = self.next[kind]
                if now >= due:
                    self.send(kind, now)
                    per = PERIOD_S[kind]
                    due += per
                    if due < now:  # late (a stall): skip ahead, do not burst
                        due = now + per
                    self.next[kind] = due
            if now - last_expire >= 0.05:
                self.expire(now)
                last_expire = now
            if now - last_trim >= 60:
                for ser in self.series.values():
                    ser.trim(now - self.keep_s)
                last_trim = now
            wait = max(0.0, min(self.next.values()) - time.monotonic()) if self.next else 0.05
            for fd, ev in self.poll.poll(min(wait, 0.05) * 1000):
                if fd == stdin:
                    chunk = os.read(stdin, 65536)
                    if not chunk:
                        return
                    buf += chunk
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        if line.strip():
                            sys.stdout.write(json.dumps(self.answer(json.loads(line))) + "\n")
                            sys.stdout.flush()
                    continue
                h = self.handlers.get(fd)
                if h:
                    h(time.monotonic())


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(prog="lanclient")
    ap.add_argument("--keep-s", type=float, default=3600.0)
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--udp-server", default="%s,%s" % (SERVER, SERVER6), help="IPv4,IPv6 of the UDP echo")
    a = ap.parse_args(argv)
    kinds = tuple(k for k in a.kinds.split(",") if k)
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        ap.error("unknown kinds: %s" % ",".join(bad))
    Generator(kinds, a.keep_s, tuple(a.udp_server.split(",", 1))).run()


# --- parent --------------------------------------------------------------------------------------
class LanClient(Child):
    """Handle of the generator running in the bed's LAN namespace (start it with bed.lan_client())."""
    what = "LAN client"

    def __init__(self, bed, kinds=KINDS, keep_s=3600.0, udp_server=SERVER):
        self.kinds = tuple(kinds)
        self.udp_server = udp_pair(udp_server)
        Child.__init__(self, bed, bed.l, "host_tools.netbed.lanclient",
                       ["--keep-s", keep_s, "--kinds", ",".join(self.kinds), "--udp-server", ",".join(self.udp_server)])

    def report(self, t0=None, t1=None):
        """{kind: {"sent", "ok", "lost_s", "longest_gap_s"}} over the samples sent in [t0, t1)
        (defaults: the client's start, now). Samples still waiting for their answer (sent less
        than TIMEOUT_S ago) are left out: t1 is clamped to now - TIMEOUT_S. lost_s = failed
        samples x the kind's period; longest_gap_s = the longest interval in the window without a
        successful sample (window edges count: no success at all = the whole window)."""
        return self._ask(op="report", t0=t0, t1=t1)

    def first_ok_after(self, kind, t):
        """Send time of the first successful `kind` sample sent at or after t, or None (yet)."""
        return self._ask(op="first_ok_after", kind=kind, t=t)

    def wait_ok_after(self, t, kinds=None, timeout=10.0):
        """Waits until every kind (default: all) has a success sent at or after t, or timeout;
        -> {kind: first_ok_after(kind, t)} (None for a kind that did not recover in time)."""
        kinds = tuple(kinds or self.kinds)
        end = time.monotonic() + timeout
        got = {}
        while True:
            for k in kinds:
                if got.get(k) is None:
                    got[k] = self.first_ok_after(k, t)
            if all(got[k] is not None for k in kinds) or time.monotonic() > end:
                return got
            time.sleep(0.1)

    def rtts(self, kind, t0=None, t1=None):
        """Round-trip times (ms) of the successful `kind` samples sent in [t0, t1), in send order:
        echo reply (ping), echoed datagram (udp), handshake (tcp), answer (dns)."""
        return self._ask(op="rtts", kind=kind, t0=t0, t1=t1)


if __name__ == "__main__":
    main()
