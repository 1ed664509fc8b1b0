"""The "notices" section of the alert rules file, checked into a Settings object.

  "notices": {"contacts": "contacts.json",   # or .csv; relative to the rules file
              "mail": "mail",                # an smtp notifier: its server and From send the e-mails
              "copy": ["log"],               # notifiers that get a copy of every notice (the NOC)
              "provider": "Rete Rossi Srl",  # signs the messages (default: the language's wording)
              "cap_pct": [50, 80, 100],      # data cap thresholds told to the customer
              "runout_h": 24,                # tell when the backup's data runs out within this
              "quiet_s": 600,                # default: the rules' quiet_s
              "state": "notices-state.json"} # what was told survives a controller restart
"""
import os
from dataclasses import dataclass, field

from .contacts import ContactsError, load_contacts

KEYS = ("contacts", "mail", "copy", "provider", "cap_pct", "runout_h", "quiet_s", "state")


class SettingsError(ValueError):
    pass


@dataclass
class Settings:
    contacts: dict = field(default_factory=dict)
    mail: dict = None          # the smtp notifier's spec
    copy: tuple = ()
    provider: str = None
    cap_pct: tuple = (50, 80, 100)
    runout_h: float = 24
    quiet_s: float = 600
    state: str = None


def check_settings(doc, base_dir=".", notifiers=None, quiet_s=600):
    notifiers = notifiers or {}
    if not isinstance(doc, dict):
        raise SettingsError("must be an object")
    extra = sorted(set(doc) - set(KEYS))
    if extra:
        raise SettingsError("unknown key %s (keys: %s)" % (extra[0], ", ".join(KEYS)))

    def path(p):
        return p if os.path.isabs(p) else os.path.join(base_dir, p)

    if not isinstance(doc.get("contacts"), str):
        raise SettingsError("contacts must name the contacts file")
    try:
        contacts = load_contacts(path(doc["contacts"]))
    except ContactsError as e:
        raise SettingsError(str(e))
    s = Settings(contacts=contacts, quiet_s=doc.get("quiet_s", quiet_s), runout_h=doc.get("runout_h", 24),
                 provider=doc.get("provider"), state=path(doc["state"]) if doc.get("state") else None)
    mail = doc.get("mail")
    if mail is not None:
        if (notifiers.get(mail) or {}).get("type") != "smtp":
            raise SettingsError("mail must name an smtp notifier")
        s.mail = notifiers[mail]
    elif any(c.email and c.notices for c in contacts.values()):
        raise SettingsError("contacts with notices on have e-mail addresses but no 'mail' notifier is named")
    s.copy = tuple(doc.get("copy") or ())
    for n in s.copy:
        if n not in notifiers:
            raise SettingsError("copy names unknown notifier %r" % n)
    pct = doc.get("cap_pct", [50, 80, 100])
    if not isinstance(pct, list) or not all(isinstance(p, (int, float)) and 0 < p <= 100 for p in pct):
        raise SettingsError("cap_pct must be a list of percentages (0-100]")
    s.cap_pct = tuple(sorted(set(pct)))
    for k in ("quiet_s", "runout_h"):
        if not isinstance(getattr(s, k), (int, float)) or getattr(s, k) < 0:
            raise SettingsError("%s must be a number >= 0" % k)
    if s.provider is not None and not isinstance(s.provider, str):
        raise SettingsError("provider must be a text")
    return s
