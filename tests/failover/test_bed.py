"""Failover on the namespace bed: the link monitor runs under the real MicroPython (.mpy bundle)
in the router namespace with the openwrt actuator (policy rules and tables through the real `ip`;
netifd's ifup as a shim for session restarts), probing real ICMP through two ISP namespaces;
impairment is applied by the user-space responder."""
import time

import pytest

from host_tools.netbed import TARGETS
from tests.support.netbed_agent import BedAgent, bed_config, is_state

FAST = {"hold_down_s": 4}


def start(bed, **kw):
    a = BedAgent(bed, bed_config(**kw))
    assert a.wait_until(lambda: a.seen(is_state("wan", "up")) and a.seen(is_state("wwan", "standby")), 15), a.lines
    a.drain()
    return a


def kind(t):
    return lambda ev: ev["type"] == t


def active_routes(bed):
    return bed.run_router(["ip", "-4", "route", "show", "table", "30100"]).stdout.strip()


def test_stuck_pppoe_fails_over_by_routing_and_back_after_hold_down(bed):
    a = start(bed, failover=FAST)
    assert active_routes(bed) == "default via 10.1.0.1 dev wan"
    time.sleep(1)
    bed.impair("wan", blackhole=True)  # link and route stay up, nothing answers
    assert a.wait_event(is_state("wan", "down"), 10)
    t, ev = a.wait_event(kind("failover"), 10)
    assert (ev["from"], ev["to"], ev["reason"]) == ("wan", "wwan", "down")
    assert active_routes(bed) == "default via 10.2.0.1 dev wwan"
    assert not any(x.startswith("ifdown") for x in bed.actions())  # nothing is taken down
    b0 = a.status()["own_bytes"]["wan"]
    time.sleep(3)
    st = a.status()
    assert st["active_link"] == "wwan" and st["links"]["wwan"]["state"] == "up"
    assert st["links"]["wan"]["state"] == "down"
    # the dead primary is still probed at its full rate (3 echoes of 28 B a second, unanswered)
    assert st["own_bytes"]["wan"] - b0 >= 2 * 3 * 28
    bed.impair("wan")
    t2, fb = a.wait_event(kind("failback"), 30)
    assert fb["to"] == "wan" and t2 - t >= FAST["hold_down_s"]
    assert active_routes(bed) == "default via 10.1.0.1 dev wan"
    assert a.wait_event(lambda e: e["type"] == "link_state" and e["link"] == "wwan" and e["state"] == "standby", 5) \
        or a.status()["links"]["wwan"]["state"] == "standby"
    acts = a.of_type("actuation")
    assert acts and all(e["ok"] for e in acts)


def test_a_stuck_session_is_restarted_at_a_bounded_rate_without_routing_into_it(bed):
    a = start(bed, failover={"hold_down_s": 4, "session_restart_s": 2, "session_restart_max_s": 4})
    bed.impair("wan", blackhole=True)
    assert a.wait_event(kind("failover"), 10)
    t0 = time.monotonic()
    time.sleep(13)
    restarts = a.of_type("session_restart")
    assert [e["next_in_s"] for e in restarts][:3] == [4, 4, 4], restarts
    assert 2 <= len(restarts) <= 4  # at ~2 s, then every 4 s
    assert all(e["link"] == "wan" and e["interfaces"] == ["wan"] for e in restarts)
    assert bed.actions().count("ifup wan") == len(restarts)
    assert a.of_type("failback") == [] and active_routes(bed) == "default via 10.2.0.1 dev wwan"
    assert time.monotonic() - t0 < 20


def test_loss_and_latency_degrade_and_fail_over(bed):
    a = start(bed, failover={"window_s": 10, "min_samples": 10, "degraded_sustain_s": 3, "hold_down_s": 600})
    time.sleep(4)  # learn the RTT baseline
    bed.impair("wan", loss=0.30, delay_ms=400, jitter_ms=40)
    r = a.wait_event(kind("failover"), 45)
    assert r, [e for _, e in a.events]
    assert r[1]["to"] == "wwan" and r[1]["reason"] in ("degraded", "down")
    assert a.of_type("link_state") and any(e["link"] == "wan" and e["state"] == "degraded"
                                            for e in a.of_type("link_state"))


