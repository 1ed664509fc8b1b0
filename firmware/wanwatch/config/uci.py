# uci.py: OpenWrt's native config (/etc/config/wanwatch) mapped onto the JSON config shape, so one
# validator (config.validate) checks both. Parses the UCI file grammar directly: no `uci` binary,
# no subprocess (MicroPython has none).
#
#   config wanwatch 'main'            -> the top-level keys (device_id, board, actuator, ...)
#   config <section> '<section>'      -> that section: modem, probe, failover, usage, mqtt, ...
#   config link '<name>'              -> links[] in file order (the name is the link's name;
#                                        `list target`, `list interface`)
#   config calibration '<name>'       -> usage.calibration[] in file order
# Which section types exist, which options are lists and how each value is typed all come from the
# schema (config/schema.py): numbers, booleans (1/0, true/false, on/off, yes/no, enabled/disabled),
# and an empty value is null (the default), except where "" is a value of its own. A text that is
# not a value of its type is passed on as it is, so the validator gives the same one-line error as
# for the same value in JSON; so are unknown options, which the validator names.
from .error import ConfigError
from .schema import TOP

TRUE = ("1", "true", "on", "yes", "enabled")
FALSE = ("0", "false", "off", "no", "disabled")
SINGULAR = {"target": "targets", "interface": "interfaces"}  # `list target` fills targets
EMPTY_IS_A_VALUE = ("str", "path", "digits")  # with a minimum length of 0


def tokens(line, src, lineno):
    """Split one UCI line into words, honouring '...' and "..." quoting and # comments."""
    out = []
    cur = ""
    quote = None
    have = False
    for c in line:
        if quote:
            if c == quote:
                quote = None
            else:
                cur += c
            continue
        if c in "'\"":
            quote = c
            have = True
        elif c == "#":
            break
        elif c in " \t":
            if have or cur:
                out.append(cur)
            cur = ""
            have = False
        else:
            cur += c
    if quote:
        raise ConfigError(src, "line %d" % lineno, "unterminated quote")
    if have or cur:
        out.append(cur)
    return out


def parse_sections(text, src="<uci>"):
    """[(type, name, {option: value or [values]})] in file order."""
    sections = []
    cur = None
    for n, raw in enumerate(text.splitlines(), 1):
        w = tokens(raw, src, n)
        if not w:
            continue
        if w[0] == "package":
            continue
        if w[0] == "config":
            if len(w) < 2:
                raise ConfigError(src, "line %d" % n, "'config' needs a section type")
            cur = (w[1], w[2] if len(w) > 2 else None, {})
            sections.append(cur)
        elif w[0] in ("option", "list"):
            if cur is None:
                raise ConfigError(src, "line %d" % n, "'%s' outside a config section" % w[0])
            if len(w) != 3:
                raise ConfigError(src, "line %d" % n, "'%s' needs a name and one value" % w[0])
            opts = cur[2]
            if w[0] == "list":
                opts.setdefault(w[1], [])
                if not isinstance(opts[w[1]], list):
                    raise ConfigError(src, "%s.%s" % (cur[1] or cur[0], w[1]), "used both as option and list")
                opts[w[1]].append(w[2])
            else:
                opts[w[1]] = w[2]
        else:
            raise ConfigError(src, "line %d" % n, "unknown statement %r" % w[0])
    return sections


def _kind(e):
    return e[1][1:] if e[1][0] == "!" else e[1]


def _number(text):
    """int or float of a plain decimal literal (1, -3, 0.25), else None: the same on both runtimes."""
    body = text[1:] if text[0] in "+-" else text
    if not body or body == "." or body.count(".") > 1:
        return None
    for c in body:
        if c not in "0123456789.":
            return None
    return float(text) if "." in body else int(text)


def _typed(kind, lim, text):
    if text == "":
        return "" if kind in EMPTY_IS_A_VALUE and lim[0] == 0 else None
    if kind == "bool":
        t = text.lower()
        if t in TRUE:
            return True
        if t in FALSE:
            return False
    elif kind in ("int", "num", "pos"):
        n = _number(text)
        if n is not None:
            return n
    return text


