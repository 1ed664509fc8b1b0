"""The test bed itself (host_tools/netbed), before any agent runs on it: the LAN client reaches the
internet over both uplinks through NAT in both families; the ISPs drop foreign sources and answer
DNS only for their own customers; a killed upstream cuts every kind of LAN traffic while the link
and its neighbours stay up; a manual route switch (what the agent will do) brings every kind back;
the netifd-like shims fire the package's real hotplug script; the responder logs probe arrivals."""
import json
import os
import subprocess
import time

import pytest

from host_tools.netbed import LINKS, LINKS6, SERVER, SERVER6, TARGETS, TARGETS6, NetBed
from host_tools.netbed.lanclient import KINDS
from host_tools.netbed.plan import UPLINKS
from tests.support.netbed_tools import router_tool, wait_all_ok

pytestmark = pytest.mark.netns

WAN_DNS = (UPLINKS["wan"]["dns"], UPLINKS["wan"]["dns6"])

# lets the router send with another link's source address: untracked packets skip the NAT
NO_NAT = """table inet spoof {
\tchain out {
\t\ttype filter hook output priority -300; policy accept;
\t\tip saddr 10.2.0.2 oifname "wan" notrack
\t\tip6 saddr 2001:db8:b::2 oifname "wan" notrack
\t}
}
"""


@pytest.fixture
def bed():
    with NetBed() as b:
        yield b


def replace_defaults(bed, link, metric=10):
    for fam, table in (("-4", LINKS), ("-6", LINKS6)):
        _, gw, _ = table[link]
        r = bed.run_router(["ip", fam, "route", "replace", "default", "via", gw, "dev", link, "metric", str(metric)])
        assert r.returncode == 0, r.stderr


def reply_addrs(bed, fam, port):
    """The addresses replies of the LAN's flows to `port` are NATed to (conntrack's reply dst)."""
    out = bed.conntrack("-L", "-f", fam, "-p", "udp", "--dport", str(port))
    dsts = ([f[4:] for f in line.split() if f.startswith("dst=")] for line in out.splitlines())
    return {d[1] for d in dsts if len(d) == 2}, out


def no_nat(bed):
    bed.run_router(["nft", "-f", bed.write_file("spoof.nft", NO_NAT)])


def test_lan_reaches_the_internet_over_both_uplinks_through_nat(bed):
    c = bed.lan_client(kinds=("ping4", "ping6", "udp4", "udp6", "tcp4", "tcp6"))
    wait_all_ok(c, c.kinds)
    for link in ("wan", "wwan"):
        if link == "wwan":  # the primary's default routes gone: traffic takes the metric-20 routes
            for fam in ("-4", "-6"):
                assert bed.run_router(["ip", fam, "route", "del", "default", "dev", "wan"]).returncode == 0
        t = time.monotonic()
        time.sleep(2.2)
        rep = c.report(t + 0.2, t + 1.2)
        assert all(r["ok"] == r["sent"] > 0 for r in rep.values()), (link, rep)
        v4, out4 = reply_addrs(bed, "ipv4", 7000)
        v6, out6 = reply_addrs(bed, "ipv6", 7000)
        print(link, "\n" + out4 + out6)
        assert v4 == {LINKS[link][0]} and v6 == {LINKS6[link][0]}, (out4, out6)  # masqueraded, both families


def test_isp_drops_foreign_sources_bcp38(bed):
    no_nat(bed)
    before = bed.isp_drops("wan")
    for dst, own, foreign in ((SERVER, LINKS["wan"][0], LINKS["wwan"][0]),
                              (SERVER6, LINKS6["wan"][0], LINKS6["wwan"][0])):
        assert router_tool(bed, "udp", "wan", own, dst)["ok"], dst
        assert not router_tool(bed, "udp", "wan", foreign, dst)["ok"], dst  # wwan's address leaving wan
    after = bed.isp_drops("wan")
    print(before, after)
    assert after["bcp38"] - before["bcp38"] == 1 and after["bcp38_6"] - before["bcp38_6"] == 1


def test_each_isp_resolver_answers_only_its_own_customers(bed):
    no_nat(bed)
    for link, other in (("wan", "wwan"), ("wwan", "wan")):
        u = UPLINKS[link]
        for dns, src in ((u["dns"], LINKS[link][0]), (u["dns6"], LINKS6[link][0])):
            assert router_tool(bed, "dns", link, src, dns)["ok"], (link, dns)
            # asked over the other ISP: not its customer (no route from there, dropped if it got there)
            assert not router_tool(bed, "dns", other, "-", dns)["ok"], (other, dns)
    # a foreign source arriving over A's own link is dropped at the resolver
    assert not router_tool(bed, "dns", "wan", LINKS["wwan"][0], UPLINKS["wan"]["dns"])["ok"]
    assert not router_tool(bed, "dns", "wan", LINKS6["wwan"][0], UPLINKS["wan"]["dns6"])["ok"]
    d = bed.isp_drops("wan")
    assert d["dns_foreign"] == 1 and d["dns_foreign6"] == 1, d


