"""`wanwatch-host fleet notices preview --site X [--lang it] [--all]`: the customer messages a site's
current state would send, read from the broker like `fleet watch --once`."""
import sys
import time

from .contacts import ContactsError, load_contacts
from .messages import preview
from .settings import Settings


def _settings(args):
    """Settings from --rules (the notices section) or a bare --contacts file."""
    if args.rules:
        from ..alerts import RulesError, load_rules
        try:
            rules = load_rules(args.rules)
        except RulesError as e:
            raise ContactsError(str(e))
        if not rules.get("notices"):
            raise ContactsError("%s: no notices section" % args.rules)
        return rules["notices"]
    return Settings(contacts=load_contacts(args.contacts) if args.contacts else {})


def contacts_or_exit(path):
    try:
        return load_contacts(path)
    except ContactsError as e:
        sys.exit("fleet: %s" % e)


def format_messages(site_id, contact, msgs):
    out = []
    if contact is None:
        out.append("(%s has no contact: shown with the site id as the name, in English unless --lang)" % site_id)
    elif not contact.notices:
        out.append("(notices are off for %s: nothing is sent; shown as they would read)" % site_id)
    if not msgs:
        out.append("nothing would be sent to %s now" % site_id)
    for m in msgs:
        to = []
        if contact is not None:
            to += ["e-mail " + ", ".join(contact.email)] if contact.email else []
            to += ["SMS via " + contact.sms_webhook] if contact.sms_webhook else []
        out.append("=== %s (%s)%s -> %s" % (m["kind"], m["lang"], " [sample figures]" if m.get("sample") else "",
                                           "; ".join(to) or "nobody"))
        out.append("Subject: " + m["subject"])
        out.append("")
        out.append(m["text"])
        out.append("--- SMS (%d characters)" % len(m["sms"]))
        out.append(m["sms"])
        out.append("")
    return "\n".join(out)


def cmd_preview(args):
    from ..cli import Ingestor, _connect
    try:
        settings = _settings(args)
    except ContactsError as e:
        print("fleet notices: %s" % e, file=sys.stderr)
        return 2
    ing = Ingestor(args.prefix)
    c = _connect(args, ing, "notices")
    ing.settle(args.settle)
    c.loop_stop()
    with ing.lock:
        site = ing.fleet.sites.get(args.site)
        if site is None or site.status is None:
            print("fleet notices: no status from %s on the broker" % args.site, file=sys.stderr)
            return 1
        contact = settings.contacts.get(args.site)
        msgs = preview(site, contact, time.time(), args.lang, settings, every=args.all)
    print(format_messages(args.site, contact, msgs))
    return 0


def add_parser(sub, common):
    p = sub.add_parser("notices", help="customer notices: preview what a site's customer would be told")
    nsub = p.add_subparsers(dest="notices_cmd", required=True)
    p = nsub.add_parser("preview", help="print the messages a site's current state would send now")
    common(p)
    p.add_argument("--site", required=True)
    p.add_argument("--lang", help="render in this language instead of the contact's")
    p.add_argument("--rules", help="alert rules file with a notices section")
    p.add_argument("--contacts", help="contacts file (without --rules)")
    p.add_argument("--all", action="store_true", help="every kind of message, with the site's figures")
    p.add_argument("--settle", type=float, default=1.0)
    p.set_defaults(fn=cmd_preview)
