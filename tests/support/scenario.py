"""The sustained whole-agent scenario shared by the footprint benchmark and the small-heap test.

The full agent (`micropython -m wanwatch --config site.json`, from the .mpy bundle, optionally
under `-X heapsize=`) runs in the NetBed router namespace with a real config: modem polling against
the emulated modem (pty), probes on `wan` and `wwan` with the openwrt actuator (policy routing
through the real `ip`), MQTT to a real mosquitto in the bed's internet namespace (reached over the
active link), usage with a cap on the metered `wwan`, and the line console on a stdin that stays
open. Events on the way:

  failover   wan blackholed (bed.impair) -> `failover` wan->wwan (by routing); healed ->
             `failback` wwan->wan after the (shortened) hold-down
  outage     mosquitto stopped for a while, then started; the agent must report connected again
  reboot     emulator reboot() -> `modem_reboot`

Events are read through the agent's own console (`events` every second; the agent keeps the last
8, deduplicated here by seq; `seq_gaps` says if any were missed), memory from its
`WANWATCH_MEMSTAT` lines. A build without the console (console=False: a lean board manifest) is
read from its log instead: its `event TYPE k=v` lines, and the status file in run_dir. A run passes only if the agent did not crash, printed no MemoryError
and the failover AND the failback happened (reconnection and reboot are reported besides).
run() is the event scenario; run_steady() the same agent at default rates for the CPU figure.
"""
import json
import os
import re
import shutil
import subprocess
import time

from host_tools.emulator import Emulator

from . import paths
from host_tools.netbed import SERVER, TARGETS, NetBed
from host_tools.netbed.agent import parse_event
from .netbed_agent import RouterProcess

DEVICE_ID = "footprint-1"
MEMSTAT = re.compile(r"memstat alloc=(\d+) live=(\d+) peak=(\d+) free=(\d+)")

# accelerated rates for the event scenario (the CPU figure uses the defaults: rates="default")
FAST = {
    "modem": {"poll_s": 2},
    "probe": {"standby_interval_s": 5},
    "failover": {"hold_down_s": 6},
    "mqtt": {"status_interval_s": 5, "status_interval_metered_s": 5, "keepalive_s": 10,
             "keepalive_metered_s": 10, "connect_timeout_s": 5},
    "usage": {"sample_s": 2, "ram_save_s": 10, "flash_save_s": 30},
}


def config(tmp, tty, broker_port, rates="fast", console=True):
    """The agent's site config on the bed; rates "fast" (FAST overlaid) or "default"."""
    cfg = {
        "device_id": DEVICE_ID,
        "modem": {"port": tty, "vendor": "auto"},
        "links": [{"name": "wan", "device": "wan", "role": "primary", "targets": list(TARGETS)},
                  {"name": "wwan", "device": "wwan", "role": "backup", "metered": True, "targets": list(TARGETS)}],
        "actuator": "openwrt",
        "usage": {"cap_mb": 1000},
        "mqtt": {"host": SERVER, "port": broker_port},
        "console": {"enabled": console},
        "state_dir": os.path.join(tmp, "flash"), "run_dir": os.path.join(tmp, "run"),
    }
    if rates == "fast":
        for sec, keys in FAST.items():
            cfg.setdefault(sec, {}).update(keys)
    elif rates != "default":
        raise ValueError("rates: fast or default, got %r" % (rates,))
    return cfg


