"""Budget policy (usage/budget.py), pure parts with a FakeClock: settings and their validation
(JSON and UCI), which step applies, the remote override, the forecast under a limit, the exact
command lines, the parsers of `tc`/`ip` output, and the policy driven through failover, steps,
commands, rollover and failback with a fake command runner that keeps the devices' qdisc state."""
import asyncio

import pytest

from tests.support.fakeclock import FakeClock
from tests.usage.helpers import MB, Rig, ep
from wanwatch import config
from wanwatch.events import EventBus
from wanwatch.failover.link import as_links
from wanwatch.report.status import BUDGET_KEYS
from wanwatch.usage import budget as B
from wanwatch.usage.forecast import limited_rate

LINKS = [{"name": "wan", "device": "wan", "role": "primary", "targets": ["10.9.0.1"]},
         {"name": "wwan", "device": "wwan", "role": "backup", "metered": True, "targets": ["10.9.0.1"]}]
BASE = {"device_id": "d", "modem": {"port": "/dev/null"}, "links": LINKS, "actuator": "openwrt"}


def run(coro):
    return asyncio.run(coro)


# --- settings ------------------------------------------------------------------------------------
def test_defaults_and_one_declaration():
    s = B.settings({})
    assert s == {"rate_mbps": None, "steps": [], "allow": [], "lan_devices": ["br-lan"], "upload": True,
                 "check_s": 5, "resolve_s": 300}
    from wanwatch.usage import schema
    assert B.BUDGET_DEFAULTS == dict((e[0], e[2]) for e in schema.BUDGET)  # declared once, in the schema


@pytest.mark.parametrize("raw,key,why", [
    ({"rate_mbps": 0}, "rate_mbps", "between 0.064 and 10000"),
    ({"rate_mbps": True}, "rate_mbps", "number"),
    ({"rate": 3}, "rate", "unknown key"),
    ({"steps": [{"at_pct": 80}]}, "steps[0].rate_mbps", "is required"),
    ({"steps": [{"at_pct": 0, "rate_mbps": 1}]}, "steps[0].at_pct", "greater than 0"),
    ({"steps": [{"at_pct": 80, "rate_mbps": 1}, {"at_pct": 80, "rate_mbps": 2}]}, "steps[1].at_pct", "two steps at 80"),
    ({"steps": [{"at_pct": i + 1, "rate_mbps": 1} for i in range(9)]}, "steps", "at most 8"),
    ({"allow": ["10.0.0.0/33"]}, "allow[0]", "IP address, a prefix or a host name"),
    ({"allow": ["pay;rm -rf"]}, "allow[0]", "host name"),
    ({"allow": ["1.2.3"]}, "allow[0]", "host name"),
    ({"allow": ["x.example"] * 17}, "allow", "at most 16"),
    ({"lan_devices": []}, "lan_devices", "1 to 4"),
    ({"lan_devices": ["br lan"]}, "lan_devices[0]", "characters"),
    ({"upload": "yes"}, "upload", "true or false"),
    ({"check_s": 0}, "check_s", "between"),
])
def test_bad_budget_keys_are_config_errors(raw, key, why):
    with pytest.raises(config.ConfigError) as e:
        config.validate(dict(BASE, budget=raw), "site.json")
    assert e.value.key == "budget." + key and why in e.value.reason, str(e.value)


def test_budget_needs_a_routing_actuator_and_a_metered_link():
    with pytest.raises(config.ConfigError) as e:
        config.validate(dict(BASE, actuator="none", budget={"rate_mbps": 3}))
    assert e.value.key == "actuator" and "with a budget" in e.value.reason
    links = [dict(l, metered=False) for l in LINKS]
    with pytest.raises(config.ConfigError) as e:
        config.validate(dict(BASE, links=links, budget={"rate_mbps": 3}))
    assert "metered" in e.value.reason
    cfg = config.validate(dict(BASE, budget={"rate_mbps": 3, "steps": [{"at_pct": 80, "rate_mbps": 1}],
                                             "allow": ["10.9.0.20", "2001:db8::/32", "pay.example.com"]}))
    assert cfg["budget"]["rate_mbps"] == 3
    assert not B.enabled(config.validate(BASE))  # no rate, no steps: no budget


