"""Sierra Wireless profile: EM7455 (!GSTATUS? with TABs and `--`)."""
from .generic import Generic, serving


class SierraEM7455(Generic):
    """Sierra Wireless EM7455: AT!GSTATUS? two-column block with TABs and trailing spaces, `--` Tx power
    when idle (transcript sierra_em7455_gstatus_tabs_idle)."""
    NAME = "sierra-em7455"
    VENDOR = "sierra"  # the driver name a correct agent reports
    DEFAULTS = dict(Generic.DEFAULTS, manufacturer="Sierra Wireless, Incorporated", model="EM7455",
                    revision="SWI9X30C_02.33.03.00", imei="359072061234567")
    BOOT_URCS = ("+CPIN: READY",)

    def answer_vendor(self, emu, cmd, u):
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
        e.update(serving(s, reg, sinr=float(s["sinr_db"]), rsrq=s["rsrq_db"], pci=False))
        e["pci"] = None
        e["temp_c"] = s["temp_c"]
        return e
