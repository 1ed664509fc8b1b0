"""The MQTT client with the broker given by host name: resolved by a real dnsmasq to 127.0.0.1
where a real mosquitto runs, never through getaddrinfo; when the resolver goes silent, the client
reconnects to the last good address and the event loop never stalls. End to end under the real
micropython (config file -> Reporter -> MQTTClient -> Resolver on port 53); the client alone
under CPython."""
import asyncio
import json
import os
import random
import socket
import subprocess
import time

import pytest

from tests.report.helpers import Peer
from tests.support import paths
from tests.support.dnsserver import Dnsmasq, SilentDNS
from wanwatch import config
from wanwatch.clock import Clock
from wanwatch.dns import Resolver
from wanwatch.report.mqtt.client import MQTTClient
from wanwatch.names import is_ip
from wanwatch.report.reporter import Reporter

HERE = os.path.dirname(os.path.abspath(__file__))
DRIVER = os.path.join(HERE, "mpy_dns_reporter.py")


def test_client_resolves_through_the_resolver_and_keeps_the_last_good_address(broker, monkeypatch):
    seen = []
    real = socket.getaddrinfo

    def spy(host, *a, **kw):
        seen.append(host)
        return real(host, *a, **kw)
    monkeypatch.setattr(socket, "getaddrinfo", spy)
    dnsm = Dnsmasq((("broker.test", "127.0.0.1", None),), ttl=1).start()
    silent = SilentDNS().start()
    try:
        async def main():
            r = Resolver(Clock(), ["127.0.0.1"], port=dnsm.port, timeout=1, min_ttl=1, max_ttl=1, hosts=None)
            c = MQTTClient("broker.test", broker.port, "dns1", Clock(), keepalive=20, connect_timeout=3,
                           resolver=r)
            assert await c.connect() and c.address == "127.0.0.1"
            assert await c.publish("dns1/status", b"one", retain=True, qos=1)
            await c.disconnect()
            await asyncio.sleep(1.1)  # the answer runs out
            r.port = silent.port  # and the resolver goes silent
            c = MQTTClient("broker.test", broker.port, "dns1", Clock(), keepalive=20, connect_timeout=3,
                           resolver=r)
            t0 = time.monotonic()
            assert await c.connect() and c.address == "127.0.0.1"
            assert 0.9 < time.monotonic() - t0 < 2.5  # waited for the resolver's timeout, then went on
            assert await c.publish("dns1/status", b"two", retain=True, qos=1)
            await c.disconnect()
            return r

        r = asyncio.run(asyncio.wait_for(main(), 30))
        assert r.stale == 1 and silent.received_wait(2) == 2 and len(dnsm.queries("broker.test")) == 1
        assert seen and all(is_ip(h) for h in seen), seen  # getaddrinfo only ever saw literals
    finally:
        dnsm.stop()
        silent.stop()
    peer = Peer(broker.port, ["dns1/status"])
    peer.wait(lambda: peer.payloads("dns1/status"), what="retained status")
    assert peer.payloads("dns1/status") == [b"two"]
    peer.close()


def test_unresolvable_broker_is_a_bounded_connect_failure():
    dnsm = Dnsmasq((("broker.test", "127.0.0.1", None),)).start()
    try:
        async def main():
            r = Resolver(Clock(), ["127.0.0.1"], port=dnsm.port, hosts=None)
            c = MQTTClient("nope.test", 1883, "dns2", Clock(), connect_timeout=3, resolver=r)
            with pytest.raises(OSError, match="cannot resolve nope.test: no such name"):
                await c.connect()
        asyncio.run(asyncio.wait_for(main(), 10))
    finally:
        dnsm.stop()


def test_reporter_builds_the_resolver_from_config(tmp_path):
    base = {"device_id": "r1", "modem": {"port": "/dev/null"}, "state_dir": str(tmp_path),
            "links": [{"name": "wan", "device": "eth0", "role": "primary"}]}
    from wanwatch.events import EventBus
    clock = Clock()

    def rep(mqtt):
        cfg = config.validate(dict(base, mqtt=mqtt))
        return Reporter(cfg, clock, EventBus(clock), dict, dict)
    r = rep({"host": "mqtt.example.net", "resolver": "192.0.2.53", "connect_timeout_s": 3})
    assert r.resolver.servers == ["192.0.2.53"] and r.resolver.timeout == 3 and r.client.resolver is r.resolver
    r = rep({"host": "mqtt.example.net"})
    assert r.resolver.servers is None and r.resolver.timeout == 5  # /etc/resolv.conf
    r = rep({"host": "2001:db8::1", "resolver": "192.0.2.53"})
    assert r.resolver is None and r.client.resolver is None  # an IP literal is never resolved


