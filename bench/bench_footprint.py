"""Footprint of the whole agent under real MicroPython (issue 9: fits small hardware).

Prints, each with its unit and how it was measured:
  bundle size (.mpy bytes, goal <= 65536);
  heap cost of importing each firmware module (dependency order), sorted, with the total;
  the sustained scenario (tests/support/scenario.py: full agent on the namespace bed with a
  failover + failback, a broker outage and a modem reboot) at -X heapsize=64K and =64wK;
  the smallest heap completing it (bisect, 8K resolution) and the peak live heap at a large heap;
  CPU per hour at default rates (goal <= 1 % of a core);
  bytes allocated by one modem poll cycle and by one probe round.
Needs root (network namespaces, raw ICMP sockets). --quick: shorter runs.
"""
import argparse
import ast
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from host_tools import build  # noqa: E402
from host_tools.emulator import Emulator  # noqa: E402
from tests.support import paths, scenario  # noqa: E402
from host_tools.netbed import TARGETS, NetBed  # noqa: E402

DRIVER = os.path.join(ROOT, "bench", "mp_footprint.py")
GOAL_BUNDLE = 65536
STEP_K = 8


# --- modules in dependency order -----------------------------------------------------------------
def _modname(rel):
    parts = rel[:-3].split(os.sep)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _top_imports(tree):
    """Import nodes that run at import time (module level, inside if/try; not in def/class, and
    not in except handlers: those are fallbacks for other runtimes)."""
    out = []
    todo = list(tree.body)
    while todo:
        n = todo.pop(0)
        if isinstance(n, (ast.Import, ast.ImportFrom)):
            out.append(n)
        elif isinstance(n, (ast.If, ast.Try, ast.With)):
            for field in ("body", "orelse", "finalbody"):
                todo.extend(getattr(n, field, []) or [])
    return out


def import_order(src=paths.FIRMWARE):
    """(stdlib modules imported at module level, firmware modules in dependency order): importing
    them in this order, each import loads only that module itself."""
    mods = {}
    for rel in build.sources(src):
        name = _modname(rel)
        if name.endswith("__main__"):
            continue  # runs the agent
        with open(os.path.join(src, rel)) as f:
            mods[name] = (rel.endswith("__init__.py"), ast.parse(f.read()))
    deps, stdlib = {}, set()
    for name, (is_pkg, tree) in mods.items():
        pkg = name if is_pkg else name.rpartition(".")[0]
        d = set()
        parts = name.split(".")
        for i in range(1, len(parts)):
            d.add(".".join(parts[:i]))  # parent packages load first
        for n in _top_imports(tree):
            if isinstance(n, ast.Import):
                for a in n.names:
                    (d if a.name in mods else stdlib).add(a.name)
                continue
            if n.level:
                base = pkg.split(".")
                base = ".".join(base[:len(base) - (n.level - 1)])
                target = base + ("." + n.module if n.module else "")
            else:
                target = n.module
            if target in mods:
                d.add(target)
                for a in n.names:  # `from . import status`: a submodule
                    if target + "." + a.name in mods:
                        d.add(target + "." + a.name)
            else:
                stdlib.add(target)
        d.discard(name)
        deps[name] = d
    order, seen = [], set()

    def visit(m):
        if m in seen:
            return
        seen.add(m)
        for x in sorted(deps[m]):
            visit(x)
        order.append(m)
    for m in sorted(mods):
        visit(m)
    return sorted(stdlib), order


def micropython(args, bundle, timeout=120, wrap=()):
    env = dict(os.environ, MICROPYPATH=bundle + ":.frozen")
    return subprocess.run(list(wrap) + [paths.micropython()] + list(args), env=env, capture_output=True,
                          text=True, timeout=timeout)


def rows(out):
    r = []
    for line in out.splitlines():
        if line.startswith("ROW "):
            _, name, a, b = line.split()
            r.append((name, int(a) if a != "absent" else None, int(b)))
    return r


QSTR = re.compile(r"qstr pool: n_pool=(\d+), n_qstr=(\d+), n_str_data_bytes=(\d+), n_total_bytes=(\d+)")


def import_rows(out):
    """[(module, heap bytes, qstr bytes, new qstrs)] from the driver's imports output: each ROW is
    preceded by the qstr pool state after that import (the first qstr line is the baseline)."""
    res, last = [], None
    for line in out.splitlines():
        m = QSTR.match(line)
        if m:
            q = (int(m.group(2)), int(m.group(4)))
            if last is None:
                last = q
            pending = q
        elif line.startswith("ROW "):
            _, name, a, _ = line.split()
            if a == "absent":
                continue
            res.append((name, int(a), pending[1] - last[1], pending[0] - last[0]))
            last = pending
    return res


