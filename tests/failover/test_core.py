"""Pure core with a fake clock: quality windows, link state machine, failover policy, session
restarts, the routing actuators' command lines, address checks."""
import asyncio
import random

import pytest

from wanwatch.failover.actuator import (NoneActuator, OpenWrtActuator, RoutingActuator, make_actuator, parse_addresses,
                               parse_default_route, parse_resolv_auto)
from wanwatch.names import ip_family, is_ipv6
from wanwatch.events import EventBus
from wanwatch.failover.linkquality import Baseline, QualityWindow
from wanwatch.failover.linkstate import LinkState
from wanwatch.names import is_name
from wanwatch.failover.policy import Policy
from wanwatch.failover.restarts import SessionRestarts
from wanwatch.failover.probe import checksum, echo_request, fill_request, parse_reply, reply_ids, same_source


# --- quality window ----------------------------------------------------------------------------
def test_window_loss_rtt_jitter_and_pruning():
    w = QualityWindow(window_s=10)
    for i, r in enumerate([10.0, 12.0, None, 11.0, 30.0]):
        w.add(i, r)
    assert w.loss_pct() == 20.0
    assert w.rtt_median() == 12.0
    assert w.rtt_p90() == 30.0
    assert w.jitter() == pytest.approx((2 + 1 + 19) / 3.0)
    w.prune(13.5)  # keeps t >= 3.5
    assert w.count() == 1 and w.rtt_median() == 30.0


def test_window_is_bounded():
    w = QualityWindow(window_s=1e9, max_samples=50)
    for i in range(10000):
        w.add(i, 1.0)
    assert w.count() == 50


def test_window_percentiles_match_a_naive_sort_through_adds_prunes_and_evictions():
    """The incrementally sorted RTTs give what sorting the window's answered samples would."""
    rng = random.Random(7)
    w = QualityWindow(window_s=20, max_samples=40)
    kept = []  # (t, rtt) reference model
    t = 0.0
    for step in range(3000):
        t += rng.choice((0.3, 1.0, 1.0, 2.5))
        r = None if rng.random() < 0.2 else round(rng.uniform(1, 400), 2)
        w.add(t, r)
        kept.append((int(t * 10), r))
        kept = kept[-40:]
        if step % 7 == 0:
            w.prune(t)
            lim = int((t - 20) * 10)
            kept = [k for k in kept if k[0] >= lim]
        vals = sorted(int(r * 100) for _, r in kept if r is not None)
        for p, got in ((50, w.rtt_median()), (90, w.rtt_p90()), (10, w.rtt_low())):
            want = vals[min(int(p * len(vals) / 100.0), len(vals) - 1)] / 100.0 if vals else None
            assert got == want, (step, p, got, want)
    w.clear()
    assert w.rtt_median() is None and w.count() == 0


def test_a_target_dying_right_after_start_is_not_link_loss():
    """One of three targets dies one round after the link came up, with 10 % random loss on the
    others: its silent rounds before it is known dead must not fill the nearly empty window with
    loss (that read as > 25 % loss and took the link out of `up` for 35 of these 300 seeds)."""
    from wanwatch.failover.linkstate import LinkState
    non_up = 0
    for seed in range(300):
        rng = random.Random(seed)
        ls = LinkState("wan", 3)
        t = 0.0
        ls.on_round(t, [10.0, 11.0, 12.0])
        assert ls.state == "up"
        seen = set()
        while t < 45:
            t += 0.8 if ls.in_burst() else 1.0
            ls.on_round(t, [None if rng.random() < 0.1 else 10.0, None if rng.random() < 0.1 else 11.0, None])
            seen.add(ls.state)
        non_up += bool(seen - {"up"})
        assert ls.live_targets() == [0, 1]
    # left: four quorum-failed rounds in a row before the target is known dead (4 of these 300
    # seeds); counting its silence as loss made it 35
    assert non_up <= 9, non_up