# --- reading the agent's output ---------------------------------------------------------------
class Log:
    """Parser of the agent's output (stdout, and the log lines of stderr): memstat lines, console
    `events` / `status --json` replies, MemoryErrors. Fed line by line (the live run) or with a
    whole text (parse())."""

    def __init__(self, from_log=False):
        self.from_log = from_log  # events from `event TYPE k=v` log lines (no console): numbered here
        self.events = {}        # seq -> event (the console repeats the last 8 every time)
        self.memstat = []       # (alloc, live, peak, free) per memstat line
        self.status = None      # last `status --json` reply
        self.loaded = set()     # firmware modules named by "LOADED" lines (bench/mp_footprint.py agent)
        self.memory_errors = 0  # log lines (not console echoes of events) naming MemoryError
        self._err_seqs = set()

    def feed(self, line):
        """Returns the event dict if the line is a newly seen event, else None."""
        line = line.strip()
        if line.startswith("{"):
            try:
                doc = json.loads(line)
            except ValueError:
                doc = None
            if isinstance(doc, dict) and "type" in doc and "seq" in doc:
                if doc["seq"] in self.events:
                    return None
                self.events[doc["seq"]] = doc
                if "MemoryError" in line:
                    self._err_seqs.add(doc["seq"])
                return doc
            if isinstance(doc, dict) and "device_id" in doc and "links" in doc:
                self.status = doc
                return None
        if self.from_log:
            ev = parse_event(line)
            if ev is not None:
                ev["seq"] = len(self.events) + 1
                self.events[ev["seq"]] = ev
                if "MemoryError" in line:
                    self._err_seqs.add(ev["seq"])
                return ev
        if line.startswith("LOADED "):
            self.loaded.update(line.split()[1:])
            return None
        m = MEMSTAT.search(line)
        if m:
            self.memstat.append(tuple(int(x) for x in m.groups()))
        elif "MemoryError" in line:
            self.memory_errors += 1
        return None

    def errors(self):
        return self.memory_errors + len(self._err_seqs)

    def peak(self):
        """Peak live heap (gc.mem_alloc() right after gc.collect()) over the run, or None."""
        return max(m[2] for m in self.memstat) if self.memstat else None

    def ordered(self):
        return [self.events[s] for s in sorted(self.events)]

    def seq_gaps(self):
        """Events the console rolled out of its last-8 list before we read them."""
        seqs = sorted(self.events)
        return sum(b - a - 1 for a, b in zip(seqs, seqs[1:]))

    def switched(self):
        """(failover seen, failback after it seen): wan -> wwan, then wwan -> wan."""
        fo = fb = False
        for ev in self.ordered():
            if ev["type"] == "failover" and ev.get("from") == "wan" and ev.get("to") == "wwan":
                fo = True
            elif fo and ev["type"] == "failback" and ev.get("from") == "wwan" and ev.get("to") == "wan":
                fb = True
        return fo, fb

    def has(self, kind, after_seq=0):
        for s in sorted(self.events):
            if s > after_seq and self.events[s]["type"] == kind:
                return True
        return False


def parse(text):
    log = Log()
    for line in text.splitlines():
        log.feed(line)
    return log


