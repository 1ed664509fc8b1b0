"""`make package`: build the OpenWrt package wanwatch_<version>_all.ipk in pure Python.

An .ipk (OpenWrt's ipkg-build) is a gzip-compressed tar holding ./debian-binary ("2.0\\n"),
./control.tar.gz (control, conffiles, postinst, prerm) and ./data.tar.gz (the target filesystem:
openwrt/wanwatch/files/ plus the .mpy bundle under /usr/lib/wanwatch: the modules of the board's
manifest, boards/<board>/manifest.py, default openwrt-quectel: the full agent). Owners are numeric 0/0,
entries sorted and mtimes fixed, so the same sources give the same bytes.
"""
import argparse
import gzip
import io
import os
import sys
import tarfile
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = os.path.join(ROOT, "openwrt", "wanwatch", "files")
MTIME = 1700000000  # fixed: reproducible packages
DEFAULT_BOARD = "openwrt-quectel"  # the recipe's WANWATCH_BOARD default too (openwrt/wanwatch/Makefile)
CONFFILES = ["/etc/config/wanwatch"]

POSTINST = """#!/bin/sh
# enable and start the service on a live system, not while building an image
[ -n "$IPKG_INSTROOT" ] && exit 0
/etc/init.d/wanwatch enable
/etc/init.d/wanwatch restart
exit 0
"""
PRERM = """#!/bin/sh
[ -n "$IPKG_INSTROOT" ] && exit 0
/etc/init.d/wanwatch stop
/etc/init.d/wanwatch disable
exit 0
"""


def version():
    sys.path.insert(0, os.path.join(ROOT, "firmware"))
    from wanwatch import VERSION
    return VERSION


def _tar(entries):
    """entries: [(arcname, bytes or None for a dir, mode)] -> gzip tar bytes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, data, mode in sorted(entries, key=lambda e: e[0]):
            ti = tarfile.TarInfo(name)
            ti.mtime = MTIME
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = "root"
            ti.mode = mode
            if data is None:
                ti.type = tarfile.DIRTYPE
                t.addfile(ti)
            else:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=MTIME) as g:
        g.write(raw.getvalue())
    return out.getvalue()


def _tree(src, prefix):
    entries = []
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        rel = os.path.relpath(dirpath, src)
        arc = "./" + prefix + ("" if rel == "." else rel + "/")
        if arc != "./":
            entries.append((arc.rstrip("/") + "/", None, 0o755))
        for f in sorted(filenames):
            p = os.path.join(dirpath, f)
            with open(p, "rb") as fh:
                data = fh.read()
            mode = 0o755 if os.access(p, os.X_OK) else 0o644
            entries.append((arc + f, data, mode))
    return entries


def build(out_dir=None, board=DEFAULT_BOARD):
    from host_tools import build as mpybuild
    out_dir = out_dir or os.path.join(ROOT, "build")
    ver = version()
    with tempfile.TemporaryDirectory() as tmp:
        bundle = os.path.join(tmp, "usr", "lib", "wanwatch")
        mpybuild.build(bundle, quiet=True, board=board)
        data_entries = _tree(FILES, "") + [("./usr/lib/", None, 0o755)] + _tree(os.path.join(tmp, "usr", "lib"), "usr/lib/")
    # de-duplicate directory entries that both trees carry
    seen = {}
    for e in data_entries:
        seen[e[0]] = e
    data_entries = list(seen.values())
    installed = sum(len(d) for _, d, _ in data_entries if d)
    control = "\n".join([
        "Package: wanwatch",
        "Version: %s" % ver,
        "Depends: libc, micropython, ip-full, conntrack, tc-tiny, kmod-sched-core",
        "Source: https://example.invalid/wanwatch",
        "SourceName: wanwatch",
        "License: MIT",
        "Section: net",
        "Architecture: all",
        "Installed-Size: %d" % installed,
        "Description: LTE backup watchdog: fast failover to the LTE backup, data-cap tracking, MQTT reports",
        "",
    ]).encode()
    ctl = _tar([("./", None, 0o755), ("./control", control, 0o644),
                ("./conffiles", ("\n".join(CONFFILES) + "\n").encode(), 0o644),
                ("./postinst", POSTINST.encode(), 0o755), ("./prerm", PRERM.encode(), 0o755)])
    data = _tar(data_entries)
    outer = _tar([("./debian-binary", b"2.0\n", 0o644), ("./control.tar.gz", ctl, 0o644),
                  ("./data.tar.gz", data, 0o644)])
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "wanwatch_%s_all.ipk" % ver)
    with open(path, "wb") as f:
        f.write(outer)
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(prog="wanwatch-host package", description=__doc__)
    ap.add_argument("--out", help="output directory (default build/)")
    ap.add_argument("--board", default=DEFAULT_BOARD, help="the board manifest whose modules it ships (default %(default)s)")
    args = ap.parse_args(argv)
    try:
        path = build(args.out, args.board)
    except RuntimeError as e:
        print("wanwatch-host package: %s" % e, file=sys.stderr)
        return 1
    print("built %s (%d bytes)" % (os.path.relpath(path, ROOT), os.path.getsize(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
