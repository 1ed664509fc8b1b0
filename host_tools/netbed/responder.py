"""User-space ICMP and ICMPv6 echo responder with impairment, run inside the bed's internet namespace.

The kernel's own echo replies are off there (net.ipv4.icmp_echo_ignore_all=1,
net.ipv6.icmp.echo_ignore_all=1). One raw socket per family and ingress device (SO_BINDTODEVICE)
reads the requests of one ISP path. Replies carry the pinged target as their source, so that NAT on
the router can match them: IPv4 through an IPPROTO_RAW socket with a full header, IPv6 with
sendmsg + IPV6_PKTINFO (the kernel fills in the ICMPv6 checksum).

The control file (JSON, re-read when it changes) sets, per path:
{"blackhole": bool, "loss": 0..1, "delay_ms": n, "jitter_ms": n} and globally "dead": [addr, ...]
(IPv4 or IPv6 targets); the same impairment applies to both families of a path.

Request log: every echo request that arrives (before any impairment is applied) is appended to
REQUEST_LOG as "<CLOCK_MONOTONIC seconds> <path> <target>", except the LAN client's pings (payload
starting with LAN_MARKER): the log is for the agent's own probes.

usage: python -m host_tools.netbed.responder CONTROL_FILE REQUEST_LOG DEV[=PATH] ...
"""
import heapq
import json
import os
import random
import select
import socket
import struct
import sys
import time

LAN_MARKER = b"WWLAN"  # payload prefix of the LAN client's pings (lanclient.py)
SO_BINDTODEVICE = 25
IPV6_RECVPKTINFO = getattr(socket, "IPV6_RECVPKTINFO", 49)
IPV6_PKTINFO = getattr(socket, "IPV6_PKTINFO", 50)


def csum(data):
    if len(data) & 1:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return (~s) & 0xFFFF


def reply_packet(req):
    """IPv4 echo request (with IP header) -> (echo reply with IP header, destination)."""
    ihl = (req[0] & 15) * 4
    src, dst = req[12:16], req[16:20]
    icmp = bytearray(req[ihl:])
    icmp[0] = 0
    icmp[2:4] = b"\0\0"
    icmp[2:4] = struct.pack("!H", csum(bytes(icmp)))
    total = 20 + len(icmp)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, random.getrandbits(16), 0, 64, 1, 0, dst, src)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + bytes(icmp), socket.inet_ntoa(src)


def read4(s, out):
    """-> (target, is_lan, send) for an IPv4 echo request, or None."""
    req = s.recv(2048)
    ihl = (req[0] & 15) * 4
    if len(req) < ihl + 8 or req[ihl] != 8:
        return None
    target = socket.inet_ntoa(req[16:20])
    pkt, dst = reply_packet(req)
    return target, req[ihl + 8:].startswith(LAN_MARKER), (out, pkt, [], (dst, 0))


def read6(s):
    """-> (target, is_lan, send) for an ICMPv6 echo request, or None. The raw socket gives the
    ICMPv6 message without the IPv6 header; the pinged address comes from IPV6_PKTINFO."""
    data, anc, _, addr = s.recvmsg(2048, socket.CMSG_SPACE(20))
    if len(data) < 8 or data[0] != 128:
        return None
    dst = None
    for level, kind, val in anc:
        if level == socket.IPPROTO_IPV6 and kind == IPV6_PKTINFO:
            dst = val[:16]
    if dst is None:
        return None
    reply = bytearray(data)
    reply[0] = 129
    reply[2:4] = b"\0\0"  # the kernel computes the checksum of raw ICMPv6 sockets
    info = struct.pack("16sI", dst, 0)
    send = (s, bytes(reply), [(socket.IPPROTO_IPV6, IPV6_PKTINFO, info)], (addr[0], 0))
    return socket.inet_ntop(socket.AF_INET6, dst), data[8:].startswith(LAN_MARKER), send


def main():
    ctl_path, log_path = sys.argv[1], sys.argv[2]
    socks = {}
    for spec in sys.argv[3:]:
        dev, _, path = spec.partition("=")
        s4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        s6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        s6.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
        for s, fam in ((s4, 4), (s6, 6)):
            s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, dev.encode() + b"\0")
            socks[s.fileno()] = (s, fam, path or dev)
    out = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    reqlog = open(log_path, "a", buffering=1)
    ctl, ctl_mtime = {}, None
    queue = []  # (due, n, (sock, data, ancillary, address))
    n = 0
    poll = select.poll()
    for fd in socks:
        poll.register(fd, select.POLLIN)
    print("ready", flush=True)
    while True:
        try:
            m = os.stat(ctl_path).st_mtime_ns
            if m != ctl_mtime:
                with open(ctl_path) as f:
                    ctl = json.load(f)
                ctl_mtime = m
        except (OSError, ValueError):
            pass
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, (sock, data, anc, addr) = heapq.heappop(queue)
            try:
                sock.sendmsg([data], anc, 0, addr)
            except OSError:
                pass
        wait = 50
        if queue:
            wait = max(0, min(wait, int((queue[0][0] - now) * 1000) + 1))
        for fd, _ in poll.poll(wait):
            s, fam, path = socks[fd]
            try:
                got = read4(s, out) if fam == 4 else read6(s)
            except OSError:
                continue
            if got is None:
                continue
            target, is_lan, send = got
            if not is_lan:
                reqlog.write("%.6f %s %s\n" % (time.monotonic(), path, target))
            p = ctl.get(path) or {}
            if target in (ctl.get("dead") or ()) or p.get("blackhole"):
                continue
            if random.random() < float(p.get("loss", 0)):
                continue
            delay = float(p.get("delay_ms", 0)) + random.uniform(0, float(p.get("jitter_ms", 0)))
            n += 1
            heapq.heappush(queue, (time.monotonic() + delay / 1000.0, n, send))


if __name__ == "__main__":
    main()
