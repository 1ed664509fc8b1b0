"""Board manifests: boards/<board>/manifest.py says what a board's build ships, the way
micropython-lib's manifest.py does. `make build`, the flash plan, `make package` and the OpenWrt
feed recipe (Build/Prepare) all take their module list from here.

A manifest is Python run with these functions (and nothing else imported):
  metadata(description=, platform=)  what the board is ("openwrt", "esp32", ...)
  package("wanwatch")                the core: every firmware module that is neither an optional
                                     area's nor a vendor driver's (firmware/wanwatch/features.py)
  require(area, ...)                 optional areas (features.AREAS), with the areas they need
  vendor(name, ...)                  modem vendor drivers (modem/vendors/NAMES; generic always)
  module(path)                       one more firmware module (path under firmware/wanwatch/)
  include(path)                      another manifest, relative to this one
  hardware(board_json, module=None)  the board description (and its board module) a flash copies;
                                     module defaults to the description's "module"
Paths are relative to the manifest's folder. The build writes wanwatch/built.py (BOARD, AREAS,
VENDORS) into the bundle: the agent's config check says which key needs what the build left out.

Stdlib only, so the OpenWrt SDK can run it as a plain script:
  python3 host_tools/manifest.py BOARD [--json | --files | --copy DIR]
(also `wanwatch-host manifest BOARD ...`).
"""
import argparse
import ast
import json
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
PKG = os.path.join(FIRMWARE, "wanwatch")
BOARDS = os.path.join(ROOT, "boards")


class ManifestError(Exception):
    pass


def _constant(path, name):
    """The literal value of a module-level NAME = ... in a firmware source (read, never imported:
    the firmware is MicroPython code)."""
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise ManifestError("%s: no %s" % (path, name))


def areas():
    """{area: (modules, areas it needs, what it is)} from firmware/wanwatch/features.py."""
    return dict((a[0], (a[1], a[2], a[3])) for a in _constant(os.path.join(PKG, "features.py"), "AREAS"))


def vendors():
    return _constant(os.path.join(PKG, "modem", "vendors", "__init__.py"), "NAMES")


def vendor_module(name):
    return "modem/vendors/%s.py" % name


def sources():
    """Every firmware module, as paths under firmware/wanwatch/ ("agent.py", "modem/engine.py")."""
    out = []
    for dirpath, dirnames, filenames in os.walk(PKG):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for f in sorted(filenames):
            if f.endswith(".py"):
                out.append(os.path.relpath(os.path.join(dirpath, f), PKG).replace(os.sep, "/"))
    return out


def core():
    """The modules every build ships: all but the optional areas' and the vendor drivers' (the
    generic driver is the core's fallback)."""
    optional = set()
    for mods, _, _ in areas().values():
        optional.update(mods)
    for v in vendors():
        if v != "generic":
            optional.add(vendor_module(v))
    return [m for m in sources() if m not in optional]


class Manifest:
    def __init__(self, board, path):
        self.board = board
        self.path = path
        self.description = ""
        self.platform = ""
        self.core = False
        self.areas = set()
        self.vendors = {"generic"}
        self.extra = []
        self.hardware_files = []  # [(local path, device path)]
        self._dirs = []
        self._seen = set()

    # --- the functions a manifest calls ---------------------------------------------------------
    def _here(self, p):
        return os.path.normpath(os.path.join(self._dirs[-1], p))

    def metadata(self, description="", platform=""):
        self.description = description or self.description
        self.platform = platform or self.platform

    def package(self, name="wanwatch"):
        if name != "wanwatch":
            raise ManifestError("%s: package(%r): the only package is 'wanwatch' (the core)" % (self.path, name))
        self.core = True

    def require(self, *names):
        known = areas()
        for n in names:
            if n not in known:
                raise ManifestError("%s: require(%r): no such area (features.AREAS: %s)"
                                    % (self.path, n, ", ".join(sorted(known))))
            if n not in self.areas:
                self.areas.add(n)
                self.require(*known[n][1])

    def vendor(self, *names):
        known = vendors()
        for n in names:
            if n not in known:
                raise ManifestError("%s: vendor(%r): no such driver (%s)" % (self.path, n, ", ".join(known)))
            self.vendors.add(n)

    def module(self, path):
        if not os.path.isfile(os.path.join(PKG, path)):
            raise ManifestError("%s: module(%r): no firmware/wanwatch/%s" % (self.path, path, path))
        if path not in self.extra:
            self.extra.append(path)

    def include(self, path):
        self._run(self._here(path))

    def hardware(self, board_json="board.json", module=None):
        bj = self._here(board_json)
        if not os.path.isfile(bj):
            raise ManifestError("%s: hardware(%r): no such file" % (self.path, board_json))
        with open(bj) as f:
            desc = json.load(f)
        files = [(bj, "board.json")]
        mod = module or desc.get("module")
        if mod:
            local = self._here(module) if module else os.path.join(os.path.dirname(bj), mod)
            files.append((local, os.path.basename(local)))
        self.hardware_files = files

    # --- evaluation -----------------------------------------------------------------------------
    def _run(self, path):
        if path in self._seen:
            raise ManifestError("%s: included twice (an include loop?)" % path)
        self._seen.add(path)
        with open(path) as f:
            code = compile(f.read(), path, "exec")
        self._dirs.append(os.path.dirname(path))
        env = {"__builtins__": {}, "metadata": self.metadata, "package": self.package, "require": self.require,
               "vendor": self.vendor, "module": self.module, "include": self.include, "hardware": self.hardware}
        try:
            exec(code, env)
        finally:
            self._dirs.pop()

    # --- what the build takes -----------------------------------------------------------------
    def modules(self):
        """Paths under firmware/wanwatch/ of the modules this board ships, sorted."""
        if not self.core:
            raise ManifestError("%s: does not call package('wanwatch') (the core)" % self.path)
        want = set(core())
        known = areas()
        for a in self.areas:
            want.update(known[a][0])
        for v in self.vendors:
            want.add(vendor_module(v))
        want.update(self.extra)
        return sorted(want)

    def built_py(self):
        """wanwatch/built.py of the bundle: what this build holds (features.py reads it)."""
        return ("# written by host_tools/build.py from boards/%s/manifest.py: what this build holds\n"
                "BOARD = %r\nAREAS = %r\nVENDORS = %r\n"
                % (self.board, self.board, tuple(sorted(self.areas)), tuple(sorted(self.vendors))))

    def as_dict(self):
        return {"board": self.board, "manifest": os.path.relpath(self.path, ROOT), "description": self.description,
                "platform": self.platform, "areas": sorted(self.areas), "vendors": sorted(self.vendors),
                "modules": self.modules(),
                "hardware": [[os.path.relpath(l, ROOT), d] for l, d in self.hardware_files]}


