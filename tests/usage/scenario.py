# scenario.py: one deterministic usage scenario (SIM swap, wrap, reset, device re-creation,
# rollover, thresholds, forecast, set_cap/reset, restart) printing every event and status as JSON.
# Run by test_parity under the real MicroPython and under CPython: the outputs must be identical.
# usage: scenario.py STATE_DIR
import sys

from wanwatch.compat import dumps
from wanwatch.events import EventBus
from wanwatch.usage.tracker import UsageTracker


class Clock:
    def __init__(self, t):
        self.t = t
        self.m = 0.0

    def time(self):
        return self.t

    def monotonic(self):
        return self.m

    def advance(self, s):
        self.t += s
        self.m += s


d = sys.argv[1]
clock = Clock(1795996800 - 5 * 86400)  # 2026-11-26, cycle ends 2026-12-01
out = []
cfg = {"usage": {"cap_mb": 2000, "reset_day": 1}}


def tracker():
    bus = EventBus(clock)
    bus.subscribe(lambda e: out.append(e))
    return UsageTracker(cfg, clock, bus, d + "/run", d + "/flash", boot_id="b")


t = tracker()
rx, tx = 4294960000, 1000
t.sample("A1", rx, tx, "kernel:wwan0", 3)
for i in range(200):  # 600 MB/day for 50 h, across a 32-bit wrap
    clock.advance(900)
    rx = (rx + 6250000) % 4294967296
    tx += 10
    t.sample("A1", rx, tx, "kernel:wwan0", 3)
out.append(t.status())
t.sample("B2", rx, tx, "kernel:wwan0", 3)   # SIM swap
clock.advance(10)
t.sample("B2", 1000, tx + 5, "kernel:wwan0", 9)  # device re-created
out.append(t.status())
t.set_cap(1)
t.reset()
t = tracker()  # restart on the same dirs
t.sample("A1", 2000, tx + 5, "kernel:wwan0", 9)
clock.advance(4 * 86400)  # into December: rollover
t.sample("A1", 3000, tx + 5, "kernel:wwan0", 9)
out.append(t.status())
out.append(t.ledger("A1")["hist"])
for x in out:
    if isinstance(x, dict):
        x.pop("boot", None)
    print(dumps(x))
