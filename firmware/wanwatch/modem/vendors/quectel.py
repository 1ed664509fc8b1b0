# modem/vendors/quectel.py: Quectel (EC2x/EG25/EP06/EM12/BG95/RM5xx) on top of the generic 27.007 driver.
# Pure parsers for +QENG "servingcell" (chosen by field count), +QNWINFO, +QCAINFO, +QGDCNT, +QTEMP,
# +QSPN. Placeholders become None. See docs/modem.md for the unit decisions.
from .generic import GenericDriver, fields, to_int, hex_id, first, split_plmn

# LTE UL/DL bandwidth code -> MHz
LTE_BW = {0: 1.4, 1: 3, 2: 5, 3: 10, 4: 15, 5: 20}
QENG_RAT = {"LTE": "LTE", "eMTC": "LTE-M", "CAT-M": "LTE-M", "CAT-M1": "LTE-M", "NBIoT": "NB-IoT",
            "CAT-NB": "NB-IoT", "NR5G-SA": "NR5G-SA", "NR5G-NSA": "NR5G-NSA", "GSM": "GSM", "WCDMA": "UMTS"}


def _num(s):
    """Signed measurement; '-' / '' / garbage -> None."""
    v = to_int(s)
    return v


def lte_sinr(raw):
    """QENG LTE SINR: dB on most firmware, but the 0..250 encoding (raw/5 - 20) on some (EC200, EC25):
    a value > 35 cannot be dB, so it is scaled (at-modems.md §4.1)."""
    if raw is None:
        return None
    if raw > 35:
        return round(raw * 0.2 - 20, 1)
    return raw


def _lte_common(f, rat):
    """f starts at <duplex>: duplex,mcc,mnc,cellid,pci,earfcn,band,ul,dl,tac,rsrp,rsrq,rssi,sinr..."""
    mcc, mnc = split_plmn(f[1], f[2])
    sinr_raw = _num(f[13])
    return {"rat": rat, "duplex": f[0] or None, "mcc": mcc, "mnc": mnc, "cell_id": hex_id(f[3]),
            "pci": _num(f[4]), "earfcn": _num(f[5]), "band": _num(f[6]), "ul_bw_code": _num(f[7]),
            "dl_bw_code": _num(f[8]), "dl_bw_mhz": LTE_BW.get(_num(f[8])), "tac": hex_id(f[9]),
            "rsrp_dbm": _num(f[10]), "rsrq_db": _num(f[11]), "rssi_dbm": _num(f[12]), "sinr_raw": sinr_raw,
            "sinr_db": lte_sinr(sinr_raw)}


def parse_qeng_servingcell(lines):
    """All +QENG lines of one AT+QENG="servingcell" reply -> dict (signal keys + layout/state/nr) or None.
    Layouts by field count: LTE 18/20, eMTC 17, NR5G-SA 17/18, NR5G-NSA 3-line, old RM500Q NSA short."""
    try:
        return _parse_qeng(lines)
    except Exception:
        return None


