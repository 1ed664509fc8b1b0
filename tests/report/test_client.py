"""MQTTClient against real mosquitto (CPython) and a scriptable fake broker for failure modes."""
import asyncio
import time

import pytest

from tests.report.helpers import FakeBroker, Peer
from wanwatch.clock import Clock
from wanwatch.report.mqtt import codec
from wanwatch.report.mqtt.client import MQTTClient


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def until(pred, timeout=10, what="condition"):
    t0 = time.monotonic()
    while not pred():
        if time.monotonic() - t0 > timeout:
            raise AssertionError("timed out waiting for " + what)
        await asyncio.sleep(0.02)


def test_connect_will_publish_subscribe_with_mosquitto(broker):
    peer = Peer(broker.port, ["dev1/#"])
    got = []

    async def main():
        c = MQTTClient("127.0.0.1", broker.port, "dev1", Clock(), keepalive=30,
                       will=("dev1/state", b"offline", True, 1))
        c.on_message = lambda t, p: got.append((t, p))
        ups = []
        c.on_up = lambda: ups.append(1)
        assert await c.connect() is True and c.connected and ups == [1]
        assert await c.subscribe("dev1/cmd", 1) is True
        assert await c.publish("dev1/state", b"online", retain=True, qos=1) is True
        assert await c.publish("dev1/status", b'{"v":1}', retain=True, qos=0) is True
        await asyncio.get_running_loop().run_in_executor(None, peer.publish, "dev1/cmd", b"ping", 1)
        await until(lambda: got, what="command delivered")
        assert got == [("dev1/cmd", b"ping")]
        assert c.bytes_sent > 0 and c.bytes_received > 0
        await c.disconnect()
        assert not c.connected

    run(main())
    peer.wait(lambda: peer.payloads("dev1/status"), what="status")
    peer.close()
    # a fresh subscriber sees both retained messages; graceful DISCONNECT suppressed the will
    late = Peer(broker.port, ["dev1/state", "dev1/status"], client_id="late")
    late.wait(lambda: late.payloads("dev1/state") and late.payloads("dev1/status"), what="retained")
    assert late.payloads("dev1/state") == [b"online"] and late.payloads("dev1/status") == [b'{"v":1}']
    late.close()


def test_reconnects_and_resubscribes_after_broker_restart(broker):
    got = []
    downs = []

    async def main():
        c = MQTTClient("127.0.0.1", broker.port, "dev2", Clock(), keepalive=10, response_time=2)
        c.on_message = lambda t, p: got.append(p)
        c.on_down = downs.append
        await c.subscribe("dev2/cmd", 1)  # remembered before the first connect
        sup = asyncio.create_task(c.run())
        await until(lambda: c.connected, what="first connect")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, broker.stop)
        await until(lambda: not c.connected, what="link down")
        assert await c.publish("dev2/x", b"1", qos=1) is False  # no broker: refused at once
        await loop.run_in_executor(None, broker.start)
        await until(lambda: c.connected and c.connects == 2, 20, "reconnect")
        peer = await loop.run_in_executor(None, Peer, broker.port, [], "p2")
        await loop.run_in_executor(None, peer.publish, "dev2/cmd", b"after-restart", 1)
        await until(lambda: got, what="message after re-subscribe")
        peer.close()
        sup.cancel()
        await c.disconnect()

    run(main())
    assert got == [b"after-restart"] and "closed by broker" in downs[0]


def test_silent_server_bounded_connect_and_loop_keeps_running():
    ticks = []

    async def main():
        fb = await FakeBroker(connack_rc=None).start()  # accepts TCP, never answers
        c = MQTTClient("127.0.0.1", fb.port, "dev3", Clock(), connect_timeout=1)

        async def ticker():
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.05)

        t = asyncio.create_task(ticker())
        with pytest.raises(OSError, match="CONNACK"):
            await c.connect()
        t.cancel()
        await fb.stop()
        return c

    c = run(main())
    assert not c.connected
    # the event loop kept ticking while the connect waited: no gap longer than a few ticks
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert len(ticks) >= 10 and max(gaps) < 0.5


def test_refused_connack_reports_reason():
    async def main():
        fb = await FakeBroker(connack_rc=5).start()
        c = MQTTClient("127.0.0.1", fb.port, "dev4", Clock(), connect_timeout=2)
        with pytest.raises(OSError, match="not authorized"):
            await c.connect()
        await fb.stop()

    run(main())


def test_dead_link_detected_when_broker_goes_silent():
    async def main():
        fb = await FakeBroker(pingresp=False).start()
        c = MQTTClient("127.0.0.1", fb.port, "dev5", Clock(), keepalive=1)
        downs = []
        c.on_down = downs.append
        await c.connect()
        await until(lambda: downs, 10, "dead link")
        pings = [p for p in fb.received if p[0] == codec.PINGREQ]
        await fb.stop()
        return downs, pings

    downs, pings = run(main())
    assert "nothing received" in downs[0] and len(pings) >= 1


