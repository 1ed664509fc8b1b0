"""The broker side of MQTT 3.1.1 for fake brokers in tests (the device never needs it): CONNACK,
SUBACK encoders and CONNECT/SUBSCRIBE decoders, on top of the firmware codec's helpers."""
from wanwatch.report.mqtt import codec
from wanwatch.report.mqtt.codec import MQTTError, _packet, _read_str, _read_u16, _u16


def connack(session_present, rc):
    return bytes((0x20, 2, 1 if session_present else 0, rc))


def suback(pid, codes):
    return _packet(0x90, _u16(pid) + bytes(codes))


def decode_connect(body):
    """CONNECT body -> dict."""
    name, pos = _read_str(body, 0)
    if name != "MQTT" or pos + 4 > len(body) or body[pos] != 4:
        raise MQTTError("not an MQTT 3.1.1 CONNECT")
    flags = body[pos + 1]
    if flags & 1:
        raise MQTTError("CONNECT reserved flag set")
    keepalive = (body[pos + 2] << 8) | body[pos + 3]
    pos += 4
    cid, pos = _read_str(body, pos)
    d = {"client_id": cid, "keepalive": keepalive, "clean": bool(flags & 2), "will": None,
         "username": None, "password": None}
    if flags & 4:
        wt, pos = _read_str(body, pos)
        wl, pos = _read_u16(body, pos)
        d["will"] = (wt, bytes(body[pos:pos + wl]), bool(flags & 0x20), (flags >> 3) & 3)
        pos += wl
    if flags & 0x80:
        d["username"], pos = _read_str(body, pos)
    if flags & 0x40:
        pl, pos = _read_u16(body, pos)
        d["password"] = bytes(body[pos:pos + pl])
        pos += pl
    if pos != len(body):
        raise MQTTError("trailing bytes in CONNECT")
    return d


def decode_subscribe(body):
    pid, pos = _read_u16(body, 0)
    topics = []
    while pos < len(body):
        t, pos = _read_str(body, pos)
        if pos >= len(body) or body[pos] > 2:
            raise MQTTError("malformed SUBSCRIBE")
        topics.append((t, body[pos]))
        pos += 1
    if not topics:
        raise MQTTError("SUBSCRIBE without topics")
    return pid, topics


def decode_any(ptype, flags, body):
    """Like codec.decode, plus the client->broker packets."""
    if ptype == codec.CONNECT:
        return (codec.CONNECT, decode_connect(body))
    if ptype == codec.SUBSCRIBE:
        return (codec.SUBSCRIBE,) + decode_subscribe(body)
    return codec.decode(ptype, flags, body)
