# usage.py: backup-SIM data usage. One ledger per SIM (keyed by ICCID) per billing cycle,
# thresholds of the cap, an exhaustion forecast (forecast.py), remote hooks (set_cap/reset) and crash-safe
# persistence. See docs/usage.md for the design, the loss bounds and the config keys.
#
# Persistence: the same document is written atomically (temp + rename) to the RAM dir every
# ram_save_s, to flash every flash_save_s, to flash whenever the ledger grew by flash_save_mb since
# the last flash copy (no more often than flash_min_interval_s: a power cut loses at most that much)
# and at every important change (threshold, forecast, rollover, SIM swap, set_cap, reset,
# calibration). At start both are read and, per ledger, the larger (generation, total) wins. The
# active ledger carries the raw counter baseline it was counted up to, so a restart after a kill
# resumes exactly where the counters are now.
from .. import log, store
from . import cycle
from ..compat import asyncio, exc_text
from .counters import CounterAccumulator, read_sys, read_boot_id
from . import schema as _schema

try:  # an optional area: a board manifest may leave the forecast out (features.py)
    from . import forecast
except ImportError:
    forecast = None

MB = 1000000          # carriers bill decimal megabytes; also the earlier (safer) warning
HOUR = 3600
DAY = 86400
MIN_EPOCH = 1577836800  # 2020-01-01: earlier means the router clock is not set yet (no NTP)
MAX_BUCKETS = 25
MAX_HIST = 3
FILE = "/usage.json"
SAVE_MB_MIN = 5       # flash_save_mb default: 1 % of the cap, clamped to 5..50 MB;
SAVE_MB_MAX = 50      # without a cap 5 MB (a pay-per-MB SIM bills every byte)
# the usage.* keys and their defaults are declared once, in usage/schema.py (dropped after start-up)
DEFAULTS = dict([(e[0], e[2]) for e in _schema.USAGE])
del _schema


def _num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def settings(cfg):
    """usage.* with defaults (the config was validated: config/__init__.py)."""
    u = (cfg or {}).get("usage") or {}
    s = {}
    for k in DEFAULTS:
        v = u.get(k)
        s[k] = DEFAULTS[k] if v is None else v
    s["thresholds"] = sorted(s["thresholds"])
    return s


_log = log.Logger("usage")
_last_log = [None]


def _log_once(say, msg):
    if msg != _last_log[0]:  # a repeating failure is logged once, not every sample
        _last_log[0] = msg
        say(msg)


def _clean(L):
    """A ledger read from a file, with every field type-checked; None if unusable."""
    if not isinstance(L, dict):
        return None
    try:
        out = {"iccid": L.get("iccid") if isinstance(L.get("iccid"), str) else None}
        for k in ("gen", "rx", "tx", "own"):
            v = L.get(k, 0)
            if not _int(v) or v < 0:
                return None
            out[k] = v
        for k in ("start", "end", "cap", "cap_at", "since"):
            v = L.get(k)
            out[k] = v if _int(v) else None
        out["crossed"] = [x for x in (L.get("crossed") or []) if _num(x)][:10]
        out["fc"] = 1 if L.get("fc") else 0
        hb = []
        for p in (L.get("hb") or [])[-MAX_BUCKETS:]:
            if isinstance(p, list) and len(p) == 2 and _int(p[0]) and _int(p[1]):
                hb.append([p[0], p[1]])
        out["hb"] = hb
        out["hist"] = [h for h in (L.get("hist") or []) if isinstance(h, list)][-MAX_HIST:]
        c = L.get("cal")  # [at, total at, carrier used or None, carrier remaining or None, method]
        ok = isinstance(c, list) and len(c) == 5 and _int(c[0]) and _int(c[1])
        for x in (c[2:4] if ok else ()):
            ok = ok and (x is None or _int(x))
        out["cal"] = c if ok else None
        out["ct"] = L.get("ct") if _int(L.get("ct")) else None  # last calibration attempt (epoch)
        out["cg"] = L.get("cg") if _int(L.get("cg")) else 0     # total at that attempt
        raw = L.get("raw")
        out["raw"] = raw if isinstance(raw, dict) and _int(raw.get("rx")) and _int(raw.get("tx")) else None
        return out
    except (TypeError, AttributeError):
        return None


