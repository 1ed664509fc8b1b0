"""One HTTP GET or one DNS query from inside a namespace of the bed, optionally bound to a device
(SO_BINDTODEVICE, as the agent's checks do); prints one JSON line. Run by bed.http_get() and
bed.dns_query().

usage: python -m host_tools.netbed.probe http URL DEV|- TIMEOUT_S
       python -m host_tools.netbed.probe dns SERVER NAME QTYPE DEV|- TIMEOUT_S
http -> {"status": int | null, "headers": {lower-case name: value}, "body": str (latin-1, first
         64 KB), "bytes": body length, "elapsed_s", "error": str | null}
dns  -> {"rcode": int | null, "addrs": [str], "elapsed_s", "error": str | null}
"""
import json
import socket
import struct
import sys
import time
import urllib.parse

from .lanclient import dns_query

SO_BINDTODEVICE = 25
QTYPES = {"A": 1, "AAAA": 28}


def _sock(fam, kind, dev, timeout):
    s = socket.socket(fam, kind)
    if dev:
        s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, dev.encode())
    s.settimeout(timeout)
    return s


def http(url, dev, timeout):
    u = urllib.parse.urlsplit(url)
    host, port = u.hostname, u.port or 80
    path = (u.path or "/") + ("?" + u.query if u.query else "")
    out = {"status": None, "headers": {}, "body": "", "bytes": 0, "error": None}
    t0 = time.monotonic()
    try:
        fam, _, _, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with _sock(fam, socket.SOCK_STREAM, dev, timeout) as s:
            s.connect(addr)
            hosthdr = "[%s]" % host if ":" in host else host
            s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: netbed-probe\r\nConnection: close\r\n\r\n"
                       % (path, hosthdr)).encode())
            data = b""
            while True:
                s.settimeout(max(0.01, timeout - (time.monotonic() - t0)))
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                if len(data) > (1 << 20):
                    break
    except OSError as e:
        out["error"] = "%s: %s" % (type(e).__name__, e)
        data = b""
    out["elapsed_s"] = round(time.monotonic() - t0, 3)
    head, _, body = data.partition(b"\r\n\r\n")
    if head:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split()
        if len(parts) >= 2 and parts[1].isdigit():
            out["status"] = int(parts[1])
        for line in lines[1:]:
            k, _, v = line.partition(":")
            out["headers"][k.strip().lower()] = v.strip()
        out["bytes"] = len(body)
        out["body"] = body[:65536].decode("latin-1")
    return out


def _skip_name(msg, i):
    while True:
        n = msg[i]
        if n & 0xC0:
            return i + 2
        if n == 0:
            return i + 1
        i += 1 + n


def parse_answer(msg, qid):
    """-> (rcode, [A / AAAA addresses]) of a response with that id, or None."""
    if len(msg) < 12:
        return None
    rid, flags, qd, an = struct.unpack("!HHHH", msg[:8])
    if rid != qid or not flags & 0x8000:
        return None
    i = 12
    for _ in range(qd):
        i = _skip_name(msg, i) + 4
    addrs = []
    for _ in range(an):
        i = _skip_name(msg, i)
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[i:i + 10])
        rdata = msg[i + 10:i + 10 + rdlen]
        i += 10 + rdlen
        if rtype == 1 and rdlen == 4:
            addrs.append(socket.inet_ntop(socket.AF_INET, rdata))
        elif rtype == 28 and rdlen == 16:
            addrs.append(socket.inet_ntop(socket.AF_INET6, rdata))
    return flags & 0xF, addrs


def dns(server, name, qtype, dev, timeout):
    out = {"rcode": None, "addrs": [], "error": None}
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    qid = int(time.monotonic() * 1000) & 0xFFFF
    t0 = time.monotonic()
    try:
        with _sock(fam, socket.SOCK_DGRAM, dev, timeout) as s:
            s.sendto(dns_query(qid, name, QTYPES.get(qtype, 1)), (server, 53))
            while True:
                s.settimeout(max(0.01, timeout - (time.monotonic() - t0)))
                got = parse_answer(s.recv(4096), qid)
                if got:
                    out["rcode"], out["addrs"] = got
                    break
    except OSError as e:
        out["error"] = "%s: %s" % (type(e).__name__, e)
    out["elapsed_s"] = round(time.monotonic() - t0, 3)
    return out


def main():
    op = sys.argv[1]
    if op == "http":
        url, dev, timeout = sys.argv[2:5]
        out = http(url, None if dev == "-" else dev, float(timeout))
    else:
        server, name, qtype, dev, timeout = sys.argv[2:7]
        out = dns(server, name, qtype, None if dev == "-" else dev, float(timeout))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
