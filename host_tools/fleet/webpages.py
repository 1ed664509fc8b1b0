"""HTML of the dashboard pages (pure: the dicts of sitedata.py in, HTML strings out).

Every value that came from a site goes through esc(): site ids, link names, operators, event
fields and inventory are untrusted input. The sites list rows are rendered here only, for the first
load and for the live updates alike (the page's script swaps in the rows the server sends).
"""
import time
import urllib.parse

from . import svgchart
from .model import FLAGS
from .sitedata import search_text, state_segments
from .svgchart import esc


def fmt_time(ts, now=None):
    if ts is None:
        return "-"
    fmt = "%H:%M:%S" if now is not None and abs(now - ts) < 86400 else "%Y-%m-%d %H:%M"
    return time.strftime(fmt, time.gmtime(ts))


def fmt_bytes(n):
    if n is None:
        return "-"
    for unit, div in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= div:
            return "%.1f %s" % (n / div, unit)
    return "%d B" % n


def site_href(site_id):
    return "/site/" + urllib.parse.quote(site_id, safe="")


def page(title, body, script=False):
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>%s</title><link rel=\"stylesheet\" href=\"/static/dashboard.css\"></head>\n"
            "<body data-live=\"0\"><header><a class=\"brand\" href=\"/\">wanwatch fleet</a>"
            "<span id=\"live\" class=\"live\"></span></header>\n<main>%s</main>%s</body></html>\n"
            % (esc(title), body, "<script src=\"/static/dashboard.js\"></script>" if script else ""))


def _flags(flags):
    if not flags:
        return '<span class="flag flag-ok">ok</span>'
    return " ".join('<span class="flag flag-%s">%s</span>' % (esc(f), esc(f)) for f in flags)


def _link_badge(name, link):
    tip = "%s: %s" % (name, link["state"])
    if link["rtt_ms"] is not None:
        tip += ", rtt %.0f ms" % link["rtt_ms"]
    if link["loss_pct"] is not None:
        tip += ", loss %.0f%%" % link["loss_pct"]
    return '<span class="link link-%s" title="%s">%s</span>' % (esc(link["state"]), esc(tip), esc(name))


def _signal(r):
    if r["rsrp_dbm"] is None:
        return "-"
    text = "%s %.0f dBm" % (r["rat"] or "", r["rsrp_dbm"])
    if r["sinr_db"] is not None:
        text += " / %.0f dB" % r["sinr_db"]
    return esc(text.strip())


def _usage(r):
    if r["used_pct"] is None:
        return "-"
    pct = max(0.0, min(r["used_pct"], 100.0))
    return ('<meter min="0" max="100" low="50" high="80" optimum="0" value="%.1f"></meter> %.0f%% of %s'
            % (pct, r["used_pct"], esc(fmt_bytes(r["cap_bytes"]))))


def site_row(r, now):
    active = esc(r["active_link"] or "-") + (' <span class="backup">backup</span>' if r["on_backup"] else "")
    runout = "-"
    if r["forecast_exhaustion"] is not None and r["cycle_end"] is not None and r["forecast_exhaustion"] < r["cycle_end"]:
        runout = '<span title="%s UTC">%s</span>' % (esc(fmt_time(r["forecast_exhaustion"])),
                                                    esc(fmt_in(r["forecast_exhaustion"], now)))
    return ('<tr data-site="%s" data-flags="%s" data-attention="%s" data-search="%s">'
            '<td class="site"><a href="%s">%s</a></td><td class="state state-%s">%s</td><td class="flags">%s</td>'
            '<td class="active">%s</td><td class="links">%s</td><td class="signal">%s</td><td class="usage">%s</td>'
            '<td class="runout">%s</td><td class="last">%s</td></tr>'
            % (esc(r["site"]), esc(" ".join(r["flags"]) or "ok"), esc(r["flags"][0] if r["flags"] else "ok"),
               esc(search_text(r)), esc(site_href(r["site"])), esc(r["site"]), esc(r["state"]), esc(r["state"]),
               _flags(r["flags"]), active, " ".join(_link_badge(n, l) for n, l in r["links"].items()) or "-",
               _signal(r), _usage(r), runout, esc(fmt_time(r["last_report"], now))))


def counts_bar(counts):
    return "".join('<button type="button" class="count" data-condition="%s"><span class="dot flag-%s"></span>%s '
                   '<b data-count="%s">%d</b></button>' % (c, c, c.replace("_", " "), c, counts[c])
                   for c in FLAGS + ("ok",))


def fmt_in(ts, now):
    """A time ahead as "in 5.8 d" / "in 7 h"."""
    left = ts - now
    if left <= 0:
        return "now"
    return "in %.1f d" % (left / 86400) if left >= 2 * 86400 else "in %.0f h" % max(left / 3600, 1)


def sites_page(data):
    now = data["generated"]
    rows = "\n".join(site_row(r, now) for r in data["sites"])
    body = ('<section class="toolbar"><div class="counts">%s</div>'
            '<input id="filter" type="search" placeholder="filter: site, operator, condition, link" '
            'aria-label="filter sites"><span id="shown">%d sites</span></section>'
            '<table id="sites"><thead><tr><th>site</th><th>state</th><th>attention</th><th>active</th>'
            '<th>links</th><th>signal</th><th>data used</th><th>runs out</th><th>last report (UTC)</th>'
            '</tr></thead><tbody id="sites-body">\n%s\n</tbody></table>'
            % (counts_bar(data["counts"]), data["total"], rows))
    return page("wanwatch fleet: %d sites" % data["total"], body, script=True)


