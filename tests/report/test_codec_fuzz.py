"""Property tests: the parser survives any byte stream (only MQTTError, never another exception),
frames it the same whatever the TCP chunking, keeps at most one packet within its limit buffered
(bigger ones are streamed past), and PUBLISH round-trips for any topic/payload/flags."""
from hypothesis import given, settings
from hypothesis import strategies as st

from wanwatch.report.mqtt import codec
from wanwatch.report.mqtt.codec import MQTTError, Parser

TOPIC = st.text(alphabet=st.characters(blacklist_characters="#+\x00", blacklist_categories=("Cs",)),
                min_size=1, max_size=40)


def frames(data, cuts, max_packet):
    """What a Parser makes of data fed in pieces of the sizes in cuts: the decoded packets (or the
    MQTTError text of each discarded one), then "lost: ..." if the framing was lost; and the
    most it kept buffered between feeds. Only MQTTError may come out of next() or decode()."""
    p = Parser(max_packet=max_packet)
    out = []
    most = 0
    pos = 0
    for c in cuts + [len(data)]:
        piece = data[pos:pos + c]
        pos += c
        p.feed(piece)
        while True:
            try:
                pk = p.next()
            except MQTTError as e:
                return out + ["lost: %s" % e], most
            if pk is None:
                break
            try:
                out.append(codec.decode(*pk))
            except MQTTError as e:
                out.append(str(e))
        most = max(most, p.pending())
    return out, most


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600), st.lists(st.integers(1, 50), max_size=12), st.sampled_from([16, 64, 256]))
def test_parser_any_stream_any_chunking(data, cuts, max_packet):
    out, most = frames(data, cuts, max_packet)
    # the same packets whatever the TCP chunking (here: one byte at a time)
    assert frames(data, [1] * len(data), max_packet)[0] == out
    # what stays buffered between feeds: at most one partial packet within the limit (+ header)
    assert most <= max_packet + 5


@settings(max_examples=200, deadline=None)
@given(TOPIC, st.binary(max_size=600), st.integers(0, 1), st.booleans(), st.booleans(), st.integers(1, 65535))
def test_publish_roundtrip(topic, payload, qos, retain, dup, pid):
    pkt = codec.publish(topic, payload, qos, retain, dup, pid if qos else None)
    p = Parser(max_packet=1024)
    p.feed(pkt)
    d = codec.decode(*p.next())
    assert d == (codec.PUBLISH, topic, payload, qos, retain, dup and qos == 1, pid if qos else None)
    assert p.next() is None
