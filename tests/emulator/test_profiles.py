"""Each profile answers identity, signal and its vendor commands in that vendor's real format."""
import time

import pytest
import serial

from host_tools.emulator import Emulator
from host_tools.emulator.profiles import PROFILES

VENDOR = {
    "quectel-ec25": [(b'AT+QENG="servingcell"', b'+QENG: "servingcell","NOCONN","LTE","FDD",262,01,'),
                     (b"AT+QTEMP", b"+QTEMP: 38,"), (b"AT+QCCID", b"+QCCID: 8949")],
    "simcom-sim7600": [(b"AT+CPSI?", b"+CPSI: LTE,Online,262-01,0x0603,124217865,188,EUTRAN-BAND20,6300,5,5,-100,-970,-730,12"),
                       (b"AT+CPMUTEMP", b"+CPMUTEMP: 38"), (b"AT+CICCID", b"+ICCID: 8949")],
    "huawei-me909": [(b"AT^HCSQ?", b'^HCSQ: "LTE",48,44,161,20'),
                     (b"AT^SYSINFOEX", b'^SYSINFOEX: 2,3,0,1,,6,"LTE",101,"LTE"'), (b"AT^ICCID?", b"^ICCID: 8949")],
}


def ask(s, cmd):
    s.reset_input_buffer()
    s.write(cmd + b"\r")
    time.sleep(0.15)
    return s.read(s.in_waiting or 1)


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profile_identity_and_signal(name):
    emu = Emulator(profile=name)
    s = serial.Serial(emu.start(), timeout=0.5)
    try:
        ask(s, b"ATE0")
        assert emu.state["imei"].encode() in ask(s, b"AT+CGSN")
        assert emu.state["model"].encode() in ask(s, b"AT+CGMM")
        assert ask(s, b"AT+CSQ").startswith(b"\r\n+CSQ: ")
        assert b"+CEREG: 2,1,\"0603\"" in ask(s, b"AT+CEREG?")
        for cmd, want in VENDOR.get(name, []):
            r = ask(s, cmd)
            assert want in r and r.endswith(b"OK\r\n"), (cmd, r)
        e = emu.expected()
        assert e["imei"] == emu.state["imei"] and e["rsrp_dbm"] == -97 and e["registration"] == "home"
        assert e["mcc"] == "262" and e["mnc"] == "01" and e["tac"] == 0x0603
    finally:
        s.close()
        emu.stop()
