# carrier.py: calibrates the usage ledger from the carrier's own count (usage.calibration).
# The carrier is asked for the SIM's balance by USSD (AT+CUSD) or by an SMS exchange (a keyword to
# a number; the reply arrives as +CMTI and is read with AT+CMGR), a configured pattern takes the
# remaining or used allowance out of the reply, and the ledger (usage.py) keeps the answer: its
# estimate of what is used follows the carrier from then on (event usage_calibrated with the
# difference). Asked at most every interval_s (6 h) and only when the SIM carried traffic since
# the last attempt or the estimate is near a threshold. Loaded only when configured.
#
# Patterns: MicroPython's `re` has no {m,n} on some builds and no lookbehind, so a tiny language:
#   text       literal, compared without regard to case
#   spaces     any run of whitespace, or none
#   *          any text, as little as possible
#   {num}      a number: 7.44  2821  1,234.5  1.234,5 (one separator before exactly 3 digits is a
#              thousands separator: 1.500 = 1500; use \ to write * { } \ literally)
#   {unit}     B, KB/K/KO, MB/M/MO, GB/G/GO, TB, KiB, MiB, GiB (any case, a plural s allowed);
#              decimal like the cap (1 MB = 10^6 bytes), KiB/MiB/GiB binary
# searched anywhere in the reply (the first place it matches wins); exactly one {num}; without
# {unit} the number is in `unit` (default MB). Work per reply is bounded (MATCH_BUDGET steps).
from .. import log
from ..compat import asyncio, exc_text

LIT, WS, ANY, NUM, UNIT = 0, 1, 2, 3, 4
UNITS = {"b": 1, "k": 1000, "kb": 1000, "ko": 1000, "m": 10 ** 6, "mb": 10 ** 6, "mo": 10 ** 6,
         "g": 10 ** 9, "gb": 10 ** 9, "go": 10 ** 9, "t": 10 ** 12, "tb": 10 ** 12, "kib": 1024,
         "mib": 1048576, "gib": 1073741824}
SPACE = " \t\r\n"
MAX_PATTERN = 200
MAX_ANY = 4
MAX_TEXT = 640
MATCH_BUDGET = 40000
METHODS = ("ussd", "sms")
VALUES = ("remaining", "used")
DEFAULTS = {"method": None, "code": None, "number": None, "text": "", "sender": None, "pattern": None,
            "value": "remaining", "unit": "MB", "iccid_prefix": "", "interval_s": 21600, "near_pct": 5,
            "timeout_s": None}
TIMEOUTS = {"ussd": 30, "sms": 180}
MAX_ENTRIES = 4
CHECK_S = 60       # how often the calibrator looks whether a calibration is due
POLL_S = 0.5       # while waiting for the SMS reply
MAX_INBOX = 4      # +CMTI notifications kept while waiting
MAX_CANDIDATES = 3  # SMS read per attempt


_log = log.Logger("usage: calibration")


def clip(text, n=80):
    """One printable line of a reply for the log."""
    out = []
    for c in text[:n]:
        out.append(c if " " <= c < "\x7f" else " ")
    return "".join(out) + ("..." if len(text) > n else "")


# --- the pattern language ----------------------------------------------------------------------
def compile_pattern(p):
    """Token list of a pattern; ValueError with the reason when it is not valid."""
    if not isinstance(p, str) or not p.strip():
        raise ValueError("must be a non-empty string")
    if len(p) > MAX_PATTERN:
        raise ValueError("must be at most %d characters" % MAX_PATTERN)
    toks = []
    lit = ""
    i = 0
    n = len(p)
    while i <= n:
        c = p[i] if i < n else None
        special = c is None or c in SPACE or c in "*{}"
        if c == "\\" and i + 1 < n:
            lit += p[i + 1].lower()
            i += 2
            continue
        if not special:
            lit += c.lower()
            i += 1
            continue
        if lit:
            toks.append((LIT, lit))
            lit = ""
        if c is None:
            break
        if c in SPACE:
            if not toks or toks[-1][0] != WS:
                toks.append((WS, None))
        elif c == "*":
            if not toks or toks[-1][0] != ANY:
                toks.append((ANY, None))
        elif c == "}":
            raise ValueError("'}' without '{' (write \\} for a literal one)")
        else:
            j = p.find("}", i)
            name = p[i + 1:j] if j > i else ""
            if name not in ("num", "unit"):
                raise ValueError("unknown placeholder {%s}: use {num} or {unit} (\\{ for a literal {)" % name)
            toks.append((NUM if name == "num" else UNIT, None))
            i = j
        i += 1
    while toks and toks[0][0] in (ANY, WS):  # the search is unanchored: leading/trailing * mean nothing
        toks.pop(0)
    while toks and toks[-1][0] in (ANY, WS):
        toks.pop()
    kinds = [t[0] for t in toks]
    if kinds.count(NUM) != 1:
        raise ValueError("must contain {num} exactly once")
    if kinds.count(UNIT) > 1:
        raise ValueError("may contain {unit} once at most")
    if kinds.count(ANY) > MAX_ANY:
        raise ValueError("may contain * %d times at most" % MAX_ANY)
    return toks


