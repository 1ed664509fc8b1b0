"""Flashing a (virtual) MicroPython board with mpremote: files land, a second flash copies nothing,
and the agent runs on the board from the flashed files."""
import io
import json
import os
import subprocess

import pytest

from host_tools import flash
from host_tools.emulator import Emulator
from host_tools.vboard import VirtualBoard


@pytest.fixture
def board(tmp_path):
    b = VirtualBoard(str(tmp_path / "fs"))
    port = b.start()
    yield b, port
    b.stop()


def test_flash_idempotent_and_agent_runs_on_board(board, tmp_path, broker):
    b, port = board
    emu = Emulator(profile="quectel-ec25")
    tty = emu.start(link=str(tmp_path / "ttyMODEM"))
    cfg = tmp_path / "site.json"
    cfg.write_text(json.dumps({
        "device_id": "vboard-1", "board": "esp32-simcom",
        "modem": {"port": tty, "vendor": "auto"},
        "links": [{"name": "wifi", "device": "lo", "role": "primary"}],
        "mqtt": {"host": "127.0.0.1", "port": broker.port},
        "state_dir": str(tmp_path / "fs" / "state"), "run_dir": str(tmp_path / "fs" / "run")}))
    from host_tools import build
    bundle = str(tmp_path / "bundle" / "lib")
    build.build(bundle, quiet=True)
    try:
        out = io.StringIO()
        copied = flash.flash(port, "esp32-simcom", str(cfg), out=out, bundle=bundle)
        assert len(copied) > 20, out.getvalue()
        fs = tmp_path / "fs"
        assert (fs / "lib/wanwatch/agent.mpy").exists() and (fs / "board.json").exists()
        assert (fs / "board.py").exists() and json.loads((fs / "wanwatch.json").read_text())["device_id"] == "vboard-1"
        out2 = io.StringIO()
        assert flash.flash(port, "esp32-simcom", str(cfg), out=out2, bundle=bundle) == []
        assert "0 of" in out2.getvalue()
        (fs / "lib/wanwatch/report/status.mpy").write_bytes(b"corrupt")  # one changed file is copied again
        assert [d for _, d in flash.flash(port, "esp32-simcom", str(cfg), out=io.StringIO(), bundle=bundle)] == ["lib/wanwatch/report/status.mpy"]
        # run the flashed agent on the board (one cycle) through mpremote
        code = ("from wanwatch.cli import main\n"
                "rc = main(['--config', 'wanwatch.json', '--once'])\nprint('RC', rc)\n")
        r = subprocess.run([flash.mpremote(), "connect", port, "resume", "exec", code], capture_output=True,
                           text=True, timeout=90)
        assert "RC 0" in r.stdout, r.stdout + r.stderr
        doc = json.loads([l for l in r.stdout.splitlines() if l.startswith("{")][-1])
        assert doc["device_id"] == "vboard-1" and doc["modem"]["imei"] == emu.expected()["imei"]
    finally:
        emu.stop()


def test_dry_run_lists_without_copying(board, tmp_path):
    b, port = board
    out = io.StringIO()
    todo = flash.flash(port, "openwrt-quectel", None, dry_run=True, out=out)
    assert todo and "would copy board.json" in out.getvalue()
    assert not (tmp_path / "fs" / "board.json").exists()


def test_unknown_board():
    with pytest.raises(SystemExit, match="unknown board"):
        flash.plan("toaster")


def test_romfs_needs_a_rom_partition_and_changes_nothing_without_one(board, tmp_path):
    """The unix port (the virtual board) has no ROM partition: --romfs stops with mpremote's reason
    before any file is copied."""
    b, port = board
    with pytest.raises(RuntimeError, match="ROMFS is not enabled"):
        flash.flash(port, "esp32-simcom", None, out=io.StringIO(), romfs=True)
    assert not (tmp_path / "fs" / "board.json").exists() and not (tmp_path / "fs" / "lib").exists()


def test_romfs_plan_leaves_the_bundle_out_of_the_file_copy(tmp_path):
    from host_tools import build
    bundle = str(tmp_path / "lib")
    build.build(bundle, quiet=True)
    with_files = [d for _, d in flash.plan("esp32-simcom", None, bundle)]
    rom = [d for _, d in flash.plan("esp32-simcom", None, bundle, romfs=True)]
    assert "lib/wanwatch/agent.mpy" in with_files and rom == ["board.json", "board.py"]
