# dns.py: the agent's own host names (the MQTT broker) resolved without blocking the event loop.
# socket.getaddrinfo blocks the whole process on MicroPython (CPython's asyncio runs it in a
# thread; MicroPython has none to spare), and on a dead line a lookup waits out the resolver's
# timeout: seconds without probe rounds, failover decisions or modem polls, exactly when a
# failover is being decided. So names are resolved here: one UDP query at a time from a
# non-blocking socket, awaited on the loop (compat.readable) under a deadline.
#
# Codec (pure, no I/O): query() builds a recursive query with a random id; parse() checks the
# id, QR, opcode, rcode and the echoed question, follows CNAMEs within the answer section and
# returns the addresses with the smallest TTL met on the way. Any malformed input raises DNSError
# (a ValueError) and nothing else. Every loop is bounded: records read, CNAME hops, compression
# pointers (each must point before the labels that led to it, so pointers cannot loop).
#
# Resolver: the hosts file first (as getaddrinfo's "files dns" would), then the `nameserver`
# lines of /etc/resolv.conf (IPv4 and IPv6, up to 3, 127.0.0.1 when there is none, as in glibc
# and musl) or the configured server (mqtt.resolver), each in turn, `attempts` rounds, all within
# one `timeout`; A first, AAAA when the name has no A. The socket is connected, so the kernel
# drops datagrams from anyone but the server; a reply must also carry our random id and question.
# Answers are cached for their TTL clamped to [min_ttl, max_ttl], a few names at most. When a
# lookup fails the last good address is returned and served for STALE_S more before the next
# try (serve-stale, RFC 8767): a dead resolver never loses a broker that was known, and costs at
# most one timeout per STALE_S. IP literals are returned as they are, never queried.
# Not done: search domains, TCP for truncated answers, EDNS, DNSSEC.
import os
import socket
from errno import EAGAIN

from .compat import asyncio, readable
from .names import is_ip, is_ipv4

A = 1
CNAME = 5
AAAA = 28
IN = 1
PORT = 53
MAX_RECORDS = 32  # answer records read per response
MAX_HOPS = 8  # CNAMEs followed
MAX_JUMPS = 16  # compression pointers per name
MAX_ADDRS = 8  # addresses returned per answer
MAX_SERVERS = 3  # nameserver lines used (glibc's MAXNS)
MAX_LINES = 200  # lines read from resolv.conf or hosts
MAX_DATAGRAMS = 16  # datagrams read per query before the try is given up
RX_BYTES = 512  # the largest DNS message over UDP without EDNS
STALE_S = 30  # the last good address is served this long after a failed lookup (RFC 8767)
TTL_CAP = 0xFFFFFF  # TTLs are capped below 2**24: small ints on 32-bit builds
LDH = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
RCODES = {1: "format error", 2: "server failure", 4: "not implemented", 5: "refused"}


class DNSError(ValueError):
    """Every failure of this module: bad name, bad or error response, no answer in time."""


class NXDomain(DNSError):
    """The name does not exist (rcode 3): no other server or record type is asked."""


class Unrelated(DNSError):
    """Not the answer to our query (id, QR, opcode or question differ): ignored, the wait goes on."""


# --- codec ---------------------------------------------------------------------------------------
def encode_name(name):
    """Wire form (lower case) of a host name; one trailing dot allowed. DNSError if not a name."""
    if not isinstance(name, str):
        raise DNSError("host name must be a string")
    if name.endswith("."):
        name = name[:-1]
    if not name or len(name) > 253:
        raise DNSError("host name must be 1-253 characters")
    out = bytearray()
    for label in name.split("."):
        if not 1 <= len(label) <= 63:
            raise DNSError("bad label in host name %r" % name)
        for c in label:
            if c not in LDH:
                raise DNSError("host name %r: only letters, digits, '-' and '_'" % name)
        out.append(len(label))
        out += label.encode()
    out.append(0)
    return bytes(out).lower()


def query(name, qtype=A, qid=None):
    """(id, message): a recursive query for name's qtype records, with a random id by default."""
    return query_wire(encode_name(name), qtype, qid)


def query_wire(qname, qtype, qid=None):
    """query() for a name already in wire form (the resolver encodes it once per lookup)."""
    if qid is None:
        r = os.urandom(2)
        qid = (r[0] << 8) | r[1]
    return qid, bytes((qid >> 8, qid & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0)) + qname + bytes(
        (qtype >> 8, qtype & 255, 0, IN))


def _u16(msg, pos):
    return (msg[pos] << 8) | msg[pos + 1]


