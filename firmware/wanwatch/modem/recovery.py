# modem/recovery.py: the modem recovery ladder, as a pure decision class (injected clock, no I/O but the
# small persisted state file). The manager feeds it one observation per poll and performs the step it
# returns; every step is an event `modem_recovery` {step, reason}.
#
# Ladder (one fault episode = from the first bad observation until the modem answers and is registered):
#   no answer                      -> "resync"  (AT, ATE0) at once, again every resync_every_s
#   not registered reattach_after_s -> "reattach" (AT+CFUN=0, AT+CFUN=1)
#   still failing step_wait_s later -> "reset"   (driver RESET_COMMAND)
#   still failing step_wait_s later -> "power"   (board power toggle, only if the board defines one)
#   still failing step_wait_s later -> "reboot"  (router reboot, only with recovery.reboot: true,
#                                                 at most max_reboots_per_day in any 24 h)
# A modem that does not answer skips "reattach" (it needs AT): after unresponsive_s it goes to "reset".
# Steps never come faster than step_wait_s; when the ladder is exhausted it starts again from the
# bottom in a new round, each round waiting twice as long (up to 8x), so it stays bounded.
# State (episode start, steps taken, reboot times) is persisted so a router reboot neither restarts the
# ladder from the bottom nor lets a reboot loop exceed the daily cap.
from .. import log, store

DEFAULTS = {"enabled": True, "reattach_after_s": 600, "step_wait_s": 300, "resync_every_s": 60,
            "unresponsive_s": 120, "reboot": False, "max_reboots_per_day": 3, "resume_window_s": 3600}

_log = log.Logger("modem")
STEPS = ("resync", "reattach", "reset", "power", "reboot")
DAY = 86400


def settings(cfg_section):
    """recovery.* from the config with defaults; wrong types fall back to the default (never raises)."""
    out = dict(DEFAULTS)
    for k, v in (cfg_section or {}).items():
        if k not in DEFAULTS:
            continue
        d = DEFAULTS[k]
        if isinstance(d, bool):
            if isinstance(v, bool):
                out[k] = v
        elif isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0:
            out[k] = v
    return out


class Recovery:
    def __init__(self, cfg_section, clock, path=None, has_power=False):
        self.settings = settings(cfg_section)
        self.clock = clock
        self.path = path
        self.has_power = has_power
        self.episode = None      # epoch s when the fault began
        self.taken = []          # steps taken in this round of the episode
        self.round = 0
        self.last_step_at = None
        self.last_resync_at = None
        self.reboots = []        # epoch s of router reboots requested (last 24 h)
        self._load()

    # --- persistence -----------------------------------------------------------------------------
    def _load(self):
        if not self.path:
            return
        d = store.read_json(self.path, None)
        if not isinstance(d, dict):
            return
        now = self.clock.time()
        r = d.get("reboots")
        if isinstance(r, list):
            self.reboots = [t for t in r if isinstance(t, (int, float)) and now - DAY < t <= now + 60][-10:]
        ep = d.get("episode")
        window = self.settings["resume_window_s"] + self.settings["step_wait_s"] * 5
        if isinstance(ep, (int, float)) and 0 <= now - ep < window:
            self.episode = ep
            t = d.get("taken")
            self.taken = [x for x in t if x in STEPS][:8] if isinstance(t, list) else []
            la = d.get("last_step_at")
            self.last_step_at = la if isinstance(la, (int, float)) else None
            rn = d.get("round")
            self.round = rn if isinstance(rn, int) and 0 <= rn < 100 else 0

    def _save(self):
        if not self.path:
            return
        try:
            store.write_json(self.path, {"episode": self.episode, "taken": self.taken,
                                         "last_step_at": self.last_step_at, "reboots": self.reboots,
                                         "round": self.round})
        except OSError as e:
            _log.warning("recovery state not saved: %s", e)

    # --- decisions ---------------------------------------------------------------------------------
    def observe(self, answered, registered):
        """One observation per poll. Returns (step, reason) to perform now, or None."""
        if not self.settings["enabled"]:
            return None
        now = self.clock.time()
        if answered and registered:
            if self.episode is not None:
                self.episode = None
                self.taken = []
                self.last_step_at = None
                self.last_resync_at = None
                self.round = 0
                self._save()
            return None
        if self.episode is None:
            self.episode = now
            self.taken = []
            self.round = 0
            self.last_step_at = None
            self._save()
        age = now - self.episode
        resync_due = self.last_resync_at is None or now - self.last_resync_at >= self.settings["resync_every_s"]
        if not answered and resync_due:
            self.last_resync_at = now
            if "resync" not in self.taken:
                return self._take("resync", "no answer", now)
            if age < self.settings["unresponsive_s"]:
                return ("resync", "no answer")  # repeated resyncs are cheap and not ladder steps
        wait = self.settings["step_wait_s"] * (1 << min(self.round, 3))
        if self.last_step_at is not None and now - self.last_step_at < wait:
            return None
        nxt = self._next(answered)
        if nxt is None:
            if not [x for x in self.taken if x != "resync"]:
                return None
            self.round += 1  # ladder exhausted: start again from the bottom, slower
            self.taken = [x for x in self.taken if x == "resync"]
            self._save()
            return None
        if nxt == "reattach":
            if age < self.settings["reattach_after_s"]:
                return None
            return self._take(nxt, "not registered for %d s" % int(age), now)
        if not answered and age < self.settings["unresponsive_s"]:
            return None
        reason = ("no answer for %d s" if not answered else "not registered for %d s") % int(age)
        if nxt == "reboot":
            self.reboots = [t for t in self.reboots if now - t < DAY]
            if len(self.reboots) >= self.settings["max_reboots_per_day"]:
                return None
            self.reboots.append(now)
        return self._take(nxt, reason, now)

    def _next(self, answered):
        for st in STEPS[1:]:
            if st in self.taken:
                continue
            if st == "reattach" and not answered:
                continue
            if st == "power" and not self.has_power:
                continue
            if st == "reboot" and not self.settings["reboot"]:
                continue
            return st
        return None

    def _take(self, step, reason, now):
        if step not in self.taken:
            self.taken.append(step)
        if step != "resync":
            self.last_step_at = now
        self._save()
        return (step, reason)

    def status(self):
        return {"episode": self.episode, "taken": list(self.taken), "reboots_24h": len(self.reboots)}