def test_dead_backup_means_no_failover_and_an_alert(bed):
    bed.impair("wwan", blackhole=True)
    a = BedAgent(bed, bed_config(failover=FAST))
    assert a.wait_until(lambda: a.seen(is_state("wan", "up")) and a.seen(is_state("wwan", "down")), 20), a.lines
    bed.impair("wan", blackhole=True)
    assert a.wait_event(kind("all_links_down"), 15)
    time.sleep(5)
    assert a.of_type("failover") == []
    assert bed.actions() == []  # nothing taken down: the best (only) link is kept
    assert a.status()["active_link"] == "wan" and active_routes(bed) == "default via 10.1.0.1 dev wan"


def test_flapping_primary_is_bounded_by_doubling_hold_down(bed):
    a = start(bed, failover={"hold_down_s": 2, "hold_down_max_s": 16})
    # dead 3 s, fine 9 s: up again after ~3 s, so failback comes after the hold-down while it is
    # short (2, then 4 s) and not once it has doubled past what a fine spell lasts
    for _ in range(4):
        bed.impair("wan", blackhole=True)
        time.sleep(3.0)
        bed.impair("wan")
        time.sleep(9.0)
    fos = a.of_type("failover")
    holds = [e["hold_down_s"] for e in fos]
    assert 2 <= len(fos) <= 5, holds
    # each failover soon after a failback doubles the hold-down (cap 16)
    assert holds == sorted(holds) and holds[-1] > holds[0]
    assert all(h in (2, 4, 8, 16) for h in holds)


def test_one_dead_target_and_10pct_loss_no_false_failover(bed):
    a = start(bed)
    bed.dead_targets([TARGETS[2]])
    bed.impair("wan", loss=0.10)
    bed.impair("wwan", loss=0.10)
    time.sleep(40)
    assert a.of_type("failover") == []
    bad = [e for e in a.of_type("link_state") if e["link"] == "wan" and e["state"] != "up"]
    assert bad == []
    st = a.status()
    assert st["active_link"] == "wan" and st["links"]["wan"]["state"] == "up"
    assert 0 < st["links"]["wan"]["loss_pct"] < 25


def test_standby_backup_traffic_is_sparse_and_counted(bed):
    a = start(bed)
    time.sleep(6)
    st = a.status()
    # one sparse check (one 28-byte request + reply) since start; the primary is probed every second
    assert st["own_bytes"]["wwan"] == 56
    assert st["own_bytes"]["wan"] >= 5 * 3 * 56


def test_linux_route_actuator_routes_by_table_and_keeps_watching(bed):
    a = start(bed, actuator="linux-route", failover={"hold_down_s": 3})
    bed.impair("wan", blackhole=True)
    assert a.wait_event(kind("failover"), 10)
    assert active_routes(bed) == "default via 10.2.0.1 dev wwan"
    main = bed.run_router(["ip", "-4", "route", "show", "default"]).stdout
    assert "via 10.1.0.1 dev wan metric 10" in main  # the main table is left as it was
    assert a.wait_until(lambda: a.status()["active_link"] == "wwan" and
                        a.status()["links"]["wan"]["state"] == "down", 3), a.status()
    bed.impair("wan")
    assert a.wait_event(kind("failback"), 20)
    assert active_routes(bed) == "default via 10.1.0.1 dev wan"
    assert bed.actions() == []  # plain Linux: no netifd session restarts


def test_every_reply_of_a_parallel_round_is_read(bed):
    """Three targets echoed at once answer at once: each reply is its own datagram read, so none is
    merged into another's read and lost (MicroPython's socket readinto() would do that)."""
    import os
    from tests.support import paths
    from tests.support.netbed_agent import firmware_bundle
    driver = os.path.join(paths.ROOT, "bench", "mp_footprint.py")
    env = ["env", "MICROPYPATH=%s:.frozen" % firmware_bundle(bed)]
    r = bed.run_router(env + [paths.micropython(), driver, "probe", "wan", "20"] + TARGETS, timeout=90)
    assert r.returncode == 0, r.stderr
    assert "CHECK answered=%d of %d state=up" % (20 * len(TARGETS), 20 * len(TARGETS)) in r.stdout, r.stdout[-300:]
