# modem/sierra.py: Sierra Wireless (EM7455/EM7565/DW5811e/EM9191) on top of the generic driver.
# !GSTATUS? is a free-form two-column "key: value" block (spaces or TABs, two keys per line, `--`).
from .generic import GenericDriver, to_int, to_float, hex_id, empty_signal

KEYS = ("Current Time", "Temperature", "Reset Counter", "Mode", "System mode", "PS state", "LTE band",
        "LTE bw", "LTE Rx chan", "LTE Tx chan", "LTE CA state", "EMM state", "RRC state", "IMS reg state",
        "PCC RxM RSSI", "PCC RxD RSSI", "PCC RxM RSRP", "PCC RxD RSRP", "RSRP (dBm)", "Tx Power", "TAC",
        "RSRQ (dB)", "Cell ID", "SINR (dB)")


def gstatus_pairs(lines):
    """-> {key: value string}; the first occurrence of a key wins (RxM before RxD)."""
    out = {}
    for line in lines or ():
        line = line.replace("\t", "  ")
        # find every known key on the line, in position order
        hits = []
        for k in KEYS:
            i = line.find(k + ":")
            if i >= 0:
                hits.append((i, k))
        hits.sort()
        for j in range(len(hits)):
            i, k = hits[j]
            end = hits[j + 1][0] if j + 1 < len(hits) else len(line)
            v = line[i + len(k) + 1:end].strip()
            c = v.find("   ")
            if c > 0:
                v = v[:c]  # a second, unkeyed column ("Registered     Normal Service")
            if k not in out:
                out[k] = v
            elif k == "RSRP (dBm)" and "RSRP (dBm) RxD" not in out:
                out["RSRP (dBm) RxD"] = v
    return out


def _paren_or_hex(v):
    """'D5AC (54700)' -> 54700."""
    if not v:
        return None
    if "(" in v:
        return to_int(v.split("(")[1].split(")")[0])
    return hex_id(v.split(" ")[0])


def parse_gstatus(lines):
    try:
        p = gstatus_pairs(lines)
    except Exception:
        return None
    band = p.get("LTE band") or ""
    rsrp = p.get("RSRP (dBm)") or p.get("PCC RxM RSRP")
    mode = (p.get("System mode") or "").upper()
    rat = {"LTE": "LTE", "WCDMA": "UMTS", "GSM": "GSM", "ENDC": "NR5G-NSA"}.get(mode)
    def num(k):
        v = p.get(k)
        return to_float(v.split(" ")[0]) if v else None
    temp = p.get("Temperature")
    tx = p.get("Tx Power")
    return {"rat": rat, "temp_c": to_int(temp) if temp else None,
            "band": to_int(band[1:]) if band[:1] == "B" else None,
            "earfcn": to_int(p.get("LTE Rx chan") or ""), "rssi_dbm": num("PCC RxM RSSI"),
            "rsrp_dbm": to_float(rsrp) if rsrp else None, "rsrq_db": num("RSRQ (dB)"), "sinr_db": num("SINR (dB)"),
            "tac": _paren_or_hex(p.get("TAC")), "cell_id": _paren_or_hex(p.get("Cell ID")),
            "tx_power": to_float(tx) if tx else None, "mode": p.get("Mode"), "emm_state": p.get("EMM state"),
            "rrc_state": p.get("RRC state"), "ps_state": p.get("PS state")}


def _intish(v):
    if v is not None and v == int(v):
        return int(v)
    return v


class SierraDriver(GenericDriver):
    name = "sierra"
    ICCID_COMMANDS = ("AT+ICCID", "AT+CCID")
    RESET_COMMAND = "AT!RESET"

    async def poll_signal(self):
        sig = await GenericDriver.poll_signal(self)
        r = await self.cmd("AT!GSTATUS?", None, "")
        g = parse_gstatus(r.lines) if r.ok else None
        if g is not None and g["rat"] is not None:
            for k in ("rat", "band", "earfcn", "rssi_dbm", "rsrp_dbm", "rsrq_db", "sinr_db", "tac", "cell_id"):
                if g.get(k) is not None:
                    sig[k] = _intish(g[k]) if k in ("rssi_dbm", "rsrp_dbm") else g[k]
            self.modem["temp_c"] = g["temp_c"]
        return sig


Driver = SierraDriver
