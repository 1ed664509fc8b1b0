# mqtt/codec.py: pure MQTT 3.1.1 packet encoding/decoding (no I/O, no time).
# Encoders return bytes; Parser turns a stream of TCP chunks into whole packets and decode() turns
# packet bodies into small tuples.
#
# Inbound input is hostile until proven otherwise (a misconfigured controller, anyone with publish
# rights on a shared broker, a broken middlebox), so the framing and the meaning are checked apart:
# - Parser only frames. A packet over max_packet is streamed past without being buffered (its
#   header, topic, packet id and first payload bytes are kept: the caller still acknowledges it
#   and can answer it) and reported as an OVERSIZE pseudo-packet. Parser raises MQTTError only
#   when the framing is lost (a Remaining Length of 5+ bytes): then the connection must go.
# - decode() raises MQTTError for anything malformed or not meant for a client (reserved types,
#   bad flags, bad UTF-8 topics...). The packet's boundaries are known, so the caller discards it
#   and reads on: one bad packet never costs the connection.

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
OVERSIZE = 16  # not an MQTT type: a packet over the limit that Parser streamed past (see Parser)

NAMES = ("reserved type 0", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP",
         "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT",
         "reserved type 15")

MAX_REMAINING = 268435455  # 4-byte varint limit from the spec (§2.2.3)
DEFAULT_MAX_PACKET = 4096  # what this device accepts inbound; commands are small
TOPIC_KEEP = 256  # an oversize PUBLISH's topic is kept when it is at most this long
HEAD_KEEP = 128  # ... and so are the first bytes of its payload (a command's id is there)

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
_REST = MAX_REMAINING + 1  # "until the end of the packet" for the last skip stage


class Parser:
    """Incremental framer: feed() TCP chunks, next() returns (type, flags, body) per whole packet,
    or None until one is complete. Types and flags are not checked here (decode() does).

    A packet whose Remaining Length exceeds max_packet is read and discarded as it arrives: the
    buffer never holds more than one packet of at most max_packet plus the last chunk, whatever
    length is declared (up to 268,435,455). When its last byte has gone by, next() returns
    (OVERSIZE, flags, (type, length, topic, pid, payload_len, head)) with what could be kept of a
    PUBLISH: topic bytes (None if longer than TOPIC_KEEP or cut short), packet id (None for QoS 0
    or if cut short), payload length (None if the header was cut short) and the first HEAD_KEEP
    payload bytes. MQTTError is raised only for a Remaining Length longer than 4 bytes: the
    framing is lost and nothing after it can be trusted."""

    def __init__(self, max_packet=DEFAULT_MAX_PACKET):
        self.max_packet = max_packet
        self.buf = bytearray()
        self.pos = 0  # start of the unparsed part (MicroPython bytearray has no slice deletion)
        self.skipping = 0  # bytes of an oversize packet still to stream past
        self._done = None  # an oversize packet feed() finished, for the next next()

    def feed(self, data):
        i = self._skip(data, 0) if self.skipping else 0
        if i >= len(data):
            return
        if self.pos:
            self.buf = self.buf[self.pos:]
            self.pos = 0
        self.buf.extend(data[i:] if i else data)

    def pending(self):
        return len(self.buf) - self.pos

    def next(self):
        done = self._done
        if done is not None:
            self._done = None
            return done
        buf = self.buf
        pos = self.pos
        if self.skipping or pos >= len(buf):
            return None
        first = buf[pos]
        r = decode_varint(buf, pos + 1)
        if r is None:
            return None
        length, start = r
        if length > self.max_packet:
            self._begin(first, length)
            i = self._skip(buf, start)
            if i >= len(buf):
                self.buf = bytearray()
                self.pos = 0
            else:
                self.pos = i
            done = self._done
            self._done = None
            return done  # None while the rest of it is still to come
        end = start + length
        if len(buf) < end:
            return None
        body = bytes(memoryview(buf)[start:end])  # one copy (a bytearray slice would be another)
        if end >= len(buf):
            self.buf = bytearray()
            self.pos = 0
        else:
            self.pos = end
        return first >> 4, first & 0x0F, body

    # --- streaming past an oversize packet ----------------------------------------------------
    # A PUBLISH body is: topic length (2), topic, packet id (2, QoS > 0), payload. Stages: 0 topic
    # length, 1 topic, 2 packet id, 3 payload head, 4 the rest; _left counts the current stage's
    # bytes, _keep says whether they are kept (in _cap).
    def _begin(self, first, length):
        self.skipping = length
        self._first = first
        self._length = length
        self._tlen = -1
        self._topic = None
        self._pid = None
        self._head = b""
        self._cap = bytearray()
        if first >> 4 == PUBLISH:
            self._stage, self._left, self._keep = 0, 2, True
        else:
            self._stage, self._left, self._keep = 4, _REST, False

    def _stage_done(self):
        cap = self._cap
        self._cap = bytearray()
        st = self._stage
        if st == 0:
            self._tlen = (cap[0] << 8) | cap[1]
            self._stage, self._left, self._keep = 1, self._tlen, self._tlen <= TOPIC_KEEP
        elif st == 1:
            if self._keep:
                self._topic = bytes(cap)
            if (self._first >> 1) & 3:
                self._stage, self._left, self._keep = 2, 2, True
            else:
                self._stage, self._left, self._keep = 3, HEAD_KEEP, True
        elif st == 2:
            self._pid = (cap[0] << 8) | cap[1]
            self._stage, self._left, self._keep = 3, HEAD_KEEP, True
        else:
            self._head = bytes(cap)
            self._stage, self._left, self._keep = 4, _REST, False

    def _skip(self, data, i):
        """Stream past the oversize packet's bytes in data[i:]; returns the index after them."""
        n = len(data)
        while i < n and self.skipping:
            k = n - i
            if k > self.skipping:
                k = self.skipping
            if k > self._left:
                k = self._left
            if self._keep:
                self._cap.extend(data[i:i + k])
            i += k
            self.skipping -= k
            self._left -= k
            while not self._left and self._stage < 4:  # (a zero-length topic ends stage 1 at once)
                self._stage_done()
        if not self.skipping:
            self._finish()
        return i

    def _finish(self):
        if self._stage == 3:  # payload shorter than HEAD_KEEP
            self._head = bytes(self._cap)
        self._cap = bytearray()
        plen = None
        if self._first >> 4 == PUBLISH:
            if self._stage >= 3:
                plen = self._length - 2 - self._tlen - (2 if self._pid is not None else 0)
            else:  # the declared length ended inside the header: topic and id are not whole
                self._topic = self._pid = None
        self._done = (OVERSIZE, self._first & 0x0F,
                      (self._first >> 4, self._length, self._topic, self._pid, plen, self._head))


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


