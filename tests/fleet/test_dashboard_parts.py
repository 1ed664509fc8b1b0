"""`fleet serve`'s pure parts: SVG charts, Prometheus exposition, Grafana dashboard, token checks,
the bounded in-memory ring, History.status_series, escaping of untrusted site strings, the Hub."""
import asyncio
import json
import os
import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from host_tools.fleet import metrics, sitedata, svgchart, webpages
from host_tools.fleet.history import History
from host_tools.fleet.memhistory import MemoryHistory
from host_tools.fleet.model import Fleet
from host_tools.fleet.serve import is_loopback, parse_listen
from host_tools.fleet.webauth import TokenAuth
from tests.support import paths

EVIL = '<script>alert(1)</script>"\' &x\\y\nz'  # for fields
EVIL_ID = '<img src=x onerror=alert(1)>"\' &x\\y\nz'  # a topic level: anything but '/', '+', '#'


def status(ts, rtt=12.0, state="up", active="wan", rsrp=-90, used=1000):
    return {"v": 1, "ts": ts, "active_link": active,
            "links": {"wan": {"state": state, "rtt_ms": rtt, "loss_pct": 0.0}, "wwan": {"state": "standby"}},
            "signal": {"rat": "LTE", "rsrp_dbm": rsrp, "sinr_db": 9.5},
            "usage": {"total_bytes": used, "cap_bytes": 10_000, "used_pct": used / 100, "cycle_end": ts + 86400,
                      "forecast_exhaustion": ts + 3600}}


def fleet_with(docs):
    f = Fleet()
    for site, doc in docs.items():
        f.ingest("wanwatch/%s/inventory" % site, json.dumps({"links": [{"name": "wan", "role": "primary"},
                                                                      {"name": "wwan", "role": "backup"}]}).encode())
        f.ingest("wanwatch/%s/state" % site, b"online")
        f.ingest("wanwatch/%s/status" % site, json.dumps(doc).encode())
    return f


def test_line_chart_points_gaps_and_escaping():
    svg = svgchart.line_chart([{"name": EVIL, "points": [(0, 1), (60, 2), (120, None), (180, 4), (240, 5)]}],
                              EVIL, "ms")
    assert "<script" not in svg and "&lt;script&gt;" in svg
    path = re.search(r'<path class="series"[^>]*data-points="(\d+)"[^>]*d="([^"]+)"', svg)
    assert path.group(1) == "4" and path.group(2).count("M") == 2 and path.group(2).count("L") == 2
    assert svg.count('class="ytick"') >= 3 and svg.count('class="xtick"') >= 2
    assert "no data yet" in svgchart.line_chart([{"name": "x", "points": [(0, None)]}], "empty")


def test_nice_ticks_cover_the_data():
    for lo, hi in ((-115, -83), (0, 100), (0.001, 0.0123), (12, 12.5), (3, 1e9)):
        t = svgchart.nice_ticks(lo, hi)
        assert t[0] <= lo and t[-1] >= hi and 2 <= len(t) <= 12, (lo, hi, t)


def test_state_band_segments():
    segs = sitedata.state_segments([(0, "up"), (60, "up"), (120, "down"), (180, "up")], until=300)
    assert segs == [(0, 120, "up"), (120, 180, "down"), (180, 300, "up")]
    svg = svgchart.state_band([(EVIL, segs)], "link states", (0, 300))
    assert svg.count('class="state"') == 3 and "<script" not in svg


