# config/schema.py: the top level of the config and the map of the areas' schemas. Every key of
# the config is declared once, in its area's schema module next to the code that uses it:
#   modem/schema.py      modem.*, recovery.*
#   failover/schema.py   links[], probe.*, failover.*
#   usage/schema.py      usage.*, usage.calibration[], budget.*
#   report/schema.py     mqtt.*, commands.*, sms.*, console.*
#   this file            the top-level keys, which name the sections above
# From these tables come the JSON validation (config/__init__.py), the UCI typing (uci.py), the
# docs' key tables (host_tools/configdoc.py writes them; tests/config checks them),
# `wanwatch --check` and `wanwatch --print-config`; the parts take their defaults from them.
#
# A table is a tuple of entries (key, type, default, limits), constants only, so that mpy-cross
# folds it into one constant object (no code per key, no class per key). The one line of
# documentation of a key is the comment after its entry (and comment lines right below it): the
# host tool reads it from the source, the device never loads it. All of this is start-up only:
# the CLI drops these modules once the parts are built (cli.STARTUP_ONLY).
#
# A type starting with "!" is required (default None). Types and their limits:
#   int (lo, hi)        an integer lo..hi            num (lo, hi)   a number lo..hi
#   pos hi              a number > 0 (and <= hi unless hi is None)
#   bool None           true/false (UCI also 1/0, yes/no, on/off, enabled/disabled)
#   str (min, max)      a string of min..max characters (min 0: "" is a value, also in UCI)
#   choice (a, b, ...)  one of these strings
#   name maxlen         1..maxlen of A-Z a-z 0-9 _ . - (safe in a command line and a topic)
#   path (min, max)     an absolute path of name characters and / (min 0: "" allowed)
#   host / ip / addr    IP address or host name / IPv4 or IPv6 address / the same without a %zone
#   prefix, phone, ussd, pattern, unit, digits (min, max), key, secret (min, max), at: see _check
#   list (type, limits, min, max)   a list of min..max values of that type (UCI: `list` lines)
#   section TABLE       an object of that table's keys (UCI: `config <key> '<key>'`)
#   entries (TABLE, min, max, uci)  a list of min..max such objects (UCI: `config <uci> '<name>'`)
# A null value (UCI: an empty one) means the default.
from ..failover import schema as failover
from ..modem import schema as modem
from ..report import schema as report
from ..usage import schema as usage

TOP = (
    ("device_id", "!name", None, 64),  # the device's name in MQTT topics
    ("board", "name", "generic", 32),  # board description in `boards/<name>/board.json`: hardware defaults (modem,
    # links, actuator)
    ("actuator", "choice", "none", ("openwrt", "linux-route", "none")),  # how to switch: policy routing + netifd
    # session restarts (`openwrt`), policy routing (`linux-route`), nothing, report only (`none`)
    ("state_dir", "path", "/var/lib/wanwatch", (1, 128)),  # persistent state on flash
    ("run_dir", "path", "/var/run/wanwatch", (1, 128)),  # RAM state: status file for `wanwatch status`, frequent
    # saves, hotplug records
    ("log_level", "choice", "info", ("error", "warning", "info", "debug")),  # lowest priority that is logged
    ("modem", "section", None, modem.MODEM),  # the modem's AT port (`modem.port` is required)
    ("links", "!entries", None, (failover.LINK, 1, 16, "link")),  # the uplinks in priority order, the first
    # preferred (UCI: one `config link '<name>'` section each, in file order)
    ("probe", "section", None, failover.PROBE),  # health checks of the links
    ("failover", "section", None, failover.FAILOVER),  # when to switch and when to come back
    ("usage", "section", None, usage.USAGE),  # the backup SIM's data usage and cap
    ("budget", "section", None, usage.BUDGET),  # a backup that lasts: the LAN's rate limit while on the metered
    # link
    ("mqtt", "section", None, report.MQTT),  # the broker and what is sent there
    ("commands", "section", None, report.COMMANDS),  # signed remote commands
    ("sms", "section", None, report.SMS),  # SMS fallback while the broker is unreachable
    ("recovery", "section", None, modem.RECOVERY),  # the modem recovery ladder
    ("console", "section", None, report.CONSOLE),  # the technician's line console (boards)
)
