# uci.py: OpenWrt's native config (/etc/config/wanwatch) mapped onto the JSON config shape, so one
# validator (config.validate) checks both. Parses the UCI file grammar directly: no `uci` binary,
# no subprocess (MicroPython has none).
#
#   config wanwatch 'main'            -> device_id, board, actuator, state_dir, run_dir
#   config modem 'modem'              -> modem.{port, baud, vendor, poll_s}
#   config link '<name>'              -> links[] in file order: device, role, metered, list target,
#                                        list interface (netifd interfaces of the link: wan, wan6)
#   config usage 'usage'              -> usage.{cap_mb, reset_day, reset_hour, thresholds (list)...}
#   config calibration '<name>'       -> usage.calibration[] in file order: method, code, number...
#   config mqtt 'mqtt'                -> mqtt.{host, port, prefix, tls, username, password, ...}
#   config commands / sms / recovery / probe / failover / budget -> same-named sections
#   config step '<name>'              -> budget.steps[] in file order: at_pct, rate_mbps
# Values are typed by key (numbers, booleans 0/1/true/false/on/off/yes/no); unknown keys pass
# through as strings so the validator can name them.

INT_KEYS = ("baud", "port", "reset_day", "reset_hour", "utc_offset_min", "max_ledgers", "keepalive_s",
            "keepalive_metered_s", "status_interval_s", "status_interval_metered_s", "outbox_max_entries",
            "outbox_max_bytes", "window_s", "max_per_day", "after_s", "sample_s", "ram_save_s", "flash_save_s")
NUM_KEYS = ("cap_mb", "poll_s", "interval_s", "holddown_s", "max_rate_mbps", "min_pct", "timeout_min_s",
            "session_restart_s", "session_restart_max_s", "flash_save_mb", "flash_min_interval_s", "near_pct",
            "timeout_s", "rate_mbps", "at_pct", "check_s", "resolve_s")
BOOL_KEYS = ("metered", "tls", "enabled", "reboot", "flush_conntrack", "upload")
LIST_KEYS = ("target", "interface", "thresholds", "numbers", "at_allow", "events", "allow", "lan_devices")
SECTIONS = ("modem", "usage", "mqtt", "commands", "sms", "recovery", "probe", "failover", "console", "budget")
TRUE = ("1", "true", "on", "yes", "enabled")
FALSE = ("0", "false", "off", "no", "disabled")


def _err(src, key, reason):
    from . import ConfigError  # lazy: config imports uci lazily too
    return ConfigError(src, key, reason)


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
        raise _err(src, "line %d" % lineno, "unterminated quote")
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
                raise _err(src, "line %d" % n, "'config' needs a section type")
            cur = (w[1], w[2] if len(w) > 2 else None, {})
            sections.append(cur)
        elif w[0] in ("option", "list"):
            if cur is None:
                raise _err(src, "line %d" % n, "'%s' outside a config section" % w[0])
            if len(w) != 3:
                raise _err(src, "line %d" % n, "'%s' needs a name and one value" % w[0])
            opts = cur[2]
            if w[0] == "list":
                opts.setdefault(w[1], [])
                if not isinstance(opts[w[1]], list):
                    raise _err(src, "%s.%s" % (cur[1] or cur[0], w[1]), "used both as option and list")
                opts[w[1]].append(w[2])
            else:
                opts[w[1]] = w[2]
        else:
            raise _err(src, "line %d" % n, "unknown statement %r" % w[0])
    return sections


def _typed(sec, key, val, src):
    where = "%s.%s" % (sec, key)
    if isinstance(val, list):
        if key == "thresholds":
            return [_typed(sec, "min_pct", v, src) for v in val]
        return val
    if key in BOOL_KEYS:
        v = val.lower()
        if v in TRUE:
            return True
        if v in FALSE:
            return False
        raise _err(src, where, "must be 0/1 (or true/false), got %r" % val)
    if (key in INT_KEYS or key in NUM_KEYS) and not (sec == "modem" and key == "port"):
        try:
            return int(val)
        except ValueError:
            if key in NUM_KEYS:
                try:
                    return float(val)
                except ValueError:
                    pass
        raise _err(src, where, "must be a number, got %r" % val)
    if val == "":
        return None
    return val


def parse_uci(text, src="<uci>"):
    """UCI text -> raw config dict in the JSON shape (validated later by config.validate)."""
    raw = {}
    links = []
    for stype, name, opts in parse_sections(text, src):
        if stype == "wanwatch":
            for k in opts:
                raw[k] = _typed("wanwatch", k, opts[k], src)
        elif stype == "link":
            if not name:
                raise _err(src, "link", "link sections need a name: config link 'wan'")
            l = {"name": name}
            for k in opts:
                if k in ("target", "interface"):
                    l[k + "s"] = opts[k]
                else:
                    l[k] = _typed("link." + name, k, opts[k], src)
            links.append(l)
        elif stype == "calibration":
            d = {}
            for k in opts:
                d[k] = _typed("calibration", k, opts[k], src)
            raw.setdefault("usage", {}).setdefault("calibration", []).append(d)
        elif stype == "step":
            d = {}
            for k in opts:
                d[k] = _typed("step", k, opts[k], src)
            raw.setdefault("budget", {}).setdefault("steps", []).append(d)
        elif stype in SECTIONS:
            d = raw.setdefault(stype, {})
            for k in opts:
                d[k] = _typed(stype, k, opts[k], src)
        else:
            raise _err(src, stype, "unknown section type (expected wanwatch, modem, link, calibration, step, %s)"
                       % ", ".join(SECTIONS[1:]))
    if links:
        raw["links"] = links
    return raw
