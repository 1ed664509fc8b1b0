"""Continuity as the customer sees it: the whole agent (real MicroPython, .mpy bundle) on the bed's
router with a LAN client behind it (NAT on both uplinks, BCP38 at both ISPs, dual stack, the
router's dnsmasq), judged by what the LAN client's ping, fixed 5-tuple UDP flow, TCP connects and
DNS lookups saw, over IPv4 and IPv6."""
import json
import sys
import time

import pytest

from host_tools.netbed import TARGETS
from host_tools.netbed.lanclient import KINDS
from host_tools.netbed.agent import SiteAgent, firmware_bundle, micropython, site_config

from tests.support.netbed_tools import kind

pytestmark = pytest.mark.netns

HOLD = 5


def start_site(bed, tmp_path, **kw):
    bed.broker()
    a = SiteAgent(bed, site_config(bed, str(tmp_path), **kw))
    assert a.wait_until(lambda: a.seen(kind("link_state", link="wan", state="up")) and
                        a.seen(kind("link_state", link="wwan", state="standby")), 20), a.lines
    return a


def lan(bed):
    c = bed.lan_client()
    got = c.wait_ok_after(time.monotonic() + 0.5, timeout=15)
    assert all(got.values()), got
    return c


def timeline(c, a, t0, t1):
    """Per-second losses and the agent's events between t0 and t1 (for failure messages)."""
    out = []
    for i in range(int(t1 - t0) + 1):
        l = lost(c.report(t0 + i, t0 + i + 1))
        if l:
            out.append("%+5.1f lost %s" % (i, l))
    for t, ev in a.events:
        if t0 <= t <= t1:
            out.append("%+5.1f %s %s %s" % (t - t0, ev["type"], ev.get("link", ""), ev.get("state", ev.get("action", ""))))
    return "\n".join(sorted(out, key=lambda x: float(x.split()[0])))


def lost(rep):
    return {k: rep[k]["lost_s"] for k in rep if rep[k]["lost_s"]}


@pytest.mark.parametrize("actuator", ["openwrt", "linux-route"])
def test_dead_upstream_for_several_hold_downs_then_healed(bed, tmp_path, actuator):
    a = start_site(bed, tmp_path, actuator=actuator,
                   failover={"hold_down_s": HOLD, "session_restart_s": 3, "session_restart_max_s": 6})
    c = lan(bed)
    time.sleep(1.5)
    t_kill = time.monotonic()
    bed.kill_upstream("wan")  # stuck PPPoE: the link and its routes stay up, nothing gets through
    t_fo, fo = a.wait_event(kind("failover"), 10)
    assert (fo["from"], fo["to"]) == ("wan", "wwan")
    time.sleep(1.0)
    e0, t_e0 = bed.killed_echoes("wan"), time.monotonic()
    time.sleep(4 * HOLD)  # several hold-downs of a dead primary
    e1, t_heal = bed.killed_echoes("wan"), time.monotonic()
    bed.heal_upstream("wan")

    outage = c.report(t_kill, t_fo + 1.0)
    print("failover (%s): decided %.2f s after the kill; LAN lost %s" % (actuator, t_fo - t_kill, lost(outage)))
    # after the switch has settled the LAN loses nothing, in both families, DNS included, and
    # however many session restarts the dead primary gets
    settled = c.report(t_fo + 1.0, t_heal)
    if lost(settled):
        print(timeline(c, a, t_kill, t_heal))
    assert lost(settled) == {}, settled
    for k in KINDS:  # the fixed 5-tuple UDP flow (and everything else) works within 1 s of the switch
        assert c.first_ok_after(k, t_fo) - t_fo <= 1.0, (k, c.first_ok_after(k, t_fo) - t_fo)
    assert a.of_type("failback") == []
    restarts = a.of_type("session_restart")
    if actuator == "openwrt":
        assert len(restarts) >= 2 and all(r["link"] == "wan" for r in restarts), restarts
        assert bed.actions().count("ifup wan") >= 2
    else:
        assert restarts == [] and bed.actions() == []
    # the dead primary was probed at its full rate all along: 3 IPv4 + 3 IPv6 echoes a second
    # (the LAN's pings use wwan by now, so what wan's ISP drops are the router's probes)
    assert (e1 - e0) >= 0.8 * 6 * (t_heal - t_e0), (e1 - e0, t_heal - t_e0)

    t_fb, fb = a.wait_event(kind("failback"), HOLD + 10)
    assert fb["to"] == "wan" and t_fb - t_heal <= HOLD + 5, t_fb - t_heal
    time.sleep(2.5)
    back = c.report(t_heal, t_fb + 2.0)
    print("failback (%s): %.2f s after the heal; LAN lost %s" % (actuator, t_fb - t_heal, lost(back)))
    # moving a NATed flow re-binds it: the kernel drops the one packet that changed link, nothing more
    for k, r in back.items():
        assert r["lost_s"] <= {"ping4": 0.05, "ping6": 0.05, "udp4": 0.02, "udp6": 0.02}.get(k, 0), back
    # probed at full rate between the heal and the failback too (the responder's request log)
    times = bed.probe_times("wan", TARGETS[0], since=t_heal + 0.5)
    gaps = [b - a for a, b in zip(times, times[1:]) if b < t_fb]
    assert gaps and max(gaps) < 1.2, gaps
    routes = bed.run_router(["ip", "-6", "route", "show", "table", "30100"]).stdout
    assert "dev wan" in routes, routes  # IPv6 went back with IPv4
    # the NAT entries of the LAN's UDP flow now point at wan's addresses only
    ct = bed.conntrack("-L", "-p", "udp", "--dport", "7000")
    assert "10.2.0.2" not in ct and "2001:db8:b::2" not in ct, ct


