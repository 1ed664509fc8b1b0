# linkquality.py: sliding-window link quality (loss %, RTT median/p90, jitter) and a learnt RTT
# baseline. Pure: the caller passes monotonic timestamps; nothing here reads a clock or a socket.
# Memory is bounded by MAX_SAMPLES whatever the probe rate, so a burst cannot grow the heap.

MAX_SAMPLES = 96


def _pct(sorted_vals, p):
    """p-th percentile (0..100) by nearest rank on an already sorted list; None when empty."""
    n = len(sorted_vals)
    if not n:
        return None
    i = int(p * n / 100.0)
    if i >= n:
        i = n - 1
    return sorted_vals[i]


def _ms(v):
    return None if v is None else v / 100.0


def _insort(a, v):
    """Insert v into the ascending list a (binary search; MicroPython has no bisect module)."""
    lo, hi = 0, len(a)
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] <= v:
            lo = mid + 1
        else:
            hi = mid
    a.insert(lo, v)


class QualityWindow:
    """Samples (t, rtt_ms or None for a lost probe) kept for window_s seconds. Stored as small
    ints (t in 0.1 s, RTT in 0.01 ms, -1 = lost): MicroPython boxes every float on the heap.
    The answered RTTs are also kept sorted as they come and go, so the percentiles asked for
    every round need neither a new list nor a sort."""

    def __init__(self, window_s=30.0, max_samples=MAX_SAMPLES):
        self.window_s = window_s
        self.max_samples = max_samples
        self.clear()

    def add(self, t, rtt_ms):
        r = -1 if rtt_ms is None else int(rtt_ms * 100)
        self._t.append(int(t * 10))
        self._rtt.append(r)
        if r >= 0:
            _insort(self._sorted, r)
        if len(self._t) > self.max_samples:
            self._drop_oldest()

    def _drop_oldest(self):
        self._t.pop(0)
        r = self._rtt.pop(0)
        if r >= 0:
            self._sorted.remove(r)

    def prune(self, now):
        lim = int((now - self.window_s) * 10)
        while self._t and self._t[0] < lim:
            self._drop_oldest()

    def clear(self):
        self._t = []
        self._rtt = []
        self._sorted = []   # answered RTTs, ascending

    def count(self):
        return len(self._t)

    def span(self):
        """Seconds covered by the samples held (0 with fewer than two)."""
        if len(self._t) < 2:
            return 0.0
        return (self._t[-1] - self._t[0]) / 10.0

    def loss_pct(self):
        n = len(self._rtt)
        if not n:
            return None
        lost = 0
        for r in self._rtt:
            if r < 0:
                lost += 1
        return 100.0 * lost / n

    def rtt_median(self):
        return _ms(_pct(self._sorted, 50))

    def rtt_p90(self):
        return _ms(_pct(self._sorted, 90))

    def rtt_low(self, p=10):
        return _ms(_pct(self._sorted, p))

    def jitter(self):
        """Mean absolute difference of consecutive answered RTTs (RFC 3550 spirit, unsmoothed)."""
        prev = None
        acc = 0.0
        n = 0
        for r in self._rtt:
            if r < 0:
                continue
            if prev is not None:
                acc += abs(r - prev)
                n += 1
            prev = r
        if not n:
            return None
        return acc / n / 100.0


class Baseline:
    """Slow EWMA of the window's low-percentile RTT: what this link's RTT is when it is fine.
    It follows improvements quickly (a shorter path is real) and worsening very slowly, and the
    caller freezes it while the link is degraded, so a long bad spell is never learnt as normal."""

    def __init__(self, alpha_up=0.002, alpha_down=0.05):
        self.value = None
        self.alpha_up = alpha_up
        self.alpha_down = alpha_down

    def update(self, low_rtt):
        if low_rtt is None:
            return self.value
        if self.value is None:
            self.value = float(low_rtt)
        elif low_rtt < self.value:
            self.value += self.alpha_down * (low_rtt - self.value)
        else:
            self.value += self.alpha_up * (low_rtt - self.value)
        return self.value
