"""u-blox profile: SARA-R5 (UCGED mode 2, LTE-M)."""
from .generic import Generic, rsrp_idx, rsrq_idx, mcc, mnc


class UbloxSaraR5(Generic):
    """u-blox SARA-R5 (LTE-M): AT+UCGED=2 then AT+UCGED? multi-line, RSRP/RSRQ as 36.133 indices, fff/ffff
    placeholders when not camped (at-modems.md 5.4); COPS AcT 8."""
    NAME = "ublox-sara-r5"
    VENDOR = "ublox"  # the driver name a correct agent reports
    DEFAULTS = dict(Generic.DEFAULTS, manufacturer="u-blox", model="SARA-R510M8S", revision="03.15",
                    imei="352753091234567", act=8)
    BOOT_URCS = ("+CPIN: READY",)

    def answer_vendor(self, emu, cmd, u):
        s = emu.state
        if u.startswith("AT+UCGED="):
            return [], "OK"
        if u == "AT+UCGED?":
            if not self.registered(s):
                return ["+UCGED: 2", "6,4,fff,fff", "65535,255,255,255,ffff,0000000,65535,00000000,ffff,ff,255,255,255,1,255,255,255"], "OK"
            return ["+UCGED: 2", "6,0,%s,%s" % (mcc(s), mnc(s)),
                    "%d,%d,25,25,%s,%s,%d,FA23B1C4,8001,01,%d,%d,%d,1,1,15,%d" % (
                        s["earfcn"], s["band"], s["tac"], s["cell_id"], s["pci"], rsrp_idx(s["rsrp_dbm"]),
                        rsrq_idx(s["rsrq_db"]), s["sinr_db"], rsrp_idx(s["rsrp_dbm"]))], "OK"
        return None

    def expected(self, s):
        e = Generic.expected(self, s)
        reg = self.registered(s)
        e["rat"] = "LTE-M" if reg else None
        e["rsrp_dbm"] = rsrp_idx(s["rsrp_dbm"]) - 141 if reg else None
        e["rsrq_db"] = rsrq_idx(s["rsrq_db"]) / 2.0 - 20 if reg else None
        e["sinr_db"] = s["sinr_db"] if reg else None
        e["band"] = s["band"] if reg else None
        e["pci"] = s["pci"] if reg else None
        e["earfcn"] = s["earfcn"] if reg else None
        return e
