"""DNS and HTTP health checks: the pure parts (URL, check specs, judging an HTTP answer), and the
checkers against real servers on loopback (dnsmasq on port 53, Python's HTTP server playing a
normal site, a 302 portal and a 200 portal page) under CPython and the real MicroPython, bound to
the `lo` device as they bind to a link's device on a router."""
import http.server
import json
import socketserver
import subprocess
import sys
import threading

import pytest

from tests.conftest import run_micropython
from tests.support import paths
from tests.support.dnsserver import Dnsmasq
from wanwatch.failover.checks import MSS, answer_segments, check_spec, judge_http, parse_url


def test_urls():
    assert parse_url("http://10.9.0.10/check") == ("10.9.0.10", 80, "/check")
    assert parse_url("http://[2001:db8:9::10]:8080/x?y=1") == ("2001:db8:9::10", 8080, "/x?y=1")
    assert parse_url("http://connectivity.example") == ("connectivity.example", 80, "/")
    for bad in ("https://10.9.0.10/", "http://", "http://[10.0.0.1]/", "http://a b/", "http://h:99999/",
                "http://h/a b", "ftp://h/", None, "http://h;reboot/"):
        assert parse_url(bad) is None, bad


def test_check_specs_fill_defaults_and_refuse_nonsense():
    spec, err = check_spec({"type": "dns", "name": "check.test.example", "resolver": "10.9.0.53",
                            "expect": "2001:db8:9::10"}, "links[0].checks[0]")
    assert err is None and spec["qtype"] == "AAAA" and spec["interval_s"] == 10 and spec["timeout_s"] == 2.0
    spec, err = check_spec({"type": "http", "url": "http://10.9.0.10/check", "contains": "ok"}, "c")
    assert err is None and spec["status"] == 200 and spec["standby_interval_s"] == 3600
    for raw, key in (({"type": "ping"}, "c.type"), ({"type": "dns", "name": "x", "resolver": "dns.example"}, "c.resolver"),
                     ({"type": "dns", "name": "a..b", "resolver": "1.1.1.1"}, "c.name"),
                     ({"type": "http", "url": "https://x/"}, "c.url"),
                     ({"type": "http", "url": "http://x/", "status": 999}, "c.status"),
                     ({"type": "http", "url": "http://x/", "interval_s": 0}, "c.interval_s"),
                     ({"type": "http", "url": "http://x/", "expect": "1.1.1.1"}, "c.expect")):
        spec, err = check_spec(raw, "c")
        assert spec is None and err[0] == key, (raw, err)


def test_judging_http_answers():
    ok = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nwanwatch-ok\n"
    assert judge_http(ok, 200, "wanwatch-ok") == (True, None)
    assert judge_http(ok, 200, None) == (True, None)
    portal = b"HTTP/1.1 302 Found\r\nLocation: http://topup.carrier.example/\r\n\r\n"
    good, why = judge_http(portal, 200, "wanwatch-ok")
    assert not good and why == "redirected (302) to http://topup.carrier.example/"
    page = b"HTTP/1.1 200 OK\r\n\r\n<html>Your allowance is used up. Top up now!</html>"
    good, why = judge_http(page, 200, "wanwatch-ok")
    assert not good and "without 'wanwatch-ok'" in why
    assert judge_http(b"HTTP/1.1 503 Busy\r\n\r\n", 200, None) == (False, None)  # failed, not captive
    assert judge_http(b"garbage", 200, None) == (False, None)
    assert judge_http(b"HTTP/1.1 204 No Content\r\n\r\n", 204, None) == (True, None)


def test_answer_segments_count_the_head_and_the_body_apart():
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n"
    assert answer_segments(b"", 0) == 0
    assert answer_segments(head, 1) == 1  # a 204 or a redirect without a body
    assert answer_segments(head + b"wanwatch-ok\n", 1) == 2  # one read got both segments
    assert answer_segments(head + b"x" * (MSS + 1), 1) == 3  # the body cut at MSS
    assert answer_segments(head + b"wanwatch-ok\n", 4) == 4  # never fewer than the reads
    assert answer_segments(b"HTTP/1.1 200 OK\r\nX: y", 1) == 1  # headers cut short


