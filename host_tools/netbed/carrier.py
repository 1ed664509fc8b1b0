"""The carrier's own boxes, run inside an ISP namespace: what that ISP's nftables rules redirect its
customer's traffic to (topology.py: bed.http_mode, bed.dns_mode). The customer's packets are
redirected (nft `redirect`) in the ISP's prerouting, so these servers see the customer's own
address and the original destination (SO_ORIGINAL_DST), as a carrier's transparent proxy does. They listen on the ISP's gateway
addresses (GW, GW6), where the rules send that traffic (DNAT).

Portal (TCP PORTAL_PORT, both families), by the control file's "http" mode:
    portal302   302 Found, Location: the ISP's portal URL ?url=<the URL asked for>
    portal200   200 with the portal page (HTML, without CHECK_BODY)
    slow        waits "delay_s" after the request's head arrived, then relays the connection to
                its original destination (the real answer, late)
    (normal)    a connection redirected before the mode went back to normal: relayed at once
  A request for /portal... (the portal itself) is always answered with the portal page. Every
  portal answer closes the connection.

Broken resolver (UDP and TCP DNS_FAULT_PORT, both families), by the control file's "dns" mode:
    servfail    SERVFAIL to every query
    wrong       every A / AAAA query answered with the ISP's gateway (its portal), TTL 0
    (else)      the right answer (*.test.example -> SERVER / SERVER6, otherwise NXDOMAIN)

The control file (JSON {"http": MODE, "delay_s": S, "dns": MODE}) is read at each request.
Log: one JSON line per request {"t", "kind": "http" | "dns", "client", "mode", ...}.

usage: python -m host_tools.netbed.carrier CONTROL_FILE LOG GW GW6 PORTAL_URL PORTAL_URL6
"""
import json
import select
import socket
import socketserver
import struct
import sys
import threading
import time
import urllib.parse

from .plan import DNS_FAULT_PORT, PORTAL_PORT, SERVER, SERVER6, TEST_DOMAIN
from .web import JsonLog, make_server, serve_forever

SO_ORIGINAL_DST = 80       # SOL_IP; IP6T_SO_ORIGINAL_DST (SOL_IPV6) has the same number
MAX_HEAD = 16384
PORTAL_PAGE = b"""<!DOCTYPE html>
<html><head><title>Top up</title></head>
<body><h1>Your data allowance is used up</h1>
<p>Buy more credit to continue browsing.</p></body></html>
"""