def test_uci_budget_section_and_steps():
    text = """
config wanwatch 'main'
    option device_id 'd'
    option actuator 'openwrt'
config modem 'modem'
    option port '/dev/ttyUSB2'
config link 'wan'
    option device 'wan'
    option role 'primary'
config link 'wwan'
    option device 'wwan0'
    option role 'backup'
    option metered '1'
config budget 'budget'
    option rate_mbps '3'
    list allow '10.9.0.20'
    list allow 'pay.example.com'
    list lan_devices 'br-lan'
    option upload '0'
config step 'at80'
    option at_pct '80'
    option rate_mbps '0.5'
"""
    cfg = config.validate(config.parse_text(text, "wanwatch"), "wanwatch")
    assert cfg["budget"] == {"rate_mbps": 3, "allow": ["10.9.0.20", "pay.example.com"], "lan_devices": ["br-lan"],
                             "upload": False, "steps": [{"at_pct": 80, "rate_mbps": 0.5}], "check_s": 5,
                             "resolve_s": 300}


def test_allowlist_entries():
    assert B.is_prefix("10.9.0.20") == ("ipv4", "10.9.0.20", 32)
    assert B.is_prefix("2001:db8::/32") == ("ipv6", "2001:db8::", 32)
    assert B.is_prefix("10.0.0.0/33") is None and B.is_prefix("10.0.0.0/x") is None
    assert B.is_prefix("fe80::1%lan") is None  # a zone never reaches a command line
    assert B.is_host("pay.example.com") and B.is_host("voip-1.provider_x.example.")
    assert not B.is_host("1.2.3.4") and not B.is_host("a..b") and not B.is_host("a b")


# --- pure core -----------------------------------------------------------------------------------
def test_step_for_picks_the_highest_step_reached():
    steps = [(50, 2000), (80, 1000), (95, 256)]
    assert B.step_for(3000, steps, None) == (3000, None)  # no cap: no step
    assert B.step_for(3000, steps, 49.9) == (3000, None)
    assert B.step_for(3000, steps, 50.0) == (2000, 50)
    assert B.step_for(3000, steps, 80.0) == (1000, 80)
    assert B.step_for(3000, steps, 120) == (256, 95)
    assert B.step_for(None, [(80, 1000)], 79.9) == (None, None)  # no base rate: unlimited below the step


def core(**raw):
    return B.BudgetCore(B.settings(raw))


def test_core_wants_a_limit_only_while_the_metered_link_carries_traffic():
    c = core(rate_mbps=3, steps=[{"at_pct": 80, "rate_mbps": 1}])
    assert c.wanted(False, 90) == (None, None)
    assert c.wanted(True, 10) == (3000, None)
    assert c.wanted(True, 80) == (1000, 80)
    assert core(rate_mbps=0.5).wanted(True, None) == (500, None)
    assert not core().configured() and core(steps=[{"at_pct": 80, "rate_mbps": 1}]).configured()


def test_core_override_lift_set_resume():
    c = core(rate_mbps=3, steps=[{"at_pct": 80, "rate_mbps": 1}])
    c.command({"action": "lift"})
    assert c.wanted(True, 90) == (None, None)
    c.command({"action": "set", "rate_kbit": 5000})
    assert c.wanted(True, 50) == (5000, None) and c.wanted(True, 85) == (1000, 80)  # config's steps kept
    c.command({"action": "set", "rate_kbit": None, "steps": [{"at_pct": 90, "rate_kbit": 256}]})
    assert c.wanted(True, 85) == (None, None) and c.wanted(True, 90) == (256, 90)
    assert c.end_override() and c.override is None and c.wanted(True, 85) == (1000, 80)
    assert not c.end_override()
    c.command({"action": "set", "rate_kbit": 800})
    c.command({"action": "resume"})
    assert c.override is None


