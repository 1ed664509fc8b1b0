"""Quectel profiles: EC25 (LTE, 18-field QENG, QTEMP 3-value form) and RM500Q (5G NSA, 3-line QENG)."""
from .generic import Generic, serving, mcc, mnc


class QuectelEC25(Generic):
    """Quectel EC25 (LTE Cat 4): 18-field QENG servingcell (older FW), QTEMP 3-value form, QGDCNT."""
    NAME = "quectel-ec25"
    VENDOR = "quectel"  # the driver name a correct agent reports
    DEFAULTS = dict(Generic.DEFAULTS, manufacturer="Quectel", model="EC25", revision="EC25EFAR06A06M4G",
                    imei="867698041234567")
    BOOT_URCS = ("RDY", "+CFUN: 1", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE")
    FLOOD_URC = '+QIND: "csq",20,99'

    def iccid_commands(self):
        return ("AT+QCCID", "AT+CCID", "AT+ICCID")

    def iccid_line(self, s, u="AT+QCCID"):
        # Quectel pads a 19-digit ICCID with F (at-modems.md §3.6)
        iccid = s["iccid"] + "F" if len(s["iccid"]) == 19 else s["iccid"]
        return "%s: %s" % (u[2:], iccid)

    def answer_vendor(self, emu, cmd, u):
        s = emu.state
        if u == 'AT+QENG="SERVINGCELL"':
            if not self.registered(s):
                return ['+QENG: "servingcell","SEARCH"'], "OK"
            return ['+QENG: "servingcell","NOCONN","LTE","FDD",%s,%s,%s,%d,%d,%d,3,3,%s,%d,%d,%d,%d,-' % (
                mcc(s), mnc(s), s["cell_id"], s["pci"], s["earfcn"], s["band"], s["tac"],
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
        e.update(serving(s, reg, sinr=s["sinr_db"]))
        e["temp_c"] = s["temp_c"]
        e["counters"] = {"rx_bytes": s["rx_bytes"], "tx_bytes": s["tx_bytes"]}
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

    def answer_vendor(self, emu, cmd, u):
        s = emu.state
        if u == 'AT+QENG="SERVINGCELL"':
            if not self.registered(s):
                return ['+QENG: "servingcell","SEARCH"'], "OK"
            return ['+QENG: "servingcell","NOCONN"',
                    '+QENG: "LTE","FDD",%s,%s,%s,%d,%d,%d,3,3,%s,%d,%d,%d,%d,9,160,-' % (
                        mcc(s), mnc(s), s["cell_id"], s["pci"], s["earfcn"], s["band"], s["tac"],
                        s["rsrp_dbm"], int(s["rsrq_db"]), s["rssi_dbm"], s["sinr_db"]),
                    '+QENG:"NR5G-NSA",%s,%s,%d,%d,%d,%d,%d,%d,12,1' % (
                        mcc(s), mnc(s), s["nr_pci"], s["nr_rsrp_dbm"], s["nr_sinr_db"],
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
        return QuectelEC25.answer_vendor(self, emu, cmd, u)

    def expected(self, s):
        e = QuectelEC25.expected(self, s)
        if self.registered(s):
            e["rat"] = "NR5G-NSA"
            e["nr"] = {"rat": "NR5G-NSA", "pci": s["nr_pci"], "rsrp_dbm": s["nr_rsrp_dbm"],
                       "sinr_db": s["nr_sinr_db"], "rsrq_db": s["nr_rsrq_db"], "earfcn": s["nr_arfcn"],
                       "band": s["nr_band"]}
        return e