def _m(toks, ti, low, pos, caps, budget):
    """End of a match of toks[ti:] at pos, or -1. caps: [number text, unit]."""
    budget[0] -= 1
    if budget[0] < 0:
        return -1
    if ti == len(toks):
        return pos
    kind, lit = toks[ti]
    n = len(low)
    if kind == LIT:
        if low.startswith(lit, pos):
            return _m(toks, ti + 1, low, pos + len(lit), caps, budget)
        return -1
    j = pos
    if kind == WS:
        while j < n and low[j] in SPACE:
            j += 1
        return _m(toks, ti + 1, low, j, caps, budget)
    if kind == NUM:
        if pos >= n or not low[pos].isdigit():
            return -1
        while j < n and (low[j].isdigit() or low[j] in ".,"):
            j += 1
        while low[j - 1] in ".,":
            j -= 1
        caps[0] = low[pos:j]
        return _m(toks, ti + 1, low, j, caps, budget)
    if kind == UNIT:
        while j < n and low[j].isalpha():
            j += 1
        w = low[pos:j]
        if w not in UNITS:
            if len(w) > 2 and w[-1] == "s" and w[:-1] in UNITS:
                w = w[:-1]  # "GBs"
            else:
                return -1
        caps[1] = w
        return _m(toks, ti + 1, low, j, caps, budget)
    while j <= n:  # ANY: as little as possible
        e = _m(toks, ti + 1, low, j, caps, budget)
        if e >= 0 or budget[0] < 0:
            return e
        j += 1
    return -1


def search(toks, text):
    """(number text, unit or None) where the pattern first matches the text, or None."""
    low = text[:MAX_TEXT].lower()
    caps = [None, None]
    budget = [MATCH_BUDGET]
    first = toks[0][1] if toks[0][0] == LIT else None
    pos = 0
    while pos <= len(low):
        if first is not None:
            pos = low.find(first, pos)
            if pos < 0:
                return None
        if _m(toks, 0, low, pos, caps, budget) >= 0:
            return caps[0], caps[1]
        if budget[0] < 0:
            return None
        pos += 1
    return None


def parse_num(s):
    """'7.44' -> 7.44, '1,234.5' -> 1234.5, '1.234,5' -> 1234.5, '1,5' -> 1.5, '1.500' -> 1500.0."""
    dots, commas = s.count("."), s.count(",")
    dec = None
    if dots and commas:
        dec = "." if s.rfind(".") > s.rfind(",") else ","
    elif dots + commas == 1:
        sep = "." if dots else ","
        if len(s) - s.find(sep) - 1 != 3:
            dec = sep
    whole, frac = (s.rsplit(dec, 1) if dec else (s, ""))
    whole = whole.replace(".", "").replace(",", "")
    if not whole.isdigit() or (frac and not frac.isdigit()):
        return None
    return float(whole + "." + (frac or "0"))


def extract(toks, text, unit="MB"):
    """Bytes the pattern finds in the reply, or None when it does not match."""
    r = search(toks, text)
    if r is None:
        return None
    v = parse_num(r[0])
    if v is None:
        return None
    return int(v * UNITS[(r[1] or unit).lower()] + 0.5)


# --- the ledger's side (usage.UsageTracker t; here so that it is loaded only when configured) --------
CAL_GROWTH = 10 ** 6  # a calibration is due only after 1 MB of traffic since the last one (or near a threshold)
DAY = 86400


def due(t, interval_s, near_pct):
    """True when the active SIM may be asked for its balance now: interval_s since the last attempt
    (persisted: a restart loop cannot ask more often), and either 1 MB of traffic since then or the
    estimate within near_pct of the next threshold (the cap included)."""
    L = t.ledgers[0] if t.ledgers else None
    if L is None:
        return False
    now = int(t.clock.time())
    ct = L["ct"]
    if ct is not None and ct - DAY <= now < ct + interval_s:
        return False  # (a clock stepped back more than a day does not block it forever)
    if L["rx"] + L["tx"] - L["cg"] >= CAL_GROWTH:
        return True
    cap = t._cap(L)
    if not cap:
        return False
    pct = t._used(L) * 100 / cap
    for th in t.settings["thresholds"]:
        if th not in L["crossed"] and pct >= th - near_pct:
            return True
    return False