def _topic(raw):
    """A PUBLISH topic from the broker as str, or None: not UTF-8, empty, wildcards, NUL."""
    try:
        t = bytes(raw).decode()
    except UnicodeError:
        return None
    if not t or "#" in t or "+" in t or "\x00" in t:
        return None
    return t


def publish_pid(flags, body):
    """The packet id of a QoS 1 PUBLISH body whose topic may be unusable, or None (QoS 0, 2 or 3,
    cut short, id 0): a discarded QoS 1 message is still acknowledged when its id can be read."""
    if (flags >> 1) & 3 != 1 or len(body) < 2:
        return None
    pos = 2 + ((body[0] << 8) | body[1])
    if pos + 2 > len(body):
        return None
    return ((body[pos] << 8) | body[pos + 1]) or None


def decode(ptype, flags, body):
    """Decode a framed packet into a tuple whose first item is the type:
    (CONNACK, session_present, rc) (PUBLISH, topic, payload, qos, retain, dup, pid)
    (PUBACK|PUBREC|PUBREL|PUBCOMP|UNSUBACK, pid) (SUBACK, pid, [codes]) (PINGRESP,) (PINGREQ,)
    (DISCONNECT,) (OVERSIZE, type, length, topic|None, payload_len|None, qos, retain, pid|None,
    head). Anything else (reserved types, bad flags, CONNECT/SUBSCRIBE/UNSUBSCRIBE, anything
    malformed) raises MQTTError. The broker side of the protocol lives in tests/mqtt/brokercodec.py:
    the device never needs it."""
    if ptype == OVERSIZE:
        t, length, topic, pid, plen, head = body
        if t == PUBLISH and topic is not None:
            topic = _topic(topic)
        return (OVERSIZE, t, length, topic, plen, (flags >> 1) & 3, bool(flags & 1), pid, head)
    if ptype == 0 or ptype == 15:
        raise MQTTError("not an MQTT packet type (reserved)")
    if ptype == PUBLISH:
        if (flags >> 1) & 3 == 3:
            raise MQTTError("PUBLISH with QoS 3")
    elif flags != _FLAGS[ptype]:
        raise MQTTError("bad flags 0x%x on %s" % (flags, NAMES[ptype]))
    n = len(body)
    if ptype == PUBLISH:
        qos = (flags >> 1) & 3
        tlen, pos = _read_u16(body, 0)
        if pos + tlen > n:
            raise MQTTError("truncated PUBLISH topic")
        topic = _topic(body[pos:pos + tlen])
        if topic is None:
            raise MQTTError("invalid PUBLISH topic (empty, wildcard, NUL or not UTF-8)")
        pos += tlen
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
            raise MQTTError("malformed %s (%d bytes)" % (NAMES[ptype], n))
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
            raise MQTTError("%s with a body" % NAMES[ptype])
        return (ptype,)
    raise MQTTError("unexpected %s from the broker" % NAMES[ptype])