def _key(L):
    return (L["gen"], L["rx"] + L["tx"], L["own"])


def merge_docs(docs):
    """(seq, ledgers MRU-first) from state documents (RAM, flash; None = missing/unreadable).
    Per ICCID the ledger with the larger (generation, total, own) wins: it is the more recent one,
    and its raw baseline belongs to it. Same generation: threshold/forecast flags are united so a
    crossing saved anywhere is never announced again."""
    good = []
    for d in docs:
        if isinstance(d, dict) and d.get("v") == 1 and isinstance(d.get("ledgers"), list):
            good.append(d)
    good.sort(key=lambda d: -(d.get("seq") if _int(d.get("seq")) else 0))
    seq = 0
    byk = {}
    order = []
    for d in good:
        if _int(d.get("seq")) and d["seq"] > seq:
            seq = d["seq"]
        for raw in d["ledgers"]:
            L = _clean(raw)
            if L is None:
                continue
            k = L["iccid"] or ""
            if k not in byk:
                byk[k] = L
                order.append(k)
                continue
            a = byk[k]
            w, o = (L, a) if _key(L) > _key(a) else (a, L)
            if w["gen"] == o["gen"]:
                for t in o["crossed"]:
                    if t not in w["crossed"]:
                        w["crossed"].append(t)
                w["fc"] = w["fc"] or o["fc"]
            byk[k] = w
    return seq, [byk[k] for k in order]


def total_of(doc_list):
    """Total bytes of the ledger that would be active after loading these documents (tests)."""
    _, ls = merge_docs(doc_list)
    return (ls[0]["rx"] + ls[0]["tx"]) if ls else 0


