"""Budget policy figures on the namespace bed (needs root; the whole agent under the real
MicroPython in the router namespace, actuator openwrt, wwan metered):
  1. the budget story (tests/support/budget_traffic.budget_site): the primary dies, the backup
     takes over with a 3 Mbit/s limit that steps to 1 Mbit/s at 80 % of the cap; the LAN's bulk
     download rate held against each step, the allowlisted VoIP-like flow's loss, the ledger's
     growth per hour, the forecast's rate, how fast the limit follows failover and failback;
  2. shaping or policing: one LAN download held to 1 and 3 Mbit/s by the agent's HTB commands and
     by an nftables policer (limit rate over ... drop): what the LAN got, and how much of what the
     sender put on the uplink it had to send again (a metered SIM bills both copies).
Run: .venv/bin/python bench/bench_budget.py [--skip-compare]"""
import argparse
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "firmware"), ROOT]

from host_tools.netbed import NetBed  # noqa: E402
from tests.support.budget_traffic import RATE, STEP, budget_site, compare_mechanisms  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-compare", action="store_true")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("bench_budget: needs root (network namespaces, tc): skipped")
        return 0
    with NetBed() as bed:
        r = budget_site(bed, tempfile.mkdtemp(prefix="bench-budget-"))
    print("budget policy on the bed (LAN bulk download + allowlisted VoIP-like UDP flow, 50 pps x 172 B):")
    print("  applied %.2f s after the failover, lifted %.2f s after the failback (no qdisc left: %s)"
          % (r["t_ap"] - r["t_fo"], r["t_li"] - r["t_fb"], "5757" not in "".join(r["qdiscs_after"].values())))
    for w, kbit in (("w_rate", RATE), ("w_step", STEP)):
        v = r["voip_" + w]
        print("  step %4d kbit/s: LAN download held at %4.0f kbit/s (%+.1f %%) over %4.1f s; VoIP loss %.2f %% (%d/%d)"
              % (kbit, r["held_" + w], 100.0 * (r["held_" + w] - kbit) / kbit, r[w][1] - r[w][0], v["loss_pct"],
                 v["sent"] - v["ok"], v["sent"]))
    print("  the download's sender sent %.1f %% / %.1f %% of its bytes again at 3 / 1 Mbit/s" % tuple(r["resent_pct"]))
    print("  ledger at the 1 Mbit/s step: +%.0f MB/h (LAN + VoIP both ways + overhead)" % (r["grown_bps"] * 3600 / 1e6))
    print("  forecast rate: %.0f kB/s unlimited history -> %.0f kB/s at 3 Mbit/s -> %.0f kB/s at 1 Mbit/s"
          % (r["before"]["usage"]["forecast_rate_bps"] / 1e3, r["limited"]["usage"]["forecast_rate_bps"] / 1e3,
             r["s1"]["usage"]["forecast_rate_bps"] / 1e3))
    if args.skip_compare:
        return 0
    print("shaping (HTB, the agent's commands) or policing (nftables limit rate ... drop), one LAN download:")
    with NetBed() as bed:
        for kbit in (1000, 3000):
            for name, (lan, resent) in compare_mechanisms(bed, kbit).items():
                print("  %4d kbit/s %-12s LAN got %5.0f kbit/s; the sender sent %4.1f %% of its bytes again "
                      "(each crossed the uplink twice)" % (kbit, name, lan, resent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
