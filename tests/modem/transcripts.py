"""Loader for tests/data/at-transcripts/*.txt (format: that folder's README.md).

load(path) -> Transcript with .id, .headers {key: [values]}, .lines (transcript text lines, log prefixes
kept), .raw [(command, bytes)], .expects [Expect]. Expect.selector is the first key=value (cmd, urc, line,
block, sample, capture, log), .keys an ordered dict of the remaining key=value pairs (raw strings), and
.cmd/.ordinal for cmd= selectors.

Also the vocabulary the tests share: which expect keys are status-contract values (CONTRACT) and how their
values read (norm), and clean_lines/blocks_for, which cut the transcript text into command replies.
"""
import ast
import os
import re

from host_tools.emulator.replay import canonical, expand, format_replay, is_final

DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "at-transcripts")


class Expect:
    def __init__(self, text, pairs):
        self.text = text
        self.pairs = pairs           # [(key, value)] in order
        self.keys = dict(pairs)
        self.cmd = self.keys.get("cmd")
        self.ordinal = None
        if self.cmd and self.cmd.endswith(")") and "(" in self.cmd:
            i = self.cmd.rindex("(")
            self.cmd, self.ordinal = self.cmd[:i], self.cmd[i + 1:-1]

    def __repr__(self):
        return "Expect(%s)" % self.text


class Transcript:
    def __init__(self, path):
        self.path = path
        self.id = os.path.basename(path)[:-4]
        self.headers = {}
        self.lines = []
        self.raw = []
        self.expects = []


def split_pairs(text):
    """'a=1 b="x y" c=AT+X="q"' -> [('a','1'), ('b','x y'), ('c','AT+X="q"')]: a value wholly in quotes loses
    them; quotes inside a value (AT commands) are kept."""
    out = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] == " ":
            i += 1
        if i >= n:
            break
        j = i
        quoted = False
        while j < n and (quoted or text[j] != " "):
            if text[j] == '"':
                quoted = not quoted
            j += 1
        tok = text[i:j]
        i = j
        if "=" in tok:
            k, v = tok.split("=", 1)
            if len(v) >= 2 and v[0] == '"' and v[-1] == '"' and v.count('"') == 2:
                v = v[1:-1]
            out.append((k, v))
        else:
            out.append((tok, ""))
    return out


def load(path):
    t = Transcript(path)
    section = None
    with open(path, encoding="utf-8") as f:
        for raw_line in f:
            line = raw_line.rstrip("\n")
            if line.startswith("=== transcript"):
                section = "t"
                continue
            if line.startswith("=== raw"):
                section = "r"
                continue
            if line.startswith("=== end"):
                section = None
                continue
            if section == "t":
                t.lines.append(line)
            elif section == "r":
                if line.startswith("raw: "):
                    cmd, rep = line[5:].split(" => ", 1)
                    v = ast.literal_eval(rep)
                    t.raw.append((cmd, v if isinstance(v, bytes) else v.encode("latin-1")))
            elif line.startswith("expect:"):
                body = line[7:].strip()
                t.expects.append(Expect(body, split_pairs(body)))
            elif line.startswith("# ") and ":" in line and section is None and not t.lines:
                k, v = line[2:].split(":", 1)
                t.headers.setdefault(k.strip(), []).append(v.strip())
    return t


def all_files():
    return sorted(os.path.join(DIR, n) for n in os.listdir(DIR) if n.endswith(".txt"))


# expect keys that map to status-contract values (or driver inputs for them)
CONTRACT = {"csq", "rssi_dbm", "rsrp", "rsrq", "rssi", "sinr", "sinr_db", "stat", "reg", "registered", "lac", "tac",
            "ci", "cell_id", "act", "rat", "pci", "earfcn", "arfcn", "band", "mcc", "mnc", "oper", "operator",
            "final", "cme_code", "cms_code", "temp_c", "temp", "temp_max", "tx_bytes", "rx_bytes", "cpin",
            "temperature", "layout", "state", "sinr_raw", "srxlev", "channel", "units", "fnn", "spn", "rplmn",
            "sys_mode", "sim_state", "srv_status", "roam_status", "sysmode", "submode", "tx_power", "lte_band",
            "tx_bytes_manual_order", "rx_bytes_manual_order"}
NESTED = ("lte_", "nr_")
REG = {"home_sms_only": "home", "roaming_csfb_not_preferred": "roaming", "attached_rlos": "not_registered"}
RAT = {"eMTC": "LTE-M", "EDGE": "GSM", "GSM_EGPRS": "GSM", "LTE+NR(EN-DC)": "NR5G-NSA", "WCDMA": "UMTS"}
SKIP_KEYS = {"note", "sanitized", "meaning", "ok"}


