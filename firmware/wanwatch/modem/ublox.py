# modem/ublox.py: u-blox (SARA-R5, SARA-R422, LARA) on top of the generic driver. AT+UCGED=2 then
# AT+UCGED?; unknown MCC/MNC `fff`, TAC `ffff`, cell `0000000` -> None.
from .generic import GenericDriver, fields, to_int, to_float, hex_id, empty_signal

UCGED_RAT = {2: "GSM", 3: "UMTS", 4: "LTE", 6: "LTE-M", 7: "NB-IoT"}


def _dig(s, n):
    return s if s and s.isdigit() and len(s) in n else None


def parse_ucged(lines):
    """+UCGED: 2 / <rat>,<svc>,<MCC>,<MNC> / LTE line (SARA-R5, 36.133 index coding), or the R422 layout
    <rat>,<MCC>,<MNC> / <EARFCN>,<Lband>,<ul_BW>,<dl_BW>,<TAC>,<P-CID>,<RSRP dBm>,<RSRQ dB>,<NBMsinr>."""
    try:
        return _parse(lines)
    except Exception:
        return None


def _parse(lines):
    body = []
    for l in lines or ():
        if l.startswith("+UCGED:"):
            rest = l[7:].strip()
            if "," in rest:
                body.append(rest)
        elif l and (l[0].isdigit() or l[0] == "-"):
            body.append(l)
    if len(body) < 2:
        return None
    a = fields(body[0], "")
    b = fields(body[1], "")
    d = {"rat": None, "mcc": None, "mnc": None, "earfcn": None, "band": None, "tac": None, "cell_id": None,
         "pci": None, "rsrp_dbm": None, "rsrq_db": None, "sinr_db": None}
    if len(a) == 4:   # SARA-R5
        d["rat"] = UCGED_RAT.get(to_int(a[0]))
        d["mcc"], d["mnc"] = _dig(a[2], (3,)), _dig(a[3], (2, 3))
        if len(b) >= 12:
            d["earfcn"] = to_int(b[0])
            d["band"] = to_int(b[1])
            d["tac"] = hex_id(b[4])
            d["cell_id"] = hex_id(b[5])
            d["pci"] = to_int(b[6])
            v = to_int(b[10])
            d["rsrp_dbm"] = v - 141 if v is not None and 0 <= v <= 97 else None
            v = to_int(b[11])
            d["rsrq_db"] = -20 + v * 0.5 if v is not None and 0 <= v <= 34 else None
            if len(b) > 12:
                v = to_int(b[12])
                d["sinr_db"] = v if v is not None and v != 255 else None
    elif len(a) == 3:  # SARA-R422
        d["rat"] = UCGED_RAT.get(to_int(a[0]))
        d["mcc"], d["mnc"] = _dig(a[1], (3,)), _dig(a[2], (2, 3))
        if len(b) >= 8:
            d["earfcn"] = to_int(b[0])
            d["band"] = to_int(b[1])
            d["tac"] = hex_id(b[4])
            d["pci"] = to_int(b[5])
            d["rsrp_dbm"] = to_float(b[6])
            d["rsrq_db"] = to_float(b[7])
            d["sinr_db"] = to_float(b[8]) if len(b) > 8 else None
    return d


class UbloxDriver(GenericDriver):
    name = "ublox"
    ICCID_COMMANDS = ("AT+CCID", "AT+ICCID")
    RESET_COMMAND = "AT+CFUN=16"
    _ucged_set = False

    async def poll_signal(self):
        sig = await GenericDriver.poll_signal(self)
        if not self._ucged_set:
            r = await self.cmd("AT+UCGED=2")
            self._ucged_set = r.ok
        r = await self.cmd("AT+UCGED?", None, "")
        d = parse_ucged(r.lines) if r.ok else None
        if d is not None and d["rat"] is not None:
            for k in ("rat", "earfcn", "band", "tac", "cell_id", "pci", "rsrp_dbm", "rsrq_db", "sinr_db"):
                if d.get(k) is not None:
                    sig[k] = d[k]
        return sig


Driver = UbloxDriver
