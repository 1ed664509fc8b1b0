# modem/engine.py: the AT engine. One command in flight; lines assembled across split reads; echo, URCs
# and final results told apart; per-command timeouts; the SMS prompt; modem reboot detection.
# The line handling (feed/_line) is pure and synchronous so it can be tested without a port.
# It knows V.250, 27.007 and 27.005 only: what a vendor adds (its URCs, bare replies, slow commands,
# boot marks, odd reply prefixes) comes from the vendor driver's self-description (use(driver);
# see vendors/generic.py), so a new vendor never touches this file.
from .. import log
from ..compat import Wakeable, asyncio, exc_text

MAX_LINE = 512
DEFAULT_TIMEOUT = 5.0
# standard commands that take long on real modems (at-modems.md §2)
SLOW = (("AT+COPS=?", 180.0), ("AT+CMGS", 60.0), ("AT+CFUN", 30.0), ("AT+CUSD=1,", 30.0))
FINALS = ("OK", "ERROR", "NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE", "COMMAND NOT SUPPORT", "ABORTED")
# standard commands whose reply lines carry no "+XXX:" prefix
BARE = ("ATI", "AT+CGMI", "AT+CGMM", "AT+CGMR", "AT+CGSN", "AT+GSN", "AT+CIMI", "AT+GMI", "AT+GMM", "AT+GMR")
# standard lines that are unsolicited even while a bare-reply command is in flight
URC_STARTS = ("+CPIN:", "+CGEV:", "+CFUN:", "+CREG:", "+CGREG:", "+CEREG:", "+C5GREG:", "+CMTI:", "RING",
              "+CRING:", "+CTZV:", "+CTZE:", "+NITZ", "+CUSD:")

_log = log.Logger("modem")


class Response:
    __slots__ = ("final", "lines", "code", "text")

    def __init__(self, final, lines, code=None, text=None):
        self.final = final
        self.lines = lines
        self.code = code
        self.text = text

    @property
    def ok(self):
        return self.final == "OK"

    def __repr__(self):
        return "Response(%s, %r, code=%r, text=%r)" % (self.final, self.lines, self.code, self.text)


def expected_prefix(cmd, bare=BARE, other=()):
    """'AT+CSQ' -> '+CSQ:', 'AT+CREG?' -> '+CREG:', 'AT^HCSQ?' -> '^HCSQ:', bare commands -> ''.
    other: (name, prefix) pairs of commands answered under another prefix ('+CICCID', '+ICCID:')."""
    u = cmd.upper()
    base = u.split("=")[0].rstrip("?")
    if base in bare or u in bare:
        return ""
    if len(base) > 2 and base[2] in "+^#$*!%":
        name = base[2:]
        for n, prefix in other:
            if n == name:
                return prefix
        return name + ":"
    return ""


def timeout_for(cmd, slow=SLOW):
    u = cmd.upper()
    for start, seconds in slow:
        if u.startswith(start):
            return seconds
    return DEFAULT_TIMEOUT


def _clean(raw):
    """Printable ASCII only: UART garbage at power-up must never raise a UnicodeError."""
    for b in raw:
        if not (32 <= b < 127 or b == 9):
            break
    else:  # the usual case: decode as is, no filtered copy
        return raw.decode().strip()
    out = bytearray()
    for b in raw:
        if 32 <= b < 127 or b == 9:
            out.append(b)
    return out.decode().strip()


def _starts_at(line):
    """Line begins with AT in any case (an echo) — without upper-casing every reply line."""
    return len(line) > 1 and line[0] in "Aa" and line[1] in "Tt"


def parse_final(line):
    """(final, code, text) if line is a final result code, else None."""
    if line in FINALS:
        return ("OK" if line == "OK" else "ERROR"), None, (None if line in ("OK", "ERROR") else line)
    for tag, kind in (("+CME ERROR", "CME_ERROR"), ("+CMS ERROR", "CMS_ERROR")):
        if line.startswith(tag):
            rest = line[len(tag):].lstrip(":").strip()
            if rest.isdigit():
                return kind, int(rest), None
            return kind, None, rest or None
    return None


