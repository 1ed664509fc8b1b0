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