def _modname(rel):
    parts = ["wanwatch"] + rel[:-3].split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_imports(tree):
    """Import nodes that run at import time: module level, inside if/try/with, not in a def or a
    class, and not in except handlers (those are fallbacks, e.g. `except ImportError`)."""
    out = []
    todo = list(tree.body)
    while todo:
        n = todo.pop(0)
        if isinstance(n, (ast.Import, ast.ImportFrom)):
            out.append(n)
        elif isinstance(n, (ast.If, ast.Try, ast.With)):
            for field in ("body", "orelse", "finalbody"):
                todo.extend(getattr(n, field, []) or [])
    return out


def unresolved(modules):
    """[(module, firmware module it imports at import time)] for imports the module set does not
    hold: empty when the set is import-closed. Imports guarded by `except ImportError` count as
    optional (the forecast); lazy imports inside functions are the config check's business."""
    have = dict((_modname(rel), rel) for rel in modules)
    every = set(_modname(rel) for rel in sources())
    bad = []
    for rel in modules:
        name = _modname(rel)
        pkg = name if rel.endswith("__init__.py") else name.rpartition(".")[0]
        with open(os.path.join(PKG, rel)) as f:
            tree = ast.parse(f.read(), rel)
        guarded = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Try) and any(
                    isinstance(h.type, ast.Name) and h.type.id == "ImportError" for h in node.handlers):
                for x in node.body:
                    guarded.add(id(x))
        for n in top_imports(tree):
            if id(n) in guarded:
                continue
            targets = []
            if isinstance(n, ast.Import):
                targets = [a.name for a in n.names]
            else:
                if n.level:
                    base = pkg.split(".")
                    base = ".".join(base[:len(base) - (n.level - 1)])
                    mod = base + ("." + n.module if n.module else "")
                else:
                    mod = n.module or ""
                targets = [mod] + [mod + "." + a.name for a in n.names if mod + "." + a.name in every]
            for t in targets:
                if t in every and t not in have:
                    bad.append((rel, t))
    return bad


def boards():
    """Names of the boards that have a manifest."""
    return sorted(b for b in os.listdir(BOARDS) if os.path.isfile(os.path.join(BOARDS, b, "manifest.py")))


def load(board):
    path = os.path.join(BOARDS, board, "manifest.py")
    if not os.path.isfile(path):
        raise ManifestError("unknown board %r: no boards/%s/manifest.py (boards: %s)" % (board, board, ", ".join(boards())))
    m = Manifest(board, path)
    m._run(path)
    gaps = unresolved(m.modules())  # a manifest without the core fails here too, not in the build
    if gaps:
        raise ManifestError("%s: not import-closed: %s" % (
            m.path, "; ".join("%s imports %s" % g for g in gaps[:5])))
    return m


def copy_sources(m, dest):
    """The board's firmware sources (.py) and its built.py into dest/wanwatch/ (the OpenWrt recipe's
    Build/Prepare: the SDK compiles them itself)."""
    pkg = os.path.join(dest, "wanwatch")
    if os.path.isdir(pkg):
        shutil.rmtree(pkg)
    for rel in m.modules():
        dst = os.path.join(pkg, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(os.path.join(PKG, rel), dst)
    with open(os.path.join(pkg, "built.py"), "w") as f:
        f.write(m.built_py())
    return pkg


def main(argv=None):
    ap = argparse.ArgumentParser(prog="wanwatch-host manifest", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("board", nargs="?", help="board name (boards/<board>/manifest.py); none: list the boards")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true", help="the evaluated manifest as JSON")
    g.add_argument("--files", action="store_true", help="the module paths, one a line")
    g.add_argument("--copy", metavar="DIR", help="copy the board's sources and built.py into DIR/wanwatch/")
    args = ap.parse_args(argv)
    if not args.board:
        print("\n".join(boards()))
        return 0
    try:
        m = load(args.board)
        if args.json:
            print(json.dumps(m.as_dict(), indent=2))
        elif args.files:
            print("\n".join(m.modules()))
        elif args.copy:
            pkg = copy_sources(m, args.copy)
            print("%s: %d modules into %s" % (m.board, len(m.modules()), pkg))
        else:
            mods = m.modules()
            print("%s: %s" % (m.board, m.description))
            print("  platform %s; %d modules (core %d)" % (m.platform or "-", len(mods), len(core())))
            print("  areas:   %s" % (", ".join(sorted(m.areas)) or "none"))
            print("  vendors: %s" % ", ".join(sorted(m.vendors)))
            print("  hardware: %s" % ", ".join(d for _, d in m.hardware_files))
    except (ManifestError, OSError, SyntaxError) as e:
        print("wanwatch-host manifest: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
