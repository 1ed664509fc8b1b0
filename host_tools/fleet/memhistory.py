"""`fleet serve` without --history: a bounded in-memory ring of recent status samples and events per
site, with the query methods of History the dashboard uses (status_series, events_for).

Bounded three ways, since sites are untrusted and the process runs for months: samples per site
(`per_site`), events per site, and sites (least recently reporting evicted first). A sample keeps
only what the charts draw (links, signal, usage), stored as compact JSON bytes, so its footprint is
a few hundred bytes instead of a full status doc's object graph.
"""
import collections
import json

PER_SITE_DEFAULT = 120  # 2 h of 60 s reports (10 h at the metered 300 s): ~350 B each, ~85 MB for 2 000 sites
LINKS_KEPT = 8          # the firmware supports up to 8 links; more is a site misbehaving
NAME_MAX = 32
EVENT_BYTES_MAX = 4096  # a bigger event is not kept (counted in `dropped`)


def _pick(d, keys):
    return {k: d[k] for k in keys if isinstance(d, dict) and k in d}


def slim(doc):
    """The chart-relevant subset of a status doc (the same shape, fewer fields)."""
    links = doc.get("links") if isinstance(doc.get("links"), dict) else {}
    return {"ts": doc.get("ts"), "active_link": doc.get("active_link"),
            "links": {str(name)[:NAME_MAX]: _pick(l, ("state", "rtt_ms", "loss_pct"))
                      for name, l in list(links.items())[:LINKS_KEPT]},
            "signal": _pick(doc.get("signal"), ("rsrp_dbm", "sinr_db")),
            "usage": _pick(doc.get("usage"), ("total_bytes",))}


def _dump(doc):
    return json.dumps(doc, separators=(",", ":")).encode()


class _SiteRing:
    __slots__ = ("samples", "events")

    def __init__(self, per_site, events_per_site):
        self.samples = collections.deque(maxlen=per_site)
        self.events = collections.deque(maxlen=events_per_site)


class MemoryHistory:
    def __init__(self, per_site=PER_SITE_DEFAULT, events_per_site=200, max_sites=10000):
        self.per_site = per_site
        self.events_per_site = events_per_site
        self.max_sites = max_sites
        self.sites = collections.OrderedDict()
        self.dropped = 0

    def _ring(self, site):
        ring = self.sites.get(site)
        if ring is None:
            ring = self.sites[site] = _SiteRing(self.per_site, self.events_per_site)
            if len(self.sites) > self.max_sites:
                self.sites.popitem(last=False)
        else:
            self.sites.move_to_end(site)
        return ring

    def add_status(self, site, doc, on_backup=False):
        ts = doc.get("ts")
        if isinstance(ts, (int, float)) and not isinstance(ts, bool):
            self._ring(site).samples.append((ts, _dump(slim(doc))))

    def add_event(self, site, ev):
        raw = _dump(ev)
        if len(raw) > EVENT_BYTES_MAX:
            self.dropped += 1
            return
        self._ring(site).events.append(raw)

    def flush(self):
        return 0

    def status_series(self, site, since_ts=0, limit=2000):
        """[(ts, slim status doc)] from since_ts, ordered by ts: the newest `limit` samples."""
        ring = self.sites.get(site)
        rows = sorted((s for s in (ring.samples if ring else ()) if s[0] >= since_ts), key=lambda s: s[0])
        return [(ts, json.loads(raw)) for ts, raw in rows[-limit:]] if limit > 0 else []

    def events_for(self, site, since_ts=0, limit=100):
        ring = self.sites.get(site)
        evs = [json.loads(raw) for raw in (ring.events if ring else ())]
        evs = [e for e in evs if isinstance(e.get("ts"), (int, float)) and e["ts"] >= since_ts]
        evs.sort(key=lambda e: tuple(e.get(k) if isinstance(e.get(k), int) else 0 for k in ("boot", "seq")))
        return evs[:limit]

    def close(self):
        pass