@pytest.mark.parametrize("args,why", [
    ({}, "action must be"),
    ({"action": "stop"}, "action must be"),
    ({"action": "lift", "rate_kbit": 100}, "takes no"),
    ({"action": "set"}, "needs rate_kbit"),
    ({"action": "set", "rate_kbit": 10}, "integer 64..10000000"),
    ({"action": "set", "rate_kbit": 1.5}, "integer"),
    ({"action": "set", "rate_kbit": True}, "integer"),
    ({"action": "set", "rate_kbit": None}, "use lift"),
    ({"action": "set", "rate_kbit": 500, "steps": [{"at_pct": 80, "rate_mbps": 1}]}, "{at_pct, rate_kbit}"),
    ({"action": "set", "rate_kbit": 500, "steps": [{"at_pct": 80, "rate_kbit": 10}]}, "rate_kbit must be"),
    ({"action": "set", "rate_kbit": 500, "steps": "80:1"}, "list"),
])
def test_bad_command_args(args, why):
    assert why in B.check_command(args)


def test_good_command_args():
    for args in ({"action": "lift"}, {"action": "resume"}, {"action": "set", "rate_kbit": 2000},
                 {"action": "set", "rate_kbit": None, "steps": [{"at_pct": 80, "rate_kbit": 500}]}):
        assert B.check_command(args) is None, args


def test_signed_budget_command_is_checked_by_the_budget_rules(tmp_path):
    from tests.report.test_commands import Rig as CmdRig, signed
    rig = CmdRig(tmp_path)
    res = rig.run(signed("budget", {"action": "set", "rate_kbit": 5}))
    assert not res["ok"] and "rate_kbit must be an integer 64..10000000" in res["error"]
    res = rig.run(signed("budget", {"action": "lift"}, nonce="nonce-0002"))
    assert not res["ok"] and "not supported on this device" in res["error"]  # checked, then no handler


# --- forecast under a limit ----------------------------------------------------------------------
def test_limited_rate_holds_each_direction_to_its_limit():
    assert limited_rate(None, 1, 1, (100, 100)) is None
    assert limited_rate(1000.0, 900, 100, None) == 1000.0
    assert limited_rate(1000.0, 900, 100, (300.0, 300.0)) == pytest.approx(300 + 100)
    assert limited_rate(1000.0, 900, 100, (300.0, None)) == pytest.approx(300 + 100)
    assert limited_rate(1000.0, 100, 900, (300.0, None)) == pytest.approx(100 + 900)  # uploads not limited
    assert limited_rate(100.0, 0, 0, (300.0, 300.0)) == pytest.approx(100)  # below the limit: as observed


def test_forecast_uses_the_limited_rate(tmp_path):
    """A day of 5 Mbit/s download burn, then a 1 Mbit/s limit: the projected exhaustion moves out
    by the ratio of the rates, at once (the tracker's next sample), and back when lifted."""
    r = Rig(tmp_path, cap_mb=100000, thresholds=[99])
    r.traffic(0)
    r.burn(625000 * 12 * 3600, 12 * 3600)  # 5 Mbit/s (625 kB/s) for 12 h
    st = r.t.status()
    free = st["cap_bytes"] - st["total_bytes"]
    assert st["forecast_rate_bps"] == pytest.approx(625000, rel=0.01)
    assert st["forecast_exhaustion"] == pytest.approx(r.clock.time() + free / 625000, abs=600)
    r.t.rate_limit = (125000.0, 125000.0)  # what BudgetPolicy sets for 1 Mbit/s
    r.traffic(1250000, 0, 10)
    st = r.t.status()
    assert st["forecast_rate_bps"] == pytest.approx(125000, rel=0.01)
    free = st["cap_bytes"] - st["total_bytes"]
    assert st["forecast_exhaustion"] == pytest.approx(r.clock.time() + free / 125000, abs=600)
    r.t.rate_limit = None
    r.traffic(1250000, 0, 10)
    assert r.t.status()["forecast_rate_bps"] == pytest.approx(625000, rel=0.02)


