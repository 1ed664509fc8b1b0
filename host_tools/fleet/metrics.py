"""Prometheus text exposition (format 0.0.4) of the Fleet model, for `fleet serve`'s /metrics (pure).

Prometheus naming: base units (seconds, bytes, ratios), `_total` for counters. Values the sites
sent that are not finite numbers are left out rather than exported as garbage: sites are untrusted.
"""
import math

from .model import FLAGS, on_backup

# name -> (type, help, label names); the Grafana dashboard test checks its queries against this
METRICS = {
    "wanwatch_site_online": ("gauge", "1 while the site's state topic says online (0: its last will fired)", ("site",)),
    "wanwatch_link_up": ("gauge", "1 while the link is usable (up, standby or degraded), 0 when down or captive",
                         ("site", "link")),
    "wanwatch_link_active": ("gauge", "1 for the link carrying the site's traffic", ("site", "link")),
    "wanwatch_link_rtt_seconds": ("gauge", "round-trip time of the link's checks", ("site", "link")),
    "wanwatch_link_loss_ratio": ("gauge", "packet loss of the link's checks (0..1)", ("site", "link")),
    "wanwatch_signal_rsrp_dbm": ("gauge", "LTE reference signal received power", ("site",)),
    "wanwatch_signal_sinr_db": ("gauge", "signal to interference plus noise ratio", ("site",)),
    "wanwatch_usage_bytes": ("gauge", "data used on the metered SIM this billing cycle", ("site",)),
    "wanwatch_usage_cap_bytes": ("gauge", "data cap of the metered SIM per billing cycle", ("site",)),
    "wanwatch_usage_cycle_end_timestamp_seconds": ("gauge", "end of the billing cycle", ("site",)),
    "wanwatch_usage_forecast_exhaustion_timestamp_seconds": (
        "gauge", "when the cap runs out at the current rate", ("site",)),
    "wanwatch_on_backup": ("gauge", "1 while the site's traffic runs on a backup link", ("site",)),
    "wanwatch_last_report_timestamp_seconds": ("gauge", "ts of the site's last status report", ("site",)),
    "wanwatch_sites": ("gauge", "sites known to this controller", ()),
    "wanwatch_sites_attention": ("gauge", "sites with this attention condition", ("condition",)),
    "wanwatch_reports_total": ("counter", "MQTT reports ingested by this controller", ()),
    "wanwatch_bad_reports_total": ("counter", "reports ignored as malformed", ()),
}
USABLE_STATES = ("up", "standby", "degraded")


def escape_label(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def number(v):
    """A finite float from what a site sent, or None (bools and strings are not numbers)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _fmt(v):
    return repr(int(v)) if v == int(v) and abs(v) < 1e15 else repr(v)


def samples(fleet, now=None):
    """(metric name, labels tuple of (name, value), value) for every site, in a stable order."""
    out = []
    counts = dict.fromkeys(FLAGS, 0)
    for dev in sorted(fleet.sites):
        site = fleet.sites[dev]
        st = site.status or {}
        lab = (("site", dev),)
        for flag in fleet.attention(site, now):
            counts[flag] += 1
        if site.state is not None:
            out.append(("wanwatch_site_online", lab, 1.0 if site.state == "online" else 0.0))
        links = st.get("links") if isinstance(st.get("links"), dict) else {}
        active = st.get("active_link")
        for name in sorted(links):
            link = links[name] if isinstance(links[name], dict) else {}
            ll = lab + (("link", name),)
            out.append(("wanwatch_link_up", ll, 1.0 if link.get("state") in USABLE_STATES else 0.0))
            out.append(("wanwatch_link_active", ll, 1.0 if name == active else 0.0))
            rtt, loss = number(link.get("rtt_ms")), number(link.get("loss_pct"))
            if rtt is not None:
                out.append(("wanwatch_link_rtt_seconds", ll, rtt / 1000.0))
            if loss is not None:
                out.append(("wanwatch_link_loss_ratio", ll, loss / 100.0))
        sig = st.get("signal") if isinstance(st.get("signal"), dict) else {}
        use = st.get("usage") if isinstance(st.get("usage"), dict) else {}
        for metric, v in (("wanwatch_signal_rsrp_dbm", sig.get("rsrp_dbm")), ("wanwatch_signal_sinr_db", sig.get("sinr_db")),
                          ("wanwatch_usage_bytes", use.get("total_bytes")), ("wanwatch_usage_cap_bytes", use.get("cap_bytes")),
                          ("wanwatch_usage_cycle_end_timestamp_seconds", use.get("cycle_end")),
                          ("wanwatch_usage_forecast_exhaustion_timestamp_seconds", use.get("forecast_exhaustion")),
                          ("wanwatch_last_report_timestamp_seconds", site.last_ts)):
            v = number(v)
            if v is not None:
                out.append((metric, lab, v))
        if site.status is not None:
            out.append(("wanwatch_on_backup", lab, 1.0 if on_backup(site) else 0.0))
    out.append(("wanwatch_sites", (), float(len(fleet.sites))))
    for flag in FLAGS:
        out.append(("wanwatch_sites_attention", (("condition", flag),), float(counts[flag])))
    out.append(("wanwatch_reports_total", (), float(fleet.reports)))
    out.append(("wanwatch_bad_reports_total", (), float(fleet.bad)))
    return out


def render(fleet, now=None):
    """The exposition text: HELP and TYPE once per metric, then its samples."""
    by_metric = {}
    for name, labels, value in samples(fleet, now):
        by_metric.setdefault(name, []).append((labels, value))
    lines = []
    for name, (kind, help_text, _) in METRICS.items():
        lines.append("# HELP %s %s" % (name, help_text.replace("\\", "\\\\").replace("\n", "\\n")))
        lines.append("# TYPE %s %s" % (name, kind))
        for labels, value in by_metric.get(name, ()):
            lab = ",".join('%s="%s"' % (k, escape_label(v)) for k, v in labels)
            lines.append("%s%s %s" % (name, "{%s}" % lab if lab else "", _fmt(value)))
    return "\n".join(lines) + "\n"
