"""The bed's services for checks beyond ping (host_tools/netbed: web.py, carrier.py, probe.py): the
HTTP check object through each ISP, from the router bound to the link's device and from the LAN;
each captive-portal mode of one ISP while the other stays normal, with ICMP, UDP and DNS
untouched; each DNS fault of an ISP's resolver (and the carrier that intercepts every resolver);
the public resolver in the internet through both links; the VoIP host's UDP echo for the LAN's
fixed 5-tuple flow. One bed for the module: every test leaves the carriers normal."""
import time
import urllib.parse

import pytest

from host_tools.netbed import NetBed
from host_tools.netbed.lanclient import UDP_SPORT
from host_tools.netbed.plan import (CHECK_BODY, CHECK_NAME, CHECK_URL, CHECK_URL6, LINKS, LINKS6, RESOLVER, RESOLVER6,
                                    SERVER, SERVER6, TARGETS, TARGETS6, UPLINKS, VOIP, VOIP6)
from tests.support.netbed_tools import router_tool, wait_all_ok

pytestmark = pytest.mark.netns

SLOW_S = 1.5


@pytest.fixture(scope="module")
def bed():
    with NetBed() as b:
        yield b


@pytest.fixture(autouse=True)
def normal_carriers(bed):
    yield
    for link in UPLINKS:
        bed.http_mode(link, "normal")
        bed.dns_mode(link, "ok")


def last_request(bed, where="internet", since=0.0):
    got = [r for r in bed.http_log(where) if r["t"] >= since]
    return got[-1] if got else None


def icmp_and_udp_work(bed, link):
    for dst in (TARGETS[0], TARGETS6[0]):
        assert router_tool(bed, "ping", link, "-", dst, 3, 0.1)["replies"] == [dst] * 3, (link, dst)
    for dst in (SERVER, SERVER6):
        assert router_tool(bed, "udp", link, "-", dst)["ok"], (link, dst)


@pytest.mark.parametrize("link", ["wan", "wwan"])
def test_check_object_through_each_isp_from_the_router_bound_to_its_device(bed, link):
    for url, src in ((CHECK_URL, LINKS[link][0]), (CHECK_URL6, LINKS6[link][0])):
        t = time.monotonic()
        r = bed.http_get(url, dev=link)
        print(link, url, r["status"], repr(r["body"]), r["elapsed_s"])
        assert r["status"] == 200 and r["body"] == CHECK_BODY + "\n", r
        assert r["headers"]["content-type"] == "text/plain"
        seen = last_request(bed, since=t)
        assert seen["client"] == src and seen["path"] == "/check", seen  # it went through that ISP
    r = bed.http_get("http://%s/generate_204" % SERVER, dev=link)
    assert r["status"] == 204 and r["bytes"] == 0, r
    r = bed.http_get("http://[%s]/blob?bytes=300000" % SERVER6, dev=link)
    assert r["status"] == 200 and r["bytes"] == 300000 and r["headers"]["content-length"] == "300000", r
    assert bed.http_get("http://%s/nothing" % SERVER, dev=link)["status"] == 404


def test_check_object_from_the_lan_through_each_isp(bed):
    def lan_gets(link):
        for url, src in ((CHECK_URL, LINKS[link][0]), (CHECK_URL6, LINKS6[link][0])):
            t = time.monotonic()
            r = bed.http_get(url, where="lan")
            assert r["status"] == 200 and CHECK_BODY in r["body"], r
            assert last_request(bed, since=t)["client"] == src  # masqueraded onto that uplink

    lan_gets("wan")  # the default routes
    try:
        for fam in ("-4", "-6"):
            assert bed.run_router(["ip", fam, "route", "del", "default", "dev", "wan"]).returncode == 0
        lan_gets("wwan")
    finally:
        for fam, table in (("-4", LINKS), ("-6", LINKS6)):
            _, gw, metric = table["wan"]
            bed.run_router(["ip", fam, "route", "replace", "default", "via", gw, "dev", "wan", "metric", str(metric)])


