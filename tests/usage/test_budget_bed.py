"""The budget policy on the network bed: the whole agent (real MicroPython, .mpy bundle, actuator
openwrt) on the bed's router, wwan metered with a 20 GB cap of which 80 % minus 8 MB are used (a
seeded ledger: 7 h of 4 Mbit/s burn behind it, so the forecast has a trend). The primary's upstream
dies: failover to wwan, the limit (3 Mbit/s, 1 Mbit/s from 80 %) goes on. A LAN bulk download is
held to the step, the allowlisted VoIP-like flow loses nothing, the ledger grows no faster than the
limit allows and the forecast assumes the limited rate; crossing 80 % steps the rate down; the
primary heals: failback, the limit is lifted and no qdisc of ours is left
(tests/support/budget_traffic.budget_site runs the story, bench/bench_budget.py prints it).
A crashed agent's limit is removed by the next start and by `wanwatch --release`."""
import pytest

from host_tools.netbed import NetBed
from tests.support.budget_traffic import OBSERVED, RATE, STEP, budget_site

pytestmark = pytest.mark.netns

TOL = 0.15


def limited(share, kbit):
    """The forecast's rate under a limit of kbit each way (usage.forecast.limited_rate)."""
    return min(OBSERVED * share, kbit * 125) + min(OBSERVED * (1 - share), kbit * 125)


def test_budget_holds_the_lan_to_its_step_spares_voip_and_goes_at_failback(tmp_path):
    with NetBed() as bed:
        r = budget_site(bed, str(tmp_path))
    assert "5757" not in "".join(r["qdiscs_before"].values())
    assert r["cmd_before"][0] == 1 and "does not carry traffic" in r["cmd_before"][1], r["cmd_before"]
    before = r["before"]["usage"]
    assert before["used_pct"] == 79.9 and before["forecast_rate_bps"] == pytest.approx(OBSERVED, rel=0.02), before

    ap = r["applied"]
    print("budget applied %.2f s after the failover: %s" % (r["t_ap"] - r["t_fo"], ap))
    assert r["failover"]["to"] == "wwan"
    assert ap["rate_mbps"] == 3.0 and ap["ok"] is True and ap["exempt"] == 1 and r["t_ap"] - r["t_fo"] < 2.0
    q = r["qdiscs_limited"]
    assert "htb 5757:" in q["lan"] and "htb 5757:" in q["wwan"] and "rate 3Mbit" in q["lan classes"], q

    # 3 Mbit/s until the ledger reaches 80 %; the forecast assumes that rate
    t0, t1 = r["w_rate"]
    print("held %.0f kbit/s at the %d kbit/s limit over %.1f s" % (r["held_w_rate"], RATE, t1 - t0))
    assert t1 - t0 >= 8, t1 - t0
    assert abs(r["held_w_rate"] - RATE) <= TOL * RATE
    u = r["limited"]["usage"]
    share = u["rx_bytes"] / u["total_bytes"]
    assert u["forecast_rate_bps"] == pytest.approx(limited(share, RATE), rel=0.05), u
    assert u["forecast_rate_bps"] < 0.85 * before["forecast_rate_bps"]

    # crossing 80 % steps the rate down: held, ledger growth bounded, forecast at the step's rate
    st = r["stepped"]
    assert st["rate_mbps"] == 1.0 and st["step_pct"] == 80 and st["prev_rate_mbps"] == 3.0, st
    assert st["reason"] == "used 80.0% reached the 80% step"
    # the LAN download at the step + the VoIP flow both ways (2 x 80 kbit/s) + ACKs, probes, MQTT
    bound = (STEP + 160 + 60) * 125 * (1 + TOL)
    print("held %.0f kbit/s at the %d kbit/s step; ledger +%.0f MB/h (bound %.0f MB/h)"
          % (r["held_w_step"], STEP, r["grown_bps"] * 3600 / 1e6, bound * 3600 / 1e6))
    assert abs(r["held_w_step"] - STEP) <= TOL * STEP
    assert r["grown_bps"] <= bound
    u = r["s1"]["usage"]
    assert u["forecast_rate_bps"] == pytest.approx(limited(share, STEP), rel=0.05), u
    left = u["cap_bytes"] - u["total_bytes"]
    assert u["forecast_exhaustion"] == pytest.approx(r["s1"]["ts"] + left / u["forecast_rate_bps"], abs=120)
    b = r["s1"]["budget"]
    assert b["state"] == "limited" and b["rate_mbps"] == 1.0 and b["step_pct"] == 80, b

    # the limit is ours, not the carrier's: the probes (ICMP exempt, never queued behind the LAN's
    # download) see no queue, so wwan is neither degraded nor throttled by it
    evs = [ev for _, ev in r["agent"].events]
    assert not [ev for ev in evs if ev["type"] in ("throttled", "bandwidth")], evs
    assert not [ev for ev in evs if ev["type"] == "link_state" and ev["link"] == "wwan" and ev["state"] == "degraded"]

    for w in ("w_rate", "w_step"):  # the allowlisted VoIP-like flow, under both limits
        v = r["voip_" + w]
        print("VoIP (allowlisted) %s" % v)
        assert v["sent"] >= 0.9 * 50 * (r[w][1] - r[w][0]) and v["loss_pct"] < 1.0, v

    # a signed remote command lifts it, another sets 2 Mbit/s: until the failback
    assert r["cmd_lift"][0] == 0, r["cmd_lift"]
    assert r["cmd_lifted"]["reason"] == "command: lift"
    assert "5757" not in r["qdiscs_cmd_lifted"]["lan"] + r["qdiscs_cmd_lifted"]["wwan"]
    assert r["cmd_set"][0] == 0 and '"rate_mbps":2.0' in r["cmd_set"][1] and '"override":"set"' in r["cmd_set"][1], r["cmd_set"]
    assert r["cmd_applied"]["rate_mbps"] == 2.0 and r["cmd_applied"]["reason"] == "command: set"

    # failback: the limit goes at once, nothing of ours is left
    li = r["lifted"]
    print("lifted %.2f s after the failback: %s" % (r["t_li"] - r["t_fb"], li))
    assert li["reason"] == "failback: wwan no longer carries traffic" and li["ok"] is True
    assert li["prev_rate_mbps"] == 2.0
    assert r["t_li"] - r["t_fb"] < 2.0
    assert "5757" not in "".join(r["qdiscs_after"].values()), r["qdiscs_after"]
    assert r["nft_after"].count("table ") == 2  # the bed's own NAT tables, nothing added