def test_metrics_render_parse_and_escape():
    f = fleet_with({"a": status(1000), EVIL_ID: status(1001, rtt=None, state="down", active="wwan")})
    f.ingest("wanwatch/b/status", json.dumps(dict(status(1002), links={"wan": {"state": "up", "rtt_ms": "fast"}})).encode())
    text = metrics.render(f, now=1100)
    for name, (kind, _, _) in metrics.METRICS.items():
        assert "# TYPE %s %s" % (name, kind) in text and "# HELP %s " % name in text
    got = {(s.name, tuple(sorted(s.labels.items()))): s.value
           for fam in text_string_to_metric_families(text) for s in fam.samples}
    assert got[("wanwatch_link_rtt_seconds", (("link", "wan"), ("site", "a")))] == 0.012
    assert got[("wanwatch_on_backup", (("site", EVIL_ID),))] == 1.0  # the label survives the escaping intact
    assert got[("wanwatch_link_up", (("link", "wan"), ("site", EVIL_ID)))] == 0.0
    assert ("wanwatch_link_rtt_seconds", (("link", "wan"), ("site", EVIL_ID))) not in got
    assert ("wanwatch_link_rtt_seconds", (("link", "wan"), ("site", "b"))) not in got  # "fast" is not a number
    assert got[("wanwatch_signal_rsrp_dbm", (("site", "a"),))] == -90
    assert got[("wanwatch_usage_cap_bytes", (("site", "a"),))] == 10_000
    assert got[("wanwatch_sites_attention", (("condition", "on_backup"),))] == 1
    assert got[("wanwatch_reports_total", ())] == f.reports


def test_grafana_dashboard_uses_exported_metrics():
    with open(os.path.join(paths.ROOT, "docs", "grafana", "wanwatch.json")) as fh:
        dash = json.load(fh)
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    exprs += [v["definition"] for v in dash["templating"]["list"]]
    assert len(exprs) >= 10
    used = set()
    for e in exprs:
        names = set(re.findall(r"\bwanwatch_[a-z_]+", e))
        assert names, e
        assert names <= set(metrics.METRICS), (e, names - set(metrics.METRICS))
        used |= names
    for required in ("wanwatch_link_up", "wanwatch_link_rtt_seconds", "wanwatch_link_loss_ratio",
                     "wanwatch_signal_rsrp_dbm", "wanwatch_signal_sinr_db", "wanwatch_usage_bytes",
                     "wanwatch_usage_cap_bytes", "wanwatch_on_backup", "wanwatch_last_report_timestamp_seconds"):
        assert required in used


def test_token_auth():
    a = TokenAuth("s3cret-operator-token")
    assert a.allowed("Bearer s3cret-operator-token") and a.allowed("bearer  s3cret-operator-token ")
    assert a.allowed(cookie=a.session.decode()) and a.allowed(query_token="s3cret-operator-token")
    assert not a.allowed() and not a.allowed("Bearer nope") and not a.allowed(cookie="s3cret-operator-token")
    assert not a.allowed("Basic s3cret-operator-token") and not a.allowed(query_token="s3cret-operator-toke")
    assert a.session != TokenAuth("another-operator-token").session  # a new token ends every session
    assert TokenAuth(None).allowed() and not TokenAuth(None).enabled


