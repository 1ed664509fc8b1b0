# modem/vendors/telit.py: Telit (LE910/LM960...) on top of the generic driver. #RFSTS is positional and the
# optional <TXPWR> is omitted entirely on LE910C1, so fields after RAC are located from the quoted
# IMSI field (CID right before it, operator, SD, band after it).
from .generic import GenericDriver, fields, to_int, hex_id, first, split_plmn


def parse_rfsts(line):
    """LTE #RFSTS -> dict or None."""
    if not line or not line.startswith("#RFSTS:"):
        return None
    body = line[7:]
    raw = [x.strip() for x in body.split(",")]
    f = fields(line, "#RFSTS:")
    if len(f) < 8:
        return None
    mcc, mnc = split_plmn(f[0])  # "MCC MNC"; "000 00" when not camped
    imsi_i = None
    for i in range(6, len(raw)):
        if raw[i].startswith('"'):
            imsi_i = i
            break
    rsrp = to_int(f[2])
    d = {"mcc": mcc, "mnc": mnc, "earfcn": to_int(f[1]), "rsrp_dbm": rsrp, "rssi_dbm": to_int(f[3]),
         "rsrq_db": to_int(f[4]), "tac": hex_id(f[5]), "cell_id": None, "operator": None, "band": None,
         "rat": "LTE" if rsrp is not None else None}  # no RSRP: not camped, no serving cell
    if imsi_i is not None:
        d["cell_id"] = hex_id(f[imsi_i - 1])
        if len(f) > imsi_i + 1:
            d["operator"] = f[imsi_i + 1] or None
        if len(f) > imsi_i + 3:
            d["band"] = to_int(f[imsi_i + 3])
    return d


class TelitDriver(GenericDriver):
    NAME = "telit"
    MARKS = ("TELIT",)
    ICCID_COMMANDS = ("AT#CCID", "AT+ICCID", "AT+CCID")
    RESET_COMMAND = "AT#REBOOT"
    CELL_COMMAND = "AT#RFSTS"

    def parse_cell(self, lines):
        return parse_rfsts(first(lines, "#RFSTS:"))


Driver = TelitDriver
