# modem/generic.py: 3GPP TS 27.007 parsers (pure) and the generic driver every vendor builds on.
# Unknown or placeholder values (99, 255, FFFE, empty) become None, never 0.

# 27.007 <stat> -> (registration, registered)
REG = {0: ("not_registered", False), 1: ("home", True), 2: ("searching", False), 3: ("denied", False),
       4: ("unknown", False), 5: ("roaming", True), 6: ("home", True), 7: ("roaming", True),
       8: ("not_registered", False), 9: ("home", True), 10: ("roaming", True), 11: ("not_registered", False)}
# 27.007 <AcT> -> status rat
ACT = {0: "GSM", 1: "GSM", 2: "UMTS", 3: "GSM", 4: "UMTS", 5: "UMTS", 6: "UMTS", 7: "LTE", 8: "LTE-M",
       9: "NB-IoT", 10: "LTE", 11: "NR5G-SA", 12: "NR5G-SA", 13: "NR5G-NSA"}
CPIN = {"READY": "ready", "SIM PIN": "pin", "SIM PUK": "puk", "PH-SIM PIN": "pin", "SIM PIN2": "ready",
        "SIM PUK2": "ready"}


def fields(line, prefix=None):
    """'+CSQ: 9, 99' -> ['9', '99']: prefix cut, split on commas, spaces and quotes stripped."""
    if prefix is None:
        i = line.find(":")
        body = line[i + 1:] if i >= 0 else line
    else:
        body = line[len(prefix):] if line.startswith(prefix) else line
    out = []
    for f in body.split(","):
        f = f.strip()
        if len(f) >= 2 and f[0] == '"' and f[-1] == '"':
            f = f[1:-1].strip()
        out.append(f)
    return out


def to_int(s, base=10):
    try:
        return int(s.replace(" ", ""), base) if s else None
    except (ValueError, AttributeError):
        return None


def to_float(s):
    try:
        return float(s) if s not in (None, "", "-", "--") else None
    except ValueError:
        return None


def hex_id(s, placeholders=("FFFE", "FFFF", "FFFFFFF", "FFFFFFFF", "0000000", "FFF")):
    """Hex identifier (LAC/TAC/CI) -> int, None for placeholders or garbage."""
    if not s:
        return None
    s = s.replace(" ", "")
    if s.upper() in placeholders:
        return None
    return to_int(s, 16)


def first(lines, prefix):
    for l in lines or ():
        if l.startswith(prefix):
            return l
    return None


def parse_csq(line):
    f = fields(line, "+CSQ:")
    rssi = to_int(f[0]) if f else None
    ber = to_int(f[1]) if len(f) > 1 else None
    if rssi is None or rssi > 31 or rssi < 0:
        rssi = None
    return {"csq": rssi, "rssi_dbm": None if rssi is None else -113 + 2 * rssi,
            "ber": None if ber is None or ber > 7 else ber}


def parse_cesq(line):
    f = fields(line, "+CESQ:")
    v = [to_int(x) for x in f] + [None] * 6
    rxlev, ber, rscp, ecno, rsrq, rsrp = v[:6]
    return {
        "rssi_dbm": -111 + rxlev if rxlev is not None and 0 <= rxlev <= 63 else None,
        "ber": ber if ber is not None and ber <= 7 else None,
        "rscp_dbm": -121 + rscp if rscp is not None and 0 <= rscp <= 96 else None,
        "ecio_db": -24.5 + ecno * 0.5 if ecno is not None and 0 <= ecno <= 49 else None,
        "rsrq_db": -20 + rsrq * 0.5 if rsrq is not None and 0 <= rsrq <= 34 else None,
        "rsrp_dbm": -141 + rsrp if rsrp is not None and 0 <= rsrp <= 97 else None,
    }


def parse_reg(line, solicited=True):
    """+CREG/+CGREG/+CEREG/+C5GREG. Solicited answers start with <n>; URCs don't."""
    f = fields(line)
    if solicited and len(f) >= 2:
        n, rest = to_int(f[0]), f[1:]
    else:
        n, rest = None, f
    stat = to_int(rest[0]) if rest else None
    rest = rest[1:]
    lac = ci = act = None
    if len(rest) >= 2:
        lac = hex_id(rest[0])
        if len(rest) >= 4 and len(rest[1]) <= 2 and line.startswith("+CEREG"):
            # Novatel-style <tac>,<rac>,<ci>,<act>
            ci = hex_id(rest[2])
            act = to_int(rest[3])
        else:
            ci = hex_id(rest[1])
            act = to_int(rest[2]) if len(rest) > 2 else None
    reg, registered = REG.get(stat, ("unknown", False))
    return {"n": n, "stat": stat, "registration": reg, "registered": registered, "lac": lac, "ci": ci,
            "act": act, "rat": ACT.get(act)}