def test_an_interface_taken_down_by_hand_takes_its_link_out_within_a_second(bed, tmp_path):
    a = start_site(bed, tmp_path, failover={"hold_down_s": 3})
    c = lan(bed)
    time.sleep(1)
    t0 = time.monotonic()
    bed.ifdown("wan")  # a technician at the console (netifd's ifdown: address and routes gone)
    t1, ev = a.wait_event(kind("link_state", link="wan", state="down"), 5)
    assert t1 - t0 <= 1.0, t1 - t0
    t_fo, _ = a.wait_event(kind("failover"), 5)
    assert c.wait_ok_after(t_fo, timeout=5)["ping4"] is not None
    st = a.wait_event(kind("session_restart"), 0.1)
    assert st is None  # taken down on purpose: no session restart
    bed.ifup("wan")
    assert a.wait_event(kind("failback"), 20)
    got = c.wait_ok_after(time.monotonic(), timeout=5)
    assert all(got.values()), got


SILENT = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
print("ready", flush=True)
while True:
    s.recvfrom(2048)  # a resolver that never answers: it only says it was asked
    print("asked", flush=True)
"""


def test_broker_by_name_and_a_resolver_that_never_answers_do_not_stall_the_probes(bed, tmp_path):
    silent = bed.popen_router([sys.executable, "-c", SILENT, "127.0.0.77"])
    assert silent.stdout.readline().strip() == "ready"
    bed.set_router_resolver("127.0.0.77")
    agent = start_site(bed, tmp_path, mqtt={"host": "broker.isp.example", "port": 1883, "connect_timeout_s": 3})
    t0 = time.monotonic()
    time.sleep(25)  # the client keeps trying to resolve the name (5 s per attempt, backing off)
    times = bed.probe_times("wan", TARGETS[0], since=t0)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(gaps) >= 20, gaps
    assert max(gaps) <= 1.1, max(gaps)  # 1 s rounds: no loop stall over 100 ms
    silent.kill()
    asked = silent.stdout.read().split().count("asked")
    assert asked >= 4, asked  # the agent did keep trying to resolve the broker's name
    assert agent.proc.poll() is None


def test_a_stopped_or_crashed_agent_leaves_the_routing_to_netifd(bed, tmp_path):
    a = start_site(bed, tmp_path, failover={"hold_down_s": 600})
    bed.kill_upstream("wan")
    assert a.wait_event(kind("failover"), 10)
    assert "lookup 30100" in bed.run_router(["ip", "-4", "rule"]).stdout
    a.stop()  # SIGKILL: a crash leaves its last choice (the backup) in place until it is back
    assert "via 10.2.0.1 dev wwan" in bed.run_router(["ip", "-4", "route", "show", "table", "30100"]).stdout
    # the respawned agent starts by removing the old rules, then judges afresh (wan is still dead)
    b = SiteAgent(bed, site_config(bed, str(tmp_path), failover={"hold_down_s": 600}))
    assert b.wait_event(kind("actuation", action="setup"), 10)[1]["ok"]
    assert b.wait_event(kind("failover"), 15)
    b.stop()
    # the service stopped: `wanwatch --release` (the init script's service_stopped) removes it all
    cfg = bed.write_file("rel.json", json.dumps(site_config(bed, str(tmp_path))))
    r = bed.run_router(["env", "MICROPYPATH=%s:.frozen" % firmware_bundle(bed), micropython(), "-m", "wanwatch",
                        "--config", cfg, "--release"])
    assert r.returncode == 0, r.stdout + r.stderr
    for fam in ("-4", "-6"):
        out = bed.run_router(["ip", fam, "rule"]).stdout
        assert "3000" not in out and "30100" not in out, out
        assert bed.run_router(["ip", fam, "route", "show", "table", "30100"]).stdout.strip() == ""
    # netifd's main table decides again: the LAN's traffic takes wan (lower metric), dead or not
    assert bed.run_router(["ip", "-4", "route", "get", "10.9.0.1"]).stdout.find("dev wan ") >= 0