def import_table(bundle, loaded=None):
    stdlib, order = import_order()
    r = micropython([DRIVER, "imports"] + stdlib + order, bundle)
    if r.returncode != 0:
        raise RuntimeError("import measurement failed: " + (r.stderr or r.stdout)[-600:])
    got = import_rows(r.stdout)
    sizes = {}
    for name in order:
        rel = name.replace(".", os.sep)
        for cand in (rel + ".mpy", os.path.join(rel, "__init__.mpy")):
            p = os.path.join(bundle, cand)
            if os.path.exists(p):
                sizes[name] = os.path.getsize(p)
    print("heap cost of importing each module: gc.mem_alloc() after gc.collect(), before and after the import;")
    print("  every module imported from the .mpy bundle in dependency order (parents and imports first) in one")
    print("  micropython, so a row is that module alone. 'qstr B' is the growth of the qstr pools at that import")
    print("  (micropython.qstr_info(): new names + pool tables, which grow in doubling chunks, so it is lumpy);")
    print("  'own B' = heap B - qstr B: code, constants, module dict. Sorted by own B; stdlib marked *.")
    if loaded:
        print("  'agent': x = held by the running agent in the scenario (LOADED lines of bench/mp_footprint.py agent).")
    print("  %-26s %8s %8s %8s %6s %8s %6s" % ("module", "heap B", "own B", "qstr B", "qstrs", ".mpy B", "agent"))
    tot = [0, 0, 0, 0]
    in_agent = 0
    for name, b, q, nq in sorted(got, key=lambda x: (-(x[1] - x[2]), x[0])):
        if b == 0 and q == 0:
            continue  # built-in module: nothing on the heap
        used = name not in sizes or (loaded is not None and name in loaded)
        print("  %-26s %8d %8d %8d %6d %8s %6s%s" % (name, b, b - q, q, nq, sizes.get(name, "-"),
                                                    "x" if loaded and used else "", "" if name in sizes else " *"))
        for i, v in enumerate((b, b - q, q, nq)):
            tot[i] += v
        if used:
            in_agent += b
    print("  %-26s %8d %8d %8d %6d %8d" % ("TOTAL (%d modules)" % len(got), tot[0], tot[1], tot[2], tot[3],
                                          sum(sizes.values())))
    fw = sum(b for name, b, _, _ in got if name in sizes)
    print("  firmware modules: %d B of heap for %d B of .mpy; built-in stdlib modules (0 B) not listed" % (fw, sum(sizes.values())))
    if loaded:
        print("  modules the running agent holds: %d of %d firmware modules, %d B of import heap (stdlib incl.)"
              % (len([n for n in sizes if n in loaded]), len(sizes), in_agent))
    return tot[0]


# --- the scenario at several heap sizes ---------------------------------------------------------
def describe(r):
    if r["passed"]:
        what = "completed (failover after %.1f s, failback %.1f s after the heal)" % (r["failover_s"], r["failback_s"])
    elif r["crashed"]:
        what = "FAILED: agent exited after %.1f s" % r["wall_s"]
    elif r["memory_errors"]:
        what = "FAILED: MemoryError after %.1f s" % r["wall_s"]
    else:
        what = "FAILED: failover %s, failback %s" % (r["failover"], r["failback"])
    extra = "; broker outage: %s; modem reboot: %s" % (
        "reconnected" if r["mqtt_reconnected"] else "NOT reconnected", "seen" if r["modem_rebooted"] else "NOT seen")
    if r["passed"]:
        what += extra
    return "%s; MemoryErrors: %d" % (what, r["memory_errors"])


def first_error(log):
    for line in log.splitlines():
        if "MemoryError" in line:
            return line.strip()[:150]
    return None


class Runs:
    def __init__(self, tmp, bundle, seconds, repeat=1):
        self.tmp, self.bundle, self.seconds, self.repeat = tmp, bundle, seconds, repeat
        self.n = 0
        self.history = []

    def passes(self, heap):
        """A heap counts as passing when `repeat` runs in a row pass (near the limit a run fails
        now and then: a ~1 KB allocation finds no free block)."""
        for _ in range(self.repeat):
            if not self.run(heap)["passed"]:
                return False
        return True

    def run(self, heap, stop_on_error=True):
        self.n += 1
        r = scenario.run(os.path.join(self.tmp, "run%d-%s" % (self.n, heap)), self.bundle, heapsize=heap,
                         seconds=self.seconds, stop_on_error=stop_on_error)
        self.history.append((heap, r["passed"]))
        return r


def usable(heap):
    r = micropython(["-X", "heapsize=%s" % heap, "-c", "import gc; print(gc.mem_alloc() + gc.mem_free())"], ".")
    return int(r.stdout.strip()) if r.returncode == 0 else None