def test_lost_probes_of_a_live_target_still_count_as_loss():
    from wanwatch.failover.linkstate import LinkState
    ls = LinkState("wan", 3)
    for i in range(40):  # target 2 misses every other round: late, not dead
        ls.on_round(float(i), [10.0, 11.0, None if i % 2 else 12.0])
    assert ls.live_targets() == [0, 1, 2]
    assert 15 < ls.window.loss_pct() < 18  # 1 in 6 samples lost, counted once it answers again


def test_baseline_follows_down_fast_up_slow():
    b = Baseline()
    b.update(20.0)
    for _ in range(50):
        b.update(420.0)
    assert b.value < 60  # a long bad spell is not learnt quickly
    for _ in range(50):
        b.update(10.0)
    assert b.value < 15


# --- link state ----------------------------------------------------------------------------------
def run_rounds(ls, clock, gen, n):
    """Drive a LinkState with rounds from gen(i) -> rtts, honouring its own scheduling."""
    states = []
    for i in range(n):
        rtts = gen(i)
        took = ls.round_timeout() if None in rtts else 0.001
        ch = ls.on_round(clock.monotonic(), rtts)
        if ch:
            states.append((clock.monotonic(), ch))
        clock.advance(max(took, ls.next_delay()))
    return states


def test_hard_failure_confirmed_by_burst_in_about_a_second(fake_clock):
    ls = LinkState("wan", 3)
    run_rounds(ls, fake_clock, lambda i: [5.0, 6.0, 7.0], 5)
    assert ls.state == "up"
    t0 = fake_clock.monotonic()
    ch = run_rounds(ls, fake_clock, lambda i: [None, None, None], 6)
    assert ch and ch[0][1] == "down"
    # at 5-7 ms RTT the reply wait is its floor (0.25 s): 1 normal round + 3 burst rounds at
    # their 0.3 s spacing after the first miss
    assert ch[0][0] - t0 <= 0.25 + 3 * 0.3 + 0.01
    assert ls.next_delay() == 1.0  # back to the normal pace once confirmed


def test_reply_wait_follows_the_rtt_between_floor_and_ceiling():
    ls = LinkState("wan", 3)
    assert ls.round_timeout(0) == 0.8  # nothing learnt yet: the fixed ceiling
    for i in range(10):
        ls.on_round(float(i), [5.0, 6.0, 7.0])
    assert ls.round_timeout(10) == 0.25  # 4 x 7 ms + 50 ms is below the floor
    for i in range(10, 40):
        ls.on_round(float(i), [100.0, 110.0, 120.0])
    assert ls.round_timeout(40) == pytest.approx(4 * 0.120 + 0.05)
    fixed = LinkState("wan", 3, pcfg={"timeout_min_s": 0.8})
    fixed.on_round(0.0, [5.0, 6.0, 7.0])
    assert fixed.round_timeout(1) == 0.8  # floor = ceiling: fixed waits


def test_a_late_reply_raises_the_wait_so_a_slow_line_is_not_called_dead(fake_clock):
    ls = LinkState("wan", 3)
    for i in range(10):
        ls.on_round(float(i), [5.0, 6.0, 7.0])
    ls.on_round(10.0, [None, None, None])  # suspect: a burst starts, its wait is the floor
    assert ls.in_burst() and ls.round_timeout(10.1) == 0.25
    ls.on_late(10.4, 400.0)  # the replies came, 400 ms late
    assert ls.round_timeout(10.5) == 0.5  # the burst's ceiling: a 400 ms line is answered in time
    assert ls.round_timeout(10.5 + 31) == 0.25  # forgotten after the quality window


def test_single_failed_round_does_not_trip(fake_clock):
    ls = LinkState("wan", 3)
    run_rounds(ls, fake_clock, lambda i: [5.0, 5.0, 5.0], 3)
    seq = [[None] * 3, [None] * 3, [5.0, 5.0, 5.0]]
    run_rounds(ls, fake_clock, lambda i: seq[i], 3)
    assert ls.state == "up" and ls.fails == 0


