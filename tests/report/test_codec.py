"""MQTT 3.1.1 codec against byte vectors derived by hand from the spec (section numbers inline)."""
import pytest

from tests.conftest import run_micropython
from tests.report import brokercodec
from wanwatch.report.mqtt import codec
from wanwatch.report.mqtt.codec import MQTTError, Parser


# §2.2.3 table 2.4: boundaries of 1..4 byte Remaining Length encodings
VARINTS = [(0, "00"), (127, "7f"), (128, "8001"), (16383, "ff7f"), (16384, "808001"),
           (2097151, "ffff7f"), (2097152, "80808001"), (268435455, "ffffff7f")]


@pytest.mark.parametrize("n,hexs", VARINTS)
def test_varint_vectors(n, hexs):
    assert codec.encode_varint(n) == bytes.fromhex(hexs)
    assert codec.decode_varint(bytes.fromhex(hexs)) == (n, len(hexs) // 2)


def test_varint_limits():
    with pytest.raises(MQTTError):
        codec.encode_varint(268435456)
    with pytest.raises(MQTTError):
        codec.decode_varint(bytes.fromhex("ffffffff7f"))
    assert codec.decode_varint(bytes.fromhex("ff")) is None  # incomplete


def test_connect_minimal():
    # 10 | len 15 | 00 04 "MQTT" | level 4 | flags 02 (clean) | keepalive 60 | 00 03 "abc"
    want = bytes.fromhex("100f" "00044d515454" "04" "02" "003c" "0003616263")
    assert codec.connect("abc", 60) == want


def test_connect_will_user_password():
    # flags: user 80 | pass 40 | will retain 20 | will qos1 08 | will 04 | clean 02 = ee
    want = bytes.fromhex("101b" "00044d515454" "04" "ee" "001e" "0003616263"
                         "000177" "000178" "000175" "000170")
    pkt = codec.connect("abc", 30, True, ("w", b"x", True, 1), "u", "p")
    assert pkt == want
    p = Parser()
    p.feed(pkt)
    t, f, body = p.next()
    d = brokercodec.decode_any(t, f, body)[1]
    assert d == {"client_id": "abc", "keepalive": 30, "clean": True, "will": ("w", b"x", True, 1),
                 "username": "u", "password": b"p"}


def test_connect_rejects_password_without_user():
    with pytest.raises(MQTTError):
        codec.connect("a", 60, password="p")


def test_publish_vectors():
    assert codec.publish("a/b", b"hi", 0, True) == bytes.fromhex("3107" "0003612f62" "6869")
    # QoS 1 (02) + DUP (08) = 3a, packet id 10
    assert codec.publish("a/b", b"hi", 1, False, True, 10) == bytes.fromhex("3a09" "0003612f62" "000a" "6869")
    # DUP is meaningless (and must be 0) on QoS 0 (§3.3.1.1)
    assert codec.publish("a/b", "hi", 0, False, True)[0] == 0x30


def test_publish_rejects_bad_args():
    for args in (("", b"x"), ("a/+", b"x"), ("a/#", b"x")):
        with pytest.raises(MQTTError):
            codec.publish(*args)
    with pytest.raises(MQTTError):
        codec.publish("a", b"x", 2, pid=1)
    with pytest.raises(MQTTError):
        codec.publish("a", b"x", 1)  # QoS 1 without packet id
    with pytest.raises(MQTTError):
        codec.publish("a", b"x", 1, pid=0)


def test_small_packets():
    assert codec.puback(10) == bytes.fromhex("4002000a")
    assert codec.subscribe(1, [("a/#", 1)]) == bytes.fromhex("8208" "0001" "0003612f23" "01")
    assert codec.pingreq() == b"\xc0\x00"
    assert codec.disconnect() == b"\xe0\x00"


def test_decode_broker_packets():
    cases = [
        ("20020000", (codec.CONNACK, False, 0)),
        ("20020105", (codec.CONNACK, True, 5)),
        ("4002000a", (codec.PUBACK, 10)),
        ("9003000101", (codec.SUBACK, 1, [1])),
        ("d000", (codec.PINGRESP,)),
        ("3107" "0003612f62" "6869", (codec.PUBLISH, "a/b", b"hi", 0, True, False, None)),
        ("3a09" "0003612f62" "000a" "6869", (codec.PUBLISH, "a/b", b"hi", 1, False, True, 10)),
    ]
    for hexs, want in cases:
        p = Parser()
        p.feed(bytes.fromhex(hexs))
        assert codec.decode(*p.next()) == want
        assert p.next() is None


def test_parser_split_reads_and_coalesced_packets():
    stream = (brokercodec.connack(False, 0) + codec.publish("t/x", b"A" * 300, 1, False, False, 7)
              + codec.pingresp() + brokercodec.suback(2, [0]))
    p = Parser()
    got = []
    for i in range(len(stream)):  # worst case: one byte per TCP read
        p.feed(stream[i:i + 1])
        while True:
            pk = p.next()
            if pk is None:
                break
            got.append(codec.decode(*pk)[0])
    assert got == [codec.CONNACK, codec.PUBLISH, codec.PINGRESP, codec.SUBACK]
    assert p.pending() == 0
    p.feed(stream)  # all at once
    n = 0
    while p.next() is not None:
        n += 1
    assert n == 4


def test_parser_raises_only_when_framing_is_lost():
    for hexs in ("30ffffffff7f", "3080808080" "01", "d0ffffffff"):  # Remaining Length of 5+ bytes
        p = Parser()
        p.feed(bytes.fromhex(hexs))
        with pytest.raises(MQTTError, match="longer than 4 bytes"):
            p.next()


@pytest.mark.parametrize("hexs,why", [
    ("0000", "not an MQTT packet type"),
    ("f000", "not an MQTT packet type"),
    ("0003616263", "not an MQTT packet type"),
    ("f0020000", "not an MQTT packet type"),
    ("3600", "QoS 3"),
    ("21020000", "bad flags"),
    ("8002" "0001", "bad flags"),  # SUBSCRIBE flags must be 0010
    ("42020001", "bad flags"),  # PUBACK with flags
    ("6002" "0001", "bad flags"),  # PUBREL flags must be 0010
])
def test_bad_headers_are_framed_then_rejected_by_decode(hexs, why):
    # the Remaining Length is readable, so the packet's end is known: the parser frames it (the
    # caller discards it and reads on) and decode() says what is wrong
    p = Parser()
    p.feed(bytes.fromhex(hexs) + codec.pingresp())
    pk = p.next()
    with pytest.raises(MQTTError, match=why):
        codec.decode(*pk)
    assert codec.decode(*p.next()) == (codec.PINGRESP,)


@pytest.mark.parametrize("hexs,why", [
    ("1000", "unexpected CONNECT"),
    ("100f" "00044d515454" "04" "02" "003c" "0003616263", "unexpected CONNECT"),
    ("8208" "0001" "0003612f23" "01", "unexpected SUBSCRIBE"),
    ("a207" "0001" "0003612f23", "unexpected UNSUBSCRIBE"),
    ("3000", "truncated"),  # zero-length PUBLISH
    ("3200", "truncated"),
    ("2000", "malformed CONNACK"),
    ("4000", "malformed PUBACK"),
    ("9000", "malformed SUBACK"),
    ("5003000100", "malformed PUBREC"),
    ("30050003610062", "invalid PUBLISH topic"),  # NUL in the topic
    ("30020000", "invalid PUBLISH topic"),  # empty topic
    ("e00100", "DISCONNECT with a body"),
])
def test_decode_rejects_unexpected_and_zero_length(hexs, why):
    p = Parser()
    p.feed(bytes.fromhex(hexs))
    with pytest.raises(MQTTError, match=why):
        codec.decode(*p.next())


def test_decode_qos2_acks_and_server_packets():
    # PUBREC/PUBREL/PUBCOMP/PINGREQ/DISCONNECT are well formed, just not expected: decoded, and
    # the client discards them (tests/report/test_client.py)
    for hexs, want in (("50020007", (codec.PUBREC, 7)), ("62020007", (codec.PUBREL, 7)),
                       ("70020007", (codec.PUBCOMP, 7)), ("c000", (codec.PINGREQ,)),
                       ("e000", (codec.DISCONNECT,)), ("b0020009", (codec.UNSUBACK, 9))):
        p = Parser()
        p.feed(bytes.fromhex(hexs))
        assert codec.decode(*p.next()) == want


def test_publish_pid_of_unusable_publish():
    assert codec.publish_pid(0x2, bytes.fromhex("0002fffe" "0009" "78")) == 9  # bad UTF-8, QoS 1
    assert codec.publish_pid(0x3, bytes.fromhex("0001" "23" "0102")) == 0x102  # wildcard, retained
    assert codec.publish_pid(0x0, bytes.fromhex("0001" "61" "0009")) is None  # QoS 0: no id
    assert codec.publish_pid(0x4, bytes.fromhex("0001" "61" "0009")) is None  # QoS 2: not ours
    assert codec.publish_pid(0x2, bytes.fromhex("0005" "6162")) is None  # cut short
    assert codec.publish_pid(0x2, bytes.fromhex("0001" "61" "0000")) is None  # id 0
    assert codec.publish_pid(0x2, b"") is None


def drain(p):
    out = []
    while True:
        pk = p.next()
        if pk is None:
            return out
        out.append(pk)


def oversize(topic, payload, qos=1, pid=7, retain=True):
    return codec.publish(topic, payload, qos, retain, False, pid if qos else None)


@pytest.mark.parametrize("chunk", [1, 3, 512, 100000])
def test_oversize_publish_is_streamed_past_and_reported(chunk):
    payload = b'{"id":"big1","pad":"' + b"x" * 6000 + b'"}'
    stream = oversize("wanwatch/d1/cmd", payload) + codec.pingresp()
    p = Parser(max_packet=4096)
    got = []
    most = 0
    for i in range(0, len(stream), chunk):
        p.feed(stream[i:i + chunk])
        most = max(most, len(p.buf))
        got += drain(p)
    assert [codec.decode(*pk)[0] for pk in got] == [codec.OVERSIZE, codec.PINGRESP]
    d = codec.decode(*got[0])
    assert d == (codec.OVERSIZE, codec.PUBLISH, len(stream) - 2 - 3, "wanwatch/d1/cmd", len(payload),
                 1, True, 7, payload[:codec.HEAD_KEEP])
    assert most <= chunk + 5  # never more of the discarded packet than a chunk (+ a header)


def test_oversize_header_variants():
    cases = [
        # long topic: not kept, the packet id after it is still read
        (oversize("t/" + "a" * 1000, b"p" * 5000), ("PUBLISH", None, 5000, 1, 7)),
        (oversize("t/x", b"p" * 5000, qos=0), ("PUBLISH", "t/x", 5000, 0, None)),
        # bad UTF-8 / wildcard topics: the id is read, the topic is unusable
        (codec._packet(0x32, codec._bin(b"\xff\xfe") + b"\x00\x05" + b"p" * 5000), ("PUBLISH", None, 5000, 1, 5)),
        (codec._packet(0x32, codec._bin(b"a/#") + b"\x00\x05" + b"p" * 5000), ("PUBLISH", None, 5000, 1, 5)),
        # zero-length topic
        (codec._packet(0x30, codec._bin(b"") + b"p" * 5000), ("PUBLISH", None, 5000, 0, None)),
        # topic longer than the whole packet: header cut short, nothing usable
        (codec._packet(0x32, b"\xff\xff" + b"t" * 5000), ("PUBLISH", None, None, 1, None)),
        # QoS 2 oversize: the client discards it (no PUBREC)
        (codec._packet(0x34, codec._bin(b"t/x") + b"\x00\x05" + b"p" * 5000), ("PUBLISH", "t/x", 5000, 2, 5)),
        # any other type: streamed past as well
        (codec._packet(0x90, b"\x00\x01" + b"\x01" * 5000), ("SUBACK", None, None, 0, None)),
        (codec._packet(0x00, b"z" * 5000), ("reserved type 0", None, None, 0, None)),
    ]
    for stream, (name, topic, plen, qos, pid) in cases:
        p = Parser(max_packet=4096)
        p.feed(stream + codec.pingresp())
        pk = p.next()
        d = codec.decode(*pk)
        assert d[0] == codec.OVERSIZE and codec.NAMES[d[1]] == name, d[:5]
        assert (d[3], d[4], d[5], d[7]) == (topic, plen, qos, pid), (name, d[:8])
        assert codec.decode(*p.next()) == (codec.PINGRESP,) and p.next() is None


def test_huge_declared_length_is_skipped_in_bounded_memory():
    p = Parser(max_packet=4096)
    p.feed(b"\x30" + codec.encode_varint(codec.MAX_REMAINING) + b"\x00\x03a/b")
    assert p.next() is None and p.skipping == codec.MAX_REMAINING - 5
    junk = bytes(range(256)) * 16
    for _ in range(256):  # 1 MiB of it: swallowed as the body, never buffered
        p.feed(junk)
        assert p.next() is None and len(p.buf) == 0
    assert p.skipping == codec.MAX_REMAINING - 5 - (1 << 20)


def test_oversize_packets_back_to_back():
    a = oversize("a/1", b"1" * 5000, pid=1)
    b = codec.publish("a/2", b"small", 1, False, False, 2)
    c = oversize("a/3", b"3" * 9000, qos=0)
    p = Parser(max_packet=4096)
    p.feed(a + b + c + a)
    kinds = [(codec.decode(*pk)[0], codec.decode(*pk)[-2]) for pk in drain(p)]
    assert kinds == [(codec.OVERSIZE, 1), (codec.PUBLISH, False), (codec.OVERSIZE, None), (codec.OVERSIZE, 1)]


@pytest.mark.parametrize("hexs", [
    "200100",  # CONNACK too short
    "20020200",  # CONNACK reserved bit
    "400100",  # PUBACK too short
    "90020001",  # SUBACK without codes
    "9003000103",  # SUBACK bad code
    "d00100",  # PINGRESP with body
    "3003000561",  # PUBLISH topic length past end
    "30050003612b62",  # PUBLISH with wildcard topic
    "32050001610000",  # QoS 1 PUBLISH with packet id 0
    "3004" "0002fffe",  # topic not UTF-8
])
def test_decode_rejects_malformed_bodies(hexs):
    p = Parser()
    p.feed(bytes.fromhex(hexs))
    with pytest.raises(MQTTError):
        codec.decode(*p.next())


MPY_SCRIPT = r"""
from wanwatch.report.mqtt import codec
import binascii
h = lambda b: binascii.hexlify(b).decode()
assert h(codec.connect("abc", 30, True, ("w", b"x", True, 1), "u", "p")) == "101b00044d51545404ee001e0003616263000177000178000175000170"
assert h(codec.publish("a/b", b"hi", 1, False, True, 10)) == "3a090003612f62000a6869"
assert h(codec.subscribe(1, [("a/#", 1)])) == "820800010003612f2301"
assert h(codec.encode_varint(268435455)) == "ffffff7f"
p = codec.Parser()
s = b"\x20\x02\x00\x00" + codec.publish("t/x", b"A" * 300, 1, False, False, 7) + codec.pingresp()
n = 0
for i in range(len(s)):
    p.feed(s[i:i + 1])
    while True:
        pk = p.next()
        if pk is None:
            break
        codec.decode(pk[0], pk[1], pk[2])
        n += 1
assert n == 3, n
big = codec.publish("w/d/cmd", b'{"id":"big1",' + b"x" * 6000, 1, True, False, 9) + codec.pingresp()
for chunk in (1, 7, 512, 10000):
    p = codec.Parser(4096)
    got = []
    most = 0
    for i in range(0, len(big), chunk):
        p.feed(big[i:i + chunk])
        most = max(most, len(p.buf))
        while True:
            pk = p.next()
            if pk is None:
                break
            got.append(codec.decode(pk[0], pk[1], pk[2]))
    assert [g[0] for g in got] == [codec.OVERSIZE, codec.PINGRESP], got
    assert got[0][1:8] == (codec.PUBLISH, len(big) - 5, "w/d/cmd", 6013, 1, True, 9), got[0]
    assert got[0][8] == (b'{"id":"big1",' + b"x" * 200)[:128] and most <= chunk + 5, most
p = codec.Parser(4096)
p.feed(codec._packet(0x32, codec._bin(b"\xff\xfe") + b"\x00\x05" + b"p" * 5000))
d = codec.decode(*p.next())
assert d[3] is None and d[7] == 5, d
assert codec.publish_pid(2, b"\x00\x02\xff\xfe\x00\x09") == 9
p.feed(b"\xf0\x00")
try:
    codec.decode(*p.next())
    raise SystemExit("accepted reserved type 15")
except codec.MQTTError:
    pass
try:
    p.feed(b"\x30\xff\xff\xff\xff\x7f")
    p.next()
    raise SystemExit("accepted a 5-byte varint")
except codec.MQTTError:
    pass
print("codec ok")
"""


def test_codec_vectors_under_micropython():
    r = run_micropython(["-c", MPY_SCRIPT])
    assert r.returncode == 0, r.stderr + r.stdout
    assert "codec ok" in r.stdout
