# config: load and validate the agent's configuration (JSON file, or UCI on OpenWrt) against the
# schema (config/schema.py and one schema module per area). Returns a plain dict with every default
# filled in; any problem is one ConfigError naming the file, the key and the reason in plain words,
# and nothing is started with a half-valid config. Start-up only (cli.STARTUP_ONLY).
from ..compat import dumps, loads
from ..names import NAME_CHARS, ip_family, is_ip, is_name, is_path
from .error import ConfigError
from .schema import TOP

SECRETS = ("secret", "key")  # types masked by --print-config


def _key(path, k):
    return path + "." + k if path else k


def _show(v):
    r = repr(v)  # repr keeps it one line (newlines come out as \n)
    return r if len(r) <= 60 else r[:57] + "..."


def _entry(table, k):
    for e in table:
        if e[0] == k:
            return e
    return None


def _kind(e):
    """(type without the required mark, required)"""
    t = e[1]
    return (t[1:], True) if t[0] == "!" else (t, False)


def _number(v, whole=False):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    if isinstance(v, float) and (whole or v - v != 0):  # NaN and infinities are not numbers here
        return False
    return True


def _choices(c):
    if len(c) == 2:
        return "%s or %s" % c
    return "one of " + ", ".join(c)


def _is_host(v):
    if is_ip(v):
        return True
    if not isinstance(v, str) or not 1 <= len(v) <= 253 or v[0] in ".-" or v[-1] == "-" or ".." in v:
        return False
    for c in v:
        if c not in NAME_CHARS:
            return False
    return True


def _check(kind, lim, v):
    """None when v (not null) is a valid value of this type, else the reason in plain words."""
    if kind == "int":
        if not _number(v, True) or not lim[0] <= v <= lim[1]:
            return "must be an integer between %s and %s" % lim
    elif kind == "num":
        if not _number(v) or not lim[0] <= v <= lim[1]:
            return "must be a number between %s and %s" % lim
    elif kind == "pos":
        if not _number(v) or v <= 0 or (lim is not None and v > lim):
            return "must be a number greater than 0" + ("" if lim is None else " and at most %s" % lim)
    elif kind == "bool":
        if not isinstance(v, bool):
            return "must be true or false"
    elif kind in ("str", "secret"):
        if not isinstance(v, str) or not lim[0] <= len(v) <= lim[1]:
            return "must be a string of %s characters" % ("at most %d" % lim[1] if lim[0] == 0 else "%d to %d" % lim)
    elif kind == "choice":
        if v not in lim:
            return "must be " + _choices(lim)
    elif kind == "name":
        if not is_name(v, lim):
            return "must be 1-%d characters of A-Z a-z 0-9 _ . -" % lim
    elif kind == "path":
        if not (v == "" and lim[0] == 0) and not is_path(v, lim[1]):
            return "must be an absolute path of A-Z a-z 0-9 _ . - /" + (' (or "" for none)' if lim[0] == 0 else "")
    elif kind == "host":
        if not _is_host(v):
            return "must be an IP address or a host name"
    elif kind == "ip":
        if not is_ip(v):
            return "must be an IPv4 or IPv6 address"
    elif kind == "addr":
        if ip_family(v) is None:
            return "must be an IPv4 or IPv6 address"
    elif kind == "prefix":
        if not isinstance(v, str) or not v or "#" in v or "+" in v or v[0] == "/" or v[-1] == "/":
            return "must be a topic prefix without wildcards or a leading or trailing '/'"
    elif kind == "phone":
        from ..modem.sms import sms_number_ok
        if not sms_number_ok(v):
            return "must be a phone number or short code (3-20 digits, optional +)"
    elif kind == "ussd":
        ok = isinstance(v, str) and 2 <= len(v) <= 40 and v[-1] == "#"
        for c in (v if ok else ""):
            ok = ok and c in "0123456789*#+"
        if not ok:
            return "must be a USSD code of 0-9 * # + ending in # (2-40 characters), e.g. *123#"
    elif kind == "pattern":
        from ..usage.carrier import compile_pattern  # only with a calibration, which loads it anyway
        try:
            compile_pattern(v)
        except ValueError as e:
            return str(e)
    elif kind == "unit":
        from ..usage.carrier import UNITS
        if not isinstance(v, str) or v.lower() not in UNITS:
            return "must be one of B KB MB GB TB KiB MiB GiB"
    elif kind == "digits":
        if not isinstance(v, str) or not lim[0] <= len(v) <= lim[1] or (v and not v.isdigit()):
            return "must be up to %d digits" % lim[1]
    elif kind == "url":
        from ..failover.checks import parse_url
        if not isinstance(v, str) or len(v) > lim or parse_url(v) is None:
            return "must be a plain http:// URL (no TLS) of at most %d characters" % lim
    elif kind == "dest":
        from ..usage.budget import is_host, is_prefix
        if is_prefix(v) is None and not is_host(v):
            return "must be an IP address, a prefix or a host name (a.b.c.d/n, x::/n: prefixes)"
    elif kind == "key":
        from ..report.hmac256 import parse_key
        if parse_key(v) is None:
            return "must be at least 16 bytes: the text itself, or hex:<hex digits>"
    elif kind == "at":
        ok = isinstance(v, str) and 2 <= len(v) <= 64 and v[:2].upper() == "AT"
        for c in (v if ok else ""):
            ok = ok and " " <= c <= "~"
        if not ok:
            return "must be an AT command (AT..., at most 64 printable characters)"
    else:
        return "has a type the validator does not know: %s" % kind
    return None


