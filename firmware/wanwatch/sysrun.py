# sysrun.py: run a short system command (`ip ...`) and read its output lines. MicroPython's unix
# port has os.system but no popen, so the output goes through a temp file. Callers build the
# command only from validated names (names.is_name); the output file name is fixed per tag.
import os


def output_lines(cmd, tag, tmpdir="/tmp", system=None, max_lines=32):
    """Lines printed by `cmd` ([] when it fails). `system` is injectable for tests."""
    run = system or os.system
    out = "%s/wanwatch-%s" % (tmpdir, tag)
    lines = []
    try:
        if run("%s > %s 2>/dev/null" % (cmd, out)) == 0:
            with open(out) as f:
                for line in f:
                    lines.append(line)
                    if len(lines) >= max_lines:
                        break
    except OSError:
        pass
    try:
        os.remove(out)
    except OSError:
        pass
    return lines
