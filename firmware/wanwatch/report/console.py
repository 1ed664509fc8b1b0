# console.py: the technician's line console on a board's UART (and `status()` at the REPL).
# Commands: `status` (the 80-column table), `status --json` (one JSON line, what
# `wanwatch-host console` reads), `events`, `help`. `wanwatch status ...` is accepted too, so the
# host tool speaks the same words to a router's shell and to a board.
from .. import log
from ..compat import asyncio, dumps, exc_text

HELP = "commands: status [--json] | events | help"
_agent = None  # set by the agent on boards so the REPL's status() sees the live state
_log = log.Logger("console")


def handle(line, get_status, get_events=None):
    """Reply text for one console line (pure)."""
    words = line.strip().split()
    if words and words[0] == "wanwatch":
        words = words[1:]
    if not words:
        return ""
    cmd, args = words[0], words[1:]
    if cmd == "status":
        st = get_status()
        if "--json" in args:
            return dumps(st)
        from .table import render
        return render(st, get_events() if get_events else None)
    if cmd == "events":
        evs = get_events() if get_events else []
        return "\n".join(dumps(e) for e in evs) or "(no events yet)"
    if cmd in ("help", "?"):
        return HELP
    return "unknown command %r; %s" % (cmd, HELP)


def status():
    """At the REPL of a board running the agent: print the live status table."""
    if _agent is None:
        print("wanwatch is not running in this interpreter")
        return
    print(handle("status", _agent.status, lambda: _agent.events.recent))


class LineConsole:
    """Reads lines from a stream (the UART / stdin) and answers on stdout; bounded line length."""

    MAX_LINE = 128

    def __init__(self, get_status, get_events=None, stream=None):
        self.get_status = get_status
        self.get_events = get_events
        self.stream = stream

    async def run(self):
        import sys
        reader = asyncio.StreamReader(self.stream or sys.stdin)
        while True:
            try:
                raw = await reader.readline()
            except Exception as e:
                _log.warning(exc_text(e))
                await asyncio.sleep(5)
                continue
            if not raw:
                await asyncio.sleep(1)  # stdin closed (daemon): stay quiet
                continue
            line = raw[:self.MAX_LINE].decode() if isinstance(raw, bytes) else raw[:self.MAX_LINE]
            out = handle(line, self.get_status, self.get_events)
            if out:
                print(out)
