"""Shared helpers for the usage tests: a tracker on tmp dirs with a FakeClock and recorded events."""
import calendar
import json
import os

from tests.support.fakeclock import FakeClock
from wanwatch.events import EventBus
from wanwatch.usage.tracker import UsageTracker

MB = 1000000
SITE = {"device_id": "r1", "modem": {"port": "/dev/ttyUSB2"},
        "links": [{"name": "wwan", "device": "wwan0", "role": "backup", "metered": True}]}


def usage_error(usage, **sections):
    """(key, reason) of the first problem the config validator finds in usage.* (None: valid);
    the usage keys are declared in usage/schema.py and checked by config like every other key."""
    from wanwatch import config
    try:
        config.validate(dict(SITE, usage=usage, **sections))
    except config.ConfigError as e:
        return e.key[len("usage."):], e.reason
    return None


def ep(y, m, d, h=0, mi=0, s=0):
    return calendar.timegm((y, m, d, h, mi, s, 0, 0, 0))


class Rig:
    """A tracker plus a fake kernel counter; restart() builds a new tracker on the same dirs."""

    def __init__(self, tmp_path, clock=None, boot="boot-1", **usage):
        self.tmp = tmp_path
        self.clock = clock or FakeClock(ep(2026, 11, 10, 12))
        self.usage = dict(usage)
        self.boot = boot
        self.events = []
        self.rx = 1_000_000
        self.tx = 200_000
        self.iccid = "8944500000000000001"
        self.gen = 4
        self.ram = str(tmp_path / "run")
        self.flash = str(tmp_path / "flash")
        self.restart()

    def restart(self, boot=None):
        if boot:
            self.boot = boot
        bus = EventBus(self.clock)
        bus.subscribe(self.events.append)
        self.t = UsageTracker({"usage": self.usage}, self.clock, bus, self.ram, self.flash,
                              device="wwan0", boot_id=self.boot)
        return self.t

    def traffic(self, rx, tx=0, step=10):
        """Advance time by step s and add traffic to the fake counter, then sample."""
        self.clock.advance(step)
        self.rx += rx
        self.tx += tx
        return self.t.sample(self.iccid, self.rx, self.tx, "kernel:wwan0", self.gen)

    def burn(self, total, seconds, step=600):
        """Spread `total` bytes (rx) evenly over `seconds`, sampling every `step` s."""
        n = int(seconds // step)
        for _ in range(n):
            self.traffic(total // n, 0, step)

    def kinds(self, kind):
        return [e for e in self.events if e["type"] == kind]

    def file(self, which):
        p = os.path.join(self.ram if which == "ram" else self.flash, "usage.json")
        with open(p) as f:
            return json.load(f)


def read_state(path):
    """Parsed state file or None if absent; a present file must always be complete JSON (raises
    on a torn or partial file)."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return None
    return json.loads(text)
