"""The config key tables of the docs, written from the schema (firmware/wanwatch/*/schema.py).

Each table in README.md and docs/*.md sits between `<!-- config: NAME ... -->` and
`<!-- /config -->` and is rewritten from the schema: NAME is `top` (the top-level keys and the
sections, each pointing to the doc that holds its table), a section (`modem`, `probe`, `mqtt`, ...),
`links` or `calibration`. A key's meaning is the comment after its entry in the schema source
(the device never loads it). `--check` only compares (tests/config runs it: the docs cannot drift);
`--uci` prints every UCI option with its default, commented, for /etc/config/wanwatch.

    wanwatch-host configdoc [--check | --uci]
"""
import ast
import io
import json
import os
import re
import sys
import tokenize

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
DOCS = ["README.md"] + ["docs/" + n for n in sorted(os.listdir(os.path.join(ROOT, "docs"))) if n.endswith(".md")]
BLOCK = re.compile(r"(<!-- config: ([a-z_ ]+?) -->\n)(.*?)(<!-- /config -->)", re.S)


def _firmware():
    if FIRMWARE not in sys.path:
        sys.path.insert(0, FIRMWARE)
    from wanwatch.config import schema, uci
    return schema, uci


def comments(path):
    """{(table name, key): the comment documenting that entry} of a schema module's source."""
    text = open(path, encoding="utf-8").read()
    by_line, code_lines = {}, set()
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.COMMENT:
            by_line[tok.start[0]] = tok.string[1:].strip()
        elif tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            code_lines.add(tok.start[0])
    out = {}
    for node in ast.parse(text).body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple)):
            continue
        name = node.targets[0].id
        for e in node.value.elts:
            if not (isinstance(e, ast.Tuple) and e.elts and isinstance(e.elts[0], ast.Constant)):
                continue
            parts = [by_line[n] for n in range(e.lineno, e.end_lineno + 1) if n in by_line]
            n = e.end_lineno + 1
            while n in by_line and n not in code_lines:  # comment lines right below continue it
                parts.append(by_line[n])
                n += 1
            out[(name, e.elts[0].value)] = " ".join(parts)
    return out


def _kind(e):
    return (e[1][1:], True) if e[1][0] == "!" else (e[1], False)


def _code(v):
    return "`%s`" % v


def type_text(kind, lim, uci_name=None):
    if kind == "int":
        return "integer %s..%s" % lim
    if kind == "num":
        return "number %s..%s" % lim
    if kind == "pos":
        return "number > 0" + ("" if lim is None else ", ≤ %s" % lim)
    if kind == "bool":
        return "bool (UCI `1`/`0`)"
    if kind in ("str", "secret"):
        n = "≤ %d chars" % lim[1] if lim[0] == 0 else "%d-%d chars" % lim
        return ("secret string, " if kind == "secret" else "string, ") + n
    if kind == "choice":
        return " ".join(_code(c) for c in lim)
    if kind == "name":
        return "name, 1-%d of `A-Za-z0-9_.-`" % lim
    if kind == "path":
        return "absolute path" + (' or `""`' if lim[0] == 0 else "")
    if kind == "list":
        n = "≤ %d" % lim[3] if lim[2] == 0 else "%d-%d" % (lim[2], lim[3])
        return "list (%s) of %s; UCI `list %s`" % (n, type_text(lim[0], lim[1]), uci_name)
    if kind == "section":
        return "section"
    if kind == "entries":
        return "list (%d-%d) of objects" % (lim[1], lim[2])
    if kind == "url":
        return "plain `http://` URL, ≤ %d chars" % lim
    return {"dest": "IP address, prefix (`a.b.c.d/n`, `x::/n`) or host name", "host": "IP address or host name", "ip": "IPv4/IPv6 address", "addr": "IPv4/IPv6 address (no %zone)",
            "prefix": "topic prefix (no `#` `+`, no `/` at either end)", "phone": "phone number (3-20 digits, `+`)",
            "ussd": "USSD code", "pattern": "pattern", "unit": "`B` `KB` `MB` `GB` `TB` `KiB` `MiB` `GiB`",
            "digits": "≤ %s digits" % (lim[1] if lim else ""), "key": "secret: text or `hex:…`, ≥ 16 bytes",
            "at": "AT command"}[kind]


def default_text(e):
    kind, required = _kind(e)
    if required:
        return "required"
    if kind == "section":
        return ""
    d = list(e[2]) if isinstance(e[2], tuple) else e[2]
    return _code(json.dumps(d))