def expect_mode(mode, r, url, portal):
    if mode == "portal302":
        assert r["status"] == 302 and CHECK_BODY not in r["body"], r
        assert r["headers"]["location"] == portal + "?url=" + urllib.parse.quote(url, safe=""), r
    elif mode == "portal200":
        assert r["status"] == 200 and CHECK_BODY not in r["body"] and "allowance" in r["body"], r
    else:  # slow: the real answer, late
        assert r["status"] == 200 and CHECK_BODY in r["body"], r
        assert SLOW_S - 0.05 <= r["elapsed_s"] <= SLOW_S + 1.0, r


@pytest.mark.parametrize("mode", ["portal302", "portal200", "slow"])
def test_portal_mode_of_one_isp_leaves_the_other_and_icmp_alone(bed, mode):
    b = UPLINKS["wwan"]
    bed.http_mode("wwan", mode, delay_s=SLOW_S)
    for url, portal, src in ((CHECK_URL, b["portal"], b["addr"]), (CHECK_URL6, b["portal6"], b["addr6"])):
        t = time.monotonic()
        r = bed.http_get(url, dev="wwan")
        print(mode, url, r["status"], r["headers"].get("location"), r["elapsed_s"])
        expect_mode(mode, r, url, portal)
        seen = last_request(bed, "wwan", since=t)
        assert seen["kind"] == "http" and seen["client"] == src and seen["mode"] == mode, seen
        reached = last_request(bed, since=t)
        if mode == "slow":  # the carrier's proxy asked the server
            assert reached["client"] in (b["core"][0], b["core6"][0]), reached
        else:
            assert reached is None, reached
        other = bed.http_get(url, dev="wan")
        assert other["status"] == 200 and CHECK_BODY in other["body"] and other["elapsed_s"] < 1, other
    assert bed.intercepts("wwan") == {"http": 1, "http6": 1}
    assert bed.intercepts("wan") == {}
    lan = bed.http_get(CHECK_URL, where="lan")  # by wan: normal
    assert lan["status"] == 200 and CHECK_BODY in lan["body"], lan
    icmp_and_udp_work(bed, "wwan")
    assert bed.dns_query(b["dns"], CHECK_NAME, dev="wwan")["addrs"] == [SERVER]
    if mode == "slow":  # a check that gives up sooner sees no answer
        r = bed.http_get(CHECK_URL, dev="wwan", timeout=SLOW_S - 0.5)
        assert r["status"] is None and "Timeout" in r["error"], r
    # the same mode on the LAN's own line: the LAN's HTTP is intercepted too
    a = UPLINKS["wan"]
    bed.http_mode("wan", mode, delay_s=SLOW_S)
    t = time.monotonic()
    r = bed.http_get(CHECK_URL, where="lan")
    expect_mode(mode, r, CHECK_URL, a["portal"])
    assert last_request(bed, "wan", since=t)["client"] == a["addr"]  # the router's masquerade address
    bed.http_mode("wan", "normal")
    bed.http_mode("wwan", "normal")
    assert bed.intercepts("wwan") == {}
    r = bed.http_get(CHECK_URL, dev="wwan")
    assert r["status"] == 200 and CHECK_BODY in r["body"] and r["elapsed_s"] < 1, r


def test_the_portal_page_itself_is_served_in_every_portal_mode(bed):
    bed.http_mode("wan", "portal302")
    r = bed.http_get(bed.http_get(CHECK_URL, dev="wan")["headers"]["location"], dev="wan")
    assert r["status"] == 200 and "allowance" in r["body"], r  # following the redirect lands on the portal


