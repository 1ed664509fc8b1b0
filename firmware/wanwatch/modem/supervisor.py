# modem/supervisor.py: ModemSupervisor keeps the modem answered and its status fresh: open the port
# (with backoff), detect the vendor, initialise, identify, poll; re-initialise after a modem reboot;
# reopen a port that vanished (USB re-enumeration); walk the recovery ladder. Never raises out of
# run(). Named so it does not clash with freedesktop's ModemManager, which runs on the same routers.
# Vendor specifics (reset and recovery commands, the engine's dialect) come from the driver.
from .. import log
from ..compat import asyncio, exc_text
from . import serialport, vendors
from .engine import ATEngine
from .sms import send_sms
from .vendors.generic import GenericDriver

BACKOFF_MAX_S = 60

_log = log.Logger("modem")


class ModemAbsent(Exception):
    pass


class ModemSupervisor:
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
        """Text-mode SMS (modem/sms.py); returns {"ok", "mr", "error", "text"}, never raises for
        modem-side failures."""
        return await send_sms(self.at, number, text)

    async def reset(self):
        """Vendor reset of the modem (remote command / recovery ladder); the reboot is then detected
        and the modem re-initialised."""
        if self.at is None:
            return {"ok": False, "error": "modem not available"}
        ok, sent = await self._step("reset")
        self.events.emit("modem_recovery", step="reset", command=sent, ok=ok)
        return {"ok": ok, "command": sent}

    async def _step(self, step):
        """Send the driver's commands for a recovery step -> (all answered OK, the last command sent)."""
        ok, sent = True, None
        for command, timeout in (self.driver or GenericDriver).recovery_commands(step):
            sent = command
            r = await self.at.command(command, timeout)
            ok = ok and r.ok
        if step == "reset":
            self._rebooted = True
        return ok, sent

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
                _log.error("loop error: %s", exc_text(e))
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
            if step in ("resync", "reattach", "reset"):
                if self.at is not None:
                    await self._step(step)
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
            _log.warning("recovery step failed: %s", exc_text(e))

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
        modem = self.cfg["modem"]
        self.port = await self.open_port(modem["port"], modem["baud"])
        # a configured vendor's dialect from the start (boot URCs); auto: set once detected
        self.at = ATEngine(self.port, self.clock, self.driver or vendors.load(modem["vendor"]))
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
                _log.error("URC subscriber failed: %s", exc_text(e))

    async def _setup(self):
        probe = GenericDriver(self.at, self.clock)
        if not await probe.init():
            self.state = "unresponsive"
            return
        vendor = self.cfg["modem"]["vendor"]
        if vendor == "auto":
            text = await self._reply_text("AT+CGMI")
            driver = vendors.detect(text)
            if driver is GenericDriver:
                driver = vendors.detect(text + " " + await self._reply_text("ATI"))
        else:
            driver = vendors.load(vendor)
        old = self.driver
        self.at.use(driver)
        self.driver = driver(self.at, self.clock)
        if old is not None:  # keep what we knew; identify refreshes it
            self.driver.sim["iccid"] = None
        await self.driver.init()
        await self.driver.identify()
        self.state = "ready"
        if self.events is not None and (old is None or old.NAME != self.driver.NAME):
            self.events.emit("modem_ready", vendor=self.driver.NAME, model=self.driver.modem.get("model"))

    async def _reply_text(self, cmd):
        r = await self.at.command(cmd)
        return " ".join(r.lines) if r.ok else ""

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
