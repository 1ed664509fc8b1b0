# monitor.py: the link monitor subsystem. Thin edge around the pure core: one task per link runs
# probe rounds when its LinkState says they are due; one policy task turns state changes into
# verification bursts and actuator calls. A metered backup in standby gets one sparse probe (one
# target, sticky to the last that answered) every probe.standby_interval_s plus the modem's
# registration, and a full burst before it takes traffic.
from .actuator import NoneActuator
from .names import is_name
from .compat import asyncio, exc_text
from .linkstate import LinkState
from .policy import Policy
from .probe import Prober, ProbeError

RETRY_OPEN_S = 60
MODEM_RECHECK_S = 10
TRIAL_S = 10


class LinkMonitor:
    def __init__(self, cfg, clock, events, actuator=None, modem_ok=None):
        self.cfg = cfg
        self.clock = clock
        self.events = events
        self.links = []
        for l in cfg["links"]:
            if not is_name(l["name"]) or not is_name(l["device"]):
                raise ValueError("invalid link name/device %r/%r" % (l["name"], l["device"]))
            self.links.append(l)
        self.pcfg = cfg.get("probe") or {}
        self.fcfg = cfg.get("failover") or {}
        if actuator is None:
            actuator = NoneActuator(self.links, events)
        if getattr(actuator, "events", None) is None:
            actuator.events = events
        self.actuator = actuator
        self.modem_ok = modem_ok
        names = [l["name"] for l in self.links]
        self.policy = Policy(names, clock, events, self.fcfg, probe_inactive=actuator.probe_inactive)
        self.ls = {}
        self.probers = {}
        self._sticky = {}
        self._last = {}
        base = (id(self) >> 4) & 0xFF00
        for i in range(len(self.links)):
            l = self.links[i]
            n = l["name"]
            self.ls[n] = LinkState(n, len(l["targets"]), self.pcfg, self.fcfg,
                                   standby=bool(l.get("metered")) and i > 0)
            self.probers[n] = Prober(l["device"], base + 0x31 + i, self.ls[n].p["payload_bytes"])
            self._sticky[n] = 0
            self._last[n] = "unknown"
        self.note = None
        self._kick = asyncio.Event()
        self._request = None

    # --- public API ----------------------------------------------------------------------------
    def status(self):
        out = {}
        for l in self.links:
            n = l["name"]
            st = self.ls[n].status()
            st["active"] = n == self.policy.active
            if self.ls[n].note:
                st["note"] = self.ls[n].note
            out[n] = st
        doc = {"links": out, "active_link": self.policy.active}
        if self.note:
            doc["note"] = self.note
        return doc

    def own_bytes(self, name):
        p = self.probers.get(name)
        if p is None:
            return 0
        return p.sent_bytes + p.recv_bytes

    def force_failover(self):
        """Remote command: move off the active link to the next usable one (after a verification
        burst); stays there until failback()."""
        for l in self.links:
            n = l["name"]
            if n != self.policy.active and self.ls[n].state not in ("down", "disabled"):
                self._request = ("force", n)
                self._kick.set()
                return {"failover": "requested", "to": n}
        return {"failover": "rejected", "reason": "no other usable link"}

    def failback(self):
        """Remote command: return to the highest-priority link (verified first) and resume
        automatic policy."""
        self.policy.release()
        first = self.links[0]["name"]
        if self.policy.active == first:
            return {"failback": "already", "active": first}
        self._request = ("failback", first)
        self._kick.set()
        return {"failback": "requested", "to": first}

    async def probe_once(self):
        """One full round on every link (CLI --once). Without raw sockets the links stay
        "unknown" with a note; never raises."""
        try:
            for l in self.links:
                n = l["name"]
                rtts = await self.probers[n].round(l["targets"], self.ls[n].p["timeout_s"])
                self._feed(n, rtts)
        except ProbeError as e:
            self.note = str(e)
        except Exception as e:
            self.note = "probe failed: " + exc_text(e)

    async def run(self):
        """Forever; never raises."""
        while True:
            try:
                for l in self.links:
                    self.probers[l["name"]].open()
                self.note = None
                break
            except ProbeError as e:
                self.note = str(e)
                print("wanwatch: " + self.note)
            except Exception as e:
                self.note = "probe setup failed: " + exc_text(e)
            await asyncio.sleep(RETRY_OPEN_S)
        tasks = [asyncio.create_task(self._guard(self._link_loop, l)) for l in self.links]
        tasks.append(asyncio.create_task(self._ticker()))
        await self._guard(self._policy_loop, None)
        for t in tasks:
            t.cancel()

    # --- internals -----------------------------------------------------------------------------
    async def _guard(self, fn, arg):
        while True:
            try:
                if arg is None:
                    await fn()
                else:
                    await fn(arg)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                print("wanwatch: link monitor: " + exc_text(e))
                await asyncio.sleep(1)

    def _feed(self, n, rtts, ok=None):
        now = self.clock.monotonic()
        self.ls[n].on_round(now, rtts, ok)
        self._changed(n)

    def _changed(self, n):
        ls = self.ls[n]
        if ls.state != self._last[n]:
            prev = self._last[n]
            self._last[n] = ls.state
            st = ls.status()
            self.policy.observe(n, ls.state, self.clock.monotonic())
            self.events.emit("link_state", link=n, state=ls.state, prev=prev,
                             rtt_ms=st["rtt_ms"], loss_pct=st["loss_pct"])
            self._kick.set()

    def _metered(self, n):
        for l in self.links:
            if l["name"] == n:
                return bool(l.get("metered"))
        return False

    def _targets(self, n):
        for l in self.links:
            if l["name"] == n:
                return l["targets"]
        return []

    async def _full_round(self, n, timeout):
        rtts = await self.probers[n].round(self._targets(n), timeout)
        self._feed(n, rtts)
        return self.ls[n].fails == 0

    async def _sparse_round(self, n):
        """Standby: one target at a time from the sticky one; ok at the first answer."""
        targets = self._targets(n)
        tried = []
        cnt = len(targets)
        for j in range(cnt):
            i = (self._sticky[n] + j) % cnt
            r = await self.probers[n].round([targets[i]], self.ls[n].p["timeout_s"])
            if r[0] is not None:
                self._sticky[n] = i
                self._feed(n, [r[0]], True)
                return True
            tried.append(None)
        self._feed(n, tried, False)
        return False

    async def _link_loop(self, l):
        n = l["name"]
        ls = self.ls[n]
        while True:
            if ls.disabled:
                await asyncio.sleep(1)
                continue
            if self._metered(n) and self.modem_ok is not None and not self._modem_ok():
                # no registration: the link cannot work; costs no bytes to know
                ls.mark_down(self.clock.monotonic(), "modem not registered")
                self._changed(n)
                await asyncio.sleep(MODEM_RECHECK_S)
                continue
            if ls.note == "modem not registered":
                ls.note = None
            t0 = self.clock.monotonic()
            if ls.standby and not ls.in_burst():
                await self._sparse_round(n)
            else:
                await self._full_round(n, ls.round_timeout())
            self._kick.set()
            delay = ls.next_delay(self._metered(n) and self.policy.active == n)
            rest = delay - (self.clock.monotonic() - t0)
            await asyncio.sleep(rest if rest > 0.01 else 0.01)

    def _modem_ok(self):
        try:
            return bool(self.modem_ok())
        except Exception:
            return True  # a broken modem layer must not hide a working link

    async def _burst(self, n, rounds=None, need=None):
        """Verification: `rounds` full rounds at burst spacing; True when >= need succeed."""
        ls = self.ls[n]
        if rounds is None:
            rounds = ls.p["burst_rounds"]
        if need is None:
            need = rounds - 1 if rounds > 1 else 1
        good = 0
        for i in range(rounds):
            t0 = self.clock.monotonic()
            rtts = await self.probers[n].round(self._targets(n), ls.p["burst_timeout_s"])
            ok = _count(rtts) >= ls.quorum()
            self._feed(n, rtts, ok)
            if ok:
                good += 1
            if good >= need:
                return True
            if good + (rounds - i - 1) < need:
                return False
            rest = ls.p["burst_interval_s"] - (self.clock.monotonic() - t0)
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
                act = self.policy.decide(self._states())
                if act is None:
                    break
                await self._do(act)

    def _states(self):
        out = {}
        for n in self.ls:
            out[n] = self.ls[n].state
        return out

    async def _do(self, act):
        kind = act[0]
        if kind == "verify":
            self.policy.verify_result(act[1], await self._burst(act[1]))
        elif kind in ("failover", "failback"):
            self._switch(kind, act[1], act[2])
        elif kind == "trial":
            await self._trial(act[1])

    def _switch(self, kind, frm, to, reason=None):
        ok = self.actuator.activate(to, frm)
        if not ok:
            self.policy.verify_result(to, False)
            return False
        self.policy.switched(kind, frm, to)
        now = self.clock.monotonic()
        if reason is None:
            reason = self.ls[frm].state
        if kind == "failover":
            self.events.emit("failover", **{"from": frm, "to": to, "reason": reason,
                                            "hold_down_s": self.policy.hold_down})
        else:
            self.events.emit("failback", **{"from": frm, "to": to, "reason": reason,
                                            "hold_down_s": self.policy.hold_down})
        self.ls[to].set_standby(now, False)
        self._changed(to)
        if self.actuator.is_down(frm):
            self.ls[frm].set_disabled(now, True)
        elif self._metered(frm):
            self.ls[frm].set_standby(now, True)
        self._changed(frm)
        return True

    async def _trial(self, n):
        """Recovery trial of a link the actuator took down: bring it up, probe it briefly, keep it
        (failback) or take it down again."""
        self.events.emit("failback_trial", link=n, hold_down_s=self.policy.hold_down)
        if not self.actuator.trial_up(n):
            self.policy.trial_result(n, False)
            return
        now = self.clock.monotonic()
        self.ls[n].set_disabled(now, False)
        self._changed(n)
        ls = self.ls[n]
        need = ls.p["up_rounds"]
        oks = 0
        deadline = now + TRIAL_S
        while self.clock.monotonic() < deadline and oks < need:
            t0 = self.clock.monotonic()
            rtts = await self.probers[n].round(self._targets(n), ls.p["burst_timeout_s"])
            # a trial must show a clean link (every live target, RTT near baseline), or a
            # degraded primary would be taken back and dropped again at once
            ok = _count(rtts) >= len(ls.live_targets())
            base = ls.baseline.value
            if ok and base is not None and _best(rtts) > base + ls.f["degraded_rtt_ms"]:
                ok = False
            self._feed(n, rtts, _count(rtts) >= ls.quorum())
            oks = oks + 1 if ok else 0
            rest = ls.p["burst_interval_s"] - (self.clock.monotonic() - t0)
            if rest > 0:
                await asyncio.sleep(rest)
        ok = oks >= need
        self.policy.trial_result(n, ok)
        self.events.emit("failback_trial_result", link=n, ok=ok)
        if ok:
            self._switch("failback", self.policy.active, n)
        else:
            self.actuator.trial_down(n)
            self.ls[n].set_disabled(self.clock.monotonic(), True)
            self._changed(n)

    async def _manual(self, req):
        kind, to = req
        frm = self.policy.active
        if to == frm:
            return
        if self.actuator.is_down(to):
            await self._trial(to)
            return
        ok = await self._burst(to)
        self.policy.verify_result(to, ok)
        if not ok:
            self.events.emit("command_rejected", action=kind, link=to, reason="verification failed")
            return
        if kind == "force":
            if self._switch("failover", frm, to, reason="manual"):
                self.policy.force(to)
        else:
            self._switch("failback", frm, to, reason="manual")


def _count(rtts):
    c = 0
    for r in rtts:
        if r is not None:
            c += 1
    return c


def _best(rtts):
    b = None
    for r in rtts:
        if r is not None and (b is None or r < b):
            b = r
    return b
