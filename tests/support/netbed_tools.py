"""Helpers for tests on the namespace bed (host_tools/netbed): router_tool() sends one UDP datagram,
one DNS query or a few ICMP echoes from the router namespace over a given device and source;
wait_all_ok() waits for every kind of a LAN client to answer once; kind() matches an agent event."""
import json
import sys
import time

from host_tools.netbed.lanclient import KINDS
from host_tools.netbed.shims import ROOT

# run in the router namespace: one UDP datagram or DNS query (or ICMP echoes) from a given source
# over a given device; prints JSON
ROUTER_TOOL = r"""
import json, socket, struct, sys, time
sys.path.insert(0, sys.argv[1])
from host_tools.netbed.lanclient import dns_query, dns_ok
op, dev, src, dst = sys.argv[2:6]
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
def sock(kind, proto=0):
    s = socket.socket(fam, kind, proto)
    s.setsockopt(socket.SOL_SOCKET, 25, dev.encode())
    if src != "-":
        s.bind((src, 0))
    s.settimeout(0.7)
    return s
if op in ("udp", "dns"):
    s = sock(socket.SOCK_DGRAM)
    msg = b"hello" if op == "udp" else dns_query(4242, "x.test.example", 1 if fam == socket.AF_INET else 28)
    s.sendto(msg, (dst, 7000 if op == "udp" else 53))
    try:
        data = s.recv(2048)
        ok = data == msg if op == "udp" else bool(dns_ok(data, 4242))
    except OSError:
        ok = False
    print(json.dumps({"ok": ok}))
else:  # ping: count echoes every interval seconds; replies with their source address
    count, interval = int(sys.argv[6]), float(sys.argv[7])
    proto = socket.IPPROTO_ICMPV6 if fam == socket.AF_INET6 else socket.IPPROTO_ICMP
    s = sock(socket.SOCK_RAW, proto)
    s.settimeout(0.05)
    replies, end = [], time.monotonic() + count * interval + 0.5
    for seq in range(count):
        hdr = struct.pack("!BBHHH", 128 if fam == socket.AF_INET6 else 8, 0, 0, 0x5757, seq)
        if fam == socket.AF_INET:
            c = sum(struct.unpack("!4H", hdr)); c = (c >> 16) + (c & 0xFFFF); c = ~(c + (c >> 16)) & 0xFFFF
            hdr = hdr[:2] + struct.pack("!H", c) + hdr[4:]
        s.sendto(hdr, (dst, 0))
        t = time.monotonic() + interval
        while time.monotonic() < (t if seq < count - 1 else end):
            try:
                data, addr = s.recvfrom(2048)
            except OSError:
                continue
            off = (data[0] & 15) * 4 if fam == socket.AF_INET else 0
            if data[off] == (129 if fam == socket.AF_INET6 else 0) and data[off + 4:off + 6] == b"\x57\x57":
                replies.append(addr[0])
    print(json.dumps({"replies": replies}))
"""


def router_tool(bed, op, dev, src, dst, *extra):
    script = bed.write_file("router_tool.py", ROUTER_TOOL)
    r = bed.run_router([sys.executable, script, ROOT, op, dev, src, dst] + [str(x) for x in extra])
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def wait_all_ok(c, kinds=KINDS, timeout=5.0):
    """Until every kind has answered at least once (the client's first samples find cold
    neighbour caches)."""
    t = time.monotonic()
    got = c.wait_ok_after(t, kinds, timeout)
    assert all(got.values()), got


def kind(t, **match):
    """Predicate on an agent event: its type is t and it carries every key=value of match."""
    return lambda ev: ev["type"] == t and all(ev.get(k) == v for k, v in match.items())