def test_router_dnsmasq_resolves_for_the_lan_and_the_router(bed):
    c = bed.lan_client(kinds=("dns4", "dns6"))
    wait_all_ok(c, c.kinds)
    time.sleep(2.2)
    rep = c.report()
    if not all(r["ok"] == r["sent"] >= 2 for r in rep.values()):
        print(rep, bed.dns_log("router"), bed.dns_log("wan"), bed.dns_log("wwan"))
    assert all(r["ok"] == r["sent"] >= 2 for r in rep.values()), rep
    assert "query[AAAA]" in bed.dns_log("router") and "from fd00:1::10" in bed.dns_log("router")
    # the router's own lookups: /etc/resolv.conf in its namespace names 127.0.0.1 (its dnsmasq)
    r = bed.run_router(["getent", "ahostsv4", "r1.test.example"])
    assert r.returncode == 0 and SERVER in r.stdout, r.stdout + r.stderr
    # pointed elsewhere at runtime: a process already running sees it too (the file is rewritten in place)
    p = bed.popen_router(["sh", "-c", "read x; cat /etc/resolv.conf"], stdin=subprocess.PIPE)
    bed.set_router_resolver("10.9.0.53")
    out, _ = p.communicate("go\n", timeout=10)
    assert out == "nameserver 10.9.0.53\n"


def keep_dnsmasq_on_wan(bed, c):
    """The router's dnsmasq uses the server that answered first when it last asked all of them:
    nearly always the first of resolv.conf.auto (wan's), under load sometimes wwan's IPv6 one
    (inside wwan's own prefix, so reached over wwan whatever the default route). Make it pick a
    wan server, as a stuck line's customer would have it."""
    for _ in range(10):
        if bed.dns_upstream() in WAN_DNS:
            return
        bed.reload_router_dns()
        t = time.monotonic()  # the next lookups ask all servers; the ones after them, the winner
        c.wait_ok_after(t + 1.1, ("dns4", "dns6"), 4)
    pytest.fail("dnsmasq did not settle on a wan resolver: %s" % bed.dns_upstream())


def test_killed_upstream_cuts_all_lan_traffic_but_link_and_neighbours_stay(bed):
    c = bed.lan_client()
    wait_all_ok(c)
    keep_dnsmasq_on_wan(bed, c)
    t = time.monotonic()
    bed.kill_upstream("wan")
    assert bed.upstream_killed("wan") and not bed.upstream_killed("wwan")
    time.sleep(3.2)
    rep = c.report(t + 0.05, t + 2.2)
    print(json.dumps(rep))
    assert all(r["sent"] > 0 and r["ok"] == 0 for r in rep.values()), rep
    t = time.monotonic()
    assert router_tool(bed, "ping", "wan", "-", TARGETS[0], 3, 0.1)["replies"] == []
    assert bed.probe_times("wan", since=t) == []  # the router's probes do not reach the internet either
    # the link stays up, the routes stay, and the gateway still resolves (ARP / ND)
    assert "state UP" in bed.run_router(["ip", "link", "show", "dev", "wan"]).stdout
    routes = bed.run_router(["ip", "-4", "route", "show", "default"]).stdout
    assert "via 10.1.0.1 dev wan metric 10" in routes, routes
    for fam, gw in (("-4", LINKS["wan"][1]), ("-6", LINKS6["wan"][1])):
        bed.run_router(["ip", fam, "neigh", "flush", "dev", "wan"])
    router_tool(bed, "udp", "wan", "-", SERVER)
    router_tool(bed, "udp", "wan", "-", SERVER6)
    neigh = bed.run_router(["ip", "neigh", "show", "dev", "wan"]).stdout
    print(neigh)
    for gw in (LINKS["wan"][1], LINKS6["wan"][1]):
        line = [l for l in neigh.splitlines() if l.startswith(gw + " ")]
        assert line and "lladdr" in line[0] and "FAILED" not in line[0], neigh
    bed.heal_upstream("wan")
    t = time.monotonic()
    got = c.wait_ok_after(t, ("ping4", "ping6", "udp4", "udp6", "tcp4", "tcp6"), 5)
    assert all(got.values()), got


