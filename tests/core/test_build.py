"""Every firmware module compiles with mpy-cross 1.23 and the bundle imports under MicroPython."""
import os
import subprocess

from tests.conftest import run_micropython
from tests.support import paths


def test_mpy_cross_is_1_23():
    out = subprocess.run([paths.mpy_cross(), "--version"], capture_output=True, text=True).stdout
    assert "v1.23" in out, out


def test_every_module_compiles(mpy_bundle):
    from host_tools import build
    srcs = list(build.sources())
    assert len(srcs) > 10
    for rel in srcs:
        assert os.path.exists(os.path.join(mpy_bundle, rel[:-3] + ".mpy")), rel


def test_bundle_imports_under_micropython(mpy_bundle):
    from host_tools import build
    mods = []
    for rel in build.sources():
        mod = rel[:-3].replace("/", ".")
        if mod.endswith(".__init__"):
            mod = mod[:-9]
        if mod.endswith("__main__") or "board" in mod:
            continue
        mods.append(mod)
    code = "import sys\nfails=[]\nfor m in %r:\n    try:\n        __import__(m)\n    except Exception as e:\n        fails.append((m, repr(e)))\nprint('FAILS', fails)\n" % mods
    r = run_micropython(["-c", code], micropypath=mpy_bundle)
    assert r.returncode == 0, r.stderr
    assert "FAILS []" in r.stdout, r.stdout