# --- command lines and parsers -------------------------------------------------------------------
def test_download_shaping_command_lines():
    cmds = B.shape_cmds("br-lan", 3000, "src", [("ipv4", "10.9.0.20", 32), ("ipv6", "2001:db8:9::", 48),
                                                ("ipv4", "192.168.1.1", 24)])
    assert cmds == [
        "tc qdisc replace dev br-lan root handle 5757: htb default 10",
        "tc class replace dev br-lan parent 5757: classid 5757:10 htb rate 10000000kbit ceil 10000000kbit "
        "burst 125000 cburst 125000 quantum 60000",
        "tc class replace dev br-lan parent 5757: classid 5757:20 htb rate 3000kbit ceil 3000kbit quantum 1514",
        "tc qdisc replace dev br-lan parent 5757:20 handle 5758: fq_codel limit 1000 memory_limit 4194304 "
        "target 6055us interval 101055us 2>/dev/null || tc qdisc replace dev br-lan parent 5757:20 handle 5758: "
        "bfifo limit 187500",
        "tc filter del dev br-lan parent 5757: 2>/dev/null || :",
        "tc filter add dev br-lan parent 5757: prio 1 protocol ip u32 match ip src 10.9.0.20/32 flowid 5757:10",
        "tc filter add dev br-lan parent 5757: prio 2 protocol ipv6 u32 match ip6 src 2001:db8:9::/48 flowid 5757:10",
        "tc filter add dev br-lan parent 5757: prio 1 protocol ip u32 match ip src 192.168.1.1/24 flowid 5757:10",
        "tc filter add dev br-lan parent 5757: prio 5 protocol ip u32 match u32 0 0 flowid 5757:20",
        "tc filter add dev br-lan parent 5757: prio 6 protocol ipv6 u32 match u32 0 0 flowid 5757:20"]


def test_upload_shaping_command_lines_on_an_installed_qdisc():
    cmds = B.shape_cmds("wwan0", 1000, "dst", [("ipv4", "10.9.0.20", 32)], icmp=True, fresh=False)
    assert not any("root handle" in c for c in cmds)  # HTB cannot change itself: classes only
    assert cmds[1].endswith("rate 1000kbit ceil 1000kbit quantum 1514")
    assert "target 18168us interval 113168us" in cmds[2] and cmds[2].endswith("bfifo limit 131072")
    assert cmds[4:] == [
        "tc filter add dev wwan0 parent 5757: prio 1 protocol ip u32 match ip dst 10.9.0.20/32 flowid 5757:10",
        "tc filter add dev wwan0 parent 5757: prio 3 protocol ip u32 match ip protocol 1 0xff flowid 5757:10",
        "tc filter add dev wwan0 parent 5757: prio 4 protocol ipv6 u32 match ip6 protocol 58 0xff flowid 5757:10",
        "tc filter add dev wwan0 parent 5757: prio 5 protocol ip u32 match u32 0 0 flowid 5757:20",
        "tc filter add dev wwan0 parent 5757: prio 6 protocol ipv6 u32 match u32 0 0 flowid 5757:20"]


def test_only_validated_values_reach_a_command_line():
    for bad in (("br-lan;reboot", 1000, "src", []), ("br-lan", 10, "src", []), ("br-lan", 1000, "sport", []),
                ("br-lan", 1000, "src", [("ipv4", "10.0.0.1;reboot", 32)]), ("br-lan", 1000, "src", [("ipv4", "10.0.0.1", 40)])):
        with pytest.raises(ValueError):
            B.shape_cmds(*bad)
    assert B.clear_cmds(["br-lan", "x;y", "wwan0"]) == [
        "tc qdisc del dev br-lan root handle 5757: 2>/dev/null || :",
        "tc qdisc del dev wwan0 root handle 5757: 2>/dev/null || :"]


def test_leaf_params():
    assert B.leaf_params(3000) == (6055, 101055, 187500)
    assert B.leaf_params(1000) == (18168, 113168, 131072)  # one frame takes 12 ms at 1 Mbit/s
    assert B.leaf_params(100000)[:2] == (5000, 100000)


