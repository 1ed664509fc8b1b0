"""Hostile MQTT input, long form of tests/report/test_hostile.py: the real micropython device
(reporter + client + signed commands, -X heapsize=160K) fed seeded random input
  1. through a real mosquitto: random bytes as payloads (0 B to 12 KB) and topics, junk and forged
     commands, retained junk on cmd; then one genuine signed command;
  2. from a fake broker on a raw socket: every structured hostile frame (oversize, huge declared
     lengths, bad encodings, unexpected packet types, zero-length frames...) and random frames,
     each followed by a probe PUBLISH that shows whether the connection survived it, compared with
     what a shadow of the client's parser predicts (dropped exactly where the framing is lost).
Prints how many inputs were tried, their outcomes, what ran, reconnects and the live heap (peak
over the run vs at the first connect). Exit 1 if anything ran that should not have, an exception
escaped or the heap ran out.

    .venv/bin/python bench/bench_mqtt_fuzz.py [--inputs 5000] [--garbage 500] [--seed 1]
"""
import argparse
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "firmware"), ROOT]

from tests.report import hostile  # noqa: E402
from tests.support.broker import Broker  # noqa: E402


def through_mosquitto(n, seed):
    b = Broker().start()
    try:
        r = hostile.mosquitto_run(tempfile.mkdtemp(prefix="ww-fuzz-"), "bz1", seed, n, b, pace_s=0.002)
    finally:
        b.stop()
    s, settled = r["stats"], r["settled"]
    print("through mosquitto: %d inputs in %.1f s (seed %d): broker took %d, refused %d (bad topics)"
          % (n, r["fuzz_s"], seed, r["accepted"], r["refused"]))
    print("  device: %d delivered, %d discarded (%d oversize), %d commands rejected, %d answers sent, %d dropped"
          " by the budget" % (settled["received"], settled["discarded"], settled["oversize"], settled["rejected"],
                              len(r["answers"]) - 1, s["rejects_dropped"]))
    print("  ran: %d of the fuzz + %d genuine; CONNECTs %d (broker log), state %s, %d status reports meanwhile"
          % (s["ran"] - 1, 1 if s["ran"] >= 1 else 0, r["connects"], r["states"], r["statuses"]))
    print("  live heap: %d B at the first connect, peak %d B (+%d B)"
          % (r["base"]["mem"], s["peak"], s["peak"] - r["base"]["mem"]))
    lost = settled["received"] + settled["discarded"] - r["accepted"] - 1
    return not (s["ran"] != 1 or r["tracebacks"] or r["connects"] != 1 or lost), r["tracebacks"]


def from_fake_broker(garbage, seed):
    cases = hostile.structured_cases("bf1") + hostile.garbage_cases(seed, garbage)
    fb_run = hostile.fake_broker_run(tempfile.mkdtemp(prefix="ww-fuzz-"), "bf1", cases)
    s = fb_run["stats"]
    outcomes = fb_run["outcomes"]
    structured = [x for x in outcomes if x[0].expect != "any"]
    # observed outcome vs the one declared by the case, or predicted by the shadow parser
    wrong = [(c.name, p, o) for c, p, o in outcomes if o != p or (c.expect != "any" and o != c.expect)]
    print("from a fake broker: %d frames in %.1f s (%d structured, %d random, seed %d)"
          % (len(outcomes), fb_run["elapsed"], len(structured), garbage, seed))
    print("  structured: %s" % hostile.count(structured))
    print("  random: %s" % hostile.count([x for x in outcomes if x[0].expect == "any"]))
    print("  not as predicted: %s" % (wrong[:5] or "none"))
    print("  device: %d connections, %d discarded, %d oversize, ran %d, %d answers; reporting at the end: %s"
          % (fb_run["connections"], s["discarded"], s["oversize"], s["ran"], len(fb_run["answers"]),
             fb_run["statuses_after"] > 0))
    print("  live heap: %d B at the first connect, peak %d B (+%d B)"
          % (fb_run["base"]["mem"], s["peak"], s["peak"] - fb_run["base"]["mem"]))
    complete = len(outcomes) == len(cases)
    return not (s["ran"] or wrong or not complete or fb_run["tracebacks"] or not fb_run["statuses_after"]), \
        fb_run["tracebacks"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--inputs", type=int, default=5000, help="inputs through mosquitto")
    ap.add_argument("--garbage", type=int, default=500, help="random frames from the fake broker")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    t0 = time.time()
    ok1, tb1 = through_mosquitto(a.inputs, a.seed)
    ok2, tb2 = from_fake_broker(a.garbage, a.seed)
    for line in (tb1 + tb2)[:10]:
        print("  escaped:", line)
    print("hostile MQTT input: %s in %.0f s" % ("ok" if ok1 and ok2 else "FAILED", time.time() - t0))
    return 0 if ok1 and ok2 else 1


if __name__ == "__main__":
    sys.exit(main())
