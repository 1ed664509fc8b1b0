"""Hostile MQTT input for the device, shared by tests/report/test_hostile.py and bench/bench_mqtt_fuzz.py:
the real micropython device (mpy_hostile.py), a raw MQTT publisher that can send what paho refuses
(bytes topics, bad UTF-8), a fake broker on a raw socket that sends hostile frames, and seeded
generators of the inputs. Everything is deterministic for a seed: the outcome of a frame depends
on its bytes only (the parser frames the same whatever the TCP chunking)."""
import json
import os
import random
import select
import socket
import subprocess
import threading
import time

from tests.report import brokercodec
from tests.report.helpers import Peer, mini_bundle, publish_retained
from tests.support import paths
from wanwatch.report.mqtt import codec

# the device process (reporter + client + signed commands) holds ~86 KB live; the fake-broker run
# completes from 104K, the mosquitto fuzz from 144K (128K: MemoryError allocating ~4 KB: packets
# just under the 4 KB limit are buffered and copied twice in a fragmented heap). 160K leaves a
# margin and still no room for a buffered 256 KB or 1 MB packet: streaming past them is what lets
# the device live
HEAP = "160K"
KEY = "hostile-test-key-0001"
PROBE_PID = 30000  # pids of the fake broker's probes; case pids stay below


class Device:
    """The device under micropython (mpy_hostile.py) with its stdout read in a thread."""

    def __init__(self, tmp, port, dev, heap=HEAP):
        bundle = mini_bundle(os.path.join(tmp, "mpy"), drivers=("mpy_hostile",))
        env = dict(os.environ, MICROPYPATH=bundle + ":.frozen")
        self.dev = dev
        self.proc = subprocess.Popen([paths.micropython(), "-X", "heapsize=" + heap, "-m", "mpy_hostile", str(port),
                                      dev, os.path.join(tmp, "state-" + dev), KEY],
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.stats = None
        self.first_up = None  # stats when first connected (the memory baseline)
        self.lock = threading.Lock()
        self.stderr = ""
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            with self.lock:
                if line.startswith("STATS "):
                    self.stats = json.loads(line[6:])
                    if self.first_up is None and self.stats["connected"]:
                        self.first_up = self.stats
                else:
                    self.lines.append(line)

    def _read_err(self):
        self.stderr = self.proc.stderr.read()

    def wait(self, pred, timeout=20, what="condition"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                s = self.stats
            if s is not None and pred(s):
                return s
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError("device: timed out waiting for %s; stats %s; log %s; stderr %s"
                             % (what, self.stats, self.lines[-20:], self.stderr[-2000:]))

    def log(self):
        with self.lock:
            return list(self.lines)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        time.sleep(0.05)  # let the reader threads see EOF

    def tracebacks(self):
        """Lines that show an exception escaping, or the heap running out."""
        return [l for l in self.log() + self.stderr.splitlines()
                if "Traceback" in l or "Task exception" in l or "MemoryError" in l]


# --- a raw publisher (mosquitto side) ------------------------------------------------------------

def recv_packet(sock, parser, timeout):
    """Next packet from sock (decoded with the broker codec), or None on timeout/EOF."""
    deadline = time.time() + timeout
    while True:
        pk = parser.next()
        if pk is not None:
            return brokercodec.decode_any(*pk)
        left = deadline - time.time()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except (socket.timeout, OSError):
            return None
        if not data:
            return None
        parser.feed(data)


class RawPublisher:
    """Publishes any bytes as topic and payload with QoS 1 and says whether the broker took it (a
    PUBACK) or refused it (closed the connection: it validates topics); reconnects as needed."""

    def __init__(self, port, client_id="fuzzer"):
        self.port = port
        self.client_id = client_id
        self.sock = None
        self.pid = 0

    def _connect(self):
        self.sock = socket.create_connection(("127.0.0.1", self.port), 5)
        self.parser = codec.Parser(1 << 20)
        self.sock.sendall(codec.connect(self.client_id, 60))
        ack = recv_packet(self.sock, self.parser, 5)
        assert ack is not None and ack[0] == codec.CONNACK and ack[2] == 0, ack

    def publish(self, topic, payload, retain=False):
        if self.sock is None:
            self._connect()
        self.pid = self.pid % 60000 + 1
        first = 0x32 | (1 if retain else 0)
        self.sock.sendall(codec._packet(first, codec._bin(topic) + codec._u16(self.pid) + bytes(payload)))
        while True:
            p = recv_packet(self.sock, self.parser, 5)
            if p is None:  # refused: the broker closed the connection
                self.close()
                return False
            if p[0] == codec.PUBACK and p[1] == self.pid:
                return True

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def random_topic(rnd):
    """Bytes for a topic under fz/: printable, UTF-8 of any plane, or raw bytes (bad UTF-8, NUL,
    wildcards: the broker refuses some)."""
    k = rnd.randrange(4)
    if k == 0:
        tail = "".join(chr(rnd.randrange(0x21, 0x7F)) for _ in range(rnd.randrange(1, 40))).encode()
    elif k == 1:
        tail = "".join(chr(rnd.choice((rnd.randrange(0xA0, 0xD800), rnd.randrange(0xE000, 0x110000))))
                       for _ in range(rnd.randrange(1, 20))).encode()
    elif k == 2:
        tail = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 40)))
    else:  # overlong, surrogate, truncated sequences and NUL
        tail = rnd.choice((b"\xc0\x80", b"\xed\xa0\x80", b"\xe2\x82", b"a\x00b", b"\xf4\x90\x80\x80", b"\xff"))
    return b"fz/" + tail