def test_parse_read():
    lines = ["@br-lan", "qdisc noqueue 0: root refcnt 2 ",
             "3: br-lan    inet 192.168.1.1/24 brd 192.168.1.255 scope global br-lan\\       valid_lft forever",
             "3: br-lan    inet6 fd00:1::1/64 scope global \\       valid_lft forever preferred_lft forever",
             "3: br-lan    inet6 fe80::1/64 scope link \\       valid_lft forever preferred_lft forever",
             "@wwan0", "qdisc htb 5757: root refcnt 3 r2q 10 default 0x10 direct_packets_stat 0",
             "@eth1", "qdisc cake 8001: root refcnt 2 bandwidth 20Mbit", "@gone"]
    st = B.parse_read(lines)
    assert st["br-lan"] == {"qdisc": "default", "local": [("ipv4", "192.168.1.1", 24), ("ipv6", "fd00:1::1", 64),
                                                          ("ipv6", "fe80::1", 64)]}
    assert st["wwan0"]["qdisc"] == "ours" and st["eth1"]["qdisc"] == "cake 8001:" and st["gone"]["qdisc"] is None
    assert B.read_cmds(["br-lan", "a;b"]) == [
        "echo @br-lan; tc qdisc show dev br-lan root 2>/dev/null; ip -o addr show dev br-lan 2>/dev/null"]
    assert B.release_devices({"links": LINKS, "budget": {"lan_devices": ["lan"]}}) == ["lan", "wwan"]
    assert B.release_devices({"links": LINKS}) == ["br-lan", "wwan"]


# --- the policy with a fake runner ---------------------------------------------------------------
class FakeTc:
    """sysrun.run stand-in keeping each device's root qdisc: "default", "ours" or someone else's."""

    def __init__(self, qdiscs=None, fail=()):
        self.q = dict(qdiscs or {"lan": "default", "wwan": "default"})
        self.addrs = {"lan": ["2: lan    inet 192.168.1.1/24 scope global lan",
                              "2: lan    inet6 fd00:1::1/64 scope global"]}
        self.batches = []
        self.fail = fail

    async def __call__(self, cmd, tmpdir, timeout, max_lines=32):
        lines = cmd.split("\n")
        self.batches.append(lines)
        if any(f in cmd for f in self.fail):
            return 2, ["RTNETLINK answers: Operation not permitted"]
        out = []
        for c in lines:
            w = c.split()
            if c.startswith("echo @"):
                d = w[1].rstrip(";").lstrip("@")
                out.append("@" + d)
                q = self.q.get(d)
                if q == "ours":
                    out.append("qdisc htb 5757: root refcnt 2")
                elif q == "default":
                    out.append("qdisc noqueue 0: root refcnt 2")
                elif q:
                    out.append("qdisc %s root refcnt 2" % q)
                out += self.addrs.get(d, [])
            elif c.startswith("tc qdisc replace dev") and "root handle 5757:" in c:
                assert self.q[w[4]] == "default", c
                self.q[w[4]] = "ours"
            elif c.startswith("tc qdisc del dev") and self.q.get(w[4]) == "ours":
                self.q[w[4]] = "default"
            elif c.startswith("tc class replace") and "5757:20" in c:
                assert self.q[w[4]] == "ours", c
        return 0, out

    def rates(self):
        """kbit of the limited class per device in the last shaping batch."""
        out = {}
        for c in self.batches[-1]:
            if "classid 5757:20" in c:
                w = c.split()
                out[w[4]] = int(w[w.index("rate") + 1][:-4])
        return out


