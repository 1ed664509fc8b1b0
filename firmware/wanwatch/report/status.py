# status.py: builds the status document (contract v1, docs/contracts.md) from the parts' fragments.
# Pure: takes the fragments, fills every missing key with None, never invents a value.

MODEM_KEYS = ("vendor", "model", "firmware", "imei", "state", "temp_c", "counters")
SIM_KEYS = ("state", "iccid", "imsi")
NETWORK_KEYS = ("operator", "mcc", "mnc", "registration", "registered")
SIGNAL_KEYS = ("rat", "csq", "rssi_dbm", "rsrp_dbm", "rsrq_db", "sinr_db", "band", "cell_id", "tac", "pci", "earfcn")
USAGE_KEYS = ("iccid", "rx_bytes", "tx_bytes", "total_bytes", "cap_bytes", "used_pct", "cycle_start",
              "cycle_end", "forecast_exhaustion", "own_bytes", "remaining_bytes", "carrier_used_bytes",
              "carrier_remaining_bytes", "carrier_at", "forecast_rate_bps")
LINK_KEYS = ("state", "active", "rtt_ms", "loss_pct", "ipv4", "ipv6", "dns", "http", "captive", "bandwidth", "weak",
             "note")
BUDGET_KEYS = ("state", "rate_mbps", "step_pct", "reason", "since", "override", "error")


def _pick(src, keys):
    out = {}
    src = src or {}
    for k in keys:
        out[k] = src.get(k)
    return out


def signal_block(src):
    out = _pick(src, SIGNAL_KEYS)
    nr = (src or {}).get("nr")
    out["nr"] = _pick(nr, SIGNAL_KEYS) if nr else None
    return out


def build(device_id, ts, uptime_s, modem=None, links=None, usage=None, mqtt=None, link_names=(), budget=None):
    """modem: {"modem","sim","network","signal"} fragments; links: {"links", "active_link"};
    usage: usage fragment; mqtt: {"connected","queued","dropped"}; link_names: the configured
    links, so every one appears even before the prober has run; budget: the budget policy's fragment
    (null when no budget is configured)."""
    modem = modem or {}
    links = links or {}
    link_map = {}
    for name in link_names:
        link_map[name] = _pick({"state": "unknown"}, LINK_KEYS)
    for name, frag in (links.get("links") or {}).items():
        link_map[name] = _pick(frag, LINK_KEYS)
    m = mqtt or {}
    return {
        "v": 1,
        "device_id": device_id,
        "ts": int(ts),
        "uptime_s": int(uptime_s),
        "modem": _pick(modem.get("modem"), MODEM_KEYS),
        "sim": _pick(modem.get("sim"), SIM_KEYS),
        "network": _pick(modem.get("network"), NETWORK_KEYS),
        "signal": signal_block(modem.get("signal")),
        "links": link_map,
        "active_link": links.get("active_link"),
        "usage": _pick(usage, USAGE_KEYS),
        "mqtt": {"connected": bool(m.get("connected")), "queued": int(m.get("queued") or 0),
                 "dropped": int(m.get("dropped") or 0)},
        "budget": _pick(budget, BUDGET_KEYS) if budget is not None else None,
    }
