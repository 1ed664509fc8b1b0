"""SIMCom profiles: SIM7600 (CPSI in tenths) and A7670E (CPSI in whole dB, no CPMUTEMP)."""
from .generic import Generic, serving, mcc, mnc


class SimcomSIM7600(Generic):
    """SIMCom SIM7600 (Qualcomm): AT+CPSI? with RSRQ/RSRP/RSSI in tenths of dB (at-modems.md 5.1),
    AT+CICCID, AT+CPMUTEMP, boot URCs *ATREADY / SMS DONE / PB DONE."""
    NAME = "simcom-sim7600"
    VENDOR = "simcom"  # the driver name a correct agent reports
    DEFAULTS = dict(Generic.DEFAULTS, manufacturer="SIMCOM INCORPORATED", model="SIMCOM_SIM7600E-H",
                    revision="SIM7600M22_V2.0", imei="862636051234567")
    BOOT_URCS = ("*ATREADY: 1", "+CPIN: READY", "SMS DONE", "PB DONE")
    FLOOD_URC = "+CEREG: 1"

    def iccid_commands(self):
        return ("AT+CICCID", "AT+CCID", "AT+ICCID")

    def iccid_line(self, s, u="AT+CICCID"):
        # SIMCom answers AT+CICCID with the +ICCID: prefix
        return "+ICCID: %s" % s["iccid"]

    def answer_vendor(self, emu, cmd, u):
        s = emu.state
        if u == "AT+CPSI?":
            if not self.registered(s):
                return ["+CPSI: NO SERVICE,Online"], "OK"
            return ["+CPSI: LTE,Online,%s-%s,0x%s,%d,%d,EUTRAN-BAND%d,%d,5,5,%d,%d,%d,%d" % (
                mcc(s), mnc(s), s["tac"], int(s["cell_id"], 16), s["pci"], s["band"],
                s["earfcn"], int(round(s["rsrq_db"] * 10)), s["rsrp_dbm"] * 10, s["rssi_dbm"] * 10,
                s["sinr_db"])], "OK"
        if u == "AT+CPMUTEMP":
            return ["+CPMUTEMP: %d" % s["temp_c"]], "OK"
        return None

    def expected(self, s):
        e = Generic.expected(self, s)
        e.update(serving(s, self.registered(s), sinr=s["sinr_db"], rsrq=s["rsrq_db"]))
        e["temp_c"] = s["temp_c"]
        return e

class SimcomA7670E(SimcomSIM7600):
    """SIMCom A7670E (ASR Cat-1): boot URCs *ATREADY/+CPIN/SMS DONE/PB DONE (transcript
    simcom_a7670e_boot_urcs), +CPSI in whole dB, verbose CME errors, AT+CPMUTEMP -> ERROR."""
    NAME = "simcom-a7670e"
    DEFAULTS = dict(SimcomSIM7600.DEFAULTS, manufacturer="SIMCOM INCORPORATED", model="A7670E-LASE",
                    revision="A7670M7_V1.11.1", imei="862205051234567")
    BOOT_URCS = ("+CPIN: READY", "SMS DONE", "+CGEV: NW REATTACH", "PB DONE", "*ATREADY: 1")

    def answer_vendor(self, emu, cmd, u):
        s = emu.state
        if u == "AT+CPSI?" and self.registered(s):
            return ["+CPSI: LTE,Online,%s-%s,0x%s,%d,%d,EUTRAN-BAND%d,%d,5,5,%d,%d,%d,%d" % (
                mcc(s), mnc(s), s["tac"], int(s["cell_id"], 16), s["pci"], s["band"],
                s["earfcn"], int(s["rsrq_db"]), s["rsrp_dbm"], s["rssi_dbm"], s["sinr_db"])], "OK"
        if u == "AT+CPMUTEMP":
            return [], "ERROR"
        return SimcomSIM7600.answer_vendor(self, emu, cmd, u)

    def expected(self, s):
        e = SimcomSIM7600.expected(self, s)
        e["temp_c"] = None
        if self.registered(s):
            e["rsrq_db"] = int(s["rsrq_db"])
        return e
