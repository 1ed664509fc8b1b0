# agent.py: wires the parts into one asyncio loop: modem, link monitor, usage, reporter, status file.
# Each part has `async run()` (never raises) and `status()`; the agent only composes them.
from .report import status as statusdoc
from . import log, store
from .compat import asyncio, dumps, exc_text
from .events import EventBus

STATUS_FILE_PERIOD_S = 5  # RAM status file for `wanwatch status` and the console
ONCE_MQTT_TIMEOUT_S = 5


class Agent:
    def __init__(self, cfg, clock, config_path=None, once=False):
        self.cfg = cfg
        self.clock = clock
        self.config_path = config_path
        self.started = clock.monotonic()
        # the outbox persists boot and seq so event numbering continues across restarts; a --once
        # run is not a boot of the daemon and must not bump the counter
        from .report.reporter import outbox_for
        store.makedirs(cfg["state_dir"])
        self.outbox = outbox_for(cfg, new_boot=not once)
        self.events = EventBus(clock, self.outbox.boot, self.outbox.seq)
        if not once:
            self.events.subscribe(_log_event)  # every event is a log line too (logread, the console)
        self._own_seen = 0
        self._probe_seen = {}
        self._restart = False
        self.modem = None
        self.links = None
        self.usage = None
        self.reporter = None
        self.hotplug = None
        self.carrier = None
        self.budget = None
        self._build_parts()

    # --- construction -------------------------------------------------------------------------
    def _build_parts(self):
        cfg, clock, events = self.cfg, self.clock, self.events
        from .modem.supervisor import ModemSupervisor
        self.modem = ModemSupervisor(cfg, clock, events, power_toggle=self._board_hook("power_toggle"),
                                     reboot=_reboot_router if (cfg.get("recovery") or {}).get("reboot") else None)
        from .failover.link import as_links
        from .failover.monitor import LinkMonitor
        from .failover.actuator import make_actuator
        self.link_list = as_links(cfg["links"])  # one Link per uplink, built once, shared by all parts
        store.makedirs(cfg["run_dir"])  # the actuator's commands report through files there
        self.links = LinkMonitor(cfg, clock, events, actuator=make_actuator(cfg, events, links=self.link_list),
                                 modem_view=self._modem_view, links=self.link_list)
        from .usage.tracker import UsageTracker
        self.usage = UsageTracker(cfg, clock, events, cfg["run_dir"], cfg["state_dir"],
                                  counters_source=self.modem.counters, device=self._metered_device(),
                                  iccid_source=lambda: self.modem.iccid)
        if budget_configured(cfg):
            from .usage.budget import BudgetPolicy  # loaded only when a budget is configured
            self.budget = BudgetPolicy(cfg, clock, events, self.link_list, self._metered_carrying,
                                       self.usage.status, tracker=self.usage)
            events.subscribe(self._budget_kick)
        commands = None
        if (cfg.get("commands") or {}).get("key"):
            from .report.commands import Commands  # loaded only when a command key is configured
            commands = Commands(cfg, clock, cfg["state_dir"], self._command_handlers(), events)
        sms = None
        if (cfg.get("sms") or {}).get("numbers"):
            from .report.smsalert import SmsAlert
            sms = SmsAlert(cfg, clock, events, self._send_sms, cfg["state_dir"])
            if self.usage.settings["at_cap_action"] == "alert_sms":
                self.usage.at_cap_hook = sms.alert  # texted at 100 % whatever the broker's state
        if cfg["usage"].get("calibration"):
            from .usage.carrier import Calibrator  # loaded only when a calibration is configured
            self.carrier = Calibrator(cfg["usage"]["calibration"], clock, self.modem, self.usage)
        from .failover.hotplug import HotplugWatcher
        self.hotplug = HotplugWatcher(cfg["run_dir"], clock, events, on_iface=self.links.on_iface)
        from .report.reporter import Reporter
        self.reporter = Reporter(cfg, clock, events, self.status, self.inventory,
                                 commands=commands, sms=sms, outbox=self.outbox)

    def _metered_carrying(self):
        """The metered link carries the site's traffic (the budget policy limits it only then)."""
        for l in self.link_list:
            if l.name == self.links.policy.active:
                return l.metered
        return False

    def _budget_kick(self, ev):
        """A switch or a change of the cap: the budget policy looks at once, not at its next check."""
        if ev["type"] in ("failover", "failback", "usage_cap_changed", "usage_reset", "usage_threshold"):
            self.budget.kick()

    async def _send_sms(self, number, text):
        """SMS fallback sender: the modem layer reports failures as a result; SmsAlert counts a
        send as done unless it raises, so a refused SMS must raise here."""
        r = await self.modem.send_sms(number, text)
        if not r["ok"]:
            raise OSError(r["error"])
        return r

    def _command_handlers(self):
        """Remote commands (signed, checked by commands.py) mapped onto the parts."""
        agent = self

        async def status(args):
            return agent.status()

        async def force_failover(args):
            return agent.links.force_failover()

        async def failback(args):
            return agent.links.failback()

        async def set_cap(args):
            return agent.usage.set_cap(args.get("cap_mb"))

        async def reset_usage(args):
            return agent.usage.reset(args.get("iccid"))

        async def modem_reset(args):
            return await agent.modem.reset()

        async def reload_config(args):
            return agent.reload_config()

        async def at(args):
            r = await agent.modem.command(args["command"])
            return {"final": r.final, "lines": r.lines, "code": r.code, "text": r.text}

        out = {"status": status, "force_failover": force_failover, "failback": failback, "set_cap": set_cap,
               "reset_usage": reset_usage, "modem_reset": modem_reset, "reload_config": reload_config, "at": at}
        if self.budget is not None:
            out["budget"] = self.budget.command  # lift / set / resume until failback or rollover
        return out

    def reload_config(self):
        """Validate the config file again; apply it by a clean restart (procd respawns us), because
        every part was built from the old one. A bad file changes nothing."""
        from . import config
        try:
            config.load(self.config_path)
        except config.ConfigError as e:
            return {"reload": "rejected", "error": str(e)}
        self._restart = True
        return {"reload": "restarting"}

    def _board_hook(self, name):
        """A function of the board's module (power_toggle...), or None: board differences live in
        boards/<name>/, not in the core."""
        if self.cfg["board"] == "generic":
            return None
        from . import board
        return board.hooks(board.find(self.cfg["board"])).get(name)

    def _metered_device(self):
        for l in self.link_list:
            if l.metered:
                return l.device
        return None

    def _modem_view(self):
        """What the link monitor needs of the modem for the cellular link: registration, signal."""
        st = self.modem.status()
        net, sig = st.get("network") or {}, st.get("signal") or {}
        return {"registered": net.get("registered"), "registration": net.get("registration"),
                "rsrp_dbm": sig.get("rsrp_dbm"), "sinr_db": sig.get("sinr_db")}

    # --- documents ----------------------------------------------------------------------------
    def status(self):
        return statusdoc.build(
            self.cfg["device_id"], self.clock.time(), self.clock.monotonic() - self.started,
            modem=self.modem.status(), links=self.links.status(), usage=self.usage.status(),
            mqtt=self.reporter.status(), link_names=[l.name for l in self.link_list],
            budget=self.budget.status() if self.budget is not None else None)

    def inventory(self):
        from . import VERSION
        st = self.modem.status()
        m, sim, net = st.get("modem") or {}, st.get("sim") or {}, st.get("network") or {}
        links = []
        for l in self.link_list:
            links.append({"name": l.name, "device": l.device, "role": l.role, "metered": l.metered,
                          "interfaces": l.interfaces, "addresses": _addresses(l.device)})
        return {"v": 1, "device_id": self.cfg["device_id"], "board": self.cfg["board"],
                "firmware_version": VERSION, "modem_vendor": m.get("vendor"), "modem_model": m.get("model"),
                "modem_firmware": m.get("firmware"), "imei": m.get("imei"), "iccid": sim.get("iccid"),
                "imsi": sim.get("imsi"), "operator": net.get("operator"), "links": links}

    # --- one cycle (--once) --------------------------------------------------------------------
    async def once(self):
        """One cycle: modem, links, MQTT. stdout gets the status document and nothing else, in
        every case (logs go to stderr or syslog, see log.py). Exit 1 when the modem cannot be
        read: the document is still printed (modem.state "absent" when the port did not open)
        but not published, so it never replaces a running daemon's retained status (the daemon
        may hold the port)."""
        from .modem.supervisor import ModemAbsent
        rc = 0
        try:
            await self.modem.once()
        except ModemAbsent as e:
            log.error("modem: %s", e)
            rc = 1
        except Exception as e:  # a modem that answers nonsense must not cost the document
            log.error("modem: %s", exc_text(e))
            rc = 1
        try:
            await self.links.probe_once()
        except Exception as e:  # probing is best effort in --once (e.g. not root)
            log.warning("link probe skipped: %s", exc_text(e))
        doc = self.status()
        ok = False
        try:
            if rc == 0:
                ok = await self.reporter.once(doc, ONCE_MQTT_TIMEOUT_S)
            else:
                log.info("mqtt: status not published (no modem)")
        except Exception as e:
            log.warning("mqtt: %s", exc_text(e))
        doc["mqtt"]["connected"] = bool(ok)
        print(dumps(doc))
        return rc

    # --- daemon --------------------------------------------------------------------------------
    async def run(self):
        from . import VERSION
        self._restart = False
        self.events.emit("agent_start", device_id=self.cfg["device_id"], version=VERSION)
        parts = [self.modem.run(), self.links.run(), self.usage.run(), self.reporter.run(),
                 self._status_file_loop(), self.hotplug.run()]
        if self.carrier is not None:
            parts.append(self.carrier.run())
        if self.budget is not None:
            parts.append(self.budget.run())
        import os
        if os.getenv("WANWATCH_MEMSTAT"):  # benchmarks: peak heap use, printed periodically
            parts.append(_memstat(float(os.getenv("WANWATCH_MEMSTAT"))))
        if (self.cfg.get("console") or {}).get("enabled"):
            from .report import console  # boards: a line console on the UART and status() at the REPL
            console._agent = self
            parts.append(console.LineConsole(self.status, lambda: self.events.recent).run())
        tasks = [asyncio.create_task(t) for t in parts]
        while not self._restart:
            await asyncio.sleep(1)
        log.info("config reload: restarting")
        if self.budget is not None:
            try:  # the next run may have no budget (or another): leave no limit behind
                await self.budget.release()
            except Exception as e:
                log.warning("budget release: " + exc_text(e))
        try:
            await asyncio.wait_for(self.reporter.stop(), 5)
        except Exception as e:
            log.warning("stop: %s", exc_text(e))
        for t in tasks:
            t.cancel()

    def _feed_own(self, doc):
        """The agent's own bytes on the metered SIM: MQTT while the metered link carries traffic,
        and probe traffic on a metered link always (probes are pinned to their device)."""
        n = self.reporter.own_bytes
        d, self._own_seen = n - self._own_seen, n
        a = doc.get("active_link")
        for l in self.link_list:
            if not l.metered:
                continue
            if d > 0 and l.name == a:
                self.usage.add_own(d)
            p = self.links.own_bytes(l.name)
            dp = p - self._probe_seen.get(l.name, 0)
            self._probe_seen[l.name] = p
            if dp > 0:
                self.usage.add_own(dp)

    async def _status_file_loop(self):
        store.makedirs(self.cfg["run_dir"])
        path = self.cfg["run_dir"] + "/status.json"
        epath = self.cfg["run_dir"] + "/events.json"
        written = -1  # event seq in events.json: rewritten only when there is a new event
        while True:
            try:
                doc = self.status()
                self._feed_own(doc)
                store.write_json(path, doc)
                if self.events.seq != written:
                    store.write_json(epath, self.events.recent)
                    written = self.events.seq
            except Exception as e:
                log.warning("status file: %s", exc_text(e))
            await asyncio.sleep(STATUS_FILE_PERIOD_S)