class Site(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/portal302":
            self.send_response(302)
            self.send_header("Location", "http://topup.example/")
            self.end_headers()
            return
        body = b"please top up" if self.path == "/portal200" else b"wanwatch-ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


DRIVER = r"""
import sys
from wanwatch.clock import Clock
from wanwatch.compat import asyncio, dumps, loads
from wanwatch.failover.checks import DnsCheck, HttpCheck, check_spec
with open(sys.argv[1]) as f:
    specs = loads(f.read())
async def main():
    c = Clock()
    dns, web = DnsCheck("lo", c), HttpCheck("lo", c)
    out = {}
    for name, raw in specs:
        spec, err = check_spec(raw, name)
        chk = dns if raw["type"] == "dns" else web
        r = await chk.round([spec], 3)
        out[name] = [r[0] is not None, getattr(chk, "captive", [None])[0] if raw["type"] == "http" else None]
    out["bytes"] = [dns.sent_bytes, dns.recv_bytes, web.sent_bytes, web.recv_bytes]
    print(dumps(out))
asyncio.run(main())
"""


@pytest.fixture(scope="module")
def servers():
    ns = Dnsmasq((("check.test.example", "10.9.0.10", "2001:db8:9::10"),), ttl=0, host="127.0.0.53", port=53).start()
    web = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    yield ns, web.server_address[1]
    web.shutdown()
    ns.stop()


@pytest.mark.parametrize("runtime", ["micropython", "cpython"])
def test_checkers_against_real_servers(servers, runtime, tmp_path):
    ns, port = servers
    base = "http://127.0.0.1:%d" % port
    specs = [("dns_ok", {"type": "dns", "name": "check.test.example", "resolver": "127.0.0.53", "expect": "10.9.0.10"}),
             ("dns_wrong", {"type": "dns", "name": "check.test.example", "resolver": "127.0.0.53", "expect": "10.9.0.99"}),
             ("dns_nx", {"type": "dns", "name": "nope.test", "resolver": "127.0.0.53"}),
             ("dns_dead", {"type": "dns", "name": "check.test.example", "resolver": "127.0.0.54", "timeout_s": 0.5}),
             ("http_ok", {"type": "http", "url": base + "/check", "contains": "wanwatch-ok"}),
             ("http_302", {"type": "http", "url": base + "/portal302", "contains": "wanwatch-ok"}),
             ("http_200", {"type": "http", "url": base + "/portal200", "contains": "wanwatch-ok"}),
             ("http_refused", {"type": "http", "url": "http://127.0.0.1:1/check", "timeout_s": 1})]
    script = tmp_path / "drv.py"
    script.write_text(DRIVER)
    arg = str(tmp_path / "specs.json")  # a file: the venv's micropython aborts on an argument over 256 bytes
    (tmp_path / "specs.json").write_text(json.dumps(specs))
    if runtime == "micropython":
        r = run_micropython([str(script), arg], timeout=60)
    else:
        r = subprocess.run([sys.executable, str(script), arg], capture_output=True, text=True, timeout=60,
                           env={"PYTHONPATH": paths.FIRMWARE})
    assert r.returncode == 0, r.stderr + r.stdout
    out = json.loads(r.stdout)
    assert out["dns_ok"] == [True, None] and out["dns_wrong"][0] is False and out["dns_nx"][0] is False
    assert out["dns_dead"][0] is False
    assert out["http_ok"] == [True, None]
    assert out["http_302"] == [False, "redirected (302) to http://topup.example/"]
    assert out["http_200"][0] is False and "without 'wanwatch-ok'" in out["http_200"][1]
    assert out["http_refused"] == [False, None]
    assert all(b > 0 for b in out["bytes"])
