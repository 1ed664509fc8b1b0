# monitor.py: the link monitor subsystem. Thin edge around the pure core: one task per link and
# address family runs probe rounds when its LinkState says they are due; one policy task turns
# state changes into verification bursts, actuator calls (routing) and session restarts.
# A link is one or more netifd interfaces on one device, watched over IPv4 and/or IPv6 (by its
# targets); its state is the worst of its families, so both families switch together. Every link
# is probed all the time: switching is routing, nothing is taken down. A metered backup in
# standby gets one sparse probe per family (one target, sticky to the last that answered) every
# probe.standby_interval_s plus the modem's registration, and a full burst before it takes
# traffic. Configured DNS and HTTP checks are channels of their own next to the ICMP families (same
# state machine and quorum, their own pace); an HTTP check that lands on a portal makes the link
# `captive`: never a failover target, and the operator is told why. netifd's hotplug events
# (on_iface) mark a link down the moment an interface of it goes down, and make the actuator
# re-read its routes when it comes back or changes.
from .actuator import NoneActuator
from .. import log
from .bandwidth import BandwidthJudge
from .cellular import CellularRules
from ..compat import asyncio, exc_text
from .link import as_links
from .linkstate import FAILOVER_DEFAULTS, LinkState, settings
from ..names import is_name
from .policy import Policy
from .probe import Prober, ProbeError
from .restarts import SessionRestarts

RETRY_OPEN_S = 60
MODEM_RECHECK_S = 10
HELD_RECHECK_S = 0.5
SUSPECT_FAILS = 2       # failed rounds in a row that make the active link a suspect (pre-verify)
FAMILIES = ("ipv4", "ipv6")
SEVERITY = {"up": 0, "standby": 1, "unknown": 2, "degraded": 3, "captive": 4, "down": 5}
CAPTIVE_ROUNDS = 2      # rounds in a row that must land on a portal before the link is captive
NO_MODEM = "modem not registered"
CELLULAR_NOTES = (NO_MODEM, "registration denied", "roaming (allow_roaming is off)")
BANDWIDTH_SAMPLE_S = 2.0
SYS_NET = "/sys/class/net"

_log = log.Logger("links")


class Family:
    """One channel of one link — an address family probed by ICMP, or a check type (dns, http):
    its targets, its state machine and its prober."""

    def __init__(self, name, targets, state, prober):
        self.name = name
        self.targets = targets
        self.state = state
        self.prober = prober
        self.sticky = 0     # standby: index of the target that answered last
        self.captive_rounds = 0
        self.captive = None  # http: why the link is taken for captive (a portal), else None

    def shown_state(self):
        return "captive" if self.captive else self.state.state


