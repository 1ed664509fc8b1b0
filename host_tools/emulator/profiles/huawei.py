"""Huawei profile: ME909s (^HCSQ index values, ^SYSINFOEX, ^ICCID?)."""
from .generic import Generic


class HuaweiME909(Generic):
    """Huawei ME909s: AT^HCSQ? index values (rssi+121, rsrp+141, (sinr+20.2)*5, (rsrq+20)*2),
    AT^SYSINFOEX, AT^ICCID? (at-modems.md 5.x)."""
    NAME = "huawei-me909"
    VENDOR = "huawei"  # the driver name a correct agent reports
    DEFAULTS = dict(Generic.DEFAULTS, manufacturer="Huawei Technologies Co., Ltd.", model="ME909s-120",
                    revision="11.617.01.00.00", imei="863781031234567")
    BOOT_URCS = ("^SYSSTART", "+CPIN: READY")
    FLOOD_URC = '^HCSQ:"LTE",52,44,161,23'

    def iccid_commands(self):
        return ("AT^ICCID?", "AT+CCID", "AT+ICCID")

    def iccid_line(self, s, u="AT^ICCID?"):
        return "^ICCID: %s" % s["iccid"] if u == "AT^ICCID?" else Generic.iccid_line(self, s, u)

    def answer_vendor(self, emu, cmd, u):
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
