# failover/checks.py: health checks beyond ICMP, sent through one link's device (SO_BINDTODEVICE)
# whatever carries traffic, with the prober's interface (`await round(checks, timeout)` -> one RTT
# in ms or None per check), so each check type feeds its own LinkState with the same quorum and
# confirmation rules as ICMP:
#   dns   a query for a configured name to a configured resolver; the answer must hold the
#         expected address when one is configured (a line where DNS breaks while ICMP works);
#   http  GET of a configured plain-HTTP URL; the expected status, and the body substring when
#         configured. A redirect, or a page without the substring, is a captive portal (a SIM out
#         of credit or allowance: the carrier sends every request to its top-up page while ICMP
#         may still answer); `captive` names it for the round.
# Non-blocking: UDP/TCP sockets waited on through the event loop, every step bounded by the
# timeout; no TLS (a handshake would block MicroPython's loop), no blocking name resolution (an
# URL's host name goes through the agent's resolver). Every byte is counted (IP and transport
# headers included) for metered links. TCP is estimated per segment, as Linux sends it: SYN and
# SYN-ACK with their options, our ACK, the request, the server's ACK of it, the answer's segments
# (the status and headers in one, the body in others: what servers that write the head and then the
# body send; never fewer than the reads that got data) each ACKed, FIN both ways, the last ACK.
import socket

from .. import dns
from ..compat import asyncio, readable, writable
from ..names import ip_family

SO_BINDTODEVICE = 25
EINPROGRESS = (115, 36)      # Linux, BSD-style numbering (MicroPython ports)
HTTP_READ_MAX = 4096         # status line, headers and the start of the body: enough to judge
TCP_HDR = (52, 72)           # IPv4/IPv6 + TCP with timestamps, per segment
SYN_HDR = (60, 80)           # IPv4/IPv6 + TCP with the SYN's options (MSS, SACK, timestamps, window scale)
MSS = 1400

CHECK_DEFAULTS = {
    "dns": {"interval_s": 10, "timeout_s": 2.0, "standby_interval_s": 3600, "metered_interval_s": 300},
    "http": {"interval_s": 30, "timeout_s": 5.0, "standby_interval_s": 3600, "metered_interval_s": 300},
}
KEYS = {"dns": ("type", "name", "resolver", "expect", "qtype", "interval_s", "timeout_s",
                "standby_interval_s", "metered_interval_s"),
        "http": ("type", "url", "status", "contains", "interval_s", "timeout_s", "standby_interval_s",
                 "metered_interval_s")}


def parse_url(url):
    """(host, port, path) of a plain http:// URL, else None. IPv6 hosts in brackets."""
    if not isinstance(url, str) or not url.startswith("http://") or len(url) > 256:
        return None
    rest = url[7:]
    slash = rest.find("/")
    hostport, path = (rest, "/") if slash < 0 else (rest[:slash], rest[slash:])
    port = 80
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            return None
        host, tail = hostport[1:end], hostport[end + 1:]
        if tail:
            if not tail.startswith(":") or not tail[1:].isdigit():
                return None
            port = int(tail[1:])
        if ip_family(host) != "ipv6":
            return None
    else:
        host = hostport
        if ":" in hostport:
            host, p = hostport.rsplit(":", 1)
            if not p.isdigit():
                return None
            port = int(p)
    if not host or not 0 < port < 65536 or " " in path or "\r" in path or "\n" in path:
        return None
    for c in host:
        if c not in dns.LDH and c not in ".:":
            return None
    return host, port, path


