"""The internet's web server, run inside the bed's internet namespace: HTTP/1.1 (keep-alive) on
SERVER port 80, both families, serving

    GET|HEAD /check            200 text/plain, body CHECK_BODY + "\\n" (the connectivity check object)
    GET|HEAD /generate_204     204, no body (Android-style check)
    GET|HEAD /blob?bytes=N     200 application/octet-stream, N bytes streamed (bandwidth tests;
                               N <= MAX_BLOB)
    anything else              404

Every answered request is one JSON line in LOG when its answer is done: {"t": CLOCK_MONOTONIC
seconds, "client", "method", "path", "status", "bytes": body bytes sent}.

Also the shared plumbing of the bed's small HTTP daemons (carrier.py): JSON-line log, a threading
server per address of either family, the "ready" handshake.

usage: python -m host_tools.netbed.web LOG PORT ADDR ...
"""
import http.server
import json
import socket
import socketserver
import sys
import threading
import time
import urllib.parse

from .plan import CHECK_BODY, CHECK_PATH

CHUNK = 65536
MAX_BLOB = 1 << 32
_ZEROS = bytes(CHUNK)


class JsonLog:
    """One JSON object a line, written whole by any thread."""

    def __init__(self, path):
        self.f = open(path, "a", buffering=1)
        self.lock = threading.Lock()

    def write(self, **rec):
        rec["t"] = round(time.monotonic(), 6)
        line = json.dumps(rec) + "\n"
        with self.lock:
            self.f.write(line)


def read_log(path):
    """The records of a JsonLog file (none if it does not exist yet)."""
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def serve_forever(servers):
    """Each server on its own thread; tells the parent "ready" (every socket is bound by now) and
    serves until killed."""
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


def make_server(addr, port, handler, base=socketserver.ThreadingTCPServer, **attrs):
    """A threading server of `base` bound to addr:port (IPv4 or IPv6; "::" is IPv6 only); attrs
    become attributes of the server (handlers reach them as self.server.NAME). HTTPServer's own
    bind would look the host's name up (getfqdn), which in a namespace without DNS waits for
    the host's resolvers: bound here without it."""
    cls = type("Server", (base,), {"address_family": socket.AF_INET6 if ":" in addr else socket.AF_INET,
                                   "allow_reuse_address": True, "daemon_threads": True})
    s = cls((addr, port), handler, bind_and_activate=False)
    for k, v in attrs.items():
        setattr(s, k, v)
    if s.address_family == socket.AF_INET6:
        s.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    socketserver.TCPServer.server_bind(s)
    s.server_name, s.server_port = addr, port
    s.server_activate()
    return s


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "netbed-web"
    sys_version = ""

    def do_GET(self):
        self._answer(body=True)

    def do_HEAD(self):
        self._answer(body=False)

    def _answer(self, body):
        url = urllib.parse.urlsplit(self.path)
        if url.path == CHECK_PATH:
            self._send(200, (CHECK_BODY + "\n").encode(), "text/plain", body)
        elif url.path == "/generate_204":
            self._send(204, b"", None, body)
        elif url.path == "/blob":
            try:
                n = int(urllib.parse.parse_qs(url.query).get("bytes", ["0"])[0])
            except ValueError:
                n = -1
            if not 0 <= n <= MAX_BLOB:
                self._send(400, b"bytes=N, 0 <= N <= %d\n" % MAX_BLOB, "text/plain", body)
            else:
                self._blob(n, body)
        else:
            self._send(404, b"not found\n", "text/plain", body)

    def _head(self, status, length, ctype):
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        if status != 204:
            self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()

    def _send(self, status, data, ctype, body):
        self._head(status, len(data), ctype)
        sent = 0
        if body and data:
            self.wfile.write(data)
            sent = len(data)
        self._log(status, sent)

    def _blob(self, n, body):
        self._head(200, n, "application/octet-stream")
        sent = 0
        try:
            while body and sent < n:
                k = min(CHUNK, n - sent)
                self.wfile.write(_ZEROS[:k])
                sent += k
        finally:
            self._log(200, sent)

    def _log(self, status, sent):
        self.server.log.write(client=self.client_address[0], method=self.command, path=self.path,
                              status=status, bytes=sent)

    def log_message(self, *args):
        pass


def main():
    log = JsonLog(sys.argv[1])
    port = int(sys.argv[2])
    serve_forever([make_server(a, port, Handler, http.server.ThreadingHTTPServer, log=log) for a in sys.argv[3:]])


if __name__ == "__main__":
    main()
