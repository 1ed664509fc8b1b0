"""Runs the firmware parsers over one block of transcript lines and returns values in the vocabulary of
the transcripts' `expect:` lines (tests/data/at-transcripts/README.md)."""
from wanwatch.modem.engine import parse_final
from wanwatch.modem.vendors import generic as g
from wanwatch.modem.vendors import quectel as q
from wanwatch.modem.vendors import simcom as s
from wanwatch.modem.vendors import huawei as h
from wanwatch.modem.vendors import sierra as si
from wanwatch.modem.vendors import telit as t


def _hexd(out, key, hexkey, value):
    out[key] = value


def extract(lines, cmd=None):
    """lines: response lines (log prefixes stripped). -> {expect key: value}."""
    out = {"final": None}
    fin = None
    for line in lines:
        f = parse_final(line)
        if f is not None and fin is None:
            fin = f
    if fin is not None:
        out["final"] = fin[0]
        if fin[0] in ("CME_ERROR",):
            out["cme_code"] = fin[1]
            out["cme_text"] = fin[2]
        if fin[0] == "CMS_ERROR":
            out["cms_code"] = fin[1]
        out["ok"] = fin[0] == "OK"
    for line in lines:
        p = line.split(":")[0] if ":" in line else ""
        if p == "+CSQ" and "(" not in line:
            c = g.parse_csq(line)
            out["csq"] = c["csq"]
            out["rssi_dbm"] = c["rssi_dbm"]
        elif p == "+CESQ":
            c = g.parse_cesq(line)
            out.update({"rsrp": c["rsrp_dbm"], "rsrq": c["rsrq_db"], "rscp": c["rscp_dbm"], "ecio": c["ecio_db"],
                        "rssi": c["rssi_dbm"]})
        elif p in ("+CREG", "+CGREG", "+CEREG", "+C5GREG"):
            solicited = cmd is not None and not (cmd or "").startswith("URC")
            r = g.parse_reg(line, solicited)
            out.update({"n": r["n"], "stat": r["stat"], "reg": r["registration"], "registered": r["registered"],
                        "lac": r["lac"], "tac": r["lac"], "ci": r["ci"], "act": r["act"], "rat": r["rat"]})
        elif p == "+COPS" and "(" not in line:
            c = g.parse_cops(line)
            out.update({"mode": c["mode"], "format": c["format"], "oper": c["oper"], "operator": c["oper"],
                        "act": c["act"]})
            if c["format"] == 2:
                out["mcc"], out["mnc"] = g.split_plmn(c["oper"])
            if c["act"] is not None:
                out["rat"] = g.ACT.get(c["act"])
        elif p == "+CPIN":
            out["cpin"] = line.split(":", 1)[1].strip().strip('"')
        elif p == "+QENG" and cmd and "SERVINGCELL" in cmd.upper():
            pass
        elif p == "+QNWINFO":
            d = q.parse_qnwinfo(line)
            if d:
                out.update(d)
        elif p == "+QSPN":
            d = q.parse_qspn(line)
            if d:
                out.update(d)
        elif p == "+QGDCNT":
            d = q.parse_qgdcnt(line, q.QuectelDriver.QGDCNT_ORDER)
            if d:
                out.update(d)
                out["tx_bytes_manual_order"], out["rx_bytes_manual_order"] = d["tx_bytes"], d["rx_bytes"]
        elif p == "+CPSI":
            d = s.parse_cpsi(line)
            if d:
                out.update(_signal_names(d))
                out["sys_mode"], out["op_mode"], out["units"] = d.get("sys_mode"), d.get("op_mode"), d.get("units")
        elif p == "+CPMUTEMP":
            out["temp_c"] = s.parse_cpmutemp(line)
        elif p == "^HCSQ":
            d = h.parse_hcsq(line)
            if d:
                out.update(_signal_names(d))
                out["rat"] = d["sysmode"] if d["rat"] is None else d["rat"]
                out["ecio"] = d["ecio_db"]
        elif p == "^SYSINFOEX":
            out.update(h.parse_sysinfoex(line))
            del out["rat"]
        elif p == "^SYSINFO":
            out.update(h.parse_sysinfo(line))
        elif p == "#RFSTS":
            d = t.parse_rfsts(line)
            if d:
                out.update(_signal_names(d))
                out["cid"] = d["cell_id"]
    if any(l.startswith("+QENG:") for l in lines):
        d = q.parse_qeng_servingcell(lines)
        if d:
            base = _signal_names(d)
            base["layout"], base["state"], base["srxlev"], base["sinr_raw"] = (d.get("layout"), d.get("state"),
                                                                              d.get("srxlev"), d.get("sinr_raw"))
            base["arfcn"] = d.get("earfcn")
            if d.get("layout", "").startswith("endc"):
                for k, v in base.items():
                    out["lte_" + k] = v
                out["layout"], out["state"] = d["layout"], d["state"]
            else:
                out.update(base)
            nr = d.get("nr")
            if nr:
                for k, v in _signal_names(nr).items():
                    out["nr_" + k] = v
                out["nr_sinr_raw"] = nr["sinr_raw"]
                out["nr_arfcn"] = nr["earfcn"]
    if any(l.startswith("+QTEMP:") for l in lines):
        mx, vals = q.parse_qtemp(lines)
        out["temp_max"] = mx
        out["temp"] = mx
        out.update(vals)
    if any("GSTATUS" in l.upper() for l in lines):
        d = si.parse_gstatus(lines)
        out.update(_signal_names(d))
        out["temperature"] = d["temp_c"]
        out["lte_band"] = d["band"]
        out["tx_power"] = d["tx_power"]
        out["rx_chan"] = d["earfcn"]
        out["band"] = None if d["band"] is None else "B%d" % d["band"]
    if cmd and cmd.upper().startswith("AT+CPMUTEMP"):
        out.setdefault("temp_c", None)
    return out


def _signal_names(d):
    m = {"rsrp_dbm": "rsrp", "rsrq_db": "rsrq", "rssi_dbm": "rssi", "sinr_db": "sinr"}
    out = {}
    for k, v in d.items():
        out[m.get(k, k)] = v
    if "sinr_db" in d:
        out["sinr_db"] = d["sinr_db"]
    return out
