"""`fleet inventory`: every site's self-documentation as CSV or Markdown (with --contacts, the
customer contact of each site next to it: host_tools/fleet/notices/contacts.py)."""
import csv
import io

COLUMNS = ("device_id", "board", "firmware_version", "modem_vendor", "modem_model", "modem_firmware",
           "imei", "iccid", "imsi", "operator", "links")
CONTACT_COLUMNS = ("contact_name", "contact_lang", "contact_email", "contact_sms", "notices")


def _links(inv):
    out = []
    for l in inv.get("links") or ():
        out.append("%s=%s(%s%s)%s" % (l.get("name"), l.get("device"), l.get("role"),
                                     ",metered" if l.get("metered") else "",
                                     " " + " ".join(l.get("addresses") or []) if l.get("addresses") else ""))
    return "; ".join(out)


def _contact(c):
    if c is None:
        return [""] * len(CONTACT_COLUMNS)
    return [c.name, c.lang, "; ".join(c.email), c.sms_webhook or "", "on" if c.notices else "off"]


def columns(contacts=None):
    return COLUMNS + (CONTACT_COLUMNS if contacts is not None else ())


def rows(fleet, contacts=None):
    """contacts: {device_id: Contact} to add each site's customer contact, or None."""
    for dev in sorted(fleet.sites):
        inv = fleet.sites[dev].inventory
        if not inv:
            continue
        row = [str(inv.get(c) if inv.get(c) is not None else "") for c in COLUMNS[:-1]]
        row[0] = dev
        yield row + [_links(inv)] + (_contact(contacts.get(dev)) if contacts is not None else [])


def to_csv(fleet, contacts=None):
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(columns(contacts))
    for r in rows(fleet, contacts):
        w.writerow(r)
    return buf.getvalue()


def to_markdown(fleet, contacts=None):
    cols = columns(contacts)
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows(fleet, contacts):
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    return "\n".join(out) + "\n"