class FullAgent(RouterProcess):
    """`micropython -m wanwatch` in the router namespace; stdin is its console, stdout the log."""

    def __init__(self, bed, bundle, cfg_path, log_path, heapsize=None, memstat_s=2, main=("-m", "wanwatch"),
                 console=True):
        cmd = [paths.micropython()] + (["-X", "heapsize=%s" % heapsize] if heapsize else []) + list(main)
        self.log = Log(from_log=not console)
        self.out = open(log_path, "w")
        env = {"MICROPYPATH": bundle + ":.frozen"}
        if memstat_s:  # (its gc.collect() every memstat_s keeps the heap's touched pages, so RSS, low)
            env["WANWATCH_MEMSTAT"] = str(memstat_s)
        RouterProcess.__init__(self, bed, cmd + ["--config", cfg_path], env=env,
                               stdin=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=1)

    def _line(self, now, line):
        self.out.write(line)
        ev = self.log.feed(line)
        if ev is not None:
            self._event(now, ev)
        elif not line.startswith("{"):
            RouterProcess._line(self, now, line)

    def console(self, line):
        """One console command; False when the agent is gone."""
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
            return True
        except (OSError, ValueError):
            return False

    def cpu_s(self):
        """user + system CPU seconds of the agent so far (`ip netns exec` execs it: same pid)."""
        try:
            with open("/proc/%d/stat" % self.proc.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return None

    def memory_kb(self):
        """{"VmRSS": kB, "VmHWM": kB} of the agent's process now (resident, and its peak)."""
        return proc_memory_kb(self.proc.pid)

    def alive(self):
        return self.proc.poll() is None

    def close(self):
        self.stop()
        self._t.join(5)
        self.out.close()


def proc_memory_kb(pid):
    """{"VmRSS": kB, "VmHWM": kB} from /proc/<pid>/status; {} when the process is gone."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    out[k] = int(v.split()[0])
    except (OSError, ValueError, IndexError):
        return {}
    return out


class _Run:
    """The bed, the broker, the emulator and the agent of one run."""

    def __init__(self, tmp, bundle, heapsize, rates, profile, memstat_s, main=("-m", "wanwatch"), console=True):
        os.makedirs(tmp, exist_ok=True)
        self.tmp = tmp
        self.bed = NetBed().__enter__()
        try:
            self.broker = self.bed.broker()
            self.emu = Emulator(profile=profile)
            tty = self.emu.start(link=os.path.join(tmp, "ttyMODEM"))
            cfg_path = os.path.join(tmp, "site.json")
            with open(cfg_path, "w") as f:
                json.dump(config(tmp, tty, self.broker.port, rates, console), f)
            self.log_path = os.path.join(tmp, "agent.log")
            self.t0 = time.monotonic()
            self.agent = FullAgent(self.bed, bundle, cfg_path, self.log_path, heapsize, memstat_s, main, console)
        except BaseException:
            self.bed.close()
            raise
        self.console = console
        self.crashed = False
        self.steps = []  # (seconds from start, what)

    def el(self):
        return time.monotonic() - self.t0

    def note(self, what):
        self.steps.append((round(self.el(), 1), what))

    def bad(self):
        if not self.agent.alive():
            self.crashed = True
        return self.crashed or self.agent.log.errors() > 0

    def wait(self, cond, timeout, ask=("events",), stop_on_error=True):
        """Send the console commands `ask` every second until cond() or timeout; False on timeout
        or, with stop_on_error, as soon as the agent crashed or printed a MemoryError."""
        end = time.monotonic() + timeout
        nxt = 0
        while True:
            if cond():
                return True
            if self.bad() and (stop_on_error or self.crashed):
                return False
            now = time.monotonic()
            if now >= end:
                return False
            if now >= nxt:
                for c in ask:
                    self.agent.console(c)
                nxt = now + 1.0
            time.sleep(0.1)

    def mqtt_connected(self, want):
        if not self.console:  # no console to ask: the status file (rewritten every 5 s)
            try:
                with open(os.path.join(self.tmp, "run", "status.json")) as f:
                    self.agent.log.status = json.load(f)
            except (OSError, ValueError):
                pass
        st = self.agent.log.status
        return st is not None and st["mqtt"]["connected"] is want

    def close(self):
        self.agent.close()
        self.emu.stop()
        self.broker.stop()
        shutil.rmtree(self.broker.dir, ignore_errors=True)
        self.bed.close()
        with open(self.log_path) as f:
            return f.read()


def run(tmp, bundle, heapsize=None, seconds=60, profile="quectel-ec25", outage_s=6, stop_on_error=True,
        main=("-m", "wanwatch"), console=True, memstat_s=2):
    """The event scenario at accelerated rates (FAST); at least `seconds` long (the events take
    ~30 s when all goes well, up to ~3 min when nothing happens; the rest is steady running). Returns a dict:
    passed (no crash, 0 MemoryError, failover and failback happened), crashed, memory_errors,
    failover, failback, failover_s (blackhole -> failover event), failback_s (heal -> failback),
    mqtt_reconnected, modem_rebooted, peak (live heap bytes), cpu_s, wall_s, seq_gaps, steps, events,
    actions (ifup/ifdown calls), loaded (modules named by LOADED lines), memory_kb (VmRSS/VmHWM of the
    agent's process at the end), log.
    main: what micropython runs instead of `-m wanwatch` (given `--config FILE`); console: False for
    a build without the console (events then from the log lines); memstat_s: None for no memstat
    lines (no peak then; the agent's memory as in production, for its RSS)."""
    r = _Run(tmp, bundle, heapsize, "fast", profile, memstat_s, main, console)
    a, log = r.agent, r.agent.log
    fo_s = fb_s = None
    reconnected = rebooted = False
    try:
        ok = r.wait(lambda: log.has("modem_ready") and any(
            e["type"] == "link_state" and e["link"] == "wan" and e["state"] == "up" for e in log.events.values()),
            30, stop_on_error=stop_on_error)
        r.note("wan up, modem ready" if ok else "start: wan up / modem_ready not seen")
        if ok:
            r.wait(lambda: False, 3, stop_on_error=stop_on_error)  # some steady running first
            r.bed.impair("wan", blackhole=True)
            t = time.monotonic()
            r.note("wan blackholed")
            if r.wait(lambda: log.switched()[0], 20, stop_on_error=stop_on_error):
                fo_s = time.monotonic() - t
                r.note("failover")
            r.bed.impair("wan")
            t = time.monotonic()
            r.note("wan healed")
            if fo_s is not None and r.wait(lambda: log.switched()[1], 45, stop_on_error=stop_on_error):
                fb_s = time.monotonic() - t
                r.note("failback")
        both = ("events", "status --json")
        if not (stop_on_error and r.bad()):
            r.broker.stop()
            r.note("broker stopped")
            log.status = None  # the outage must be seen by the agent (connected false) ...
            noticed = r.wait(lambda: r.mqtt_connected(False), 30, both, stop_on_error)
            r.wait(lambda: False, outage_s, both, stop_on_error)
            r.broker.start()
            r.note("broker started" + ("" if noticed else " (outage not noticed)"))
            log.status = None  # ... and then the reconnection (connected true again)
            reconnected = noticed and r.wait(lambda: r.mqtt_connected(True), 40, both, stop_on_error)
            r.note("mqtt reconnected" if reconnected else "mqtt not reconnected")
        if not (stop_on_error and r.bad()):
            seq = max(log.events) if log.events else 0
            r.emu.reboot()
            r.note("modem rebooted")
            rebooted = r.wait(lambda: log.has("modem_reboot", seq), 20, stop_on_error=stop_on_error)
            r.note("modem_reboot seen" if rebooted else "modem_reboot not seen")
        rest = seconds - r.el()
        if rest > 0 and not (stop_on_error and r.bad()):
            r.wait(lambda: False, rest, stop_on_error=stop_on_error)
        r.agent.console("events")
        time.sleep(0.5)
        r.bad()
        cpu, wall = a.cpu_s(), r.el()
        memory = a.memory_kb()
        actions = r.bed.actions()
    finally:
        text = r.close()
    fo, fb = log.switched()
    errors = log.errors()
    return {"passed": not r.crashed and errors == 0 and fo and fb, "crashed": r.crashed,
            "memory_errors": errors, "failover": fo, "failback": fb, "failover_s": fo_s, "failback_s": fb_s,
            "mqtt_reconnected": reconnected, "modem_rebooted": rebooted, "peak": log.peak(),
            "cpu_s": cpu, "wall_s": wall, "seq_gaps": log.seq_gaps(), "steps": r.steps,
            "events": log.ordered(), "actions": actions, "loaded": sorted(log.loaded), "memory_kb": memory,
            "log": text}


def run_steady(tmp, bundle, seconds=300, warmup_s=20, heapsize=None, profile="quectel-ec25"):
    """The agent at DEFAULT rates (modem.poll_s 30, default probe/MQTT/usage intervals) with no
    events and nobody at the console, for the CPU figure. CPU is read at warmup_s and at the end:
    steady_cpu_s over steady_wall_s excludes start-up. Returns a dict: crashed, memory_errors,
    cpu_s, wall_s, steady_cpu_s, steady_wall_s, peak (live heap, memstat every 30 s), log."""
    r = _Run(tmp, bundle, heapsize, "default", profile, 30)
    try:
        r.wait(lambda: False, warmup_s, ask=(), stop_on_error=False)
        c0, t0 = r.agent.cpu_s(), r.el()
        r.wait(lambda: False, max(1, seconds - warmup_s), ask=(), stop_on_error=False)
        r.bad()
        c1, t1 = r.agent.cpu_s(), r.el()
    finally:
        text = r.close()
    steady = c1 - c0 if c0 is not None and c1 is not None else None
    return {"crashed": r.crashed, "memory_errors": r.agent.log.errors(), "cpu_s": c1, "wall_s": t1,
            "steady_cpu_s": steady, "steady_wall_s": t1 - t0, "peak": r.agent.log.peak(), "log": text}