def junk_command(rnd):
    """Payloads aimed at the command parser: none of them is signed with the device key."""
    good = {"id": "fz%d" % rnd.randrange(10000), "ts": int(time.time()), "nonce": "nonce-%08d" % rnd.randrange(10 ** 8),
            "cmd": rnd.choice(("status", "force_failover", "failback", "reset_usage", "rm -rf")), "args": {}}
    k = rnd.randrange(5)
    if k == 0:
        return json.dumps(good).encode()  # unsigned
    if k == 1:
        return json.dumps(dict(good, sig="%064x" % rnd.getrandbits(256))).encode()  # forged
    if k == 2:
        from host_tools import sign
        return json.dumps(sign.signed("wrong-key-" + "x" * 16, good["cmd"], {})).encode()
    if k == 3:
        return b"[" * rnd.randrange(1, 2000)
    return json.dumps(good).encode()[:rnd.randrange(1, 60)]


def random_payload(rnd):
    k = rnd.randrange(5)
    if k == 0:
        return junk_command(rnd)
    size = rnd.choice((rnd.randrange(0, 64), rnd.randrange(1000, 1100), rnd.randrange(4000, 4200),
                       rnd.randrange(5000, 12000)))
    if k == 1 and size > 20:  # JSON-looking with an id in front: a too-large answer can name it
        head = b'{"id":"fz-big-%d","pad":"' % rnd.randrange(1000)
        return head + b"x" * (size - len(head))
    return bytes(rnd.getrandbits(8) for _ in range(size))


def mosquitto_inputs(seed, n, dev):
    """n (topic, payload, retain) for the device through a real broker: half on its cmd topic."""
    rnd = random.Random(seed)
    cmd = ("wanwatch/%s/cmd" % dev).encode()
    out = []
    for _ in range(n):
        topic = cmd if rnd.random() < 0.5 else random_topic(rnd)
        out.append((topic, random_payload(rnd), rnd.random() < 0.1))
    return out


# --- the fake broker on a raw socket -------------------------------------------------------------

class Case:
    """Frames the fake broker sends; expect: kept (the connection survives: the probe after it is
    acknowledged), dropped (the client closes: framing lost), closed (the broker gives up: a body
    too long to fill), any (random input: predict() says). acks: packet ids the client must
    acknowledge; never: ids it must not."""

    def __init__(self, name, data, expect="kept", acks=(), never=()):
        self.name = name
        self.data = data
        self.expect = expect
        self.acks = acks
        self.never = never


