"""`fleet alerts`: rules turn site conditions into notifications (webhook, e-mail, stdout).

One notification when a condition starts, one recovery notice when it clears, nothing in between
(de-duplicated); a quiet period suppresses a repeat of the same condition for a site that flaps.
Seq gaps are point events: each new gap notifies once and has no recovery.

Rules file (JSON):
  {"quiet_s": 600,
   "notifiers": {"ops": {"type": "webhook", "url": "http://..."},
                 "mail": {"type": "smtp", "host": "...", "port": 25, "from": "...", "to": ["..."]},
                 "log": {"type": "stdout"}},
   "rules": [{"condition": "offline", "notify": ["ops", "mail"]},
             {"condition": "cap", "pct": 95, "notify": ["mail"]}, ...]}
Conditions: offline, all_down, on_backup, degraded, cap (pct, default 80), runout, seq_gap.
An optional "notices" section turns on notices to the sites' customers through the same channels
(host_tools/fleet/notices, docs/fleet.md "Notices to the customer").
"""
import os
import json
import smtplib
import sys
import urllib.request
from email.message import EmailMessage

from .model import on_backup

CONDITIONS = ("offline", "all_down", "on_backup", "degraded", "cap", "runout", "seq_gap")


class RulesError(ValueError):
    pass


def load_rules(path):
    try:
        with open(path) as f:
            rules = json.load(f)
    except (OSError, ValueError) as e:
        raise RulesError("%s: %s" % (path, e))
    return check_rules(rules, path, base_dir=os.path.dirname(os.path.abspath(path)))


def check_rules(rules, src="<rules>", base_dir="."):
    """Validate a rules document; base_dir resolves the notices section's relative file names."""
    if not isinstance(rules, dict) or not isinstance(rules.get("rules"), list):
        raise RulesError("%s: needs a 'rules' list" % src)
    notifiers = rules.get("notifiers") or {"stdout": {"type": "stdout"}}
    for name, n in notifiers.items():
        if n.get("type") not in ("webhook", "smtp", "stdout"):
            raise RulesError("%s: notifiers.%s.type must be webhook, smtp or stdout" % (src, name))
    for i, r in enumerate(rules["rules"]):
        if r.get("condition") not in CONDITIONS:
            raise RulesError("%s: rules[%d].condition must be one of %s" % (src, i, ", ".join(CONDITIONS)))
        for n in r.get("notify") or ["stdout"]:
            if n not in notifiers:
                raise RulesError("%s: rules[%d].notify names unknown notifier %r" % (src, i, n))
    rules["notifiers"] = notifiers
    rules.setdefault("quiet_s", 600)
    if rules.get("notices") is not None:
        from .notices.settings import SettingsError, check_settings
        try:
            rules["notices"] = check_settings(rules["notices"], base_dir, notifiers, rules["quiet_s"])
        except SettingsError as e:
            raise RulesError("%s: notices: %s" % (src, e))
    return rules


def condition_active(cond, rule, site, fleet):
    st = site.status or {}
    if cond == "offline":
        return site.state == "offline"
    if cond == "on_backup":
        return on_backup(site)
    if cond == "cap":
        pct = (st.get("usage") or {}).get("used_pct")
        return pct is not None and pct >= rule.get("pct", 80)
    flags = fleet.attention(site)
    return cond in flags


def post_json(url, doc, timeout=5):
    """POST a JSON document to a webhook (alerts, customer SMS gateways)."""
    req = urllib.request.Request(url, data=json.dumps(doc).encode(), headers={"Content-Type": "application/json"},
                                 method="POST")
    urllib.request.urlopen(req, timeout=timeout).read()


def send_mail(spec, to, subject, body, headers=()):
    """One plain-text e-mail through the SMTP server of an smtp notifier spec. Header values must
    be single lines (EmailMessage refuses CR/LF): callers pass text built from outside clean."""
    msg = EmailMessage()
    msg["From"] = spec.get("from", "wanwatch@localhost")
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg.set_content(body)
    for k, v in headers:  # after set_content, which drops Content-* headers set before
        msg[k] = v
    with smtplib.SMTP(spec.get("host", "127.0.0.1"), spec.get("port", 25), timeout=10) as s:
        s.send_message(msg, to_addrs=list(to))


