"""wanwatch-host: one console script, one subcommand per host tool.

Subcommands are registered in SUBCOMMANDS as "module:function" and imported lazily, so a tool's
heavy dependencies load only when that tool runs.
"""
import importlib
import sys

SUBCOMMANDS = {
    "build": ("host_tools.build:main", "compile the firmware into the .mpy bundle"),
    "configdoc": ("host_tools.configdoc:main", "write the docs' config tables from the schema (--check, --uci)"),
    "emulate": ("host_tools.emulator.cli:main", "run the modem emulator on a pty"),
    "manifest": ("host_tools.manifest:main", "what a board's build ships (boards/<board>/manifest.py; --json)"),
    "package": ("host_tools.package:main", "build the OpenWrt .ipk"),
    "flash": ("host_tools.flash:main", "copy the .mpy bundle, board and config with mpremote"),
    "console": ("host_tools.console:main", "live status table from a device's serial console"),
    "sign": ("host_tools.sign:main", "sign a remote command for a device"),
    "fleet": ("host_tools.fleet.cli:main", "fleet watch / alerts / inventory / simulate"),
}


def usage():
    lines = ["usage: wanwatch-host <command> [args]", "", "commands:"]
    for name in sorted(SUBCOMMANDS):
        lines.append("  %-12s %s" % (name, SUBCOMMANDS[name][1]))
    return "\n".join(lines)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    name = argv.pop(0)
    if name not in SUBCOMMANDS:
        print("wanwatch-host: unknown command %r\n\n%s" % (name, usage()), file=sys.stderr)
        return 2
    modname, func = SUBCOMMANDS[name][0].split(":")
    rc = getattr(importlib.import_module(modname), func)(argv)
    return rc or 0


if __name__ == "__main__":
    sys.exit(main())