def test_one_dead_target_of_three_with_10pct_loss_never_trips(fake_clock):
    rnd = random.Random(7)
    ls = LinkState("wan", 3)

    def gen(i):
        return [None] + [None if rnd.random() < 0.10 else 5.0 + rnd.random() for _ in range(2)]
    states = run_rounds(ls, fake_clock, gen, 20000)  # ~5.5 h of rounds
    assert [s for _, s in states if s != "up"] == []
    assert ls.live_targets() == [1, 2]


def test_quorum_default_and_dead_target_exclusion():
    assert LinkState("x", 1).quorum() == 1
    assert LinkState("x", 2).quorum() == 1
    ls = LinkState("x", 3)
    assert ls.quorum() == 2
    for i in range(5):
        ls.on_round(i, [None, 5.0, 5.0])
    assert ls.quorum() == 1  # two live targets left: one answer suffices


def test_degraded_by_loss_and_latency_and_recovery(fake_clock):
    fcfg = {"window_s": 10, "min_samples": 10}
    ls = LinkState("wan", 3, fcfg=fcfg)
    run_rounds(ls, fake_clock, lambda i: [10.0, 11.0, 12.0], 40)
    assert ls.state == "up"
    run_rounds(ls, fake_clock, lambda i: [410.0, 420.0, 430.0], 25)
    assert ls.state == "degraded"
    run_rounds(ls, fake_clock, lambda i: [10.0, 11.0, 12.0], 15)
    assert ls.state == "up"
    rnd = random.Random(3)
    run_rounds(ls, fake_clock, lambda i: [None if rnd.random() < 0.4 else 10.0 for _ in range(3)], 60)
    assert ls.state == "degraded"


def test_down_needs_up_rounds_to_recover(fake_clock):
    ls = LinkState("wan", 3)
    run_rounds(ls, fake_clock, lambda i: [None] * 3, 4)
    assert ls.state == "down"
    ls.on_round(fake_clock.monotonic(), [5.0] * 3)
    ls.on_round(fake_clock.monotonic(), [5.0] * 3)
    assert ls.state == "down"
    ls.on_round(fake_clock.monotonic(), [5.0] * 3)
    assert ls.state == "up"


def test_standby_state_and_sparse_interval(fake_clock):
    ls = LinkState("wwan", 3, standby=True)
    ls.on_round(0, [30.0], ok=True)
    assert ls.state == "standby" and ls.next_delay() == 300
    ls.on_round(1, [None, None, None], ok=False)
    assert ls.in_burst() and ls.next_delay() == 0.3  # a failed sparse check is confirmed by a burst


# --- policy ----------------------------------------------------------------------------------------
def make_policy(clock, **f):
    ev = EventBus(clock)
    seen = []
    ev.subscribe(seen.append)
    cfg = {"hold_down_s": 120}
    cfg.update(f)
    return Policy(["wan", "wwan"], clock, ev, cfg), seen


def test_failover_only_after_verification(fake_clock):
    p, seen = make_policy(fake_clock)
    assert p.decide({"wan": "up", "wwan": "standby"}) is None
    assert p.decide({"wan": "down", "wwan": "standby"}) == ("verify", "wwan")
    p.verify_result("wwan", True)
    assert p.decide({"wan": "down", "wwan": "standby"}) == ("failover", "wan", "wwan")
    fake_clock.advance(10)  # a stale verification is not trusted
    assert p.decide({"wan": "down", "wwan": "standby"}) == ("verify", "wwan")


