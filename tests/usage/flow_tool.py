"""Paced UDP traffic and counter reads for the power-cut bed (CPython, run inside a namespace).
  flow_tool.py BIND_PORT DST_IP DST_PORT RATE_BPS SIZE DEV
Sends SIZE-byte datagrams to DST at RATE_BPS payload bytes/s (token bucket, 10 ms burst at most,
so a stall never turns into a burst), discards what arrives on BIND_PORT, and survives the device
vanishing (sends fail until it is back). Commands on stdin, one per line:
  stats   -> "<rx_bytes> <tx_bytes> <ifindex>" of DEV from /sys/class/net (or "none")
  pause / resume / quit"""
import os
import select
import socket
import sys
import time


def stats(dev):
    base = "/sys/class/net/%s/" % dev
    try:
        vals = []
        for name in ("statistics/rx_bytes", "statistics/tx_bytes", "ifindex"):
            with open(base + name) as f:
                vals.append(f.read().strip())
        return " ".join(vals)
    except OSError:
        return "none"


def main():
    port, dst, dport, rate, size, dev = (int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4]),
                                          int(sys.argv[5]), sys.argv[6])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(("0.0.0.0", port))
    s.setblocking(False)
    data = b"x" * size
    burst = max(size, rate * 0.01)
    tokens = 0.0
    paused = True
    last = time.monotonic()
    stdin = sys.stdin.fileno()
    print("ready", flush=True)
    buf = b""
    while True:
        r, _, _ = select.select([stdin, s], [], [], 0.002)
        if stdin in r:
            chunk = os.read(stdin, 256)
            if not chunk:
                return
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                cmd = line.decode().strip()
                if cmd == "stats":
                    print(stats(dev), flush=True)
                elif cmd == "pause":
                    paused = True
                    print("ok", flush=True)
                elif cmd == "resume":
                    paused = False
                    tokens = 0.0
                    last = time.monotonic()
                    print("ok", flush=True)
                elif cmd == "quit":
                    return
        if s in r:
            try:
                while True:
                    s.recv(65535)
            except OSError:
                pass
        now = time.monotonic()
        tokens = min(burst, tokens + rate * (now - last))
        last = now
        while not paused and tokens >= size:
            tokens -= size
            try:
                s.sendto(data, (dst, dport))
            except OSError:  # the device is being re-created: no route for now
                tokens = 0.0
                break


main()
