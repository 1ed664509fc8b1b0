"""Health beyond ping on the namespace bed (needs root; the whole agent under the real MicroPython in
the router namespace, wan primary, wwan metered backup, IPv4 + IPv6 targets):
  1. what each check type costs the metered wwan per month, measured on the wire by nftables in
     the router namespace (tests/support/wire_meter.py: the router's own packets only) over a
     --window of short intervals, per round, projected to the default intervals: in standby
     (ICMP probe.standby_interval_s 300 s, one target a round; dns / http standby_interval_s
     3600 s) and while wwan carries the traffic (ICMP probe.metered_active_interval_s 10 s, every
     target; dns / http metered_interval_s 300 s); the active bandwidth test's cost on wan (it
     never runs on a metered link: the web server's log shows no download from wwan);
  2. a primary shaped to 256 kbit/s (tc tbf in its ISP) under LAN demand (a 20 Mbit/s download),
     bandwidth.sustain_s at its default 20 s, min_mbps 1, passive only (no active test): time
     from the shaping to the `low` verdict, to the failover, and until the LAN's download runs
     above 1 Mbit/s again (--trials);
  3. a backup behind a captive portal: from the portal's first answer to a check to `captive`
     (standby http check every 3 s; at the default 3600 s the wait for the next round dominates),
     and the primary dying before the portal was seen (the last check was normal): the
     verification before the failover finds the portal -> `captive` + `all_links_down`, no
     failover into it.
Run: .venv/bin/python bench/bench_checks.py [--quick] [--trials N] [--window S]"""
import argparse
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "firmware"), ROOT]

from host_tools.netbed import SERVER, TARGETS, TARGETS6, NetBed  # noqa: E402
from host_tools.netbed.plan import UPLINKS  # noqa: E402
from tests.support.health_site import DNS, HTTP, first_since, links, start, wait  # noqa: E402
from tests.support.netbed_tools import kind  # noqa: E402
from tests.support.wire_meter import KINDS, WireMeter  # noqa: E402

MONTH_S = 30 * 86400
BOTH = list(TARGETS) + list(TARGETS6)
# (short interval the bench runs, the default it is projected to) per check type and mode
STANDBY = {"icmp4": (2, 300), "icmp6": (2, 300), "dns": (3, 3600), "http": (3, 3600)}
CARRYING = {"icmp4": (2, 10), "icmp6": (2, 10), "dns": (3, 300), "http": (3, 300)}
TEST_BYTES = 262144
TEST_EVERY_S = 20
TEST_DEFAULT_S = 900
TCP_HDR4 = 52  # IPv4 + TCP with timestamps: every segment of the download
LINE_MSS = 1448  # a 1500-byte MTU with timestamps


def fmt(xs):
    if not xs:
        return "n/a"
    return "median %.1f s, max %.1f s (n=%d)" % (statistics.median(xs), max(xs), len(xs))


def site_links():
    dns = dict(DNS, interval_s=STANDBY["dns"][0], standby_interval_s=STANDBY["dns"][0],
               metered_interval_s=CARRYING["dns"][0])
    http = dict(HTTP, interval_s=STANDBY["http"][0], standby_interval_s=STANDBY["http"][0],
                metered_interval_s=CARRYING["http"][0])
    test = {"test_url": "http://%s/blob?bytes=%d" % (SERVER, TEST_BYTES), "test_interval_s": TEST_EVERY_S}
    return links(primary={"targets": BOTH, "interfaces": ["wan", "wan6"], "bandwidth": test},
                 backup={"targets": BOTH, "interfaces": ["wwan", "wwan6"], "checks": [dns, http], "bandwidth": test})


def per_round(c, interval, window):
    """Bytes of one round from the wire counters of a window: an HTTP round is a connection; the
    echo requests (DNS queries) of a round is the whole number nearest to requests x interval /
    window (1 or every target: the window's ends cut a round at most)."""
    if c["syn"]:
        return (c["out"] + c["in"]) / c["syn"]
    if not c["out_pkts"]:
        return None
    per = max(1, int(round(c["out_pkts"] * interval / window)))
    return (c["out"] + c["in"]) * per / c["out_pkts"]