def check_spec(raw, where):
    """(spec with defaults, None) or (None, (key, reason)) for one entry of links[].checks."""
    if not isinstance(raw, dict):
        return None, (where, "must be an object")
    kind = raw.get("type")
    if kind not in CHECK_DEFAULTS:
        return None, (where + ".type", "must be dns or http, got %r" % (kind,))
    for k in raw:
        if raw[k] is not None and k not in KEYS[kind]:
            return None, (where + "." + k, "is not a key of a %s check (its keys: %s)" % (kind, ", ".join(KEYS[kind][1:])))
    spec = dict(CHECK_DEFAULTS[kind])
    for k in KEYS[kind]:
        if raw.get(k) is not None:
            spec[k] = raw[k]
    for k in ("interval_s", "timeout_s", "standby_interval_s", "metered_interval_s"):
        v = spec[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
            return None, (where + "." + k, "must be a number > 0, got %r" % (v,))
    need = ("name", "resolver") if kind == "dns" else ("url",)
    for k in need:
        if spec.get(k) is None:
            return None, (where + "." + k, "is required for a%s %s check" % ("n" if kind == "http" else "", kind))
    if kind == "dns":
        name = spec.get("name")
        try:
            dns.encode_name(name)
        except Exception:
            return None, (where + ".name", "must be a host name to look up, got %r" % (name,))
        if ip_family(spec.get("resolver")) is None:
            return None, (where + ".resolver", "must be the IP address of a DNS server, got %r" % (spec.get("resolver"),))
        qtype = spec.get("qtype") or ("AAAA" if ip_family(spec.get("expect")) == "ipv6" else "A")
        if qtype not in ("A", "AAAA"):
            return None, (where + ".qtype", "must be A or AAAA, got %r" % (qtype,))
        spec["qtype"] = qtype
        if spec.get("expect") is not None and ip_family(spec["expect"]) is None:
            return None, (where + ".expect", "must be an IP address (or absent: any answer), got %r" % (spec["expect"],))
    else:
        if parse_url(spec.get("url")) is None:
            return None, (where + ".url", "must be a plain http:// URL (no TLS), got %r" % (spec.get("url"),))
        st = spec.get("status", 200)
        if isinstance(st, bool) or not isinstance(st, int) or not 100 <= st <= 599:
            return None, (where + ".status", "must be an HTTP status code, got %r" % (st,))
        spec["status"] = st
        c = spec.get("contains")
        if c is not None and (not isinstance(c, str) or not c or len(c) > 128):
            return None, (where + ".contains", "must be a text of 1-128 characters, got %r" % (c,))
    return spec, None


def judge_http(head, status, contains):
    """(ok, captive reason or None) from the start of an HTTP response."""
    eol = head.find(b"\r\n")
    line = head[:eol if eol >= 0 else len(head)]
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        return False, None
    code = int(parts[1])
    if 300 <= code < 400 and code != 304:
        loc = b""
        i = head.lower().find(b"\r\nlocation:")
        if i >= 0:
            j = head.find(b"\r\n", i + 2)
            loc = head[i + 11:j if j > 0 else len(head)].strip()
        return False, "redirected (%d) to %s" % (code, loc[:80].decode("utf-8", "replace") or "?")
    if code != status:
        return False, None
    if contains is not None:
        body = head.find(b"\r\n\r\n")
        if body < 0 or head.find(contains.encode(), body) < 0:
            return False, "a page without %r (%d bytes read)" % (contains, len(head))
    return True, None


def answer_segments(head, reads):
    """TCP segments that carried the answer read so far: the status line and headers, the body
    (each cut at MSS), never fewer than the reads that got data."""
    if not head:
        return 0
    end = head.find(b"\r\n\r\n")
    top = len(head) if end < 0 else end + 4
    body = len(head) - top
    n = (top + MSS - 1) // MSS + (body + MSS - 1) // MSS
    return n if n > reads else reads


class _Checker:
    def __init__(self, device, family_hint=None):
        self.device = device
        self.counts = [0, 0]        # bytes sent, received (IP layer)

    @property
    def sent_bytes(self):
        return self.counts[0]

    @property
    def recv_bytes(self):
        return self.counts[1]

    def open(self):
        return None  # sockets are made per check

    async def round(self, specs, timeout):
        if len(specs) == 1:
            return [await self._one(specs[0], timeout)]
        return list(await asyncio.gather(*[self._one(s, timeout) for s in specs]))


class DnsCheck(_Checker):
    def __init__(self, device, clock):
        _Checker.__init__(self, device)
        self.clock = clock
        self.last_error = None

    async def _one(self, spec, timeout):
        t0 = self.clock.monotonic()
        qtype = dns.AAAA if spec["qtype"] == "AAAA" else dns.A
        try:
            addrs, _ = await dns.ask(spec["resolver"], dns.encode_name(spec["name"]), qtype, min(timeout, spec["timeout_s"]),
                                     self.clock, device=self.device, counts=self.counts)
        except Exception as e:  # no answer, an error answer, no route: the check failed
            self.last_error = "%s: %s" % (spec["name"], e)
            return None
        if spec.get("expect") is not None and spec["expect"] not in addrs:
            self.last_error = "%s answered %s, not %s" % (spec["name"], ",".join(addrs) or "nothing", spec["expect"])
            return None
        return (self.clock.monotonic() - t0) * 1000.0


class HttpCheck(_Checker):
    def __init__(self, device, clock, resolver=None):
        _Checker.__init__(self, device)
        self.clock = clock
        self.resolver = resolver
        self.captive = []           # per check of the last round: captive reason or None
        self.last_error = None

    async def round(self, specs, timeout):
        self.captive = [None] * len(specs)
        out = []
        for i in range(len(specs)):  # one at a time: a round has one or two checks
            out.append(await self._one(specs[i], timeout, i))
        return out

    async def _one(self, spec, timeout, i=0):
        host, port, path = parse_url(spec["url"])
        wait = min(timeout, spec["timeout_s"])
        t0 = self.clock.monotonic()
        try:
            head = await asyncio.wait_for(self._get(host, port, path), wait)
        except Exception as e:  # timeout, refused, no route: failed (not captive)
            self.last_error = "%s: %s" % (spec["url"], type(e).__name__ if not str(e) else e)
            return None
        ok, captive = judge_http(head, spec["status"], spec.get("contains"))
        if captive:
            self.captive[i] = captive
            self.last_error = "%s: %s" % (spec["url"], captive)
            return None
        if not ok:
            self.last_error = "%s: unexpected answer %r" % (spec["url"], head[:40])
            return None
        return (self.clock.monotonic() - t0) * 1000.0

    async def _get(self, host, port, path):
        ip = host if ip_family(host) else await self._resolve(host)
        fam, addr = dns.sockaddr(ip, port)
        v6 = 1 if fam != socket.AF_INET else 0
        hdr, syn = TCP_HDR[v6], SYN_HDR[v6]
        s = socket.socket(fam, socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, self.device.encode() + b"\0")
            s.setblocking(False)
            try:
                s.connect(addr)
            except OSError as e:
                if not e.args or e.args[0] not in EINPROGRESS:
                    raise
            self.counts[0] += syn      # SYN
            await writable(s)
            self.counts[1] += syn      # SYN-ACK
            self.counts[0] += hdr      # ACK
            req = ("GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: wanwatch\r\nConnection: close\r\n\r\n"
                   % (path, host if ":" not in host else "[" + host + "]")).encode()
            s.send(req)
            self.counts[0] += hdr + len(req)
            self.counts[1] += hdr      # the server's ACK of the request
            head = b""
            reads = 0
            try:
                while len(head) < HTTP_READ_MAX:
                    await readable(s)
                    data = s.recv(HTTP_READ_MAX - len(head))
                    if not data:
                        break
                    head += data
                    reads += 1
                    self.counts[1] += len(data)
            finally:
                segs = answer_segments(head, reads)
                self.counts[1] += hdr * segs + 2 * hdr  # the answer's segments, FIN, the ACK of ours
                self.counts[0] += hdr * segs + hdr      # our ACK of each, FIN (with the ACK of theirs)
            return head
        finally:
            s.close()

    async def download(self, url, max_bytes, timeout):
        """The active bandwidth test: (bytes, seconds) of a timed download of up to max_bytes of a
        plain-HTTP object through the device (from the first byte of the answer to the last read);
        (0, 0) when it failed."""
        host, port, path = parse_url(url)
        box = [0, None, None]  # bytes, first byte time, last byte time

        async def go():
            ip = host if ip_family(host) else await self._resolve(host)
            fam, addr = dns.sockaddr(ip, port)
            s = socket.socket(fam, socket.SOCK_STREAM)
            try:
                s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, self.device.encode() + b"\0")
                s.setblocking(False)
                try:
                    s.connect(addr)
                except OSError as e:
                    if not e.args or e.args[0] not in EINPROGRESS:
                        raise
                await writable(s)
                s.send(("GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, host)).encode())
                while box[0] < max_bytes:
                    await readable(s)
                    data = s.recv(4096)
                    if not data:
                        break
                    now = self.clock.monotonic()
                    if box[1] is None:
                        box[1] = now
                    box[0] += len(data)
                    box[2] = now
            finally:
                s.close()
        try:
            await asyncio.wait_for(go(), timeout)
        except Exception as e:
            self.last_error = "%s: %s" % (url, type(e).__name__ if not str(e) else e)
        self.counts[1] += box[0]
        if box[1] is None or box[2] <= box[1] or box[0] < 16384:
            return 0, 0
        return box[0], box[2] - box[1]

    async def _resolve(self, host):
        if self.resolver is None:
            self.resolver = dns.Resolver(self.clock)
        return await self.resolver.resolve(host)
