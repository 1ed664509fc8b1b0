"""Sends the customer notices (the edge): per report, the pure core decides and renders; this
delivers by e-mail (the rules' smtp notifier) and/or the contact's SMS-gateway webhook, copies to
the NOC's notifiers, and keeps the de-duplication book on disk when settings.state is set."""
import collections
import json
import os
import sys

from ..alerts import Dedup, post_json, send_mail
from . import decide, messages
from .templates import one_line


class Notices:
    def __init__(self, settings, clock, notifiers=None):
        self.settings = settings
        self.clock = clock  # callable -> epoch seconds
        self.notifiers = notifiers or {}
        self.dedup = Dedup(settings.quiet_s)
        self.known = decide.known_conditions(settings)
        self.sent = collections.deque(maxlen=1000)  # the latest messages out (+ site, channels, ts)
        self.failed = 0
        self._load()
        self._saved = self.dedup.version

    def evaluate(self, site):
        contact = self.settings.contacts.get(site.device_id)
        if contact is None or not contact.notices or site.status is None or site.state == "offline":
            return []  # an offline router's last status is old news: tell nothing until it is back
        now = self.clock()
        out = messages.due(self.dedup, site, contact, self.settings, now, self.known)
        for m in out:
            self._deliver(site, contact, m, now)
        if self.dedup.version != self._saved:
            self._save()
        return out

    def _deliver(self, site, contact, m, now):
        channels = []
        if contact.email and self.settings.mail:
            channels.append(("email", lambda: send_mail(
                self.settings.mail, contact.email, m["subject"], m["text"],
                headers=[("Content-Language", m["lang"]), ("X-Wanwatch-Site", one_line(site.device_id)),
                         ("X-Wanwatch-Notice", m["kind"])])))
        if contact.sms_webhook:
            channels.append(("sms", lambda: post_json(contact.sms_webhook, {
                "to": contact.phone, "text": m["sms"], "site": site.device_id, "kind": m["kind"], "lang": m["lang"]})))
        done = []
        for name, send in channels:
            try:
                send()
                done.append(name)
            except Exception as e:  # one dead channel must not stop the other
                self.failed += 1
                sys.stderr.write("notice %s to %s failed: %s\n" % (name, site.device_id, e))
        self.sent.append(dict(m, site=site.device_id, channels=done, ts=int(now)))
        note = {"site": site.device_id, "kind": "notice", "condition": m["kind"], "ts": int(now), "lang": m["lang"],
                "channels": done, "subject": m["subject"], "text": m["text"]}
        for n in self.settings.copy:
            self.notifiers[n].send(note)

    def _load(self):
        path = self.settings.state
        if not path or not os.path.exists(path):
            return
        try:
            with open(path) as f:
                doc = json.load(f)
            self.dedup.active = {(s, c): ts for s, c, ts in doc["active"]}
            self.dedup.last_note = {(s, c): ts for s, c, ts in doc["last_note"]}
        except (OSError, ValueError, KeyError, TypeError) as e:  # a broken book: start afresh, say so
            sys.stderr.write("notices state %s unreadable, starting afresh: %s\n" % (path, e))

    def _save(self):
        path = self.settings.state
        self._saved = self.dedup.version
        if not path:
            return
        doc = {"active": [[s, c, ts] for (s, c), ts in sorted(self.dedup.active.items())],
               "last_note": [[s, c, ts] for (s, c), ts in sorted(self.dedup.last_note.items())]}
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(doc, f)
        os.replace(tmp, path)