class Site:
    def __init__(self, runner=None, used=10.0, resolver=None, **budget):
        self.clock = FakeClock(ep(2026, 11, 10, 12))
        self.bus = EventBus(self.clock)
        self.events = []
        self.bus.subscribe(self.events.append)
        self.active = "wan"
        self.u = {"used_pct": used, "cycle_start": ep(2026, 11, 1)}
        self.tc = runner or FakeTc()
        self.tracker = type("T", (), {"rate_limit": None})()
        b = {"rate_mbps": 3, "steps": [{"at_pct": 80, "rate_mbps": 1}], "lan_devices": ["lan"],
             "allow": ["10.9.0.20"]}
        b.update(budget)
        cfg = {"budget": b, "run_dir": "/tmp"}
        links = as_links(LINKS)
        self.p = B.BudgetPolicy(cfg, self.clock, self.bus, links, lambda: self.active == "wwan", lambda: self.u,
                                tracker=self.tracker, runner=self.tc, resolver=resolver)

    def tick(self):
        run(self.p.tick())

    def budget_events(self):
        return [(e["action"], e["rate_mbps"], e["reason"]) for e in self.events if e["type"] == "budget"]


def test_policy_applies_at_failover_steps_down_and_lifts_at_failback():
    s = Site()
    s.tick()
    assert s.tc.batches == [] and s.p.status()["state"] == "off"  # on the primary: nothing runs
    s.active = "wwan"
    s.tick()
    assert s.tc.q == {"lan": "ours", "wwan": "ours"} and s.tc.rates() == {"lan": 3000, "wwan": 3000}
    shaping = s.tc.batches[-1]
    assert shaping[0] == "set -e"
    assert "tc filter add dev lan parent 5757: prio 1 protocol ip u32 match ip src 10.9.0.20/32 flowid 5757:10" in shaping
    assert "tc filter add dev lan parent 5757: prio 1 protocol ip u32 match ip src 192.168.1.1/24 flowid 5757:10" in shaping
    assert "tc filter add dev lan parent 5757: prio 2 protocol ipv6 u32 match ip6 src fe80::/10 flowid 5757:10" in shaping
    assert "tc filter add dev wwan parent 5757: prio 1 protocol ip u32 match ip dst 10.9.0.20/32 flowid 5757:10" in shaping
    assert s.tracker.rate_limit == (375000.0, 375000.0)
    st = s.p.status()
    assert set(st) == set(BUDGET_KEYS) and st["state"] == "limited" and st["rate_mbps"] == 3.0
    n = len(s.tc.batches)
    s.tick()
    assert len(s.tc.batches) == n + 0  # nothing changed: no command
    s.u["used_pct"] = 80.0
    s.tick()
    assert s.tc.rates() == {"lan": 1000, "wwan": 1000} and s.tracker.rate_limit == (125000.0, 125000.0)
    assert not any("root handle" in c for c in s.tc.batches[-1])
    s.active = "wan"
    s.tick()
    assert s.tc.q == {"lan": "default", "wwan": "default"} and s.tracker.rate_limit is None
    assert s.budget_events() == [("applied", 3.0, "wwan carries traffic"),
                                 ("stepped", 1.0, "used 80.0% reached the 80% step"),
                                 ("lifted", None, "failback: wwan no longer carries traffic")]
    ev = [e for e in s.events if e["type"] == "budget"]
    assert ev[1]["prev_rate_mbps"] == 3.0 and ev[1]["step_pct"] == 80 and ev[1]["ok"] is True


def test_no_base_rate_limits_only_from_the_first_step():
    s = Site(rate_mbps=None, upload=False)
    s.active = "wwan"
    s.tick()
    assert s.tc.batches == []
    s.u["used_pct"] = 85.2
    s.tick()
    assert s.tc.q == {"lan": "ours", "wwan": "default"} and s.tc.rates() == {"lan": 1000}
    assert s.tracker.rate_limit == (125000.0, None)  # uploads are not limited
    s.u["used_pct"] = 40.0  # the operator raised the cap (set_cap)
    s.tick()
    assert s.budget_events()[-1] == ("lifted", None, "no step applies") and s.tc.q["lan"] == "default"