class Lines:
    """Every output line of a process (stdout, and the log lines on stderr merged into it),
    collected by a thread; wait(prefix) returns the first line with that prefix (the whole output
    stays available for later checks)."""

    def __init__(self, proc):
        import threading
        self.proc = proc
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait(self, prefix, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if line.startswith(prefix):
                    return line
            if self.proc.poll() is not None and not any(l.startswith(prefix) for l in self.lines):
                time.sleep(0.2)
                break
            time.sleep(0.02)
        raise AssertionError("no %r from micropython: %s" % (prefix, self.lines))


def _loopback_53():
    """A random 127.x.y.z whose UDP port 53 is free (dnsmasq will listen there)."""
    for _ in range(20):
        host = "127.%d.%d.%d" % (random.randint(1, 254), random.randint(0, 255), random.randint(1, 254))
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind((host, 53))
            return host
        except OSError:
            continue
        finally:
            s.close()
    raise AssertionError("no free loopback address with port 53")


def test_micropython_agent_mqtt_by_host_name_survives_a_silent_resolver(broker, tmp_path):
    if os.geteuid() != 0:
        raise AssertionError("this test runs a resolver on port 53 (mqtt.resolver has no port): run it as root")
    host = _loopback_53()
    conf = tmp_path / "wanwatch.json"
    conf.write_text(json.dumps({
        "device_id": "dnsdev", "modem": {"port": "/dev/null"},
        "links": [{"name": "wan", "device": "eth0", "role": "primary"}],
        "mqtt": {"host": "broker.test", "port": broker.port, "resolver": host, "keepalive_s": 20,
                 "connect_timeout_s": 3, "response_time_s": 3}}))
    dnsm = Dnsmasq((("broker.test", "127.0.0.1", None),), ttl=1, host=host, port=53).start()
    silent = None
    peer = Peer(broker.port, ["wanwatch/dnsdev/state", "wanwatch/dnsdev/status"])
    env = dict(os.environ, MICROPYPATH=paths.FIRMWARE + ":.frozen")
    proc = subprocess.Popen([paths.micropython(), DRIVER, str(conf), str(tmp_path / "state")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = Lines(proc)
    try:
        assert out.wait("UP 1", 20).split() == ["UP", "1", "127.0.0.1"]
        peer.wait(lambda: peer.payloads("wanwatch/dnsdev/state") == [b"online"], what="online")
        peer.wait(lambda: peer.payloads("wanwatch/dnsdev/status"), what="status")
        assert len(dnsm.queries("broker.test")) == 1
        dnsm.stop()  # the resolver goes silent: it reads the queries and drops them
        silent = SilentDNS(host, 53).start()
        time.sleep(1.2)  # the answer (1 s) runs out
        t0 = time.monotonic()
        broker.restart()  # the connection drops; the client reconnects by host name
        up2 = out.wait("UP 2", 30)
        took = time.monotonic() - t0
        assert up2.split() == ["UP", "2", "127.0.0.1"]  # the last good address
        print("reconnected by host name with a silent resolver after %.1f s" % took)
        assert 2.5 < took < 10, took  # backoff (0.5-1 s) + the resolver's 3 s timeout, then connected
        peer.wait(lambda: peer.payloads("wanwatch/dnsdev/state")[-1:] == [b"online"], what="online again")
        maxgap = int(out.wait("MAXGAP", 20).split()[1])
        assert proc.wait(10) == 0, "\n".join(out.lines)
        said = "broker.test: server %s: no answer within 1.5 s; using the last good address 127.0.0.1" % host
        assert any(said in l for l in out.lines), "\n".join(out.lines)
        assert "LOOKUPS 3 1" in out.lines  # 1 answered + 2 unanswered queries; 1 served stale
        print("max loop gap with a silent resolver (micropython, 20 ms ticker): %d ms" % maxgap)
        assert maxgap < 100
        assert silent.received_wait(1) >= 1  # the reconnect did ask the (silent) resolver
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        dnsm.stop()
        if silent is not None:
            silent.stop()
        peer.close()