class Notifier:
    def __init__(self, spec, out=None):
        self.spec = spec
        self.out = out or sys.stdout
        self.sent = 0
        self.failed = 0

    def send(self, note):
        t = self.spec["type"]
        try:
            if t == "stdout":
                self.out.write(json.dumps(note, sort_keys=True) + "\n")
                self.out.flush()
            elif t == "webhook":
                post_json(self.spec["url"], note, self.spec.get("timeout", 5))
            elif t == "smtp":
                send_mail(self.spec, self.spec["to"], "[wanwatch] %s %s: %s" % (note["site"], note["kind"], note["condition"]),
                          json.dumps(note, indent=1, sort_keys=True))
            self.sent += 1
        except Exception as e:  # a dead webhook must not stop the other notifiers
            self.failed += 1
            sys.stderr.write("alert notifier %s failed: %s\n" % (t, e))


class Dedup:
    """Start/clear bookkeeping per key (site, condition): a condition notifies when it starts unless
    the same key notified less than quiet_s ago, and its clearing is worth a notice only when its
    start was announced. Shared by the operator alerts and the customer notices."""

    def __init__(self, quiet_s):
        self.quiet_s = quiet_s
        self.active = {}     # key -> since ts
        self.last_note = {}  # key -> ts of the last notice
        self.version = 0     # bumped on every change: tells a caller that keeps the book on disk to save

    def start(self, key, now):
        """The condition holds now: True when this is a start to announce."""
        if key in self.active:
            return False
        self.active[key] = now
        self.version += 1
        last = self.last_note.get(key)
        if last is None or now - last >= self.quiet_s:
            self.last_note[key] = now
            return True
        return False

    def clear(self, key, now):
        """The condition no longer holds: its duration when its start was announced, else None."""
        if key not in self.active:
            return None
        since = self.active.pop(key)
        self.version += 1
        return now - since if self.last_note.get(key, -1) >= since else None


class Alerter:
    def __init__(self, rules, fleet, clock, out=None):
        self.rules = rules
        self.fleet = fleet
        self.clock = clock  # callable -> epoch seconds
        self.notifiers = {k: Notifier(v, out) for k, v in rules["notifiers"].items()}
        self.dedup = Dedup(rules["quiet_s"])  # keys (site, rule index)
        self.gaps_seen = {}
        self.notes = []
        self.notices = None
        if rules.get("notices"):
            from .notices.engine import Notices
            self.notices = Notices(rules["notices"], clock, self.notifiers)

    def _notify(self, rule, note):
        self.notes.append(note)
        for n in rule.get("notify") or ["stdout"]:
            self.notifiers[n].send(note)

    def evaluate(self, site):
        now = self.clock()
        for i, rule in enumerate(self.rules["rules"]):
            cond = rule["condition"]
            key = (site.device_id, i)
            if cond == "seq_gap":
                if site.gaps > self.gaps_seen.get(key, 0):
                    self.gaps_seen[key] = site.gaps
                    self._notify(rule, {"site": site.device_id, "kind": "alert", "condition": cond, "ts": int(now),
                                        "missing_events": site.missing})
                continue
            if condition_active(cond, rule, site, self.fleet):
                if self.dedup.start(key, now):
                    self._notify(rule, {"site": site.device_id, "kind": "alert", "condition": cond, "ts": int(now),
                                        "detail": _detail(cond, site)})
            else:
                duration = self.dedup.clear(key, now)
                if duration is not None:
                    self._notify(rule, {"site": site.device_id, "kind": "recovered", "condition": cond,
                                        "ts": int(now), "duration_s": int(duration)})
        if self.notices is not None:
            self.notices.evaluate(site)


def _detail(cond, site):
    st = site.status or {}
    if cond == "cap":
        return {"used_pct": (st.get("usage") or {}).get("used_pct")}
    if cond == "on_backup":
        return {"active_link": st.get("active_link")}
    if cond == "runout":
        u = st.get("usage") or {}
        return {"forecast_exhaustion": u.get("forecast_exhaustion"), "cycle_end": u.get("cycle_end")}
    return {}
