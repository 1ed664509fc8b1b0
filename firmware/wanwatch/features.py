# features.py: the agent's optional areas, declared once. An area is a set of modules a board
# manifest (boards/<board>/manifest.py, read by host_tools/manifest.py) may leave out of a build;
# everything not listed here (and not a vendor driver) is the core every build ships. The build
# writes wanwatch/built.py (BOARD, AREAS, VENDORS) into the bundle; a source tree without it has
# every area and vendor. A config key that needs an area the build left out is one config error:
#   config error: <file>: <key>: needs the <area> area, which is not in this build (its board
#   manifest leaves it out)
# so a lean board is a manifest, never code surgery. The core imports an optional module only
# where its area is configured (lazily), or tolerates its absence (the forecast).

# (area, modules under wanwatch/, areas it needs, what it is)
AREAS = (
    ("table", ("report/table.py",), (), "status tables: `wanwatch status` on the router, the console's view"),
    ("console", ("report/console.py",), ("table",), "the technician's line console on the UART (console.enabled)"),
    ("commands", ("report/commands.py", "report/hmac256.py"), (), "signed remote commands (commands.key)"),
    ("sms", ("report/smsalert.py",), (), "the SMS fallback and the at-cap SMS (sms.numbers)"),
    ("checks", ("failover/checks.py",), (), "DNS and HTTP link checks, the active bandwidth test (links[].checks, "
                                           "links[].bandwidth.test_url)"),
    ("budget", ("usage/budget.py",), (), "LAN rate limit on the metered link (budget.*)"),
    ("calibration", ("usage/carrier.py",), (), "carrier calibrations by USSD or SMS (usage.calibration)"),
    ("forecast", ("usage/forecast.py",), (), "the usage exhaustion forecast (usage_forecast events)"),
    ("syslog", ("syslog.py",), (), "log lines to a syslog socket with their priority (--syslog: logd on OpenWrt)"),
)

MESSAGE = "needs the %s %s, which is not in this build (its board manifest leaves it out)"


def _built():
    try:
        from . import built
        return built
    except ImportError:  # a source tree: everything is there
        return None


def present(area):
    b = _built()
    return b is None or area in b.AREAS


def vendor_present(name):
    b = _built()
    return b is None or name in ("generic", "auto") or name in b.VENDORS


def need(area):
    """The config error's reason when area is missing, else None."""
    return None if present(area) else MESSAGE % (area, "area")


def _set(v):
    return v is not None and v is not False and v != [] and v != ()


def missing(raw):
    """(key, reason) for the first key of a raw config (JSON/UCI, before validation) that needs an
    area or a vendor this build left out; None when the build has all it needs."""
    if _built() is None or not isinstance(raw, dict):
        return None
    wants = []

    def sec(name):
        v = raw.get(name)
        return v if isinstance(v, dict) else {}
    if _set(sec("console").get("enabled")):
        wants.append(("console.enabled", "console"))
    if _set(sec("commands").get("key")):
        wants.append(("commands.key", "commands"))
    if _set(sec("sms").get("numbers")):
        wants.append(("sms.numbers", "sms"))
    for k in ("rate_mbps", "steps", "allow"):
        if _set(sec("budget").get(k)):
            wants.append(("budget." + k, "budget"))
    if _set(sec("usage").get("calibration")):
        wants.append(("usage.calibration", "calibration"))
    links = raw.get("links")
    for i in range(len(links) if isinstance(links, list) else 0):
        l = links[i] if isinstance(links[i], dict) else {}
        if _set(l.get("checks")):
            wants.append(("links[%d].checks" % i, "checks"))
        bw = l.get("bandwidth")
        if isinstance(bw, dict) and _set(bw.get("test_url")):
            wants.append(("links[%d].bandwidth.test_url" % i, "checks"))
    for key, area in wants:
        why = need(area)
        if why:
            return key, why
    v = sec("modem").get("vendor")
    if isinstance(v, str) and not vendor_present(v):
        return "modem.vendor", MESSAGE % (v, "vendor driver")
    return None
