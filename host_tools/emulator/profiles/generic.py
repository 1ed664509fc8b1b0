"""The generic profile (plain 3GPP 27.007) and what every vendor profile builds on: one state dict
rendered in each vendor's real formats (tests/data/at-transcripts), and `expected(state)`, the
status-contract values a correct parser must report for that state."""


def rsrp_idx(dbm):
    return max(0, min(97, dbm + 141))


def rsrq_idx(db):
    return max(0, min(34, int(round((db + 20) * 2))))


def csq_index(rssi_dbm):
    return max(0, min(31, (rssi_dbm + 113) // 2))


REG_NAMES = {0: "not_registered", 1: "home", 2: "searching", 3: "denied", 4: "unknown", 5: "roaming"}
ACT_RAT = {0: "GSM", 2: "UMTS", 7: "LTE", 13: "NR5G-NSA", 11: "NR5G-SA"}


def mcc(s):
    return s["plmn"][:3]


def mnc(s):
    return s["plmn"][3:]


class Generic:
    NAME = "generic"
    VENDOR = "generic"  # the driver name a correct agent reports
    DEFAULTS = {
        "manufacturer": "Generic", "model": "LTE-MODEM", "revision": "GEN01A01", "imei": "356938035643809",
        "imsi": "262011234567890", "iccid": "89490200001234567890", "cpin": "READY",
        "operator": "Telekom.de", "plmn": "26201", "act": 7, "creg": 1, "cgreg": 1, "cereg": 1,
        "tac": "0603", "cell_id": "7676A09", "rssi_dbm": -73, "rsrp_dbm": -97, "rsrq_db": -10.0,
        "sinr_db": 12, "band": 20, "earfcn": 6300, "pci": 188, "temp_c": 38, "rx_bytes": 123456789,
        "tx_bytes": 23456789, "cfun": 1,
    }
    BOOT_URCS = ("RDY", "+CPIN: READY", "SMS DONE", "PB DONE")
    FLOOD_URC = "+CEREG: 1"

    def answer(self, emu, cmd, u):
        """(lines, final) or None for an unknown command (-> ERROR)."""
        s = emu.state
        sim = s["cpin"] is not None
        if u in ("AT", "AT&F", "ATZ", "ATV1", "ATQ0"):
            return [], "OK"
        if u in ("ATI", "ATI0"):
            return [s["manufacturer"], s["model"], "Revision: " + s["revision"]], "OK"
        if u in ("AT+CGMI", "AT+GMI"):
            return [s["manufacturer"]], "OK"
        if u in ("AT+CGMM", "AT+GMM"):
            return [s["model"]], "OK"
        if u in ("AT+CGMR", "AT+GMR"):
            return [s["revision"]], "OK"
        if u in ("AT+CGSN", "AT+GSN"):
            return [s["imei"]], "OK"
        if u == "AT+CPIN?":
            return (["+CPIN: " + s["cpin"]], "OK") if sim else ([], emu.error(10, "SIM not inserted"))
        if u in ("AT+CIMI",):
            return ([s["imsi"]], "OK") if sim else ([], emu.error(10, "SIM not inserted"))
        if u in self.iccid_commands():
            if not sim:
                return [], emu.error(10, "SIM not inserted")
            return [self.iccid_line(s, u)], "OK"
        if u.startswith("AT+COPS=3,"):
            emu.cops_format = int(u[-1]) if u[-1].isdigit() else 0
            return [], "OK"
        if u == "AT+COPS?":
            if not self.registered(s):
                return ["+COPS: 0"], "OK"
            oper = s["plmn"] if emu.cops_format == 2 else s["operator"]
            return ['+COPS: 0,%d,"%s",%d' % (emu.cops_format, oper, s["act"])], "OK"
        if u == "AT+CSQ":
            if not self.registered(s):
                return ["+CSQ: 99,99"], "OK"
            return ["+CSQ: %d,99" % csq_index(s["rssi_dbm"])], "OK"
        if u == "AT+CESQ":
            if not self.registered(s) or s["act"] != 7:
                return ["+CESQ: 99,99,255,255,255,255"], "OK"
            return ["+CESQ: 99,99,255,255,%d,%d" % (rsrq_idx(s["rsrq_db"]), rsrp_idx(s["rsrp_dbm"]))], "OK"
        for name, key in (("CREG", "creg"), ("CGREG", "cgreg"), ("CEREG", "cereg"), ("C5GREG", None)):
            if u == "AT+%s?" % name:
                if key is None:
                    return [], emu.error(4, "operation not supported") if s["act"] != 11 else "OK"
                stat = s[key] if s["cfun"] == 1 else 0
                if stat in (1, 5) and key == "cereg":
                    return ['+%s: 2,%d,"%s","%s",%d' % (name, stat, s["tac"], s["cell_id"], s["act"])], "OK"
                return ["+%s: 0,%d" % (name, stat)], "OK"
            if u.startswith("AT+%s=" % name):
                return [], "OK"
        if u == "AT+CFUN?":
            return ["+CFUN: %d" % s["cfun"]], "OK"
        if u.startswith("AT+CFUN="):
            arg = u[8:].split(",")[0]
            if arg not in ("0", "1", "4"):
                return [], emu.error(50, "incorrect parameters")
            s["cfun"] = 1 if arg == "1" else 0
            if "," in u and arg == "1":
                emu.reboot()
            return [], "OK"
        if u in ("AT+CMGF=1", "AT+CMGF=0", 'AT+CSCS="GSM"', 'AT+CSCS="IRA"', "AT+CNMI=2,1,0,0,0"):
            return [], "OK" if sim else emu.error(10, "SIM not inserted")
        return self.answer_vendor(emu, cmd, u)

    def answer_vendor(self, emu, cmd, u):
        return None

    def iccid_commands(self):
        return ("AT+CCID", "AT+ICCID")

    def iccid_line(self, s, u="AT+CCID"):
        return "%s: %s" % (u[2:], s["iccid"])

    @staticmethod
    def registered(s):
        return s["cfun"] == 1 and s["cpin"] is not None and s["cereg"] in (1, 5)

    def expected(self, s):
        reg = self.registered(s)
        stat = s["cereg"] if s["cfun"] == 1 and s["cpin"] is not None else 0
        sim = s["cpin"] is not None
        e = {
            "vendor": self.VENDOR, "model": s["model"], "firmware": s["revision"], "imei": s["imei"],
            "iccid": s["iccid"] if sim else None, "imsi": s["imsi"] if sim else None,
            "operator": s["operator"] if reg else None,
            "mcc": mcc(s) if reg else None, "mnc": mnc(s) if reg else None,
            "registration": REG_NAMES.get(stat, "unknown"), "registered": stat in (1, 5),
            "rat": ACT_RAT.get(s["act"]) if reg else None,
            "csq": csq_index(s["rssi_dbm"]) if reg else None,
            "rssi_dbm": -113 + 2 * csq_index(s["rssi_dbm"]) if reg else None,
            "rsrp_dbm": rsrp_idx(s["rsrp_dbm"]) - 141 if reg and s["act"] == 7 else None,
            "rsrq_db": rsrq_idx(s["rsrq_db"]) / 2.0 - 20 if reg and s["act"] == 7 else None,
            "tac": int(s["tac"], 16) if reg else None, "cell_id": int(s["cell_id"], 16) if reg else None,
            "temp_c": None, "counters": None,
        }
        return e


def serving(s, reg, sinr=None, rsrq=None, rssi=None, pci=True, earfcn=True):
    """What a serving-cell command reports for the state (exact dBm, not CESQ indices)."""
    if not reg:
        return {"rsrp_dbm": None, "rsrq_db": None, "sinr_db": None, "band": None, "pci": None, "earfcn": None}
    return {"rsrp_dbm": s["rsrp_dbm"], "rsrq_db": int(s["rsrq_db"]) if rsrq is None else rsrq,
            "rssi_dbm": s["rssi_dbm"] if rssi is None else rssi, "sinr_db": sinr, "band": s["band"],
            "pci": s["pci"] if pci else None, "earfcn": s["earfcn"] if earfcn else None}
