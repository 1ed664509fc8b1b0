"""Replay files: `# comment` lines; `> COMMAND` starts a block; the following lines, up to the next
`> ` line, are sent back verbatim (CRLF-terminated) when COMMAND is received."""


def parse_replay(text):
    blocks = {}
    cur = None
    for raw in text.splitlines():
        if raw.startswith("> "):
            cur = []
            blocks.setdefault(raw[2:].strip(), []).append(cur)
            continue
        if raw.startswith("#") and cur is None:
            continue
        if raw.startswith("# ") and cur is not None and not cur:
            continue
        if cur is not None:
            cur.append(raw.rstrip("\r"))
    # trailing blank lines of a block are layout, not modem output
    for lst in blocks.values():
        for b in lst:
            while b and b[-1] == "":
                b.pop()
    return blocks


def load_replay(path):
    with open(path) as f:
        return parse_replay(f.read())


# --- building replay files from captured AT traffic ------------------------------------------------
# A capture is a list of exchanges (command as sent, reply lines as received). `expand()` turns it into
# what a replay file can express: one canonical command per block, chains split, missing finals added;
# `format_replay()` writes the file.

FINALS = ("OK", "ERROR", "NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE", "COMMAND NOT SUPPORT", "ABORTED")


def is_final(line):
    line = line.strip()
    return line in FINALS or line.startswith("+CME ERROR") or line.startswith("+CMS ERROR")


def canonical(cmd):
    """'at+qeng="servingcell"' -> 'AT+QENG="servingcell"': upper case outside quotes (AT commands are
    case-insensitive, quoted arguments are not)."""
    out, quoted = [], False
    for c in cmd.strip():
        if c == '"':
            quoted = not quoted
        out.append(c if quoted else c.upper())
    return "".join(out)


def split_chain(cmd):
    """'AT+CPIN?;+CSQ;E0' -> ['AT+CPIN?', 'AT+CSQ', 'ATE0'] (V.250 chain; ';' inside quotes kept)."""
    parts, cur, quoted = [], "", False
    for c in canonical(cmd):
        if c == '"':
            quoted = not quoted
        if c == ";" and not quoted:
            parts.append(cur)
            cur = ""
        else:
            cur += c
    parts.append(cur)
    out = [parts[0]]
    for p in parts[1:]:
        if p.strip():
            out.append("AT" + p.strip())
    return out


def reply_prefix(cmd):
    """'AT+CREG?' -> '+CREG:', 'AT^HCSQ?' -> '^HCSQ:', 'AT+QENG="servingcell"' -> '+QENG:'; None for basic
    commands (ATI, ATE0, AT&C1) whose replies carry no prefix."""
    c = canonical(cmd)
    if len(c) < 4 or c[2] not in "+^#!*$%":
        return None
    name = c[2:]
    for stop in "=?":
        name = name.split(stop)[0]
    return name + ":"


def is_read(cmd):
    """A read (`?`, `=?`) or an action without arguments, as opposed to a set command (`AT+COPS=3,0`)."""
    c = canonical(cmd)
    return c.endswith("?") or "=" not in c or c.endswith("=?")


def split_chain_reply(cmds, lines):
    """Reply lines of a chained command line -> one reply per sub-command. Lines go to the sub-commands
    by prefix (several reads with one prefix, e.g. two AT+COPS?, take one line each in order); every
    sub-command but the last ends in OK (a chain stops at the first error), the last gets the final."""
    reads = {}
    for i, c in enumerate(cmds):
        p = reply_prefix(c)
        if p:
            reads.setdefault(p, []).append(i)
    for p, idx in reads.items():  # AT+COPS=3,0;+COPS?: the set command prints nothing
        if any(is_read(cmds[i]) for i in idx):
            reads[p] = [i for i in idx if is_read(cmds[i])]
    body = [l.strip() for l in lines if l.strip()]
    finals = [l for l in body if is_final(l)]
    count = {}
    for l in body:
        count[_prefix_of(l)] = count.get(_prefix_of(l), 0) + 1
    per = [[] for _ in cmds]
    taken = {}
    for l in body:
        p = _prefix_of(l)
        idx = reads.get(p)
        if is_final(l) or not idx:
            continue  # the final, or a line no sub-command asks for (echo, log text)
        k = taken.get(p, 0)
        taken[p] = k + 1
        per[idx[k] if count[p] == len(idx) else idx[0]].append(l)
    out = []
    for i, blk in enumerate(per):
        reply = [""]
        for l in blk:
            reply += [l, ""]
        fin = "OK" if i < len(cmds) - 1 else (finals[-1] if finals else None)
        out.append(reply + ([fin] if fin else []))
    return out


def _prefix_of(line):
    return line.split(":")[0] + ":" if ":" in line else None


def expand(exchanges):
    """[(command, reply lines)] as captured -> [(canonical command, reply lines)] for a replay file:
    chained commands are split (split_chain_reply); a reply that carries the command's own prefixed
    answer line (+QTEMP: for AT+QTEMP) but no final result gets OK (the logging tool dropped it); anything
    else is kept verbatim, so a reply without a final - a truncated capture, a bare-text answer such as
    a login prompt on AT - stays unanswered (the agent times out as on the real port)."""
    split = []
    for cmd, lines in exchanges:
        cmds = split_chain(cmd)
        if len(cmds) > 1:
            split.extend(zip(cmds, split_chain_reply(cmds, lines)))
        else:
            split.append((cmds[0], list(lines)))
    out = []
    for c, lines in split:
        p = reply_prefix(c)
        answered = p is not None and any(l.strip().startswith(p) for l in lines)
        if answered and not any(is_final(l) for l in lines):
            while lines and not lines[-1].strip():
                lines.pop()
            lines = lines + ["", "OK"]
        out.append((c, lines))
    return out


HANDSHAKE = (("AT", ["", "OK"]), ("AT+CMEE=2", ["", "OK"]))


def format_replay(exchanges, preamble=(), handshake=True, comment=None):
    """Replay file text. exchanges: [(command, reply lines)] (expanded); a command that occurs several
    times becomes several blocks, answered in turn. preamble: unsolicited lines the modem sent before
    the first command (boot URCs); they go out before the answer to the first AT. handshake: answer
    AT and AT+CMEE=2 with OK where the capture starts later (every modem does). A reply line starting
    with "> " cannot be written (it would open a block) and is left out."""
    exchanges = list(exchanges)
    have = set(c for c, _ in exchanges)
    if handshake:
        exchanges = [(c, r) for c, r in HANDSHAKE if c not in have] + exchanges
    preamble = [l for l in preamble if l.strip()]
    if preamble:
        first = [i for i, (c, _) in enumerate(exchanges) if c == "AT"]
        if first:
            i = first[0]
            exchanges[i] = ("AT", preamble + list(exchanges[i][1]))
            if len(first) == 1:  # boot output comes once: later ATs get the plain answer
                exchanges.insert(i + 1, ("AT", ["", "OK"]))
        else:
            exchanges.insert(0, ("AT", preamble))
    out = ["# " + l for l in (comment or "").splitlines()]
    for c, lines in exchanges:
        out.append("> " + c)
        out.extend(l for l in lines if not l.startswith("> "))
    return "\n".join(out) + "\n"