def budget_configured(cfg):
    """A budget is configured when it has a rate or steps (the section itself always exists, filled
    with defaults): only then is the policy (usage/budget.py) loaded and built."""
    b = cfg.get("budget") or {}
    return b.get("rate_mbps") is not None or bool(b.get("steps"))


def _log_event(ev):
    """Every event is an info line `event TYPE k=v ...` (host_tools/netbed/agent.py parses it)."""
    if log.level >= log.INFO:
        from .events import describe
        log.info("event %s", describe(ev))


def _reboot_router():
    """Last step of the modem recovery ladder, only with recovery.reboot: true (bounded to
    recovery.max_reboots_per_day by the ladder, persisted across restarts)."""
    import os
    log.warning("recovery: rebooting the router")
    os.system("reboot")


async def _memstat(period):
    """Live heap after a full collection (what must fit), its peak, and the raw allocation."""
    import gc
    peak = 0
    while True:
        a = gc.mem_alloc()
        gc.collect()
        live = gc.mem_alloc()
        if live > peak:
            peak = live
        log.info("memstat alloc=%d live=%d peak=%d free=%d", a, live, peak, gc.mem_free())
        await asyncio.sleep(period)


def _addresses(dev):
    """Global addresses (CIDR, IPv4 then IPv6) of a device for the inventory, which is published on
    (re)connect: rare, and `ip` returns at once. The name was validated by config, so it is safe in
    the command."""
    from .names import is_name
    from .sysrun import output_lines
    if not is_name(dev):
        return []
    v4, v6 = [], []
    for line in output_lines("ip -o addr show dev %s" % dev, "addr-" + dev):
        parts = line.split()
        if "inet" in parts:
            v4.append(parts[parts.index("inet") + 1])
        elif "inet6" in parts and "global" in parts:
            v6.append(parts[parts.index("inet6") + 1])
    return v4[:4] + v6[:4]