def norm(key, v):
    if key in ("csq", "rscp", "rxlev", "ecno") and v in ("99", "255"):
        return None  # raw placeholders: the contract wants None
    if v == "None" or v == "":
        return None
    if v == "true":
        return True
    if v == "false":
        return False
    if key.endswith("reg") or key == "reg":
        return REG.get(v, v)
    if key.endswith("rat"):
        return RAT.get(v, v)
    try:
        return float(v)
    except ValueError:
        return v


# expect key -> where the agent's status document (docs/contracts.md section 2) carries it. lte_<key> is the
# LTE anchor, i.e. the top-level signal; nr_<key> goes to signal.nr. The other CONTRACT keys are parser
# inputs the status derives from (act -> rat, lac -> tac on LTE, sinr_raw -> sinr_db, stat/n) or have no
# status field (layout, state, srxlev, units, spn, sys_mode ..., final/cme_code of commands).
_MODEM = {"temp_c": "temp_c", "temp": "temp_c", "temp_max": "temp_c", "temperature": "temp_c", "imei": "imei",
          "model": "model", "revision": "firmware", "firmware": "firmware", "manufacturer": "vendor"}
_SIGNAL = {"csq": "csq", "rssi_dbm": "rssi_dbm", "rssi": "rssi_dbm", "rsrp": "rsrp_dbm", "rsrq": "rsrq_db",
           "sinr": "sinr_db", "sinr_db": "sinr_db", "band": "band", "cell_id": "cell_id", "ci": "cell_id",
           "tac": "tac", "pci": "pci", "earfcn": "earfcn", "arfcn": "earfcn", "channel": "earfcn", "rat": "rat",
           "system_mode": "rat", "cid": "cell_id"}
HEX_IDS = ("tac_hex", "ci_hex", "cell_id_hex", "cid_hex")
_NETWORK = {"mcc": "mcc", "mnc": "mnc", "operator": "operator", "oper": "operator", "fnn": "operator",
            "reg": "registration", "registered": "registered"}
_SIM = {"cpin": "state", "iccid": "iccid", "imsi": "imsi"}
# 27.007 <stat> -> (registration, registered) as docs/contracts.md defines them
STAT = {"0": ("not_registered", False), "1": ("home", True), "2": ("searching", False), "3": ("denied", False),
        "4": ("unknown", False), "5": ("roaming", True), "6": ("home", True), "7": ("roaming", True),
        "9": ("home", True), "10": ("roaming", True), "11": ("not_registered", False)}
CPIN_STATE = {"READY": "ready", "SIM PIN": "pin", "SIM PUK": "puk", "PH-NET PIN": "pin"}
RATS = ("GSM", "UMTS", "LTE", "LTE-M", "NB-IoT", "NR5G-NSA", "NR5G-SA")
RAW = ("mcc", "mnc", "operator", "oper", "fnn", "model", "revision", "firmware", "imei", "imsi", "iccid")


def status_targets(key, value, keys):
    """One expect key=value -> [(status path, wanted value, approx)] (empty if the status has no such field).
    keys: the whole group (oper is the operator name only in a COPS long/short-format group)."""
    approx = key.endswith("~")
    key = key.rstrip("~")
    pre = key[:4] if key[:4] in ("lte_", "nr_") else key[:3] if key[:3] == "nr_" else ""
    key = key[len(pre):]
    nested = pre == "nr_"
    if nested and key not in _SIGNAL and key not in HEX_IDS:
        return []
    if key == "oper" and keys.get("format") not in ("0", "1"):
        return []
    if key in HEX_IDS:  # only the printed hex form is given: the status carries its value
        if pre + key[:-4] in keys or value.upper() in ("FFFE", "FFFF"):
            return []
        key, value = key[:-4], str(int(value.replace(" ", ""), 16))
    if key == "cid" and "cid_hex" not in keys:
        return []  # a PDP context id; with cid_hex (#RFSTS) it is the cell id
    if key in ("sim_ready", "pin_required"):
        key, value = "cpin", ("READY" if key == "sim_ready" else "SIM PIN") if value == "true" else "None"
    if key == "stat":
        if value not in STAT:
            return []
        reg, registered = STAT[value]
        return [(("network", "registration"), reg, False), (("network", "registered"), registered, False)]
    for section, table in (("signal", _SIGNAL), ("network", _NETWORK), ("modem", _MODEM), ("sim", _SIM)):
        if key in table:
            path = (section, table[key])
            break
    else:
        if key in ("tx_bytes", "rx_bytes", "tx_bytes_manual_order", "rx_bytes_manual_order"):
            path = ("modem", "counters", key[:8])
        else:
            return []
    if nested:
        path = ("signal", "nr", path[1])
    if value in ("None", ""):
        want = None
    elif key == "mcc":
        want = value.zfill(3)  # the status carries the 3-digit MCC (E.212): old RM500Q QENG prints 001 as 1
    elif key in RAW:
        want = value
    elif key == "manufacturer":
        want = value.lower().replace("-", "")
    elif key == "cpin":
        want = CPIN_STATE.get(value, value)
    elif key == "band" and value[:1] == "B":
        want = float(value[1:])
    elif path[1] == "rat":
        want = norm("rat", value)
        want = want if want in RATS else None
    else:
        want = norm(key, value)
    return [(path, want, approx)]


