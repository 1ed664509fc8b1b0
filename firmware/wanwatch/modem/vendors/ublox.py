# modem/vendors/ublox.py: u-blox (SARA-R5, SARA-R422, LARA) on top of the generic driver. AT+UCGED=2 then
# AT+UCGED?; unknown MCC/MNC `fff`, TAC `ffff`, cell `0000000` -> None.
from .generic import GenericDriver, fields, to_int, to_float, hex_id, split_plmn

UCGED_RAT = {2: "GSM", 3: "UMTS", 4: "LTE", 6: "LTE-M", 7: "NB-IoT"}


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
    r5 = len(a) == 4  # SARA-R5 <rat>,<svc>,<MCC>,<MNC>; SARA-R422 <rat>,<MCC>,<MNC>
    if not (r5 or len(a) == 3):
        return d
    d["rat"] = UCGED_RAT.get(to_int(a[0]))
    d["mcc"], d["mnc"] = split_plmn(a[-2], a[-1])
    if len(b) < (12 if r5 else 8):
        return d
    d["earfcn"], d["band"], d["tac"] = to_int(b[0]), to_int(b[1]), hex_id(b[4])
    if r5:  # ...,<CI>,<PCI>,...,<RSRP index>,<RSRQ index>[,<SINR>]
        d["cell_id"] = hex_id(b[5])
        d["pci"] = to_int(b[6])
        v = to_int(b[10])
        d["rsrp_dbm"] = v - 141 if v is not None and 0 <= v <= 97 else None
        v = to_int(b[11])
        d["rsrq_db"] = -20 + v * 0.5 if v is not None and 0 <= v <= 34 else None
        v = to_int(b[12]) if len(b) > 12 else None
        d["sinr_db"] = v if v is not None and v != 255 else None
    else:  # ...,<PCI>,<RSRP dBm>,<RSRQ dB>[,<NBMsinr>]
        d["pci"] = to_int(b[5])
        d["rsrp_dbm"] = to_float(b[6])
        d["rsrq_db"] = to_float(b[7])
        d["sinr_db"] = to_float(b[8]) if len(b) > 8 else None
    return d


class UbloxDriver(GenericDriver):
    NAME = "ublox"
    MARKS = ("U-BLOX", "UBLOX")
    BARE_COMMANDS = ("AT+UCGED?",)  # "+UCGED: 2" then unprefixed lines
    ICCID_COMMANDS = ("AT+CCID", "AT+ICCID")
    RESET_COMMAND = "AT+CFUN=16"
    CELL_SETUP = "AT+UCGED=2"  # report mode 2 (serving cell), once
    CELL_COMMAND = "AT+UCGED?"

    def parse_cell(self, lines):
        return parse_ucged(lines)


Driver = UbloxDriver
