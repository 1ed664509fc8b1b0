"""Fake clock for logic tests: same API as firmware/wanwatch/clock.Clock, advanced by hand."""


class FakeClock:
    def __init__(self, start_epoch=1_790_000_000.0, start_mono=0.0):
        self._epoch = float(start_epoch)
        self._mono = float(start_mono)

    def monotonic(self):
        return self._mono

    def time(self):
        return self._epoch

    def advance(self, seconds):
        self._mono += seconds
        self._epoch += seconds

    def set_epoch(self, epoch):
        """Jump wall time (NTP step) without moving monotonic time."""
        self._epoch = float(epoch)