def cost(window):
    """{"standby"|"carrying": {kind: (bytes a round, default interval, bytes a month)}} on wwan, and
    the active test's (bytes a test on wan, /blob downloads from wan, from wwan) in standby."""
    out = {}
    with NetBed() as bed, tempfile.TemporaryDirectory() as tmp:
        meter = WireMeter(bed)
        probe = {"standby_interval_s": STANDBY["icmp4"][0], "metered_active_interval_s": CARRYING["icmp4"][0]}
        a = start(bed, tmp, links=site_links(), probe=probe, failover={"hold_down_s": 3600})
        assert a.wait_until(lambda: a.seen(kind("link_state", link="wwan", state="standby")), 30), a.lines
        for mode, iv in (("standby", STANDBY), ("carrying", CARRYING)):
            if mode == "carrying":
                bed.kill_upstream("wan")
                wait(a, kind("failover"), 20, "failover to wwan")
            time.sleep(4)
            meter.reset()
            blobs0 = len(bed.http_log())
            time.sleep(window)
            got = meter.read()
            out[mode] = {}
            for k in KINDS:
                b = per_round(got["wwan"][k], iv[k][0], window)
                out[mode][k] = (b, iv[k][1], None if b is None else b * MONTH_S / iv[k][1])
            if mode == "standby":
                blobs = [r for r in bed.http_log()[blobs0:] if r["path"].startswith("/blob")]
                # a test's bytes on the wire: the object's bytes scaled by wire bytes / payload
                # received (the window's ends may cut a download; the ratio stays)
                wan = got["wan"]["http"]
                payload = wan["in"] - TCP_HDR4 * wan["in_pkts"]
                test = (TEST_BYTES * (wan["out"] + wan["in"]) / payload if payload > 0 else None,
                        sum(1 for r in blobs if r["client"] == UPLINKS["wan"]["addr"]),
                        sum(1 for r in blobs if r["client"] == UPLINKS["wwan"]["addr"]))
        a.stop()
    return out, test


def shaped(trials):
    """Per trial: seconds from the shaping to the low verdict, to the failover, to the LAN's
    download above 1 Mbit/s."""
    res = {"low": [], "failover": [], "lan": [], "missed": 0, "why": []}
    # passive only (an active test through the slow line would give its own verdict): the idle
    # primary's verdict lapses clear_s after the traffic left it, and it is taken back
    bw = {"min_mbps": 1, "clear_s": 15}
    with NetBed() as bed, tempfile.TemporaryDirectory() as tmp:
        a = start(bed, tmp, links=links(primary={"bandwidth": bw}), failover={"hold_down_s": 5, "flap_window_s": 1})
        c = bed.lan_client()
        dl = bed.lan_download(rate_kbit=20000)
        for i in range(trials):
            time.sleep(6)  # the download runs on wan at full rate
            a.drain()
            t0 = time.monotonic()
            bed.shape("wan", down_kbit=256)
            r = a.wait_event(kind("bandwidth", link="wan", verdict="low"), 120)
            if r is None:
                res["missed"] += 1
                bed.unshape("wan")
                continue
            res["low"].append(r[0] - t0)
            # the full queue may degrade the line by its RTT first: whichever comes first
            fo = first_since(a, kind("failover"), t0) or wait(a, kind("failover"), 20, "failover")
            t_fo = fo[0]
            res["failover"].append(t_fo - t0)
            res["why"].append(("rtt" if t_fo < r[0] else "bandwidth"))
            end = time.monotonic() + 20
            while time.monotonic() < end:
                now = time.monotonic()
                if now - 1 > t_fo and dl.rate_kbit(now - 1, now) > 1000:
                    res["lan"].append(now - t0)
                    break
                time.sleep(0.2)
            bed.unshape("wan")
            wait(a, kind("failback"), 90, "failback")
        dl.stop()
        c.stop()
        a.stop()
    return res


