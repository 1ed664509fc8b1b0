"""One refreshed screen for the host's live views (console, demo, fleet watch): on a terminal the
screen is cleared and redrawn in place; piped to a file or a log, each frame follows the last."""
import sys


def redraw(text, out=None):
    out = out or sys.stdout
    out.write(("\x1b[2J\x1b[H" if out.isatty() else "\n") + text + "\n")
    out.flush()