def started(t):
    """Record the attempt before the modem is asked (RAM and flash)."""
    L = t.ledgers[0] if t.ledgers else None
    if L is None:
        return
    L["ct"] = int(t.clock.time())
    L["cg"] = L["rx"] + L["tx"]
    t._ver += 1
    t.save(True)


def correct(t, value, nbytes, method):
    """The carrier answered: `nbytes` remaining ("remaining") or used ("used") of the allowance.
    The ledger's estimate of what is used (thresholds, forecast, used_pct) follows the carrier from
    now on; emits usage_calibrated with the difference. Returns the event (None: no ledger)."""
    now = int(t.clock.time())
    L = t.ledgers[0] if t.ledgers else None
    if L is None or not isinstance(nbytes, int) or nbytes < 0 or value not in VALUES:
        return None
    cap = t._cap(L)
    tot = L["rx"] + L["tx"]
    before = t._used(L)
    before_rem = t._carrier_rem(L, cap)
    if value == "used":
        used, rem = nbytes, None
    else:
        used, rem = (cap - nbytes if cap else None), nbytes
    L["cal"] = [now, tot, used, rem, method]
    if used is not None:
        diff = used - before
    elif before_rem is not None:
        diff = before_rem - rem  # no cap: compared with the previous answer carried forward
    else:
        diff = None
    t._ver += 1
    t.save(True)
    ev = t.events.emit("usage_calibrated", iccid=L["iccid"], method=method, value=value, carrier_bytes=nbytes,
                       carrier_used_bytes=used if used is None or used > 0 else 0,
                       carrier_remaining_bytes=t._carrier_rem(L, cap), estimate_used_bytes=before,
                       diff_bytes=diff, total_bytes=tot, cap_bytes=cap, used_pct=t._used_pct(L, cap))
    t._check(L, now)
    return ev


# --- config ---------------------------------------------------------------------------------------
def _num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _entry_errors(e):
    from ..modem.sms import sms_number_ok
    bad = []
    if not isinstance(e, dict):
        return [("", "must be an object")]
    for k in e:
        if k not in DEFAULTS:
            bad.append(("." + k, "unknown key (known: %s)" % ", ".join(sorted(DEFAULTS))))
    m = e.get("method")
    if m not in METHODS:
        bad.append((".method", "must be ussd or sms"))
    if m == "ussd":
        c = e.get("code")
        ok = isinstance(c, str) and 2 <= len(c) <= 40 and c.endswith("#")
        for ch in (c if ok else ""):
            ok = ok and ch in "0123456789*#+"
        if not ok:  # (an unquoted '#' starts a comment in UCI: quote the code there)
            bad.append((".code", "must be a USSD code of 0-9 * # + ending in # (2-40 characters), e.g. *123#"))
    if m == "sms":
        if not sms_number_ok(e.get("number")):
            bad.append((".number", "must be a phone number or short code (3-20 digits, optional +)"))
        t = e.get("text")
        if t is not None and (not isinstance(t, str) or len(t) > 160):
            bad.append((".text", "must be a string of at most 160 characters"))
        s = e.get("sender")
        if s is not None and (not isinstance(s, str) or not 1 <= len(s) <= 20):
            bad.append((".sender", "must be a string of 1-20 characters"))
    try:
        compile_pattern(e.get("pattern"))
    except ValueError as x:
        bad.append((".pattern", str(x)))
    if e.get("value") is not None and e.get("value") not in VALUES:
        bad.append((".value", "must be remaining or used"))
    u = e.get("unit")
    if u is not None and (not isinstance(u, str) or u.lower() not in UNITS):
        bad.append((".unit", "must be one of B KB MB GB TB KiB MiB GiB"))
    p = e.get("iccid_prefix")
    if p is not None and (not isinstance(p, str) or len(p) > 20 or (p and not p.isdigit())):
        bad.append((".iccid_prefix", "must be up to 20 digits (empty: any SIM)"))
    for k, lo, hi in (("interval_s", 1, 2592000), ("near_pct", 0, 100), ("timeout_s", 1, 600)):
        v = e.get(k)
        if v is not None and (not _num(v) or v < lo or v > hi):
            bad.append(("." + k, "must be a number between %s and %s" % (lo, hi)))
    return bad


def check(entries):
    """[(key suffix, reason)] for usage.calibration (a list of 1-4 objects); empty = valid."""
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_ENTRIES:
        return [("", "must be a list of 1-%d objects" % MAX_ENTRIES)]
    bad = []
    for i, e in enumerate(entries):
        for k, why in _entry_errors(e):
            bad.append(("[%d]%s" % (i, k), why))
    return bad


