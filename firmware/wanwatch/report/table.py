# table.py: the technician's status table (80 columns) from a status document, and the
# `wanwatch status [--json] [--run-dir DIR]` command that reads the running agent's RAM status file.
# Pure rendering: unknown values show as "-", never 0.
from ..compat import dumps, loads

WIDTH = 80


def _v(x, fmt="%s", unit=""):
    if x is None:
        return "-"
    try:
        return (fmt % x) + unit
    except TypeError:
        return str(x)


def _bar(frac, width=10):
    if frac is None:
        return "[" + "?" * width + "]"
    n = int(round(max(0.0, min(1.0, frac)) * width))
    return "[" + "#" * n + "." * (width - n) + "]"


def signal_bars(rsrp, rssi):
    """0-5 bars from RSRP (LTE/NR) or RSSI (2G/3G); None when unknown."""
    if rsrp is not None:
        for bars, lim in ((5, -80), (4, -90), (3, -100), (2, -110), (1, -120)):
            if rsrp >= lim:
                return bars
        return 0
    if rssi is not None:
        for bars, lim in ((5, -65), (4, -75), (3, -85), (2, -95), (1, -105)):
            if rssi >= lim:
                return bars
        return 0
    return None


def _mb(b):
    if b is None:
        return "-"
    if b >= 10 ** 9:
        return "%.2f GB" % (b / 1e9)
    return "%.1f MB" % (b / 1e6)


def _date(ts):
    if ts is None:
        return "-"
    try:
        from ..usage.cycle import iso_utc
        return iso_utc(ts)[:16].replace("T", " ")
    except (ImportError, Exception):
        return str(ts)


def _fit(line, width):
    return line if len(line) <= width else line[:width - 1] + ">"


def render(st, events=None, width=WIDTH):
    m = st.get("modem") or {}
    sim = st.get("sim") or {}
    net = st.get("network") or {}
    sig = st.get("signal") or {}
    u = st.get("usage") or {}
    q = st.get("mqtt") or {}
    out = []
    title = " wanwatch %s  up %s s " % (st.get("device_id", "?"), _v(st.get("uptime_s")))
    pad = max(0, width - len(title))
    out.append("=" * (pad // 2) + title + "=" * (pad - pad // 2))  # str.center has no fill char on MicroPython
    out.append("Modem   %s %s  fw %s  %s  temp %s" % (_v(m.get("vendor")), _v(m.get("model")), _v(m.get("firmware")),
                                                    _v(m.get("state")), _v(m.get("temp_c"), "%s", " C")))
    out.append("SIM     %s  ICCID %s  IMSI %s" % (_v(sim.get("state")), _v(sim.get("iccid")), _v(sim.get("imsi"))))
    reg = net.get("registration")
    out.append("Network %s (%s-%s)  %s  %s" % (_v(net.get("operator")), _v(net.get("mcc")), _v(net.get("mnc")),
                                                _v(reg), _v(sig.get("rat"))))
    bars = signal_bars(sig.get("rsrp_dbm"), sig.get("rssi_dbm"))
    barstr = "-" if bars is None else "|" * bars + "." * (5 - bars)
    out.append("Signal  %s  RSRP %s  RSRQ %s  SINR %s  RSSI %s  band %s" % (
        barstr, _v(sig.get("rsrp_dbm"), "%s", " dBm"), _v(sig.get("rsrq_db"), "%s", " dB"),
        _v(sig.get("sinr_db"), "%s", " dB"), _v(sig.get("rssi_dbm"), "%s", " dBm"), _v(sig.get("band"))))
    nr = sig.get("nr")
    if nr:
        out.append("  5G NR RSRP %s  RSRQ %s  SINR %s  band %s" % (
            _v(nr.get("rsrp_dbm"), "%s", " dBm"), _v(nr.get("rsrq_db"), "%s", " dB"),
            _v(nr.get("sinr_db"), "%s", " dB"), _v(nr.get("band"))))
    out.append("-" * width)
    out.append("%-10s %-10s %-7s %10s %8s" % ("Link", "State", "Traffic", "RTT", "Loss"))
    links = st.get("links") or {}
    for name in sorted(links):
        l = links[name] or {}
        active = "<==" if st.get("active_link") == name else ""
        out.append("%-10s %-10s %-7s %10s %8s" % (name[:10], _v(l.get("state")), active,
                                                 _v(l.get("rtt_ms"), "%.1f", " ms"), _v(l.get("loss_pct"), "%.0f", " %")))
        if l.get("ipv4") and l.get("ipv6"):  # dual stack: each family's own view
            for fam in ("ipv4", "ipv6"):
                f = l[fam]
                out.append("  %-8s %-10s %-7s %10s %8s" % (fam, _v(f.get("state")), "", _v(f.get("rtt_ms"), "%.1f", " ms"),
                                                         _v(f.get("loss_pct"), "%.0f", " %")))
        if l.get("note"):
            out.append("  %s" % l["note"])
    out.append("-" * width)
    pct = u.get("used_pct")
    out.append("Data    %s %s of %s (%s)  own %s" % (
        _bar(None if pct is None else pct / 100.0), _mb(u.get("total_bytes")), _mb(u.get("cap_bytes")),
        _v(pct, "%.1f", " %"), _mb(u.get("own_bytes"))))
    if u.get("carrier_at") is not None:
        out.append("Carrier %s left, %s used  (asked %s)" % (_mb(u.get("carrier_remaining_bytes")),
                                                          _mb(u.get("carrier_used_bytes")), _date(u.get("carrier_at"))))
    fe = u.get("forecast_exhaustion")
    warn = "  RUNS OUT EARLY" if fe is not None and u.get("cycle_end") is not None and fe < u["cycle_end"] else ""
    out.append("Cycle   %s..%s  empty %s%s" % (_date(u.get("cycle_start"))[:10], _date(u.get("cycle_end"))[:10],
                                               _date(fe), warn))
    out.append("MQTT    %s  queued %s  dropped %s" % ("connected" if q.get("connected") else "DISCONNECTED",
                                                    _v(q.get("queued")), _v(q.get("dropped"))))
    if events:
        out.append("-" * width)
        for ev in events[-5:]:
            rest = []
            for k in sorted(ev):
                if k not in ("v", "type", "seq", "boot", "ts"):
                    rest.append("%s=%s" % (k, ev[k]))
            out.append("#%s %s %s" % (_v(ev.get("seq")), ev.get("type"), " ".join(rest)))
    return "\n".join(_fit(l, width) for l in out)


def main_status(argv):
    """wanwatch status [--json] [--run-dir DIR]: the running agent's latest status."""
    as_json = False
    run_dir = "/var/run/wanwatch"
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--json":
            as_json = True
        elif a == "--run-dir" and i + 1 < len(argv):
            run_dir = argv[i + 1]
            i += 1
        else:
            print("usage: wanwatch status [--json] [--run-dir DIR]")
            return 2
        i += 1
    try:
        with open(run_dir + "/status.json") as f:
            st = loads(f.read())
    except (OSError, ValueError) as e:
        print("wanwatch status: no status from a running agent in %s (%s)" % (run_dir, e))
        return 1
    events = None
    try:
        with open(run_dir + "/events.json") as f:
            events = loads(f.read())
    except (OSError, ValueError):
        pass
    if as_json:
        print(dumps(st))
    else:
        print(render(st, events))
    return 0
