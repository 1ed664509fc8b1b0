"""What the dashboard shows, as plain data (pure: Fleet model + history samples in, dicts out).

The same dicts feed the HTML pages and the JSON API. Everything a site sent is type-checked here
(a string where a number belongs is dropped), so the renderers only ever see sane shapes.
"""
from .metrics import number
from .model import FLAGS, on_backup

# event types by what the timeline shows them as
EVENT_CATEGORIES = {"failover": "failover", "failback": "failover", "link_state": "link", "all_links_down": "link",
                    "links_recovered": "link", "captive": "link", "captive_cleared": "link", "iface": "link",
                    "session_restart": "link", "agent_start": "info", "modem_ready": "info",
                    "usage_calibrated": "info", "usage_reset": "info", "usage_cap_changed": "info"}
EVENT_FIELDS_SHOWN = 6


def _dict(v):
    return v if isinstance(v, dict) else {}


def _str(v):
    return v if isinstance(v, str) else (None if v is None else str(v))


def links_of(status):
    """{name: {"state", "active", "rtt_ms", "loss_pct"}} from a status doc, sanitised."""
    out = {}
    for name, link in sorted(_dict(_dict(status).get("links")).items()):
        link = _dict(link)
        out[str(name)] = {"state": _str(link.get("state")) or "unknown", "active": link.get("active") is True,
                          "rtt_ms": number(link.get("rtt_ms")), "loss_pct": number(link.get("loss_pct"))}
    return out


def row(fleet, site, now):
    """One line of the sites list."""
    st = _dict(site.status)
    sig, use, inv = _dict(st.get("signal")), _dict(st.get("usage")), _dict(site.inventory)
    return {"site": site.device_id, "state": _str(site.state) or "unknown", "flags": fleet.attention(site, now),
            "active_link": _str(st.get("active_link")), "on_backup": on_backup(site), "links": links_of(st),
            "operator": _str(_dict(st.get("network")).get("operator") or inv.get("operator")),
            "rat": _str(sig.get("rat")), "rsrp_dbm": number(sig.get("rsrp_dbm")), "sinr_db": number(sig.get("sinr_db")),
            "used_pct": number(use.get("used_pct")), "used_bytes": number(use.get("total_bytes")),
            "cap_bytes": number(use.get("cap_bytes")), "forecast_exhaustion": number(use.get("forecast_exhaustion")),
            "cycle_end": number(use.get("cycle_end")), "last_report": number(site.last_ts),
            "events_missing": site.missing}


def counts(flag_lists):
    """Sites per attention condition (a site counts under each of its flags), and "ok"."""
    c = dict.fromkeys(FLAGS, 0)
    c["ok"] = 0
    for flags in flag_lists:
        for f in flags:
            c[f] += 1
        if not flags:
            c["ok"] += 1
    return c


def matches(r, query=None, condition=None):
    if condition and not (condition in r["flags"] or (condition == "ok" and not r["flags"])):
        return False
    return not query or query.lower() in search_text(r)


def search_text(r):
    """What the filter box matches against: id, operator, state, conditions, link names."""
    return " ".join([r["site"], r["operator"] or "", r["state"], " ".join(r["flags"]) or "ok",
                     " ".join(r["links"])]).lower()


def sites(fleet, now, query=None, condition=None):
    """The sites list in attention order (Fleet.ranked, the order `fleet watch` prints)."""
    rows = [row(fleet, s, now) for s in fleet.ranked(now)]
    return {"generated": now, "total": len(rows), "reports": fleet.reports, "counts": counts([r["flags"] for r in rows]),
            "sites": [r for r in rows if matches(r, query, condition)]}


