"""dns.py codec: queries byte for byte, responses hand-built and captured from a real server
(dnsmasq 2.90), every check of parse(), and the IP-literal checks it relies on."""
import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wanwatch import dns
from wanwatch.dns import AAAA, A, DNSError, NXDomain, Unrelated
from wanwatch.names import is_ip, is_ipv4, is_ipv6

BROKER = dns.encode_name("broker.test")
QID = 0x1234

# Captured from dnsmasq 2.90 (tests/support/dnsserver.py: --host-record broker.test,127.0.0.1,
# multi.test with 192.0.2.1, 192.0.2.2 and 2001:db8::2, --cname mqtt.test,broker.test and
# chain.test,mqtt.test, --local=/test/, --local-ttl 300), query id 0x1234, by tests/support/
# dnsserver.ask(), which builds its queries independently of the firmware.
REAL = {
    ("broker.test", A): "1234858000010001000000000662726f6b657204746573740000010001c00c0001000100"
                        "00012c00047f000001",
    ("broker.test", AAAA): "1234818000010000000000000662726f6b6572047465737400001c0001",
    ("nope.test", A): "123481830001000000000000046e6f706504746573740000010001",
    ("multi.test", A): "123485800001000200000000056d756c746904746573740000010001c00c000100010000"
                       "012c0004c0000201c00c000100010000012c0004c0000202",
    ("multi.test", AAAA): "123485800001000100000000056d756c7469047465737400001c0001c00c001c000100"
                          "00012c001020010db8000000000000000000000002",
    ("chain.test", A): "12348580000100030000000005636861696e04746573740000010001c00c000500010000"
                       "012c000b046d717474047465737400c028000500010000012c000d0662726f6b65720474"
                       "65737400c03f000100010000012c00047f000001",
    ("mqtt.test", A): "123485800001000200000000046d71747404746573740000010001c00c00050001000001"
                      "2c000d0662726f6b6572047465737400c027000100010000012c00047f000001",
}


def real(name, qtype):
    return bytes.fromhex(REAL[(name, qtype)])


def header(qid=QID, flags=0x8180, qd=1, an=0, ns=0, ar=0):
    return bytes([qid >> 8, qid & 255, flags >> 8, flags & 255, 0, qd, 0, an, 0, ns, 0, ar])


def question(name=b"\x06broker\x04test\x00", qtype=A):
    return name + bytes([0, qtype, 0, 1])


def rr(owner, rtype, ttl, rdata, rclass=1):
    return owner + bytes([rtype >> 8, rtype & 255, 0, rclass]) + ttl.to_bytes(4, "big") + \
        len(rdata).to_bytes(2, "big") + rdata


PTR_Q = b"\xc0\x0c"  # pointer to the question's name


# --- queries ----------------------------------------------------------------------------------
def test_query_bytes():
    qid, pkt = dns.query("Broker.Test.", A, qid=0xBEEF)
    assert qid == 0xBEEF
    assert pkt == bytes.fromhex("beef01000001000000000000") + b"\x06broker\x04test\x00" + b"\x00\x01\x00\x01"
    assert dns.query("broker.test", AAAA, qid=1)[1][-4:] == b"\x00\x1c\x00\x01"


def test_query_id_is_random():
    ids = {dns.query("broker.test")[0] for _ in range(64)}
    assert len(ids) > 50  # 64 draws from 65536: collisions are rare, a constant id would be 1


@pytest.mark.parametrize("bad", ["", ".", "a..b", "a" * 64 + ".test", ".".join(["a" * 60] * 5),
                                 "b\u00e9.test", "a b.test", "a/b", None, 5])
def test_bad_names_rejected(bad):
    with pytest.raises(DNSError):
        dns.encode_name(bad)


def test_longest_names():
    name = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])  # 253 characters
    assert len(dns.encode_name(name)) == 255
    with pytest.raises(DNSError):
        dns.encode_name(name + "d")


# --- responses from a real server ---------------------------------------------------------------
def test_real_a():
    assert dns.parse(real("broker.test", A), QID, BROKER, A) == (["127.0.0.1"], 300)


def test_real_nodata_and_nxdomain():
    assert dns.parse(real("broker.test", AAAA), QID, BROKER, AAAA) == ([], 0)
    with pytest.raises(NXDomain):
        dns.parse(real("nope.test", A), QID, dns.encode_name("nope.test"), A)


def test_real_several_addresses_and_ipv6():
    multi = dns.encode_name("multi.test")
    assert dns.parse(real("multi.test", A), QID, multi, A) == (["192.0.2.1", "192.0.2.2"], 300)
    assert dns.parse(real("multi.test", AAAA), QID, multi, AAAA) == (["2001:db8::2"], 300)