def pub(topic, payload, qos=0, pid=None, retain=False, flags=None):
    first = flags if flags is not None else 0x30 | (qos << 1) | (1 if retain else 0)
    t = topic if isinstance(topic, bytes) else topic.encode()
    return codec._packet(first, codec._bin(t) + (codec._u16(pid) if pid is not None else b"") + payload)


def structured_cases(dev):
    cmd = "wanwatch/%s/cmd" % dev
    big = b'{"id":"fb-big-1","ts":1,"pad":"' + b"x" * 6000 + b'"}'
    return [
        Case("oversize QoS 1 PUBLISH on cmd (6 KB)", pub(cmd, big, 1, 101), acks=(101,)),
        Case("oversize retained QoS 1 PUBLISH on cmd, no id", pub(cmd, os.urandom(5000), 1, 102, True), acks=(102,)),
        Case("oversize QoS 0 PUBLISH (10 KB)", pub("fz/big", b"z" * 10000)),
        Case("oversize PUBLISH with a 1000-byte topic", pub("fz/" + "t" * 1000, b"p" * 5000, 1, 103), acks=(103,)),
        Case("oversize PUBLISH declaring 1 MB, all sent", pub("fz/huge", b"\x00" * (1 << 20), 1, 104), acks=(104,)),
        Case("oversize QoS 2 PUBLISH", pub(cmd, b"q" * 5000, 2, 105), never=(105,)),
        Case("oversize SUBACK", codec._packet(0x90, b"\x00\x01" + b"\x01" * 5000)),
        Case("oversize reserved type 15", codec._packet(0xF0, b"r" * 5000)),
        Case("PUBLISH bad UTF-8 topic, QoS 1", pub(b"fz/\xff\xfe", b"x", 1, 106), acks=(106,)),
        Case("PUBLISH overlong UTF-8 topic (NUL)", pub(b"fz/\xc0\x80", b"x", 1, 107)),
        Case("PUBLISH NUL in topic, QoS 1", pub(b"fz/a\x00b", b"x", 1, 108), acks=(108,)),
        Case("PUBLISH wildcard topic, QoS 1", pub("fz/#", b"x", 1, 109), acks=(109,)),
        Case("PUBLISH empty topic", pub(b"", b"x")),
        Case("PUBLISH packet id 0", pub(cmd, b"x", 1, 0)),
        Case("PUBLISH QoS 2", pub(cmd, b"x", 2, 110), never=(110,)),
        Case("PUBLISH QoS 3", pub(cmd, b"x", flags=0x36)),
        Case("zero-length PUBLISH", b"\x30\x00"),
        Case("zero-length QoS 1 PUBLISH", b"\x32\x00"),
        Case("zero-length PUBACK", b"\x40\x00"),
        Case("zero-length CONNACK", b"\x20\x00"),
        Case("reserved type 0", b"\x00\x00"),
        Case("reserved type 0 with a body", b"\x00\x03abc"),
        Case("reserved type 15", b"\xf0\x00"),
        Case("CONNECT from the broker", codec.connect("evil", 60, True, ("w", b"x", True, 1), "u", "p")),
        Case("SUBSCRIBE from the broker", codec.subscribe(7, [("#", 1)])),
        Case("UNSUBSCRIBE from the broker", codec._packet(0xA2, b"\x00\x07" + codec._bin("#"))),
        Case("PUBREC", b"\x50\x02\x00\x01"),
        Case("PUBREL", b"\x62\x02\x00\x01"),
        Case("PUBCOMP", b"\x70\x02\x00\x01"),
        Case("PINGREQ from the broker", b"\xc0\x00"),
        Case("DISCONNECT from the broker", b"\xe0\x00"),
        Case("second CONNACK", b"\x20\x02\x00\x00"),
        Case("PUBACK for an unknown id", b"\x40\x02\xff\xf0"),
        Case("PUBACK with flags", b"\x42\x02\x00\x01"),
        Case("SUBACK with a bad code", b"\x90\x03\x00\x01\x07"),
        Case("PINGRESP with a body", b"\xd0\x01\x00"),
        Case("unsigned command", pub(cmd, b'{"id":"u1","cmd":"force_failover","args":{}}', 1, 111), acks=(111,)),
        Case("forged command", pub(cmd, json.dumps({"id": "f1", "ts": int(time.time()), "nonce": "nonce-forged",
                                                    "cmd": "failback", "args": {}, "sig": "0" * 64}).encode(), 1, 112),
             acks=(112,)),
        Case("random bytes on cmd", pub(cmd, bytes(range(256)) * 3, 1, 113), acks=(113,)),
        Case("oversize flood on cmd (40 x 5 KB)", b"".join(pub(cmd, b'{"id":"flood-%d",' % i + b"f" * 5000, 1, 200 + i)
                                                           for i in range(40)), acks=tuple(range(200, 240))),
        # the framing is lost: the client must drop the connection and come back
        Case("Remaining Length of 5 bytes", b"\x30\xff\xff\xff\xff\x7f", "dropped"),
        Case("5 continuation bytes", b"\x30\x80\x80\x80\x80\x01", "dropped"),
        # 268,435,455 declared: streamed past for as long as it comes; the broker gives up first
        Case("declared 268,435,455 bytes, 256 KB sent", b"\x30\xff\xff\xff\x7f" + b"\x00\x03a/b" + b"h" * (256 << 10),
             "closed"),
    ]


