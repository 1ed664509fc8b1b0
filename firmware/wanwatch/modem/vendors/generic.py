# modem/vendors/generic.py: 3GPP TS 27.007 / V.250 parsers (pure), the helpers every vendor parser shares
# (fields, numbers, hex ids, one PLMN splitter, one signal copier), and the generic driver every vendor
# driver builds on. A vendor driver is a subclass that describes itself in class attributes (see
# GenericDriver): the AT engine, the supervisor and the vendor registry read them, so vendor strings
# live in the vendor's own file only. Unknown or placeholder values (99, 255, FFFE, empty) become
# None, never 0.
from ..engine import Response

# 27.007 <stat> -> (registration, registered)
REG = {0: ("not_registered", False), 1: ("home", True), 2: ("searching", False), 3: ("denied", False),
       4: ("unknown", False), 5: ("roaming", True), 6: ("home", True), 7: ("roaming", True),
       8: ("not_registered", False), 9: ("home", True), 10: ("roaming", True), 11: ("not_registered", False)}
# 27.007 <AcT> -> status rat
ACT = {0: "GSM", 1: "GSM", 2: "UMTS", 3: "GSM", 4: "UMTS", 5: "UMTS", 6: "UMTS", 7: "LTE", 8: "LTE-M",
       9: "NB-IoT", 10: "LTE", 11: "NR5G-SA", 12: "NR5G-SA", 13: "NR5G-NSA"}
CPIN = {"READY": "ready", "SIM PIN": "pin", "SIM PUK": "puk", "PH-SIM PIN": "pin", "SIM PIN2": "ready",
        "SIM PUK2": "ready"}
LTE_RATS = ("LTE", "LTE-M", "NB-IoT", "NR5G-SA", "NR5G-NSA")  # a CxREG <lac> is a TAC on these
# identity values and the commands that answer them, most specific first (ATI is the last resort)
IDENTITY = (("model", ("AT+CGMM", "AT+GMM")), ("firmware", ("AT+CGMR", "AT+GMR")))


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


def split_plmn(plmn, mnc=None):
    """A PLMN -> (mcc, mnc) strings, or (None, None) unless both are valid. One argument: '26201',
    '310260' (COPS numeric, QNWINFO, QSPN), '262-01' (CPSI) or '262 01' (#RFSTS); two: the fields
    apart (QENG, UCGED). An MCC printed without its leading zeros ('1': old RM500Q) is 3 digits
    (E.212); 000 and placeholders such as 'fff' are no MCC; an MNC has 2 or 3 digits."""
    mcc = plmn or ""  # fields() has stripped what the parsers pass
    if mnc is None:
        for sep in "- ":
            if sep in mcc:
                mcc, mnc = mcc.split(sep, 1)
                break
        else:
            if len(mcc) not in (5, 6):
                return None, None
            mcc, mnc = mcc[:3], mcc[3:]
    if not (mcc.isdigit() and mnc.isdigit() and 1 <= len(mcc) <= 3 and 2 <= len(mnc) <= 3):
        return None, None
    if len(mcc) < 3:
        mcc = "0" * (3 - len(mcc)) + mcc
    if mcc == "000":
        return None, None
    return mcc, mnc


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


def cops_reply(resp):
    """An AT+COPS? Response -> parse_cops of its +COPS: line; all None when it has none (mode None
    then: not answered, as opposed to "+COPS: 0", on no network)."""
    line = first(resp.lines, "+COPS:") if resp.ok else None
    return parse_cops(line or "")


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


def firmware_value(v):
    """'Revision: EC25EFAR06A06M4G' (some AT+CGMR answers) -> 'EC25EFAR06A06M4G'."""
    if v and v.upper().startswith("REVISION:"):
        v = v[9:].strip()
    return v or None


def parse_ati(lines, manufacturer=None, marks=()):
    """ATI text -> {"manufacturer", "model", "firmware"} (None where it does not say). Keyed lines
    ('Manufacturer: ...', 'Model: SIMCOM_SIM7600E-H', 'Revision: ...': SIMCom, Huawei, Sierra) say it
    outright. Unkeyed ones: Quectel prints manufacturer, model, 'Revision: ...' (EM12), SIM7000G one line
    with the model ('SIM7000G R1529'). An unkeyed line is the manufacturer when it is the AT+CGMI
    answer, equals a vendor mark, or is the first of several; the next one is the model."""
    out = {"manufacturer": None, "model": None, "firmware": None}
    keys = {"MANUFACTURER": "manufacturer", "MODEL": "model", "REVISION": "firmware"}
    plain = []
    for line in lines or ():
        line = line.strip()
        if not line or line[0] in "+^#$*!%":  # +GCAP: ..., a URC
            continue
        i = line.find(":")
        if i > 0:
            key = keys.get(line[:i].strip().upper())
            if key is not None and out[key] is None:
                out[key] = line[i + 1:].strip() or None
            continue  # IMEI:, SVN:, ... say nothing the status takes from ATI
        plain.append(line)
    manu = (manufacturer or "").strip().upper()
    for j in range(len(plain)):
        line = plain[j]
        u = line.upper()
        if u == manu or u in marks or (j == 0 and len(plain) > 1):
            if out["manufacturer"] is None:
                out["manufacturer"] = line
        elif out["model"] is None:
            out["model"] = line
    return out


