"""Loader for tests/data/at-transcripts/*.txt (format: that folder's README.md).

load(path) -> Transcript with .id, .headers {key: [values]}, .lines (transcript text lines, log prefixes
kept), .raw [(command, bytes)], .expects [Expect]. Expect.selector is the first key=value (cmd, urc, line,
block, sample, capture, log), .keys an ordered dict of the remaining key=value pairs (raw strings), and
.cmd/.ordinal for cmd= selectors.
"""
import ast
import os

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