def test_never_fails_over_to_dead_link_and_alerts_once(fake_clock):
    p, seen = make_policy(fake_clock)
    assert p.decide({"wan": "down", "wwan": "down"}) is None
    assert p.decide({"wan": "down", "wwan": "down"}) is None
    assert [e["type"] for e in seen] == ["all_links_down"]
    # a failed verification is also "dead" until retried
    p2, seen2 = make_policy(fake_clock)
    assert p2.decide({"wan": "down", "wwan": "standby"}) == ("verify", "wwan")
    p2.verify_result("wwan", False)
    assert p2.decide({"wan": "down", "wwan": "standby"}) is None
    assert [e["type"] for e in seen2] == ["all_links_down"]
    fake_clock.advance(11)
    assert p2.decide({"wan": "down", "wwan": "standby"}) == ("verify", "wwan")


def test_degraded_active_leaves_only_for_clean_link(fake_clock):
    p, _ = make_policy(fake_clock)
    assert p.decide({"wan": "degraded", "wwan": "degraded"}) is None
    assert p.decide({"wan": "degraded", "wwan": "standby"}) == ("verify", "wwan")


def _failover(p, clock):
    p.verify_result("wwan", True)
    assert p.decide({"wan": "down", "wwan": "standby"}) == ("failover", "wan", "wwan")
    p.switched("failover", "wan", "wwan")


def test_failback_after_hold_down_of_continuous_health(fake_clock):
    p, _ = make_policy(fake_clock)
    _failover(p, fake_clock)
    p.observe("wan", "up", fake_clock.monotonic())
    fake_clock.advance(119)
    assert p.decide({"wan": "up", "wwan": "up"}) is None
    fake_clock.advance(2)
    assert p.decide({"wan": "up", "wwan": "up"}) == ("verify", "wan")
    p.verify_result("wan", True)
    assert p.decide({"wan": "up", "wwan": "up"}) == ("failback", "wwan", "wan")


def test_hold_down_doubles_per_flap_caps_and_resets_after_a_day(fake_clock):
    p, seen = make_policy(fake_clock, hold_down_max_s=600)
    holds = []
    for _ in range(5):
        _failover(p, fake_clock)
        holds.append(p.hold_down)
        fake_clock.advance(p.hold_down + 1)
        p.switched("failback", "wwan", "wan")
        fake_clock.advance(30)
    assert holds == [120, 240, 480, 600, 600]
    fake_clock.advance(86400)
    p.decide({"wan": "up", "wwan": "standby"})
    assert p.hold_down == 120 and seen[-1]["type"] == "hold_down_reset"


def test_a_suspect_active_link_has_the_backup_verified_before_it_is_declared_down(fake_clock):
    p, _ = make_policy(fake_clock)
    states = {"wan": "up", "wwan": "standby"}
    assert p.decide(states, suspects=["wan"]) == ("verify", "wwan")
    p.verify_result("wwan", True)
    assert p.decide(states, suspects=["wan"]) is None  # verified: nothing more to do yet
    fake_clock.advance(1.2)  # the burst confirms the failure
    assert p.decide({"wan": "down", "wwan": "standby"}) == ("failover", "wan", "wwan")
    p2, _ = make_policy(fake_clock)
    assert p2.decide({"wan": "up", "wwan": "standby"}, suspects=["wwan"]) is None  # only the active one


def test_session_restarts_back_off_and_reset_only_when_healthy():
    r = SessionRestarts(30, 600)
    r.observe(0, "down")
    assert not r.due(29) and r.due(30)
    gaps = []
    t = 30
    for _ in range(7):
        gaps.append(r.started(t))
        t += gaps[-1]
        r.observe(t - 1, "unknown")  # the restart re-judges the link: not a recovery
        r.observe(t - 0.5, "down")
        assert not r.due(t - 0.1) and r.due(t)
    assert gaps == [60, 120, 240, 480, 600, 600, 600]
    r.observe(t, "up")
    r.observe(t + 1, "down")
    assert r.due(t + 31) and r.attempts == 0


def test_session_restarts_disabled_with_zero():
    r = SessionRestarts(0, 600)
    r.observe(0, "down")
    assert not r.due(10 ** 6)


