"""One run per emulator profile of the real agent under MicroPython (`micropython -m wanwatch --once`,
the .mpy bundle): the printed status document carries what the profile's expected() says."""
import json

import pytest

from host_tools.emulator import Emulator
from host_tools.emulator.profiles import PROFILES
from host_tools.localbroker import free_port
from tests.conftest import run_micropython
from tests.modem.test_profiles_once import check


def site(tmp_path, tty):
    cfg = {"device_id": "modem-once", "modem": {"port": tty, "vendor": "auto", "poll_s": 2},
           "links": [{"name": "wan", "device": "lo", "role": "primary", "targets": ["127.0.0.1"]}],
           "mqtt": {"host": "127.0.0.1", "port": free_port()},
           "state_dir": str(tmp_path / "flash"), "run_dir": str(tmp_path / "run")}
    p = tmp_path / "site.json"
    p.write_text(json.dumps(cfg))
    return str(p)


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_micropython_once(tmp_path, name, mpy_bundle):
    emu = Emulator(profile=name)
    tty = emu.start()
    try:
        r = run_micropython(["-m", "wanwatch", "--config", site(tmp_path, tty), "--once"], micropypath=mpy_bundle,
                            timeout=60)
        assert r.returncode == 0, r.stderr + r.stdout
        doc = json.loads(r.stdout.strip().splitlines()[-1])
        assert doc["modem"]["state"] == "ready" and doc["sim"]["state"] == "ready"
        check(doc, emu.expected())
    finally:
        emu.stop()
