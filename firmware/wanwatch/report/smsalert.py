# smsalert.py: SMS fallback when the broker has been unreachable for a while and something
# alert-worthy happens (failover, usage >= 95 %, usage forecast), and the at-cap alert that goes
# whatever the broker's state (usage.at_cap_action: alert_sms, alert()). The decision is pure
# (clock injected, tested with FakeClock); sending goes through an injected async
# send_sms(number, text). Rate limit, shared by both: at most max_per_day alerts in any rolling
# 24 h, persisted (so a crash/restart loop cannot spam), the slot recorded before sending for the
# same reason; one event is never texted twice.
from .. import log, store
from ..compat import asyncio, exc_text

DAY_S = 86400
SEND_TIMEOUT_S = 60
DEFAULT_EVENTS = ("failover", "usage_threshold", "usage_forecast")

_log = log.Logger("sms")


class SmsAlert:
    def __init__(self, cfg, clock, events, send_sms, state_dir):
        s = cfg.get("sms") or {}
        self.device = cfg.get("device_id", "?")
        self.clock = clock
        self.events = events
        self.send_sms = send_sms
        self.numbers = list(s.get("numbers") or [])
        self.after_s = s.get("after_s", 600)
        self.max_per_day = s.get("max_per_day", 5)
        self.min_pct = s.get("min_pct", 95)
        self.kinds = tuple(s.get("events") or DEFAULT_EVENTS)
        self.path = state_dir + "/sms.json"
        store.makedirs(state_dir)
        st = store.read_json(self.path, {})
        sent = st.get("sent") if isinstance(st, dict) else None
        self.sent = [int(t) for t in sent if isinstance(t, (int, float))] if isinstance(sent, list) else []
        self.suppressed = 0
        self._texted = None  # (boot, seq) of the last event texted

    def text_for(self, ev):
        """The SMS text for an alert-worthy event, else None (pure)."""
        kind = ev.get("type")
        if kind not in self.kinds:
            return None
        if kind == "failover":
            what = "failover %s -> %s" % (ev.get("from") or "?", ev.get("to") or "?")
            if ev.get("reason"):
                what += " (%s)" % ev.get("reason")
        elif kind == "usage_threshold":
            pct = None
            for k in ("pct", "threshold", "used_pct"):
                if isinstance(ev.get(k), (int, float)):
                    pct = ev.get(k)
                    break
            if pct is None or pct < self.min_pct:
                return None
            what = "backup SIM usage at %d%% of cap" % pct
        elif kind == "usage_forecast":
            what = "backup SIM cap forecast to run out"
            if ev.get("exhaustion"):
                what += " at %s" % ev.get("exhaustion")
        else:
            what = kind
        return ("wanwatch %s: %s; MQTT unreachable" % (self.device, what))[:160]

    def _prune(self, now):
        self.sent = [t for t in self.sent if now - t < DAY_S][-self.max_per_day:]

    def decide(self, ev, down_for):
        """Text to send for ev given how long (s) the broker has been unreachable (None = it is up),
        or None. Pure apart from reading the rate-limit list."""
        if not self.numbers or down_for is None or down_for < self.after_s:
            return None
        text = self.text_for(ev)
        if text is None:
            return None
        self._prune(self.clock.time())
        if len(self.sent) >= self.max_per_day:
            self.suppressed += 1
            return None
        return text

    def consider(self, ev, down_for):
        """Decide and, when an SMS is due, book the rate slot (persisted) and return the text."""
        text = self.decide(ev, down_for)
        if text is None:
            return None
        self._book(ev)
        return text

    def alert(self, ev):
        """usage.at_cap_action alert_sms: text this usage_threshold event now, whether the broker is
        up or not, within the daily bound and unless the fallback already texted it. Sends in a
        task (the caller is the usage sample, which must not wait); returns the text or None."""
        if not self.numbers or self._texted == (ev.get("boot"), ev.get("seq")):
            return None
        self._prune(self.clock.time())
        if len(self.sent) >= self.max_per_day:
            self.suppressed += 1
            _log.warning("at-cap SMS suppressed: %d sent in 24 h (sms.max_per_day)", len(self.sent))
            return None
        cap = ev.get("cap_bytes")
        text = ("wanwatch %s: backup SIM at %s%% of its %s MB cap" % (
            self.device, ev.get("pct"), cap // 1000000 if isinstance(cap, int) else "?"))[:160]
        self._book(ev)
        asyncio.create_task(self.send(text, ev))
        return text

    def _book(self, ev):
        self._texted = (ev.get("boot"), ev.get("seq"))
        self.sent.append(int(self.clock.time()))
        try:
            store.write_json(self.path, {"sent": self.sent})
        except OSError as e:
            _log.warning("state not saved: %s", exc_text(e))

    async def send(self, text, ev=None):
        """Send text to every number (each bounded by a timeout); records an sms_sent event."""
        ok = 0
        for n in self.numbers:
            try:
                await asyncio.wait_for(self.send_sms(n, text), SEND_TIMEOUT_S)
                ok += 1
            except Exception as e:
                _log.warning("to %s failed: %s", n, exc_text(e))
        if self.events is not None:
            self.events.emit("sms_sent", numbers=len(self.numbers), ok=ok,
                             about=(ev or {}).get("type"), about_seq=(ev or {}).get("seq"))
        return ok

    def status(self):
        return {"sent_24h": len(self.sent), "suppressed": self.suppressed}
