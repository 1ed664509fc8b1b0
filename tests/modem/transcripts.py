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
            "sys_mode", "sim_state", "srv_status", "roam_status", "sysmode", "submode", "tx_power", "lte_band"}
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


def strip_prefix(line):
    if "]: Response: [" in line and line.endswith("]"):
        line = line.split("]: Response: [", 1)[1][:-1]  # eg25-manager journal
    if line.startswith("<- ") or line.startswith("-> "):
        line = line[3:]
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
        l = strip_prefix(l)
        if out and out[-1] == "+QENG:":
            out[-1] = "+QENG: " + l  # line wrapped in the source comment (see the file's notes)
            continue
        out.append(l)
    return out


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
