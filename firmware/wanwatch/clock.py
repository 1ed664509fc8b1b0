# clock.py: injected time. Core logic never reads time itself; it asks a clock object.
# A clock has monotonic() (seconds, float, for intervals/timeouts) and time() (epoch seconds, for
# timestamps and billing cycles). Tests use tests/support/fakeclock.FakeClock with the same API.
import time

try:
    _ticks_ms = time.ticks_ms
    _ticks_diff = time.ticks_diff
except AttributeError:  # CPython
    _ticks_ms = None


class Clock:
    def __init__(self):
        if _ticks_ms is None:
            self._t0 = time.monotonic()
        else:
            self._t0 = _ticks_ms()
            self._acc = 0.0
            self._last = self._t0

    def monotonic(self):
        if _ticks_ms is None:
            return time.monotonic() - self._t0
        # ticks wrap: accumulate differences so the value never goes backwards
        now = _ticks_ms()
        self._acc += _ticks_diff(now, self._last) / 1000.0
        self._last = now
        return self._acc

    def time(self):
        return time.time()