def parse_cops(line):
    f = fields(line, "+COPS:")
    out = {"mode": to_int(f[0]) if f else None, "format": None, "oper": None, "act": None}
    if len(f) >= 3:
        out["format"] = to_int(f[1])
        out["oper"] = f[2] or None
        out["act"] = to_int(f[3]) if len(f) > 3 else None
    return out


def split_plmn(num):
    """'26201' -> ('262', '01'); '310260' -> ('310', '260'); anything else -> (None, None)."""
    if num and num.isdigit() and len(num) in (5, 6):
        return num[:3], num[3:]
    return None, None


def parse_cpin(resp):
    line = first(resp.lines, "+CPIN:")
    if line is not None:
        code = fields(line, "+CPIN:")[0].upper()
        return CPIN.get(code, "pin" if "PIN" in code or "PUK" in code else "error")
    return sim_error_state(resp)


def sim_error_state(resp):
    code, text = resp.code, (resp.text or "").lower()
    if code == 10 or "not inserted" in text:
        return "absent"
    if code in (14, 515) or "busy" in text or "wait" in text:
        return "busy"
    if code == 13 or "failure" in text:
        return "error"
    if resp.final == "TIMEOUT":
        return None
    return "error"


def normalize_iccid(s):
    """Strip prefixes/quotes/F padding; 18-20 hex digits (some ICCIDs carry hex letters) or None."""
    if not s:
        return None
    s = s.strip().strip('"').upper()
    while s.endswith("F"):
        s = s[:-1]
    if not 18 <= len(s) <= 20:
        return None
    for c in s:
        if c not in "0123456789ABCDEF":
            return None
    return s


def bare_value(lines, digits=None):
    """First bare reply line (identity commands), optionally only digits of given lengths."""
    for l in lines or ():
        v = l
        if ":" in l and l.split(":")[0].startswith("+"):
            v = l.split(":", 1)[1].strip().strip('"')
        if digits is None:
            return v
        if v.isdigit() and len(v) in digits:
            return v
    return None


SIGNAL_KEYS = ("rat", "csq", "rssi_dbm", "rsrp_dbm", "rsrq_db", "sinr_db", "band", "cell_id", "tac", "pci", "earfcn")


def empty_signal():
    d = {}
    for k in SIGNAL_KEYS:
        d[k] = None
    d["nr"] = None
    return d