def garbage_cases(seed, n):
    """Random byte strings, and valid frames with random bytes changed (outcome: predict())."""
    rnd = random.Random(seed)
    valid = [pub("fz/g", b"payload"), pub("fz/g", b"x" * 50, 1, 300), b"\x40\x02\x00\x05", b"\xd0\x00",
             brokercodec.suback(9, [1]), b"\x20\x02\x00\x00"]
    out = []
    for i in range(n):
        if rnd.random() < 0.5:
            data = bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 200)))
        else:
            data = bytearray(b"".join(rnd.choice(valid) for _ in range(rnd.randrange(1, 6))))
            for _ in range(rnd.randrange(1, 4)):
                data[rnd.randrange(len(data))] = rnd.getrandbits(8)
            data = bytes(data)
        out.append(Case("garbage %d" % i, data, "any"))
    return out


class Link:
    """One connection of the fake broker: answers the client (CONNACK, SUBACK, PUBACK, PINGRESP)
    and records what it sent."""

    def __init__(self, broker, sock):
        self.broker = broker
        self.sock = sock
        self.parser = codec.Parser(1 << 22)
        self.closed = False
        self.subacks = 0
        self.statuses = 0

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError:
            self.closed = True

    def pump(self, timeout):
        if self.closed:
            return
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return
        try:
            data = self.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return
        self.parser.feed(data)
        while True:
            pk = self.parser.next()
            if pk is None:
                return
            self.handle(brokercodec.decode_any(*pk))

    def handle(self, p):
        b = self.broker
        if p[0] == codec.CONNECT:
            self.send(brokercodec.connack(False, 0))
        elif p[0] == codec.SUBSCRIBE:
            self.send(brokercodec.suback(p[1], [q for _, q in p[2]]))
            self.subacks += 1
        elif p[0] == codec.PINGREQ:
            self.send(codec.pingresp())
        elif p[0] == codec.PUBACK:
            b.acks.add(p[1])
        elif p[0] == codec.PUBLISH:
            if p[3]:
                self.send(codec.puback(p[6]))
            if p[1].endswith("/status"):
                self.statuses += 1
                b.statuses += 1
            elif p[1].endswith("/cmd/result"):
                b.answers.append(json.loads(p[2]))

    def wait(self, pred, timeout):
        deadline = time.time() + timeout
        while not self.closed and not pred():
            left = deadline - time.time()
            if left <= 0:
                return False
            self.pump(min(left, 0.2))
        return pred()


