"""MQTT 3.1.1 codec against byte vectors derived by hand from the spec (section numbers inline)."""
import pytest

from tests.conftest import run_micropython
from tests.mqtt import brokercodec
from wanwatch.mqtt import codec
from wanwatch.mqtt.codec import MQTTError, Parser


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


@pytest.mark.parametrize("hexs,why", [
    ("0000", "reserved type 0"),
    ("f000", "reserved type 15"),
    ("3600", "QoS 3"),
    ("2102", "flags on CONNACK"),
    ("8002", "SUBSCRIBE flags must be 0010"),
    ("30ffffffff7f", "varint of 5 bytes"),
])
def test_parser_rejects_malformed_headers(hexs, why):
    p = Parser()
    p.feed(bytes.fromhex(hexs))
    with pytest.raises(MQTTError):
        p.next()


def test_parser_rejects_oversize_before_body_arrives():
    p = Parser(max_packet=100)
    p.feed(bytes.fromhex("30") + codec.encode_varint(101))
    with pytest.raises(MQTTError, match="exceeds"):
        p.next()


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
from wanwatch.mqtt import codec
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
