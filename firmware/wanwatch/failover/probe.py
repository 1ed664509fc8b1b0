# probe.py: ICMP / ICMPv6 echo over a raw socket pinned to one link's device (SO_BINDTODEVICE),
# so a probe leaves by its link whatever carries the customers' traffic. Several targets per round
# in parallel, replies matched by identifier + sequence + source address (a raw socket also sees
# other processes' traffic, and an ICMPv6 one neighbour discovery too). Non-blocking: one receiver
# task per socket waits for readability on the event loop (MicroPython: asyncio's poll-based IO
# queue; CPython: loop.add_reader), so nothing spins and RTTs are taken when the packet is read.
# A reply that comes after its round gave up is "late": the caller learns its RTT (a slow line is
# alive, and the next timeouts must allow for it). Every byte sent/received is counted at the IP
# layer (IPv4: 20 + 8 + payload; IPv6: 40 + 8 + payload) for metered links.
import socket
import struct

from ..compat import Wakeable, asyncio, readable

SO_BINDTODEVICE = 25
IP_ICMP = 1
IP_ICMPV6 = 58
ICMP6_FILTER = 1
AF_INET6 = getattr(socket, "AF_INET6", 10)
HDR = 28  # IPv4 header (no options) + ICMP echo header
HDR6 = 48  # IPv6 header + ICMPv6 echo header
LATE_KEEP = 16  # timed-out probes remembered, so a late reply still gives an RTT
# Read size: an IPv4 header with options + the echo header; the payload is not needed. A datagram
# is read with recv(): MicroPython's readinto() on a socket fills the buffer from several datagrams.
RX_BYTES = 128

try:
    import time as _time
    _ticks_us = _time.ticks_us
    _ticks_diff = _time.ticks_diff

    def _now_us():
        return _ticks_us()

    def _elapsed_ms(t0):
        return _ticks_diff(_ticks_us(), t0) / 1000.0
except AttributeError:  # CPython
    import time as _time

    def _now_us():
        return _time.perf_counter()

    def _elapsed_ms(t0):
        return (_time.perf_counter() - t0) * 1000.0


class ProbeError(Exception):
    pass


def checksum(data, n=None):
    """Internet checksum of the first n bytes (all by default); no copy for an odd length."""
    if n is None:
        n = len(data)
    s = 0
    for i in range(0, n - 1, 2):
        s += (data[i] << 8) | data[i + 1]
    if n & 1:
        s += data[n - 1] << 8
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return (~s) & 0xFFFF


def fill_request(buf, ident, seq, icmp_type=8):
    """Write an echo request (header + whatever payload buf already holds) into buf in place: the
    prober reuses one buffer per link instead of building packets every round. ICMPv6 (type 128):
    the kernel fills the checksum of a raw ICMPv6 socket (RFC 3542), so it stays 0 here."""
    struct.pack_into(">BBHHH", buf, 0, icmp_type, 0, 0, ident, seq)
    if icmp_type == 8:
        struct.pack_into(">H", buf, 2, checksum(buf))


def echo_request(ident, seq, payload=b""):
    buf = bytearray(8 + len(payload))
    buf[8:] = payload
    fill_request(buf, ident, seq)
    return bytes(buf)


def reply_ids(pkt, n):
    """(ident, seq) of an echo reply in the first n bytes of an IPv4 packet, else None."""
    if n < 20:
        return None
    ihl = (pkt[0] & 15) * 4
    if n < ihl + 8 or pkt[ihl] != 0:
        return None
    return struct.unpack_from(">HH", pkt, ihl + 4)


def reply6_ids(msg, n):
    """(ident, seq) of an ICMPv6 echo reply (a raw ICMPv6 socket gets no IPv6 header), else None."""
    if n < 8 or msg[0] != 129:
        return None
    return struct.unpack_from(">HH", msg, 4)


def same_source(pkt, src):
    """The packet's IPv4 source equals the 4 bytes src (compared in place: no slice)."""
    return pkt[12] == src[0] and pkt[13] == src[1] and pkt[14] == src[2] and pkt[15] == src[3]


def parse_reply(pkt):
    """(src 4 bytes, ident, seq) of an echo reply in an IPv4 packet, else None."""
    ids = reply_ids(pkt, len(pkt))
    if ids is None:
        return None
    return bytes(pkt[12:16]), ids[0], ids[1]


def ip_bytes(addr):
    parts = addr.split(".")
    return bytes([int(parts[0]), int(parts[1]), int(parts[2]), int(parts[3])])


def _sockaddr(addr):
    # numeric literals only (config checks targets): getaddrinfo does not block on them
    return socket.getaddrinfo(addr, 0)[0][-1]


def sockaddr6_key(sa):
    """The 16 address bytes of an IPv6 socket address: MicroPython's unix port hands out the raw
    sockaddr_in6 (family, port, flowinfo, address, scope), CPython a tuple."""
    if isinstance(sa, (bytes, bytearray)):
        return bytes(sa[8:24])
    return socket.inet_pton(AF_INET6, sa[0].split("%")[0])


class _Round:
    def __init__(self, n):
        self.rtts = [None] * n
        self.left = n
        self.wake = Wakeable()  # rounds of one link may overlap (burst during a round): one each


