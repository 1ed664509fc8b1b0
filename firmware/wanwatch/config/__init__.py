# config.py: load and validate the agent's configuration (JSON file, or UCI on OpenWrt).
# Returns a plain dict with every default filled in; any problem is one ConfigError naming the
# file, the key and the reason, and nothing is started with a half-valid config.
from ..compat import loads
from ..log import NAMES as LOG_LEVELS
from ..names import ip_family, is_ip, is_name, is_path
from ..modem.vendors import NAMES as VENDOR_NAMES

VENDORS = ("auto",) + VENDOR_NAMES
ACTUATORS = ("openwrt", "linux-route", "none")
DEFAULT_TARGETS = ["1.1.1.1", "8.8.8.8", "9.9.9.9"]
TOP_KEYS = ("device_id", "board", "modem", "links", "actuator", "usage", "mqtt", "state_dir", "run_dir",
            "probe", "failover", "commands", "sms", "recovery", "console", "log_level", "budget")


class ConfigError(Exception):
    def __init__(self, file, key, reason):
        super().__init__("%s: %s: %s" % (file, key, reason))
        self.file = file
        self.key = key
        self.reason = reason

    def __str__(self):
        return "config error: %s: %s: %s" % (self.file, self.key, self.reason)


class _V:
    """Reads one section of the raw dict, recording the dotted key path for error messages."""

    def __init__(self, src, raw, path):
        self.src = src
        self.raw = raw
        self.path = path

    def key(self, k):
        return self.path + "." + k if self.path else k

    def fail(self, k, reason):
        raise ConfigError(self.src, self.key(k), reason)

    def get(self, k, kind, default=None, required=False):
        if k not in self.raw or self.raw[k] is None:
            if required:
                self.fail(k, "is required")
            return default
        v = self.raw[k]
        if kind == "str" and not isinstance(v, str):
            self.fail(k, "must be a string, got %r" % (v,))
        if kind == "bool" and not isinstance(v, bool):
            self.fail(k, "must be true or false, got %r" % (v,))
        if kind == "int" and (isinstance(v, bool) or not isinstance(v, int)):
            self.fail(k, "must be an integer, got %r" % (v,))
        if kind == "num" and (isinstance(v, bool) or not isinstance(v, (int, float))):
            self.fail(k, "must be a number, got %r" % (v,))
        if kind == "dict" and not isinstance(v, dict):
            self.fail(k, "must be an object, got %r" % (v,))
        if kind == "list" and not isinstance(v, list):
            self.fail(k, "must be a list, got %r" % (v,))
        return v

    def sub(self, k):
        return _V(self.src, self.get(k, "dict", {}), self.key(k))


def _range(v, k, val, lo, hi):
    if val < lo or val > hi:
        v.fail(k, "must be between %s and %s, got %r" % (lo, hi, val))
    return val


def _section(v, defaults):
    """A small settings object checked against its defaults' types (None default: a number or
    null; a str default: str or null)."""
    out = {}
    for k in v.raw:
        if k not in defaults:
            v.fail(k, "unknown key (known: %s)" % ", ".join(sorted(defaults)))
        d, x = defaults[k], v.raw[k]
        if x is None:
            out[k] = None
        elif isinstance(d, bool):
            out[k] = v.get(k, "bool")
        elif isinstance(d, str) or (d is None and isinstance(x, str)):
            if k.endswith("url"):
                from ..failover.checks import parse_url
                if parse_url(x) is None:
                    v.fail(k, "must be a plain http:// URL (no TLS), got %r" % (x,))
            out[k] = v.get(k, "str")
        elif isinstance(x, bool) or not isinstance(x, (int, float)) or (x <= 0 and not k.endswith("_dbm")
                                                                          and not k.endswith("_db")):
            v.fail(k, "must be a number%s, got %r" % ("" if k.endswith("db") or k.endswith("dbm") else " > 0", x))
        else:
            out[k] = x
    return out


