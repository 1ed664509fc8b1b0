"""Failover figures on the namespace bed, from the LAN client's view (needs root; the whole agent runs
under the real MicroPython in the router namespace, actuator openwrt; the LAN client behind the
router pings every 50 ms, keeps a fixed 5-tuple UDP flow at 50 packets/s, connects over TCP and
looks a name up through the router's dnsmasq every second, over IPv4 and IPv6):
  1. failover/failback trials (--trials, default 10): the primary's upstream dies with its link up
     at a random moment, later heals. Per family: seconds the LAN lost at the failover (ping) and
     at the failback, the UDP flow's gap after the switch, the failover decision and heal ->
     failback times; median and P95;
  2. a primary that stays dead for --dead-minutes (default 10) at the default hold-down and session
     restarts: seconds the LAN lost after the switch, per kind (goal 0);
  3. false failovers at 10 % random loss on both links with one of three targets dead, for
     --seconds (default 90) or --minutes; and the bytes a sparse standby check costs the metered
     backup, projected to the default 300 s period.
Run: .venv/bin/python bench/bench_failover.py [--trials N] [--dead-minutes M] [--seconds S | --minutes M]"""
import argparse
import os
import random
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "firmware"), ROOT]

from host_tools.netbed import TARGETS, NetBed  # noqa: E402
from host_tools.netbed.lanclient import KINDS  # noqa: E402
from tests.support.netbed_agent import BedAgent, bed_config, is_state  # noqa: E402
from host_tools.netbed.agent import SiteAgent, site_config  # noqa: E402

STANDBY_PERIOD_S = 300  # the default probe.standby_interval_s
TRIAL_HOLD_S = 6


def p95(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]


def fmt(xs, unit="s"):
    if not xs:
        return "n/a"
    return "median %.2f %s, P95 %.2f %s, max %.2f %s (n=%d)" % (statistics.median(xs), unit, p95(xs), unit,
                                                                max(xs), unit, len(xs))


def kind(t):
    return lambda ev: ev["type"] == t


def site(bed, tmp, **kw):
    bed.broker()
    a = SiteAgent(bed, site_config(bed, tmp, **kw))
    assert a.wait_until(lambda: a.seen(is_state("wan", "up")) and a.seen(is_state("wwan", "standby")), 20), a.lines
    c = bed.lan_client()
    got = c.wait_ok_after(time.monotonic() + 0.5, timeout=15)
    assert all(got.values()), got
    return a, c


def trials(n):
    res = {"fo4": [], "fo6": [], "fb4": [], "fb6": [], "udp4": [], "udp6": [], "decide": [], "heal": [],
           "dns": []}
    with NetBed() as bed, tempfile.TemporaryDirectory() as tmp:
        # flap_window_s 1: every trial starts from the same hold-down (no doubling between trials)
        a, c = site(bed, tmp, failover={"hold_down_s": TRIAL_HOLD_S, "flap_window_s": 1})
        for i in range(n):
            time.sleep(2.0 + random.random())  # random phase against the 1 s probe period
            a.drain()
            t_kill = time.monotonic()
            bed.kill_upstream("wan")
            r = a.wait_event(kind("failover"), 15)
            if r is None:
                print("trial %d: no failover" % i)
                bed.heal_upstream("wan")
                continue
            t_fo = r[0]
            time.sleep(3.0)
            out = c.report(t_kill, t_fo + 2.5)
            res["decide"].append(t_fo - t_kill)
            res["fo4"].append(out["ping4"]["lost_s"])
            res["fo6"].append(out["ping6"]["lost_s"])
            res["dns"].append(max(out["dns4"]["lost_s"], out["dns6"]["lost_s"]))
            for fam in ("4", "6"):
                first = c.first_ok_after("udp" + fam, t_fo)
                res["udp" + fam].append(first - t_fo if first is not None else float("inf"))
            t_heal = time.monotonic()
            bed.heal_upstream("wan")
            r = a.wait_event(kind("failback"), TRIAL_HOLD_S + 20)
            if r is None:
                print("trial %d: no failback" % i)
                continue
            t_fb = r[0]
            time.sleep(2.5)
            back = c.report(t_heal, t_fb + 2.0)
            res["heal"].append(t_fb - t_heal)
            res["fb4"].append(back["ping4"]["lost_s"])
            res["fb6"].append(back["ping6"]["lost_s"])
        c.stop()
        a.stop()
    return res


