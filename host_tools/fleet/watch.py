"""`fleet watch`: one line per site, the sites that need attention first."""
import time

from .model import on_backup


def _fmt_pct(v):
    return "-" if v is None else "%.0f%%" % v


def _mb(v):
    return "-" if v is None else "%.0fMB" % (v / 1e6)


def render(fleet, history=None, now=None, month_start=None):
    now = now if now is not None else time.time()
    hdr = "%-18s %-7s %-24s %-8s %5s %8s %-7s %s" % ("SITE", "STATE", "ATTENTION", "ACTIVE", "CAP", "USED",
                                                     "BACKUPd", "SIGNAL")
    lines = [hdr, "-" * len(hdr)]
    for s in fleet.ranked(now):
        st = s.status or {}
        u = st.get("usage") or {}
        sig = st.get("signal") or {}
        flags = fleet.attention(s, now)
        if "seq_gap" in flags:
            flags[flags.index("seq_gap")] = "seq_gap(%d)" % s.missing
        days = "-"
        if history is not None and month_start is not None:
            days = "%.1f" % history.backup_days(s.device_id, month_start)
        rsrp = sig.get("rsrp_dbm")
        lines.append("%-18s %-7s %-24s %-8s %5s %8s %-7s %s" % (
            s.device_id[:18], (s.state or "?")[:7], ",".join(flags)[:24] or "ok",
            (st.get("active_link") or "-")[:8] + ("*" if on_backup(s) else ""),
            _fmt_pct(u.get("used_pct")), _mb(u.get("total_bytes")), days,
            "-" if rsrp is None else "%s %sdBm" % (sig.get("rat") or "", rsrp)))
    lines.append("%d sites, %d need attention, %d reports ingested" % (
        len(fleet.sites), sum(1 for s in fleet.sites.values() if fleet.attention(s, now)), fleet.reports))
    return "\n".join(lines)
