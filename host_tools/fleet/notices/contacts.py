"""Per-site customer contacts, kept by the operator beside the inventory in a JSON or CSV file.

JSON: {"<device_id>": {"name": "Bar Centrale", "lang": "it", "email": "x@y" | ["x@y", ...],
                       "phone": "+39...", "sms_webhook": "https://gateway/...", "notices": true}}
CSV:  header site,name,lang,email,phone,sms_webhook,notices (emails separated by ";", notices
      yes/no, true/false or 1/0) — what a spreadsheet exports.
Only name is required; lang defaults to en, notices to off.
"""
import csv
import json
import re
from dataclasses import dataclass

FIELDS = ("name", "lang", "email", "phone", "sms_webhook", "notices")
EMAIL = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+$")
LANG = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$")
PHONE = re.compile(r"^\+?[0-9 ]{4,20}$")
TRUE, FALSE = ("1", "true", "yes", "on", "y"), ("", "0", "false", "no", "off", "n")


class ContactsError(ValueError):
    pass


@dataclass(frozen=True)
class Contact:
    site: str
    name: str
    lang: str = "en"
    email: tuple = ()
    phone: str = None
    sms_webhook: str = None
    notices: bool = False

    def as_dict(self):
        return {"site": self.site, "name": self.name, "lang": self.lang, "email": list(self.email),
                "phone": self.phone, "sms_webhook": self.sms_webhook, "notices": self.notices}


def check_contact(site, doc, src="<contacts>"):
    where = "%s: %s" % (src, site)
    if not isinstance(doc, dict):
        raise ContactsError("%s: must be an object" % where)
    extra = sorted(set(doc) - set(FIELDS))
    if extra:
        raise ContactsError("%s: unknown field %s (fields: %s)" % (where, extra[0], ", ".join(FIELDS)))
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 80:
        raise ContactsError("%s: name must be a text of 1-80 characters" % where)
    lang = doc.get("lang") or "en"
    if not isinstance(lang, str) or not LANG.match(lang):
        raise ContactsError("%s: lang must be a language code such as it or en" % where)
    email = doc.get("email") or ()
    email = (email,) if isinstance(email, str) else tuple(email)
    for e in email:
        if not isinstance(e, str) or not EMAIL.match(e):
            raise ContactsError("%s: email %r is not one address" % (where, e))
    phone = doc.get("phone") or None
    if phone is not None and (not isinstance(phone, str) or not PHONE.match(phone)):
        raise ContactsError("%s: phone must be digits, optionally with a leading +" % where)
    hook = doc.get("sms_webhook") or None
    if hook is not None and (not isinstance(hook, str) or not re.match(r"^https?://\S+$", hook)):
        raise ContactsError("%s: sms_webhook must be an http(s) URL" % where)
    notices = doc.get("notices", False)
    if not isinstance(notices, bool):
        raise ContactsError("%s: notices must be true or false" % where)
    if notices and not email and not hook:
        raise ContactsError("%s: notices are on but there is no email or sms_webhook to send them to" % where)
    return Contact(site, name.strip(), lang, email, phone, hook, notices)


def _csv_rows(text, src):
    rows = list(csv.DictReader(text.splitlines()))
    out = {}
    for i, row in enumerate(rows, 2):
        site = (row.pop("site", None) or "").strip()
        if not site:
            raise ContactsError("%s: line %d: no site" % (src, i))
        doc = {k: (v or "").strip() for k, v in row.items() if k is not None}
        flag = doc.get("notices", "").lower()
        if flag not in TRUE + FALSE:
            raise ContactsError("%s: line %d: notices must be yes or no" % (src, i))
        doc["notices"] = flag in TRUE
        doc["email"] = [e.strip() for e in doc.get("email", "").split(";") if e.strip()]
        out[site] = {k: v for k, v in doc.items() if v not in ("", [])}
    return out


def load_contacts(path):
    """{device_id: Contact} from a .json or .csv contacts file."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        docs = _csv_rows(text, path) if path.lower().endswith(".csv") else json.loads(text)
    except (OSError, ValueError) as e:
        if isinstance(e, ContactsError):
            raise
        raise ContactsError("%s: %s" % (path, e))
    if not isinstance(docs, dict):
        raise ContactsError("%s: must map site ids to contacts" % path)
    return {site: check_contact(site, doc, path) for site, doc in docs.items()}
