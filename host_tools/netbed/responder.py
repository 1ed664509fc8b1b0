"""User-space ICMP echo responder with impairment, run inside the bed's internet namespace.

The kernel's own echo replies are off there (icmp_echo_ignore_all=1). One raw socket per ingress
device (SO_BINDTODEVICE) reads the requests of one ISP path; replies are written with IP_HDRINCL
so their source is the probed target. The control file (JSON, re-read when it changes) sets, per
path: {"blackhole": bool, "loss": 0..1, "delay_ms": n, "jitter_ms": n} and globally "dead": [ip].

usage: python -m host_tools.netbed.responder CONTROL_FILE DEV[=PATH] ...
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


def csum(data):
    if len(data) & 1:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return (~s) & 0xFFFF


def reply_packet(req):
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


def main():
    ctl_path = sys.argv[1]
    socks = {}
    for spec in sys.argv[2:]:
        dev, _, path = spec.partition("=")
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        s.setsockopt(socket.SOL_SOCKET, 25, dev.encode() + b"\0")
        socks[s.fileno()] = (s, path or dev)
    out = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    ctl, ctl_mtime = {}, None
    queue = []  # (due, n, packet, dst)
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
            _, _, pkt, dst = heapq.heappop(queue)
            try:
                out.sendto(pkt, (dst, 0))
            except OSError:
                pass
        wait = 50
        if queue:
            wait = max(0, min(wait, int((queue[0][0] - now) * 1000) + 1))
        for fd, _ in poll.poll(wait):
            s, path = socks[fd]
            try:
                req = s.recv(2048)
            except OSError:
                continue
            ihl = (req[0] & 15) * 4
            if len(req) < ihl + 8 or req[ihl] != 8:
                continue
            target = socket.inet_ntoa(req[16:20])
            p = ctl.get(path) or {}
            if target in (ctl.get("dead") or ()) or p.get("blackhole"):
                continue
            if random.random() < float(p.get("loss", 0)):
                continue
            delay = float(p.get("delay_ms", 0)) + random.uniform(0, float(p.get("jitter_ms", 0)))
            pkt, dst = reply_packet(req)
            n += 1
            heapq.heappush(queue, (time.monotonic() + delay / 1000.0, n, pkt, dst))


if __name__ == "__main__":
    main()
