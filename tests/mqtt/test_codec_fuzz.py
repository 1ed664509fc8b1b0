"""Property tests: the parser survives any byte stream (only MQTTError, never another exception)
and PUBLISH round-trips for any topic/payload/flags."""
from hypothesis import given, settings
from hypothesis import strategies as st

from wanwatch.mqtt import codec
from wanwatch.mqtt.codec import MQTTError, Parser

TOPIC = st.text(alphabet=st.characters(blacklist_characters="#+\x00", blacklist_categories=("Cs",)),
                min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(1, 50), max_size=10))
def test_parser_only_raises_mqtterror(data, cuts):
    p = Parser(max_packet=256)
    pos = 0
    try:
        for c in cuts + [len(data)]:
            p.feed(data[pos:pos + c])
            pos += c
            while True:
                pk = p.next()
                if pk is None:
                    break
                codec.decode(*pk)
    except MQTTError:
        pass


@settings(max_examples=200, deadline=None)
@given(TOPIC, st.binary(max_size=600), st.integers(0, 1), st.booleans(), st.booleans(), st.integers(1, 65535))
def test_publish_roundtrip(topic, payload, qos, retain, dup, pid):
    pkt = codec.publish(topic, payload, qos, retain, dup, pid if qos else None)
    p = Parser(max_packet=1024)
    p.feed(pkt)
    d = codec.decode(*p.next())
    assert d == (codec.PUBLISH, topic, payload, qos, retain, dup and qos == 1, pid if qos else None)
    assert p.next() is None