def series(samples):
    """Time series for the charts from [(ts, status doc)], oldest first."""
    rtt, loss, states = {}, {}, {}
    rsrp, sinr, used = [], [], []
    for ts, doc in samples:
        ts = number(ts)
        if ts is None:
            continue
        for name, link in links_of(doc).items():
            rtt.setdefault(name, []).append((ts, link["rtt_ms"]))
            loss.setdefault(name, []).append((ts, link["loss_pct"]))
            states.setdefault(name, []).append((ts, link["state"]))
        sig, use = _dict(_dict(doc).get("signal")), _dict(_dict(doc).get("usage"))
        rsrp.append((ts, number(sig.get("rsrp_dbm"))))
        sinr.append((ts, number(sig.get("sinr_db"))))
        used.append((ts, number(use.get("total_bytes"))))
    return {"rtt_ms": rtt, "loss_pct": loss, "link_states": states, "rsrp_dbm": rsrp, "sinr_db": sinr,
            "used_bytes": used}


def state_segments(points, until):
    """[(ts, state)] -> [(start, end, state)]: each sample holds until the next one (the last until `until`)."""
    segs = []
    for (ts, state), nxt in zip(points, points[1:] + [(max(until, points[-1][0]), None)]):
        if segs and segs[-1][2] == state:
            segs[-1] = (segs[-1][0], nxt[0], state)
        else:
            segs.append((ts, nxt[0], state))
    return segs


def forecast(status, now):
    """The run-out forecast line: from (now, used) to where the cap is reached, cut at the cycle end."""
    use = _dict(_dict(status).get("usage"))
    used, cap = number(use.get("total_bytes")), number(use.get("cap_bytes"))
    fe, ce = number(use.get("forecast_exhaustion")), number(use.get("cycle_end"))
    if used is None or not cap or fe is None or fe <= now:
        return None
    end = min(fe, ce) if ce is not None and ce > now else fe
    return [(now, used), (end, used + (cap - used) * (end - now) / (fe - now))]


def timeline(events):
    """Events as timeline entries, newest first: ts, type, category, the event's other fields."""
    out = []
    for ev in events:
        ev = _dict(ev)
        kind = _str(ev.get("type")) or "?"
        cat = EVENT_CATEGORIES.get(kind, "alert")
        details = {str(k): v for k, v in sorted(ev.items()) if k not in ("v", "type", "seq", "boot", "ts")
                   and isinstance(v, (str, int, float, bool))}
        out.append({"ts": number(ev.get("ts")), "type": kind, "category": cat,
                    "details": dict(list(details.items())[:EVENT_FIELDS_SHOWN])})
    out.sort(key=lambda e: -(e["ts"] or 0))
    return out


def inventory(site):
    """The site's documentation: modem, SIM, links with addresses, contact (whatever shape it has)."""
    inv, st = _dict(site.inventory), _dict(site.status)
    modem, sim = _dict(st.get("modem")), _dict(st.get("sim"))
    fields = [("board", inv.get("board")), ("firmware", inv.get("firmware_version")),
              ("modem", " ".join(str(x) for x in (inv.get("modem_vendor") or modem.get("vendor"),
                                                   inv.get("modem_model") or modem.get("model")) if x)),
              ("modem firmware", inv.get("modem_firmware") or modem.get("firmware")),
              ("IMEI", inv.get("imei") or modem.get("imei")), ("ICCID", inv.get("iccid") or sim.get("iccid")),
              ("IMSI", inv.get("imsi") or sim.get("imsi")), ("operator", inv.get("operator"))]
    links = []
    for l in inv.get("links") if isinstance(inv.get("links"), list) else ():
        l = _dict(l)
        addrs = l.get("addresses") if isinstance(l.get("addresses"), list) else []
        links.append({"name": _str(l.get("name")), "device": _str(l.get("device")), "role": _str(l.get("role")),
                      "metered": l.get("metered") is True, "addresses": [str(a) for a in addrs]})
    contact = inv.get("contact")
    if isinstance(contact, dict):
        contact = [(str(k), _str(v)) for k, v in sorted(contact.items()) if isinstance(v, (str, int, float))]
    elif contact is not None:
        contact = [("contact", str(contact))]
    return {"fields": [(k, _str(v)) for k, v in fields if v not in (None, "")], "links": links,
            "contact": contact or []}


def detail(fleet, site, samples, events, now):
    """Everything the site page shows."""
    return {"row": row(fleet, site, now), "series": series(samples), "forecast": forecast(site.status, now),
            "timeline": timeline(events), "inventory": inventory(site), "status": site.status}
