# cli.py: command line of the agent (argparse-free: MicroPython has none).
#   wanwatch --config FILE [--once]     run the agent (daemon), or one cycle printing status JSON
#   wanwatch --config FILE --check      validate the config and exit
#   ... --syslog SOCKET                 log lines go to that syslog socket with their priority (the
#                                       init script under procd: /dev/log); default: stderr
#   wanwatch --config FILE --print-config   the validated config as JSON, every default filled
#                                       in, secrets (mqtt.password, commands.key) masked
#   wanwatch --config FILE --release    remove the agent's routing (rules, tables): traffic falls
#                                       back to the main table (the init script's service_stopped);
#                                       and the budget policy's rate limit
#   wanwatch status [--json] [--run-dir DIR]   show the running agent's status (router / console)
#   wanwatch --version
# Exit codes: 0 ok, 1 runtime failure (e.g. modem port cannot be opened with --once), 2 usage/config.
import sys

from . import VERSION

USAGE = """usage: wanwatch --config FILE [--once | --check | --print-config | --release] [--syslog SOCKET]
       wanwatch status [--json] [--run-dir DIR]
       wanwatch --version"""


def _err(msg):
    sys.stderr.write(msg + "\n")


def parse_args(argv):
    opts = {"config": None, "once": False, "check": False, "print": False, "release": False, "syslog": None}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--config", "-c", "--syslog"):
            key = "syslog" if a == "--syslog" else "config"
            if i + 1 >= len(argv):
                raise ValueError("%s needs a %s" % (a, "socket path" if key == "syslog" else "file"))
            opts[key] = argv[i + 1]
            i += 2
            continue
        if a.startswith("--config="):
            opts["config"] = a[9:]
        elif a == "--once":
            opts["once"] = True
        elif a == "--check":
            opts["check"] = True
        elif a == "--print-config":
            opts["print"] = True
        elif a == "--release":
            opts["release"] = True
        else:
            raise ValueError("unknown argument %r" % a)
        i += 1
    if not opts["config"]:
        raise ValueError("--config FILE is required")
    return opts


# Needed only to read the config and build the parts: dropping them returns their code to the heap
# for the rest of the run. The validator goes as soon as the config is read; the areas' schemas
# once the parts are built (they take their defaults from them). reload_config imports config again.
VALIDATOR = ("wanwatch.config.uci", "wanwatch.config.schema", "wanwatch.config.error", "wanwatch.config",
             "wanwatch.features", "wanwatch.built")
STARTUP_ONLY = VALIDATOR + ("wanwatch.modem.schema", "wanwatch.failover.schema", "wanwatch.usage.schema",
                            "wanwatch.report.schema", "wanwatch.board")


def _forget_startup_modules(names=STARTUP_ONLY):
    import gc
    pkg = sys.modules.get("wanwatch")
    for name in names:
        sys.modules.pop(name, None)
        parent, leaf = name.rsplit(".", 1)
        try:  # the parent package keeps each imported submodule as an attribute too
            delattr(sys.modules.get(parent) or pkg, leaf)
        except (AttributeError, KeyError):  # MicroPython raises KeyError for a missing one
            pass
    gc.collect()


def _absent(area):
    """Why a command line use of an optional area fails in this build (features.py), or None."""
    from .features import need
    return need(area)


def _release(cfg):
    """Take the agent's routing away (it is stopped): the kernel's main table decides again; and
    the budget policy's rate limit, if one is in force (whether a budget is configured or not: it
    may have been removed from the config since)."""
    from . import store
    from .failover.actuator import make_actuator
    from .compat import asyncio
    store.makedirs(cfg["run_dir"])
    ok = asyncio.run(make_actuator(cfg).release())
    if cfg.get("actuator", "none") != "none" and not _absent("budget"):
        from .sysrun import run
        from .usage.budget import release_devices, clear_cmds
        rc, _ = asyncio.run(run("\n".join(clear_cmds(release_devices(cfg))), cfg["run_dir"], 5.0))
        ok = ok and rc == 0
    return 0 if ok else 1


def main(argv):
    if argv and argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    if argv and argv[0] == "--version":
        print("wanwatch", VERSION)
        return 0
    if argv and argv[0] == "status":
        why = _absent("table")
        if why:
            _err("wanwatch status: " + why)
            return 2
        from .report import table  # lazy: only the status command renders tables
        return table.main_status(argv[1:])
    try:
        opts = parse_args(argv)
    except ValueError as e:
        _err("wanwatch: %s\n%s" % (e, USAGE))
        return 2
    from . import config
    try:
        cfg = config.load(opts["config"])
    except config.ConfigError as e:
        _err(str(e))
        return 2
    if opts["check"]:
        print("config ok: %s" % opts["config"])
        return 0
    if opts["print"]:
        print(config.dump(cfg))
        return 0
    why = _absent("syslog") if opts["syslog"] else None
    if why:
        _err("wanwatch: --syslog: " + why)
        return 2
    from . import log
    log.setup(cfg["log_level"], opts["syslog"])
    if opts["release"]:
        return _release(cfg)
    del config
    _forget_startup_modules(VALIDATOR)  # the parts are built with less of the heap taken
    from .agent import Agent
    from .clock import Clock
    from .compat import asyncio
    agent = Agent(cfg, Clock(), config_path=opts["config"], once=opts["once"])
    _forget_startup_modules()
    if opts["once"]:
        return asyncio.run(agent.once())
    try:
        asyncio.run(agent.run())
    except KeyboardInterrupt:
        pass
    return 0