class Prober:
    """ICMP prober of one link and one address family ("ipv4" or "ipv6"). open() raises
    ProbeError when raw sockets are not allowed. on_late(rtt_ms), if set, hears of replies that
    came after their round gave up."""

    MAX_PENDING = 64

    def __init__(self, device, ident, payload_bytes=0, family="ipv4"):
        self.device = device
        self.ident = ident & 0xFFFF
        self.v6 = family == "ipv6"
        self.payload_bytes = payload_bytes
        self._tx = bytearray(8 + payload_bytes)  # one request buffer, refilled per packet
        self.sock = None
        self.seq = 0
        self.pending = {}   # seq -> (round, index, src bytes, t0)
        self._late = []     # [(seq, src bytes, t0)] of probes whose round gave up, newest last
        self.on_late = None
        self.sent_bytes = 0
        self.recv_bytes = 0
        self._rx = None
        self._addrs = {}

    def open(self):
        try:
            if self.v6:
                s = socket.socket(AF_INET6, socket.SOCK_RAW, IP_ICMPV6)
            else:
                s = socket.socket(socket.AF_INET, socket.SOCK_RAW, IP_ICMP)
        except OSError as e:
            raise ProbeError("raw ICMP sockets need root (CAP_NET_RAW): %s" % e)
        try:
            s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, self.device.encode() + b"\0")
        except OSError as e:
            s.close()
            raise ProbeError("cannot bind probe socket to device %s (SO_BINDTODEVICE): %s" % (self.device, e))
        if self.v6:
            # pass echo replies only (type 129): neighbour discovery must not wake the receiver
            # (struct icmp6_filter: 8 words in host order, a set bit blocks that type)
            flt = struct.pack("@8I", 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF,
                              0xFFFFFFFD, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
            try:
                s.setsockopt(IP_ICMPV6, ICMP6_FILTER, flt)
            except OSError:
                pass
        s.setblocking(False)
        self.sock = s

    def close(self):
        if self._rx is not None:
            self._rx.cancel()
            self._rx = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _addr(self, target):
        a = self._addrs.get(target)
        if a is None:
            sa = _sockaddr(target)
            a = (sa, sockaddr6_key(sa) if self.v6 else ip_bytes(target))
            if len(self._addrs) < 16:
                self._addrs[target] = a
        return a

    async def _rx_loop(self):
        while True:
            try:
                await readable(self.sock)
                self._drain()
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(0.05)  # a socket error must not spin the loop

    def _drain(self):
        for _ in range(64):  # bounded: never monopolise the loop under a flood
            try:
                if self.v6:
                    buf, frm = self.sock.recvfrom(RX_BYTES)
                else:
                    buf = self.sock.recv(RX_BYTES)
            except OSError:
                return
            if not buf:
                return
            if self.v6:
                ids = reply6_ids(buf, len(buf))
                if ids is None or ids[0] != self.ident:
                    continue
                src = sockaddr6_key(frm)
                size = HDR6 + self.payload_bytes  # the reply echoes our payload
            else:
                ids = reply_ids(buf, len(buf))
                if ids is None or ids[0] != self.ident:
                    continue
                src = bytes(buf[12:16])
                # IP-layer size from the header's total length: the short read truncates the payload
                size = (buf[2] << 8) | buf[3]
            ent = self.pending.get(ids[1])
            if ent is None or ent[2] != src:
                self._late_reply(ids[1], src, size)
                continue
            del self.pending[ids[1]]
            rnd, i, _, t0 = ent
            rnd.rtts[i] = _elapsed_ms(t0)
            self.recv_bytes += size
            rnd.left -= 1
            if rnd.left <= 0:
                rnd.wake.wake()

    def _late_reply(self, seq, src, size):
        for j in range(len(self._late)):
            s, a, t0 = self._late[j]
            if s == seq and a == src:
                del self._late[j]
                self.recv_bytes += size
                if self.on_late is not None:
                    self.on_late(_elapsed_ms(t0))
                return

    async def round(self, targets, timeout):
        """Echo each target once, in parallel; list of RTT ms (None = no reply within timeout)."""
        if self.sock is None:
            self.open()
        if self._rx is None:
            self._rx = asyncio.create_task(self._rx_loop())
        rnd = _Round(len(targets))
        seqs = []
        icmp_type = 128 if self.v6 else 8
        hdr = 40 if self.v6 else 20
        for i in range(len(targets)):
            self.seq = (self.seq + 1) & 0xFFFF
            seq = self.seq
            sa, src = self._addr(targets[i])
            pkt = self._tx
            fill_request(pkt, self.ident, seq, icmp_type)
            if len(self.pending) >= self.MAX_PENDING:
                self.pending.clear()  # stale entries of cancelled rounds; bounded memory
            self.pending[seq] = (rnd, i, src, _now_us())
            seqs.append(seq)
            try:
                self.sock.sendto(pkt, sa)
                self.sent_bytes += hdr + len(pkt)
            except OSError:
                # link down / no route: this target simply does not answer
                del self.pending[seq]
                rnd.left -= 1
        try:
            if rnd.left > 0:
                await rnd.wake.wait(timeout)  # woken only when every reply is in
        finally:
            for s in seqs:
                ent = self.pending.pop(s, None)
                if ent is not None:  # gave up on it: a reply may still come (a slow line)
                    self._late.append((s, ent[2], ent[3]))
            if len(self._late) > LATE_KEEP:
                del self._late[:len(self._late) - LATE_KEEP]
        return rnd.rtts