def test_a_crashed_agents_limit_goes_at_the_next_start_and_at_release(tmp_path):
    import json
    from host_tools.netbed.agent import SiteAgent, firmware_bundle, micropython, site_config
    from tests.support.netbed_tools import kind

    def ours(bed):
        return [l for l in bed.run_router(["tc", "qdisc", "show"]).stdout.splitlines() if "5757:" in l]

    with NetBed() as bed:
        bed.broker()
        cfg = site_config(bed, str(tmp_path), usage={"cap_mb": 1000},
                          budget={"rate_mbps": 2, "lan_devices": ["lan"]})
        a = SiteAgent(bed, cfg)
        assert a.wait_until(lambda: a.seen(kind("link_state", link="wwan", state="standby")), 20), a.lines
        bed.kill_upstream("wan")
        assert a.wait_event(kind("budget", action="applied"), 15)
        a.stop()  # SIGKILL: its limit stays behind
        assert len([l for l in ours(bed) if "htb" in l]) == 2
        b = SiteAgent(bed, cfg)  # the respawn removes it first, then judges afresh (wan still dead)
        assert b.wait_event(kind("budget", action="lifted"), 15)[1]["reason"] == "left by an earlier run on lan,wwan"
        assert b.wait_event(kind("budget", action="applied"), 20)[1]["reason"] == "wwan carries traffic"
        b.stop()
        # the service stopped: `wanwatch --release` (the init script's service_stopped) removes it
        path = bed.write_file("rel.json", json.dumps(cfg))
        r = bed.run_router(["env", "MICROPYPATH=%s:.frozen" % firmware_bundle(bed), micropython(), "-m", "wanwatch",
                            "--config", path, "--release"])
        assert r.returncode == 0, r.stdout + r.stderr
        assert ours(bed) == []
