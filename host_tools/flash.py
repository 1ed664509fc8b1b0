"""`make flash BOARD=... PORT=...` / `wanwatch-host flash`: copy the .mpy bundle, the board
description and the config to a MicroPython board with mpremote, idempotently: the device's SHA-256
of every target file is read in one round trip and only changed files are copied.

What is copied comes from the board's manifest (boards/<board>/manifest.py, host_tools/manifest.py):
its modules, compiled, and its hardware files. Layout on the device: /lib/wanwatch/**.mpy,
/board.json (+ board module), /wanwatch.json.
With --romfs the bundle goes into the ROMFS partition instead (MicroPython >= 1.25 boards mount it
at /rom; /rom/lib/wanwatch/**.mpy): code then runs in place from flash, so the heap only holds the
agent's objects (docs/footprint.md has the figures).
PORT is anything mpremote accepts: /dev/ttyUSB0, socket://127.0.0.1:PORT, rfc2217://...
"""
import argparse
import hashlib
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def mpremote():
    here = os.path.join(os.path.dirname(sys.executable), "mpremote")
    return here if os.path.exists(here) else "mpremote"


def bundle_files(bundle, prefix="lib/"):
    """[(local path, device path)] of the .mpy bundle under prefix."""
    files = []
    for dirpath, dirnames, filenames in os.walk(bundle):
        dirnames.sort()
        for f in sorted(filenames):
            p = os.path.join(dirpath, f)
            files.append((p, prefix + os.path.relpath(p, bundle).replace(os.sep, "/")))
    return files


def fresh_bundle(board=None):
    """The board's build (its manifest's modules) in a fresh directory; every module without a board."""
    from host_tools import build
    bundle = os.path.join(tempfile.mkdtemp(prefix="wanwatch-flash-"), "lib")
    build.build(bundle, quiet=True, board=board)
    return bundle


def board_manifest(board):
    from host_tools import manifest
    try:
        return manifest.load(board)
    except manifest.ManifestError as e:
        raise SystemExit(str(e))


def plan(board, config=None, bundle=None, romfs=False):
    """[(local path, device path)] of everything a flash copies as files (with romfs the bundle
    goes into the ROM partition instead and is not in this list)."""
    m = board_manifest(board)
    if bundle is None:
        bundle = fresh_bundle(board)
    files = [] if romfs else bundle_files(bundle)
    files.extend(m.hardware_files)  # board.json (+ its board module), as the manifest's hardware() says
    if config:
        files.append((config, "wanwatch.json"))
    return files


def _run(port, args, check=True):
    r = subprocess.run([mpremote(), "connect", port] + args, capture_output=True, text=True, timeout=300)
    if check and r.returncode != 0:
        raise RuntimeError("mpremote %s failed: %s" % (" ".join(args[:3]), (r.stderr or r.stdout).strip()[-400:]))
    return r.stdout


HASH_SCRIPT = """
import hashlib, binascii
for p in %r:
    try:
        h = hashlib.sha256()
        with open(p, 'rb') as f:
            while True:
                b = f.read(512)
                if not b:
                    break
                h.update(b)
        print('H', p, binascii.hexlify(h.digest()).decode())
    except OSError:
        print('H', p, '-')
"""


def remote_hashes(port, paths):
    out = _run(port, ["resume", "exec", HASH_SCRIPT % (list(paths),)])
    hashes = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "H":
            hashes[parts[1]] = None if parts[2] == "-" else parts[2]
    return hashes


def local_hash(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def deploy_romfs(port, bundle, dry_run=False, out=sys.stdout):
    """Put the bundle into the board's ROMFS partition (MicroPython >= 1.25: code then runs in
    place from flash, the heap holds only objects). Skipped when /rom already holds this bundle."""
    mods = bundle_files(bundle, prefix="/rom/lib/")
    have = remote_hashes(port, [d for _, d in mods])
    if all(have.get(d) == local_hash(l) for l, d in mods):
        out.write("ROMFS already holds this bundle\n")
        return False
    from host_tools import build
    image = os.path.join(os.path.dirname(bundle), "wanwatch.romfs")
    n = build.romfs_image(bundle, image)
    out.write("%s ROMFS image (%d bytes)\n" % ("would deploy" if dry_run else "deploy", n))
    if not dry_run:
        _run(port, ["resume", "romfs", "deploy", image])
    return True


def flash(port, board, config=None, dry_run=False, out=sys.stdout, bundle=None, romfs=False):
    if bundle is None:
        bundle = fresh_bundle(board)
    files = plan(board, config, bundle, romfs=romfs)
    if romfs:
        deploy_romfs(port, bundle, dry_run, out)
    have = remote_hashes(port, [d for _, d in files])
    todo = [(l, d) for l, d in files if have.get(d) != local_hash(l)]
    dirs = sorted({d.rsplit("/", 1)[0] for _, d in todo if "/" in d})
    for l, d in todo:
        out.write("%s %s\n" % ("would copy" if dry_run else "copy", d))
    out.write("%d of %d files %s\n" % (len(todo), len(files), "to copy" if dry_run else "copied"))
    if dry_run or not todo:
        return todo
    mk = "import os\nfor d in %r:\n    p = ''\n    for part in d.split('/'):\n        p = p + '/' + part if p else part\n        try:\n            os.mkdir(p)\n        except OSError:\n            pass\n" % (dirs,)
    _run(port, ["resume", "exec", mk])
    args = []
    for l, d in todo:
        args += ["resume", "fs", "cp", l, ":" + d, "+"]
    # chunks keep the command line and one connection's work bounded
    step = 60
    for i in range(0, len(args), step):
        chunk = args[i:i + step]
        if chunk[-1] == "+":
            chunk = chunk[:-1]
        _run(port, chunk)
    return todo


def main(argv=None):
    ap = argparse.ArgumentParser(prog="wanwatch-host flash", description=__doc__)
    ap.add_argument("--board", required=True)
    ap.add_argument("--port", required=True)
    ap.add_argument("--config", help="config JSON to install as /wanwatch.json")
    ap.add_argument("--dry-run", action="store_true")
    ap.add_argument("--romfs", action="store_true",
                    help="put the bundle into the board's ROMFS partition (MicroPython >= 1.25): "
                         "code runs from flash, leaving the heap to the agent's objects")
    args = ap.parse_args(argv)
    try:
        flash(args.port, args.board, args.config, args.dry_run, romfs=args.romfs)
    except RuntimeError as e:
        print("wanwatch-host flash: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