def _count(lo, hi):
    return "at most %d" % hi if lo == 0 else "%d to %d" % (lo, hi)


def _value(src, path, kind, lim, v):
    if kind == "entries":
        if not isinstance(v, list) or not lim[1] <= len(v) <= lim[2]:
            raise ConfigError(src, path, "must be a list of %s objects, got %s" % (_count(lim[1], lim[2]), _show(v)))
        return [_object(src, "%s[%d]" % (path, i), v[i], lim[0]) for i in range(len(v))]
    if kind == "list":
        if not isinstance(v, list) or not lim[2] <= len(v) <= lim[3]:
            raise ConfigError(src, path, "must be a list of %s values, got %s" % (_count(lim[2], lim[3]), _show(v)))
        return [_value(src, "%s[%d]" % (path, i), lim[0], lim[1], v[i]) for i in range(len(v))]
    why = _check(kind, lim, v)
    if why:
        raise ConfigError(src, path, "%s, got %s" % (why, _show(v)))
    return v


def _object(src, path, raw, table):
    """The object raw checked against table: unknown keys rejected, defaults filled in."""
    if not isinstance(raw, dict):
        raise ConfigError(src, path, "must be an object, got %s" % _show(raw))
    for k in raw:
        if _entry(table, k) is None:  # a typo must not silently fall back to a default
            raise ConfigError(src, _key(path, k), "unknown key (known: %s)" % ", ".join([e[0] for e in table]))
    out = {}
    for e in table:
        k = e[0]
        kind, required = _kind(e)
        v = raw.get(k)
        if kind == "section":
            out[k] = _object(src, _key(path, k), {} if v is None else v, e[3])
        elif v is None:
            if required:
                raise ConfigError(src, _key(path, k), "is required")
            out[k] = list(e[2]) if isinstance(e[2], tuple) else e[2]
        else:
            out[k] = _value(src, _key(path, k), kind, e[3], v)
    return out


