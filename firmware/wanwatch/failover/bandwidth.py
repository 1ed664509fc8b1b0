# failover/bandwidth.py: "too little bandwidth" as a degradation. Pure: fed every sample with the
# device's byte counters, how far the probes' RTT sits above the link's learnt baseline, and
# whether the link carries the customers' traffic; nothing here reads a clock or a file.
#   low        while the customers ask for more (packets queue: the RTT rises above the baseline
#              by queue_ms while traffic flows), the line delivers less than min_mbps, or less
#              than a quarter of what it delivered before (or of expected_mbps): a DSL line
#              resynced at 1 Mbit/s, a shaped or saturated line. It answers every ping, so ICMP
#              alone never sees it. Sustained sustain_s before it counts: a spell of low rate
#              starts with a sample that shows queueing and survives samples without that evidence
#              (a probe lost in the full queue, a queue that drained for a moment, a pause in the
#              customers' traffic) for up to SPELL_GAP_S; it restarts when the rate goes above the
#              limit, the traffic moves away from the link, or no evidence comes for longer.
#   throttled  on a metered link: the rate pinned at a low ceiling (within ±20 % of its mean,
#              under throttle_kbps) while there is demand: a carrier's speed cap after the
#              allowance. Alerted, still usable.
# A link that carries no traffic shows no demand, so its verdict stays until an active test (a
# timed download, opt-in, unmetered links only) shows the rate is back, or clear_s passes.

from . import schema as _schema

# links[].bandwidth keys and their defaults are declared once, in failover/schema.py
DEFAULTS = dict([(e[0], e[2]) for e in _schema.BANDWIDTH])
del _schema
FLOOR_BPS = 32000               # traffic below this is no demand at all
LOW_SHARE = 0.25
WINDOW = 16                     # samples kept for the throttle test
SPELL_GAP_S = 20                # a low-rate spell survives this long without queueing evidence


class BandwidthJudge:
    def __init__(self, cfg=None, metered=False):
        c = dict(DEFAULTS)
        for k in cfg or {}:
            if cfg[k] is not None:
                c[k] = cfg[k]
        self.cfg = c
        self.metered = metered
        self.last = None            # (t, rx, tx)
        self.down_bps = None
        self.up_bps = None
        self.best_bps = None        # the best rate seen under demand or in a test
        self.low = False
        self.low_since = None       # start of the current low-rate spell
        self.low_seen = None        # its last sample with queueing evidence
        self.low_at = None          # when the verdict became low (clear_s counts from the last evidence)
        self.throttled = False
        self.rates = []             # recent rates under demand (throttle test)
        self.last_test = None

    def _min_bps(self):
        lim = []
        if self.cfg["min_mbps"]:
            lim.append(self.cfg["min_mbps"] * 1e6)
        if self.cfg["expected_mbps"]:
            lim.append(self.cfg["expected_mbps"] * 1e6 * LOW_SHARE)
        if self.best_bps:
            lim.append(self.best_bps * LOW_SHARE)
        return max(lim) if lim else None

    def sample(self, now, rx, tx, rtt_excess_ms, active):
        """One counter sample. Returns "low", "ok", "throttled", "unthrottled" on a change, else None."""
        prev = self.last
        self.last = (now, rx, tx)
        if prev is None or now <= prev[0] or rx < prev[1] or tx < prev[2]:
            return None  # first sample, or the counters restarted (interface re-created)
        dt = now - prev[0]
        self.down_bps = (rx - prev[1]) * 8 / dt
        self.up_bps = (tx - prev[2]) * 8 / dt
        rate = self.down_bps if self.down_bps > self.up_bps else self.up_bps
        demand = active and rate > FLOOR_BPS and rtt_excess_ms is not None and rtt_excess_ms >= self.cfg["queue_ms"]
        change = None
        if demand:
            self.rates.append(rate)
            del self.rates[:-WINDOW]
            lim = self._min_bps()
            if lim is not None and rate < lim:
                if self.low_since is None:
                    self.low_since = now
                self.low_seen = now
                if not self.low and now - self.low_since >= self.cfg["sustain_s"]:
                    self.low = True
                    change = "low"
                if self.low:
                    self.low_at = now
            else:
                self.low_since = None
                self._learn(rate)
                if self.low:
                    self.low = False
                    change = "ok"
            change = self._throttle(now) or change
        else:
            if not active:
                self.low_since = None  # the traffic moved away: the spell is over
            elif rate > FLOOR_BPS:
                lim = self._min_bps()
                self._learn(rate)  # traffic flows without queueing: the line carries it
                if lim is None or rate >= lim:
                    self.low_since = None
                    if self.low:
                        self.low = False
                        return "ok"
            if self.low_since is not None and now - self.low_seen > SPELL_GAP_S:
                self.low_since = None  # no queueing seen for too long: the spell is over
            if self.low and (self.low_at is None or now - self.low_at >= self.cfg["clear_s"]) and \
                    not self.cfg["test_url"]:
                self.low = False
                change = "ok"
        return change

    def _learn(self, rate):
        if self.best_bps is None or rate > self.best_bps:
            self.best_bps = rate

    def _throttle(self, now):
        if not self.metered or len(self.rates) < WINDOW // 2:
            return None
        rs = self.rates[-(WINDOW // 2):]
        mean = sum(rs) / len(rs)
        pinned = mean < self.cfg["throttle_kbps"] * 1000 and max(rs) <= mean * 1.2 and min(rs) >= mean * 0.8
        if pinned and not self.throttled:
            self.throttled = True
            return "throttled"
        if self.throttled and mean >= 2 * self.cfg["throttle_kbps"] * 1000:
            self.throttled = False
            return "unthrottled"
        return None

    # --- the active test (opt-in, unmetered links) ---------------------------------------------------
    def test_due(self, now, metered):
        if not self.cfg["test_url"] or metered:
            return False
        every = self.cfg["test_interval_s"]
        if self.low and every > 60:
            every = 60  # while low, the test is how an idle link shows it is back
        return self.last_test is None or now - self.last_test >= every

    def test_result(self, now, nbytes, seconds):
        """A timed download finished (nbytes in seconds, 0 bytes = failed). Returns a change or None."""
        self.last_test = now
        if not nbytes or seconds <= 0:
            return None
        rate = nbytes * 8 / seconds
        lim = self._min_bps()
        if lim is not None and rate < lim:
            if not self.low:
                self.low = True
                self.low_at = now
                return "low"
            self.low_at = now
            return None
        self._learn(rate)
        if self.low:
            self.low = False
            return "ok"
        return None

    def status(self):
        return {"down_kbps": _kbps(self.down_bps), "up_kbps": _kbps(self.up_bps), "best_kbps": _kbps(self.best_bps),
                "low": self.low, "throttled": self.throttled}


def _kbps(bps):
    return None if bps is None else int(bps / 1000 + 0.5)