def test_manual_force_pins_until_release(fake_clock):
    p, _ = make_policy(fake_clock, hold_down_s=1)
    p.switched("failover", "wan", "wwan")
    p.force("wwan")
    fake_clock.advance(1000)
    p.observe("wan", "up", 0)
    assert p.decide({"wan": "up", "wwan": "down"}) is None
    p.release()
    assert p.decide({"wan": "up", "wwan": "up"}) == ("verify", "wan")


# --- actuators ------------------------------------------------------------------------------------
LINKS = [{"name": "wan", "device": "pppoe-wan", "role": "primary", "interfaces": ["wan", "wan6"]},
         {"name": "wwan", "device": "wwan0", "role": "backup", "interfaces": ["wwan"]}]
ROUTES = {"pppoe-wan": {"-4": "default via 10.1.0.1 proto static metric 10",
                        "-6": "default from 2001:db8:a::/48 via fe80::1 proto static metric 10 pref medium"},
          "wwan0": {"-4": "default proto static scope link metric 20", "-6": ""}}
ADDRS = {"pppoe-wan": ["5: pppoe-wan    inet 10.1.0.2 peer 10.1.0.1/32 scope global pppoe-wan",
                       "5: pppoe-wan    inet6 2001:db8:a::2/64 scope global dynamic",
                       "5: pppoe-wan    inet6 fe80::2/64 scope link"],
         "wwan0": ["6: wwan0    inet 10.2.0.2/30 brd 10.2.0.3 scope global wwan0"]}


class FakeRunner:
    """sysrun.run stand-in: records each command batch, answers `ip route/addr show` from tables."""

    def __init__(self, fail=()):
        self.batches = []
        self.fail = fail

    async def __call__(self, cmd, tmpdir, timeout, max_lines=32):
        self.batches.append(cmd.split("\n"))
        out = []
        for c in cmd.split("\n"):
            w = c.split()
            if c.startswith("echo @"):
                out.append(w[1].rstrip(";"))
                c = c.split("; ", 1)[1]
                w = c.split()
            if w[:2] == ["ip", "-o"] and w[2] == "addr":
                out += ADDRS[w[-1]]
            elif len(w) > 3 and w[2] == "route" and w[3] == "show":
                out += [l for l in [ROUTES[w[w.index("dev") + 1]][w[1]]] if l]
        return (1 if any(f in cmd for f in self.fail) else 0), out


def run(coro):
    return asyncio.run(coro)


def test_route_and_address_parsers():
    assert parse_default_route(["default via 10.1.0.1 proto dhcp metric 10"], "wan") == "via 10.1.0.1 dev wan"
    assert parse_default_route(["default dev wwan0 scope link"], "wwan0") == "dev wwan0"
    assert parse_default_route(["default from 2001:db8::/48 via fe80::1 metric 512"], "wan") == "via fe80::1 dev wan"
    assert parse_default_route(["default via $(reboot) dev x"], "wan") is None  # never into a command line
    assert parse_default_route([], "wan") is None
    assert parse_addresses(ADDRS["pppoe-wan"]) == {"ipv4": ["10.1.0.2"], "ipv6": ["2001:db8:a::2"]}
    text = "# Interface wan\nnameserver 10.1.53.53\nsearch lan\n# Interface wan6\nnameserver 2001:db8:a::53\n" \
           "# Interface wwan\nnameserver 10.2.53.53\nnameserver bogus;rm\n"
    assert parse_resolv_auto(text) == {"wan": ["10.1.53.53"], "wan6": ["2001:db8:a::53"], "wwan": ["10.2.53.53"]}


