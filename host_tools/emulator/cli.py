"""`wanwatch-host emulate --profile NAME [--replay FILE] [--scenario FILE] --link PATH`."""
import argparse
import signal
import sys
import threading

from . import profiles
from .core import Emulator


def main(argv=None):
    ap = argparse.ArgumentParser(prog="wanwatch-host emulate", description=__doc__)
    ap.add_argument("--profile", default="generic", help="one of: " + ", ".join(sorted(profiles.PROFILES)))
    ap.add_argument("--replay", help="answer from a replay file (> COMMAND blocks)")
    ap.add_argument("--scenario", help="fault-injection scenario file")
    ap.add_argument("--link", help="make this path a symlink to the pty")
    args = ap.parse_args(argv)
    try:
        emu = Emulator(args.profile, replay=args.replay, scenario=args.scenario)
    except (ValueError, OSError) as e:
        print("wanwatch-host emulate: %s" % e, file=sys.stderr)
        return 2
    path = emu.start(link=args.link)
    print(path, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    signal.signal(signal.SIGINT, lambda *a: done.set())
    done.wait()
    emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
