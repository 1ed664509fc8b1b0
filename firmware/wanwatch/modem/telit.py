# modem/telit.py: Telit (LE910/LM960...) on top of the generic driver. #RFSTS is positional and the
# optional <TXPWR> is omitted entirely on LE910C1, so fields after RAC are located from the quoted
# IMSI field (CID right before it, operator, SD, band after it).
from .generic import GenericDriver, fields, to_int, hex_id, first


def parse_rfsts(line):
    """LTE #RFSTS -> dict or None."""
    if not line or not line.startswith("#RFSTS:"):
        return None
    body = line[7:]
    raw = [x.strip() for x in body.split(",")]
    f = fields(line, "#RFSTS:")
    if len(f) < 8:
        return None
    plmn = f[0].split(" ")
    mcc = plmn[0] if plmn and plmn[0].isdigit() and len(plmn[0]) == 3 else None
    mnc = plmn[1] if len(plmn) > 1 and plmn[1].isdigit() and 2 <= len(plmn[1]) <= 3 else None
    imsi_i = None
    for i in range(6, len(raw)):
        if raw[i].startswith('"'):
            imsi_i = i
            break
    d = {"mcc": mcc, "mnc": mnc, "earfcn": to_int(f[1]), "rsrp_dbm": to_int(f[2]), "rssi_dbm": to_int(f[3]),
         "rsrq_db": to_int(f[4]), "tac": hex_id(f[5]), "cell_id": None, "operator": None, "band": None,
         "rat": "LTE"}
    if imsi_i is not None:
        d["cell_id"] = hex_id(f[imsi_i - 1])
        if len(f) > imsi_i + 1:
            d["operator"] = f[imsi_i + 1] or None
        if len(f) > imsi_i + 3:
            d["band"] = to_int(f[imsi_i + 3])
    return d


class TelitDriver(GenericDriver):
    name = "telit"
    ICCID_COMMANDS = ("AT#CCID", "AT+ICCID", "AT+CCID")
    RESET_COMMAND = "AT#REBOOT"

    async def poll_signal(self):
        sig = await GenericDriver.poll_signal(self)
        r = await self.cmd("AT#RFSTS")
        d = parse_rfsts(first(r.lines, "#RFSTS:")) if r.ok else None
        if d is not None and d.get("rsrp_dbm") is not None:
            for k in ("rat", "earfcn", "rsrp_dbm", "rssi_dbm", "rsrq_db", "tac", "cell_id", "band"):
                if d.get(k) is not None:
                    sig[k] = d[k]
        return sig


Driver = TelitDriver