class UsageTracker:
    def __init__(self, cfg, clock, events, ram_dir, flash_dir, counters_source=None, device=None,
                 iccid_source=None, boot_id="auto"):
        self.settings = settings(cfg)
        self.clock = clock
        self.events = events
        self.ram_dir = ram_dir
        self.flash_dir = flash_dir
        self.counters_source = counters_source
        self.device = device
        self.iccid_source = iccid_source
        self.boot_id = read_boot_id() if boot_id == "auto" else boot_id
        self.at_cap_hook = None  # optional fn(event) for usage.at_cap_action = "alert_sms"
        self.rate_limit = None   # (rx, tx) bytes/s the budget policy holds the metered link to, or None
        c = self.settings["cap_mb"]
        self.cfg_cap = int(c * MB) if c else None
        self.max_bps = self.settings["max_rate_mbps"] * 125000  # bytes per second
        self.acc = CounterAccumulator()
        self.ledgers = []
        self.seq = 0
        self._ver = 0
        self._ram_ver = 0
        self._flash_ver = 0
        self._force = False
        self._last_mono = None
        self._last_ts = None
        self._pending_own = 0
        self._fc = None
        mono = clock.monotonic()
        self._ram_t = mono
        self._flash_t = mono
        self._flash_mono = None  # last flash save (None: none yet in this run, a byte save may go at once)
        self._flash_tot = 0      # active ledger's total in the flash copy
        self.flash_writes = 0
        for d in (ram_dir, flash_dir):
            try:
                store.makedirs(d)
            except OSError:
                pass
        self._load()

    # --- persistence -----------------------------------------------------------------------------
    def _load(self):
        fdoc = store.read_json(self.flash_dir + FILE)
        docs = [store.read_json(self.ram_dir + FILE), fdoc]
        self.seq, ls = merge_docs(docs)
        self.ledgers = ls[:self.settings["max_ledgers"]]
        if not self.ledgers:
            return
        L0 = self.ledgers[0]
        for F in merge_docs([fdoc])[1]:  # what the flash copy holds of the active ledger
            if F["iccid"] == L0["iccid"] and F["gen"] == L0["gen"]:
                self._flash_tot = F["rx"] + F["tx"]
        raw = L0["raw"]
        if raw:
            src = raw.get("src")
            if (isinstance(src, str) and src.startswith("kernel") and raw.get("boot") and self.boot_id
                    and raw.get("boot") != self.boot_id):
                # rebooted since: the kernel counter restarted at 0 and holds only new traffic
                self.acc.restore(src, None, 0, 0)
            else:
                self.acc.restore(src, raw.get("gen"), raw["rx"], raw["tx"])
            if _int(raw.get("ts")):
                self._last_ts = raw["ts"]
        self._fc = self._forecast(self.ledgers[0], int(self.clock.time()))

    def _doc(self, now):
        L = self.ledgers[0] if self.ledgers else None
        if L is not None:
            snap = self.acc.snapshot()
            if snap is not None:
                snap["ts"] = now
                snap["boot"] = self.boot_id
            L["raw"] = snap
        return {"v": 1, "seq": self.seq, "ledgers": self.ledgers}

    def save(self, flash=False):
        """Write the state now (RAM, and flash too if asked). Never raises."""
        mono = self.clock.monotonic()
        self.seq += 1
        doc = self._doc(int(self.clock.time()))
        ver = self._ver
        if flash:
            try:
                store.write_json(self.flash_dir + FILE, doc)
                self._flash_ver = ver
                self.flash_writes += 1
                L = self.ledgers[0] if self.ledgers else None
                self._flash_tot = L["rx"] + L["tx"] if L is not None else 0
            except OSError as e:
                _log_once(_log.error, "flash save: " + exc_text(e))
            self._flash_t = mono
            self._flash_mono = mono
        try:
            store.write_json(self.ram_dir + FILE, doc)
            self._ram_ver = ver
        except OSError as e:
            _log_once(_log.warning, "ram save: " + exc_text(e))
        self._ram_t = mono

    def save_bytes(self):
        """Growth of the active ledger that makes a flash save due (usage.flash_save_mb; default
        1 % of the cap, 5..50 MB, 5 MB without a cap)."""
        mb = self.settings["flash_save_mb"]
        if mb is None:
            cap = self._cap(self.ledgers[0] if self.ledgers else None)
            mb = cap / (100 * MB) if cap else SAVE_MB_MIN
            mb = SAVE_MB_MIN if mb < SAVE_MB_MIN else SAVE_MB_MAX if mb > SAVE_MB_MAX else mb
        return int(mb * MB)

    def unsaved_bytes(self):
        """Bytes counted since the flash copy: what a power cut now would lose (plus the traffic
        since the last sample)."""
        L = self.ledgers[0] if self.ledgers else None
        return L["rx"] + L["tx"] - self._flash_tot if L is not None else 0

    def _grown(self, mono):
        if self.unsaved_bytes() < self.save_bytes():
            return False
        return self._flash_mono is None or mono - self._flash_mono >= self.settings["flash_min_interval_s"]

    def _maybe_save(self):
        mono = self.clock.monotonic()
        if self._force:
            self._force = False
            self.save(True)
        elif self._ver != self._flash_ver and (mono - self._flash_t >= self.settings["flash_save_s"] or self._grown(mono)):
            self.save(True)
        elif self._ver != self._ram_ver and mono - self._ram_t >= self.settings["ram_save_s"]:
            self.save(False)

    # --- ledgers ---------------------------------------------------------------------------------
    def _bounds(self, now):
        if now < MIN_EPOCH:
            return None, None
        return cycle.bounds(now, self.settings["reset_day"], self.settings["reset_hour"], self.settings["utc_offset_min"])

    def _new(self, iccid, now):
        s, e = self._bounds(now)
        return {"iccid": iccid, "gen": 0, "start": s, "end": e, "rx": 0, "tx": 0, "own": 0,
                "crossed": [], "fc": 0, "cap": None, "cap_at": None, "since": now, "hb": [],
                "hist": [], "cal": None, "ct": None, "cg": 0, "raw": None}

    def _find(self, iccid):
        for L in self.ledgers:
            if L["iccid"] == iccid:
                return L
        return None

    def _front(self, L):
        if self.ledgers and self.ledgers[0] is not L:
            self.ledgers[0]["raw"] = None  # the baseline moves with the active ledger
        if L in self.ledgers:
            self.ledgers.remove(L)
        self.ledgers.insert(0, L)
        del self.ledgers[self.settings["max_ledgers"]:]  # the least recently used ledger is dropped
        self._ver += 1
        self._force = True

    def _ledger_for(self, iccid, now):
        cur = self.ledgers[0] if self.ledgers else None
        if cur is None:
            L = self._new(iccid, now)
            L["own"] = self._pending_own
            self._pending_own = 0
            self._front(L)
            return L
        if iccid is None or cur["iccid"] == iccid:
            return cur  # ICCID not known (yet): keep counting on the SIM we had
        old = self._find(iccid)
        if cur["iccid"] is None:
            # placeholder counted before the modem reported the ICCID: it belongs to this SIM
            if old is None:
                cur["iccid"] = iccid
                self._ver += 1
                self._force = True
                return cur
            if old["start"] == cur["start"]:
                for k in ("rx", "tx", "own"):
                    old[k] += cur[k]
            self.ledgers.remove(cur)
            self.ledgers.remove(old)
            self.ledgers.insert(0, old)
            self._ver += 1
            self._force = True
            return old
        # SIM swap: the old ledger is kept (bounded), the new SIM gets its own
        L = old if old is not None else self._new(iccid, now)
        self._front(L)
        return L

    def _roll(self, L, now):
        s, e = self._bounds(now)
        if s is None or (L["start"] == s and L["end"] == e):
            return
        if L["start"] is not None and now >= L["end"]:
            L["hist"].append([L["start"], L["end"], L["rx"], L["tx"], L["own"]])
            del L["hist"][:-MAX_HIST]
            L["rx"] = L["tx"] = L["own"] = 0
            L["crossed"] = []
            L["fc"] = 0
            L["cap"] = None  # a remote set_cap lasts until the end of its cycle
            L["cap_at"] = None
            L["cal"] = None  # the carrier's figure was for the cycle that ended
            L["cg"] = 0
            L["since"] = now
            L["hb"] = []
            L["gen"] += 1
            self._force = True
        elif L["start"] is None or now < L["start"] - DAY or now >= L["start"]:
            # clock set/corrected, or reset day changed in config: same traffic, right cycle
            pass
        else:
            return  # small backward clock step near the boundary: keep the cycle
        L["start"], L["end"] = s, e
        self._ver += 1

    # --- the core entry point --------------------------------------------------------------------
    def sample(self, iccid, rx_total, tx_total, source, gen=None):
        """Account one reading of the raw counters (None = not readable now). Returns (drx, dtx)."""
        now = int(self.clock.time())
        mono = self.clock.monotonic()
        L = self._ledger_for(iccid, now)
        drx = dtx = 0
        if rx_total is not None and tx_total is not None:
            if self._last_mono is not None:
                dt = mono - self._last_mono
            elif self._last_ts is not None:
                dt = now - self._last_ts  # first reading after a restart: time since the save
            else:
                dt = 0
            if dt < self.settings["sample_s"]:
                dt = self.settings["sample_s"]
            drx, dtx = self.acc.feed(rx_total, tx_total, source, gen, int(self.max_bps * dt * 2))
            self._last_mono = mono
            if drx or dtx:
                L["rx"] += drx
                L["tx"] += dtx
                self._bucket(L, now, drx + dtx)
                self._ver += 1
        self._roll(L, now)
        self._check(L, now)
        self._maybe_save()
        return drx, dtx

    def _bucket(self, L, now, n):
        h = now // HOUR
        hb = L["hb"]
        if hb and hb[-1][0] >= h:
            hb[-1][1] += n  # same hour (or the clock stepped back): keep it bounded
        else:
            hb.append([h, n])
            while hb and (len(hb) > MAX_BUCKETS or hb[0][0] < h - 24):
                hb.pop(0)

    def _cap(self, L):
        if L is not None and L["cap"]:
            return L["cap"]
        return self.cfg_cap

    def _forecast(self, L, now):
        if forecast is None:
            return None
        return forecast.exhaustion(L, self._cap(L), self._used(L) if L is not None else 0, now, self.rate_limit)

    def _used_pct(self, L, cap):
        if not cap or L is None:
            return None
        return (self._used(L) * 1000 // cap) / 10  # floor to 0.1: 99.96 is not 100.0

    @staticmethod
    def _used(L):
        """Best estimate of the allowance used: the carrier's last figure plus what the router
        counted since, once the carrier answered in this cycle; the router's own count otherwise."""
        tot = L["rx"] + L["tx"]
        c = L["cal"]
        if c is not None and c[2] is not None:
            u = c[2] + tot - c[1]
            return u if u > 0 else 0
        return tot

    def _carrier_rem(self, L, cap):
        """The carrier's remaining allowance carried forward by the traffic since it answered."""
        c = L["cal"]
        if c is None:
            return None
        if c[3] is not None:
            r = c[3] - (L["rx"] + L["tx"] - c[1])
        elif c[2] is not None and cap:
            r = cap - self._used(L)
        else:
            return None
        return r if r > 0 else 0

    def _check(self, L, now):
        cap = self._cap(L)
        used = self._used(L)
        new = []
        if cap:
            for t in self.settings["thresholds"]:
                if t not in L["crossed"] and used * 100 >= t * cap:
                    new.append(t)
            if used >= cap and L["cap_at"] is None:
                L["cap_at"] = now
                self._ver += 1
        if new:
            for t in new:
                L["crossed"].append(t)
            self._ver += 1
            self._force = False
            self.save(True)  # persisted before it is announced: never repeated after a restart
            for t in new:
                f = {"iccid": L["iccid"], "pct": t, "used_pct": self._used_pct(L, cap),
                     "total_bytes": L["rx"] + L["tx"], "used_bytes": used, "cap_bytes": cap,
                     "cycle_end": L["end"]}
                if t >= 100:
                    f["action"] = self.settings["at_cap_action"]
                ev = self.events.emit("usage_threshold", **f)
                if t >= 100 and self.settings["at_cap_action"] == "alert_sms" and self.at_cap_hook:
                    try:
                        self.at_cap_hook(ev)
                    except Exception as e:
                        _log_once(_log.error, "at_cap hook: " + exc_text(e))
        fc = self._forecast(L, now)
        self._fc = fc
        if forecast is not None:
            forecast.warn(self, L, now, cap, used, fc)

    # --- hooks for the agent and the signed-command layer ----------------------------------------
    def add_own(self, nbytes):
        """Count the agent's own bytes on the metered link (a part of rx/tx, shown separately)."""
        if not _int(nbytes) or nbytes <= 0:
            return
        if self.ledgers:
            self.ledgers[0]["own"] += nbytes
            self._ver += 1
        else:
            self._pending_own += nbytes

    def _iccid_now(self):
        if self.iccid_source is None:
            return None
        try:
            v = self.iccid_source()
            return v if isinstance(v, str) and v else None
        except Exception:
            return None

    def set_cap(self, mb):
        """Cap for the rest of the current cycle (reverts to usage.cap_mb at rollover); None reverts
        now. Thresholds are re-armed against the new cap. Emits usage_cap_changed."""
        if mb is not None and (not _num(mb) or mb <= 0):
            raise ValueError("cap_mb must be a number > 0")
        now = int(self.clock.time())
        L = self._ledger_for(self._iccid_now(), now)
        prev = self._cap(L)
        L["cap"] = int(mb * MB) if mb is not None else None
        cap = self._cap(L)
        used = self._used(L)
        L["crossed"] = [t for t in L["crossed"] if cap and used * 100 >= t * cap]
        if not cap or used < cap:
            L["cap_at"] = None
        L["fc"] = 0
        self._ver += 1
        self.save(True)
        self.events.emit("usage_cap_changed", iccid=L["iccid"], cap_bytes=cap,
                         previous_cap_bytes=prev, until=L["end"])
        self._check(L, now)
        return self.status()

    def reset(self, iccid=None):
        """Zero a ledger (the active one by default). Emits usage_reset; False if no such ledger."""
        now = int(self.clock.time())
        L = self._find(iccid) if iccid is not None else (self.ledgers[0] if self.ledgers else None)
        if L is None:
            return False
        prev = (L["rx"], L["tx"], L["own"])
        L["rx"] = L["tx"] = L["own"] = 0
        L["crossed"] = []
        L["fc"] = 0
        L["cap_at"] = None
        L["cal"] = None
        L["cg"] = 0
        L["hb"] = []
        L["since"] = now
        L["gen"] += 1  # the reset wins over older, larger copies at the next start
        self._ver += 1
        self.save(True)
        self.events.emit("usage_reset", iccid=L["iccid"], previous_total_bytes=prev[0] + prev[1],
                         previous_rx_bytes=prev[0], previous_tx_bytes=prev[1], previous_own_bytes=prev[2])
        if L is self.ledgers[0]:
            self._fc = self._forecast(L, now)
        return True

    def ledger(self, iccid):
        """A copy of the ledger of one SIM (None if unknown): for tests and diagnostics."""
        L = self._find(iccid)
        return dict(L) if L is not None else None

    # --- status and the loop -----------------------------------------------------------------------
    def status(self):
        L = self.ledgers[0] if self.ledgers else None
        cap = self._cap(L)
        if L is None:
            s, e = self._bounds(int(self.clock.time()))
            return {"iccid": None, "rx_bytes": None, "tx_bytes": None, "total_bytes": None,
                    "cap_bytes": cap, "used_pct": None, "cycle_start": s, "cycle_end": e,
                    "forecast_exhaustion": None, "own_bytes": None, "remaining_bytes": None,
                    "carrier_used_bytes": None, "carrier_remaining_bytes": None, "carrier_at": None,
                    "forecast_rate_bps": None}
        tot = L["rx"] + L["tx"]
        c = L["cal"]
        return {"iccid": L["iccid"], "rx_bytes": L["rx"], "tx_bytes": L["tx"],
                "total_bytes": tot, "cap_bytes": cap, "used_pct": self._used_pct(L, cap),
                "cycle_start": L["start"], "cycle_end": L["end"], "forecast_exhaustion": self._fc,
                "own_bytes": L["own"], "remaining_bytes": (cap - tot if tot < cap else 0) if cap else None,
                "carrier_used_bytes": self._used(L) if c is not None and c[2] is not None else None,
                "carrier_remaining_bytes": self._carrier_rem(L, cap), "carrier_at": c[0] if c else None,
                "forecast_rate_bps": self._forecast_rate(L)}

    def _forecast_rate(self, L):
        """Bytes/s the forecast assumes (the observed burn, held to the budget limit), or None."""
        if forecast is None:
            return None
        r = forecast.rate(L, int(self.clock.time()), self.rate_limit)
        return int(r) if r else None

    async def read_counters(self):
        """(rx, tx, source, gen) from the configured source, or None when nothing is readable."""
        src = self.settings["source"]
        if src != "modem" and self.device:
            r = read_sys(self.device, self.settings["sys_root"])
            if r is not None:
                return r[0], r[1], "kernel:" + self.device, r[2]
            if self.acc.src == "kernel:" + self.device:
                # the device we counted on is gone for now (modem reboot): a gap, not a switch to
                # the modem counters; its re-created counter is counted in full when it returns
                return None
        if src != "kernel" and self.counters_source is not None:
            r = self.counters_source()
            if hasattr(r, "send"):  # a coroutine (async driver call)
                r = await r
            if r and r[0] is not None and r[1] is not None:
                return int(r[0]), int(r[1]), "modem", None
        return None

    async def tick(self):
        r = await self.read_counters()
        iccid = self._iccid_now()
        if r is None:
            self.sample(iccid, None, None, None)
        else:
            self.sample(iccid, r[0], r[1], r[2], r[3])

    async def run(self):
        while True:
            try:
                await self.tick()
            except Exception as e:  # a bad reading must never stop the agent
                _log_once(_log.warning, "sample failed: " + exc_text(e))
            await asyncio.sleep(self.settings["sample_s"])