def status_value(doc, path):
    v = doc
    for k in path:
        if not isinstance(v, dict):
            return None
        v = v.get(k)
    return v


def same(want, have, approx=False):
    if isinstance(want, float) and isinstance(have, (int, float)) and not isinstance(have, bool):
        return abs(want - have) < (0.51 if approx else 1e-6)
    return want == have


MILLIS = re.compile(r" \(\d+\)$")


def strip_prefix(line):
    if "]: Response: [" in line and line.endswith("]"):
        line = line.split("]: Response: [", 1)[1][:-1]  # eg25-manager journal
    if line.startswith("<- ") or line.startswith("-> ") or line.startswith(") ("):
        line = MILLIS.sub("", line)  # WioLTE log: "-> OK (15320)"
        line = line[3:] if line[:3] in ("<- ", "-> ") else line
        if line.startswith("(") and line.endswith(")"):
            line = line[1:-1]
    if " -> " in line[:20]:
        line = line.split(" -> ", 1)[1]
    if line.startswith("response: '"):
        line = line[11:]
    if line.endswith("'") and line.count("'") == 1:
        line = line[:-1]
    if line.startswith("'K"):
        line = "OK"
    return line.strip()


def clean_lines(t):
    out = []
    for l in t.lines:
        add_line(out, strip_prefix(l))
    return out


def add_line(out, line):
    if out and out[-1] == "+QENG:":
        out[-1] = "+QENG: " + line  # line wrapped in the source comment (see the file's notes)
    else:
        out.append(line)


def is_echo(line, cmd):
    u = line.upper().strip()
    c = cmd.upper()
    if u == c or u.endswith(" " + c):
        return True
    if u.startswith("AT") and len(c) > 3 and ";" in u and c[2:] in u:
        return True
    return False


def blocks_for(lines, cmd):
    out = []
    for i, l in enumerate(lines):
        if is_echo(l, cmd):
            blk = []
            for m in lines[i + 1:]:
                if m.upper().startswith("AT") and m.upper() != cmd.upper():
                    break
                if m.startswith("# ") or m.startswith("###") or " ###" in m:
                    continue
                blk.append(m)
                if m in ("OK", "ERROR") or m.startswith("+CME ERROR") or m.startswith("+CMS ERROR"):
                    break
            out.append(blk)
    return out


def body_lines(t):
    """The transcript's non-blank, non-comment lines: what `line=<n>` counts."""
    return [l for l in clean_lines(t) if l.strip() and not l.startswith("# ")]


# --- the transcript as a replay file (the file format is host_tools/emulator/replay.py) -------------------
# the query that prints a reply prefix, for replies captured without their command line
QUERY = {"+CSQ:": "AT+CSQ", "+CESQ:": "AT+CESQ", "+COPS:": "AT+COPS?", "+CREG:": "AT+CREG?", "+CGREG:": "AT+CGREG?",
         "+CEREG:": "AT+CEREG?", "+C5GREG:": "AT+C5GREG?", "+QENG:": 'AT+QENG="servingcell"', "+CPSI:": "AT+CPSI?",
         "^HCSQ:": "AT^HCSQ?", "^SYSINFOEX:": "AT^SYSINFOEX", "^SYSINFO:": "AT^SYSINFO", "#RFSTS:": "AT#RFSTS",
         "+QNWINFO:": "AT+QNWINFO", "+QTEMP:": "AT+QTEMP", "+CPMUTEMP:": "AT+CPMUTEMP"}
# host lines (README "Kinds"): TinyGSM "[millis] ..." and "###", ubxlib "U_CELL_..." and "0: NReg" state
# prints; ubxlib's stream tag "[00]" in front of traffic is cut, the traffic kept
HOST = re.compile(r"^(\[\d+\] |###|U_CELL_|-?\d+: [A-Za-z]+$)")
STAMP = re.compile(r"^\[\d+\](?=\S)")
COMMAND = re.compile(r'^AT([^\s"]|"[^"]*")*$', re.I)


