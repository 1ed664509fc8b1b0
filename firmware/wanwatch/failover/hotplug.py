# hotplug.py: interface events from OpenWrt's hotplug hook (/etc/hotplug.d/iface/30-wanwatch),
# which appends one JSON line per event to <run_dir>/iface.events. Polled cheaply (one stat per
# period, 0.5 s: an interface taken down must take its link out of service within a second);
# each new record becomes an `iface` event and is handed to on_iface (the link monitor).
import os

from .. import log
from ..compat import asyncio, exc_text, loads
from ..names import is_name

ACTIONS = ("ifup", "ifdown", "ifupdate", "connected", "disconnected")
MAX_READ = 4096

_log = log.Logger("hotplug")


class HotplugWatcher:
    def __init__(self, run_dir, clock, events, on_iface=None, period_s=0.5):
        self.path = run_dir + "/iface.events"
        self.clock = clock
        self.events = events
        self.on_iface = on_iface
        self.period_s = period_s
        self.offset = self._size()  # events from before our start are history

    def _size(self):
        try:
            return os.stat(self.path)[6]
        except OSError:
            return 0

    def poll(self):
        """Consume new records; returns the list of accepted ones. Never raises on bad input."""
        size = self._size()
        if size < self.offset:
            self.offset = 0  # the hook truncated the file
        if size == self.offset:
            return []
        try:
            with open(self.path) as f:
                f.seek(self.offset)
                chunk = f.read(MAX_READ)
        except OSError:
            return []
        end = chunk.rfind("\n")
        if end < 0:
            return []  # a record is being written: take it next time
        self.offset += end + 1
        out = []
        for line in chunk[:end].split("\n"):
            rec = parse_record(line)
            if rec is None:
                continue
            out.append(rec)
            self.events.emit("iface", action=rec["action"], interface=rec["interface"], device=rec["device"])
            if self.on_iface is not None:
                try:
                    self.on_iface(rec)
                except Exception as e:
                    _log.error("handler failed: %s", exc_text(e))
        return out

    async def run(self):
        while True:
            try:
                self.poll()
            except Exception as e:
                _log.warning(exc_text(e))
            await asyncio.sleep(self.period_s)


def parse_record(line):
    try:
        rec = loads(line)
    except ValueError:
        return None
    if not isinstance(rec, dict):
        return None
    action, iface, dev = rec.get("action"), rec.get("interface"), rec.get("device") or None
    if action not in ACTIONS or not is_name(iface) or (dev is not None and not is_name(dev)):
        return None
    return {"action": action, "interface": iface, "device": dev}
