# modem/vendors/sierra.py: Sierra Wireless (EM7455/EM7565/DW5811e/EM9191) on top of the generic driver.
# !GSTATUS? is a free-form two-column "key: value" block (spaces or TABs, two keys per line, `--`).
from .generic import GenericDriver, to_int, to_float, hex_id

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


def _intish(v):
    if v is not None and v == int(v):
        return int(v)
    return v


def _registered(emm):
    """EMM state -> registered True/False, None when it says neither."""
    emm = (emm or "").upper()
    if emm.startswith("REGISTERED"):
        return True
    if emm.startswith("DEREGISTERED") or emm == "NULL":
        return False
    return None


def parse_gstatus(lines):
    try:
        pairs = gstatus_pairs(lines)
    except Exception:
        return None
    band = pairs.get("LTE band") or ""
    rsrp = pairs.get("RSRP (dBm)") or pairs.get("PCC RxM RSRP")
    mode = (pairs.get("System mode") or "").upper()
    rat = {"LTE": "LTE", "WCDMA": "UMTS", "GSM": "GSM", "ENDC": "NR5G-NSA"}.get(mode)

    def num(k):
        v = pairs.get(k)
        return to_float(v.split(" ")[0]) if v else None
    temp = pairs.get("Temperature")
    tx = pairs.get("Tx Power")
    return {"rat": rat, "temp_c": to_int(temp) if temp else None,
            "band": to_int(band[1:]) if band[:1] == "B" else None,
            "earfcn": to_int(pairs.get("LTE Rx chan") or ""), "rssi_dbm": _intish(num("PCC RxM RSSI")),
            "rsrp_dbm": _intish(to_float(rsrp)) if rsrp else None, "rsrq_db": num("RSRQ (dB)"),
            "sinr_db": num("SINR (dB)"), "tac": _paren_or_hex(pairs.get("TAC")),
            "cell_id": _paren_or_hex(pairs.get("Cell ID")), "tx_power": to_float(tx) if tx else None,
            "mode": pairs.get("Mode"), "emm_state": pairs.get("EMM state"), "rrc_state": pairs.get("RRC state"),
            "ps_state": pairs.get("PS state"), "registered": _registered(pairs.get("EMM state"))}


class SierraDriver(GenericDriver):
    NAME = "sierra"
    MARKS = ("SIERRA",)
    BARE_COMMANDS = ("AT!GSTATUS?",)  # a free-form block under one "!GSTATUS:" line
    ICCID_COMMANDS = ("AT+ICCID", "AT+CCID")
    RESET_COMMAND = "AT!RESET"
    CELL_COMMAND = "AT!GSTATUS?"

    def parse_cell(self, lines):
        return parse_gstatus(lines)

    async def poll_extra(self):
        if self.cell is not None:
            self.modem["temp_c"] = self.cell["temp_c"]  # !GSTATUS? carries the temperature too


Driver = SierraDriver
