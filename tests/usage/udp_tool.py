"""UDP traffic for the accuracy test (CPython, run inside a network namespace).
  recv BIND_IP PORT COUNT : print {"n","payload"} after COUNT datagrams or 3 s of silence
  send DST_IP PORT COUNT SIZE : send COUNT datagrams of SIZE bytes, paced"""
import json
import socket
import sys
import time

if sys.argv[1] == "recv":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((sys.argv[2], int(sys.argv[3])))
    want = int(sys.argv[4])
    print("ready", flush=True)
    s.settimeout(3)
    n = b = 0
    try:
        while n < want:
            d = s.recv(65535)
            n += 1
            b += len(d)
    except socket.timeout:
        pass
    print(json.dumps({"n": n, "payload": b}), flush=True)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dst = (sys.argv[2], int(sys.argv[3]))
    count, size = int(sys.argv[4]), int(sys.argv[5])
    data = b"x" * size
    for i in range(count):
        s.sendto(data, dst)
        if i % 20 == 19:
            time.sleep(0.001)  # paced so no socket buffer overflows: every datagram is delivered
