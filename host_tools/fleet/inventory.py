"""`fleet inventory`: every site's self-documentation as CSV or Markdown."""
import csv
import io

COLUMNS = ("device_id", "board", "firmware_version", "modem_vendor", "modem_model", "modem_firmware",
           "imei", "iccid", "imsi", "operator", "links")


def _links(inv):
    out = []
    for l in inv.get("links") or ():
        out.append("%s=%s(%s%s)%s" % (l.get("name"), l.get("device"), l.get("role"),
                                     ",metered" if l.get("metered") else "",
                                     " " + " ".join(l.get("addresses") or []) if l.get("addresses") else ""))
    return "; ".join(out)


def rows(fleet):
    for dev in sorted(fleet.sites):
        inv = fleet.sites[dev].inventory
        if not inv:
            continue
        row = [str(inv.get(c) if inv.get(c) is not None else "") for c in COLUMNS[:-1]]
        row[0] = dev
        yield row + [_links(inv)]


def to_csv(fleet):
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(COLUMNS)
    for r in rows(fleet):
        w.writerow(r)
    return buf.getvalue()


def to_markdown(fleet):
    out = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows(fleet):
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    return "\n".join(out) + "\n"
