# modem/manager.py: keeps the modem answered and its status fresh: open the port (with backoff),
# detect the vendor, initialise, identify, poll; re-initialise after a modem reboot; reopen a port
# that vanished (USB re-enumeration). Never raises out of run().
from ..compat import asyncio, exc_text
from .. import serialport
from . import detect_vendor, load_driver
from .generic import GenericDriver

BACKOFF_MAX_S = 60


class ModemAbsent(Exception):
    pass


SMS_MAX = 160


def sms_number_ok(number):
    if not isinstance(number, str) or not 3 <= len(number) <= 20:
        return False
    body = number[1:] if number.startswith("+") else number
    return body.isdigit()


def sms_text(text):
    """One single SMS of GSM-safe text: printable ASCII only (a CR would open a new prompt), and
    over 160 characters shortened visibly with '...' instead of split silently."""
    out = []
    for c in str(text):
        o = ord(c)
        if c in "\r\n\t":
            out.append(" ")
        elif 32 <= o < 127 and c not in "[]{}\\^~|`":  # GSM-7 escape characters cost two septets
            out.append(c)
        else:
            out.append("?")
    s = "".join(out).strip()
    if len(s) > SMS_MAX:
        s = s[:SMS_MAX - 3] + "..."
    return s


class ModemManager:
    def __init__(self, cfg, clock, events, open_port=None, power_toggle=None, reboot=None):
        self.cfg = cfg
        self.power_toggle = power_toggle  # board hook: callable (sync or async) that power-cycles the modem
        self.reboot_router = reboot       # callable that reboots the router (recovery.reboot: true)
        self.recovery = None
        self.clock = clock
        self.events = events
        self.open_port = open_port or serialport.open_port
        self.port = None
        self.at = None
        self.driver = None
        self.state = "absent"
        self._reader = None
        self._rebooted = False
        self._absent_reported = False
        self._last_reg = None
        self._last_iccid = None
        self._urc_subs = []
        self.polls = 0

    # --- public ----------------------------------------------------------------------------------
    @property
    def iccid(self):
        return self.driver.sim.get("iccid") if self.driver else None

    def counters(self):
        c = self.driver.modem.get("counters") if self.driver else None
        if c and c.get("rx_bytes") is not None and c.get("tx_bytes") is not None:
            return c["rx_bytes"], c["tx_bytes"]
        return None

    def status(self):
        if self.driver is None:
            st = GenericDriver(None, self.clock).status()
            st["modem"]["vendor"] = None
        else:
            st = self.driver.status()
        st["modem"]["state"] = self.state
        return st

    async def send_sms(self, number, text):
        """Text-mode SMS (27.005): AT+CMGF=1, AT+CMGS="<da>", prompt, text, Ctrl-Z. Returns
        {"ok", "mr", "error", "text"}; never raises for modem-side failures."""
        if not sms_number_ok(number):
            return {"ok": False, "mr": None, "error": "invalid number %r" % (number,), "text": None}
        if self.at is None:
            return {"ok": False, "mr": None, "error": "modem not available", "text": None}
        body = sms_text(text)
        r = await self.at.command("AT+CMGF=1")
        if not r.ok:
            return {"ok": False, "mr": None, "error": "text mode refused: %s" % (r.text or r.code or r.final), "text": body}
        await self.at.command('AT+CSCS="GSM"')
        r = await self.at.command_with_prompt('AT+CMGS="%s"' % number, body.encode() + b"\x1a")
        mr = None
        for line in r.lines:
            if line.startswith("+CMGS:"):
                try:
                    mr = int(line[6:].strip())
                except ValueError:
                    pass
        if r.ok:
            return {"ok": True, "mr": mr, "error": None, "text": body}
        return {"ok": False, "mr": None, "error": "%s %s" % (r.final, r.code if r.code is not None else (r.text or "")),
                "text": body}

    async def reset(self):
        """Vendor reset of the modem (remote command / recovery ladder); the reboot is then detected
        and the modem re-initialised."""
        if self.at is None:
            return {"ok": False, "error": "modem not available"}
        cmd = getattr(self.driver, "RESET_COMMAND", "AT+CFUN=1,1")
        r = await self.at.command(cmd, 15)
        self.events.emit("modem_recovery", step="reset", command=cmd, ok=r.ok)
        self._rebooted = True
        return {"ok": r.ok, "command": cmd}

    async def command(self, cmd, timeout=None, prefix=None):
        if self.at is None:
            raise ModemAbsent("modem port %s is not open" % self.cfg["modem"]["port"])
        return await self.at.command(cmd, timeout, prefix)

    def on_urc(self, fn):
        """fn(line) for every unsolicited line, across port reopens (USSD answers, +CMTI)."""
        self._urc_subs.append(fn)

    def off_urc(self, fn):
        if fn in self._urc_subs:
            self._urc_subs.remove(fn)

    # --- one cycle (--once) ------------------------------------------------------------------------
    async def once(self):
        try:
            await self._open()
        except OSError as e:
            self.state = "absent"
            raise ModemAbsent(str(e.args[1]) if len(e.args) > 1 else str(e))
        try:
            await self._setup()
            if self.state == "ready":
                await self.driver.poll()
                self._note_changes()
        finally:
            self._close()

    # --- daemon ------------------------------------------------------------------------------------
    async def run(self):
        delay = 1
        while True:
            try:
                await self._open()
            except OSError as e:
                self.state = "absent"
                if not self._absent_reported:
                    self._absent_reported = True
                    self.events.emit("modem_absent", port=self.cfg["modem"]["port"], error=exc_text(e))
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX_S)
                continue
            delay = 1
            self._absent_reported = False
            try:
                await self._serve()
            except OSError as e:
                self.events.emit("modem_absent", port=self.cfg["modem"]["port"], error=exc_text(e))
                self._absent_reported = True
            except Exception as e:  # a bug in a parser must not kill the agent: log, reopen
                print("wanwatch: modem loop error:", exc_text(e))
            self._close()
            self.state = "absent"
            await asyncio.sleep(1)

    def _recovery(self):
        if self.recovery is None:
            from .recovery import Recovery
            sec = dict(self.cfg.get("recovery") or {})
            if self.reboot_router is None:
                sec["reboot"] = False
            sd = self.cfg.get("state_dir")
            path = None
            if sd:
                from .. import store
                try:
                    store.makedirs(sd)
                    path = sd + "/recovery.json"
                except OSError:
                    path = None
            self.recovery = Recovery(sec, self.clock, path, has_power=self.power_toggle is not None)
        return self.recovery

    async def _recover(self):
        """One observation for the recovery ladder; performs the step it decides. Never raises."""
        try:
            answered = self.state == "ready"
            registered = bool(self.driver and self.driver.network.get("registered"))
            d = self._recovery().observe(answered, registered)
            if d is None:
                return
            step, reason = d
            if self.events is not None:
                self.events.emit("modem_recovery", step=step, reason=reason)
            at = self.at
            if step == "resync" and at is not None:
                await at.command("AT", 1.0)
                await at.command("ATE0", 1.0)
            elif step == "reattach" and at is not None:
                await at.command("AT+CFUN=0", 30)
                await at.command("AT+CFUN=1", 30)
            elif step == "reset" and at is not None:
                await at.command(getattr(self.driver, "RESET_COMMAND", "AT+CFUN=1,1"), 15)
                self._rebooted = True
            elif step == "power" and self.power_toggle is not None:
                r = self.power_toggle()
                if r is not None and hasattr(r, "send"):
                    await r
                self._rebooted = True
            elif step == "reboot" and self.reboot_router is not None:
                r = self.reboot_router()
                if r is not None and hasattr(r, "send"):
                    await r
        except Exception as e:
            print("wanwatch: recovery step failed:", exc_text(e))

    async def _serve(self):
        await self._setup()
        poll_s = self.cfg["modem"]["poll_s"]
        while True:
            if self._reader is not None and self._reader.done():
                self._reader.result()  # re-raises the port's OSError
            if self._rebooted:
                self._rebooted = False
                self.events.emit("modem_reboot")
                await self._setup()
            t0 = self.clock.monotonic()
            if self.state == "ready":
                await self.driver.poll()
                self.polls += 1
                if self.at is not None and (self.at.last_rx is None or self.at.last_rx < t0):
                    self.state = "unresponsive"  # a whole poll without one byte back: hung
                    self.driver.modem["state"] = "unresponsive"
                else:
                    self._note_changes()
            else:
                await self._setup()
            await self._recover()
            await self._sleep_watching(poll_s if self.state == "ready" else 5)

    async def _sleep_watching(self, seconds):
        """Sleep, but wake early when the port died or the modem rebooted."""
        t = 0.0
        while t < seconds:
            if self._rebooted or (self._reader is not None and self._reader.done()):
                return
            await asyncio.sleep(0.5)
            t += 0.5

    # --- internals -----------------------------------------------------------------------------
    async def _open(self):
        from ..at import ATEngine
        m = self.cfg["modem"]
        self.port = await self.open_port(m["port"], m["baud"])
        self.at = ATEngine(self.port, self.clock)
        self.at.on_reboot(self._on_reboot)
        self.at.on_urc(self._on_urc)
        self._reader = asyncio.create_task(self.at.run())

    def _close(self):
        if self._reader is not None:
            self._reader.cancel()
            self._reader = None
        if self.port is not None:
            self.port.close()
            self.port = None
        self.at = None

    def _on_reboot(self):
        self._rebooted = True

    def _on_urc(self, line):
        # registration/SIM URCs only trigger the next poll (polling is the source of truth); the
        # carrier calibration listens for its USSD answer and SMS notifications
        for fn in self._urc_subs:
            try:
                fn(line)
            except Exception as e:
                print("wanwatch: URC subscriber failed:", exc_text(e))

    async def _setup(self):
        probe = GenericDriver(self.at, self.clock)
        if not await probe.init():
            self.state = "unresponsive"
            return
        vendor = self.cfg["modem"]["vendor"]
        manu = None
        if vendor == "auto":
            r = await self.at.command("AT+CGMI")
            manu = " ".join(r.lines) if r.ok else ""
            if not manu or detect_vendor(manu) == "generic":
                r = await self.at.command("ATI")
                manu = (manu or "") + " " + (" ".join(r.lines) if r.ok else "")
            vendor = detect_vendor(manu)
        old = self.driver
        self.driver = load_driver(vendor)(self.at, self.clock)
        if old is not None:  # keep what we knew; identify refreshes it
            self.driver.sim["iccid"] = None
        await self.driver.init()
        await self.driver.identify()
        self.state = "ready"
        if self.events is not None and (old is None or old.name != self.driver.name):
            self.events.emit("modem_ready", vendor=self.driver.name, model=self.driver.modem.get("model"))

    def _note_changes(self):
        iccid = self.iccid
        if iccid != self._last_iccid:
            if self._last_iccid is not None or iccid is None:
                self.events.emit("sim_changed", old=self._last_iccid, new=iccid)
            self._last_iccid = iccid
        reg = self.driver.network.get("registration")
        if reg != self._last_reg:
            if self._last_reg is not None:
                self.events.emit("registration", old=self._last_reg, new=reg)
            self._last_reg = reg
