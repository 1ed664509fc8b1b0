# linkstate.py: the health state machine of one link in one address family
# (unknown/up/degraded/down/standby). Pure: fed with probe rounds (per-target RTTs) and the current
# monotonic time; tells the caller when the next round is due and how long to wait for replies.
# The adaptive parts: a failed round is followed at once by a short burst of confirmation rounds,
# so a dead line is confirmed in ~1.5 s while scattered loss (which almost never fails
# 1 + burst_rounds rounds in a row) never trips it; and the reply wait follows the RTT this link
# really has (a few times its recent p90, never below timeout_min_s, never above the fixed
# ceiling), raised at once when a late reply shows the line is slow rather than dead.
from .linkquality import Baseline, QualityWindow
from . import schema as _schema

# the keys and their defaults are declared once, in failover/schema.py (dropped after start-up)
PROBE_DEFAULTS = dict([(e[0], e[2]) for e in _schema.PROBE])
FAILOVER_DEFAULTS = dict([(e[0], e[2]) for e in _schema.FAILOVER])
del _schema

RTT_FACTOR = 4        # adaptive wait = RTT_FACTOR x recent p90 RTT + RTT_MARGIN_S
RTT_MARGIN_S = 0.05


def settings(section, defaults):
    """defaults overlaid with the config section (unknown keys kept, None means default). A
    validated section already has every key: it is shared, not copied per link and family."""
    section = section or {}
    for k in defaults:
        if k not in section or (section[k] is None and defaults[k] is not None):
            break
    else:
        return section
    out = dict(defaults)
    for k in section or {}:
        if section[k] is not None:
            out[k] = section[k]
    return out


def default_quorum(n):
    return 1 if n <= 2 else 2