def read_name(msg, pos):
    """(lower-case wire form, position after it) of the name at pos, compression pointers
    followed: each must point before the labels that led to it, at most MAX_JUMPS of them."""
    n = len(msg)
    out = bytearray()
    end = -1
    floor = pos
    jumps = 0
    while True:
        if pos >= n:
            raise DNSError("name runs past the end")
        ln = msg[pos]
        if ln >= 0xC0:
            if pos + 1 >= n:
                raise DNSError("truncated compression pointer")
            ptr = ((ln & 0x3F) << 8) | msg[pos + 1]
            if end < 0:
                end = pos + 2
            if ptr >= floor:
                raise DNSError("compression pointer does not point backwards")
            jumps += 1
            if jumps > MAX_JUMPS:
                raise DNSError("too many compression pointers")
            pos = floor = ptr
            continue
        if ln >= 0x40:
            raise DNSError("unknown label type")
        if ln == 0:
            out.append(0)
            return bytes(out).lower(), (end if end >= 0 else pos + 1)
        if pos + 1 + ln > n:
            raise DNSError("label runs past the end")
        if len(out) + 1 + ln > 254:
            raise DNSError("name longer than 255 bytes")
        out += msg[pos:pos + 1 + ln]
        pos += 1 + ln


def ip6_text(b):
    """RFC 5952 text of 16 address bytes (longest run of zero groups as '::')."""
    g = [(b[i] << 8) | b[i + 1] for i in range(0, 16, 2)]
    best, blen, i = -1, 1, 0
    while i < 8:
        if g[i]:
            i += 1
            continue
        j = i
        while j < 8 and not g[j]:
            j += 1
        if j - i > blen:
            best, blen = i, j - i
        i = j
    h = ["%x" % x for x in g]
    if best < 0:
        return ":".join(h)
    return ":".join(h[:best]) + "::" + ":".join(h[best + blen:])


def addr_text(b):
    if len(b) == 4:
        return "%d.%d.%d.%d" % (b[0], b[1], b[2], b[3])
    return ip6_text(b)


def parse(msg, qid, qname, qtype=A):
    """(addresses, ttl) from the answer to the query with id qid for qname (encode_name form) and
    qtype, CNAMEs followed; ([], 0) when the name exists without such records. Raises Unrelated
    for someone else's message, NXDomain, or DNSError for an error answer or a malformed one."""
    n = len(msg)
    if n < 12:
        raise Unrelated("short message")
    if _u16(msg, 0) != qid:
        raise Unrelated("wrong id")
    f1, rcode = msg[2], msg[3] & 15
    if not f1 & 0x80 or (f1 >> 3) & 15:
        raise Unrelated("not a response to a standard query")
    qd, an = _u16(msg, 4), _u16(msg, 6)
    if qd != 1:
        if qd == 0 and rcode and rcode != 3:  # some servers leave the question out of errors
            raise DNSError(RCODES.get(rcode, "rcode %d" % rcode))
        raise Unrelated("question not echoed")
    name, pos = read_name(msg, 12)
    if pos + 4 > n:
        raise DNSError("truncated question")
    if name != qname or _u16(msg, pos) != qtype or _u16(msg, pos + 2) != IN:
        raise Unrelated("answer to another question")
    pos += 4
    if rcode == 3:
        raise NXDomain("no such name")
    if rcode:
        raise DNSError(RCODES.get(rcode, "rcode %d" % rcode))
    if f1 & 2:
        raise DNSError("truncated answer (DNS over TCP is not supported)")
    size = 4 if qtype == A else 16
    recs = []  # (owner, type, ttl, address bytes or CNAME target)
    for _ in range(an if an < MAX_RECORDS else MAX_RECORDS):
        owner, pos = read_name(msg, pos)
        if pos + 10 > n:
            raise DNSError("truncated record")
        rtype, rclass = _u16(msg, pos), _u16(msg, pos + 2)
        hi = _u16(msg, pos + 4)
        if hi & 0x8000:  # RFC 2181 §8: a TTL with the top bit set means 0
            ttl = 0
        elif hi > 0xFF:
            ttl = TTL_CAP
        else:
            ttl = (hi << 16) | _u16(msg, pos + 6)
        rdlen = _u16(msg, pos + 8)
        pos += 10
        if pos + rdlen > n:
            raise DNSError("record data runs past the end")
        if rclass == IN:
            if rtype == CNAME:
                target, end = read_name(msg, pos)
                if end > pos + rdlen:
                    raise DNSError("CNAME runs past its record")
                recs.append((owner, CNAME, ttl, target))
            elif rtype == qtype:
                if rdlen != size:
                    raise DNSError("address record of %d bytes" % rdlen)
                recs.append((owner, rtype, ttl, msg[pos:pos + rdlen]))
        pos += rdlen
    cur, low = qname, TTL_CAP
    for _ in range(MAX_HOPS + 1):
        addrs = []
        nxt = None
        for owner, rtype, ttl, data in recs:
            if owner != cur:
                continue
            if rtype == CNAME:
                if nxt is None:
                    nxt = (data, ttl)
            elif len(addrs) < MAX_ADDRS:
                addrs.append(addr_text(data))
                low = min(low, ttl)
        if addrs:
            return addrs, low
        if nxt is None:
            return [], 0
        cur, low = nxt[0], min(low, nxt[1])
    raise DNSError("CNAME chain longer than %d" % MAX_HOPS)


