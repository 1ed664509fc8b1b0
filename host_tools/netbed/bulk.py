"""Bulk TCP transfers for bandwidth tests: the server in the internet namespace (SERVER and SERVER6,
port BULK_PORT) and the LAN's downloader (bed.lan_download() -> Download).

Protocol: the client connects and sends one line "DIR RATE\\n": DIR "down" (the server sends until
the connection ends), "up" (the client sends, the server discards) or "both"; RATE the sender's
pace in kbit/s (0: as fast as TCP goes). Either side ends it by closing.

The client (in the LAN namespace) counts goodput in BIN_S bins of CLOCK_MONOTONIC: received
bytes (down) when they arrive, sent bytes (up) when the peer has acknowledged them (bytes
written minus the socket's unacknowledged queue, SIOCOUTQ, sampled every BIN_S). It reconnects
(after RECONNECT_S) when the connection fails, is reset or moves no byte for STALL_S, as a
downloader that retries would. A route change ends a masqueraded TCP flow (its NAT entry is
re-bound to the new uplink's address, which the server does not know): a downloading client sends
one byte every HEARTBEAT_S, so the server's reset reaches it within that and it reconnects over
the new route at once instead of waiting for the stall. Both ends close by reset (SO_LINGER 0):
after stop() no orphaned send buffer keeps draining over the line.

Unpaced (RATE 0) over an unshaped path a transfer runs at several Gbit/s and keeps one to two CPU
cores busy: give demand a rate (a few times the line's) unless a shaper bounds it.

usage: python -m host_tools.netbed.bulk serve PORT ADDR ...
       python -m host_tools.netbed.bulk fetch ADDR PORT DIR RATE_KBIT   (answers JSON lines on stdin)
"""
import fcntl
import json
import select
import socket
import socketserver
import struct
import sys
import termios
import threading
import time
from array import array

from .child import Child
from .plan import BULK_PORT, SERVER
from .web import make_server, serve_forever

BIN_S = 0.01
STALL_S = 5.0
HEARTBEAT_S = 0.5
RECONNECT_S = 0.2
CHUNK = 65536
DIRS = ("down", "up", "both")
_DATA = bytes(CHUNK)
# close = reset: the unsent rest of a send buffer is dropped, not left draining over a shaped line
# by an orphaned socket after stop()
ABORT = struct.pack("ii", 1, 0)


class Pacer:
    """Sleeps so that the bytes sent keep to rate_kbit (0: no pacing); chunk is the size to send
    at a time (about 20 ms of the rate)."""

    def __init__(self, rate_kbit):
        self.bps = rate_kbit * 1000.0 / 8
        self.chunk = CHUNK if not self.bps else int(max(1448, min(CHUNK, self.bps * 0.02)))
        self.start = time.monotonic()
        self.sent = 0

    def wait(self):
        """Seconds until the next chunk may go (0: now)."""
        if not self.bps:
            return 0.0
        return max(0.0, self.start + self.sent / self.bps - time.monotonic())


# --- server ---------------------------------------------------------------------------------------
class Serve(socketserver.BaseRequestHandler):
    def handle(self):
        c = self.request
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, ABORT)
        c.settimeout(30)  # a sender stuck behind a dead line gives up
        try:
            line = c.makefile("rb").readline(64).decode("ascii", "replace").split()
            d, rate = line[0], int(line[1])
        except (OSError, IndexError, ValueError):
            return
        if d in ("down", "both"):  # what the client sends (its heartbeats too) is read and dropped
            threading.Thread(target=self._discard, args=(c,), daemon=True).start()
            p = Pacer(rate)
            try:
                while True:
                    time.sleep(p.wait())
                    c.sendall(_DATA[:p.chunk])
                    p.sent += p.chunk
            except OSError:
                pass
        else:
            self._discard(c)

    @staticmethod
    def _discard(c):
        try:
            while c.recv(CHUNK):
                pass
        except OSError:
            pass


# --- client ---------------------------------------------------------------------------------------
class Counter:
    """Bytes per BIN_S bin since t0 (CLOCK_MONOTONIC)."""

    def __init__(self, t0):
        self.t0 = t0
        self.bins = array("Q")
        self.total = 0
        self.first = None  # time of the first byte

    def add(self, now, n):
        if n <= 0:
            return
        i = int((now - self.t0) / BIN_S)
        if i >= len(self.bins):
            self.bins.frombytes(bytes(8 * (i + 1 - len(self.bins))))
        self.bins[i] += n
        self.total += n
        if self.first is None:
            self.first = now

    def kbit(self, t0, t1):
        """Goodput (kbit/s) of the bins that start in [t0, t1)."""
        if t1 <= t0:
            return 0.0
        lo = max(0, int(round((t0 - self.t0) / BIN_S)))
        hi = max(lo, int(round((t1 - self.t0) / BIN_S)))
        return sum(self.bins[lo:hi]) * 8 / 1000.0 / (t1 - t0)


