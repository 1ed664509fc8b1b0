# policy.py: which link carries traffic. Pure: reads link states, returns the next action; the
# monitor carries actions out (burst verification, actuator calls) and reports back.
# Rules: links in priority order; leave the active link only when it is down or degraded AND a
# better link was burst-verified moments ago; never move to an unverified or dead link; fail back
# only after the preferred link was up for a hold-down that doubles on every flap (cap) and resets
# after a stable day, and a fresh verification. Every link is watched all the time (switching is
# routing, nothing is taken down), so failback needs no trial. While the active link is still
# confirming a failure (a "suspect"), the candidate is verified in parallel, so the switch can
# happen the moment the active link is declared down.
from .linkstate import FAILOVER_DEFAULTS, settings

BAD = ("down", "degraded", "captive")
UNUSABLE = ("down", "captive")  # never a failover target


class Policy:
    def __init__(self, names, clock, events, fcfg=None):
        """names: link names in priority order."""
        self.names = list(names)
        self.clock = clock
        self.events = events
        self.failover_cfg = settings(fcfg, FAILOVER_DEFAULTS)
        self.active = self.names[0]
        self.hold_down = self.failover_cfg["hold_down_s"]
        self.verified = {}          # name -> monotonic time of the last good burst verification
        self.verify_failed = {}     # name -> monotonic time of the last failed verification
        self.switched_at = None     # last failover/failback
        self.failback_at = None
        self.all_down = False
        self.manual = None          # name pinned by force_failover(), until failback()
        self._state_since = {}      # name -> monotonic time it became "up" (None otherwise)

    # --- bookkeeping from the monitor ----------------------------------------------------------
    def verify_result(self, name, ok):
        now = self.clock.monotonic()
        if ok:
            self.verified[name] = now
            self.verify_failed.pop(name, None)
        else:
            self.verified.pop(name, None)
            self.verify_failed[name] = now

    def _fresh(self, name, now):
        t = self.verified.get(name)
        return t is not None and now - t <= self.failover_cfg["verify_fresh_s"]

    def _may_verify(self, name, now):
        t = self.verify_failed.get(name)
        return t is None or now - t >= self.failover_cfg["verify_retry_s"]

    # --- decision ------------------------------------------------------------------------------
    def decide(self, states, suspects=()):
        """states: {name: state str}; suspects: links confirming a failure right now. Returns None
        or one action tuple:
        ("verify", name) burst-probe name, then call verify_result();
        ("failover", from, to) / ("failback", from, to) switch (after a fresh verification)."""
        now = self.clock.monotonic()
        self._stable_reset(now)
        act = self.active
        st = states.get(act, "unknown")
        if self.manual is not None and act == self.manual:
            return None
        if st in BAD:
            return self._escape(states, now, st)
        if act in suspects:
            return self._preverify(states, now)
        if self.all_down and st in ("up", "standby"):
            self.all_down = False
            self.events.emit("links_recovered", link=act)
        return self._maybe_failback(states, now)

    def _escape(self, states, now, st):
        """The active link is bad: find the best other link that is not known bad."""
        cands = []
        for n in self.names:
            if n == self.active:
                continue
            s = states.get(n, "unknown")
            if s in UNUSABLE:
                continue
            # a degraded active link is only left for a clean one; a dead one for anything alive
            if st == "degraded" and s == "degraded":
                continue
            cands.append(n)
        for n in cands:
            if self._fresh(n, now):
                return ("failover", self.active, n)
            if self._may_verify(n, now):
                return ("verify", n)
        if st != "degraded" and not self.all_down:
            waiting = False
            for n in cands:
                if self._may_verify(n, now) or self._fresh(n, now):
                    waiting = True
            if not waiting:
                self.all_down = True
                self.events.emit("all_links_down", active=self.active, states=dict(states))
        return None

    def _preverify(self, states, now):
        """The active link may be going down: have the best candidate verified now, so a switch
        does not wait for it once the failure is confirmed."""
        for n in self.names:
            if n == self.active or states.get(n, "unknown") in BAD:
                continue
            if self._fresh(n, now):
                return None
            if self._may_verify(n, now):
                return ("verify", n)
        return None

    def _maybe_failback(self, states, now):
        """On a lower-priority link: go back up the list after the hold-down."""
        idx = self.names.index(self.active)
        if idx == 0 or self.manual is not None:
            return None
        since = self.switched_at if self.switched_at is not None else now
        for n in self.names[:idx]:
            # watched continuously: healthy for the whole hold-down, then verify, then switch
            if states.get(n, "unknown") != "up" or now - since < self.hold_down:
                continue
            if self._state_since.get(n) is None or now - self._state_since[n] < self.hold_down:
                continue
            if self._fresh(n, now):
                return ("failback", self.active, n)
            if self._may_verify(n, now):
                return ("verify", n)
        return None

    def observe(self, name, state, since):
        """Monitor reports when each link entered its current state (for the hold-down)."""
        self._state_since[name] = since if state == "up" else None

    # --- outcomes ------------------------------------------------------------------------------
    def switched(self, kind, frm, to):
        """The monitor performed a failover/failback: update hold-down bookkeeping."""
        now = self.clock.monotonic()
        if kind == "failover" and self.failback_at is not None and now - self.failback_at <= self.failover_cfg["flap_window_s"]:
            self.hold_down = min(self.hold_down * 2, self.failover_cfg["hold_down_max_s"])
        if kind == "failback":
            self.failback_at = now
        self.active = to
        self.switched_at = now
        self.verified.pop(to, None)

    def _stable_reset(self, now):
        if (self.hold_down != self.failover_cfg["hold_down_s"] and self.active == self.names[0] and
                self.switched_at is not None and now - self.switched_at >= self.failover_cfg["stable_reset_s"]):
            self.hold_down = self.failover_cfg["hold_down_s"]
            self.events.emit("hold_down_reset", hold_down_s=self.hold_down)

    # --- remote commands -----------------------------------------------------------------------
    def force(self, to):
        self.manual = to

    def release(self):
        self.manual = None