def stays_dead(minutes):
    with NetBed() as bed, tempfile.TemporaryDirectory() as tmp:
        a, c = site(bed, tmp)  # default hold-down (120 s) and session restarts (30 s ... 600 s)
        time.sleep(2)
        bed.kill_upstream("wan")
        t_fo, _ = a.wait_event(kind("failover"), 15)
        time.sleep(1.0 + minutes * 60)
        rep = c.report(t_fo + 1.0, t_fo + 1.0 + minutes * 60)
        restarts = len(a.of_type("session_restart"))
        failbacks = len(a.of_type("failback"))
        c.stop()
        a.stop()
    return rep, restarts, failbacks


def false_failovers(seconds):
    with NetBed() as bed:
        a = BedAgent(bed, bed_config(probe={"standby_interval_s": 3}))
        assert a.wait_until(lambda: a.seen(is_state("wan", "up")) and a.seen(is_state("wwan", "standby")), 15)
        bed.dead_targets([TARGETS[2]])
        bed.impair("wan", loss=0.10)
        bed.impair("wwan", loss=0.10)
        time.sleep(2)
        s0 = a.status()
        t0 = time.monotonic()
        time.sleep(seconds)
        s1 = a.status()
        dt = time.monotonic() - t0
        fos = a.of_type("failover")
        downs = [e for e in a.of_type("link_state") if e["link"] == "wan" and e["state"] in ("down", "degraded")]
        checks = dt / 3.0
        per_check = (s1["own_bytes"]["wwan"] - s0["own_bytes"]["wwan"]) / checks
        a.stop()
    return len(fos), len(downs), per_check, s1["links"]["wan"]["loss_pct"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--dead-minutes", type=float, default=10)
    ap.add_argument("--seconds", type=float, default=90)
    ap.add_argument("--minutes", type=float, default=None)
    args = ap.parse_args(argv)
    seconds = args.minutes * 60 if args.minutes else args.seconds

    r = trials(args.trials)
    print("failover/failback trials from the LAN client (upstream dead, link up; hold-down %d s):" % TRIAL_HOLD_S)
    print("  failover decided after the kill:       %s" % fmt(r["decide"]))
    print("  LAN outage at failover, IPv4 (ping):   %s" % fmt(r["fo4"]))
    print("  LAN outage at failover, IPv6 (ping):   %s" % fmt(r["fo6"]))
    print("  UDP flow's gap after the switch, IPv4: %s" % fmt(r["udp4"]))
    print("  UDP flow's gap after the switch, IPv6: %s" % fmt(r["udp6"]))
    print("  DNS lookups lost at failover:          %s" % fmt(r["dns"]))
    print("  heal -> failback:                      %s" % fmt(r["heal"]))
    print("  LAN outage at failback, IPv4 (ping):   %s" % fmt(r["fb4"]))
    print("  LAN outage at failback, IPv6 (ping):   %s" % fmt(r["fb6"]))
    if args.dead_minutes > 0:
        rep, restarts, failbacks = stays_dead(args.dead_minutes)
        print("primary dead for %.1f min (default hold-down and session restarts): LAN lost after the switch %s; "
              "%d session restarts, %d failbacks into the dead line"
              % (args.dead_minutes, ", ".join("%s %.2f s" % (k, rep[k]["lost_s"]) for k in KINDS), restarts,
                 failbacks))
    n_fo, n_bad, per_check, loss = false_failovers(seconds)
    print("10%% loss + 1 of 3 targets dead for %.0f s: %d false failovers, %d wan down/degraded events "
          "(window loss on wan %s %%)" % (seconds, n_fo, n_bad, loss))
    per_hour = per_check * 3600.0 / STANDBY_PERIOD_S
    print("metered standby: %.1f B per sparse check (measured at 10%% loss) -> %.0f B/hour, %.2f MB/month "
          "at one check per %d s" % (per_check, per_hour, per_hour * 24 * 30 / 1e6, STANDBY_PERIOD_S))
    return 0


if __name__ == "__main__":
    sys.exit(main())
