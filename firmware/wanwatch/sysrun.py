# sysrun.py: run short system commands (`ip ...`, `conntrack ...`, `ifup ...`) and read their
# output. MicroPython's unix port has os.system but no popen or subprocess, so output goes through
# a file. Callers build commands only from validated names and addresses (names.is_name,
# addr.is_ip), never from raw input.
#
# run() never blocks the event loop: the shell starts the command in the background and returns at
# once; completion is a status file written by that shell, polled every POLL_S. A hung `ip` or
# `ubus` therefore costs a timeout, never a stalled probe. output_lines() is the blocking form, kept
# for rare start-up reads (inventory) where a few milliseconds do not matter.
import os

from .compat import asyncio

POLL_S = 0.02
_seq = [0]
_tag = []  # per-process random tag: two agents sharing a tmpdir never share file names


def output_lines(cmd, tag, tmpdir="/tmp", system=None, max_lines=32):
    """Lines printed by `cmd` ([] when it fails). Blocking; `system` is injectable for tests."""
    run_ = system or os.system
    out = "%s/wanwatch-%s" % (tmpdir, tag)
    lines = []
    try:
        if run_("%s > %s 2>/dev/null" % (cmd, out)) == 0:
            lines = _read_lines(out, max_lines)
    except OSError:
        pass
    _remove(out)
    return lines


def _read_lines(path, max_lines):
    lines = []
    try:
        with open(path) as f:
            for line in f:
                lines.append(line.rstrip("\n"))
                if len(lines) >= max_lines:
                    break
    except OSError:
        pass
    return lines


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


async def run(cmd, tmpdir="/tmp", timeout=5.0, max_lines=32):
    """(rc, lines) of a shell command line run in the background; rc None on timeout (the
    command is then killed). `cmd` may hold several commands joined by ';' or newlines."""
    if not _tag:
        b = os.urandom(3)
        _tag.append("%02x%02x%02x" % (b[0], b[1], b[2]))
    _seq[0] = (_seq[0] + 1) % 100000
    base = "%s/wanwatch-run-%s-%d" % (tmpdir, _tag[0], _seq[0])
    out, rc_file, pid_file = base + ".out", base + ".rc", base + ".pid"
    for p in (out, rc_file, pid_file):
        _remove(p)
    script = base + ".sh"
    try:
        with open(script, "w") as f:
            f.write(cmd + "\n")
        # a background subshell runs the script, notes its pid (to kill it on timeout) and writes
        # its exit status atomically (tmp + mv: a half-written file is never read); os.system
        # returns as soon as that subshell is started
        os.system("(sh %s >%s 2>&1 </dev/null & echo $! >%s; wait $!; echo $? >%s.tmp; mv %s.tmp %s) "
                  ">/dev/null 2>&1 &" % (script, out, pid_file, rc_file, rc_file, rc_file))
    except OSError:
        _remove(script)
        return None, []
    waited = 0.0
    rc = None
    while waited < timeout:
        if _exists(rc_file):
            try:
                with open(rc_file) as f:
                    rc = int(f.read().strip() or "1")
            except (OSError, ValueError):
                rc = 1
            break
        await asyncio.sleep(POLL_S)
        waited += POLL_S
    if rc is None:
        pid = _read_lines(pid_file, 1)
        if pid and pid[0].isdigit():
            os.system("kill %s >/dev/null 2>&1" % pid[0])
            await asyncio.sleep(0.05)  # the subshell notes the killed status: remove that too
    lines = _read_lines(out, max_lines)
    for p in (out, rc_file, rc_file + ".tmp", pid_file, script):
        _remove(p)
    return rc, lines
