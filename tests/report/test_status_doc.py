"""Status document contract v1: every key present, unknown = null, never 0."""
from wanwatch.report import status

LINKS = [{"name": "wan"}, {"name": "wwan"}]


def test_empty_parts_are_null():
    d = status.build("dev", 1790000000.7, 12.9, link_names=[l["name"] for l in LINKS])
    assert d["v"] == 1 and d["device_id"] == "dev" and d["ts"] == 1790000000 and d["uptime_s"] == 12
    for block, keys in (("modem", status.MODEM_KEYS), ("sim", status.SIM_KEYS), ("network", status.NETWORK_KEYS),
                        ("usage", status.USAGE_KEYS)):
        assert set(d[block]) == set(keys)
        assert all(v is None for v in d[block].values()), block
    assert set(d["signal"]) == set(status.SIGNAL_KEYS) | {"nr"}
    assert d["signal"]["nr"] is None and d["signal"]["rsrp_dbm"] is None
    unknown = {"state": "unknown", "active": None, "rtt_ms": None, "loss_pct": None, "ipv4": None, "ipv6": None,
               "dns": None, "http": None, "captive": None, "bandwidth": None, "weak": None,
               "note": None}
    assert d["links"] == {"wan": unknown, "wwan": unknown}
    assert d["active_link"] is None
    assert d["mqtt"] == {"connected": False, "queued": 0, "dropped": 0}


def test_fragments_copied_and_nr_leg():
    modem = {"modem": {"vendor": "quectel", "junk": 1}, "signal": {"rsrp_dbm": -97, "nr": {"rsrp_dbm": -88}}}
    d = status.build("dev", 0, 0, modem=modem, links={"links": {"wan": {"state": "up", "active": True,
                                                                      "rtt_ms": 12.5, "loss_pct": 0.0}},
                                                        "active_link": "wan"}, link_names=[l["name"] for l in LINKS])
    assert d["modem"]["vendor"] == "quectel" and "junk" not in d["modem"]
    assert d["signal"]["rsrp_dbm"] == -97 and d["signal"]["nr"]["rsrp_dbm"] == -88 and d["signal"]["nr"]["sinr_db"] is None
    assert d["links"]["wan"]["state"] == "up" and d["links"]["wwan"]["state"] == "unknown"
    assert d["active_link"] == "wan"
