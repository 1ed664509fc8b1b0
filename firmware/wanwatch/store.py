# store.py: small atomic files (temp + rename) for state that must survive a kill at any instant.
import os

from .compat import dumps, loads


def atomic_write(path, data):
    """Write bytes/str to path atomically: a reader sees the old or the new file, never a torn one."""
    if isinstance(data, str):
        data = data.encode()
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        try:
            f.flush()
            os.fsync(f.fileno())  # CPython; MicroPython's unix port has no os.fsync
        except (AttributeError, OSError):
            pass
    os.rename(tmp, path)


def write_json(path, obj):
    atomic_write(path, dumps(obj))


def read_json(path, default=None):
    """Parsed JSON from path, or default when the file is missing or unreadable (never raises)."""
    try:
        with open(path, "rb") as f:
            return loads(f.read())
    except (OSError, ValueError):
        return default


def makedirs(path):
    """mkdir -p (MicroPython's os has no makedirs)."""
    if not path:
        return
    parts = path.split("/")
    cur = "/" if path.startswith("/") else ""
    for p in parts:
        if not p:
            continue
        cur = cur + p if cur.endswith("/") or not cur else cur + "/" + p
        try:
            os.mkdir(cur)
        except OSError:
            pass
