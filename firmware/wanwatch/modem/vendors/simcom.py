# modem/vendors/simcom.py: SIMCom (SIM7600/SIM7906/A76xx/SIM7000/SIM70x0) on top of the generic driver.
# +CPSI? for every system mode, +CPMUTEMP, AT+CICCID (answers "+ICCID:").
# Units: SIM7600-class (Qualcomm) prints RSRQ/RSRP/RSSI in tenths of dB(m), SIM70x0 prints whole dB,
# some firmware prints 3GPP indices. Decided per line from RSRP: |v| > 200 -> tenths; 0..97 -> index;
# else dBm. SINR (RSSNR) is whole dB in every capture.
from .generic import GenericDriver, fields, to_int, hex_id, first, split_plmn

CPSI_RAT = {"LTE": "LTE", "LTE CAT-M1": "LTE-M", "LTE CAT-M": "LTE-M", "CAT-M1": "LTE-M", "LTE NB-IOT": "NB-IoT",
            "NB-IOT": "NB-IoT", "GSM": "GSM", "WCDMA": "UMTS", "NR5G_SA": "NR5G-SA", "NR5G_NSA": "NR5G-NSA"}


def _band(s):
    if not s:
        return None
    i = len(s)
    while i > 0 and s[i - 1].isdigit():
        i -= 1
    return to_int(s[i:])


def _tenths(v):
    if v is None:
        return None
    return v // 10 if v % 10 == 0 else v / 10.0


def _units(rsrp):
    if rsrp is None:
        return None
    if rsrp < -200 or rsrp > 200:
        return "tenths"
    if 0 <= rsrp <= 97:
        return "index"
    return "integer_db"


def parse_cpsi(line):
    """One +CPSI line -> dict with status signal keys (+ mcc/mnc/op_mode/units), or None."""
    try:
        return _parse_cpsi(line)
    except Exception:
        return None


def _parse_cpsi(line):
    if not line or not line.startswith("+CPSI:"):
        return None
    f = fields(line, "+CPSI:")
    mode = f[0].upper() if f else ""
    if not mode or mode.startswith("NO SERVICE"):
        return {"rat": None, "sys_mode": f[0] if f else None, "op_mode": f[1] if len(f) > 1 else None}
    rat = CPSI_RAT.get(mode)
    mcc, mnc = split_plmn(f[2]) if len(f) > 2 else (None, None)
    d = {"rat": rat, "sys_mode": f[0], "op_mode": f[1] if len(f) > 1 else None, "mcc": mcc, "mnc": mnc,
         "tac": None, "cell_id": None, "pci": None, "band": None, "earfcn": None, "rsrq_db": None,
         "rsrp_dbm": None, "rssi_dbm": None, "sinr_db": None, "units": None}
    if len(f) > 3:
        t = f[3]
        if t[:2].lower() == "0x":
            t = t[2:]
        d["tac"] = hex_id(t)
    if rat in ("LTE", "LTE-M", "NB-IoT") and len(f) >= 14:
        d["cell_id"] = to_int(f[4])
        d["pci"] = to_int(f[5])
        d["band"] = _band(f[6])
        d["earfcn"] = to_int(f[7])
        q, p, s = to_int(f[10]), to_int(f[11]), to_int(f[12])
        u = _units(p)
        d["units"] = u
        if u == "tenths":
            d["rsrq_db"], d["rsrp_dbm"], d["rssi_dbm"] = _tenths(q), _tenths(p), _tenths(s)
        elif u == "index":
            d["rsrq_db"] = -20 + q * 0.5 if q is not None and 0 <= q <= 34 else None
            d["rsrp_dbm"] = -141 + p
            d["rssi_dbm"] = None if s is None or s == 255 or s < 0 else -121 + s if s <= 96 else None
        else:
            d["rsrq_db"], d["rsrp_dbm"], d["rssi_dbm"] = q, p, s
        d["sinr_db"] = to_int(f[13])
    elif rat == "NR5G-SA" and len(f) >= 11:
        d["cell_id"] = to_int(f[4])
        d["pci"] = to_int(f[5])
        d["band"] = _band(f[6])
        d["earfcn"] = to_int(f[7])
        p, q = to_int(f[8]), to_int(f[9])
        d["rsrp_dbm"], d["rsrq_db"] = _tenths(p), _tenths(q)
        d["sinr_db"] = to_int(f[10])
        d["units"] = "tenths"
    elif rat == "GSM" and len(f) >= 5:
        d["cell_id"] = to_int(f[4])
    elif rat == "UMTS" and len(f) >= 5:
        d["cell_id"] = to_int(f[4])
    return d


def parse_cpmutemp(line):
    f = fields(line or "", "+CPMUTEMP:")
    v = to_int(f[0]) if f else None
    return v if v is not None and -40 <= v <= 150 else None


def parse_cpsi_reply(lines):
    """All +CPSI lines of one AT+CPSI? reply -> the serving cell (first line that is not the NR5G_NSA
    one) with rat NR5G-NSA and "nr": {} when the EN-DC NR line comes too (it carries no measurement the
    status takes), or None."""
    cell = None
    nsa = False
    for line in lines or ():
        d = parse_cpsi(line)
        if d is None:
            continue
        if d.get("rat") == "NR5G-NSA":
            nsa = True
        elif cell is None:
            cell = d
    if cell is not None and cell.get("rat") is not None and nsa:
        cell["rat"] = "NR5G-NSA"
        cell["nr"] = {}
    return cell


class SimcomDriver(GenericDriver):
    NAME = "simcom"
    MARKS = ("SIMCOM", "SIMTECH")
    URC_PREFIXES = ("RDY", "*ATREADY", "SMS DONE", "PB DONE", "Call Ready", "SMS Ready", "*ISIMAID", "+STIN",
                    "+PACSP", "*COPN")
    BOOT_MARKS = ("RDY",)
    REPLY_PREFIXES = (("+CICCID", "+ICCID:"),)  # AT+CICCID answers "+ICCID: <iccid>"
    ICCID_COMMANDS = ("AT+CICCID", "AT+CCID", "AT+ICCID")
    RESET_COMMAND = "AT+CRESET"
    CELL_COMMAND = "AT+CPSI?"

    def parse_cell(self, lines):
        return parse_cpsi_reply(lines)

    async def poll_extra(self):
        r = await self.cmd("AT+CPMUTEMP")
        self.modem["temp_c"] = parse_cpmutemp(first(r.lines, "+CPMUTEMP:")) if r.ok else None


Driver = SimcomDriver