def read_ctl(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def original_dst(sock):
    """(address, port) the customer connected to before the redirect."""
    if sock.family == socket.AF_INET:
        raw = sock.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
        return socket.inet_ntop(socket.AF_INET, raw[4:8]), struct.unpack("!H", raw[2:4])[0]
    raw = sock.getsockopt(socket.IPPROTO_IPV6, SO_ORIGINAL_DST, 28)
    return socket.inet_ntop(socket.AF_INET6, raw[8:24]), struct.unpack("!H", raw[2:4])[0]


def relay(a, b, idle_s=30.0):
    """Copies both ways until both sides closed (or nothing moved for idle_s)."""
    open_ = {a: b, b: a}
    while open_:
        ready, _, _ = select.select(list(open_), [], [], idle_s)
        if not ready:
            return
        for s in ready:
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            peer = open_[s]
            if data:
                try:
                    peer.sendall(data)
                    continue
                except OSError:
                    pass
            del open_[s]
            try:
                peer.shutdown(socket.SHUT_WR)
            except OSError:
                pass


class Portal(socketserver.BaseRequestHandler):
    def handle(self):
        c = self.request
        c.settimeout(10)
        head = b""
        try:
            while b"\r\n\r\n" not in head and len(head) < MAX_HEAD:
                chunk = c.recv(4096)
                if not chunk:
                    return
                head += chunk
        except OSError:
            return
        lines = head.split(b"\r\n")
        parts = lines[0].decode("latin-1").split()
        method, target = (parts + ["", ""])[:2]
        host = next((l.split(b":", 1)[1].strip().decode("latin-1") for l in lines[1:]
                     if l.lower().startswith(b"host:")), "")
        ctl = read_ctl(self.server.ctl)
        mode = ctl.get("http") or "normal"
        dst = original_dst(c)
        self.server.log.write(kind="http", client=self.client_address[0], mode=mode, method=method, path=target,
                              host=host, dst=("[%s]:%d" if ":" in dst[0] else "%s:%d") % dst)
        path = urllib.parse.urlsplit(target).path
        if path.startswith("/portal") or mode == "portal200":
            self._answer(c, b"200 OK", PORTAL_PAGE, b"Content-Type: text/html\r\n")
        elif mode == "portal302":
            url = "http://%s%s" % (host or dst[0], target)
            portal = self.server.portal6 if c.family == socket.AF_INET6 else self.server.portal
            loc = "%s?url=%s" % (portal, urllib.parse.quote(url, safe=""))
            self._answer(c, b"302 Found", b"", b"Location: " + loc.encode() + b"\r\n")
        else:
            if mode == "slow":
                time.sleep(float(ctl.get("delay_s", 5.0)))
            try:
                up = socket.create_connection(dst, timeout=10)
            except OSError:
                return
            with up:
                up.sendall(head)
                relay(c, up)

    @staticmethod
    def _answer(c, status, body, headers):
        c.sendall(b"HTTP/1.1 " + status + b"\r\n" + headers + b"Content-Length: %d\r\n" % len(body)
                  + b"Cache-Control: no-store\r\nConnection: close\r\n\r\n" + body)


# --- DNS -----------------------------------------------------------------------------------------
def parse_question(msg):
    """-> (id, flags, name, qtype, end of the question) of a query, or None."""
    if len(msg) < 12 or struct.unpack("!H", msg[4:6])[0] != 1:
        return None
    qid, flags = struct.unpack("!HH", msg[:4])
    i, labels = 12, []
    while i < len(msg) and msg[i]:
        n = msg[i]
        if n & 0xC0 or i + 1 + n > len(msg):
            return None
        labels.append(msg[i + 1:i + 1 + n].decode("latin-1"))
        i += 1 + n
    if i + 5 > len(msg):
        return None
    qtype = struct.unpack("!H", msg[i + 1:i + 3])[0]
    return qid, flags, ".".join(labels).lower(), qtype, i + 5


def dns_answer(msg, mode, wrong4, wrong6):
    """The broken (or right) answer to one query, or None for a message that is no query."""
    q = parse_question(msg)
    if q is None:
        return None
    qid, flags, name, qtype, end = q
    question = msg[12:end]
    base = 0x8000 | 0x0080 | (flags & 0x0100)  # response, recursion available, RD copied
    if mode == "servfail":
        return struct.pack("!HHHHHH", qid, base | 2, 1, 0, 0, 0) + question
    if mode == "wrong":
        addr = {1: wrong4, 28: wrong6}.get(qtype)
        rcode = 0
    else:
        ours = name == TEST_DOMAIN or name.endswith("." + TEST_DOMAIN)
        addr = {1: SERVER, 28: SERVER6}.get(qtype) if ours else None
        rcode = 0 if ours else 3
    if addr is None:
        return struct.pack("!HHHHHH", qid, base | rcode, 1, 0, 0, 0) + question
    fam = socket.AF_INET6 if qtype == 28 else socket.AF_INET
    rdata = socket.inet_pton(fam, addr)
    rr = struct.pack("!HHHIH", 0xC00C, qtype, 1, 0, len(rdata)) + rdata
    return struct.pack("!HHHHHH", qid, base | 0x0400, 1, 1, 0, 0) + question + rr  # authoritative


class Dns:
    def __init__(self, ctl, log, wrong4, wrong6):
        self.ctl, self.log, self.wrong = ctl, log, (wrong4, wrong6)

    def answer(self, msg, client, proto):
        mode = read_ctl(self.ctl).get("dns") or "ok"
        q = parse_question(msg)
        self.log.write(kind="dns", client=client, mode=mode, proto=proto, name=q[2] if q else None,
                       qtype=q[3] if q else None)
        return dns_answer(msg, mode, *self.wrong)

    def udp(self, sock):
        while True:
            try:
                msg, peer = sock.recvfrom(4096)
                out = self.answer(msg, peer[0], "udp")
                if out:
                    sock.sendto(out, peer)
            except OSError:
                pass


class DnsTcp(socketserver.BaseRequestHandler):
    def handle(self):
        c = self.request
        c.settimeout(10)
        try:
            while True:
                n = struct.unpack("!H", self._read(c, 2))[0]
                out = self.server.dns.answer(self._read(c, n), self.client_address[0], "tcp")
                if not out:
                    return
                c.sendall(struct.pack("!H", len(out)) + out)
        except (OSError, EOFError, struct.error):
            return

    @staticmethod
    def _read(c, n):
        data = b""
        while len(data) < n:
            chunk = c.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data


def main():
    ctl, log_path, gw, gw6, portal, portal6 = sys.argv[1:7]
    log = JsonLog(log_path)
    dns = Dns(ctl, log, gw, gw6)
    servers = []
    for addr in (gw, gw6):  # the ISP redirects (DNAT) to its gateway's addresses: replies leave from them
        servers.append(make_server(addr, PORTAL_PORT, Portal, ctl=ctl, log=log, portal=portal, portal6=portal6))
        servers.append(make_server(addr, DNS_FAULT_PORT, DnsTcp, dns=dns))
        u = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((addr, DNS_FAULT_PORT))
        threading.Thread(target=dns.udp, args=(u,), daemon=True).start()
    serve_forever(servers)


if __name__ == "__main__":
    main()