def test_manual_route_switch_brings_every_kind_back_within_a_second(bed):
    """What the agent will do at a failover, by hand: replace the default routes (both families)
    with wwan's; netifd would also rewrite resolv.conf.auto on any interface event, and the
    router's dnsmasq needs that (or a client's retry) to leave a dead server (topology.py, "DNS")."""
    c = bed.lan_client()
    wait_all_ok(c)
    keep_dnsmasq_on_wan(bed, c)
    bed.kill_upstream("wan")
    time.sleep(1.5)
    v4, _ = reply_addrs(bed, "ipv4", 7000)
    assert v4 == {LINKS["wan"][0]}
    ts = time.monotonic()
    replace_defaults(bed, "wwan")
    time.sleep(2.7)
    stuck = bed.dns_upstream()  # dnsmasq still asks the dead line's resolver after a route change
    plain = c.report(ts, ts + 1.7)
    td = time.monotonic()
    bed.reload_router_dns()
    time.sleep(4.5)
    first = {k: c.first_ok_after(k, ts) for k in KINDS}
    rec = {k: round(first[k] - ts, 3) if first[k] else None for k in KINDS}
    rec_dns = {k: c.first_ok_after(k, td) for k in ("dns4", "dns6")}
    rec_dns = {k: round(v - td, 3) if v else None for k, v in rec_dns.items()}
    after = c.report(ts, td + 3.3)
    after.update({k: v for k, v in c.report(td, td + 3.3).items() if k.startswith("dns")})
    print("recovery after the route switch (s):", rec)
    print("dns after the route switch alone: upstream %s, %s" % (stuck, {k: plain[k] for k in ("dns4", "dns6")}))
    print("dns after resolv.conf.auto was rewritten (s):", rec_dns)
    print("lost after the switch (dns: after the rewrite):", {k: after[k]["lost_s"] for k in KINDS})
    print("longest gap of the UDP flows from the switch on:", {k: after[k]["longest_gap_s"] for k in ("udp4", "udp6")})
    v4, out4 = reply_addrs(bed, "ipv4", 7000)
    v6, out6 = reply_addrs(bed, "ipv6", 7000)
    print("conntrack after the switch:\n" + out4 + out6)
    assert v4 == {LINKS["wwan"][0]} and v6 == {LINKS6["wwan"][0]}, (out4, out6)  # the UDP flow re-bound
    # every kind's first success within 1.25 s (the 1 s kinds: their next sample), none lost after
    for k in ("ping4", "ping6", "udp4", "udp6", "tcp4", "tcp6"):
        assert rec[k] is not None and rec[k] <= 1.25, (k, rec)
        late = c.report(ts + 1.25, td + 3.3)[k]
        assert late["ok"] == late["sent"] > 0, (k, late)
    for k in ("dns4", "dns6"):
        assert rec_dns[k] is not None and rec_dns[k] <= 1.25, rec_dns
        late = c.report(td + 1.25, td + 3.3)[k]
        assert late["ok"] == late["sent"] > 0, (k, late)


def test_shims_fire_hotplug_through_the_real_script(bed):
    def addrs(fam):
        return bed.run_router(["ip", fam, "-o", "addr", "show", "dev", "wan", "scope", "global"]).stdout

    bed.ifdown("wan")
    assert "10.1.0.2" not in addrs("-4") and "2001:db8:a::2" in addrs("-6")
    assert "state UP" in bed.run_router(["ip", "link", "show", "dev", "wan"]).stdout  # DHCP-like: device stays up
    assert "dev wan" not in bed.run_router(["ip", "-4", "route", "show", "default"]).stdout
    assert "dev wan" in bed.run_router(["ip", "-6", "route", "show", "default"]).stdout
    with open(bed.resolv_auto) as f:
        auto = f.read()
    assert "# Interface wan\n" not in auto and "# Interface wan6\nnameserver 2001:db8:a::53\n" in auto
    # the LAN's IPv4 now leaves by wwan (metric 20), IPv6 still by wan
    c = bed.lan_client(kinds=("udp4", "udp6"))
    wait_all_ok(c, c.kinds)
    assert reply_addrs(bed, "ipv4", 7000)[0] == {LINKS["wwan"][0]}
    assert reply_addrs(bed, "ipv6", 7000)[0] == {LINKS6["wan"][0]}
    bed.ifdown("wan")  # already down: nothing happens
    bed.ifup("wan")
    assert "10.1.0.2" in addrs("-4")
    assert "via 10.1.0.1 dev wan metric 10" in bed.run_router(["ip", "-4", "route", "show", "default"]).stdout
    bed.ifup("wan")    # up: restarted like netifd (a new session)
    bed.ifdown("wan6")
    assert "2001:db8:a::2" not in addrs("-6") and "10.1.0.2" in addrs("-4")
    bed.ifup("wan6")
    assert "2001:db8:a::2" in addrs("-6")
    assert "via 2001:db8:a::1 dev wan metric 10" in bed.run_router(["ip", "-6", "route", "show", "default"]).stdout
    recs = [(r["action"], r["interface"], r["device"]) for r in bed.hotplug_records()]
    assert recs == [("ifdown", "wan", "wan"), ("ifup", "wan", "wan"), ("ifdown", "wan", "wan"), ("ifup", "wan", "wan"),
                    ("ifdown", "wan6", "wan"), ("ifup", "wan6", "wan")], recs
    assert bed.actions() == ["ifdown wan", "ifdown wan", "ifup wan", "ifup wan", "ifdown wan6", "ifup wan6"]
    everything = bed.actions(tools=None)
    assert everything.count("uci -q get wanwatch.main.run_dir") == 6, everything
    assert len([l for l in bed.syslog() if "hotplug:" in l]) == 6
    with open(bed.resolv_auto) as f:
        assert f.read().count("nameserver") == 4
    r = bed.run_router(["ifup", "lan"])
    assert r.returncode == 1 and "unknown interface" in r.stderr