def looks_like_modem(line):
    """Unsolicited text a modem prints (+CPIN: READY, ^SYSSTART, *ATREADY: 1, RDY, PB DONE), as opposed to
    what the logging host printed around the traffic."""
    line = line.strip()
    if len(line) > 1 and line[0] in "+^*#!$%" and line[1].isalnum():
        return True
    return line[:1].isalnum() and line.upper() == line and not line.endswith(":") and any(c.isalpha() for c in line)


def exchanges(t):
    """The transcript as captured traffic -> (preamble, [(command, reply lines)]), for replay.expand.

    Log prefixes go (clean_lines); a line that is a whole AT command starts an exchange (in logs that
    mark sent lines with "<- ", only those); the host printing a command and the modem echoing it is one
    exchange, except in traces whose kind says the command lines are as sent (ubxlib): there every
    line is one attempt, and attempts without a reply stay unanswered. A reply is kept verbatim up to
    its final result; after the final only unsolicited modem lines (looks_like_modem) stay, host text
    goes. Before the first command: replies with a known prefix become exchanges of their query
    (QUERY), unsolicited lines the preamble; a final there belongs to a command the capture cut and
    goes. A last exchange without any reply is the capture ending, not the modem's answer: left out."""
    if any(" : DEBUG -> " in l for l in t.lines):
        return [], _debug_log(t)
    marked = any(l.startswith("<- ") for l in t.lines)
    as_sent = marked or any("as sent" in k for k in t.headers.get("kind", ()))
    pre, out = [], []
    for raw in t.lines:
        l = STAMP.sub("", strip_prefix(raw))
        if l.startswith("# ") or HOST.match(l):
            continue
        if COMMAND.match(l) and (raw.startswith("<- ") or not marked):
            c = canonical(l)
            if not as_sent and out and out[-1][0] == c and not any(x.strip() for x in out[-1][1]):
                continue
            out.append((c, []))
            continue
        add_line(out[-1][1] if out else pre, l)
    out = [(c, _reply(lines)) for c, lines in out]
    while out and not any(l.strip() for l in out[-1][1]):
        out.pop()
    boot, inferred = _unsolicited(pre)
    return boot, inferred + out


def _reply(lines):
    for i, l in enumerate(lines):
        if is_final(l):
            return lines[:i + 1] + [x for x in lines[i + 1:] if looks_like_modem(x)]
    return lines


def _unsolicited(pre):
    boot, exs = [], []
    i = 0
    while i < len(pre):
        p = pre[i].split(":")[0] + ":"
        if p not in QUERY:
            if looks_like_modem(pre[i]) and not is_final(pre[i]):
                boot.append(pre[i])
            i += 1
            continue
        blk = [""]
        while i < len(pre) and (pre[i].startswith(p) or not pre[i].strip()):
            blk.append(pre[i])
            i += 1
        if i < len(pre) and is_final(pre[i]):
            blk.append(pre[i])
            i += 1
        exs.append((QUERY[p], blk))
    return boot, exs


def _debug_log(t):
    """python-gsmmodem style DEBUG log: "Send AT Command: X", then "Lines: [<python list of received lines>]"."""
    out = []
    for raw in t.lines:
        if "Send AT Command: " in raw:
            out.append((raw.split("Send AT Command: ", 1)[1].strip(), []))
        elif " : DEBUG -> Lines: " in raw and out:
            for x in ast.literal_eval(raw.split("Lines: ", 1)[1]):
                out[-1][1].extend(x.split("\r"))
    return out


def replay_parts(t):
    """-> (preamble, expanded exchanges): exchanges(t) through replay.expand (canonical single commands)."""
    boot, exs = exchanges(t)
    return boot, expand(exs)


def transcript_replay(t, pick=None, drop=(), handshake=True):
    """The transcript as a replay file (text). pick {command: i} keeps only the i-th reply (0-based,
    negative from the end) of that command; commands in drop are left out (the emulator answers ERROR).
    handshake: see replay.format_replay (off for a port that is not a modem)."""
    boot, exs = replay_parts(t)
    return format_replay(select(exs, pick, drop), boot, handshake, "replay of " + t.id)


def select(exs, pick=None, drop=()):
    """The expanded exchanges with pick/drop applied (see transcript_replay)."""
    pick = pick or {}
    out, seen = [], {}
    n = {}
    for c, _ in exs:
        n[c] = n.get(c, 0) + 1
    for c, lines in exs:
        k = seen.get(c, 0)
        seen[c] = k + 1
        if c in drop or (c in pick and k != pick[c] % n[c]):
            continue
        out.append((c, lines))
    return out