class Fetcher:
    def __init__(self, addr, port, direction, rate_kbit):
        self.dst = (addr, port)
        self.dir = direction
        self.rate = rate_kbit
        now = time.monotonic()
        self.count = {"down": Counter(now), "up": Counter(now)}
        self.connections = 0
        self.error = None
        self.lock = threading.Lock()

    def run(self):
        while True:
            try:
                s = socket.create_connection(self.dst, timeout=3)
            except OSError as e:
                self.error = str(e)
                time.sleep(RECONNECT_S)
                continue
            self.connections += 1
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, ABORT)
            try:
                self._transfer(s)
            except OSError as e:
                self.error = str(e)
            finally:
                s.close()
            time.sleep(RECONNECT_S)

    def _transfer(self, s):
        s.sendall(("%s %d\n" % (self.dir, self.rate)).encode())
        s.setblocking(False)
        down, up = self.dir in ("down", "both"), self.dir in ("up", "both")
        pacer = Pacer(self.rate)
        written = acked = 0
        last = beat = time.monotonic()
        while True:
            wait = BIN_S
            want_w = up and pacer.wait() == 0
            if up and not want_w:
                wait = min(wait, pacer.wait())
            r, w, _ = select.select([s] if down else [], [s] if want_w else [], [], wait)
            now = time.monotonic()
            if r:
                data = s.recv(262144)
                if not data:
                    self.error = "closed by the server"
                    return
                with self.lock:
                    self.count["down"].add(now, len(data))
                last = now
            if w:
                try:
                    n = s.send(_DATA[:pacer.chunk])
                except BlockingIOError:
                    n = 0
                written += n
                pacer.sent += n
            if not up and now - beat >= HEARTBEAT_S:
                beat = now
                s.send(b"\0")
            if up:
                outq = struct.unpack("i", fcntl.ioctl(s, termios.TIOCOUTQ, b"\0\0\0\0"))[0]
                if written - outq > acked:
                    with self.lock:
                        self.count["up"].add(now, written - outq - acked)
                    acked = written - outq
                    last = now
            if now - last > STALL_S:
                self.error = "stalled %.0f s" % STALL_S
                return

    def answer(self, req):
        op = req.get("op")
        now = time.monotonic()
        with self.lock:
            if op == "rate":
                c = self.count[req.get("direction") or "down"]
                t0 = req.get("t0")
                t0 = (c.first if c.first is not None else now) if t0 is None else t0
                t1 = now if req.get("t1") is None else min(req["t1"], now)
                return round(c.kbit(t0, t1), 3)
            if op == "stats":
                return {"connections": self.connections, "error": self.error,
                        "bytes": {d: c.total for d, c in self.count.items()},
                        "first_byte": {d: c.first for d, c in self.count.items()}}
        return {"error": "unknown op %r" % (op,)}


def fetch(addr, port, direction, rate):
    f = Fetcher(addr, port, direction, rate)
    threading.Thread(target=f.run, daemon=True).start()
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip():
            sys.stdout.write(json.dumps(f.answer(json.loads(line))) + "\n")
            sys.stdout.flush()


class Download(Child):
    """Handle of a bulk transfer from the LAN (bed.lan_download())."""
    what = "LAN download"

    def __init__(self, bed, server=SERVER, port=BULK_PORT, rate_kbit=None, direction="down"):
        if direction not in DIRS:
            raise ValueError("direction %r: one of %s" % (direction, ", ".join(DIRS)))
        self.direction = direction
        Child.__init__(self, bed, bed.l, "host_tools.netbed.bulk", ["fetch", server, port, direction, int(rate_kbit or 0)])

    def rate_kbit(self, t0=None, t1=None, direction="down"):
        """Goodput (kbit/s) in [t0, t1) (CLOCK_MONOTONIC; defaults: the first byte, now), from the
        time each byte arrived (down) or was acknowledged (up)."""
        return self._ask(op="rate", t0=t0, t1=t1, direction=direction)

    def stats(self):
        """{"connections": n, "error": the last one or None, "bytes": {"down", "up"},
        "first_byte": {"down", "up"}: time or None}."""
        return self._ask(op="stats")

    def wait_bytes(self, n=1, direction="down", timeout=10.0):
        """Waits until n bytes went that way; -> the stats (raises on timeout)."""
        end = time.monotonic() + timeout
        while True:
            st = self.stats()
            if st["bytes"][direction] >= n:
                return st
            if time.monotonic() > end:
                raise RuntimeError("no %d bytes %s in %.0f s: %s" % (n, direction, timeout, st))
            time.sleep(0.05)


def main():
    if sys.argv[1] == "serve":
        port = int(sys.argv[2])
        serve_forever([make_server(a, port, Serve) for a in sys.argv[3:]])
    else:
        addr, port, direction, rate = sys.argv[2:6]
        fetch(addr, int(port), direction, int(rate))


if __name__ == "__main__":
    main()
