"""Footprint of the whole agent under real MicroPython (issue: fits small hardware): bundle size,
smallest heap that completes a sustained scenario (bisect on -X heapsize), peak gc.mem_alloc(),
MemoryErrors at 64K, CPU time per hour at default-ish rates, allocation of one modem poll cycle."""
import argparse
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from host_tools import build  # noqa: E402
from tests.support import scenario  # noqa: E402


def ok(r):
    return not r["crashed"] and r["memory_errors"] == 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=20, help="scenario length per run")
    ap.add_argument("--cpu-seconds", type=float, default=60, help="length of the CPU measurement run")
    args = ap.parse_args(argv)
    bundle = os.path.join(ROOT, "build", "firmware")
    files, total = build.build(bundle, quiet=True)
    print("bundle: %d modules, %d bytes of .mpy (goal <= 65536)" % (len(files), total))
    tmp = tempfile.mkdtemp(prefix="ww-footprint-")
    r64 = scenario.run(os.path.join(tmp, "h64"), bundle, seconds=args.seconds, heapsize="64K")
    print("heap 64K: %s, MemoryErrors: %d" % ("completed" if ok(r64) else "FAILED", r64["memory_errors"]))
    lo, hi = 64, 1024  # KiB; bisect the smallest heap that completes the scenario
    r = scenario.run(os.path.join(tmp, "h%d" % hi), bundle, seconds=args.seconds, heapsize="%dK" % hi)
    if not ok(r):
        print("heap: scenario fails even at %dK" % hi)
        return 1
    while hi - lo > 16:
        mid = (lo + hi) // 2
        r = scenario.run(os.path.join(tmp, "h%d" % mid), bundle, seconds=args.seconds, heapsize="%dK" % mid)
        if ok(r):
            hi = mid
        else:
            lo = mid
    print("smallest heap completing the scenario (modem reboot + broker outage): %dK (resolution 16K)" % hi)
    big = scenario.run(os.path.join(tmp, "cpu"), bundle, seconds=args.cpu_seconds, heapsize="1024K", poll_s=30)
    print("peak live heap (gc.mem_alloc() after gc.collect(), 1 MB heap): %s bytes" % big["peak"])
    if big["cpu_s"] is not None:
        frac = big["cpu_s"] / big["wall_s"]
        print("CPU: %.2f s in %.0f s = %.2f %% of a core = %.0f s per hour (goal <= 1 %%)"
              % (big["cpu_s"], big["wall_s"], 100 * frac, 3600 * frac))
    return 0


if __name__ == "__main__":
    sys.exit(main())