def test_routing_setup_installs_rules_tables_and_dns_pinning_for_both_families(fake_clock, tmp_path):
    resolv = tmp_path / "resolv.conf.auto"
    resolv.write_text("# Interface wan\nnameserver 10.1.53.53\n# Interface wan6\nnameserver 2001:db8:a::53\n"
                      "# Interface wwan\nnameserver 10.2.53.53\n")
    ev = EventBus(fake_clock)
    r = FakeRunner()
    a = OpenWrtActuator(LINKS, ev, str(tmp_path), {"resolv_file": str(resolv)}, runner=r)
    assert run(a.setup("wan"))
    cmds = r.batches[-1]
    # stale state of an earlier run goes first, then the fixed rules, per-link tables, the active table
    assert cmds[0].startswith("while ip -4 rule del priority 30000")
    for opt in ("-4", "-6"):
        assert "ip %s rule add priority 30000 lookup main suppress_prefixlength 0" % opt in cmds
        assert "ip %s rule add priority 30100 lookup 30100" % opt in cmds
    assert "ip -4 route replace default via 10.1.0.1 dev pppoe-wan table 30100" in cmds
    assert "ip -6 route replace default via fe80::1 dev pppoe-wan table 30100" in cmds
    assert "ip -4 rule add priority 30001 to 10.1.53.53 lookup 30001" in cmds
    assert "ip -6 rule add priority 30001 to 2001:db8:a::53 lookup 30001" in cmds
    assert "ip -4 route replace default dev wwan0 table 30002" in cmds  # point-to-point: no gateway
    assert "ip -4 rule add priority 30002 to 10.2.53.53 lookup 30002" in cmds
    assert ev.recent[-1]["type"] == "actuation" and ev.recent[-1]["ok"]


def test_switch_replaces_the_active_routes_and_flushes_only_the_old_links_nat_entries(fake_clock, tmp_path):
    ev = EventBus(fake_clock)
    r = FakeRunner()
    a = RoutingActuator(LINKS, ev, str(tmp_path), {"flush_conntrack": True}, runner=r)
    run(a.setup("wan"))
    assert run(a.activate("wwan", "wan"))
    route, ct = r.batches[-2], r.batches[-1]
    assert route == ["ip -4 route replace default dev wwan0 table 30100",
                     "ip -6 route replace unreachable default table 30100"]  # wwan has no IPv6
    # (no resolv file configured: no dnsmasq nudge, the batch after the switch is conntrack only)
    assert ct == ["conntrack -D -f ipv4 --reply-dst 10.1.0.2 >/dev/null 2>&1; :",
                  "conntrack -D -f ipv6 --reply-dst 2001:db8:a::2 >/dev/null 2>&1; :"]
    assert run(a.activate("wan", "wwan"))
    assert r.batches[-1] == ["conntrack -D -f ipv4 --reply-dst 10.2.0.2 >/dev/null 2>&1; :"]
    quiet = RoutingActuator(LINKS, ev, str(tmp_path), {"flush_conntrack": False}, runner=FakeRunner())
    run(quiet.setup("wan"))
    assert run(quiet.activate("wwan", "wan")) and not any("conntrack" in c for b in quiet.runner.batches for c in b)


def test_openwrt_switch_nudges_dnsmasq_to_ask_all_its_servers_again(fake_clock, tmp_path):
    resolv = tmp_path / "resolv.conf.auto"
    resolv.write_text("# Interface wan\nnameserver 10.1.53.53\n")
    r = FakeRunner()
    a = OpenWrtActuator(LINKS, EventBus(fake_clock), str(tmp_path), {"resolv_file": str(resolv)}, runner=r)
    assert run(a.activate("wwan", "wan"))
    assert any("table 30100" in c for c in r.batches[-2])
    assert r.batches[-1][0] == "touch -c %s" % resolv  # after the route change, with the conntrack cleanup
    bad = OpenWrtActuator(LINKS, EventBus(fake_clock), str(tmp_path), {"resolv_file": "/tmp/x;reboot"},
                          runner=FakeRunner())
    assert bad._dns_nudge() == []  # never a shell string from an unchecked path


def test_a_failed_route_change_is_reported_and_not_a_switch(fake_clock, tmp_path):
    ev = EventBus(fake_clock)
    a = RoutingActuator(LINKS, ev, str(tmp_path), {}, runner=FakeRunner(fail=("table 30100",)))
    assert not run(a.activate("wwan", "wan"))
    assert ev.recent[-1]["type"] == "actuation" and ev.recent[-1]["ok"] is False and a.active is None


