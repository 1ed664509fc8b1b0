"""Failover figures on the namespace bed (needs root; the monitor runs under the real MicroPython
in the router namespace):
  1. hard-failure detection: blackhole the primary (link stays up) at a random moment; time from
     the impairment to the `link_state down` event and to the `failover` decision; median and P95
     over --trials (default 20);
  2. false failovers at 10 % random loss on both links with one of three targets dead, for
     --seconds (default 90) or --minutes;
  3. monitoring bytes on the metered backup in standby: measured bytes per sparse check (in the
     same lossy run, checks every 3 s), projected to the default 300 s period: per hour and per month.
Run: .venv/bin/python bench/bench_failover.py [--trials N] [--seconds S | --minutes M]"""
import argparse
import os
import random
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "firmware"), ROOT]

from host_tools.netbed import TARGETS, NetBed  # noqa: E402
from tests.support.netbed_agent import BedAgent, bed_config, is_state  # noqa: E402

STANDBY_PERIOD_S = 300  # the default probe.standby_interval_s


def p95(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]


def detection(trials):
    det, fo = [], []
    with NetBed() as bed:
        a = BedAgent(bed, bed_config(actuator="none", failover={"hold_down_s": 3600}))
        assert a.wait_until(lambda: a.seen(is_state("wan", "up")), 15), a.lines
        for i in range(trials):
            time.sleep(2.0 + random.random())  # random phase against the 1 s probe period
            a.drain()
            t0 = time.monotonic()
            bed.impair("wan", blackhole=True)
            r = a.wait_event(is_state("wan", "down"), 15)
            f = a.wait_event(lambda e: e["type"] == "failover", 5)
            if r is None:
                print("trial %d: not detected" % i)
                det.append(float("inf"))
            else:
                det.append(r[0] - t0)
                if f:
                    fo.append(f[0] - t0)
            bed.impair("wan")
            a.wait_event(is_state("wan", "up"), 15)
            # the policy stays on wwan (long hold-down, actuator none): reset by restarting it
            a.stop()
            a = BedAgent(bed, bed_config(actuator="none", failover={"hold_down_s": 3600}))
            assert a.wait_until(lambda: a.seen(is_state("wan", "up")), 15), a.lines
        a.stop()
    return det, fo


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
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=90)
    ap.add_argument("--minutes", type=float, default=None)
    args = ap.parse_args(argv)
    seconds = args.minutes * 60 if args.minutes else args.seconds

    det, fo = detection(args.trials)
    print("hard-failure detection over %d trials: median %.2f s, P95 %.2f s, max %.2f s"
          % (len(det), statistics.median(det), p95(det), max(det)))
    if fo:
        print("  failover decision (incl. burst verification of the backup): median %.2f s, P95 %.2f s"
              % (statistics.median(fo), p95(fo)))
    n_fo, n_bad, per_check, loss = false_failovers(seconds)
    print("10%% loss + 1 of 3 targets dead for %.0f s: %d false failovers, %d wan down/degraded events "
          "(window loss on wan %s %%)" % (seconds, n_fo, n_bad, loss))
    per_hour = per_check * 3600.0 / STANDBY_PERIOD_S
    print("metered standby: %.1f B per sparse check (measured at 10%% loss) -> %.0f B/hour, %.2f MB/month "
          "at one check per %d s" % (per_check, per_hour, per_hour * 24 * 30 / 1e6, STANDBY_PERIOD_S))
    return 0


if __name__ == "__main__":
    sys.exit(main())
