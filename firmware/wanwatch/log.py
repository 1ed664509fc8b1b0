# log.py: the one leveled logger. Logs are for people: one bounded line per message, "area: text".
# Levels error, warning, info, debug (config `log_level`, default info); a line below the level
# costs one comparison: its arguments are never formatted.
#
# Where the lines go (set once by the CLI, setup()):
#   stderr (default): "wanwatch: [error: |warning: |debug: ]area: text". What a technician sees
#     running --check, --once or the daemon by hand; stdout stays the machine output (the --once
#     status JSON, `wanwatch status`, console answers): no log line can reach it.
#   syslog (--syslog SOCKET, the init script: /dev/log; syslog.py): each line one datagram
#     "<PRI>wanwatch[pid]: area: text", facility daemon, so logd keeps the priority (procd logs an
#     instance's stdout as info and its stderr as err, whatever the line says). The socket is
#     non-blocking and unconnected (sendto every line: a restarted logd is found again); a line
#     that cannot go (no logd, its queue full) goes to stderr instead, which procd also passes to
#     logd. Nothing here blocks the loop or raises.
import sys

ERROR = 3    # syslog severities (RFC 5424): the datagram's priority is FACILITY | severity
WARNING = 4
INFO = 6
DEBUG = 7
NAMES = ("error", "warning", "info", "debug")
LEVELS = {"error": ERROR, "warning": WARNING, "info": INFO, "debug": DEBUG}
FACILITY = 3 << 3  # LOG_DAEMON
MAX_LINE = 240     # characters of "area: text"; longer lines end in "..."
IDENT = "wanwatch"
_TAGS = {ERROR: "error: ", WARNING: "warning: ", INFO: "", DEBUG: "debug: "}

level = INFO   # lines with a severity number above this are skipped (hot paths: `if log.level >= log.DEBUG`)
_syslog = None  # syslog.Syslog while --syslog is in effect


class Logger:
    """Lines of one area: Logger("mqtt").warning("link down: %s", why) -> "mqtt: link down: ..."."""
    __slots__ = ("area",)

    def __init__(self, area=""):
        self.area = area + ": " if area else ""

    def error(self, msg, *args):
        if level >= ERROR:
            emit(ERROR, self.area, msg, args)

    def warning(self, msg, *args):
        if level >= WARNING:
            emit(WARNING, self.area, msg, args)

    def info(self, msg, *args):
        if level >= INFO:
            emit(INFO, self.area, msg, args)

    def debug(self, msg, *args):
        if level >= DEBUG:
            emit(DEBUG, self.area, msg, args)


_root = Logger()
error = _root.error
warning = _root.warning
info = _root.info
debug = _root.debug


def emit(sev, area, msg, args=()):
    """Format (msg % args) and send one line; never raises."""
    try:
        if args:
            try:
                msg = msg % args
            except Exception:  # a wrong format must neither raise nor lose the line
                msg = "%s %r" % (msg, args)
        line = area + (msg if isinstance(msg, str) else str(msg))
        if len(line) > MAX_LINE:
            line = line[:MAX_LINE - 3] + "..."
        if "\n" in line or "\r" in line:  # one message, one line (replies and payloads are quoted)
            line = line.replace("\r", " ").replace("\n", " ")
    except Exception:
        return
    s = _syslog
    if s is not None and s.send(sev, line):
        return
    to_stderr(sev, line)


def to_stderr(sev, line):
    try:
        sys.stderr.write(IDENT + ": " + _TAGS.get(sev, "") + line + "\n")
    except AttributeError:  # a port without sys.stderr: the console is all there is
        print(IDENT + ": " + _TAGS.get(sev, "") + line)
    except Exception:  # stderr closed or broken: nowhere left to say it
        pass


def setup(level_name="info", syslog=None):
    """Apply the config's log_level; syslog: the socket path of --syslog, or None for stderr."""
    global level, _syslog
    level = LEVELS.get(level_name, INFO)
    if _syslog is not None:
        _syslog.close()
        _syslog = None
    if syslog:
        try:
            from .syslog import Syslog  # loaded only with --syslog (routers): boards never pay for it
            _syslog = Syslog(syslog)
        except Exception as e:  # no unix sockets on this port, or a path too long: stderr it is
            to_stderr(WARNING, "log: cannot use syslog socket %s: %s: %s; logging to stderr"
                      % (syslog, type(e).__name__, e))
    return _syslog