def test_restart_heals_a_stuck_session_when_asked(bed):
    bed.kill_upstream("wan", heal_on_restart=True)
    bed.ifup("wwan")  # another link's restart heals nothing
    assert bed.upstream_killed("wan")
    bed.ifup("wan")
    assert not bed.upstream_killed("wan")
    assert router_tool(bed, "udp", "wan", "-", SERVER)["ok"]
    bed.kill_upstream("wan")  # by default a restart does not help
    bed.ifup("wan")
    assert bed.upstream_killed("wan")


def test_responder_logs_probe_arrivals_and_answers_icmpv6_from_the_target(bed):
    c = bed.lan_client(kinds=("ping4", "ping6"))  # the LAN's pings to the same target are not logged
    wait_all_ok(c, c.kinds)
    t = time.monotonic()
    r4 = router_tool(bed, "ping", "wwan", "-", TARGETS[0], 6, 0.2)   # by wwan although wan is the default
    r6 = router_tool(bed, "ping", "wwan", "-", TARGETS6[1], 6, 0.2)
    assert r4["replies"] == [TARGETS[0]] * 6 and r6["replies"] == [TARGETS6[1]] * 6  # the pinged address answers
    times = bed.probe_times("wwan", TARGETS[0], since=t)
    gaps = [round(b - a, 3) for a, b in zip(times, times[1:])]
    print("request gaps (s):", gaps)
    assert len(times) == 6 and all(0.15 < g < 0.3 for g in gaps), gaps
    assert len(bed.probe_times("wwan", TARGETS6[1], since=t)) == 6
    assert len(bed.probe_times("wwan", since=t)) == 12
    assert bed.probe_times("wan", since=t) == []  # the LAN client's pings over wan are not in the log
    # impairment applies to IPv6 too, after the arrival is logged
    bed.impair("wwan", blackhole=True)
    t = time.monotonic()
    assert router_tool(bed, "ping", "wwan", "-", "2001:db8:9:0::3", 3, 0.1)["replies"] == []
    assert len(bed.probe_times("wwan", TARGETS6[2], since=t)) == 3
    bed.impair("wwan")
    bed.dead_targets(["2001:db8:9::3"])
    assert router_tool(bed, "ping", "wwan", "-", TARGETS6[2], 2, 0.1)["replies"] == []


def test_close_removes_everything():
    bed = NetBed().__enter__()
    c = bed.lan_client(kinds=("ping4",))
    pids = [p.pid for p in bed.procs + list(bed.daemons.values())]
    spaces = (bed.l, bed.r, bed.a, bed.b, bed.i)
    etc, tmp = bed.netns_etc, bed.tmp
    assert os.path.exists(os.path.join(etc, "resolv.conf"))
    bed.close()
    c.stop()
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    assert not set(spaces) & set(listed)
    assert not os.path.exists(etc) and not os.path.exists(tmp)
    if os.path.isdir("/etc/netns"):  # left only when something else has a namespace dir in it
        assert os.listdir("/etc/netns")
    for pid in pids:
        assert not os.path.exists("/proc/%d" % pid) or open("/proc/%d/stat" % pid).read().split()[2] == "Z"
