# mqtt/codec.py: pure MQTT 3.1.1 packet encoding/decoding (no I/O, no time).
# Encoders return bytes; Parser turns a stream of TCP chunks into whole packets and decoders turn
# packet bodies into small tuples. Anything malformed raises MQTTError and the caller drops the
# connection: after a framing error the byte stream can no longer be trusted.

CONNECT = 1
CONNACK = 2
PUBLISH = 3
PUBACK = 4
PUBREC = 5
PUBREL = 6
PUBCOMP = 7
SUBSCRIBE = 8
SUBACK = 9
UNSUBSCRIBE = 10
UNSUBACK = 11
PINGREQ = 12
PINGRESP = 13
DISCONNECT = 14

MAX_REMAINING = 268435455  # 4-byte varint limit from the spec (§2.2.3)
DEFAULT_MAX_PACKET = 4096  # what this device accepts inbound; commands are small

CONNACK_REASONS = {
    1: "unacceptable protocol version",
    2: "identifier rejected",
    3: "server unavailable",
    4: "bad user name or password",
    5: "not authorized",
}


class MQTTError(ValueError):
    pass


def encode_varint(n):
    """Remaining Length encoding (§2.2.3): 7 bits per byte, high bit = more bytes follow."""
    if n < 0 or n > MAX_REMAINING:
        raise MQTTError("remaining length out of range: %d" % n)
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def decode_varint(buf, pos=0):
    """(value, next_pos), or None when buf ends before the varint does. >4 bytes is an error."""
    value = 0
    shift = 0
    for i in range(4):
        if pos + i >= len(buf):
            return None
        b = buf[pos + i]
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos + i + 1
        shift += 7
    raise MQTTError("remaining length longer than 4 bytes")


def _u16(n):
    return bytes(((n >> 8) & 0xFF, n & 0xFF))


def _bin(data):
    """2-byte length prefixed field (strings as UTF-8)."""
    if isinstance(data, str):
        data = data.encode()
    if len(data) > 0xFFFF:
        raise MQTTError("field longer than 65535 bytes")
    return _u16(len(data)) + bytes(data)


def _packet(first, body):
    return bytes((first,)) + encode_varint(len(body)) + body


def _check_topic(topic, wildcards=False):
    if not topic:
        raise MQTTError("empty topic")
    if not wildcards and ("#" in topic or "+" in topic):
        raise MQTTError("wildcard in publish topic %r" % topic)


def _check_pid(pid):
    if not isinstance(pid, int) or pid < 1 or pid > 0xFFFF:
        raise MQTTError("packet id must be 1..65535, got %r" % (pid,))


def connect(client_id, keepalive=60, clean=True, will=None, username=None, password=None):
    """CONNECT (§3.1). will = (topic, payload, retain, qos) or None."""
    if keepalive < 0 or keepalive > 0xFFFF:
        raise MQTTError("keepalive out of range")
    flags = 0x02 if clean else 0
    payload = _bin(client_id)
    if will:
        topic, msg, retain, qos = will
        _check_topic(topic)
        if qos not in (0, 1, 2):
            raise MQTTError("bad will qos %r" % (qos,))
        flags |= 0x04 | (qos << 3) | (0x20 if retain else 0)
        payload += _bin(topic) + _bin(msg)
    if username is not None:
        flags |= 0x80
        payload += _bin(username)
        if password is not None:
            flags |= 0x40
            payload += _bin(password)
    elif password is not None:
        raise MQTTError("password without username is not allowed in 3.1.1")
    # variable header: protocol name "MQTT", level 4, flags, keepalive
    body = b"\x00\x04MQTT\x04" + bytes((flags,)) + _u16(keepalive) + payload
    return _packet(0x10, body)


def publish(topic, payload, qos=0, retain=False, dup=False, pid=None):
    """PUBLISH (§3.3). QoS 0 or 1; pid required for QoS 1."""
    _check_topic(topic)
    if qos not in (0, 1):
        raise MQTTError("only QoS 0 and 1 are supported, got %r" % (qos,))
    if isinstance(payload, str):
        payload = payload.encode()
    first = 0x30 | (qos << 1) | (1 if retain else 0) | (0x08 if dup and qos else 0)
    body = _bin(topic)
    if qos:
        _check_pid(pid)
        body += _u16(pid)
    return _packet(first, body + bytes(payload))


def puback(pid):
    _check_pid(pid)
    return b"\x40\x02" + _u16(pid)


def subscribe(pid, topics):
    """SUBSCRIBE (§3.8): topics = [(filter, qos), ...]; fixed-header flags must be 0010."""
    _check_pid(pid)
    if not topics:
        raise MQTTError("subscribe needs at least one topic")
    body = _u16(pid)
    for t, q in topics:
        _check_topic(t, wildcards=True)
        if q not in (0, 1, 2):
            raise MQTTError("bad subscribe qos %r" % (q,))
        body += _bin(t) + bytes((q,))
    return _packet(0x82, body)


