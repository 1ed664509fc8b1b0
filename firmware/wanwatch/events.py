# events.py: the agent's event bus. Every event gets type, ts, seq (monotonic) and boot.
# Subscribers (MQTT outbox, SMS fallback, console, the log) are called synchronously and must not
# block. Persistence of seq/boot is done by whoever owns the state dir (see reporter/outbox).
from . import log
from .compat import dumps, exc_text

HIDDEN = ("v", "type", "seq", "boot", "ts")


class EventBus:
    RECENT = 8  # events kept in RAM for the status table

    def __init__(self, clock, boot=0, seq=0):
        self.clock = clock
        self.boot = boot
        self.seq = seq
        self._subs = []
        self.recent = []

    def subscribe(self, fn):
        self._subs.append(fn)

    def emit(self, kind, **fields):
        self.seq += 1
        ev = {"v": 1, "type": kind, "seq": self.seq, "boot": self.boot, "ts": int(self.clock.time())}
        for k in fields:
            ev[k] = fields[k]
        self.recent.append(ev)
        if len(self.recent) > self.RECENT:
            self.recent.pop(0)
        for fn in self._subs:
            try:
                fn(ev)
            except Exception as e:  # a broken subscriber must not stop the others
                log.error("event subscriber failed: %s", exc_text(e))
        return ev


def describe(ev):
    """One log line for an event: "failover from=wan to=wwan reason=down hold_down_s=120"
    (strings bare when they are one word, everything else as JSON)."""
    out = [str(ev.get("type"))]
    for k in ev:
        if k in HIDDEN:
            continue
        v = ev[k]
        if isinstance(v, str) and v and " " not in v and '"' not in v and "=" not in v:
            out.append("%s=%s" % (k, v))
        else:
            out.append("%s=%s" % (k, dumps(v)))
    return " ".join(out)
