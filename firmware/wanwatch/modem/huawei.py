# modem/huawei.py: Huawei (ME909/ME906/E3372...) on top of the generic driver.
# ^HCSQ (formulas as ModemManager mm-broadband-modem-huawei.c), ^SYSINFOEX / ^SYSINFO, ^ICCID?.
from .generic import GenericDriver, fields, to_int, first, empty_signal

SYSMODE_RAT = {1: "GSM", 3: "UMTS", 4: "UMTS", 6: "LTE", 7: "LTE"}  # ^SYSINFOEX sysmode


def _v(f, i, lo, hi):
    v = to_int(f[i]) if len(f) > i else None
    return v if v is not None and lo <= v <= hi else None


def parse_hcsq(line):
    """^HCSQ: "<sysmode>",v1..v4 -> dict (rat + dBm/dB values), None on garbage. NOSERVICE -> rat None."""
    if not line or not line.startswith("^HCSQ:"):
        return None
    f = fields(line, "^HCSQ:")
    mode = f[0].strip('"').upper() if f else ""
    d = {"rat": None, "rssi_dbm": None, "rsrp_dbm": None, "sinr_db": None, "rsrq_db": None, "rscp_dbm": None,
         "ecio_db": None, "sysmode": mode or None}
    if mode == "LTE":
        d["rat"] = "LTE"
        v = _v(f, 1, 0, 96)
        d["rssi_dbm"] = None if v is None else v - 121
        v = _v(f, 2, 0, 97)
        d["rsrp_dbm"] = None if v is None else v - 141
        v = _v(f, 3, 0, 251)
        d["sinr_db"] = None if v is None else round(-20.2 + v / 5.0, 1)
        v = _v(f, 4, 0, 34)
        d["rsrq_db"] = None if v is None else -20 + v / 2.0
    elif mode == "WCDMA":
        d["rat"] = "UMTS"
        v = _v(f, 1, 0, 96)
        d["rssi_dbm"] = None if v is None else v - 121
        v = _v(f, 2, 0, 96)
        d["rscp_dbm"] = None if v is None else v - 121
        v = _v(f, 3, 0, 65)
        d["ecio_db"] = None if v is None else -32.5 + v / 2.0
    elif mode == "GSM":
        d["rat"] = "GSM"
        v = _v(f, 1, 0, 96)
        d["rssi_dbm"] = None if v is None else v - 121
    elif mode == "NR":
        d["rat"] = "NR5G-SA"
        v = _v(f, 1, 0, 126)
        d["rsrp_dbm"] = None if v is None else v - 157
        v = _v(f, 2, 0, 251)
        d["sinr_db"] = None if v is None else round(-20.2 + v / 5.0, 1)
        v = _v(f, 3, 0, 127)
        d["rsrq_db"] = None if v is None else -43 + v / 2.0
    return d


def parse_sysinfoex(line):
    if not line or not line.startswith("^SYSINFOEX:"):
        return None
    f = fields(line, "^SYSINFOEX:") + [""] * 9
    sysmode = to_int(f[5])
    return {"srv_status": to_int(f[0]), "srv_domain": to_int(f[1]), "roam_status": to_int(f[2]),
            "sim_state": to_int(f[3]), "lock_state": to_int(f[4]), "sysmode": sysmode,
            "sysmode_name": f[6] or None, "submode": to_int(f[7]), "submode_name": f[8] or None,
            "rat": SYSMODE_RAT.get(sysmode)}


def parse_sysinfo(line):
    if not line or not line.startswith("^SYSINFO:"):
        return None
    f = fields(line, "^SYSINFO:") + [""] * 7
    return {"srv_status": to_int(f[0]), "srv_domain": to_int(f[1]), "roam_status": to_int(f[2]),
            "sys_mode": to_int(f[3]), "sim_state": to_int(f[4]), "submode": to_int(f[6])}


class HuaweiDriver(GenericDriver):
    name = "huawei"
    ICCID_COMMANDS = ("AT^ICCID?", "AT+CCID", "AT+ICCID")
    RESET_COMMAND = "AT^RESET"

    async def poll_signal(self):
        sig = await GenericDriver.poll_signal(self)
        r = await self.cmd("AT^HCSQ?")
        h = parse_hcsq(first(r.lines, "^HCSQ:")) if r.ok else None
        if h is not None and h["rat"] is not None:
            sig["rat"] = h["rat"]
            for k in ("rssi_dbm", "rsrp_dbm", "sinr_db", "rsrq_db"):
                if h[k] is not None:
                    sig[k] = h[k]
        return sig


Driver = HuaweiDriver
