"""Usage tracker cost: CPU per sample (CPython and the real MicroPython), heap taken by the usage
modules loaded from the .mpy bundle, state file size and flash writes per day at the defaults.
Run: .venv/bin/python bench/bench_usage.py"""
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
from wanwatch.usage import UsageTracker
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


def main():
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
    from wanwatch.usage import UsageTracker
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
    print("state file: %d B; flash writes/day at flash_save_s=900: <= 96 (+ event saves)" % size)
    print("power-cut loss bound at 900 s: 2.25 GB at 20 Mbit/s, 16.9 GB at 150 Mbit/s")


if __name__ == "__main__":
    main()