def charts(det, now):
    """The site page's SVG charts: link states, RTT, loss, RSRP, SINR, data used with the forecast."""
    s = det["series"]
    times = [ts for ts, _ in s["rsrp_dbm"]] or [now]
    span = (min(times), max(max(times), now))
    out = [svgchart.state_band([(n, state_segments(p, now)) for n, p in s["link_states"].items()], "link states", span)]
    out.append(svgchart.line_chart([{"name": n, "points": p} for n, p in s["rtt_ms"].items()], "RTT", "ms",
                                   x_range=span, zero_based=True))
    out.append(svgchart.line_chart([{"name": n, "points": p} for n, p in s["loss_pct"].items()], "loss", "%",
                                   x_range=span, y_range=(0, 100)))
    out.append(svgchart.line_chart([{"name": "RSRP", "points": s["rsrp_dbm"]}], "signal RSRP", "dBm", x_range=span))
    out.append(svgchart.line_chart([{"name": "SINR", "points": s["sinr_db"]}], "signal SINR", "dB", x_range=span))
    used = [{"name": "used", "points": [(t, None if v is None else v / 1e9) for t, v in s["used_bytes"]]}]
    hlines, vlines, end = [], [], span[1]
    cap = det["row"]["cap_bytes"]
    if cap:
        hlines.append((cap / 1e9, "cap %s" % fmt_bytes(cap)))
    if det["forecast"]:
        used.append({"name": "forecast", "points": [(t, v / 1e9) for t, v in det["forecast"]], "dashed": True})
        end = max(end, det["forecast"][-1][0])
        fe = det["row"]["forecast_exhaustion"]
        if fe is not None and fe <= end:
            vlines.append((fe, "runs out %s UTC" % fmt_time(fe)))
    out.append(svgchart.line_chart(used, "data used", "GB", x_range=(span[0], end), hlines=hlines, vlines=vlines,
                                   zero_based=True))
    return out


def _timeline(entries, now):
    if not entries:
        return '<p class="empty">no events stored for this site yet</p>'
    rows = []
    for e in entries:
        details = ", ".join("%s=%s" % (k, v) for k, v in e["details"].items())
        rows.append('<tr class="ev ev-%s"><td>%s</td><td><span class="cat cat-%s">%s</span></td><td>%s</td><td>%s</td>'
                    '</tr>' % (esc(e["category"]), esc(fmt_time(e["ts"])), esc(e["category"]), esc(e["category"]),
                               esc(e["type"]), esc(details)))
    return ('<table class="timeline"><thead><tr><th>time (UTC)</th><th>kind</th><th>event</th><th>details</th></tr>'
            '</thead><tbody>%s</tbody></table>' % "".join(rows))


def _inventory(inv):
    fields = "".join("<dt>%s</dt><dd>%s</dd>" % (esc(k), esc(v)) for k, v in inv["fields"]) or "<dt>-</dt><dd>none</dd>"
    links = "".join('<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>'
                    % (esc(l["name"] or "-"), esc(l["device"] or "-"), esc(l["role"] or "-"),
                       "metered" if l["metered"] else "", esc(" ".join(l["addresses"]) or "-")) for l in inv["links"])
    contact = "".join("<dt>%s</dt><dd>%s</dd>" % (esc(k), esc(v)) for k, v in inv["contact"])
    return ('<dl class="inventory">%s</dl><table class="inv-links"><thead><tr><th>link</th><th>device</th><th>role</th>'
            '<th></th><th>addresses</th></tr></thead><tbody>%s</tbody></table><h3>contact</h3>%s'
            % (fields, links, '<dl class="contact">%s</dl>' % contact if contact else '<p class="empty">none on file</p>'))


def site_page(det, now):
    r = det["row"]
    summary = ('<h1>%s</h1><p class="summary"><span class="state state-%s">%s</span> %s · active <b>%s</b>%s · '
               'signal %s · data %s · last report %s UTC · <a href="/api/site/%s">JSON</a></p>'
               % (esc(r["site"]), esc(r["state"]), esc(r["state"]), _flags(r["flags"]), esc(r["active_link"] or "-"),
                  ' <span class="backup">backup</span>' if r["on_backup"] else "", _signal(r), _usage(r),
                  esc(fmt_time(r["last_report"], now)), esc(urllib.parse.quote(r["site"], safe=""))))
    body = (summary + '<section class="charts">%s</section><h2>timeline</h2>%s<h2>inventory</h2>%s'
            % ("\n".join('<figure>%s</figure>' % c for c in charts(det, now)), _timeline(det["timeline"], now),
               _inventory(det["inventory"])))
    return page("wanwatch: %s" % r["site"], body)


def login_page(next_path="/", error=None):
    body = ('<form class="login" method="post" action="/login"><h1>operator token</h1>%s'
            '<input type="hidden" name="next" value="%s"><input type="password" name="token" '
            'autocomplete="current-password" aria-label="token" autofocus><button type="submit">sign in</button></form>'
            % ('<p class="error">%s</p>' % esc(error) if error else "", esc(next_path)))
    return page("wanwatch: sign in", body)


def not_found(what):
    return page("not found", '<p class="empty">%s</p><p><a href="/">all sites</a></p>' % esc(what))
