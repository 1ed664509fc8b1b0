"""Telit profile: LE910C1 (#RFSTS without TXPWR, #CCID)."""
from .generic import Generic, serving, mcc, mnc


class TelitLE910(Generic):
    """Telit LE910C1: AT#RFSTS in the LE910C1 layout without the optional TXPWR field (transcript
    telit_le910c1_rfsts), AT#CCID."""
    NAME = "telit-le910"
    VENDOR = "telit"  # the driver name a correct agent reports
    DEFAULTS = dict(Generic.DEFAULTS, manufacturer="Telit", model="LE910C1-EUX", revision="25.21.660",
                    imei="351622071234567")
    BOOT_URCS = ("+CPIN: READY",)

    def iccid_commands(self):
        return ("AT#CCID", "AT+ICCID", "AT+CCID")

    def iccid_line(self, s, u="AT#CCID"):
        return "#CCID: %s" % s["iccid"] if u == "AT#CCID" else Generic.iccid_line(self, s, u)

    def answer_vendor(self, emu, cmd, u):
        s = emu.state
        if u == "AT#RFSTS":
            if not self.registered(s):
                return ['#RFSTS: "000 00",0,,,,0000,,128,0,0,0000000,"","",0,0,0'], "OK"
            return ['#RFSTS: "%s %s",%d,%d,%d,%d,%s,,128,3,1,%s,"%s","%s",3,%d,108' % (
                mcc(s), mnc(s), s["earfcn"], s["rsrp_dbm"], s["rssi_dbm"], int(s["rsrq_db"]),
                s["tac"], s["cell_id"], s["imsi"], s["operator"], s["band"])], "OK"
        return None

    def expected(self, s):
        e = Generic.expected(self, s)
        reg = self.registered(s)
        e.update(serving(s, reg, pci=False))
        e["pci"] = None
        return e