def _brief(r):
    """'OK: +CSQ: 20,99', 'CME_ERROR 10' (debug lines)."""
    head = r.final if r.code is None and r.text is None else "%s %s" % (r.final, r.code if r.code is not None else r.text)
    return head + (": " + " | ".join(r.lines[:4]) if r.lines else "")


class _Pending:
    """The command in flight. The read side sets resp (final result) or prompted (SMS "> ")."""
    __slots__ = ("cmd", "ucmd", "prefix", "lines", "resp", "prompted", "want_prompt")

    def __init__(self, cmd, prefix, want_prompt=False):
        self.cmd = cmd
        self.ucmd = cmd.upper()
        self.prefix = prefix
        self.lines = []
        self.resp = None
        self.prompted = False
        self.want_prompt = want_prompt


class ATEngine:
    MAX_REPLY_LINES = 64

    def __init__(self, port, clock, driver=None):
        self.port = port
        self.clock = clock
        self._buf = bytearray()
        self._lock = asyncio.Lock()
        self._wake = Wakeable()  # the command task waits here for its final result or prompt
        self._pending = None     # the command in flight (_Pending) or None
        self._urc_subs = []
        self._reboot_subs = []
        self.echo_off = False   # set after ATE0 succeeded: echo seen again means the modem reset
        self.urcs = 0
        self.garbage = 0
        self.last_rx = None
        self.use(driver)

    def use(self, driver):
        """Speak the vendor's dialect on top of the standard one: driver is a driver class (or
        instance) describing itself (URC_PREFIXES, BARE_COMMANDS, SLOW_COMMANDS, BOOT_MARKS,
        REPLY_PREFIXES; vendors/generic.py), or None for V.250/27.007 only."""
        self.urc_starts = URC_STARTS + getattr(driver, "URC_PREFIXES", ())
        self.bare = BARE + getattr(driver, "BARE_COMMANDS", ())
        self.slow = getattr(driver, "SLOW_COMMANDS", ()) + SLOW
        self.boot_marks = getattr(driver, "BOOT_MARKS", ())
        self.reply_prefixes = getattr(driver, "REPLY_PREFIXES", ())

    def prefix_for(self, cmd):
        return expected_prefix(cmd, self.bare, self.reply_prefixes)

    def timeout_for(self, cmd):
        return timeout_for(cmd, self.slow)

    def begin(self, cmd, prompt=False):
        """Make cmd the command in flight without sending it (for feed() tests and benchmarks)."""
        self._pending = _Pending(cmd, self.prefix_for(cmd), prompt)
        return self._pending

    # --- subscriptions ---------------------------------------------------------------------------
    def on_urc(self, fn):
        self._urc_subs.append(fn)

    def on_reboot(self, fn):
        self._reboot_subs.append(fn)

    def _emit_urc(self, line):
        self.urcs += 1
        if log.level >= log.DEBUG:
            _log.debug("URC %s", line)
        for fn in self._urc_subs:
            try:
                fn(line)
            except Exception as e:
                _log.error("URC handler failed: %s", exc_text(e))
        for mark in self.boot_marks:  # the vendor's "just booted" line (Quectel RDY, Huawei ^SYSSTART)
            if line.startswith(mark):
                self._reboot()
                break

    def _reboot(self):
        self.echo_off = False
        for fn in self._reboot_subs:
            try:
                fn()
            except Exception as e:
                _log.error("reboot handler failed: %s", exc_text(e))

    # --- pure line handling ---------------------------------------------------------------------
    def feed(self, data):
        """Consume raw bytes from the port (any split); dispatches complete lines."""
        self.last_rx = self.clock.monotonic()
        buf = self._buf  # one line buffer for the engine's life: cleared, never reallocated
        for b in data:
            if b == 13 or b == 10:
                if buf:
                    line = _clean(buf)
                    buf[:] = b""
                    self._line(line)
                continue
            buf.append(b)
            if len(buf) > MAX_LINE:
                self.garbage += 1
                buf[:] = b""
        # the SMS prompt "> " has no line ending
        cur = self._pending
        if cur is not None and cur.want_prompt and buf and bytes(buf).strip() == b">":
            buf[:] = b""
            cur.prompted = True
            self._wake.wake()

    def _line(self, line):
        if not line:
            return
        cur = self._pending
        if cur is not None:
            c = cur.ucmd
            # echo, possibly doubled ("ATE0ATE0") or with the SMS text after it
            if _starts_at(line):
                u = line.upper()
                if u == c or (u.startswith(c) and u.replace(c, "") == ""):
                    if self.echo_off and not c.startswith("ATE"):
                        self._reboot()  # echo came back: the modem restarted behind our back
                    return
            fin = parse_final(line)
            if fin is not None:
                cur.resp = Response(fin[0], cur.lines, fin[1], fin[2])
                self._pending = None
                self._wake.wake()
                return
            if cur.prefix:
                if line.startswith(cur.prefix):
                    self._reply(cur, line)
                    return
            elif not self._is_urc(line):
                self._reply(cur, line)
                return
        elif parse_final(line) is not None:
            return  # stray final result (e.g. after a timed-out command): nothing to attribute it to
        if _starts_at(line):
            if self.echo_off:
                self._reboot()
            return  # stray echo
        self._emit_urc(line)

    def _reply(self, cur, line):
        if len(cur.lines) < self.MAX_REPLY_LINES:
            cur.lines.append(line)

    def _is_urc(self, line):
        for start in self.urc_starts:
            if line.startswith(start):
                return True
        return False

    # --- I/O --------------------------------------------------------------------------------------
    async def run(self):
        """Read loop; returns only by raising OSError when the port vanished."""
        while True:
            data = await self.port.read()
            self.feed(data)

    # plain functions handing back the exchange coroutine: one coroutine object per command, not two
    def command(self, cmd, timeout=None, prefix=None):
        return self._exchange(cmd, timeout, prefix, None)

    def command_with_prompt(self, cmd, payload, timeout=None):
        """For AT+CMGS: send cmd, wait for '> ', send payload (ending in Ctrl-Z), wait for the result."""
        return self._exchange(cmd, timeout, None, payload)

    async def _exchange(self, cmd, timeout, prefix, payload):
        if timeout is None:
            timeout = self.timeout_for(cmd)
        cur = _Pending(cmd, self.prefix_for(cmd) if prefix is None else prefix, payload is not None)
        await self._lock.acquire()  # not `async with`: its enter/exit coroutines cost per command
        self._pending = cur
        try:
            await self.port.write(cmd.encode() + b"\r")
            if payload is not None:
                await self._await(cur, min(timeout, 10), True)
                if not cur.prompted:
                    if cur.resp is not None:
                        return cur.resp
                    await self.port.write(b"\x1b")  # ESC: abandon the message
                    return Response("TIMEOUT", cur.lines, None, "no SMS prompt")
                await self.port.write(payload)
            await self._await(cur, timeout, False)
            if cur.resp is None:
                if log.level >= log.DEBUG:
                    _log.debug("%s: no final result within %s s", cmd, timeout)
                return Response("TIMEOUT", cur.lines, None, None)
            if cur.ucmd.startswith("ATE0") and cur.resp.ok:
                self.echo_off = True
            if log.level >= log.DEBUG:
                _log.debug("%s -> %s", cmd, _brief(cur.resp))
            return cur.resp
        finally:
            if self._pending is cur:
                self._pending = None
            self._lock.release()

    async def _await(self, cur, timeout, prompt):
        """Until cur has its final result (or, with prompt, the SMS prompt) or timeout seconds pass."""
        end = self.clock.monotonic() + timeout
        while cur.resp is None and not (prompt and cur.prompted):
            left = end - self.clock.monotonic()
            if left <= 0 or not await self._wake.wait(left):
                return  # timed out (a wake only ends the wait early when the condition holds)