SIGNAL_KEYS = ("rat", "csq", "rssi_dbm", "rsrp_dbm", "rsrq_db", "sinr_db", "band", "cell_id", "tac", "pci", "earfcn")


def empty_signal(with_nr=True):
    d = {}
    for k in SIGNAL_KEYS:
        d[k] = None
    if with_nr:
        d["nr"] = None
    return d


def take_signal(sig, values):
    """Copy the status signal keys that values knows (not None) into sig; returns sig."""
    for k in SIGNAL_KEYS:
        v = values.get(k)
        if v is not None:
            sig[k] = v
    return sig


class GenericDriver:
    # --- self-description: what the engine, the supervisor and the registry need to know ------------
    NAME = "generic"           # modem.vendor in the status; the module name in vendors/
    MARKS = ()                 # upper-case substrings of the AT+CGMI / ATI text naming this vendor
    URC_PREFIXES = ()          # vendor lines that are unsolicited even while a bare reply is read
    BOOT_MARKS = ()            # unsolicited lines the modem prints when it has just started
    BARE_COMMANDS = ()         # vendor commands whose reply lines carry no "+XXX:" prefix
    SLOW_COMMANDS = ()         # (command start, timeout s) of vendor commands slower than 5 s
    REPLY_PREFIXES = ()        # (command name, reply prefix) where a vendor answers under another name
    RESET_COMMAND = "AT+CFUN=1,1"
    RESET_TIMEOUT_S = 15
    # recovery-ladder steps that talk to the modem (modem/recovery.py): step -> ((command, timeout s), ...)
    RECOVERY = {"resync": (("AT", 1.0), ("ATE0", 1.0)), "reattach": (("AT+CFUN=0", 30), ("AT+CFUN=1", 30))}
    ICCID_COMMANDS = ("AT+CCID", "AT+ICCID")
    REG_COMMANDS = ("AT+CREG?", "AT+CGREG?", "AT+CEREG?", "AT+C5GREG?")
    CELL_COMMAND = None        # the vendor's serving-cell query, read by parse_cell()
    CELL_SETUP = None          # a command that must succeed once before CELL_COMMAND works

    def __init__(self, at, clock):
        self.at = at
        self.clock = clock
        self.modem = {"vendor": self.NAME, "model": None, "firmware": None, "imei": None, "state": "unresponsive",
                      "temp_c": None, "counters": None}
        self.sim = {"state": None, "iccid": None, "imsi": None}
        self.network = {"operator": None, "mcc": None, "mnc": None, "registration": None, "registered": None}
        self.signal = empty_signal()
        self.cell = None  # the last serving-cell reply parsed (parse_cell), or None
        self._cell_ready = False  # CELL_SETUP succeeded
        self._no_reg = {}  # commands the modem rejected: not asked again
        self._timeouts = 0  # timeouts in the current poll: after 2 the rest of the poll is skipped

    @classmethod
    def recovery_commands(cls, step):
        """((command, timeout s), ...) the modem is sent for a recovery step ("reset": RESET_COMMAND)."""
        if step == "reset":
            return ((cls.RESET_COMMAND, cls.RESET_TIMEOUT_S),)
        return cls.RECOVERY.get(step, ())

    def parse_cell(self, lines):
        """The CELL_COMMAND reply -> dict of status signal keys (and, where the reply says them,
        "mcc"/"mnc", "operator", "registered", "nr": {signal keys}) or None. Vendors override."""
        return None

    async def cmd(self, c, timeout=None, prefix=None):
        if self._timeouts >= 2:
            return Response("TIMEOUT", [], None, "skipped: modem not answering")
        r = await self.at.command(c, timeout, prefix)
        if r.final == "TIMEOUT":
            self._timeouts += 1
        else:
            self._timeouts = 0
        return r

    async def _bare(self, c):
        r = await self.cmd(c)
        return bare_value(r.lines) if r.ok else None

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
        """Manufacturer (returned, for detection), model and firmware (AT+CGMM/AT+GMM, AT+CGMR/AT+GMR,
        else the ATI text), IMEI; then the SIM."""
        manu = await self._bare("AT+CGMI")
        for key, commands in IDENTITY:
            for c in commands:
                v = await self._bare(c)
                if key == "firmware":
                    v = firmware_value(v)
                if v:
                    self.modem[key] = v
                    break
        if self.modem["model"] is None or self.modem["firmware"] is None:
            r = await self.cmd("ATI")
            if r.ok:
                ati = parse_ati(r.lines, manu, self.MARKS)
                for key in ("model", "firmware"):
                    if self.modem[key] is None:
                        self.modem[key] = ati[key]
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
        """AT+COPS? in numeric, then long format -> {"mcc", "mnc", "operator", "act", "rat"}, None where
        COPS says nothing; then the vendor's network replies for what is still open (more_network),
        unless COPS answered that the modem is on no network ("+COPS: 0" alone, twice)."""
        await self.cmd("AT+COPS=3,2")
        c = cops_reply(await self.cmd("AT+COPS?"))
        net = {"mcc": None, "mnc": None, "operator": None, "act": c["act"], "rat": None}
        if c["format"] == 2:
            net["mcc"], net["mnc"] = split_plmn(c["oper"])
        nowhere = c["mode"] is not None and c["oper"] is None
        await self.cmd("AT+COPS=3,0")
        c = cops_reply(await self.cmd("AT+COPS?"))
        if c["format"] in (0, 1):
            net["operator"] = c["oper"]
        if net["act"] is None:
            net["act"] = c["act"]
        nowhere = nowhere and c["mode"] is not None and c["oper"] is None
        if not nowhere and (net["mcc"] is None or net["operator"] is None):
            await self.more_network(net)
        return net

    async def more_network(self, net):
        """Vendor replies naming the network (PLMN, operator, RAT), asked only when AT+COPS? left the
        PLMN or the operator None; fills net in place."""
        return None

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
        return best

    async def poll_signal(self):
        """The vendor's serving-cell reply (CELL_COMMAND -> parse_cell, kept in self.cell) over AT+CSQ,
        and AT+CESQ when the cell reply gave no RSRP (generic: CSQ and CESQ only) -> signal dict."""
        cell = None
        if self.CELL_COMMAND:
            if self.CELL_SETUP and not self._cell_ready:
                r = await self.cmd(self.CELL_SETUP)
                self._cell_ready = r.ok
            r = await self.cmd(self.CELL_COMMAND)
            cell = self.parse_cell(r.lines) if r.ok else None
            if cell is not None and cell.get("rat") is None:
                cell = None  # no service / not camped: nothing of it is a measurement
        self.cell = cell
        sig = empty_signal()
        r = await self.cmd("AT+CSQ")
        line = first(r.lines, "+CSQ:") if r.ok else None
        if line:
            c = parse_csq(line)
            sig["csq"], sig["rssi_dbm"] = c["csq"], c["rssi_dbm"]
        if cell is None or cell.get("rsrp_dbm") is None:
            r = await self.cmd("AT+CESQ")
            line = first(r.lines, "+CESQ:") if r.ok else None
            if line:
                e = parse_cesq(line)
                sig["rsrp_dbm"], sig["rsrq_db"] = e["rsrp_dbm"], e["rsrq_db"]
                if sig["rssi_dbm"] is None:
                    sig["rssi_dbm"] = e["rssi_dbm"]
        if cell is not None:
            take_signal(sig, cell)  # measured values of the serving cell beat CSQ's 2 dB steps
            nr = cell.get("nr")
            if nr is not None:
                sig["nr"] = take_signal(empty_signal(False), nr)
                sig["nr"]["rat"] = "NR5G-NSA"
        return sig

    async def poll_extra(self):
        """Temperature and data counters: vendor-specific."""
        return None

    async def poll(self):
        self._timeouts = 0
        await self.poll_sim()
        net = await self.poll_operator()
        reg = await self.poll_registration()
        sig = await self.poll_signal()
        self.settle(net, reg, sig, self.cell)
        await self.poll_extra()

    def settle(self, net, reg, sig, cell):
        """Every network/signal value from the most specific reply that carries it (order and reasons:
        docs/modem.md "Where each value comes from"). net: poll_operator(); reg: the chosen CxREG reply
        or None; sig: poll_signal() (serving cell already over CSQ/CESQ); cell: the serving-cell reply."""
        network = self.network
        if reg is not None:
            network["registration"], network["registered"] = reg["registration"], reg["registered"]
        elif cell is not None and cell.get("registered") is not None:
            # no CxREG answer: the serving-cell state (QENG NOCONN/LIMSRV, !GSTATUS EMM state) says
            # whether it is registered, not whether home or roaming
            network["registration"], network["registered"] = None, cell["registered"]
        # known not to be registered: no RAT, no network; not known (no reply says): what the replies show
        live = network["registered"] is not False
        if sig["rat"] is None:
            sig["rat"] = ACT.get(net["act"]) or net["rat"] or (reg["rat"] if reg else None)
        if reg:
            if sig["tac"] is None and reg["lac"] is not None and sig["rat"] in LTE_RATS:
                sig["tac"] = reg["lac"]
            if sig["cell_id"] is None:
                sig["cell_id"] = reg["ci"]
        mcc, mnc, operator = net["mcc"], net["mnc"], net["operator"]
        if cell is not None:
            if mcc is None:
                mcc, mnc = cell.get("mcc"), cell.get("mnc")
            if operator is None:
                operator = cell.get("operator")
        if not live:
            sig["rat"] = mcc = mnc = None
            operator = net["operator"]
        network["mcc"], network["mnc"], network["operator"] = mcc, mnc, operator
        self.signal = sig

    def status(self):
        return {"modem": dict(self.modem), "sim": dict(self.sim), "network": dict(self.network),
                "signal": dict(self.signal)}


Driver = GenericDriver