def test_remote_command_lifts_until_failback_then_config_applies_again():
    s = Site()
    with pytest.raises(ValueError):
        run(s.p.command({"action": "lift"}))  # not on the metered link: refused
    s.active = "wwan"
    s.tick()
    st = run(s.p.command({"action": "lift"}))
    assert st["state"] == "lifted" and st["override"] == "lift" and s.tc.q["lan"] == "default"
    s.tick()
    assert s.tc.q["lan"] == "default"  # stays lifted
    s.active = "wan"
    s.tick()
    assert s.p.core.override is None
    s.active = "wwan"
    s.tick()
    assert s.tc.rates() == {"lan": 3000, "wwan": 3000}
    st = run(s.p.command({"action": "set", "rate_kbit": 2000}))
    assert st["override"] == "set" and st["rate_mbps"] == 2.0 and s.tc.rates()["lan"] == 2000
    with pytest.raises(ValueError):
        run(s.p.command({"action": "set", "rate_kbit": 1}))
    s.u["cycle_start"] = ep(2026, 12, 1)  # the billing cycle rolled over: the override ends
    s.tick()
    assert s.p.core.override is None and s.tc.rates()["lan"] == 3000
    acts = s.budget_events()
    assert acts[1] == ("lifted", None, "command: lift") and acts[3] == ("stepped", 2.0, "command: set")
    assert acts[4] == ("stepped", 3.0, "billing cycle rolled over")


def test_a_foreign_qdisc_is_left_alone_and_a_failure_is_one_event():
    tc = FakeTc({"lan": "default", "wwan": "cake 8001:"})
    s = Site(runner=tc)
    s.active = "wwan"
    s.tick()
    assert tc.q == {"lan": "ours", "wwan": "cake 8001:"}
    ev = [e for e in s.events if e["type"] == "budget"][-1]
    assert ev["ok"] is True and "wwan has a qdisc of its own (cake 8001:): not touched" in ev["error"]
    tc2 = FakeTc(fail=("tc class replace",))
    s2 = Site(runner=tc2)
    s2.active = "wwan"
    for _ in range(3):
        s2.tick()
        s2.clock.advance(B.RETRY_S + 1)
    ev = [e for e in s2.events if e["type"] == "budget"]
    assert len(ev) == 1 and ev[0]["ok"] is False and "not permitted" in ev[0]["error"]
    assert s2.p.status()["state"] == "off" and s2.tracker.rate_limit is None


def test_stale_limit_of_a_crashed_run_is_removed_at_start_and_release_removes_ours():
    tc = FakeTc({"lan": "ours", "wwan": "default"})
    s = Site(runner=tc)
    run(s.p.clear_stale())
    assert tc.q["lan"] == "default"
    assert s.budget_events() == [("lifted", None, "left by an earlier run on lan")]
    s.active = "wwan"
    s.tick()
    assert run(s.p.release()) and tc.q == {"lan": "default", "wwan": "default"}
    assert s.budget_events()[-1] == ("lifted", None, "agent stop")


class FakeResolver:
    def __init__(self):
        self.answers = {"voip.example": (["10.9.0.21", "2001:db8:9::21"], 60)}
        self.asked = 0

    async def lookup_all(self, name):
        from wanwatch.dns import DNSError
        self.asked += 1
        if name not in self.answers:
            raise DNSError("no answer")
        return self.answers[name]


def test_allowlisted_names_are_resolved_and_kept_when_the_resolver_fails():
    r = FakeResolver()
    s = Site(resolver=r, allow=["voip.example", "10.9.0.20"], resolve_s=60)
    s.active = "wwan"
    s.tick()
    b = "\n".join(s.tc.batches[-1])
    assert "match ip src 10.9.0.21/32" in b and "match ip6 src 2001:db8:9::21/128" in b and "10.9.0.20/32" in b
    r.answers["voip.example"] = (["10.9.0.22"], 60)
    s.clock.advance(61)
    s.tick()
    assert s.budget_events()[-1] == ("stepped", 3.0, "allowlist changed")
    assert "match ip src 10.9.0.22/32" in "\n".join(s.tc.batches[-1])
    del r.answers["voip.example"]
    s.clock.advance(61)
    n = len(s.tc.batches)
    s.tick()
    assert r.asked == 3 and len(s.tc.batches) == n  # failed lookup: the last good answer stays
