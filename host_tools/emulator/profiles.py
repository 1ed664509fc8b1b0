"""Emulator profiles: how each modem family answers, rendered from one state dict.

`generic` speaks plain 3GPP 27.007; vendor profiles add their own commands in the formats seen in
real transcripts (tests/data/at-transcripts). `expected(state)` gives the status-contract values a
correct parser must report for the same state.
"""


def _rsrp_idx(dbm):
    return max(0, min(97, dbm + 141))


def _rsrq_idx(db):
    return max(0, min(34, int(round((db + 20) * 2))))


def _csq(rssi_dbm):
    return max(0, min(31, (rssi_dbm + 113) // 2))


REG_NAMES = {0: "not_registered", 1: "home", 2: "searching", 3: "denied", 4: "unknown", 5: "roaming"}
ACT_RAT = {0: "GSM", 2: "UMTS", 7: "LTE", 13: "NR5G-NSA", 11: "NR5G-SA"}


class Generic:
    NAME = "generic"
    DEFAULTS = {
        "manufacturer": "Generic", "model": "LTE-MODEM", "revision": "GEN01A01", "imei": "356938035643809",
        "imsi": "262011234567890", "iccid": "89490200001234567890", "cpin": "READY",
        "operator": "Telekom.de", "plmn": "26201", "act": 7, "creg": 1, "cgreg": 1, "cereg": 1,
        "tac": "0603", "cell_id": "7676A09", "rssi_dbm": -73, "rsrp_dbm": -97, "rsrq_db": -10.0,
        "sinr_db": 12, "band": 20, "earfcn": 6300, "pci": 188, "temp_c": 38, "rx_bytes": 123456789,
        "tx_bytes": 23456789, "cfun": 1, "vendor": "generic",
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
            return ["+CSQ: %d,99" % _csq(s["rssi_dbm"])], "OK"
        if u == "AT+CESQ":
            if not self.registered(s) or s["act"] != 7:
                return ["+CESQ: 99,99,255,255,255,255"], "OK"
            return ["+CESQ: 99,99,255,255,%d,%d" % (_rsrq_idx(s["rsrq_db"]), _rsrp_idx(s["rsrp_dbm"]))], "OK"
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
        return self.vendor(emu, cmd, u)

    def vendor(self, emu, cmd, u):
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
            "vendor": self.vendor_name(), "model": s["model"], "firmware": s["revision"], "imei": s["imei"],
            "iccid": s["iccid"] if sim else None, "imsi": s["imsi"] if sim else None,
            "operator": s["operator"] if reg else None,
            "mcc": s["plmn"][:3] if reg else None, "mnc": s["plmn"][3:] if reg else None,
            "registration": REG_NAMES.get(stat, "unknown"), "registered": stat in (1, 5),
            "rat": ACT_RAT.get(s["act"]) if reg else None,
            "csq": _csq(s["rssi_dbm"]) if reg else None,
            "rssi_dbm": -113 + 2 * _csq(s["rssi_dbm"]) if reg else None,
            "rsrp_dbm": _rsrp_idx(s["rsrp_dbm"]) - 141 if reg and s["act"] == 7 else None,
            "rsrq_db": _rsrq_idx(s["rsrq_db"]) / 2.0 - 20 if reg and s["act"] == 7 else None,
            "tac": int(s["tac"], 16) if reg else None, "cell_id": int(s["cell_id"], 16) if reg else None,
            "temp_c": None, "counters": None,
        }
        return e

    def vendor_name(self):
        return "generic"


class QuectelEC25(Generic):
    """Quectel EC25 (LTE Cat 4): 18-field QENG servingcell (older FW), QTEMP 3-value form, QGDCNT."""
    NAME = "quectel-ec25"
    DEFAULTS = dict(Generic.DEFAULTS, manufacturer="Quectel", model="EC25", revision="EC25EFAR06A06M4G",
                    imei="867698041234567", vendor="quectel")
    BOOT_URCS = ("RDY", "+CFUN: 1", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE")
    FLOOD_URC = '+QIND: "csq",20,99'

    def vendor_name(self):
        return "quectel"

    def iccid_commands(self):
        return ("AT+QCCID", "AT+CCID", "AT+ICCID")

    def iccid_line(self, s, u="AT+QCCID"):
        # Quectel pads a 19-digit ICCID with F (at-modems.md §3.6)
        iccid = s["iccid"] + "F" if len(s["iccid"]) == 19 else s["iccid"]
        return "%s: %s" % (u[2:], iccid)

    def vendor(self, emu, cmd, u):
        s = emu.state
        if u == 'AT+QENG="SERVINGCELL"':
            if not self.registered(s):
                return ['+QENG: "servingcell","SEARCH"'], "OK"
            return ['+QENG: "servingcell","NOCONN","LTE","FDD",%s,%s,%s,%d,%d,%d,3,3,%s,%d,%d,%d,%d,-' % (
                s["plmn"][:3], s["plmn"][3:], s["cell_id"], s["pci"], s["earfcn"], s["band"], s["tac"],
                s["rsrp_dbm"], int(s["rsrq_db"]), s["rssi_dbm"], s["sinr_db"])], "OK"
        if u == "AT+QTEMP":
            return ["+QTEMP: %d,255,255" % s["temp_c"]], "OK"
        if u == "AT+QGDCNT?":
            return ["+QGDCNT: %d,%d" % (s["tx_bytes"], s["rx_bytes"])], "OK"
        if u == "AT+QNWINFO":
            if not self.registered(s):
                return ["+QNWINFO: No Service"], "OK"
            return ['+QNWINFO: "FDD LTE","%s","LTE BAND %d",%d' % (s["plmn"], s["band"], s["earfcn"])], "OK"
        if u == "AT+QSPN":
            return ['+QSPN: "%s","%s","",0,"%s"' % (s["operator"], s["operator"], s["plmn"])], "OK"
        if u == "AT+QPOWD" or u == "AT+QPOWD=1":
            emu.reboot(1.0)
            return ["POWERED DOWN"], "OK"
        return None


    def expected(self, s):
        e = Generic.expected(self, s)
        reg = self.registered(s)
        e.update(_serving(s, reg, sinr=s["sinr_db"]))
        e["temp_c"] = s["temp_c"]
        e["counters"] = {"rx_bytes": s["rx_bytes"], "tx_bytes": s["tx_bytes"]}
        return e


def _serving(s, reg, sinr=None, rsrq=None, rssi=None, pci=True, earfcn=True):
    """What a serving-cell command reports for the state (exact dBm, not CESQ indices)."""
    if not reg:
        return {"rsrp_dbm": None, "rsrq_db": None, "sinr_db": None, "band": None, "pci": None, "earfcn": None}
    return {"rsrp_dbm": s["rsrp_dbm"], "rsrq_db": int(s["rsrq_db"]) if rsrq is None else rsrq,
            "rssi_dbm": s["rssi_dbm"] if rssi is None else rssi, "sinr_db": sinr, "band": s["band"],
            "pci": s["pci"] if pci else None, "earfcn": s["earfcn"] if earfcn else None}


class SimcomSIM7600(Generic):
    """SIMCom SIM7600 (Qualcomm): AT+CPSI? with RSRQ/RSRP/RSSI in tenths of dB (at-modems.md 5.1),
    AT+CICCID, AT+CPMUTEMP, boot URCs *ATREADY / SMS DONE / PB DONE."""
    NAME = "simcom-sim7600"
    DEFAULTS = dict(Generic.DEFAULTS, manufacturer="SIMCOM INCORPORATED", model="SIMCOM_SIM7600E-H",
                    revision="SIM7600M22_V2.0", imei="862636051234567", vendor="simcom")
    BOOT_URCS = ("*ATREADY: 1", "+CPIN: READY", "SMS DONE", "PB DONE")
    FLOOD_URC = "+CEREG: 1"

    def vendor_name(self):
        return "simcom"

    def iccid_commands(self):
        return ("AT+CICCID", "AT+CCID", "AT+ICCID")

    def iccid_line(self, s, u="AT+CICCID"):
        # SIMCom answers AT+CICCID with the +ICCID: prefix
        return "+ICCID: %s" % s["iccid"]

    def vendor(self, emu, cmd, u):
        s = emu.state
        if u == "AT+CPSI?":
            if not self.registered(s):
                return ["+CPSI: NO SERVICE,Online"], "OK"
            return ["+CPSI: LTE,Online,%s-%s,0x%s,%d,%d,EUTRAN-BAND%d,%d,5,5,%d,%d,%d,%d" % (
                s["plmn"][:3], s["plmn"][3:], s["tac"], int(s["cell_id"], 16), s["pci"], s["band"],
                s["earfcn"], int(round(s["rsrq_db"] * 10)), s["rsrp_dbm"] * 10, s["rssi_dbm"] * 10,
                s["sinr_db"])], "OK"
        if u == "AT+CPMUTEMP":
            return ["+CPMUTEMP: %d" % s["temp_c"]], "OK"
        return None

    def expected(self, s):
        e = Generic.expected(self, s)
        e.update(_serving(s, self.registered(s), sinr=s["sinr_db"], rsrq=s["rsrq_db"]))
        e["temp_c"] = s["temp_c"]
        return e


class HuaweiME909(Generic):
    """Huawei ME909s: AT^HCSQ? index values (rssi+121, rsrp+141, (sinr+20.2)*5, (rsrq+20)*2),
    AT^SYSINFOEX, AT^ICCID? (at-modems.md 5.x)."""
    NAME = "huawei-me909"
    DEFAULTS = dict(Generic.DEFAULTS, manufacturer="Huawei Technologies Co., Ltd.", model="ME909s-120",
                    revision="11.617.01.00.00", imei="863781031234567", vendor="huawei")
    BOOT_URCS = ("^SYSSTART", "+CPIN: READY")
    FLOOD_URC = '^HCSQ:"LTE",52,44,161,23'

    def vendor_name(self):
        return "huawei"

    def iccid_commands(self):
        return ("AT^ICCID?", "AT+CCID", "AT+ICCID")

    def iccid_line(self, s, u="AT^ICCID?"):
        return "^ICCID: %s" % s["iccid"] if u == "AT^ICCID?" else Generic.iccid_line(self, s, u)

    def vendor(self, emu, cmd, u):
        s = emu.state
        reg = self.registered(s)
        if u == "AT^HCSQ?":
            if not reg:
                return ['^HCSQ: "NOSERVICE"'], "OK"
            return ['^HCSQ: "LTE",%d,%d,%d,%d' % (
                s["rssi_dbm"] + 121, s["rsrp_dbm"] + 141, int(round((s["sinr_db"] + 20.2) * 5)),
                int(round((s["rsrq_db"] + 20) * 2)))], "OK"
        if u == "AT^SYSINFOEX":
            sim = 1 if s["cpin"] == "READY" else (255 if s["cpin"] is None else 240)
            if not reg:
                return ["^SYSINFOEX: 0,0,0,%d,,0,\"NO SERVICE\",0,\"NO SERVICE\"" % sim], "OK"
            roam = 1 if s["cereg"] == 5 else 0
            return ['^SYSINFOEX: 2,3,%d,%d,,6,"LTE",101,"LTE"' % (roam, sim)], "OK"
        return None

    def expected(self, s):
        e = Generic.expected(self, s)
        reg = self.registered(s)
        if reg:
            e["rssi_dbm"] = s["rssi_dbm"]
            e["rsrp_dbm"] = s["rsrp_dbm"]
            e["rsrq_db"] = int(round((s["rsrq_db"] + 20) * 2)) / 2.0 - 20
            e["sinr_db"] = round(-20.2 + int(round((s["sinr_db"] + 20.2) * 5)) / 5.0, 1)
        return e


class QuectelRM500Q(QuectelEC25):
    """Quectel RM500Q (5G NSA): QENG servingcell as 3 lines (servingcell state / LTE anchor 18 fields /
    NR5G-NSA without a space after the colon, as on RM5xx firmware), QTEMP one "name","value" per line,
    QNWINFO, QCAINFO, QGDCNT."""
    NAME = "quectel-rm500q"
    DEFAULTS = dict(QuectelEC25.DEFAULTS, model="RM500Q-GL", revision="RM500QGLABR11A06M4G",
                    imei="866758041234567", act=13, nr_pci=500, nr_rsrp_dbm=-85, nr_sinr_db=20, nr_rsrq_db=-11,
                    nr_arfcn=627264, nr_band=78, temp_c=44)
    BOOT_URCS = ("RDY", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE")

    def vendor(self, emu, cmd, u):
        s = emu.state
        if u == 'AT+QENG="SERVINGCELL"':
            if not self.registered(s):
                return ['+QENG: "servingcell","SEARCH"'], "OK"
            return ['+QENG: "servingcell","NOCONN"',
                    '+QENG: "LTE","FDD",%s,%s,%s,%d,%d,%d,3,3,%s,%d,%d,%d,%d,9,160,-' % (
                        s["plmn"][:3], s["plmn"][3:], s["cell_id"], s["pci"], s["earfcn"], s["band"], s["tac"],
                        s["rsrp_dbm"], int(s["rsrq_db"]), s["rssi_dbm"], s["sinr_db"]),
                    '+QENG:"NR5G-NSA",%s,%s,%d,%d,%d,%d,%d,%d,12,1' % (
                        s["plmn"][:3], s["plmn"][3:], s["nr_pci"], s["nr_rsrp_dbm"], s["nr_sinr_db"],
                        s["nr_rsrq_db"], s["nr_arfcn"], s["nr_band"])], "OK"
        if u == "AT+QTEMP":
            t = s["temp_c"]
            return ['+QTEMP: "modem-lte-sub6-pa1","%d"' % (t - 3), '+QTEMP: "cpu0-a7-usr","%d"' % t,
                    '+QTEMP: "modem-ambient-usr","%d"' % (t - 5)], "OK"
        if u == "AT+QCAINFO":
            if not self.registered(s):
                return [], "OK"
            return ['+QCAINFO: "PCC",%d,100,"LTE BAND %d",1,%d,%d,%d,%d,%d' % (
                s["earfcn"], s["band"], s["pci"], s["rsrp_dbm"], int(s["rsrq_db"]), s["rssi_dbm"], s["sinr_db"])], "OK"
        if u == "AT+QNWINFO" and self.registered(s):
            return ['+QNWINFO: "FDD LTE","%s","LTE BAND %d",%d' % (s["plmn"], s["band"], s["earfcn"])], "OK"
        return QuectelEC25.vendor(self, emu, cmd, u)

    def expected(self, s):
        e = QuectelEC25.expected(self, s)
        if self.registered(s):
            e["rat"] = "NR5G-NSA"
            e["nr"] = {"rat": "NR5G-NSA", "pci": s["nr_pci"], "rsrp_dbm": s["nr_rsrp_dbm"],
                       "sinr_db": s["nr_sinr_db"], "rsrq_db": s["nr_rsrq_db"], "earfcn": s["nr_arfcn"],
                       "band": s["nr_band"]}
        return e


class SimcomA7670E(SimcomSIM7600):
    """SIMCom A7670E (ASR Cat-1): boot URCs *ATREADY/+CPIN/SMS DONE/PB DONE (transcript
    simcom_a7670e_boot_urcs), +CPSI in whole dB, verbose CME errors, AT+CPMUTEMP -> ERROR."""
    NAME = "simcom-a7670e"
    DEFAULTS = dict(SimcomSIM7600.DEFAULTS, manufacturer="SIMCOM INCORPORATED", model="A7670E-LASE",
                    revision="A7670M7_V1.11.1", imei="862205051234567")
    BOOT_URCS = ("+CPIN: READY", "SMS DONE", "+CGEV: NW REATTACH", "PB DONE", "*ATREADY: 1")

    def vendor(self, emu, cmd, u):
        s = emu.state
        if u == "AT+CPSI?" and self.registered(s):
            return ["+CPSI: LTE,Online,%s-%s,0x%s,%d,%d,EUTRAN-BAND%d,%d,5,5,%d,%d,%d,%d" % (
                s["plmn"][:3], s["plmn"][3:], s["tac"], int(s["cell_id"], 16), s["pci"], s["band"],
                s["earfcn"], int(s["rsrq_db"]), s["rsrp_dbm"], s["rssi_dbm"], s["sinr_db"])], "OK"
        if u == "AT+CPMUTEMP":
            return [], "ERROR"
        return SimcomSIM7600.vendor(self, emu, cmd, u)

    def expected(self, s):
        e = SimcomSIM7600.expected(self, s)
        e["temp_c"] = None
        if self.registered(s):
            e["rsrq_db"] = int(s["rsrq_db"])
        return e


class UbloxSaraR5(Generic):
    """u-blox SARA-R5 (LTE-M): AT+UCGED=2 then AT+UCGED? multi-line, RSRP/RSRQ as 36.133 indices, fff/ffff
    placeholders when not camped (at-modems.md 5.4); COPS AcT 8."""
    NAME = "ublox-sara-r5"
    DEFAULTS = dict(Generic.DEFAULTS, manufacturer="u-blox", model="SARA-R510M8S", revision="03.15",
                    imei="352753091234567", act=8, vendor="ublox")
    BOOT_URCS = ("+CPIN: READY",)

    def vendor_name(self):
        return "ublox"

    def vendor(self, emu, cmd, u):
        s = emu.state
        if u.startswith("AT+UCGED="):
            return [], "OK"
        if u == "AT+UCGED?":
            if not self.registered(s):
                return ["+UCGED: 2", "6,4,fff,fff", "65535,255,255,255,ffff,0000000,65535,00000000,ffff,ff,255,255,255,1,255,255,255"], "OK"
            return ["+UCGED: 2", "6,0,%s,%s" % (s["plmn"][:3], s["plmn"][3:]),
                    "%d,%d,25,25,%s,%s,%d,FA23B1C4,8001,01,%d,%d,%d,1,1,15,%d" % (
                        s["earfcn"], s["band"], s["tac"], s["cell_id"], s["pci"], _rsrp_idx(s["rsrp_dbm"]),
                        _rsrq_idx(s["rsrq_db"]), s["sinr_db"], _rsrp_idx(s["rsrp_dbm"]))], "OK"
        return None

    def expected(self, s):
        e = Generic.expected(self, s)
        reg = self.registered(s)
        e["rat"] = "LTE-M" if reg else None
        e["rsrp_dbm"] = _rsrp_idx(s["rsrp_dbm"]) - 141 if reg else None
        e["rsrq_db"] = _rsrq_idx(s["rsrq_db"]) / 2.0 - 20 if reg else None
        e["sinr_db"] = s["sinr_db"] if reg else None
        e["band"] = s["band"] if reg else None
        e["pci"] = s["pci"] if reg else None
        e["earfcn"] = s["earfcn"] if reg else None
        return e


class TelitLE910(Generic):
    """Telit LE910C1: AT#RFSTS in the LE910C1 layout without the optional TXPWR field (transcript
    telit_le910c1_rfsts), AT#CCID."""
    NAME = "telit-le910"
    DEFAULTS = dict(Generic.DEFAULTS, manufacturer="Telit", model="LE910C1-EUX", revision="25.21.660",
                    imei="351622071234567", vendor="telit")
    BOOT_URCS = ("+CPIN: READY",)

    def vendor_name(self):
        return "telit"

    def iccid_commands(self):
        return ("AT#CCID", "AT+ICCID", "AT+CCID")

    def iccid_line(self, s, u="AT#CCID"):
        return "#CCID: %s" % s["iccid"] if u == "AT#CCID" else Generic.iccid_line(self, s, u)

    def vendor(self, emu, cmd, u):
        s = emu.state
        if u == "AT#RFSTS":
            if not self.registered(s):
                return ['#RFSTS: "000 00",0,,,,0000,,128,0,0,0000000,"","",0,0,0'], "OK"
            return ['#RFSTS: "%s %s",%d,%d,%d,%d,%s,,128,3,1,%s,"%s","%s",3,%d,108' % (
                s["plmn"][:3], s["plmn"][3:], s["earfcn"], s["rsrp_dbm"], s["rssi_dbm"], int(s["rsrq_db"]),
                s["tac"], s["cell_id"], s["imsi"], s["operator"], s["band"])], "OK"
        return None

    def expected(self, s):
        e = Generic.expected(self, s)
        reg = self.registered(s)
        e.update(_serving(s, reg, pci=False))
        e["pci"] = None
        return e


class SierraEM7455(Generic):
    """Sierra Wireless EM7455: AT!GSTATUS? two-column block with TABs and trailing spaces, `--` Tx power
    when idle (transcript sierra_em7455_gstatus_tabs_idle)."""
    NAME = "sierra-em7455"
    DEFAULTS = dict(Generic.DEFAULTS, manufacturer="Sierra Wireless, Incorporated", model="EM7455",
                    revision="SWI9X30C_02.33.03.00", imei="359072061234567", vendor="sierra")
    BOOT_URCS = ("+CPIN: READY",)

    def vendor_name(self):
        return "sierra"

    def vendor(self, emu, cmd, u):
        s = emu.state
        if u == "AT!GSTATUS?":
            if not self.registered(s):
                return ["!GSTATUS: ", "Current Time:  1373\t\tTemperature: %d" % s["temp_c"],
                        "System mode:   NO SERVICE ", "EMM state:     Deregistered"], "OK"
            t = "\t"
            return ["!GSTATUS: ",
                    "Current Time:  1373%s%sTemperature: %d" % (t, t, s["temp_c"]),
                    "Reset Counter: 3%s%sMode:        ONLINE         " % (t, t),
                    "System mode:   LTE        %sPS state:    Attached     " % t,
                    "LTE band:      B%d     %s%sLTE bw:      10 MHz   " % (s["band"], t, t),
                    "LTE Rx chan:   %d%s%sLTE Tx chan: 24300" % (s["earfcn"], t, t),
                    "LTE CA state:  NOT ASSIGNED",
                    "EMM state:     Registered     %sNormal Service " % t,
                    "RRC state:     RRC Idle       ",
                    "PCC RxM RSSI:  %d%s%sRSRP (dBm):  %d" % (s["rssi_dbm"], t, t, s["rsrp_dbm"]),
                    "PCC RxD RSSI:  %d%s%sRSRP (dBm):  %d" % (s["rssi_dbm"] - 2, t, t, s["rsrp_dbm"] - 6),
                    "Tx Power:      --%s%sTAC:         %s (%d)" % (t, t, s["tac"], int(s["tac"], 16)),
                    "RSRQ (dB):     %.1f%s%sCell ID:     %08X (%d)" % (s["rsrq_db"], t, t, int(s["cell_id"], 16),
                                                                     int(s["cell_id"], 16)),
                    "SINR (dB):      %.1f" % s["sinr_db"]], "OK"
        return None

    def expected(self, s):
        e = Generic.expected(self, s)
        reg = self.registered(s)
        e.update(_serving(s, reg, sinr=float(s["sinr_db"]), rsrq=s["rsrq_db"], pci=False))
        e["pci"] = None
        e["temp_c"] = s["temp_c"]
        return e


PROFILES = {"generic": Generic, "quectel-ec25": QuectelEC25, "simcom-sim7600": SimcomSIM7600,
            "huawei-me909": HuaweiME909, "quectel-rm500q": QuectelRM500Q, "simcom-a7670e": SimcomA7670E,
            "ublox-sara-r5": UbloxSaraR5, "telit-le910": TelitLE910, "sierra-em7455": SierraEM7455}


def get(name):
    try:
        return PROFILES[name]()
    except KeyError:
        raise ValueError("unknown emulator profile %r (have: %s)" % (name, ", ".join(sorted(PROFILES))))
