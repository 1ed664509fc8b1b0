"""`--once` against a replay file prints the right JSON; the emulator CLI lifecycle."""
import json
import os
import signal
import subprocess
import sys
import time

from host_tools.emulator import Emulator
from host_tools.emulator.replay import parse_replay
from tests.conftest import run_micropython
from tests.support import paths

REPLAY = os.path.join(paths.DATA, "replay", "air724ug_generic.replay")


def test_replay_format():
    blocks = parse_replay("# c\n> AT+CSQ\n\n+CSQ: 1,2\n\nOK\n> AT\nOK\n> AT+CSQ\n+CSQ: 3,4\nOK\n")
    assert blocks["AT+CSQ"][0] == ["", "+CSQ: 1,2", "", "OK"] and blocks["AT+CSQ"][1] == ["+CSQ: 3,4", "OK"]
    assert blocks["AT"] == [["OK"]]


def test_once_against_replay(tmp_path):
    emu = Emulator(replay=REPLAY)
    tty = emu.start(link=str(tmp_path / "tty"))
    try:
        cfg = tmp_path / "c.json"
        cfg.write_text(json.dumps({"device_id": "replay-1", "modem": {"port": tty, "vendor": "generic"},
                                   "links": [{"name": "wan", "device": "lo", "role": "primary"}],
                                   "mqtt": {"port": 1}, "state_dir": str(tmp_path / "s"), "run_dir": str(tmp_path / "r")}))
        r = run_micropython(["-m", "wanwatch", "--config", str(cfg), "--once"])
        assert r.returncode == 0, r.stderr
        d = json.loads(r.stdout.strip().splitlines()[-1])
        assert d["modem"]["model"] == "Air724UG" and d["modem"]["imei"] == "861234050000001"
        assert d["sim"] == {"state": "ready", "iccid": "89860000000000000001", "imsi": "460001234567890"}
        assert d["network"]["mcc"] == "460" and d["network"]["mnc"] == "11" and d["network"]["registration"] == "home"
        s = d["signal"]
        # CSQ 27 -> -113+54; CESQ rsrq 19 -> -10.5 dB, rsrp 51 -> -90 dBm; CEREG tac/ci hex
        assert (s["csq"], s["rssi_dbm"], s["rsrq_db"], s["rsrp_dbm"]) == (27, -59, -10.5, -90)
        assert s["tac"] == 0x5D58 and s["cell_id"] == 0x0E2A5F43 and s["rat"] == "LTE"
        assert d["mqtt"]["connected"] is False
        assert "AT+C5GREG?" in emu.commands
    finally:
        emu.stop()


def test_emulate_cli_prints_path_and_stops(tmp_path):
    link = str(tmp_path / "ttyMODEM")
    p = subprocess.Popen([sys.executable, "-m", "host_tools.cli", "emulate", "--profile", "generic", "--link", link],
                         stdout=subprocess.PIPE, text=True, cwd=paths.ROOT)
    try:
        assert p.stdout.readline().strip() == link
        assert os.path.islink(link)
        import serial
        s = serial.Serial(link, timeout=1)
        s.write(b"AT+CGSN\r")
        time.sleep(0.2)
        assert b"356938035643809" in s.read(200)
        s.close()
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(5) == 0
    assert not os.path.exists(link)


def test_unknown_profile_is_a_clear_error():
    r = subprocess.run([sys.executable, "-m", "host_tools.cli", "emulate", "--profile", "nokia-3310"],
                       capture_output=True, text=True, cwd=paths.ROOT)
    assert r.returncode == 2 and "unknown emulator profile" in r.stderr
