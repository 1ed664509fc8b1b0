# modem/vendors/huawei.py: Huawei (ME909/ME906/E3372...) on top of the generic driver.
# ^HCSQ (formulas as ModemManager mm-broadband-modem-huawei.c), ^SYSINFOEX / ^SYSINFO, ^ICCID?.
from .generic import GenericDriver, fields, to_int, first

SYSMODE_RAT = {1: "GSM", 3: "UMTS", 4: "UMTS", 6: "LTE", 7: "LTE"}  # ^SYSINFOEX sysmode


# ^HCSQ sysmode -> (status rat, ((key, field, lowest, highest index, dB at index 0, dB per step), ...)):
# value = base + index * step for an index in range, else None (255 = unknown)
HCSQ = {"LTE": ("LTE", (("rssi_dbm", 1, 0, 96, -121, 1), ("rsrp_dbm", 2, 0, 97, -141, 1),
                        ("sinr_db", 3, 0, 251, -20.2, 0.2), ("rsrq_db", 4, 0, 34, -20, 0.5))),
        "WCDMA": ("UMTS", (("rssi_dbm", 1, 0, 96, -121, 1), ("rscp_dbm", 2, 0, 96, -121, 1),
                           ("ecio_db", 3, 0, 65, -32.5, 0.5))),
        "GSM": ("GSM", (("rssi_dbm", 1, 0, 96, -121, 1),)),
        # 5G: no RSSI, SINR before RSRQ; rsrp/rsrq from the 38.133 NR index tables (inferred: no capture)
        "NR": ("NR5G-SA", (("rsrp_dbm", 1, 0, 126, -157, 1), ("sinr_db", 2, 0, 251, -20.2, 0.2),
                           ("rsrq_db", 3, 0, 127, -43, 0.5)))}


def parse_hcsq(line):
    """^HCSQ: "<sysmode>",v1..v4 -> dict (rat + dBm/dB values), None on garbage. NOSERVICE -> rat None."""
    if not line or not line.startswith("^HCSQ:"):
        return None
    f = fields(line, "^HCSQ:")
    mode = f[0].strip('"').upper() if f else ""
    d = {"rat": None, "rssi_dbm": None, "rsrp_dbm": None, "sinr_db": None, "rsrq_db": None, "rscp_dbm": None,
         "ecio_db": None, "sysmode": mode or None}
    rat, scales = HCSQ.get(mode, (None, ()))
    d["rat"] = rat
    for key, i, lo, hi, base, step in scales:
        v = to_int(f[i]) if len(f) > i else None
        if v is not None and lo <= v <= hi:
            d[key] = base + v if step == 1 else round(base + v * step, 1)
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
    NAME = "huawei"
    MARKS = ("HUAWEI",)
    URC_PREFIXES = ("^HCSQ:", "^SYSSTART", "^MODE:", "^RSSI:")
    BOOT_MARKS = ("^SYSSTART",)
    ICCID_COMMANDS = ("AT^ICCID?", "AT+CCID", "AT+ICCID")
    RESET_COMMAND = "AT^RESET"
    CELL_COMMAND = "AT^HCSQ?"

    def parse_cell(self, lines):
        return parse_hcsq(first(lines, "^HCSQ:"))


Driver = HuaweiDriver
