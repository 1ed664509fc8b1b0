# counters.py: turn raw byte counters (kernel device statistics or the modem's own data counter)
# into monotonic deltas, surviving 32-bit wraps, counter resets (modem reboot) and re-creation of
# the network device (new ifindex, counter back to zero).
#
# Which source wins ("auto"): the kernel counters of the metered device when they can be read,
# else the modem's counters. The kernel counts every IP packet the router actually sent or
# received on the LTE device, is read from RAM (no AT round trip, no serial traffic) and never
# lags; modem counters (e.g. Quectel AT+QGDCNT) are per-firmware, sometimes per PDP session,
# are reset by some modems on reboot and are only as fresh as the modem poll. They are the right
# source only where the kernel device is not visible (ESP32 PPP, modem in router mode).
# Note: ECM/RNDIS devices count a 14-byte Ethernet header per packet that the carrier does not
# bill, raw-IP (QMI/MBIM) devices do not; both are within a few percent and err on the high side,
# which is the safe side for a cap warning.

WRAP32 = 1 << 32
# A drop of the counter is taken as a 32-bit wrap only if the old value was within WRAP_WINDOW
# of 2**32 and the new one is below WRAP_WINDOW (256 MiB: one 10 s sample at > 200 Mbit/s);
# anything else is a reset (modem reboot, device re-created) and the new value is counted from 0.
WRAP_WINDOW = 1 << 28
BOOT_ID_PATH = "/proc/sys/kernel/random/boot_id"


def _step(prev, new, max_delta):
    if new >= prev:
        d = new - prev
    elif prev < WRAP32 and new < WRAP_WINDOW and WRAP32 - prev + new <= WRAP_WINDOW:
        d = WRAP32 - prev + new
    else:
        d = new  # counter restarted from zero
    if max_delta is not None and d > max_delta:
        return 0  # implausible for the elapsed time (glitch, stale value): re-baseline
    return d


class CounterAccumulator:
    """Feed raw (rx, tx) readings of one source; get the bytes since the previous reading.

    src: a name ("kernel:wwan0", "modem"); a different name means a different counter, so the
    first reading of it is only a baseline. gen: a generation tag of the counter (the device's
    ifindex) - a new tag means the device was re-created and its counter started from zero.
    The state (snapshot/restore) is persisted with the ledger it belongs to, so a restart counts
    the traffic that passed while the agent was down."""

    def __init__(self):
        self.src = None
        self.gen = None
        self.rx = None
        self.tx = None

    def restore(self, src, gen, rx, tx):
        self.src, self.gen, self.rx, self.tx = src, gen, rx, tx

    def snapshot(self):
        if self.rx is None:
            return None
        return {"src": self.src, "gen": self.gen, "rx": self.rx, "tx": self.tx}

    def feed(self, rx, tx, src=None, gen=None, max_delta=None):
        """(drx, dtx) >= 0. None readings (source not readable now) keep the baseline."""
        if rx is None or tx is None:
            return 0, 0
        if self.rx is None or src != self.src:
            self.restore(src, gen, rx, tx)
            return 0, 0
        if gen is not None and self.gen is not None and gen != self.gen:
            # re-created device: everything on the new counter is new traffic
            drx, dtx = rx, tx
            if max_delta is not None:
                drx = drx if drx <= max_delta else 0
                dtx = dtx if dtx <= max_delta else 0
        else:
            drx = _step(self.rx, rx, max_delta)
            dtx = _step(self.tx, tx, max_delta)
        self.restore(src, gen if gen is not None else self.gen, rx, tx)
        return drx, dtx


def _read_int(path):
    with open(path) as f:
        return int(f.read().strip())


def read_sys(dev, root="/sys/class/net"):
    """(rx_bytes, tx_bytes, ifindex) of a kernel network device, or None if it is not there.
    sysfs reads are served from RAM at once, so this does not block the loop."""
    if not dev:
        return None
    base = root + "/" + dev
    try:
        rx = _read_int(base + "/statistics/rx_bytes")
        tx = _read_int(base + "/statistics/tx_bytes")
    except (OSError, ValueError):
        return None
    try:
        idx = _read_int(base + "/ifindex")
    except (OSError, ValueError):
        idx = None
    return rx, tx, idx


def read_boot_id(path=BOOT_ID_PATH):
    """The kernel's random id of this boot (kernel counters restart at every boot), or None."""
    try:
        with open(path) as f:
            s = f.read().strip()
        return s[:40] or None
    except OSError:
        return None