def prepare(entries):
    """Valid entries with their defaults and compiled patterns (invalid ones are left out)."""
    out = []
    for e in entries or ():
        if _entry_errors(e):
            continue
        d = {}
        for k in DEFAULTS:
            v = e.get(k)
            d[k] = DEFAULTS[k] if v is None else v
        if d["timeout_s"] is None:
            d["timeout_s"] = TIMEOUTS[d["method"]]
        d["toks"] = compile_pattern(d["pattern"])
        out.append(d)
    return out


# --- the calibrator ---------------------------------------------------------------------------------
class Calibrator:
    """Asks the carrier through the modem manager's AT engine (never blocks the loop) and hands the
    answer to the usage tracker. run() never raises."""

    def __init__(self, entries, clock, modem, usage):
        self.entries = prepare(entries)
        self.clock = clock
        self.modem = modem
        self.usage = usage
        self._inbox = []
        self._waiting = False
        self.attempts = 0
        modem.on_urc(self._on_urc)
        self.check_s = CHECK_S
        for e in self.entries:
            if e["interval_s"] < self.check_s:
                self.check_s = e["interval_s"]

    def entry_for(self, iccid):
        """The first entry for this SIM (iccid_prefix empty: any SIM), or None."""
        if not iccid:
            return None
        for e in self.entries:
            if iccid.startswith(e["iccid_prefix"]):
                return e
        return None

    def _on_urc(self, line):
        if self._waiting and line.startswith("+CMTI:") and len(self._inbox) < MAX_INBOX:
            f = line[6:].split(",")
            mem = f[0].strip().strip('"')
            try:
                idx = int(f[1].strip())
            except (IndexError, ValueError):
                return
            self._inbox.append((mem if mem.isalpha() and len(mem) <= 4 else "", idx))

    async def run(self):
        while True:
            await asyncio.sleep(self.check_s)
            try:
                await self.step()
            except Exception as e:  # a modem gone mid-exchange, a parser bug: log, go on
                _log.warning("failed: %s", exc_text(e))

    async def step(self):
        """One look: ask the carrier if due. Returns the usage_calibrated event, False when the
        carrier answered but nothing matched, None when nothing was asked or nobody answered."""
        m = self.modem
        e = self.entry_for(m.iccid)
        if e is None or m.state != "ready" or m.driver is None or not m.driver.network.get("registered"):
            return None
        if not due(self.usage, e["interval_s"], e["near_pct"]):
            return None
        started(self.usage)
        self.attempts += 1
        if e["method"] == "ussd":
            return await self._ussd(e)
        return await self._sms(e)

    def _apply(self, e, text):
        n = extract(e["toks"], text, e["unit"])
        if n is None:
            _log.warning("%s reply does not match the pattern, ledger unchanged: %s", e["method"], clip(text))
            return False
        ev = correct(self.usage, e["value"], n, e["method"])
        if ev is not None:
            _log.info("carrier: %d bytes %s, %s bytes off the estimate", n, e["value"], ev.get("diff_bytes"))
        return ev

    async def _ussd(self, e):
        from ..modem import messages
        r = await messages.ussd(self.modem, e["code"], e["timeout_s"])
        if r["text"] is None:
            _log.warning("USSD %s: %s", e["code"], r["error"])
            return None
        return self._apply(e, r["text"])

    async def _sms(self, e):
        from ..modem import messages
        m = self.modem
        self._inbox = []
        self._waiting = True
        try:
            await m.command("AT+CMGF=1")
            await m.command("AT+CNMI=2,1,0,0,0")  # new messages announced as +CMTI
            r = await m.send_sms(e["number"], e["text"])
            if not r["ok"]:
                _log.warning("SMS to %s not sent: %s", e["number"], r["error"])
                return None
            end = self.clock.monotonic() + e["timeout_s"]
            read = 0
            while read < MAX_CANDIDATES and self.clock.monotonic() < end:
                if not self._inbox:
                    await asyncio.sleep(POLL_S)
                    continue
                mem, idx = self._inbox.pop(0)
                msg = await messages.read_sms(m, mem, idx)
                if msg is None:
                    continue
                sender, text = msg
                if e["sender"] and e["sender"].lower() not in (sender or "").lower():
                    _log.info("SMS %d from %s is not the carrier's reply: left on the SIM", idx, clip(sender or "?", 20))
                    continue
                read += 1
                await messages.delete_sms(m, idx)  # replies would fill the SIM's storage
                ev = self._apply(e, text)
                if ev:
                    return ev
            if not read:
                _log.warning("no SMS reply from %s within %d s", e["number"], e["timeout_s"])
            return False if read else None
        finally:
            self._waiting = False