class LinkState:
    def __init__(self, name, n_targets, pcfg=None, fcfg=None, standby=False):
        self.name = name
        self.probe_cfg = settings(pcfg, PROBE_DEFAULTS)
        self.failover_cfg = settings(fcfg, FAILOVER_DEFAULTS)
        self.n_targets = n_targets
        self.quorum_k = self.probe_cfg["quorum"] or default_quorum(n_targets)
        self.state = "unknown"
        self.standby = standby
        self.window = QualityWindow(self.failover_cfg["window_s"])
        self.baseline = Baseline()
        self.fails = 0              # consecutive failed rounds
        self.oks = 0                # consecutive good rounds
        self.burst_left = 0
        self.silent = [0] * n_targets   # per target: consecutive rounds unanswered while others answered
        # per target: its lost samples of those rounds, not yet in the window. A target going dead
        # must not read as link loss while it is being found out (dead_target_rounds rounds):
        # they are added when it answers again (they were lost probes) and dropped when it is dead.
        self.deferred = [0] * n_targets
        self.last_rtt = None
        self.late_ms = None         # slowest late reply lately, and when: the wait must allow it
        self.late_at = None
        self.changed_at = None      # monotonic time of the last state change
        self.note = None
        self._bad_since = None

    # --- targets --------------------------------------------------------------------------------
    def live_targets(self):
        out = []
        for i in range(self.n_targets):
            if self.silent[i] < self.probe_cfg["dead_target_rounds"]:
                out.append(i)
        return out

    def quorum(self):
        """k of the live targets: a dead target out of three must not fail every round."""
        live = len(self.live_targets())
        if live <= 0:
            return 1
        return min(self.quorum_k, live) if live > 2 else 1

    # --- feeding -------------------------------------------------------------------------------
    def on_round(self, now, rtts, ok=None):
        """rtts: one entry per target (ms or None). ok overrides the quorum verdict (sparse
        single-target checks). Returns the new state when it changed, else None."""
        live = self.live_targets()
        answered = 0
        for r in rtts:
            if r is not None:
                answered += 1
        if ok is None:
            ok = answered >= self.quorum()
        full = len(rtts) == self.n_targets
        for i in range(len(rtts)):
            r = rtts[i]
            if not full:
                self.window.add(now, r)
            elif i in live:
                if r is None and answered:
                    self.deferred[i] += 1  # lost probe or dying target: decided below / later
                    continue
                while self.deferred[i]:  # it answers again: those were lost probes after all
                    self.window.add(now, None)
                    self.deferred[i] -= 1
                self.window.add(now, r)
        # dead-target bookkeeping only from full rounds in which someone answered
        if full and answered:
            for i in range(self.n_targets):
                if rtts[i] is None:
                    self.silent[i] += 1
                    if self.silent[i] >= self.probe_cfg["dead_target_rounds"]:
                        self.deferred[i] = 0  # dead: its silence says nothing about the link
                else:
                    self.silent[i] = 0
        self.window.prune(now)
        if answered:
            best = None
            for r in rtts:
                if r is not None and (best is None or r < best):
                    best = r
            self.last_rtt = best
        if ok:
            self.fails = 0
            self.burst_left = 0
            self.oks += 1
        else:
            self.oks = 0
            if self.fails == 0:
                self.burst_left = self.probe_cfg["burst_rounds"]
            elif self.burst_left > 0:
                self.burst_left -= 1
            self.fails += 1
        return self._decide(now, ok)

    def _decide(self, now, ok):
        prev = self.state
        if not ok:
            if self.fails >= 1 + self.probe_cfg["burst_rounds"]:
                new = "down"
                self.burst_left = 0
            else:
                new = prev  # still confirming
        elif prev == "down" and self.oks >= self.probe_cfg["up_rounds"]:
            # the outage's losses say nothing about the recovered link: judge it afresh
            self.window.clear()
            new = "standby" if self.standby else "up"
        elif prev == "unknown":
            new = "standby" if self.standby else self._quality(now, "up")
        elif prev == "down":
            new = "down"
        elif self.standby:
            new = "standby"
        else:
            new = self._quality(now, prev)
        if new not in ("degraded", "down"):
            self.baseline.update(self.window.rtt_low(10))
        return self._set(now, new)

    def _quality(self, now, prev):
        bad = self._bad(prev)
        if prev == "degraded":
            return "degraded" if bad else "up"
        if not bad:
            self._bad_since = None
            return "up"
        if self._bad_since is None:
            self._bad_since = now
        if now - self._bad_since >= self.failover_cfg["degraded_sustain_s"]:
            self._bad_since = None
            return "degraded"
        return prev if prev in ("up", "degraded") else "up"

    def _bad(self, prev):
        """Window verdict: True = looks degraded (with recovery hysteresis when already degraded)."""
        w = self.window
        if w.count() < self.failover_cfg["min_samples"]:
            return prev == "degraded"
        loss = w.loss_pct()
        med = w.rtt_median()
        base = self.baseline.value
        if prev == "degraded":
            return not (loss <= self.failover_cfg["recover_loss_pct"] and (base is None or med is None or
                                                                 med <= base + self.failover_cfg["recover_rtt_ms"]))
        if loss >= self.failover_cfg["degraded_loss_pct"]:
            return True
        return base is not None and med is not None and med >= base + self.failover_cfg["degraded_rtt_ms"]

    def _set(self, now, new):
        if new == self.state:
            return None
        self.state = new
        self.changed_at = now
        return new

    def set_standby(self, now, standby):
        """Metered backup: standby while not carrying traffic (sparse checks, no quality verdict)."""
        self.standby = standby
        if standby and self.state in ("up", "degraded"):
            return self._set(now, "standby")
        if not standby and self.state == "standby":
            return self._set(now, "up")
        return None

    def reset(self, now):
        """Judge the link afresh (its interface came back up): no verdict, no history."""
        self.fails = 0
        self.oks = 0
        self.burst_left = 0
        self.note = None
        self.window.clear()
        return self._set(now, "unknown")

    def on_late(self, now, rtt_ms):
        """A reply came after its round gave up: the line is slow, not dead."""
        if self.late_ms is None or rtt_ms > self.late_ms or now - self.late_at > self.failover_cfg["window_s"]:
            self.late_ms = rtt_ms
            self.late_at = now

    def mark_down(self, now, note=None):
        self.note = note
        self.fails = 1 + self.probe_cfg["burst_rounds"]
        self.oks = 0
        return self._set(now, "down")

    # --- scheduling ----------------------------------------------------------------------------
    def in_burst(self):
        return self.burst_left > 0

    def next_delay(self, metered_active=False):
        if self.burst_left > 0:
            return self.probe_cfg["burst_interval_s"]
        if self.standby:
            return self.probe_cfg["standby_interval_s"]
        if metered_active:
            return self.probe_cfg["metered_active_interval_s"]
        return self.probe_cfg["interval_s"]

    def round_timeout(self, now=None):
        """Reply wait of the next round: RTT_FACTOR x the recent p90 RTT (or the slowest recent
        late reply) + RTT_MARGIN_S, between timeout_min_s and the fixed ceiling of the round kind."""
        cap = self.probe_cfg["burst_timeout_s"] if self.burst_left > 0 else self.probe_cfg["timeout_s"]
        ms = self.window.rtt_p90()
        if ms is None:
            ms = self.last_rtt
        if self.late_ms is not None and (now is None or now - self.late_at <= self.failover_cfg["window_s"]):
            if ms is None or self.late_ms > ms:
                ms = self.late_ms
        if ms is None:
            return cap
        t = RTT_FACTOR * ms / 1000.0 + RTT_MARGIN_S
        floor = self.probe_cfg["timeout_min_s"]
        if t < floor:
            t = floor
        return cap if t > cap else t

    def healthy(self):
        return self.state in ("up", "standby")

    def status(self):
        return {"state": self.state, "rtt_ms": _round1(self.window.rtt_median() if self.window.count() else self.last_rtt),
                "loss_pct": _round1(self.window.loss_pct())}


def _round1(v):
    if v is None:
        return None
    return int(v * 10 + 0.5) / 10.0