def test_real_cname_chains():
    assert dns.parse(real("mqtt.test", A), QID, dns.encode_name("mqtt.test"), A) == (["127.0.0.1"], 300)
    assert dns.parse(real("chain.test", A), QID, dns.encode_name("CHAIN.test"), A) == (["127.0.0.1"], 300)


def test_real_response_to_another_query_is_unrelated():
    msg = real("broker.test", A)
    with pytest.raises(Unrelated):
        dns.parse(msg, QID + 1, BROKER, A)  # id
    with pytest.raises(Unrelated):
        dns.parse(msg, QID, dns.encode_name("other.test"), A)  # question
    with pytest.raises(Unrelated):
        dns.parse(msg, QID, BROKER, AAAA)  # type


def test_every_truncation_of_real_responses_is_a_dnserror():
    for (name, qtype), hexmsg in REAL.items():
        msg = bytes.fromhex(hexmsg)
        for n in range(len(msg)):
            with pytest.raises(DNSError):
                dns.parse(msg[:n], QID, dns.encode_name(name), qtype)


# --- hand-built responses -------------------------------------------------------------------------
def test_minimum_ttl_along_the_chain():
    target = b"\x03srv\x04test\x00"
    msg = header(an=3) + question() + rr(PTR_Q, 5, 100, target) + rr(target, 1, 50, bytes([10, 0, 0, 1])) + \
        rr(target, 1, 70, bytes([10, 0, 0, 2]))
    assert dns.parse(msg, QID, BROKER, A) == (["10.0.0.1", "10.0.0.2"], 50)
    msg = header(an=2) + question() + rr(PTR_Q, 5, 20, target) + rr(target, 1, 50, bytes([10, 0, 0, 1]))
    assert dns.parse(msg, QID, BROKER, A) == (["10.0.0.1"], 20)


def test_ttl_with_top_bit_is_zero_and_huge_ttl_capped():
    msg = header(an=1) + question() + rr(PTR_Q, 1, 0x80000001, bytes([10, 0, 0, 1]))
    assert dns.parse(msg, QID, BROKER, A)[1] == 0
    msg = header(an=1) + question() + rr(PTR_Q, 1, 0x7FFFFFFF, bytes([10, 0, 0, 1]))
    assert dns.parse(msg, QID, BROKER, A)[1] == dns.TTL_CAP


def test_records_of_other_names_types_and_classes_are_ignored():
    other = b"\x05other\x04test\x00"
    msg = header(an=4) + question() + rr(other, 1, 60, bytes([6, 6, 6, 6])) + \
        rr(PTR_Q, 16, 60, b"\x03txt") + rr(PTR_Q, 1, 60, bytes([7, 7, 7, 7]), rclass=3) + \
        rr(PTR_Q, 1, 60, bytes([10, 0, 0, 9]))
    assert dns.parse(msg, QID, BROKER, A) == (["10.0.0.9"], 60)


def test_cname_loop_and_long_chain_fail():
    a, b = b"\x01a\x04test\x00", b"\x01b\x04test\x00"
    loop = header(an=3) + question() + rr(PTR_Q, 5, 60, a) + rr(a, 5, 60, b) + rr(b, 5, 60, a)
    with pytest.raises(DNSError, match="CNAME chain"):
        dns.parse(loop, QID, BROKER, A)
    names = [b"\x02c%d\x04test\x00" % i for i in range(10)]
    chain = rr(PTR_Q, 5, 60, names[0]) + b"".join(rr(names[i], 5, 60, names[i + 1]) for i in range(9))
    with pytest.raises(DNSError, match="CNAME chain"):
        dns.parse(header(an=10) + question() + chain, QID, BROKER, A)


def test_cname_without_address_is_nodata():
    msg = header(an=1) + question() + rr(PTR_Q, 5, 60, b"\x03srv\x04test\x00")
    assert dns.parse(msg, QID, BROKER, A) == ([], 0)


def test_error_rcodes():
    for rcode, text in ((1, "format error"), (2, "server failure"), (4, "not implemented"), (5, "refused"),
                        (9, "rcode 9")):
        msg = header(flags=0x8180 | rcode) + question()
        with pytest.raises(DNSError, match=text):
            dns.parse(msg, QID, BROKER, A)
        with pytest.raises(DNSError, match=text):  # some servers leave the question out
            dns.parse(header(flags=0x8180 | rcode, qd=0), QID, BROKER, A)