def tables():
    """{block name: (key prefix, table, UCI form)} in schema order."""
    schema, _ = _firmware()
    out = {"top": ("", schema.TOP, "options of `config wanwatch 'main'`")}
    for e in schema.TOP:
        kind = _kind(e)[0]
        if kind == "entries":
            out[e[0]] = ("%s[]." % e[0], e[3][0], "one `config %s '<name>'` section each" % e[3][3])
            for e2 in e[3][0]:  # a link's checks (entries) and its bandwidth / cellular (sections)
                k2 = _kind(e2)[0]
                if k2 == "entries":
                    out[e2[0]] = ("%s[].%s[]." % (e[0], e2[0]), e2[3][0],
                                  "one `config %s '<name>'` section each, `option link '<link>'`" % e2[3][3])
                elif k2 == "section":
                    out[e2[0]] = ("%s[].%s." % (e[0], e2[0]), e2[3],
                                  "options `%s_<key>` of its `config %s` section" % (e2[0], e[3][3]))
        elif kind == "section":
            out[e[0]] = (e[0] + ".", e[3], "options of `config %s '%s'`" % (e[0], e[0]))
            for e2 in e[3]:
                if _kind(e2)[0] == "entries":
                    out[e2[0]] = ("%s.%s[]." % (e[0], e2[0]), e2[3][0],
                                  "one `config %s '<name>'` section each" % e2[3][3])
    return out


def _names():
    """{id of a table: its name in the schema source}, and {(table name, key): comment}."""
    import importlib
    _firmware()
    names, docs = {}, {}
    for area in ("config", "modem", "failover", "usage", "report"):
        mod = importlib.import_module("wanwatch.%s.schema" % area)
        for k, v in vars(mod).items():
            if k.isupper() and isinstance(v, tuple) and v and isinstance(v[0], tuple):
                names[id(v)] = k
        docs.update(comments(mod.__file__))
    return names, docs


def homes(docs_text):
    """{block name: the doc file holding its table} (not README, not contracts.md)."""
    out = {}
    for rel, text in docs_text.items():
        if rel in ("README.md", "docs/contracts.md"):
            continue
        for m in BLOCK.finditer(text):
            for name in m.group(2).split():
                out.setdefault(name, rel)
    return out


def rows(name, here=None, homes_=None):
    """The markdown table of one block; section rows of `top` link to the doc holding theirs."""
    _, uci = _firmware()
    singular = dict((v, k) for k, v in uci.SINGULAR.items())
    names, docs = _names()
    prefix, table, form = tables()[name]
    out = ["UCI: %s." % form, "", "| key | type | default | meaning |", "|---|---|---|---|"]
    for e in table:
        kind = _kind(e)[0]
        doc = docs.get((names[id(table)], e[0]), "").replace("|", "\\|")
        home = (homes_ or {}).get(e[0])
        if name == "top" and home and home != here:
            target = os.path.relpath(os.path.join(ROOT, home), os.path.dirname(os.path.join(ROOT, here)))
            doc += " ([%s](%s))" % (os.path.basename(home), target)
        out.append("| `%s%s` | %s | %s | %s |" % (prefix, e[0], type_text(kind, e[3], singular.get(e[0], e[0])),
                                               default_text(e), doc))
    return out


def render(names, here, docs_text):
    out = []
    for name in names.split():
        if out:
            out.append("")
        out.extend(rows(name, here, homes(docs_text)))
    return "\n".join(out) + "\n"


def rewrite(check=False):
    """Rewrite (or with check, compare) every block; returns the files that differ."""
    texts = {}
    for rel in DOCS:
        with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
            texts[rel] = f.read()
    stale = []
    for rel, text in texts.items():
        new = BLOCK.sub(lambda m: m.group(1) + render(m.group(2), rel, texts) + m.group(4), text)
        if new != text:
            stale.append(rel)
            if not check:
                with open(os.path.join(ROOT, rel), "w", encoding="utf-8") as f:
                    f.write(new)
    return stale


def uci_skeleton():
    """Every UCI option with its default, commented, section by section (for /etc/config/wanwatch)."""
    _, uci = _firmware()
    singular = dict((v, k) for k, v in uci.SINGULAR.items())
    names, docs = _names()
    lines = []
    for name, (prefix, table, form) in tables().items():
        lines.append("")
        lines.append("#config %s" % (form.split("`")[1].replace("config ", "", 1).replace("<name>", name)))
        for e in table:
            kind = _kind(e)[0]
            if kind in ("section", "entries"):
                continue
            doc = docs.get((names[id(table)], e[0]), "")
            if kind == "list":
                for v in list(e[2] or ()) or ["..."]:
                    lines.append("#\tlist %s '%s'" % (singular.get(e[0], e[0]), v))
                lines[-1] += "  # " + doc
                continue
            v = "" if e[2] is None else "1" if e[2] is True else "0" if e[2] is False else e[2]
            lines.append("#\toption %s '%s'  # %s" % (e[0], v, doc))
    return "\n".join(lines) + "\n"


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ["--uci"]:
        sys.stdout.write(uci_skeleton())
        return 0
    if argv not in ([], ["--check"]):
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    stale = rewrite(check=bool(argv))
    if argv and stale:
        print("config tables out of date in %s: run wanwatch-host configdoc" % ", ".join(stale), file=sys.stderr)
        return 1
    for rel in stale:
        print("rewrote the config tables of %s" % rel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
