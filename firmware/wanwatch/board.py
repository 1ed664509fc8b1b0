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


def load_board(name_or_path, extra_dirs=()):
    """A board by name (searched as find() does) or by the path of a board.json; None if absent.
    Paths are told apart by the .json suffix so a board name never doubles as a file name."""
    if name_or_path.endswith(".json"):
        try:
            with open(name_or_path) as f:
                doc = loads(f.read())
        except (OSError, ValueError):
            return None
        if not isinstance(doc, dict):
            return None
        i = name_or_path.rfind("/")
        doc["_dir"] = name_or_path[:i] if i > 0 else ("/" if i == 0 else ".")
        return doc
    return find(name_or_path, extra_dirs)