def validate(raw, src="<config>"):
    """Validate a raw config dict; returns a new dict with defaults filled in."""
    if not isinstance(raw, dict):
        raise ConfigError(src, "(top)", "must be a JSON object")
    top = _V(src, raw, "")
    for k in raw:
        if k not in TOP_KEYS:  # a typo ("mqqt") must not silently fall back to defaults
            top.fail(k, "unknown key (known: %s)" % ", ".join(TOP_KEYS))
    cfg = {}
    dev = top.get("device_id", "str", required=True)
    if not is_name(dev, 64):
        top.fail("device_id", "must be 1-64 characters of A-Z a-z 0-9 _ . -, got %r" % dev)
    cfg["device_id"] = dev
    board = top.get("board", "str", "generic")
    if not is_name(board, 32):
        top.fail("board", "must be a simple name, got %r" % board)
    cfg["board"] = board

    m = top.sub("modem")
    if "modem" not in raw:
        top.fail("modem", "is required (at least modem.port)")
    modem = {
        "port": m.get("port", "str", required=True),
        "baud": _range(m, "baud", m.get("baud", "int", 115200), 300, 4000000),
        "vendor": m.get("vendor", "str", "auto"),
        "poll_s": _range(m, "poll_s", m.get("poll_s", "num", 30), 1, 3600),
    }
    if modem["vendor"] not in VENDORS:
        m.fail("vendor", "must be one of %s, got %r" % (", ".join(VENDORS), modem["vendor"]))
    cfg["modem"] = modem

    links_raw = top.get("links", "list", required=True)
    if not links_raw:
        top.fail("links", "must list at least one link")
    links = []
    seen = {}
    for i, l in enumerate(links_raw):
        path = "links[%d]" % i
        if not isinstance(l, dict):
            raise ConfigError(src, path, "must be an object")
        lv = _V(src, l, path)
        name = lv.get("name", "str", required=True)
        if not is_name(name):
            lv.fail("name", "must be 1-15 characters of A-Z a-z 0-9 _ . -, got %r" % name)
        if name in seen:
            lv.fail("name", "duplicate link name %r" % name)
        seen[name] = True
        device = lv.get("device", "str", required=True)
        if not is_name(device):
            lv.fail("device", "must be 1-15 characters of A-Z a-z 0-9 _ . -, got %r" % device)
        role = lv.get("role", "str", required=True)
        if role not in ("primary", "backup"):
            lv.fail("role", "must be primary or backup, got %r" % role)
        targets = lv.get("targets", "list", DEFAULT_TARGETS)
        if not targets:
            lv.fail("targets", "must list at least one IPv4 or IPv6 address")
        for j, t in enumerate(targets):
            if ip_family(t) is None:
                lv.fail("targets[%d]" % j, "must be an IPv4 or IPv6 address, got %r" % (t,))
        ifaces = lv.get("interfaces", "list", [name])
        if not ifaces:
            lv.fail("interfaces", "must list at least one netifd interface (default: the link's name)")
        for j, n in enumerate(ifaces):
            if not is_name(n):
                lv.fail("interfaces[%d]" % j, "must be 1-15 characters of A-Z a-z 0-9 _ . -, got %r" % (n,))
            for other in links:
                if n in other["interfaces"]:
                    lv.fail("interfaces[%d]" % j, "interface %r already belongs to link %r" % (n, other["name"]))
        checks = []
        for j, c in enumerate(lv.get("checks", "list", [])):
            from ..failover.checks import check_spec  # the check types own their keys' rules
            spec, err = check_spec(c, path + ".checks[%d]" % j)
            if err:
                raise ConfigError(src, err[0], err[1])
            checks.append(spec)
        link = {"name": name, "device": device, "role": role, "interfaces": list(ifaces),
                "metered": lv.get("metered", "bool", False), "targets": list(targets), "checks": checks}
        from ..failover import bandwidth, cellular
        for key, defaults in (("bandwidth", bandwidth.DEFAULTS), ("cellular", cellular.DEFAULTS)):
            sec = lv.sub(key)
            if key in l:
                link[key] = _section(sec, defaults)
        links.append(link)
    cfg["links"] = links

    act = top.get("actuator", "str", "none")
    if act not in ACTUATORS:
        top.fail("actuator", "must be one of %s, got %r" % (", ".join(ACTUATORS), act))
    cfg["actuator"] = act

    u = top.sub("usage")
    cap = u.get("cap_mb", "num", None)
    if cap is not None and cap <= 0:
        u.fail("cap_mb", "must be > 0 (or null for no cap), got %r" % cap)
    usage = dict(u.raw)
    usage["cap_mb"] = cap
    usage["reset_day"] = _range(u, "reset_day", u.get("reset_day", "int", 1), 1, 31)
    from ..usage.tracker import check_usage  # the usage module owns its other keys' rules
    for k, reason in check_usage(usage):
        u.fail(k, reason)
    cfg["usage"] = usage

    q = top.sub("mqtt")
    tls = q.get("tls", "bool", False)
    mqtt = dict(q.raw)
    mqtt.update({
        "host": q.get("host", "str", "127.0.0.1"),
        "port": _range(q, "port", q.get("port", "int", 8883 if tls else 1883), 1, 65535),
        "prefix": q.get("prefix", "str", "wanwatch"),
        "tls": tls,
        "username": q.get("username", "str", None),
        "password": q.get("password", "str", None),
    })
    res = q.get("resolver", "str", None)
    if res is not None and not is_ip(res):
        q.fail("resolver", "must be the IPv4 or IPv6 address of a DNS server (or null for "
                           "/etc/resolv.conf), got %r" % res)
    mqtt["resolver"] = res
    pfx = mqtt["prefix"]
    if not pfx or "#" in pfx or "+" in pfx or pfx.startswith("/") or pfx.endswith("/"):
        q.fail("prefix", "must be a topic prefix without wildcards or leading/trailing '/', got %r" % pfx)
    cfg["mqtt"] = mqtt

    cfg["state_dir"] = top.get("state_dir", "str", "/var/lib/wanwatch")
    cfg["run_dir"] = top.get("run_dir", "str", "/var/run/wanwatch")
    lvl = top.get("log_level", "str", "info")
    if lvl not in LOG_LEVELS:
        top.fail("log_level", "must be one of %s, got %r" % (", ".join(LOG_LEVELS), lvl))
    cfg["log_level"] = lvl
    # sections owned by later features: passed through as objects, validated by their owners
    for k in ("probe", "failover", "commands", "sms", "recovery", "console"):
        cfg[k] = top.get(k, "dict", {})
    if usage.get("at_cap_action") == "alert_sms" and not cfg["sms"].get("numbers"):
        u.fail("at_cap_action", "alert_sms needs sms.numbers (the SMS fallback's recipients)")
    from ..modem.recovery import DEFAULTS as RECOVERY_DEFAULTS
    rv = _V(src, cfg["recovery"], "recovery")
    for k in cfg["recovery"]:
        if k not in RECOVERY_DEFAULTS:
            rv.fail(k, "unknown key (known: %s)" % ", ".join(sorted(RECOVERY_DEFAULTS)))
        d, v = RECOVERY_DEFAULTS[k], cfg["recovery"][k]
        if isinstance(d, bool):
            rv.get(k, "bool")
        elif isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
            rv.fail(k, "must be a number >= 0, got %r" % (v,))
    cfg["budget"] = top.get("budget", "dict", {})
    if cfg["budget"]:  # the budget policy owns its keys (usage/budget.py BUDGET_DEFAULTS)
        from ..usage.budget import check_budget
        bv = _V(src, cfg["budget"], "budget")
        for k, reason in check_budget(cfg["budget"]):
            bv.fail(k, reason)
        if act == "none":
            top.fail("budget", "needs actuator openwrt or linux-route (none changes nothing on the router)")
        if not [l for l in links if l["metered"]]:
            top.fail("budget", "needs a metered link (links[].metered: true)")
    from ..failover.linkstate import PROBE_DEFAULTS, FAILOVER_DEFAULTS
    for sec, defaults in (("probe", PROBE_DEFAULTS), ("failover", FAILOVER_DEFAULTS)):
        sv = _V(src, cfg[sec], sec)
        for k in cfg[sec]:
            if k not in defaults:
                sv.fail(k, "unknown key (known: %s)" % ", ".join(sorted(defaults)))
            v, d = cfg[sec][k], defaults[k]
            if v is None and k == "quorum":
                continue
            if isinstance(d, bool):
                sv.get(k, "bool")
                continue
            if isinstance(d, str):
                sv.get(k, "str")
                if k == "resolv_file" and v and not is_path(v):
                    sv.fail(k, "must be an absolute path of A-Z a-z 0-9 _ . - / (or \"\" for none), got %r" % v)
                continue
            lo = 0 if k in ("payload_bytes", "session_restart_s") else 1 if k == "quorum" else 0.001
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < lo:
                sv.fail(k, "must be a number %s, got %r" % (">= %s" % lo if lo >= 1 or lo == 0 else "> 0", v))
    return cfg


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