def _parse_qeng(lines):
    out = None
    state = None
    for line in lines or ():
        if not line.startswith("+QENG:"):
            continue
        f = fields(line, "+QENG:")
        if not f or not f[0]:
            continue
        tag = f[0]
        if tag == "servingcell":
            if len(f) >= 2:
                state = f[1] or None
            if len(f) < 4:
                continue
            rat = f[2]
            if rat in ("LTE", "eMTC", "CAT-M", "CAT-M1", "NBIoT", "CAT-NB") and len(f) >= 17:
                d = _lte_common(f[3:], QENG_RAT.get(rat))
                n = len(f)
                if rat == "LTE" and n >= 20:
                    d["layout"] = "lte20"
                    d["cqi"] = _num(f[17])
                    d["tx_power_raw"] = _num(f[18])
                    d["srxlev"] = _num(f[19])
                elif rat == "LTE" and n == 18:
                    d["layout"] = "lte18"
                    d["srxlev"] = _num(f[17])
                else:
                    d["layout"] = "emtc17" if n == 17 else "lte%d" % n
                    d["srxlev"] = _num(f[17]) if n > 17 else None
                out = d
            elif rat == "NR5G-SA" and len(f) >= 17:
                # state,rat,duplex,mcc,mnc,cellid,pci,tac,arfcn,band,dl_bw,rsrp,rsrq,sinr,scs,srxlev
                mcc, mnc = split_plmn(f[4], f[5])
                out = {"rat": "NR5G-SA", "layout": "nr5g_sa%d" % len(f), "duplex": f[3] or None, "mcc": mcc,
                       "mnc": mnc, "cell_id": hex_id(f[6]), "pci": _num(f[7]), "tac": hex_id(f[8]),
                       "earfcn": _num(f[9]), "band": _num(f[10]), "dl_bw_code": _num(f[11]),
                       "rsrp_dbm": _num(f[12]), "rsrq_db": _num(f[13]), "sinr_db": _num(f[14]),
                       "sinr_raw": _num(f[14]), "scs_code": _num(f[15]), "srxlev": _num(f[16]),
                       "rssi_dbm": None}
        elif tag == "LTE" and len(f) >= 16:
            # NSA: "LTE",<duplex>,mcc,mnc,cellid,pci,earfcn,band,ul,dl,tac,rsrp,rsrq,rssi,sinr,[cqi,tx,]srxlev
            d = _lte_common(f[1:], "LTE")
            d["srxlev"] = _num(f[-1])
            d["layout"] = "endc"
            out = d
        elif tag == "NR5G-NSA" and len(f) >= 7:
            mcc, mnc = split_plmn(f[1], f[2])
            short = len(f) < 8
            sinr_raw = _num(f[5])
            nr = {"rat": "NR5G-NSA", "mcc": mcc, "mnc": mnc, "pci": _num(f[3]), "rsrp_dbm": _num(f[4]),
                  "sinr_raw": sinr_raw, "rsrq_db": _num(f[6]),
                  # the old short RM500Q line reports SINR in tenths of a dB
                  "sinr_db": (None if sinr_raw is None else (sinr_raw / 10.0 if short else sinr_raw)),
                  "earfcn": None if short else _num(f[7]), "band": None if short or len(f) < 9 else _num(f[8])}
            if out is None:
                out = {"rat": "NR5G-NSA", "layout": "endc"}
            out["nr"] = nr
    if out is not None:
        if out.get("layout") == "endc":
            if "nr" in out:
                out["rat"] = "NR5G-NSA"
                if "rsrp_dbm" in out and len(out["nr"]) and out["nr"].get("earfcn") is None:
                    out["layout"] = "endc_old"
        out["state"] = state
        # LIMSRV: camped for emergency calls only (e.g. a private gNB without our PLMN)
        out["registered"] = state in ("NOCONN", "CONNECT") if state else None
    return out


def parse_qnwinfo(line):
    f = fields(line or "", "+QNWINFO:")
    if len(f) < 4:
        return None
    act, oper, band_name = f[0] or None, f[1] or None, f[2] or None
    band = None
    if band_name:
        tail = band_name.split(" ")[-1]
        band = to_int(tail)
    mcc, mnc = split_plmn(oper)
    rat = None
    if act:
        if "NR5G" in act:
            rat = "NR5G-SA" if "NSA" not in act else "NR5G-NSA"
        elif "LTE" in act:
            rat = "LTE"
        elif "CAT-M" in act or "eMTC" in act:
            rat = "LTE-M"
        elif "NB" in act:
            rat = "NB-IoT"
        elif "WCDMA" in act or "HSPA" in act or "UMTS" in act or "HSDPA" in act:
            rat = "UMTS"
        elif "GSM" in act or "EDGE" in act or "GPRS" in act:
            rat = "GSM"
    return {"act": act, "oper": oper, "mcc": mcc, "mnc": mnc, "band_name": band_name, "band": band,
            "channel": to_int(f[3]), "rat": rat}


def parse_qcainfo(lines):
    """-> {"pcc": {...}, "scc": [{...}, ...]}; RSRP/RSRQ '-' -> None. LTE lines carry ul/dl RB, NR carry bw code."""
    out = {"pcc": None, "scc": []}
    for line in lines or ():
        if not line.startswith("+QCAINFO:"):
            continue
        f = fields(line, "+QCAINFO:")
        if len(f) < 5:
            continue
        kind = f[0].upper()
        d = {"earfcn": to_int(f[1]), "bw": to_int(f[2]), "band_name": f[3] or None,
             "band": to_int((f[3] or "").split(" ")[-1]), "pci": None, "rsrp_dbm": None, "rsrq_db": None,
             "rssi_dbm": None, "sinr_db": None}
        if len(f) == 5:
            d["pci"] = to_int(f[4])
        elif len(f) >= 6:
            d["pci"] = to_int(f[5])
            rest = f[6:]
            keys = ("rsrp_dbm", "rsrq_db", "rssi_dbm", "sinr_db")
            for i in range(min(len(rest), 4)):
                d[keys[i]] = to_int(rest[i])
        if kind == "PCC":
            out["pcc"] = d
        elif kind == "SCC" and len(out["scc"]) < 8:
            out["scc"].append(d)
    return out