FILL_MAX = 256 << 10  # the most filler the fake broker sends to bring the client back to a packet boundary


def predict(shadow, data):
    """What the client will make of data, from a shadow of its parser (same code, same limit, fed
    the same bytes: framing does not depend on TCP chunking): ("dropped", b"") if the framing is
    lost; ("kept", filler) with the zero bytes that complete a packet the data left open (a
    declared body, a partial header), so that the probe after them is framed as a packet;
    ("closed", b"") when that would take more than FILL_MAX bytes (the broker gives up)."""
    fill = b""
    try:
        shadow.feed(data)
        while True:
            while shadow.next() is not None:
                pass
            if shadow.skipping:
                need = shadow.skipping
            elif shadow.pending():
                head = shadow.buf[shadow.pos:]
                r = codec.decode_varint(head, 1)
                need = 1 if r is None else r[1] + r[0] - len(head)
            else:
                return "kept", fill
            if len(fill) + need > FILL_MAX:
                return "closed", b""
            fill += b"\x00" * need
            shadow.feed(b"\x00" * need)
    except codec.MQTTError:
        return "dropped", b""


class HostileBroker:
    """Accepts the device, waits until it is subscribed and reporting, then sends each case's
    frames, predicts what the client makes of them (predict()), sends the filler that brings its
    parser back to a packet boundary and a probe (a QoS 1 PUBLISH it must acknowledge), and
    records (case, predicted, observed): kept (the probe was acknowledged), dropped (the client
    closed the connection), closed (the broker did), swallowed (neither, within probe_timeout).
    After the last case it keeps serving the device normally until stop()."""

    def __init__(self, cases, probe_timeout=5.0):
        self.cases = cases
        self.probe_timeout = probe_timeout
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(4)
        self.port = self.srv.getsockname()[1]
        self.outcomes = []  # (case, predicted, observed)
        self.acks = set()
        self.answers = []
        self.statuses = 0
        self.connections = 0
        self.done = threading.Event()
        self.stopping = False
        self.error = None
        self.link = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _accept(self):
        self.srv.settimeout(0.2)
        while not self.stopping:
            try:
                sock, _ = self.srv.accept()
            except socket.timeout:
                continue
            self.connections += 1
            return Link(self, sock)
        return None

    def _serve(self):
        try:
            todo = list(self.cases)
            pid = PROBE_PID
            link = shadow = None
            while not self.stopping:
                if link is None or link.closed:
                    if link is not None:
                        link.sock.close()
                    link = self.link = self._accept()
                    if link is None:
                        return
                    shadow = codec.Parser(codec.DEFAULT_MAX_PACKET)  # the client's parser is new too
                    # steady state first: both subscriptions granted, the birth status received
                    if not link.wait(lambda: link.subacks >= 2 and link.statuses >= 1, 15):
                        raise AssertionError("device did not come up on connection %d" % self.connections)
                if not todo:
                    self.done.set()
                    link.pump(0.2)
                    continue
                case = todo.pop(0)
                predicted, fill = predict(shadow, case.data)
                link.send(case.data)
                if predicted == "closed":
                    link.wait(lambda: False, 0.3)
                    link.closed = True
                    self.outcomes.append((case, predicted, "closed"))
                    continue
                pid = pid + 1 if pid < 65535 else PROBE_PID
                probe = pub("fz/probe", b"probe", 1, pid)
                if predicted == "kept":  # (a shadow that lost the framing is done with)
                    shadow.feed(probe)
                    while shadow.next() is not None:
                        pass
                self.acks.discard(pid)  # only this probe's acknowledgement counts
                link.send(fill + probe)
                if link.wait(lambda: pid in self.acks, self.probe_timeout):
                    observed = "kept"
                elif link.closed:
                    observed = "dropped"
                else:
                    link.closed = True
                    observed = "swallowed"
                self.outcomes.append((case, predicted, observed))
        except Exception as e:  # reported by the test
            self.error = e
            self.done.set()

    def stop(self):
        self.stopping = True
        self.thread.join(10)
        self.srv.close()
        if self.link is not None:
            self.link.sock.close()


