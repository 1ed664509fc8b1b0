# board.py: board descriptions (boards/<name>/board.json, or /board.json on a flashed device) give
# a config its hardware defaults: modem port/vendor, links, actuator, pins. Board differences live in
# these files (and an optional board module with power_toggle()), not in `if board ==` in the core.
from .compat import loads

SEARCH = ("boards", "/usr/lib/wanwatch/boards", "/etc/wanwatch/boards", "")


def find(name, extra_dirs=()):
    """The parsed board.json for name, or None."""
    for d in tuple(extra_dirs) + SEARCH:
        for path in ((d + "/" if d else "") + name + "/board.json", (d + "/" if d else "") + "board.json"):
            try:
                with open(path) as f:
                    doc = loads(f.read())
            except (OSError, ValueError):
                continue
            if isinstance(doc, dict) and doc.get("name") == name:
                doc["_dir"] = path[:-len("board.json")].rstrip("/") or "."
                return doc
    return None


def apply_defaults(raw, board):
    """Fill what the config leaves out from the board: modem port/baud/vendor, links, actuator."""
    if not board:
        return raw
    m = raw.setdefault("modem", {})
    bm = board.get("modem") or {}
    for k in ("port", "baud", "vendor"):
        if k not in m and k in bm:
            m[k] = bm[k]
    if "links" not in raw and board.get("links"):
        raw["links"] = [dict(l) for l in board["links"]]
    if "actuator" not in raw and board.get("actuator") in ("openwrt", "linux-route", "none"):
        raw["actuator"] = board["actuator"]
    return raw


def hooks(board):
    """The board module's functions (power_toggle...) when the board has one; {} otherwise."""
    if not board or not board.get("module"):
        return {}
    import sys
    d = board.get("_dir", ".")
    if d not in sys.path:
        sys.path.append(d)
    try:
        mod = __import__(board["module"][:-3] if board["module"].endswith(".py") else board["module"])
    except ImportError:
        return {}
    out = {}
    for name in ("power_toggle", "open_uart"):
        if hasattr(mod, name):
            out[name] = getattr(mod, name)
    return out