def _between(src, cfg):
    """The rules between keys, and the defaults that depend on other keys."""
    links = cfg["links"]
    for i in range(len(links)):
        l = links[i]
        if l["interfaces"] is None:
            l["interfaces"] = [l["name"]]
        for other in links[:i]:
            if other["name"] == l["name"]:
                raise ConfigError(src, "links[%d].name" % i, "duplicate link name %r" % l["name"])
            for j in range(len(l["interfaces"])):
                n = l["interfaces"][j]
                if n in other["interfaces"]:
                    raise ConfigError(src, "links[%d].interfaces[%d]" % (i, j),
                                      "interface %r already belongs to link %r" % (n, other["name"]))
    for i in range(len(links)):
        l = links[i]
        if l["checks"] is None:
            l["checks"] = []
        if l["checks"]:
            from ..failover.checks import check_spec  # the check types own their rules between keys
            for j in range(len(l["checks"])):
                spec, err = check_spec(l["checks"][j], "links[%d].checks[%d]" % (i, j))
                if err:
                    raise ConfigError(src, err[0], err[1])
                l["checks"][j] = spec
    u = cfg["usage"]
    for i in range(len(u["calibration"] or ())):
        c = u["calibration"][i]
        need = "code" if c["method"] == "ussd" else "number"
        if c[need] is None:
            raise ConfigError(src, "usage.calibration[%d].%s" % (i, need), "is required with method %s" % c["method"])
        if c["timeout_s"] is None:
            from ..usage.schema import CAL_TIMEOUTS
            c["timeout_s"] = CAL_TIMEOUTS[c["method"]]
    if u["at_cap_action"] == "alert_sms":
        if max(u["thresholds"]) < 100:
            raise ConfigError(src, "usage.thresholds", "alert_sms acts at a threshold of 100 or more: add 100")
        if not cfg["sms"]["numbers"]:
            raise ConfigError(src, "usage.at_cap_action", "alert_sms needs sms.numbers (the SMS fallback's recipients)")
    b = cfg["budget"]
    if b["rate_mbps"] is not None or b["steps"]:
        seen = []
        for i in range(len(b["steps"] or ())):
            p = b["steps"][i]["at_pct"]
            if p in seen:
                raise ConfigError(src, "budget.steps[%d].at_pct" % i, "two steps at %s%%" % p)
            seen.append(p)
        if cfg["actuator"] not in ("openwrt", "linux-route"):
            raise ConfigError(src, "actuator", "must be openwrt or linux-route with a budget (none changes nothing "
                                               "on the router)")
        if not [l for l in links if l["metered"]]:
            raise ConfigError(src, "budget", "needs a metered link (links[].metered: true)")
    m = cfg["mqtt"]
    if m["port"] is None:
        m["port"] = 8883 if m["tls"] else 1883
    if m["tls"] and m["ca"] is None:
        raise ConfigError(src, "mqtt.ca", "is required with mqtt.tls (a CA file: unverified TLS is not offered)")


def validate(raw, src="<config>"):
    """Validate a raw config dict; returns a new dict with every default filled in."""
    if not isinstance(raw, dict):
        raise ConfigError(src, "(top)", "must be a JSON object")
    from ..features import missing  # a key that needs an area or vendor this build left out
    gap = missing(raw)
    if gap:
        raise ConfigError(src, gap[0], gap[1])
    cfg = _object(src, "", raw, TOP)
    _between(src, cfg)
    return cfg


def _dump(v, kind, lim, indent):
    if kind == "section":
        return _dump_object(v, lim, indent)
    if kind == "entries" and v is not None:
        pad = "\n" + " " * (indent + 2)
        return "[" + ",".join([pad + _dump_object(x, lim[0], indent + 2) for x in v]) + "\n" + " " * indent + "]"
    if kind in SECRETS and v is not None:
        return '"***"'
    return dumps(v)


def _dump_object(obj, table, indent):
    pad = "\n" + " " * (indent + 2)
    parts = []
    for e in table:
        if e[0] in obj:  # (a check holds the keys of its type only)
            parts.append(pad + dumps(e[0]) + ": " + _dump(obj[e[0]], _kind(e)[0], e[3], indent + 2))
    return "{" + ",".join(parts) + "\n" + " " * indent + "}"


def dump(cfg):
    """--print-config: the validated config as JSON, keys in schema order, secrets masked."""
    return _dump_object(cfg, TOP, 0)


def parse_text(text, src):
    """Raw dict from file text: JSON if it looks like JSON, otherwise OpenWrt UCI."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            return loads(text)
        except ValueError as e:
            raise ConfigError(src, "(file)", "not valid JSON: %s" % e)
    word = stripped.split(None, 1)[0] if stripped else ""
    if word in ("config", "package", "option", "list") or stripped.startswith("#"):
        from . import uci  # lazy: only OpenWrt routers need the UCI parser
        return uci.parse_uci(text, src)
    raise ConfigError(src, "(file)", "neither JSON (starts with '{') nor UCI (starts with 'config')")


def load(path):
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise ConfigError(path, "(file)", "cannot read: %s" % e)
    except UnicodeError:
        raise ConfigError(path, "(file)", "not UTF-8 text")
    raw = parse_text(text, path)
    if isinstance(raw, dict) and isinstance(raw.get("board"), str) and raw["board"] != "generic":
        from .. import board  # hardware defaults from the board description, if there is one
        here = path.rsplit("/", 1)[0] if "/" in path else "."
        b = board.find(raw["board"], (here, here + "/boards"))
        if b is None and "modem" not in raw:
            raise ConfigError(path, "board", "no board description %r found (boards/<name>/board.json)" % raw["board"])
        board.apply_defaults(raw, b)
    return validate(raw, path)
