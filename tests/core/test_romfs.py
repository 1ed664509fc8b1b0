"""The ROMFS image of the bundle is a runnable agent: mounted with vfs.VfsRom under the real
micropython, the agent imports from /rom and completes a --once cycle, and its modules cost less heap
than the same modules loaded from files (the code is executed in place, not copied)."""
import json

from host_tools import build
from host_tools.emulator import Emulator
from host_tools.localbroker import free_port
from tests.conftest import run_micropython

MOUNT = ("import vfs, sys\nf = open(%r, 'rb'); img = f.read(); f.close()\n"
         "vfs.mount(vfs.VfsRom(img), '/rom')\nsys.path.insert(0, '/rom/lib')\n")

RESIDENT = ["wanwatch.modem.supervisor", "wanwatch.modem.vendors.generic", "wanwatch.modem.engine",
            "wanwatch.failover.monitor", "wanwatch.usage.tracker", "wanwatch.report.reporter"]
COST = ("import gc\ngc.collect()\na0 = gc.mem_alloc()\nfor m in %r:\n    __import__(m)\n"
        "gc.collect()\nprint('COST', gc.mem_alloc() - a0, sys.modules['wanwatch.modem.engine'].__file__)\n" % RESIDENT)


def test_image_holds_every_module_under_lib(mpy_bundle, tmp_path):
    img = str(tmp_path / "w.romfs")
    n = build.romfs_image(mpy_bundle, img)
    data = open(img, "rb").read()
    assert n == len(data) and data.startswith(b"\xd2\xcd\x31")
    code = MOUNT % img + "import os\nprint(sorted(os.listdir('/rom/lib/wanwatch/modem/vendors')))\n"
    r = run_micropython(["-c", code], micropypath=mpy_bundle)
    assert r.returncode == 0, r.stderr
    assert "'quectel.mpy'" in r.stdout and "'generic.mpy'" in r.stdout


def test_agent_runs_from_romfs_and_its_code_stays_out_of_the_heap(mpy_bundle, tmp_path):
    img = str(tmp_path / "w.romfs")
    build.romfs_image(mpy_bundle, img)
    empty = str(tmp_path / "nothing")  # nothing on the file path: every module must come from /rom
    (tmp_path / "nothing").mkdir()
    emu = Emulator(profile="quectel-ec25")
    tty = emu.start()
    try:
        cfg = tmp_path / "c.json"
        cfg.write_text(json.dumps({"device_id": "rom-1", "modem": {"port": tty, "vendor": "auto"},
                                   "links": [{"name": "wan", "device": "lo", "role": "primary"}],
                                   "mqtt": {"port": free_port()}, "state_dir": str(tmp_path / "s"),
                                   "run_dir": str(tmp_path / "r")}))
        code = MOUNT % img + "from wanwatch.cli import main\nprint('RC', main(['--config', %r, '--once']))\n" % str(cfg)
        r = run_micropython(["-c", code], micropypath=empty)
        assert "RC 0" in r.stdout, r.stdout + r.stderr
        doc = json.loads([l for l in r.stdout.splitlines() if l.startswith("{")][-1])
        assert doc["modem"]["imei"] == emu.expected()["imei"] and doc["modem"]["vendor"] == "quectel"
    finally:
        emu.stop()
    rom = run_micropython(["-c", MOUNT % img + COST], micropypath=empty)
    files = run_micropython(["-c", "import sys\n" + COST], micropypath=mpy_bundle)
    assert rom.returncode == 0 and files.returncode == 0, rom.stderr + files.stderr
    rom_cost, rom_file = rom.stdout.split()[1:3]
    file_cost, file_file = files.stdout.split()[1:3]
    assert rom_file.startswith("/rom/lib/") and not file_file.startswith("/rom")
    # bytecode, qstr text and constants stay in the image: at least a quarter less heap
    assert int(rom_cost) < 0.75 * int(file_cost), (rom_cost, file_cost)