class LinkMonitor:
    def __init__(self, cfg, clock, events, actuator=None, modem_ok=None, links=None, modem_view=None):
        """modem_ok() -> registered (or unknown); modem_view() -> {"registered", "registration",
        "rsrp_dbm", "sinr_db"} (the cellular rules of metered links; supersedes modem_ok)."""
        self.cfg = cfg
        self.clock = clock
        self.events = events
        self.links = as_links(links or cfg["links"])
        self.by_name = {}
        for l in self.links:
            if not is_name(l.name) or not is_name(l.device):
                raise ValueError("invalid link name/device %r/%r" % (l.name, l.device))
            self.by_name[l.name] = l
        self.pcfg = cfg.get("probe") or {}
        self.fcfg = settings(cfg.get("failover"), FAILOVER_DEFAULTS)
        if actuator is None:
            actuator = NoneActuator(self.links, events)
        if getattr(actuator, "events", None) is None:
            actuator.events = events
        self.actuator = actuator
        self.modem_ok = modem_ok
        self.modem_view = modem_view
        self._http_check = None  # checks.HttpCheck when a link has an active bandwidth test
        self.cellular = {}      # name -> CellularRules (metered links)
        self.bandwidth = {}     # name -> BandwidthJudge (links with bandwidth settings, metered links)
        for l in self.links:
            if l.metered:
                self.cellular[l.name] = CellularRules(l.cellular)
            if l.bandwidth or l.metered:
                self.bandwidth[l.name] = BandwidthJudge(l.bandwidth, l.metered)
                if self.bandwidth[l.name].cfg.get("test_url") and self._http_check is None:
                    from .checks import HttpCheck  # loaded (with dns.py) only for a bandwidth test
                    self._http_check = HttpCheck
        self.policy = Policy([l.name for l in self.links], clock, events, self.fcfg)
        self.fams = {}          # name -> [Family]
        self.held = {}          # name -> {interface: note} while netifd has an interface down
        self.restarts = {}      # name -> SessionRestarts
        self._last = {}         # name -> last reported combined state
        base = (id(self) >> 4) & 0xFF00
        for l in self.links:
            n = l.name
            fams = []
            for j in range(len(FAMILIES)):
                fam = FAMILIES[j]
                targets = l.targets.get(fam)
                if not targets:
                    continue
                ls = LinkState(n, len(targets), self.pcfg, self.fcfg, standby=l.standby)
                pr = Prober(l.device, base + 0x31 + 2 * l.index + j, ls.probe_cfg["payload_bytes"], fam)
                pr.on_late = self._late_hook(ls)
                fams.append(Family(fam, targets, ls, pr))
            for kind in ("dns", "http"):
                specs = l.checks.get(kind)
                if specs:
                    fams.append(self._check_channel(l, kind, specs))
            self.fams[n] = fams
            self.held[n] = {}
            self.restarts[n] = SessionRestarts(self.fcfg["session_restart_s"], self.fcfg["session_restart_max_s"])
            self._last[n] = "unknown"
        self.note = None
        self._kick = asyncio.Event()
        self._request = None
        self._refresh = []      # links whose routes the actuator must re-read (hotplug)

    def _check_channel(self, l, kind, specs):
        """A check type as a channel: its own pace (interval, waits, sparse standby) from its specs."""
        first = specs[0]
        wait = min(s["timeout_s"] for s in specs)
        pcfg = dict(self.pcfg)
        pcfg.update({"interval_s": first["interval_s"], "timeout_s": wait, "timeout_min_s": wait,
                     "burst_timeout_s": wait, "burst_interval_s": 1.0, "burst_rounds": 2, "up_rounds": 2,
                     "standby_interval_s": first["standby_interval_s"],
                     "metered_active_interval_s": first["metered_interval_s"], "payload_bytes": 0})
        ls = LinkState(l.name, len(specs), pcfg, self.fcfg, standby=l.standby)
        from .checks import DnsCheck, HttpCheck  # loaded only for links with checks (and dns.py with it)
        pr = DnsCheck(l.device, self.clock) if kind == "dns" else HttpCheck(l.device, self.clock)
        return Family(kind, specs, ls, pr)

    def _late_hook(self, ls):
        return lambda rtt: ls.on_late(self.clock.monotonic(), rtt)

    # --- public API ----------------------------------------------------------------------------
    def state(self, n):
        """A link's state: the worst of its families (degraded when its bandwidth is too low);
        down while netifd has an interface down."""
        if self.held[n]:
            return "down"
        bw = self.bandwidth.get(n)
        if bw is not None and bw.low:
            worst = "degraded"
            for f in self.fams[n]:
                if SEVERITY.get(f.shown_state(), 2) > SEVERITY["degraded"]:
                    worst = f.shown_state()
            return worst
        worst = None
        for f in self.fams[n]:
            s = f.shown_state()
            if worst is None or SEVERITY.get(s, 2) > SEVERITY.get(worst, 2):
                worst = s
        return worst or "unknown"

    def status(self):
        out = {}
        for l in self.links:
            n = l.name
            fams = self.fams[n]
            first = fams[0].state.status() if fams else {"rtt_ms": None, "loss_pct": None}
            st = {"state": self.state(n), "active": n == self.policy.active,
                  "rtt_ms": first["rtt_ms"], "loss_pct": first["loss_pct"]}
            st["captive"] = None
            if n in self.bandwidth:
                st["bandwidth"] = self.bandwidth[n].status()
            if n in self.cellular:
                st["weak"] = self.cellular[n].weak
            for f in fams:
                st[f.name] = f.state.status()
                if f.prober is not None:
                    st[f.name]["bytes"] = f.prober.sent_bytes + f.prober.recv_bytes
                if f.name == "http":
                    st["http"]["captive"] = f.captive
                    st["captive"] = st["captive"] or f.captive
                if f.prober is not None and f.name in ("dns", "http") and f.state.state == "down":
                    st[f.name]["error"] = f.prober.last_error
            note = self._note(n)
            if note:
                st["note"] = note
            out[n] = st
        doc = {"links": out, "active_link": self.policy.active}
        if self.note:
            doc["note"] = self.note
        return doc

    def _note(self, n):
        for iface in self.held[n]:
            return self.held[n][iface]
        for f in self.fams[n]:
            if f.state.note:
                return f.state.note
        return None

    def own_bytes(self, name):
        total = 0
        for f in self.fams.get(name) or ():
            total += f.prober.sent_bytes + f.prober.recv_bytes
        return total

    def force_failover(self):
        """Remote command: move off the active link to the next usable one (after a verification
        burst); stays there until failback()."""
        for l in self.links:
            n = l.name
            if n != self.policy.active and self.state(n) not in ("down", "captive"):
                self._request = ("force", n)
                self._kick.set()
                return {"failover": "requested", "to": n}
        return {"failover": "rejected", "reason": "no other usable link"}

    def failback(self):
        """Remote command: return to the highest-priority link (verified first) and resume
        automatic policy."""
        self.policy.release()
        first = self.links[0].name
        if self.policy.active == first:
            return {"failback": "already", "active": first}
        self._request = ("failback", first)
        self._kick.set()
        return {"failback": "requested", "to": first}

    def on_iface(self, rec):
        """netifd hotplug record {action, interface, device}: an interface of a link went down
        (the link is down at once, whoever did it), came up or changed (routes re-read)."""
        n = self._link_of(rec["interface"])
        if n is None:
            return
        now = self.clock.monotonic()
        action = rec["action"]
        if action in ("ifdown", "disconnected"):
            self.held[n][rec["interface"]] = "interface %s down (%s)" % (rec["interface"], action)
            for f in self.fams[n]:
                f.state.mark_down(now)
        elif action in ("ifup", "connected"):
            if rec["interface"] in self.held[n]:
                del self.held[n][rec["interface"]]
                if not self.held[n]:
                    for f in self.fams[n]:
                        f.state.reset(now)  # judged afresh by the next rounds
            self._refresh.append(n)
        elif action == "ifupdate":
            self._refresh.append(n)
        del self._refresh[:-8]
        self._changed(n)
        self._kick.set()

    def _link_of(self, iface):
        for l in self.links:
            if iface == l.name or iface in l.interfaces:
                return l.name
        return None

    async def probe_once(self):
        """One full round on every link and family (CLI --once). Without raw sockets the links stay
        "unknown" with a note; never raises."""
        try:
            for l in self.links:
                for f in self.fams[l.name]:
                    rtts = await f.prober.round(f.targets, f.state.probe_cfg["timeout_s"])
                    self._feed(l.name, f, rtts)
        except ProbeError as e:
            self.note = str(e)
            _log.warning(self.note)
        except Exception as e:
            self.note = "probe failed: " + exc_text(e)
            _log.warning(self.note)

    async def run(self):
        """Forever; never raises."""
        while True:
            try:
                for n in self.fams:
                    for f in self.fams[n]:
                        f.prober.open()
                self.note = None
                break
            except ProbeError as e:
                self.note = str(e)
                _log.error(self.note)
            except Exception as e:
                self.note = "probe setup failed: " + exc_text(e)
                _log.error(self.note)
            await asyncio.sleep(RETRY_OPEN_S)
        try:
            await self.actuator.setup(self.policy.active)
        except Exception as e:
            _log.error("routing setup: %s", exc_text(e))
        tasks = []
        for l in self.links:
            for f in self.fams[l.name]:
                tasks.append(asyncio.create_task(self._guard(self._family_loop, l, f)))
        for l in self.links:
            if l.name in self.bandwidth:
                tasks.append(asyncio.create_task(self._guard(self._bandwidth_loop, l, None)))
        if self.cellular:
            tasks.append(asyncio.create_task(self._guard(self._cellular_loop, None, None)))
        tasks.append(asyncio.create_task(self._ticker()))
        await self._guard(self._policy_loop, None, None)
        for t in tasks:
            t.cancel()

    # --- internals -----------------------------------------------------------------------------
    async def _guard(self, fn, a, b):
        while True:
            try:
                if a is None:
                    await fn()
                else:
                    await fn(a, b)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                _log.error("link monitor: %s", exc_text(e))
                await asyncio.sleep(1)

    def _feed(self, n, f, rtts, ok=None):
        f.state.on_round(self.clock.monotonic(), rtts, ok)
        if f.name == "http":
            self._captive(n, f)
        self._changed(n)

    def _captive(self, n, f):
        """CAPTIVE_ROUNDS rounds in a row with a quorum of the http checks landing on a portal."""
        hits = [c for c in f.prober.captive if c]
        if hits and len(hits) >= min(f.state.quorum(), len(f.prober.captive)):
            f.captive_rounds += 1
        else:
            f.captive_rounds = 0
        was = f.captive
        if f.captive_rounds >= CAPTIVE_ROUNDS:
            f.captive = hits[0]
        elif f.captive_rounds == 0:
            f.captive = None
        if f.captive and not was:
            l = self.by_name[n]
            msg = ("backup SIM redirected to a portal: credit or allowance exhausted?" if l.metered
                   else "HTTP redirected to a portal")
            self.events.emit("captive", link=n, reason=f.captive, message=msg)
        elif was and not f.captive:
            self.events.emit("captive_cleared", link=n)

    def _changed(self, n):
        s = self.state(n)
        if s != self._last[n]:
            prev = self._last[n]
            self._last[n] = s
            now = self.clock.monotonic()
            self.policy.observe(n, s, now)
            fams = {}
            for f in self.fams[n]:
                fams[f.name] = f.shown_state()
            st = self.fams[n][0].state.status() if self.fams[n] else {"rtt_ms": None, "loss_pct": None}
            self.events.emit("link_state", link=n, state=s, prev=prev, rtt_ms=st["rtt_ms"],
                             loss_pct=st["loss_pct"], families=fams)
            self._kick.set()

    async def _full_round(self, n, f, timeout):
        rtts = await f.prober.round(f.targets, timeout)
        self._feed(n, f, rtts)
        return f.state.fails == 0

    async def _sparse_round(self, n, f):
        """Standby: one target at a time from the sticky one; ok at the first answer."""
        targets = f.targets
        tried = []
        cnt = len(targets)
        for j in range(cnt):
            i = (f.sticky + j) % cnt
            r = await f.prober.round([targets[i]], f.state.probe_cfg["timeout_s"])
            if r[0] is not None:
                f.sticky = i
                self._feed(n, f, [r[0]], True)
                return True
            tried.append(None)
        self._feed(n, f, tried, False)
        return False

    async def _family_loop(self, l, f):
        n = l.name
        ls = f.state
        metered = l.metered
        while True:
            if self.held[n]:
                await asyncio.sleep(HELD_RECHECK_S)  # netifd has it down: nothing to probe
                continue
            why = self._unusable(l) if metered else None
            if why:
                # not registered, denied, roaming where it may not: the link cannot (or may not)
                # carry traffic; costs no bytes to know
                ls.mark_down(self.clock.monotonic(), why)
                self._changed(n)
                await asyncio.sleep(MODEM_RECHECK_S)
                continue
            if ls.note in CELLULAR_NOTES:
                ls.note = None
            t0 = self.clock.monotonic()
            if ls.standby and not ls.in_burst():
                await self._sparse_round(n, f)
            else:
                await self._full_round(n, f, ls.round_timeout(t0))
            self._kick.set()
            delay = ls.next_delay(metered and self.policy.active == n)
            rest = delay - (self.clock.monotonic() - t0)
            await asyncio.sleep(rest if rest > 0.01 else 0.01)

    def _modem_ok(self):
        try:
            return bool(self.modem_ok())
        except Exception:
            return True  # a broken modem layer must not hide a working link

    def _modem(self):
        if self.modem_view is not None:
            try:
                return self.modem_view() or {}
            except Exception:
                return {}  # a broken modem layer must not hide a working link
        if self.modem_ok is not None and not self._modem_ok():
            return {"registered": False}
        return {}

    def _unusable(self, l):
        """Why the modem says a metered link cannot be used now, or None."""
        ok, why = self.cellular[l.name].usable(self._modem())
        return None if ok else why

    async def _cellular_loop(self):
        """The modem's signal against the weak thresholds of each metered link (alerts only)."""
        while True:
            m = self._modem()
            now = self.clock.monotonic()
            for n in self.cellular:
                ch = self.cellular[n].signal(now, m.get("rsrp_dbm"), m.get("sinr_db"))
                if ch == "weak":
                    self.events.emit("signal_weak", link=n, rsrp_dbm=m.get("rsrp_dbm"), sinr_db=m.get("sinr_db"),
                                     message="backup signal weak: check the antenna")
                elif ch == "strong":
                    self.events.emit("signal_ok", link=n, rsrp_dbm=m.get("rsrp_dbm"), sinr_db=m.get("sinr_db"))
            await asyncio.sleep(MODEM_RECHECK_S)

    async def _bandwidth_loop(self, l, _=None):
        """Kernel byte counters of the link's device against its bandwidth judge every
        BANDWIDTH_SAMPLE_S; the opt-in active test (a timed download through the device, on
        unmetered links) runs beside it, so a test through a slow line never stops the sampling."""
        from ..usage.counters import read_sys
        n = l.name
        judge = self.bandwidth[n]
        icmp = [f for f in self.fams[n] if f.name in ("ipv4", "ipv6")]
        test = [None, None]  # the tester, the running test's task
        try:
            while True:
                now = self.clock.monotonic()
                c = read_sys(l.device, SYS_NET)
                excess = None
                for f in icmp:
                    base, last = f.state.baseline.value, f.state.last_rtt
                    if base is not None and last is not None and f.state.fails == 0:
                        e = last - base
                        excess = e if excess is None or e > excess else excess
                if c is not None:
                    self._bandwidth_change(n, judge.sample(now, c[0], c[1], excess, self.policy.active == n))
                    _log.debug("bandwidth %s: %s kbit/s down, RTT excess %s ms, low spell since %s", n,
                               judge.status()["down_kbps"], excess, judge.low_since)
                if test[1] is None and judge.test_due(now, l.metered) and not self.held[n]:
                    if test[0] is None:
                        test[0] = self._http_check(l.device, self.clock)
                    test[1] = asyncio.create_task(self._bandwidth_test(n, judge, test))
                await asyncio.sleep(BANDWIDTH_SAMPLE_S)
        except asyncio.CancelledError:
            if test[1] is not None:
                test[1].cancel()
            raise

    async def _bandwidth_test(self, n, judge, test):
        try:
            got, secs = await test[0].download(judge.cfg["test_url"], judge.cfg["test_bytes"], 30)
            self._bandwidth_change(n, judge.test_result(self.clock.monotonic(), got, secs))
        finally:
            test[1] = None

    def _bandwidth_change(self, n, change):
        if change is None:
            return
        st = self.bandwidth[n].status()
        if change in ("low", "ok"):
            self.events.emit("bandwidth", link=n, verdict=change, down_kbps=st["down_kbps"],
                             up_kbps=st["up_kbps"], best_kbps=st["best_kbps"])
            self._changed(n)
        else:
            self.events.emit(change, link=n, down_kbps=st["down_kbps"], up_kbps=st["up_kbps"],
                             message="backup throttled by the carrier (allowance used up?)" if change == "throttled"
                             else "backup rate back above the throttle ceiling")

    async def _burst(self, n):
        """Verification of a link: a burst on each of its families at once; all must pass."""
        fams = self.fams[n]
        if not fams:
            return False
        if len(fams) == 1:
            return await self._burst_family(n, fams[0])
        results = await asyncio.gather(*[self._burst_family(n, f) for f in fams])
        for ok in results:
            if not ok:
                return False
        return True

    async def _burst_family(self, n, f):
        """burst_rounds full rounds at burst spacing (fixed burst_timeout_s: a verification must
        not fail on a tight adaptive wait); True when all but one succeed."""
        ls = f.state
        rounds = ls.probe_cfg["burst_rounds"]
        need = rounds - 1 if rounds > 1 else 1
        good = 0
        for i in range(rounds):
            t0 = self.clock.monotonic()
            rtts = await f.prober.round(f.targets, ls.probe_cfg["burst_timeout_s"])
            ok = _count(rtts) >= ls.quorum()
            self._feed(n, f, rtts, ok)
            if ok:
                good += 1
            if good >= need:
                return True
            if good + (rounds - i - 1) < need:
                return False
            rest = ls.probe_cfg["burst_interval_s"] - (self.clock.monotonic() - t0)
            if rest > 0:
                await asyncio.sleep(rest)
        return good >= need

    async def _ticker(self):
        """Wakes the policy at least once a second (time-based decisions: hold-down expiry) without
        a wait_for per second, which allocates a task and a closure every time."""
        while True:
            await asyncio.sleep(1.0)
            self._kick.set()

    async def _policy_loop(self):
        while True:
            await self._kick.wait()
            self._kick.clear()
            if self._request is not None:
                req, self._request = self._request, None
                await self._manual(req)
                continue
            for _ in range(4):  # a verify is followed at once by the switch it enables
                act = self.policy.decide(self._states(), self._suspects())
                if act is None:
                    break
                await self._do(act)
            while self._refresh:
                await self.actuator.refresh(self._refresh.pop(0))
            await self._sessions()

    def _states(self):
        out = {}
        for n in self.fams:
            out[n] = self.state(n)
        return out

    def _suspects(self):
        """Links that are not down yet but are confirming a failure in some family."""
        out = []
        for n in self.fams:
            if self.state(n) in ("down", "degraded"):
                continue
            for f in self.fams[n]:
                if f.state.fails >= SUSPECT_FAILS:
                    out.append(n)
                    break
        return out

    async def _sessions(self):
        """Restart the session of a dead link whose interfaces netifd still has up."""
        if not self.actuator.restarts_sessions:
            return
        now = self.clock.monotonic()
        for n in self.fams:
            if self.held[n] or self._note(n) in CELLULAR_NOTES:
                continue  # taken down on purpose, or the modem's recovery ladder's business
            r = self.restarts[n]
            r.observe(now, self.state(n))
            if not r.due(now):
                continue
            ok = await self.actuator.restart_session(n)
            gap = r.started(self.clock.monotonic())
            self.events.emit("session_restart", link=n, interfaces=list(self.by_name[n].interfaces),
                             attempt=r.attempts, ok=bool(ok), next_in_s=gap)

    async def _do(self, act):
        kind = act[0]
        if kind == "verify":
            self.policy.verify_result(act[1], await self._burst(act[1]))
        elif kind in ("failover", "failback"):
            await self._switch(kind, act[1], act[2])

    async def _switch(self, kind, frm, to, reason=None):
        if reason is None:
            reason = self.state(frm)
        ok = await self.actuator.activate(to, frm)
        if not ok:
            self.policy.verify_result(to, False)
            return False
        self.policy.switched(kind, frm, to)
        now = self.clock.monotonic()
        self.events.emit(kind, **{"from": frm, "to": to, "reason": reason, "hold_down_s": self.policy.hold_down})
        for f in self.fams[to]:
            f.state.set_standby(now, False)
        self._changed(to)
        if self.by_name[frm].metered:
            for f in self.fams[frm]:
                f.state.set_standby(now, True)
        self._changed(frm)
        return True

    async def _manual(self, req):
        kind, to = req
        frm = self.policy.active
        if to == frm:
            return
        ok = await self._burst(to)
        self.policy.verify_result(to, ok)
        if not ok:
            self.events.emit("command_rejected", action=kind, link=to, reason="verification failed")
            return
        if kind == "force":
            if await self._switch("failover", frm, to, reason="manual"):
                self.policy.force(to)
        else:
            await self._switch("failback", frm, to, reason="manual")


def _count(rtts):
    c = 0
    for r in rtts:
        if r is not None:
            c += 1
    return c