def smallest_heap(runs, lo, hi):
    """Bisect between a failing lo and a passing hi (KiB), STEP_K resolution."""
    while hi - lo > STEP_K:
        mid = (lo + hi) // 2 // STEP_K * STEP_K
        if mid <= lo:
            mid = lo + STEP_K
        if runs.passes("%dK" % mid):
            hi = mid
        else:
            lo = mid
    return hi


# --- allocation per cycle -----------------------------------------------------------------------
def _fmt_alloc(label, rs, how):
    gcb = [x[1] for x in rs]
    tot = [x[2] for x in rs]
    print("%s: median %d B allocated (gc.mem_alloc() delta, collector off; min %d, max %d over %d),"
          % (label, statistics.median(gcb), min(gcb), max(gcb), len(rs)))
    print("  %d B requested (micropython.mem_total() delta: gross, incl. realloc growth and freed temporaries)"
          % statistics.median(tot))
    print("  measured: " + how)
    return statistics.median(gcb)


def alloc_poll(bundle, tmp, cycles, profile="quectel-ec25", vendor="quectel"):
    emu = Emulator(profile=profile)
    tty = emu.start(link=os.path.join(tmp, "ttyPOLL"))
    try:
        r = micropython([DRIVER, "poll", tty, vendor, str(cycles)], bundle)
    finally:
        emu.stop()
    rs = rows(r.stdout)
    if r.returncode != 0 or len(rs) != cycles or "CHECK registered=True" not in r.stdout:
        raise RuntimeError("poll measurement failed: " + (r.stdout + r.stderr)[-600:])
    return _fmt_alloc("allocation per modem poll cycle", rs,
                      "%s driver.poll() against the %s emulator (pty), after init/identify and one poll"
                      % (vendor, profile))


