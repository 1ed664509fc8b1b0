"""Usage tracker cost: CPU per sample (CPython and the real MicroPython), heap taken by the usage
modules loaded from the .mpy bundle, state file size; flash writes per day and the worst-case
power-cut loss at 5 and 20 Mbit/s (24 h simulated with the real tracker at the defaults); and power
cuts on the veth bed (tests/usage/powercut.py, root): measured worst loss per cut next to its bound.
Run: .venv/bin/python bench/bench_usage.py [--cuts N] (default 200; 0 skips the bed)"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "firmware"), ROOT]

from host_tools import build  # noqa: E402
from tests.support import paths  # noqa: E402

MPY_SCRIPT = r"""
import gc, time, sys
gc.collect(); a = gc.mem_alloc()
from wanwatch.usage.tracker import UsageTracker
from wanwatch.events import EventBus
gc.collect(); b = gc.mem_alloc()
class C:
    def __init__(s): s.t = 1795000000; s.m = 0.0
    def time(s): return s.t
    def monotonic(s): return s.m
c = C()
t = UsageTracker({"usage": {"cap_mb": 5000}}, c, EventBus(c), sys.argv[1] + "/r", sys.argv[1] + "/f", boot_id="x")
N = 2000
rx = 0
t0 = time.ticks_ms()
for i in range(N):
    c.t += 10; c.m += 10; rx += 250000
    t.sample("8944", rx, rx // 10, "kernel:wwan0", 3)
dt = time.ticks_diff(time.ticks_ms(), t0)
gc.collect()
print("%d %d %d %d" % (b - a, gc.mem_alloc() - b, dt * 1000 // N, len(open(sys.argv[1] + "/f/usage.json").read())))
"""


def simulate_day(mbit, cap_mb):
    """24 h of steady traffic through the real tracker at the default save settings: flash writes
    and the worst loss a power cut just before a sample would cause (unsaved + one sample)."""
    from tests.support.fakeclock import FakeClock
    from wanwatch.events import EventBus
    from wanwatch.usage.tracker import UsageTracker
    with tempfile.TemporaryDirectory() as d:
        c = FakeClock()
        t = UsageTracker({"usage": {"cap_mb": cap_mb, "thresholds": [1000]}}, c, EventBus(c), d + "/r", d + "/f",
                         boot_id="x")
        step = t.settings["sample_s"]
        per = int(mbit * 125000 * step)
        rx = 0
        t.sample("8944", rx, 0, "kernel:wwan0", 3)
        n0, worst = t.flash_writes, 0
        for _ in range(int(86400 // step)):
            c.advance(step)
            rx += per
            t.sample("8944", rx, 0, "kernel:wwan0", 3)
            if t.unsaved_bytes() + per > worst:
                worst = t.unsaved_bytes() + per
        rate = mbit * 125000
        bound = max(t.save_bytes(), rate * t.settings["flash_min_interval_s"]) + rate * step
        return t.flash_writes - n0, worst, bound, t.save_bytes()


def powercut(cuts):
    from tests.usage import powercut as pc
    rx, tx = 750_000, 250_000
    usage = {"cap_mb": 30, "sample_s": 0.05, "ram_save_s": 0.1, "flash_save_s": 900, "flash_save_mb": 0.5,
             "flash_min_interval_s": 0.2}
    with tempfile.TemporaryDirectory() as d:
        res = pc.run_cuts(d, cuts, seed=2026, rx_bps=rx, tx_bps=tx, usage=usage, log=print)
    wire = (rx + tx) * (pc.SIZE + pc.WIRE) / pc.SIZE
    L = res["losses"]
    print("power cuts on the veth bed: %d cuts in %.0f s at %.1f MB/s (flash_save_mb 0.5, min interval 0.2 s, "
          "sample 0.05 s)" % (len(L), res["seconds"], wire / 1e6))
    print("  loss per cut: measured worst %.0f KB, mean %.0f KB; bound max(S, rate*T) + rate*sample_s = %.0f KB" % (
        max(L) / 1e3, sum(L) / len(L) / 1e3, pc.bound(usage, wire) / 1e3))
    print("  double counts %d, ledger backwards %d, ledger = kernel total - losses: %s" % (
        len(res["double"]), len(res["backwards"]),
        0 <= res["kernel_total"] - res["ledger_total"] - sum(L) <= 256))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cuts", type=int, default=200)
    args = ap.parse_args()
    out = os.path.join(ROOT, "build", "bench-usage")
    build.build(out, quiet=True)
    with tempfile.TemporaryDirectory() as d:
        script = os.path.join(d, "b.py")
        with open(script, "w") as f:
            f.write(MPY_SCRIPT)
        env = dict(os.environ, MICROPYPATH=out + ":.frozen")
        r = subprocess.run([paths.micropython(), "-X", "heapsize=64K", script, d], env=env,
                           capture_output=True, text=True, timeout=120)
        if r.returncode:
            raise SystemExit(r.stderr)
        mod, live, us, size = [int(x) for x in r.stdout.split()]
    from tests.support.fakeclock import FakeClock
    from wanwatch.events import EventBus
    from wanwatch.usage.tracker import UsageTracker
    with tempfile.TemporaryDirectory() as d:
        c = FakeClock()
        t = UsageTracker({"usage": {"cap_mb": 5000}}, c, EventBus(c), d + "/r", d + "/f", boot_id="x")
        n, rx = 5000, 0
        t0 = time.perf_counter()
        for _ in range(n):
            c.advance(10)
            rx += 250000
            t.sample("8944", rx, rx // 10, "kernel:wwan0", 3)
        cpy_us = (time.perf_counter() - t0) * 1e6 / n
    print("usage modules heap (.mpy, 64-bit unix port): %d B; tracker state after 2000 samples: %d B" % (mod, live))
    print("per sample (incl. the due RAM/flash saves): MicroPython %d us, CPython %.0f us" % (us, cpy_us))
    print("state file: %d B; idle or trickle: <= 96 flash writes/day (flash_save_s 900, only when changed)" % size)
    print("while the metered link carries steady traffic (24 h simulated, defaults: flash_save_mb 1 % of the cap"
          " in 5..50 MB, flash_min_interval_s 60, sample_s 10):")
    print("  %-8s %-9s %-9s %-13s %-16s %s" % ("rate", "cap", "save at", "writes/day", "worst loss", "bound"))
    for mbit in (5, 20):
        for cap in (None, 1000, 10000):
            w, worst, b, sb = simulate_day(mbit, cap)
            print("  %-8s %-9s %-9s %-13d %-16s %.1f MB (was %.0f MB at 15 min)" % (
                "%d Mbit/s" % mbit, "%s MB" % cap if cap else "none", "%d MB" % (sb // 1000000), w,
                "%.1f MB" % (worst / 1e6), b / 1e6, mbit * 125000 * 900 / 1e6))
    if args.cuts > 0:
        if os.geteuid() != 0:
            print("power cuts on the veth bed: skipped (needs root for ip netns)")
        else:
            powercut(args.cuts)


if __name__ == "__main__":
    main()