def test_qos1_retransmits_with_dup_and_same_packet_id():
    async def main():
        fb = await FakeBroker(ack_publish=lambda n, pkt: n >= 2).start()  # ignore the first copy
        c = MQTTClient("127.0.0.1", fb.port, "dev6", Clock(), response_time=0.5)
        await c.connect()
        ok = await c.publish("dev6/event", b"e1", qos=1)
        await fb.stop()
        return ok, fb.raw_publish

    ok, pubs = run(main())
    assert ok is True and len(pubs) == 2
    (f1, p1), (f2, p2) = pubs
    assert not f1 & 0x08 and f2 & 0x08  # DUP only on the retransmission
    assert p1[6] == p2[6] and p1[2] == p2[2] == b"e1"


def test_qos1_never_acked_gives_false_and_drops_link():
    async def main():
        fb = await FakeBroker(ack_publish=lambda n, pkt: False).start()
        c = MQTTClient("127.0.0.1", fb.port, "dev7", Clock(), response_time=0.3)
        await c.connect()
        ok = await c.publish("dev7/event", b"e1", qos=1)
        n = len(fb.raw_publish)
        await fb.stop()
        return ok, n, c

    ok, n, c = run(main())
    assert ok is False and n == 3 and not c.connected and "PUBACK" in c.last_error


HOSTILE_AFTER_CONNACK = [
    ("reserved type 15", b"\xf0\x00"),
    ("reserved type 0 with a body", b"\x00\x03abc"),
    ("second CONNACK", b"\x20\x02\x00\x00"),
    ("PUBREL (QoS 2)", b"\x62\x02\x00\x01"),
    ("QoS 2 PUBLISH", codec._packet(0x34, codec._bin("dev8/cmd") + b"\x00\x09x")),
    ("CONNECT from the broker", codec.connect("evil", 60)),
    ("zero-length PUBLISH", b"\x30\x00"),
    ("bad UTF-8 topic, QoS 1", codec._packet(0x32, codec._bin(b"\xff\xfe") + b"\x00\x0bx")),
    ("oversize QoS 1 PUBLISH", codec.publish("dev8/cmd", b'{"id":"big"' + b"x" * 5000, 1, True, False, 12)),
]


@pytest.mark.parametrize("name,frames", HOSTILE_AFTER_CONNACK, ids=[n for n, _ in HOSTILE_AFTER_CONNACK])
def test_hostile_packet_from_broker_is_discarded_and_link_stays(name, frames):
    async def main():
        fb = await FakeBroker(after_connack=frames).start()
        c = MQTTClient("127.0.0.1", fb.port, "dev8", Clock(), connect_timeout=2, response_time=2)
        got, big = [], []
        c.on_message = lambda t, p: got.append(t)
        c.on_oversize = lambda t, n, head, retain: big.append((t, n, head[:11], retain))
        await c.connect()
        await until(lambda: c.discarded == 1, what="discard")
        ok = await c.publish("dev8/x", b"still here", qos=1)  # framing intact: PUBACK comes back
        await c.disconnect()
        await fb.stop()
        return c, ok, got, big, fb.received

    c, ok, got, big, received = run(main())
    assert ok is True and c.connects == 1 and got == []
    acks = [p[1] for p in received if p[0] == codec.PUBACK]
    if name == "bad UTF-8 topic, QoS 1":
        assert acks == [11]  # discarded, but acknowledged: the broker must not keep it in flight
    elif name == "oversize QoS 1 PUBLISH":
        assert acks == [12] and big == [("dev8/cmd", 5011, b'{"id":"big"', True)]
    else:
        assert acks == [] and big == []


def test_lost_framing_drops_link():
    async def main():
        fb = await FakeBroker(after_connack=b"\x30\xff\xff\xff\xff\x7f").start()  # 5-byte length
        c = MQTTClient("127.0.0.1", fb.port, "dev8", Clock(), connect_timeout=2)
        try:
            await c.connect()
        except OSError:
            pass
        await until(lambda: not c.connected and c.last_error, what="link dropped")
        await fb.stop()
        return c

    c = run(main())
    assert "longer than 4 bytes" in c.last_error


def test_supervisor_never_raises_and_backs_off():
    async def main():
        from tests.support.broker import free_port
        port = free_port()  # nothing listens here
        c = MQTTClient("127.0.0.1", port, "dev9", Clock(), connect_timeout=1)
        attempts = []
        orig = c.connect

        async def counted():
            attempts.append(time.monotonic())
            return await orig()

        c.connect = counted
        sup = asyncio.create_task(c.run())
        await asyncio.sleep(3.2)
        assert not sup.done()  # still trying, did not raise
        sup.cancel()
        return attempts

    attempts = run(main())
    # backoff 1, 2, 4 s (each jittered to 50-100 %): 2..4 attempts in 3.2 s, never a tight loop
    assert 2 <= len(attempts) <= 4
    gaps = [b - a for a, b in zip(attempts, attempts[1:])]
    assert all(g >= 0.45 for g in gaps)