@pytest.mark.parametrize("mode", ["ok", "drop", "servfail", "wrong"])
def test_dns_mode_of_one_isp(bed, mode):
    a, b = UPLINKS["wan"], UPLINKS["wwan"]
    bed.dns_mode("wan", mode)
    for server, qtype, right, wrong in ((a["dns"], "A", SERVER, a["gw"]), (a["dns6"], "AAAA", SERVER6, a["gw6"])):
        r = bed.dns_query(server, CHECK_NAME, qtype, dev="wan", timeout=1.0)
        print(mode, server, qtype, r)
        want = {"ok": (0, [right]), "drop": (None, []), "servfail": (2, []), "wrong": (0, [wrong])}[mode]
        assert (r["rcode"], r["addrs"]) == want, r
        # the other ISP's resolver and the public one through this ISP are not affected
        other = b["dns"] if qtype == "A" else b["dns6"]
        assert bed.dns_query(other, CHECK_NAME, qtype, dev="wwan")["addrs"] == [right]
        public = RESOLVER if qtype == "A" else RESOLVER6
        assert bed.dns_query(public, CHECK_NAME, qtype, dev="wan")["addrs"] == [right]
    seen = bed.intercepts("wan")
    assert seen == ({} if mode == "ok" else {"dns": 1, "dns6": 1}), seen
    icmp_and_udp_work(bed, "wan")
    assert bed.http_get(CHECK_URL, dev="wan")["status"] == 200


def test_a_carrier_that_intercepts_all_dns_breaks_the_public_resolver_too(bed):
    bed.dns_mode("wan", "wrong", intercept=True)
    assert bed.dns_query(RESOLVER, CHECK_NAME, dev="wan")["addrs"] == [UPLINKS["wan"]["gw"]]
    assert bed.dns_query(RESOLVER6, CHECK_NAME, "AAAA", dev="wan")["addrs"] == [UPLINKS["wan"]["gw6"]]
    assert bed.dns_query(RESOLVER, CHECK_NAME, dev="wwan")["addrs"] == [SERVER]
    bed.dns_mode("wan", "drop", intercept=True)
    assert bed.dns_query(RESOLVER, CHECK_NAME, dev="wan", timeout=1.0)["rcode"] is None
    bed.dns_mode("wan", "ok")  # at once: the next query is answered right
    assert bed.dns_query(RESOLVER, CHECK_NAME, dev="wan")["addrs"] == [SERVER]


def test_public_resolver_answers_through_both_links_and_from_the_lan(bed):
    for link in ("wan", "wwan"):
        for server, qtype, want in ((RESOLVER, "A", SERVER), (RESOLVER6, "AAAA", SERVER6)):
            for name in (CHECK_NAME, "other.test.example"):
                r = bed.dns_query(server, name, qtype, dev=link)
                assert r["rcode"] == 0 and r["addrs"] == [want], (link, server, name, r)
    log = bed.dns_log("internet")
    for link in ("wan", "wwan"):  # asked from each link's own address
        assert "from %s" % LINKS[link][0] in log and "from %s" % LINKS6[link][0] in log, log
    assert bed.dns_query(RESOLVER, CHECK_NAME, where="lan")["addrs"] == [SERVER]
    assert bed.dns_query(RESOLVER, "example.org", dev="wan")["rcode"] != 0  # only its own zone


def test_voip_host_echoes_the_lan_fixed_5_tuple_flow(bed):
    with bed.lan_client(kinds=("udp4", "udp6"), udp_server=VOIP) as c:
        assert c.udp_server == (VOIP, VOIP6)
        wait_all_ok(c, c.kinds)
        t = time.monotonic()
        time.sleep(2.2)
        rep = c.report(t, t + 1.2)
        print(rep, {k: max(c.rtts(k, t, t + 1.2)) for k in c.kinds})
        assert all(r["ok"] == r["sent"] >= 50 for r in rep.values()), rep
        for fam, dst in (("ipv4", VOIP), ("ipv6", VOIP6)):
            out = bed.conntrack("-L", "-f", fam, "-p", "udp", "--dport", "7000")
            assert "dst=%s sport=%d" % (dst, UDP_SPORT) in out, out
    with pytest.raises(ValueError):
        bed.lan_client(udp_server="10.9.0.99")