def pingreq():
    return b"\xc0\x00"


def pingresp():
    return b"\xd0\x00"


def disconnect():
    return b"\xe0\x00"


# --- decoding ---------------------------------------------------------------------------------

# required fixed-header flags per type (§2.2.2); PUBLISH flags are variable
_FLAGS = {CONNECT: 0, CONNACK: 0, PUBACK: 0, PUBREC: 0, PUBREL: 2, PUBCOMP: 0, SUBSCRIBE: 2,
          SUBACK: 0, UNSUBSCRIBE: 2, UNSUBACK: 0, PINGREQ: 0, PINGRESP: 0, DISCONNECT: 0}


class Parser:
    """Incremental framer: feed() TCP chunks, next() returns (type, flags, body) per whole packet,
    or None until one is complete.

    The buffer holds at most one partial packet plus the last chunk; oversize or malformed headers
    raise MQTTError as soon as the header is readable (no waiting for a huge body)."""

    def __init__(self, max_packet=DEFAULT_MAX_PACKET):
        self.max_packet = max_packet
        self.buf = bytearray()
        self.pos = 0  # start of the unparsed part (MicroPython bytearray has no slice deletion)

    def feed(self, data):
        if self.pos:
            self.buf = self.buf[self.pos:]
            self.pos = 0
        self.buf.extend(data)

    def pending(self):
        return len(self.buf) - self.pos

    def next(self):
        buf = self.buf
        pos = self.pos
        if pos >= len(buf):
            return None
        first = buf[pos]
        ptype = first >> 4
        flags = first & 0x0F
        if ptype == 0 or ptype == 15:
            raise MQTTError("reserved packet type %d" % ptype)
        if ptype == PUBLISH:
            if (flags >> 1) & 3 == 3:
                raise MQTTError("PUBLISH with QoS 3")
        elif flags != _FLAGS[ptype]:
            raise MQTTError("bad flags 0x%x for packet type %d" % (flags, ptype))
        r = decode_varint(buf, pos + 1)
        if r is None:
            return None
        length, start = r
        if length > self.max_packet:
            raise MQTTError("packet of %d bytes exceeds limit %d" % (length, self.max_packet))
        end = start + length
        if len(buf) < end:
            return None
        body = bytes(buf[start:end])
        if end >= len(buf):
            self.buf = bytearray()
            self.pos = 0
        else:
            self.pos = end
        return ptype, flags, body


def _read_u16(body, pos):
    if pos + 2 > len(body):
        raise MQTTError("truncated packet")
    return (body[pos] << 8) | body[pos + 1], pos + 2


def _read_str(body, pos):
    n, pos = _read_u16(body, pos)
    if pos + n > len(body):
        raise MQTTError("truncated string")
    try:
        s = bytes(body[pos:pos + n]).decode()
    except UnicodeError:
        raise MQTTError("string is not UTF-8")
    return s, pos + n


def decode(ptype, flags, body):
    """Decode a framed packet into a tuple whose first item is the type:
    (CONNACK, session_present, rc) (PUBLISH, topic, payload, qos, retain, dup, pid)
    (PUBACK, pid) (SUBACK, pid, [codes]) (PINGRESP,) (PINGREQ,) (DISCONNECT,)
    (UNSUBACK, pid). Anything else (and anything malformed) raises MQTTError. The broker side of
    the protocol lives in tests/mqtt/brokercodec.py: the device never needs it."""
    n = len(body)
    if ptype == PUBLISH:
        qos = (flags >> 1) & 3
        topic, pos = _read_str(body, 0)
        if not topic or "#" in topic or "+" in topic:
            raise MQTTError("invalid PUBLISH topic")
        pid = None
        if qos:
            pid, pos = _read_u16(body, pos)
            if pid == 0:
                raise MQTTError("PUBLISH with packet id 0")
        return (PUBLISH, topic, bytes(body[pos:]), qos, bool(flags & 1), bool(flags & 8), pid)
    if ptype == CONNACK:
        if n != 2 or body[0] & 0xFE:
            raise MQTTError("malformed CONNACK")
        return (CONNACK, bool(body[0] & 1), body[1])
    if ptype in (PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK):
        if n != 2:
            raise MQTTError("malformed ack (type %d, %d bytes)" % (ptype, n))
        return (ptype, (body[0] << 8) | body[1])
    if ptype == SUBACK:
        if n < 3:
            raise MQTTError("malformed SUBACK")
        codes = list(body[2:])
        for c in codes:
            if c not in (0, 1, 2, 0x80):
                raise MQTTError("bad SUBACK return code 0x%x" % c)
        return (SUBACK, (body[0] << 8) | body[1], codes)
    if ptype in (PINGREQ, PINGRESP, DISCONNECT):
        if n:
            raise MQTTError("packet type %d must have no body" % ptype)
        return (ptype,)
    raise MQTTError("unexpected packet type %d" % ptype)
