"""TLS: a mosquitto TLS listener with a CA made in the test; right CA connects (CPython and
micropython/mbedTLS), a wrong CA is refused and nothing is published."""
import asyncio
import os
import shutil
import tempfile

import pytest

from tests.conftest import run_micropython
from tests.report.helpers import Peer
from tests.report.tlsutil import listener_conf, make_pki, mutual_listener_conf
from tests.support.broker import Broker, free_port
from wanwatch.clock import Clock
from wanwatch.report.mqtt.client import MQTTClient

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mpy_client.py")


@pytest.fixture(scope="module")
def tls_broker():
    d = tempfile.mkdtemp(prefix="ww-pki-")  # not under pytest's 0700 tmp: mosquitto must read it
    pki = make_pki(d)
    tls_port = free_port()
    mtls_port = free_port()
    b = Broker(extra_conf=listener_conf(tls_port, pki) + mutual_listener_conf(mtls_port, pki)).start()
    b.tls_port = tls_port
    b.mtls_port = mtls_port
    b.pki = pki
    yield b
    b.stop()
    shutil.rmtree(d, ignore_errors=True)


def _client(b, ca, cid):
    return MQTTClient("127.0.0.1", b.tls_port, cid, Clock(), connect_timeout=5,
                      ssl={"ca": ca, "server_hostname": "localhost"})


def test_tls_right_ca_connects_and_publishes(tls_broker):
    b = tls_broker

    async def main():
        c = _client(b, b.pki["ca"], "tls1")
        await c.connect()
        assert await c.publish("tls1/status", b"secure", retain=True, qos=1)
        await c.disconnect()

    asyncio.run(main())
    peer = Peer(b.port, ["tls1/status"])  # read back on the plain listener
    peer.wait(lambda: peer.payloads("tls1/status") == [b"secure"], what="retained over tls")
    peer.close()


def test_tls_wrong_ca_refused(tls_broker):
    b = tls_broker

    async def main():
        c = _client(b, b.pki["other"], "tls2")
        with pytest.raises(OSError):
            await c.connect()
        assert not c.connected

    asyncio.run(main())


def test_tls_requires_a_ca():
    with pytest.raises(ValueError, match="CA"):
        MQTTClient("127.0.0.1", 8883, "x", Clock(), ssl={"server_hostname": "h"})


def test_tls_under_micropython(tls_broker):
    b = tls_broker
    ok = run_micropython([SCRIPT, str(b.tls_port), "tlsmp", "once", b.pki["ca"]], timeout=30)
    assert "READY True True" in ok.stdout, ok.stdout + ok.stderr
    bad = run_micropython([SCRIPT, str(b.tls_port), "tlsbad", "once", b.pki["other"]], timeout=30)
    assert "CONNECT-FAILED" in bad.stdout, bad.stdout + bad.stderr
    peer = Peer(b.port, ["tlsmp/state", "tlsbad/state"])
    peer.wait(lambda: peer.payloads("tlsmp/state") == [b"online"], what="mpy tls publish")
    assert peer.payloads("tlsbad/state") == []
    peer.close()


def test_client_certificate(tls_broker):
    b = tls_broker

    async def main():
        ok = MQTTClient("127.0.0.1", b.mtls_port, "mtls1", Clock(), connect_timeout=5,
                        ssl={"ca": b.pki["ca"], "cert": b.pki["client"], "key": b.pki["client_key"],
                             "server_hostname": "localhost"})
        await ok.connect()
        assert await ok.publish("mtls1/state", b"online", retain=True, qos=1)
        await ok.disconnect()
        anon = MQTTClient("127.0.0.1", b.mtls_port, "mtls2", Clock(), connect_timeout=5,
                          ssl={"ca": b.pki["ca"], "server_hostname": "localhost"})
        with pytest.raises(OSError):
            await anon.connect()

    asyncio.run(main())
    script = ("from wanwatch.clock import Clock\n"
              "from wanwatch.compat import asyncio\n"
              "from wanwatch.report.mqtt.client import MQTTClient\n"
              "async def main():\n"
              "    c = MQTTClient('127.0.0.1', %d, 'mtls3', Clock(), connect_timeout=5,\n"
              "                   ssl={'ca': %r, 'cert': %r, 'key': %r, 'server_hostname': 'localhost'})\n"
              "    await c.connect()\n"
              "    print('PUB', await c.publish('mtls3/state', b'online', True, 1))\n"
              "    await c.disconnect()\n"
              "asyncio.run(main())\n" % (b.mtls_port, b.pki["ca"], b.pki["client"], b.pki["client_key"]))
    r = run_micropython(["-c", script], timeout=30)
    assert "PUB True" in r.stdout, r.stdout + r.stderr