def test_unrelated_messages():
    ok = header(an=1) + question() + rr(PTR_Q, 1, 60, bytes([1, 2, 3, 4]))
    for bad in (header(flags=0x0100, an=1) + ok[12:],     # a query, not a response
                header(flags=0x8980, an=1) + ok[12:],     # opcode 1
                header(qd=2, an=1) + ok[12:],             # two questions
                header(qd=0, an=1) + ok[12:],             # no question, no error
                header(qd=0, flags=0x8183),               # NXDOMAIN for no question
                header(an=1) + question(qtype=A)[:-1] + b"\x03" + ok[29:],  # class CH
                ok[:11]):
        with pytest.raises(Unrelated):
            dns.parse(bad, QID, BROKER, A)


def test_truncated_flag_and_bad_address_length():
    msg = header(flags=0x8380, an=1) + question() + rr(PTR_Q, 1, 60, bytes([1, 2, 3, 4]))
    with pytest.raises(DNSError, match="truncated"):
        dns.parse(msg, QID, BROKER, A)
    msg = header(an=1) + question() + rr(PTR_Q, 1, 60, bytes([1, 2, 3]))
    with pytest.raises(DNSError, match="3 bytes"):
        dns.parse(msg, QID, BROKER, A)


def test_compression_pointers_must_point_backwards():
    fwd = header(an=1) + question() + rr(b"\xc0\x1f", 1, 60, bytes(4))  # owner: pointer to offset 31, ahead
    with pytest.raises(DNSError, match="backwards"):
        dns.parse(fwd, QID, BROKER, A)
    # the question itself: a pointer to itself, and two pointers forming a loop
    with pytest.raises(DNSError, match="backwards"):
        dns.read_name(header() + b"\xc0\x0c", 12)
    loop = header() + b"\x01a\xc0\x0e" + b"\xc0\x0c"  # 12: 'a' then pointer to 14; 14: pointer to 12
    with pytest.raises(DNSError):
        dns.read_name(loop, 14)
    with pytest.raises(DNSError, match="label type"):
        dns.read_name(header() + b"\x41a\x00", 12)


def test_pointer_chain_is_bounded():
    # at 12 the root name; at 13, 15, 17 ... pointers each to the one before: all point backwards,
    # 40 of them are stopped at MAX_JUMPS
    msg = header() + b"\x00" + bytes([0xC0, 12]) + b"".join(bytes([0xC0, 13 + 2 * i]) for i in range(39))
    assert dns.read_name(msg, 13) == (b"\x00", 15)
    with pytest.raises(DNSError, match="too many"):
        dns.read_name(msg, len(msg) - 2)


def test_ip6_text_matches_python():
    for text in ("::", "::1", "1::", "2001:db8::1", "2001:db8:0:1:1:1:1:1", "2001:0:0:1::1", "fe80::",
                 "1:0:0:2:0:0:0:3", "0:0:1::", "::ffff:1.2.3.4"):
        b = ipaddress.IPv6Address(text).packed
        assert dns.ip6_text(b) == ipaddress.IPv6Address(text).compressed


@settings(max_examples=500, deadline=None)
@given(st.binary(min_size=16, max_size=16) | st.lists(st.sampled_from([0, 0, 0, 1, 0xffff]), min_size=8,
                                                     max_size=8).map(lambda g: b"".join(x.to_bytes(2, "big") for x in g)))
def test_ip6_text_roundtrip(b):
    text = dns.ip6_text(b)
    assert ipaddress.IPv6Address(text).packed == b
    assert is_ipv6(text)
    assert text == ipaddress.IPv6Address(b).compressed


# --- IP literals (names.py) -------------------------------------------------------------------------
def _py_is_ipv6(s):
    try:
        ipaddress.IPv6Address(s)
        return True
    except ValueError:
        return False


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet="0123456789abcdefABCDEF:.", max_size=45))
def test_is_ipv6_agrees_with_ipaddress(s):
    assert is_ipv6(s, zone=False) == _py_is_ipv6(s), s


@settings(max_examples=300, deadline=None)
@given(st.ip_addresses())
def test_every_address_is_a_literal(a):
    assert is_ip(str(a)) and is_ip(a.exploded)
    assert is_ipv4(str(a)) == (a.version == 4)


def test_literal_edge_cases():
    assert is_ip("fe80::1%eth0") and not is_ip("fe80::1%") and not is_ip("fe80::1%a b")
    for s in ("1.2.3", "0x7f.0.0.1", "256.1.1.1", "1.2.3.4.", "broker.test", "", "[::1]", None, 5):
        assert not is_ip(s), s
