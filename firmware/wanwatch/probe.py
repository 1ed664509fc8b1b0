# probe.py: ICMP echo over a raw socket pinned to one link's device (SO_BINDTODEVICE), several
# targets per round in parallel, replies matched by identifier + sequence + source address (a raw
# socket also sees our own requests and other processes' traffic). Non-blocking: one receiver task
# per socket waits for readability on the event loop (MicroPython: asyncio's poll-based IO queue;
# CPython: loop.add_reader), so nothing spins and RTTs are taken when the packet is read (sub-ms).
# Every byte sent/received is counted at the IP layer (20 + 8 + payload) for metered links.
import socket
import struct

from .compat import IS_MICROPYTHON, Wakeable, asyncio

SO_BINDTODEVICE = 25
IP_ICMP = 1
HDR = 28  # IPv4 header (no options) + ICMP echo header
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


def fill_request(buf, ident, seq):
    """Write an echo request (header + whatever payload buf already holds) into buf in place: the
    prober reuses one buffer per link instead of building packets every round."""
    struct.pack_into(">BBHHH", buf, 0, 8, 0, 0, ident, seq)
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
    return socket.getaddrinfo(addr, 0)[0][-1]


if IS_MICROPYTHON:
    def _readable(sock):
        # asyncio's IO queue polls registered streams in the scheduler's own poll() call
        yield asyncio.core._io_queue.queue_read(sock)
else:
    async def _readable(sock):
        loop = asyncio.get_event_loop()
        fut = loop.create_future()
        fd = sock.fileno()

        def ready():
            if not fut.done():
                fut.set_result(None)
        loop.add_reader(fd, ready)
        try:
            await fut
        finally:
            loop.remove_reader(fd)


class _Round:
    def __init__(self, n):
        self.rtts = [None] * n
        self.left = n
        self.wake = Wakeable()  # rounds of one link may overlap (burst during a round): one each


class Prober:
    """ICMP prober of one link. open() raises ProbeError when raw sockets are not allowed."""

    MAX_PENDING = 64

    def __init__(self, device, ident, payload_bytes=0):
        self.device = device
        self.ident = ident & 0xFFFF
        self._tx = bytearray(8 + payload_bytes)  # one request buffer, refilled per packet
        self.sock = None
        self.seq = 0
        self.pending = {}   # seq -> (round, index, src bytes, t0)
        self.sent_bytes = 0
        self.recv_bytes = 0
        self._rx = None
        self._addrs = {}

    def open(self):
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_RAW, IP_ICMP)
        except OSError as e:
            raise ProbeError("raw ICMP sockets need root (CAP_NET_RAW): %s" % e)
        try:
            s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, self.device.encode() + b"\0")
        except OSError as e:
            s.close()
            raise ProbeError("cannot bind probe socket to device %s (SO_BINDTODEVICE): %s" % (self.device, e))
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
            a = (_sockaddr(target), ip_bytes(target))
            if len(self._addrs) < 16:
                self._addrs[target] = a
        return a

    async def _rx_loop(self):
        while True:
            try:
                await _readable(self.sock)
                self._drain()
            except asyncio.CancelledError:
                raise
            except Exception:
                await asyncio.sleep(0.05)  # a socket error must not spin the loop

    def _drain(self):
        for _ in range(64):  # bounded: never monopolise the loop under a flood
            try:
                buf = self.sock.recv(RX_BYTES)
            except OSError:
                return
            if not buf:
                return
            ids = reply_ids(buf, len(buf))
            if ids is None or ids[0] != self.ident:
                continue
            ent = self.pending.get(ids[1])
            if ent is None or not same_source(buf, ent[2]):
                continue
            del self.pending[ids[1]]
            rnd, i, src, t0 = ent
            rnd.rtts[i] = _elapsed_ms(t0)
            # IP-layer size from the header's total length: the short read truncates the payload
            self.recv_bytes += (buf[2] << 8) | buf[3]
            rnd.left -= 1
            if rnd.left <= 0:
                rnd.wake.wake()

    async def round(self, targets, timeout):
        """Echo each target once, in parallel; list of RTT ms (None = no reply within timeout)."""
        if self.sock is None:
            self.open()
        if self._rx is None:
            self._rx = asyncio.create_task(self._rx_loop())
        rnd = _Round(len(targets))
        seqs = []
        for i in range(len(targets)):
            self.seq = (self.seq + 1) & 0xFFFF
            seq = self.seq
            sa, src = self._addr(targets[i])
            pkt = self._tx
            fill_request(pkt, self.ident, seq)
            if len(self.pending) >= self.MAX_PENDING:
                self.pending.clear()  # stale entries of cancelled rounds; bounded memory
            self.pending[seq] = (rnd, i, src, _now_us())
            seqs.append(seq)
            try:
                self.sock.sendto(pkt, sa)
                self.sent_bytes += 20 + len(pkt)
            except OSError:
                # link down / no route: this target simply does not answer
                del self.pending[seq]
                rnd.left -= 1
        try:
            if rnd.left > 0:
                await rnd.wake.wait(timeout)  # woken only when every reply is in
        finally:
            for s in seqs:
                self.pending.pop(s, None)
        return rnd.rtts