def _options(out, path, table, opts, src):
    """The options of one section typed by its table into out (a dict)."""
    for name in opts:
        k = SINGULAR.get(name, name)
        e = None
        for x in table:
            if x[0] == k:
                e = x
        if e is None:
            sub = _nested(table, name)
            if sub is not None:  # `option bandwidth_min_mbps` in a link: its bandwidth section
                _options(out.setdefault(sub[0][0], {}), (path + "." if path else "") + sub[0][0], sub[0][3],
                         {sub[1]: opts[name]}, src)
                continue
            out[name] = opts[name]  # unknown: the validator names it with the known keys
            continue
        kind, v, where = _kind(e), opts[name], (path + "." + k if path else k)
        if kind == "section":
            raise ConfigError(src, where, "is a section of its own: config %s '%s'" % (k, k))
        if kind == "entries":
            raise ConfigError(src, where, "is a list of sections: config %s '<name>'" % e[3][3])
        if kind == "list":
            if not isinstance(v, list):
                raise ConfigError(src, where, "is a list: write one 'list %s ...' line per value" % name)
            out[k] = [_typed(e[3][0], e[3][1], x) for x in v]
        elif isinstance(v, list):
            raise ConfigError(src, where, "takes one value: write 'option %s ...', not 'list'" % name)
        else:
            out[k] = _typed(kind, e[3], v)


def _nested(table, name):
    """(entry of a section-typed key, its key) for an option named <section>_<key> (UCI sections
    cannot nest: a link's bandwidth.min_mbps is `option bandwidth_min_mbps`), else None."""
    for x in table:
        if _kind(x) == "section" and name.startswith(x[0] + "_"):
            return x, name[len(x[0]) + 1:]
    return None


def section_types():
    """[(UCI section type, where its keys go in the config, table, one entry of a list?)]"""
    out = [("wanwatch", (), TOP, False)]
    for e in TOP:
        kind = _kind(e)
        if kind == "entries":
            out.append((e[3][3], (e[0],), e[3][0], True))
        elif kind == "section":
            out.append((e[0], (e[0],), e[3], False))
            for e2 in e[3]:
                if _kind(e2) == "entries":
                    out.append((e2[3][3], (e[0], e2[0]), e2[3][0], True))
    return out


def parse_uci(text, src="<uci>"):
    """UCI text -> raw config dict in the JSON shape (validated later by config.validate).
    `config check '<name>'` sections belong to the link named by their `option link`."""
    raw = {}
    types = section_types()
    checks = []
    for stype, name, opts in parse_sections(text, src):
        if stype == "check":
            checks.append((name, opts))
            continue
        found = None
        for t in types:
            if t[0] == stype:
                found = t
        if found is None:
            raise ConfigError(src, stype, "unknown section type (expected %s)" % ", ".join([t[0] for t in types]))
        path, table, entry = found[1], found[2], found[3]
        where = raw
        for k in path[:-1] if entry else path:
            where = where.setdefault(k, {})
        if not entry:
            _options(where, ".".join(path), table, opts, src)
            continue
        items = where.setdefault(path[-1], [])
        d = {}
        if table[0][0] == "name":  # a link: the section's name is the link's name
            if not name:
                raise ConfigError(src, stype, "%s sections need a name: config %s '<name>'" % (stype, stype))
            d["name"] = name
        _options(d, "%s[%d]" % (".".join(path), len(items)), table, opts, src)
        items.append(d)
    if checks:
        _attach_checks(raw, checks, src)
    return raw


def _attach_checks(raw, checks, src):
    from ..failover.schema import CHECK
    links = raw.get("links") or []
    for name, opts in checks:
        opts = dict(opts)
        link = opts.pop("link", None)
        where = "check '%s'" % (name or "?")
        found = None
        for i in range(len(links)):
            if links[i].get("name") == link:
                found = i
        if found is None:
            raise ConfigError(src, where + ".link", "must name a link section (config link '<name>'), got %r" % (link,))
        items = links[found].setdefault("checks", [])
        d = {}
        _options(d, "links[%d].checks[%d]" % (found, len(items)), CHECK, opts, src)
        items.append(d)