# --- system files -------------------------------------------------------------------------------
def _lines(path):
    """Word lists of a text file's lines (comments cut; the first 256 characters of a line, at most
    MAX_LINES reads); [] if unreadable."""
    out = []
    try:
        with open(path) as f:
            cut = False
            for _ in range(MAX_LINES):
                line = f.readline(256)
                if not line:
                    break
                rest, cut = cut, not line.endswith("\n")
                if rest:  # the rest of a line longer than we read: not a line of its own
                    continue
                w = line.split("#", 1)[0].split()
                if w:
                    out.append(w)
    except (OSError, ValueError):  # missing, unreadable, not text (UnicodeError is a ValueError)
        pass
    return out


def nameservers(path="/etc/resolv.conf"):
    """IP literals of the file's nameserver lines, at most MAX_SERVERS, in order."""
    out = []
    for w in _lines(path):
        if len(w) >= 2 and w[0] == "nameserver" and is_ip(w[1]) and w[1] not in out:
            out.append(w[1])
            if len(out) >= MAX_SERVERS:
                break
    return out


def hosts_address(name, path="/etc/hosts"):
    """The first IPv4 address a hosts file gives name (lower case, no trailing dot), else its
    first IPv6 address, else None."""
    v6 = None
    for w in _lines(path):
        if len(w) < 2 or not is_ip(w[0]):
            continue
        for alias in w[1:]:
            if alias.lower() == name:
                if is_ipv4(w[0]):
                    return w[0]
                if v6 is None:
                    v6 = w[0]
    return v6


def sockaddr(ip, port):
    """(family, sockaddr) of an IP literal: getaddrinfo parses a literal without any query."""
    flags = getattr(socket, "AI_NUMERICHOST", 0)  # CPython: guaranteed; MicroPython lacks it
    if flags:
        ai = socket.getaddrinfo(ip, port, 0, socket.SOCK_DGRAM, 0, flags)[0]
    else:
        ai = socket.getaddrinfo(ip, port, 0, socket.SOCK_DGRAM)[0]
    return ai[0], ai[-1]


def _key(name):
    name = name.lower()
    return name[:-1] if name.endswith(".") else name