def alloc_probe(bundle, rounds):
    with NetBed() as bed:
        env = ["env", "MICROPYPATH=%s:.frozen" % bundle]
        r = bed.run_router(env + [paths.micropython(), DRIVER, "probe", "wan", str(rounds)] + TARGETS, timeout=120)
    rs = rows(r.stdout)
    if r.returncode != 0 or len(rs) != rounds or "CHECK answered=%d" % (rounds * len(TARGETS)) not in r.stdout:
        raise RuntimeError("probe measurement failed: " + (r.stdout + r.stderr)[-600:])
    return _fmt_alloc("allocation per probe round", rs,
                      "Prober.round() to %d targets + LinkState.on_round() on the bed's wan, all answered, "
                      "after 5 warm-up rounds" % len(TARGETS))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short runs (35 s scenario, 60 s CPU run, 3 cycles)")
    ap.add_argument("--seconds", type=float, help="length of each scenario run (default 90; quick 35)")
    ap.add_argument("--cpu-seconds", type=float, help="length of the default-rate CPU run (default 300; quick 60)")
    ap.add_argument("--repeat", type=int, help="passing runs in a row for a heap to count (default 2; quick 1)")
    ap.add_argument("--big-heap", default="1024K", help="heap of the peak-live-heap run (default 1024K)")
    ap.add_argument("--keep", action="store_true", help="keep the runs' logs (printed path)")
    args = ap.parse_args(argv)
    seconds = args.seconds or (35 if args.quick else 90)
    cpu_seconds = args.cpu_seconds or (60 if args.quick else 300)
    cycles = 3 if args.quick else 10
    repeat = args.repeat or (1 if args.quick else 2)
    t_start = time.time()

    r = micropython(["-c", "import sys; v = sys.implementation.version; print('%d.%d.%d %s; %s' % (v[0], v[1], v[2], "
                     "v[3] if len(v) > 3 else '', sys.version.split('; ')[-1]))"], ".")
    print("runtime: MicroPython %s (unix port, %d-bit), .mpy from mpy-cross 1.23"
          % (r.stdout.strip(), 64 if sys.maxsize > 2 ** 32 else 32))
    bundle = os.path.join(ROOT, "build", "firmware")
    files, total = build.build(bundle, quiet=True)
    print("bundle: %d modules, %d bytes of .mpy from mpy-cross 1.23 (goal <= %d: %s)"
          % (len(files), total, GOAL_BUNDLE, "met" if total <= GOAL_BUNDLE else "NOT met, %d over" % (total - GOAL_BUNDLE)))
    print()
    tmp = tempfile.mkdtemp(prefix="ww-footprint-")
    # which modules the running agent holds: one scenario run (quick length) through the driver,
    # which is `-m wanwatch` plus LOADED lines; not one of the measured runs
    lr = scenario.run(os.path.join(tmp, "loaded"), bundle, heapsize=args.big_heap, seconds=min(seconds, 35),
                      main=(DRIVER, "agent"))
    import_table(bundle, set(lr["loaded"]) if lr["loaded"] else None)
    print()

    runs = Runs(tmp, bundle, seconds, repeat)
    print("scenario (tests/support/scenario.py, %.0f s per run): full agent from the bundle in the bed's router"
          " namespace -" % seconds)
    print("  modem polling (quectel-ec25 emulator), probes on wan + wwan (openwrt actuator), MQTT to mosquitto over")
    print("  the active link, usage with a cap on wwan, console on stdin (asked for events every second);")
    print("  accelerated rates (%s);" % ", ".join("%s.%s %s" % (s, k, v) for s in ("modem", "probe", "failover")
                                                   for k, v in scenario.FAST[s].items()))
    print("  events: wan blackholed -> failover, healed -> failback; broker down 6 s; modem reboot")
    r64 = runs.run("64K", stop_on_error=False)
    print("heap -X heapsize=64K (%s B usable): %s" % (usable("64K"), describe(r64)))
    if r64["memory_errors"]:
        print("  first: %s" % first_error(r64["log"]))
    r64w = runs.run("64wK", stop_on_error=False)
    print("heap -X heapsize=64wK (64K words = 64 KB of a 32-bit target; %s B usable here): %s"
          % (usable("64wK"), describe(r64w)))
    if r64w["memory_errors"]:
        print("  first: %s" % first_error(r64w["log"]))
    big = runs.run(args.big_heap, stop_on_error=False)
    print("heap -X heapsize=%s: %s" % (args.big_heap, describe(big)))
    if big["peak"] is not None:
        print("peak live heap at -X heapsize=%s: %d B (max of gc.mem_alloc() right after gc.collect(), every 2 s"
              " over the run)" % (args.big_heap, big["peak"]))
    if not big["passed"]:
        print("smallest heap: not measured (the scenario fails even at %s)" % args.big_heap)
    else:
        big_k = int(args.big_heap.rstrip("K"))
        lo = 64 if not r64["passed"] else 0
        if r64["passed"]:
            print("smallest heap completing the scenario: <= 64K (passes at 64K)")
        else:
            # search upwards from just above the peak live heap (the heap cannot be smaller than
            # that) with doubling steps until a run passes, then bisect: fewer runs than 64..1024
            hi, step = big_k, STEP_K
            g = ((big["peak"] // 1024) // STEP_K + 1) * STEP_K
            while g < big_k:
                if runs.passes("%dK" % g):
                    hi = g
                    break
                lo = g
                g += step
                step *= 2
            hi = smallest_heap(runs, lo, hi)
            print("smallest heap completing the scenario: %dK = %d B usable (bisect on -X heapsize, %dK resolution;"
                  " a run counts only with no crash, 0 MemoryError, failover and failback seen; a heap counts"
                  " when %d run(s) in a row pass)" % (hi, usable("%dK" % hi), STEP_K, repeat))
            print("  runs: " + ", ".join("%s %s" % (h, "ok" if p else "fail") for h, p in runs.history))
    print()

    st = scenario.run_steady(os.path.join(tmp, "cpu"), bundle, seconds=cpu_seconds)
    if st["steady_cpu_s"] is None or st["crashed"]:
        print("CPU at default rates: not measured (agent %s)" % ("crashed" if st["crashed"] else "gone"))
    else:
        frac = st["steady_cpu_s"] / st["steady_wall_s"]
        print("CPU at default rates: %.2f s user+sys in %.0f s = %.2f %% of a core = %.1f s per hour (goal <= 1 %%: %s)"
              % (st["steady_cpu_s"], st["steady_wall_s"], 100 * frac, 3600 * frac, "met" if frac <= 0.01 else "NOT met"))
        print("  measured: /proc/<pid>/stat of the agent on the bed, after 20 s start-up (start-up incl.: %.2f s in %.0f s);"
              % (st["cpu_s"], st["wall_s"]))
        sys.path.insert(0, paths.FIRMWARE)
        from wanwatch.failover.linkstate import PROBE_DEFAULTS
        from wanwatch.usage.tracker import DEFAULTS as USAGE_DEFAULTS
        print("  no rate keys in the config, so the defaults: modem.poll_s 30, probe.interval_s %s on wan, standby"
              " check of wwan every %s s, mqtt status every 60 s, usage.sample_s %s; console idle;"
              % (PROBE_DEFAULTS["interval_s"], PROBE_DEFAULTS["standby_interval_s"], USAGE_DEFAULTS["sample_s"]))
        print("  MemoryErrors %d; peak live heap %s B (memstat every 30 s)" % (st["memory_errors"], st["peak"]))
    print()
    alloc_poll(bundle, tmp, cycles)
    alloc_probe(bundle, cycles)
    if args.keep:
        print("\nlogs kept in " + tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n(bench_footprint took %.0f s)" % (time.time() - t_start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