def parse_qgdcnt(line, order=("tx_bytes", "rx_bytes")):
    """+QGDCNT: a,b -> {"rx_bytes", "tx_bytes"} in the given field order, or None."""
    f = fields(line or "", "+QGDCNT:")
    if len(f) < 2:
        return None
    a, b = to_int(f[0]), to_int(f[1])
    if a is None or b is None or a < 0 or b < 0:
        return None
    d = {}
    d[order[0]] = a
    d[order[1]] = b
    return {"rx_bytes": d["rx_bytes"], "tx_bytes": d["tx_bytes"]}


def parse_qtemp(lines):
    """Three formats: '+QTEMP: 38,255,255' (old, 255 = none), one '"name","value"' pair per line (new),
    or several pairs on one line. -> (max temperature or None, {name: value})."""
    vals = {}
    plain = []
    for line in lines or ():
        if not line.startswith("+QTEMP:"):
            continue
        f = fields(line, "+QTEMP:")
        if len(f) >= 2 and f[0] and not f[0].lstrip("-").isdigit():
            i = 0
            while i + 1 < len(f):
                v = to_int(f[i + 1])
                if v is not None and -40 <= v <= 150:
                    vals[f[i]] = v
                i += 2
        else:
            for x in f:
                v = to_int(x)
                if v is not None and -40 <= v <= 150 and v != 255:
                    plain.append(v)
    allv = plain + list(vals.values())
    return (max(allv) if allv else None), vals


def parse_qspn(line):
    f = fields(line or "", "+QSPN:")
    if len(f) < 5:
        return None
    mcc, mnc = split_plmn(f[4])
    return {"fnn": f[0] or None, "snn": f[1] or None, "spn": f[2] or None, "alphabet": to_int(f[3]),
            "rplmn": f[4] or None, "mcc": mcc, "mnc": mnc}


def qnwinfo(lines):
    """Every +QNWINFO line of one reply -> parse_qnwinfo of the first, with rat NR5G-NSA when an LTE and
    an NR5G line come together (EN-DC prints both), or None."""
    out = None
    rats = []
    for line in lines or ():
        if line.startswith("+QNWINFO:"):
            d = parse_qnwinfo(line)
            if d is not None:
                rats.append(d["rat"])
                if out is None:
                    out = d
    if out is not None and "LTE" in rats and ("NR5G-SA" in rats or "NR5G-NSA" in rats):
        out["rat"] = "NR5G-NSA"
    return out


class QuectelDriver(GenericDriver):
    NAME = "quectel"
    MARKS = ("QUECTEL",)
    URC_PREFIXES = ("RDY", "+QIND:", "+QUSIM:", "POWERED DOWN", "+QIURC:", "+QSTK")
    BOOT_MARKS = ("RDY",)
    # multi-line replies that "need >= 2 s" (asus-lte-telemetry); the engine's default is 5 s
    SLOW_COMMANDS = (("AT+QENG", 5.0), ("AT+QTEMP", 5.0))
    ICCID_COMMANDS = ("AT+QCCID", "AT+CCID", "AT+ICCID")
    RESET_COMMAND = "AT+CFUN=1,1"
    CELL_COMMAND = 'AT+QENG="servingcell"'
    # AT+QGDCNT? field order. Quectel manuals say <bytes_sent>,<bytes_recv>; QModem's expected stats for
    # the RM500U fixture say rx,tx. We follow the manual (and the EM12 3ginfo capture): sent first.
    QGDCNT_ORDER = ("tx_bytes", "rx_bytes")

    def parse_cell(self, lines):
        return parse_qeng_servingcell(lines)

    async def more_network(self, net):
        """AT+QSPN (operator name; RPLMN, the registered PLMN), then AT+QNWINFO (PLMN, RAT): only when
        AT+COPS? gave no operator name or no numeric PLMN."""
        if net["operator"] is None or net["mcc"] is None:
            r = await self.cmd("AT+QSPN")
            q = parse_qspn(first(r.lines, "+QSPN:")) if r.ok else None
            if q:
                if net["operator"] is None:
                    net["operator"] = q["fnn"] or q["spn"]
                if net["mcc"] is None:
                    net["mcc"], net["mnc"] = q["mcc"], q["mnc"]
        if net["mcc"] is None:
            r = await self.cmd("AT+QNWINFO")
            q = qnwinfo(r.lines) if r.ok else None
            if q:
                net["mcc"], net["mnc"], net["rat"] = q["mcc"], q["mnc"], q["rat"]

    async def poll_extra(self):
        r = await self.cmd("AT+QTEMP")
        if r.ok:
            self.modem["temp_c"] = parse_qtemp(r.lines)[0]
        r = await self.cmd("AT+QGDCNT?")
        c = parse_qgdcnt(first(r.lines, "+QGDCNT:"), self.QGDCNT_ORDER) if r.ok else None
        self.modem["counters"] = c


Driver = QuectelDriver