def fake_broker_run(tmp, dev, cases, settle_s=2.5, heap=HEAP):
    """The device against a HostileBroker sending cases; returns a summary dict."""
    fb = HostileBroker(cases)
    device = Device(tmp, fb.port, dev, heap)
    t0 = time.time()
    try:
        device.wait(lambda s: s["connected"], 20, "first connect")
        if not fb.done.wait(600):
            raise AssertionError("fake broker did not finish")
        if fb.error:
            raise fb.error
        # after the last case: still reporting on a connection that lasts
        before = fb.statuses
        time.sleep(settle_s)
        final = device.wait(lambda s: s["connected"], 10, "connected at the end")
        elapsed = time.time() - t0
        return {"outcomes": fb.outcomes, "acks": fb.acks, "answers": fb.answers, "connections": fb.connections,
                "statuses_after": fb.statuses - before, "statuses": fb.statuses, "stats": final,
                "base": device.first_up, "elapsed": elapsed, "log": device.log(),
                "tracebacks": device.tracebacks()}
    finally:
        device.stop()
        fb.stop()


def count(outcomes):
    """{observed outcome: how many} of (case, predicted, observed) triples."""
    out = {}
    for o in outcomes:
        out[o[-1]] = out.get(o[-1], 0) + 1
    return out


def broker_connects(broker, client_id):
    """CONNECTs of client_id in the mosquitto log (counted by the broker, not the device)."""
    return broker.log().count(" as %s " % client_id)


def mosquitto_run(tmp, dev, seed, n, broker, pace_s=0.01, heap=HEAP):
    """n seeded inputs through a real mosquitto to the device (retained junk on cmd before it
    starts, then random topics and payloads), then one genuine signed command; returns a summary."""
    from host_tools import sign
    base = "wanwatch/%s" % dev
    rnd = random.Random(seed)
    publish_retained(broker.port, base + "/cmd", bytes(rnd.getrandbits(8) for _ in range(300)))
    peer = Peer(broker.port, [base + "/#"], client_id="ctl-" + dev)
    device = Device(tmp, broker.port, dev, heap)
    rp = RawPublisher(broker.port, "fuzz-" + dev)
    try:
        device.wait(lambda s: s["connected"] and s["received"] + s["discarded"] >= 1, 20, "connected")
        peer.wait(lambda: peer.payloads(base + "/status"), 10, "first status")
        t0 = time.time()
        status0 = len(peer.payloads(base + "/status"))
        accepted = refused = 0
        for topic, payload, retain in mosquitto_inputs(seed, n, dev):
            if rp.publish(topic, payload, retain):
                accepted += 1
            else:
                refused += 1
            time.sleep(pace_s)  # spread over seconds: status reports must go on meanwhile
        # every message the broker took reached the client: delivered or discarded, none lost
        settled = device.wait(lambda s: s["received"] + s["discarded"] >= accepted + 1, 60, "all inputs")
        fuzz_s = time.time() - t0
        statuses = len(peer.payloads(base + "/status")) - status0
        genuine = json.dumps(sign.signed(KEY, "status", {}, "genuine-1"))
        peer.publish(base + "/cmd", genuine, 1)
        peer.wait(lambda: [a for a in answers(peer, base) if a.get("id") == "genuine-1"], 20, "genuine result")
        final = device.wait(lambda s: s["ran"] >= 1, 10, "genuine command ran")
        return {"accepted": accepted, "refused": refused, "stats": final, "settled": settled, "base": device.first_up,
                "fuzz_s": fuzz_s, "statuses": statuses, "answers": answers(peer, base),
                "states": peer.payloads(base + "/state"), "connects": broker_connects(broker, "wanwatch-" + dev),
                "tracebacks": device.tracebacks(), "log": device.log()}
    finally:
        rp.close()
        peer.close()
        device.stop()


def answers(peer, base):
    return [json.loads(p) for p in peer.payloads(base + "/cmd/result")]