def test_release_removes_everything_and_session_restart_is_ifup(fake_clock, tmp_path):
    ev = EventBus(fake_clock)
    r = FakeRunner()
    a = OpenWrtActuator(LINKS, ev, str(tmp_path), {}, runner=r)
    assert run(a.release())
    rel = r.batches[-1]
    assert all(c.startswith("while ip") or c.startswith("ip -") and "flush" in c for c in rel)
    assert "ip -6 route flush table 30100 2>/dev/null" in rel
    assert run(a.restart_session("wan"))
    assert r.batches[-1] == ["ifup wan", "ifup wan6"]
    assert run(RoutingActuator(LINKS, ev, str(tmp_path), {}, runner=r).restart_session("wan")) is None


def test_actuator_refuses_unsafe_names(fake_clock):
    bad = [{"name": "wan", "device": "x;reboot", "role": "primary"}, LINKS[1]]
    with pytest.raises(ValueError):
        RoutingActuator(bad, EventBus(fake_clock), runner=FakeRunner())
    assert not is_name("a b") and not is_name("x" * 16) and is_name("pppoe-wan.2")


def test_make_actuator_kinds(fake_clock):
    for kind, cls in (("openwrt", OpenWrtActuator), ("linux-route", RoutingActuator), ("none", NoneActuator)):
        assert type(make_actuator({"actuator": kind, "links": LINKS})) is cls


def test_address_literals_and_their_family():
    for ok in ("::1", "2001:db8::1", "fe80::1:2:3:4", "2001:db8:0:0:0:0:0:1", "::ffff:10.0.0.1", "::"):
        assert is_ipv6(ok) and ip_family(ok) == "ipv6", ok
    for bad in ("", ":", "2001:db8::1::2", "2001:db8:0:0:0:0:0:0:1", "12345::1", "g::1",
                "10.0.0.1", "::ffff:10.0.0.300", "2001:db8::/64", None, 5):
        assert not is_ipv6(bad), bad
    assert ip_family("10.9.0.1") == "ipv4" and ip_family("example.com") is None
    assert ip_family("fe80::1%eth0") is None  # a zone never reaches a probe or a command line


# --- probe packets ---------------------------------------------------------------------------------
def test_echo_request_checksum_and_reply_parsing():
    req = echo_request(0x1234, 7, b"")
    assert len(req) == 8 and checksum(req) == 0
    ip = bytes([0x45, 0, 0, 28, 0, 0, 0, 0, 64, 1, 0, 0, 10, 9, 0, 1, 10, 1, 0, 2])
    rep = bytes([0, 0]) + req[2:]
    assert parse_reply(ip + rep) == (bytes([10, 9, 0, 1]), 0x1234, 7)
    assert parse_reply(ip + req) is None  # our own request seen on the raw socket


def test_request_buffer_is_refilled_in_place_and_replies_parse_without_copies():
    buf = bytearray(8 + 3)
    buf[8:] = b"abc"  # odd payload: the checksum pads with a zero byte without copying
    for seq in (1, 2, 0xFFFF):
        fill_request(buf, 0x4242, seq)
        assert bytes(buf) == echo_request(0x4242, seq, b"abc") and checksum(buf) == 0
    ip = bytes([0x45, 0, 0, 31, 0, 0, 0, 0, 64, 1, 0, 0, 10, 9, 0, 3, 10, 1, 0, 2])
    rx = bytearray(128)
    pkt = ip + bytes([0, 0]) + bytes(buf[2:])
    rx[:len(pkt)] = pkt
    assert reply_ids(rx, len(pkt)) == (0x4242, 0xFFFF)
    assert reply_ids(rx, 19) is None and reply_ids(rx, 27) is None  # truncated
    assert same_source(rx, bytes([10, 9, 0, 3])) and not same_source(rx, bytes([10, 9, 0, 1]))