class GenericDriver:
    name = "generic"
    ICCID_COMMANDS = ("AT+CCID", "AT+ICCID")
    REG_COMMANDS = ("AT+CREG?", "AT+CGREG?", "AT+CEREG?", "AT+C5GREG?")

    def __init__(self, at, clock):
        self.at = at
        self.clock = clock
        self.modem = {"vendor": self.name, "model": None, "firmware": None, "imei": None, "state": "unresponsive",
                      "temp_c": None, "counters": None}
        self.sim = {"state": None, "iccid": None, "imsi": None}
        self.network = {"operator": None, "mcc": None, "mnc": None, "registration": None, "registered": None}
        self.signal = empty_signal()
        self._no_reg = {}  # commands the modem rejected: not asked again
        self._timeouts = 0  # timeouts in the current poll: after 2 the rest of the poll is skipped

    async def cmd(self, c, timeout=None, prefix=None):
        if self._timeouts >= 2:
            from ..at import Response
            return Response("TIMEOUT", [], None, "skipped: modem not answering")
        r = await self.at.command(c, timeout, prefix)
        if r.final == "TIMEOUT":
            self._timeouts += 1
        else:
            self._timeouts = 0
        return r

    async def init(self):
        """Wake the modem (AT until OK, ≤10 tries), echo off, verbose errors. True when it answered."""
        ok = False
        for _ in range(10):
            # straight to the engine: cmd() gives up after 2 timeouts, but a waking modem may miss
            # several probes (u-blox SARA-R422 capture: 4) before it answers
            r = await self.at.command("AT", 1.0)
            if r.ok:
                ok = True
                break
        self._timeouts = 0
        if not ok:
            self.modem["state"] = "unresponsive"
            return False
        await self.cmd("ATE0")
        await self.cmd("AT+CMEE=2")
        self.modem["state"] = "ready"
        return True

    async def identify(self):
        r = await self.cmd("AT+CGMI")
        manu = bare_value(r.lines) if r.ok else None
        r = await self.cmd("AT+CGMM")
        if r.ok:
            self.modem["model"] = bare_value(r.lines)
        r = await self.cmd("AT+CGMR")
        if r.ok:
            v = bare_value(r.lines)
            if v and v.upper().startswith("REVISION:"):
                v = v[9:].strip()
            self.modem["firmware"] = v
        r = await self.cmd("AT+CGSN")
        if r.ok:
            self.modem["imei"] = bare_value(r.lines, (14, 15, 16))
        await self.poll_sim()
        return manu

    async def poll_sim(self):
        r = await self.cmd("AT+CPIN?")
        self.sim["state"] = parse_cpin(r)
        if self.sim["state"] != "ready":
            if self.sim["state"] == "absent":
                self.sim["iccid"] = self.sim["imsi"] = None
            return
        if self.sim["iccid"] is None:
            for c in self.ICCID_COMMANDS:
                r = await self.cmd(c)
                if r.ok and r.lines:
                    v = normalize_iccid(bare_value(r.lines))
                    if v:
                        self.sim["iccid"] = v
                        break
        if self.sim["imsi"] is None:
            r = await self.cmd("AT+CIMI")
            if r.ok:
                self.sim["imsi"] = bare_value(r.lines, (14, 15))

    async def poll_operator(self):
        await self.cmd("AT+COPS=3,2")
        r = await self.cmd("AT+COPS?")
        c = parse_cops(first(r.lines, "+COPS:") or "") if r.ok else {}
        mcc, mnc = split_plmn(c.get("oper")) if c.get("format") == 2 else (None, None)
        self.network["mcc"], self.network["mnc"] = mcc, mnc
        act = c.get("act")
        await self.cmd("AT+COPS=3,0")
        r = await self.cmd("AT+COPS?")
        c = parse_cops(first(r.lines, "+COPS:") or "") if r.ok else {}
        self.network["operator"] = c.get("oper") if c.get("format") in (0, 1) else None
        return act

    async def poll_registration(self):
        """CEREG/C5GREG are authoritative for packet service on LTE/NR; CREG/CGREG are fallbacks."""
        best = None
        for c in self.REG_COMMANDS:
            if self._no_reg.get(c):
                continue
            r = await self.cmd(c)
            line = first(r.lines, c[2:-1] + ":")
            if not r.ok or line is None:
                if r.final in ("ERROR", "CME_ERROR"):
                    self._no_reg[c] = True
                continue
            reg = parse_reg(line, True)
            if best is None or reg["registered"] or (not best["registered"] and c != "AT+CREG?"):
                if not (best and best["registered"] and not reg["registered"]):
                    best = reg
        if best is not None:
            self.network["registration"] = best["registration"]
            self.network["registered"] = best["registered"]
        return best

    async def poll_signal(self):
        """Generic: +CSQ and +CESQ. Vendors override with their serving-cell command."""
        sig = empty_signal()
        r = await self.cmd("AT+CSQ")
        if r.ok and first(r.lines, "+CSQ:"):
            c = parse_csq(first(r.lines, "+CSQ:"))
            sig["csq"], sig["rssi_dbm"] = c["csq"], c["rssi_dbm"]
        r = await self.cmd("AT+CESQ")
        if r.ok and first(r.lines, "+CESQ:"):
            e = parse_cesq(first(r.lines, "+CESQ:"))
            sig["rsrp_dbm"], sig["rsrq_db"] = e["rsrp_dbm"], e["rsrq_db"]
            if sig["rssi_dbm"] is None:
                sig["rssi_dbm"] = e["rssi_dbm"]
        return sig

    async def poll_extra(self):
        """Temperature and data counters: vendor-specific."""
        return None

    async def poll(self):
        self._timeouts = 0
        await self.poll_sim()
        act = await self.poll_operator()
        reg = await self.poll_registration()
        sig = await self.poll_signal()
        if sig.get("rat") is None:
            rat = ACT.get(act) if act is not None else (reg or {}).get("rat")
            sig["rat"] = rat
        if reg:
            if sig.get("tac") is None and reg.get("lac") is not None and sig.get("rat") in ("LTE", "LTE-M", "NB-IoT", "NR5G-SA", "NR5G-NSA"):
                sig["tac"] = reg["lac"]
            if sig.get("cell_id") is None:
                sig["cell_id"] = reg.get("ci")
        if not self.network.get("registered"):
            sig["rat"] = None
        self.signal = sig
        await self.poll_extra()

    def status(self):
        return {"modem": dict(self.modem), "sim": dict(self.sim), "network": dict(self.network),
                "signal": dict(self.signal)}


Driver = GenericDriver