def test_listen_and_loopback():
    assert parse_listen("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_listen("[::1]:0") == ("::1", 0)
    with pytest.raises(ValueError):
        parse_listen("8080")
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.1.2.3")
    assert not any(is_loopback(h) for h in ("", "0.0.0.0", "::", "10.0.0.1", "noc.example"))


def test_memory_ring_is_bounded():
    h = MemoryHistory(per_site=5, events_per_site=3, max_sites=2)
    for ts in range(10):
        h.add_status("a", dict(status(1000 + ts), modem={"big": "x" * 1000}), False)
        h.add_event("a", {"ts": 1000 + ts, "boot": 1, "seq": ts, "type": "link_state"})
    series = h.status_series("a")
    assert [ts for ts, _ in series] == [1005, 1006, 1007, 1008, 1009]
    assert "modem" not in series[0][1] and series[0][1]["links"]["wan"]["rtt_ms"] == 12.0  # only what charts draw
    assert [ts for ts, _ in h.status_series("a", since_ts=1007, limit=2)] == [1008, 1009]
    assert [e["seq"] for e in h.events_for("a")] == [7, 8, 9]
    h.add_event("a", {"ts": 1, "pad": "x" * 5000})
    assert h.dropped == 1
    for site in ("b", "c"):
        h.add_status(site, status(1), False)
    assert set(h.sites) == {"b", "c"} and h.status_series("a") == []  # least recently reporting site evicted
    many_links = dict(status(1), links={"l%d" % i: {"state": "up"} for i in range(100)})
    h.add_status("b", many_links, False)
    assert len(h.status_series("b")[-1][1]["links"]) == 8


def test_history_status_series(tmp_path):
    h = History(str(tmp_path / "h.db"))
    for ts in (1300, 1000, 1200, 1100):
        h.add_status("s", status(ts), on_backup=False)
    h.add_status("other", status(1150), on_backup=False)
    h.flush()
    assert [ts for ts, _ in h.status_series("s")] == [1000, 1100, 1200, 1300]
    assert [ts for ts, _ in h.status_series("s", since_ts=1100, limit=2)] == [1200, 1300]  # the newest, in order
    assert h.status_series("s")[0][1]["signal"]["rsrp_dbm"] == -90
    h.close()


def test_untrusted_strings_escaped_in_pages():
    f = fleet_with({EVIL_ID: status(1000)})
    f.ingest("wanwatch/%s/inventory" % EVIL_ID, json.dumps({"operator": EVIL, "imei": EVIL, "contact": {"name": EVIL},
                                                         "links": [{"name": EVIL, "addresses": [EVIL]}]}).encode())
    data = sitedata.sites(f, 1000)
    page = webpages.sites_page(data)
    det = sitedata.detail(f, f.sites[EVIL_ID], [(1000, status(1000))],
                          [{"ts": 1000, "type": EVIL, "seq": 1, "boot": 1, EVIL: EVIL}], 1000)
    site = webpages.site_page(det, 1000)
    for html in (page, site):
        assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;&quot;&#x27;" in html
    assert "<script>alert" not in webpages.site_row(data["sites"][0], 1000)
    assert webpages.site_href(EVIL_ID).startswith("/site/%3Cimg%20src%3Dx")


def test_malformed_status_is_counted_not_fatal():
    f = fleet_with({"ok": status(1000)})
    for bad in ({"ts": "yesterday"}, {"usage": {"used_pct": "lots"}}, {"links": {"wan": "up"}}, {"links": ["wan"]},
                {"signal": "strong"}, {"active_link": 3}):
        assert f.ingest("wanwatch/ok/status", json.dumps(dict(status(1000), **bad)).encode()) is None
    assert f.bad == 6 and f.attention(f.sites["ok"], now=1500) == ["runout"]
    assert f.ingest("wanwatch/ok/inventory", json.dumps({"links": "wan"}).encode()) is None


def test_hub_pushes_changed_rows_and_drops_slow_clients():
    from host_tools.fleet.cli import Ingestor
    from host_tools.fleet.web import Hub

    ing = Ingestor("wanwatch")
    for site, doc in (("a", status(1000)), ("b", status(1000))):
        ing.fleet.ingest("wanwatch/%s/status" % site, json.dumps(doc).encode())
    hub = Hub(ing, loop=None, queue_max=2, clock=lambda: 1000)
    first = hub.compute()
    assert set(first["rows"]) == {"a", "b"} and first["order"] == ["a", "b"]
    assert hub.compute() is None  # nothing changed, nothing to push
    ing.fleet.ingest("wanwatch/b/status", json.dumps(status(1001, state="down", active="wwan")).encode())
    msg = hub.compute({"b"})
    assert set(msg["rows"]) == {"b"} and msg["order"] == ["b", "a"] and msg["counts"]["on_backup"] == 1
    assert 'data-flags="on_backup degraded runout"' in msg["rows"]["b"]

    async def slow_client():
        q = hub.subscribe()
        for _ in range(3):  # a client that never reads: its queue fills, then it is dropped
            hub.publish(msg)
        return q

    q = asyncio.run(slow_client())
    assert q not in hub.clients and q.get_nowait() is None