# --- resolver -----------------------------------------------------------------------------------
class Resolver:
    """Non-blocking resolver with a small TTL cache and the last good address kept per name.

    servers: IP literals to ask (None: resolv_conf's nameserver lines, read at every lookup);
    timeout: seconds one resolve() may take at most, over all servers, attempts and both types."""

    def __init__(self, clock, servers=None, port=PORT, timeout=5.0, attempts=2, min_ttl=30,
                 max_ttl=3600, max_names=8, resolv_conf="/etc/resolv.conf", hosts="/etc/hosts"):
        self.clock = clock
        self.servers = list(servers) if servers else None
        for s in self.servers or ():
            if not is_ip(s):
                raise DNSError("resolver must be an IP address, got %r" % (s,))
        self.port = port
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.min_ttl = min_ttl
        self.max_ttl = max_ttl
        self.max_names = max_names
        self.resolv_conf = resolv_conf
        self.hosts = hosts
        self.last_error = None  # why the last lookup failed (None after a good one)
        self.queries = 0  # datagrams sent
        self.stale = 0  # failed lookups answered with the last good address
        self._cache = {}  # name -> [address, expiry (clock.monotonic s)]

    async def resolve(self, name):
        """An address (text) for name: an IP literal as it is; a cached answer while its TTL runs;
        else a lookup; when that fails, the last good address. Raises DNSError only when no
        address was ever known (or name is not a host name). Takes at most `timeout` s."""
        if is_ip(name):
            return name
        key = _key(name)
        ent = self._cache.get(key)
        if ent is not None and self.clock.monotonic() < ent[1]:
            return ent[0]
        try:
            addr, ttl = await self.lookup(key)
        except DNSError as e:
            self.last_error = "%s: %s" % (name, e)
            if ent is None:
                raise DNSError("cannot resolve " + self.last_error)
            ent[1] = self.clock.monotonic() + STALE_S
            self.stale += 1
            return ent[0]
        self.last_error = None
        ttl = min(max(ttl, self.min_ttl), self.max_ttl)
        if ent is None and len(self._cache) >= self.max_names:
            # full: forget the name whose answer runs out first
            oldest = None
            for k in self._cache:
                if oldest is None or self._cache[k][1] < self._cache[oldest][1]:
                    oldest = k
            del self._cache[oldest]
        self._cache[key] = [addr, self.clock.monotonic() + ttl]
        return addr

    def known(self, name):
        """The cached or last good address of name, or None (no lookup)."""
        ent = self._cache.get(_key(name))
        return ent[0] if ent is not None else None

    async def lookup(self, name):
        """One uncached lookup of a host name: (first address, TTL) or DNSError, within timeout."""
        qname = encode_name(name)
        if self.hosts:
            a = hosts_address(name, self.hosts)
            if a is not None:
                return a, self.min_ttl
        tries, deadline = self._tries()
        for qtype in (A, AAAA):
            addrs, ttl = await self._first_answer(tries, qname, qtype, deadline, 1)
            if addrs:
                return addrs[0], ttl
            # the name exists without records of this type: ask for the other
        raise DNSError("no A or AAAA record")

    async def lookup_all(self, name):
        """Every address of a host name (A records, then AAAA; at most MAX_ADDRS of each) and the
        smallest TTL, uncached, within timeout: ([], 0) when it has none; DNSError when no server
        answered. For allowlists, where one address of several is not enough."""
        if is_ip(name):
            return [name], self.max_ttl
        qname = encode_name(name)
        tries, deadline = self._tries()
        a, ta = await self._first_answer(tries, qname, A, deadline, 2)  # AAAA keeps half the time
        b, tb = await self._first_answer(tries, qname, AAAA, deadline, 1)
        ttls = ([ta] if a else []) + ([tb] if b else [])
        return a + b, (min(ttls) if ttls else 0)

    def _tries(self):
        servers = self.servers or nameservers(self.resolv_conf) or ["127.0.0.1"]
        return [s for _ in range(self.attempts) for s in servers], self.clock.monotonic() + self.timeout

    async def _first_answer(self, tries, qname, qtype, deadline, parts):
        """(addresses, ttl) of the first server in tries that answers, within 1/parts of the time
        left; NXDomain at once; DNSError when none answered."""
        end = self.clock.monotonic() + (deadline - self.clock.monotonic()) / parts
        err = "no answer"
        for i in range(len(tries)):
            left = end - self.clock.monotonic()
            if left <= 0:
                break
            try:
                return await self._ask(tries[i], qname, qtype, left / (len(tries) - i))
            except NXDomain:
                raise
            except (DNSError, OSError) as e:
                err = "server %s: %s" % (tries[i], e)
        raise DNSError(err)

    async def _ask(self, server, qname, qtype, wait):
        """Query one server, wait up to `wait` s for its answer; parse() result or an error."""
        self.queries += 1
        return await ask(server, qname, qtype, wait, self.clock, self.port)


async def ask(server, qname, qtype, wait, clock, port=PORT, device=None, counts=None):
    """Query one server (IP literal) for qname (wire form) and wait up to `wait` s for its
    answer: parse()'s result, or DNSError. device: send through that link (SO_BINDTODEVICE),
    whatever carries traffic (the health checks). counts: a [sent, received] list the datagrams'
    sizes are added to (IP + UDP headers included)."""
    qid, pkt = query_wire(qname, qtype)
    family, addr = sockaddr(server, port)
    hdr = 48 if family != socket.AF_INET else 28
    s = socket.socket(family, socket.SOCK_DGRAM)
    try:
        if device is not None:
            s.setsockopt(socket.SOL_SOCKET, 25, device.encode() + b"\0")  # SO_BINDTODEVICE
        s.setblocking(False)
        s.connect(addr)  # the kernel drops datagrams from other sources
        s.send(pkt)
        if counts is not None:
            counts[0] += hdr + len(pkt)
        end = clock.monotonic() + wait
        for _ in range(MAX_DATAGRAMS):  # bounded: a flood of unrelated datagrams ends the try
            left = end - clock.monotonic()
            if left <= 0:
                break
            try:
                await asyncio.wait_for(readable(s), left)
            except asyncio.TimeoutError:
                break
            try:
                data = s.recv(RX_BYTES)
            except OSError as e:
                if e.args and e.args[0] == EAGAIN:
                    continue
                raise  # e.g. ECONNREFUSED: the ICMP port unreachable of a server not running
            if counts is not None:
                counts[1] += hdr + len(data)
            try:
                return parse(data, qid, qname, qtype)
            except Unrelated:
                continue
        raise DNSError("no answer within %.1f s" % wait)
    finally:
        s.close()