def captive(trials):
    """Seconds from the portal's first answer to `captive`, per trial; and per trial of the
    primary dying before the portal was seen: (seconds to captive, to all_links_down, failovers)."""
    seen, unseen = [], []
    with NetBed() as bed, tempfile.TemporaryDirectory() as tmp:
        a = start(bed, tmp, links=links(backup={"checks": [HTTP]}))
        assert a.wait_until(lambda: a.seen(kind("link_state", link="wwan", state="standby")), 20), a.lines
        for i in range(trials):
            time.sleep(1.5 + i * 0.7)  # a different phase against the 3 s check period
            a.drain()
            t_mode = time.monotonic()
            bed.http_mode("wwan", "portal302")
            t_cap, _ = wait(a, kind("captive", link="wwan"), 30, "captive")
            first = [r["t"] for r in bed.http_log("wwan") if r["kind"] == "http" and r["t"] >= t_mode]
            seen.append(t_cap - min(first))
            bed.http_mode("wwan", "normal")
            wait(a, kind("captive_cleared", link="wwan"), 30, "captive_cleared")
        a.stop()
        for i in range(trials):  # a fresh agent each time: the standby check ran once (normal), next due in an hour
            with tempfile.TemporaryDirectory() as tmp:
                a = start(bed, tmp, broker=False, links=links(backup={"checks": [dict(HTTP, standby_interval_s=3600)]}))
                assert a.wait_until(lambda: a.seen(kind("link_state", link="wwan", state="standby")), 20), a.lines
                time.sleep(3)
                bed.http_mode("wwan", "portal302")
                t0 = time.monotonic()
                bed.kill_upstream("wan")
                t_cap, _ = wait(a, kind("captive", link="wwan"), 30, "captive")
                t_down, _ = wait(a, kind("all_links_down"), 30, "all_links_down")
                time.sleep(3)
                unseen.append((t_cap - t0, t_down - t0, len(a.of_type("failover"))))
                a.stop()
                bed.heal_upstream("wan")
                bed.http_mode("wwan", "normal")
    return seen, unseen


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="20 s windows, one trial each")
    ap.add_argument("--trials", type=int, default=None, help="trials of the shaped primary and the portal (default 3)")
    ap.add_argument("--window", type=float, default=None, help="seconds the wire is counted (default 30)")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("bench_checks: needs root (network namespaces, nftables, tc): skipped")
        return 0
    window = args.window or (20.0 if args.quick else 30.0)
    trials = args.trials or (1 if args.quick else 3)
    names = {"icmp4": "ICMP IPv4", "icmp6": "ICMP IPv6", "dns": "DNS", "http": "HTTP"}
    print("check cost on the metered wwan, on the wire (nftables, router namespace; IP headers included), "
          "%.0f s window at short intervals, projected to the defaults (MB = 10^6 B, month = 30 days):" % window)
    costs, test = cost(window)
    for mode in ("standby", "carrying"):
        out = costs[mode]
        total = sum(v[2] for v in out.values() if v[2] is not None)
        print("  %s:" % ("in standby" if mode == "standby" else "carrying the traffic"))
        for k in KINDS:
            b, every, month = out[k]
            if b is None:
                print("    %-9s  nothing on the wire" % names[k])
                continue
            print("    %-9s  %5.0f B a round, every %4d s: %7.3f MB/month" % (names[k], b, every, month / 1e6))
        print("    total      %7.2f MB/month" % (total / 1e6))
    per_test, from_wan, from_wwan = test
    segs = (TEST_BYTES + LINE_MSS - 1) // LINE_MSS
    line = TEST_BYTES + TCP_HDR4 * (segs + segs // 2 + 9) + 200  # + a header per segment, an ACK per two, handshake
    print("  active bandwidth test (links[].bandwidth.test_url, %d KiB object): %s on wan (%d in the window), "
          "%.0f MB/month at the default %d s; downloads from the metered wwan: %d (it never runs there)"
          % (TEST_BYTES // 1024, "%.0f KB a test" % (per_test / 1e3) if per_test else "n/a", from_wan,
             (per_test or 0) * MONTH_S / TEST_DEFAULT_S / 1e6, TEST_DEFAULT_S, from_wwan))
    print("    (the veth passes the sender's offloaded segments whole: on a 1500-byte-MTU line, %d segments of %d B "
          "+ an ACK per two: %.0f KB a test, %.0f MB/month)" % (segs, LINE_MSS, line / 1e3,
                                                                line * MONTH_S / TEST_DEFAULT_S / 1e6))
    r = shaped(trials)
    print("primary shaped to 256 kbit/s under a 20 Mbit/s LAN download (sustain_s 20, min_mbps 1, passive judge):")
    print("  bandwidth low after the shaping: %s" % fmt(r["low"]))
    print("  failover after the shaping:      %s" % fmt(r["failover"]))
    print("  LAN download > 1 Mbit/s again:   %s" % fmt(r["lan"]))
    print("  the failover came from: %s" % ", ".join("%s %d" % (w, r["why"].count(w)) for w in ("bandwidth", "rtt")
                                                     if w in r["why"]))
    if r["missed"]:
        print("  no low verdict within 120 s in %d trial(s)" % r["missed"])
    seen, unseen = captive(trials)
    print("backup behind a captive portal (302), standby http check every 3 s:")
    print("  captive after the portal's first answer: %s" % fmt(seen))
    print("  primary dies before the portal was seen: captive after %s, all_links_down after %s "
          "(from the primary's death); failovers into the portal: %d"
          % (fmt([u[0] for u in unseen]), fmt([u[1] for u in unseen]), sum(u[2] for u in unseen)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
