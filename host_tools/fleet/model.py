"""Fleet state built from the devices' MQTT messages (pure: no I/O, no clock reads).

Each site is keyed by device id and holds its latest status, state (online/offline), inventory and
event bookkeeping. `attention()` ranks what an operator must look at first.
"""
import json

# attention flags in priority order (lower index = more urgent)
FLAGS = ("offline", "all_down", "on_backup", "degraded", "cap", "runout", "seq_gap", "stale")
CAP_ATTENTION_PCT = 80.0


class Site:
    __slots__ = ("device_id", "status", "state", "inventory", "last_seq", "last_boot", "gaps",
                 "missing", "events", "last_ts")

    def __init__(self, device_id):
        self.device_id = device_id
        self.status = None
        self.state = None
        self.inventory = None
        self.last_seq = None
        self.last_boot = None
        self.gaps = 0        # number of gaps seen
        self.missing = 0     # events missing in those gaps
        self.events = 0
        self.last_ts = None


class Fleet:
    def __init__(self, prefix="wanwatch", track_gaps=True):
        # on a shared subscription each process sees only part of a site's events, so in-memory gap
        # tracking would report false gaps: there History.seq_gaps() (one DB for all) is the source
        self.track_gaps = track_gaps
        self.prefix = prefix
        self.sites = {}
        self.reports = 0
        self.bad = 0

    def site(self, dev):
        s = self.sites.get(dev)
        if s is None:
            s = self.sites[dev] = Site(dev)
        return s

    def ingest(self, topic, payload):
        """Apply one MQTT message; returns (site, kind, doc) or None for foreign/bad messages.
        Bad payloads are counted and ignored: one broken router must not stop the controller."""
        parts = topic.split("/")
        if len(parts) < 3 or parts[0] != self.prefix:
            return None
        dev, kind = parts[1], "/".join(parts[2:])
        self.reports += 1
        site = self.site(dev)
        if kind == "state":
            site.state = payload.decode(errors="replace") if isinstance(payload, bytes) else str(payload)
            return site, kind, site.state
        if kind not in ("status", "event", "inventory"):
            return site, kind, None
        try:
            doc = json.loads(payload)
            if not isinstance(doc, dict):
                raise ValueError("not an object")
        except ValueError:
            self.bad += 1
            return None
        if not shape_ok(kind, doc):
            self.bad += 1
            return None
        if kind == "status":
            site.status = doc
            site.last_ts = doc.get("ts")
        elif kind == "inventory":
            site.inventory = doc
        else:
            self._event(site, doc)
        return site, kind, doc

    def _event(self, site, ev):
        seq, boot = ev.get("seq"), ev.get("boot")
        site.events += 1
        if not isinstance(seq, int) or not self.track_gaps:
            return
        if site.last_seq is not None and boot == site.last_boot:
            if seq > site.last_seq + 1:
                site.gaps += 1
                site.missing += seq - site.last_seq - 1
                ev["_gap"] = seq - site.last_seq - 1
        if site.last_seq is None or boot != site.last_boot or seq > site.last_seq:
            site.last_seq, site.last_boot = seq, boot  # duplicates (QoS 1 redelivery) don't move it back

    def attention(self, site, now=None, stale_s=900):
        """Flags for a site, most urgent first."""
        flags = []
        st = site.status or {}
        if site.state == "offline":
            flags.append("offline")
        links = st.get("links") or {}
        if links and all((l or {}).get("state") in ("down",) for l in links.values()):
            flags.append("all_down")
        if on_backup(site):
            flags.append("on_backup")
        if any((l or {}).get("state") in ("degraded", "down") for l in links.values()):
            flags.append("degraded")
        u = st.get("usage") or {}
        if u.get("used_pct") is not None and u["used_pct"] >= CAP_ATTENTION_PCT:
            flags.append("cap")
        fe, ce = u.get("forecast_exhaustion"), u.get("cycle_end")
        if fe is not None and ce is not None and fe < ce:
            flags.append("runout")
        if site.gaps:
            flags.append("seq_gap")
        if now is not None and site.last_ts is not None and now - site.last_ts > stale_s and site.state != "offline":
            flags.append("stale")
        return flags

    def ranked(self, now=None):
        """Sites, those needing attention first (by most urgent flag, then name)."""
        def key(s):
            f = self.attention(s, now)
            return (FLAGS.index(f[0]) if f else len(FLAGS), s.device_id)
        return sorted(self.sites.values(), key=key)


def _num_or_none(v):
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


def _dicts(v, kind):
    return v is None or (isinstance(v, kind) and all(isinstance(x, dict) for x in (v.values() if kind is dict else v)))


def shape_ok(kind, doc):
    """The fields attention() and on_backup() compute with have the types they expect: a site that
    sends a string where a number belongs must not crash the controller for every other site."""
    if kind == "status":
        u, sig, active = doc.get("usage"), doc.get("signal"), doc.get("active_link")
        return (_num_or_none(doc.get("ts")) and _dicts(doc.get("links"), dict) and (u is None or isinstance(u, dict))
                and (sig is None or isinstance(sig, dict)) and (active is None or isinstance(active, str))
                and all(_num_or_none((u or {}).get(k)) for k in ("used_pct", "total_bytes", "forecast_exhaustion",
                                                                 "cycle_end")))
    if kind == "inventory":
        return _dicts(doc.get("links"), list)
    return True


def primary_link(site):
    inv = site.inventory or {}
    for l in inv.get("links") or ():
        if l.get("role") == "primary":
            return l.get("name")
    links = list(((site.status or {}).get("links") or {}).keys())
    return links[0] if links else None


def on_backup(site):
    st = site.status or {}
    active = st.get("active_link")
    if not active:
        return False
    inv = site.inventory or {}
    for l in inv.get("links") or ():
        if l.get("name") == active:
            return l.get("role") == "backup"
    p = primary_link(site)
    return p is not None and active != p
