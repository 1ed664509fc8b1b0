"""The generic emulator behaves like a modem on the wire: echo, framing, CMEE, SMS, faults."""
import os
import time

import serial

from host_tools.emulator import Emulator


def xfer(s, data, wait=0.25):
    s.reset_input_buffer()
    s.write(data)
    time.sleep(wait)
    return s.read(s.in_waiting or 1)


def open_emu(**kw):
    emu = Emulator(**kw)
    path = emu.start()
    return emu, serial.Serial(path, timeout=0.5)


def test_echo_until_ate0_and_framing():
    emu, s = open_emu()
    try:
        assert xfer(s, b"AT+CSQ\r").startswith(b"AT+CSQ\r\r\n+CSQ: ")
        assert xfer(s, b"ATE0\r") == b"ATE0\r\r\nOK\r\n"
        r = xfer(s, b"AT+CSQ\r\n")
        assert r.startswith(b"\r\n+CSQ: ") and r.endswith(b"\r\n\r\nOK\r\n")
        assert xfer(s, b"AT+NOPE\r") == b"\r\nERROR\r\n"
        assert "AT+NOPE" in emu.commands
    finally:
        s.close()
        emu.stop()


def test_cmee_modes_and_sim_absent():
    emu, s = open_emu()
    try:
        xfer(s, b"ATE0\r")
        emu.set(cpin=None)
        assert xfer(s, b"AT+CPIN?\r") == b"\r\nERROR\r\n"
        xfer(s, b"AT+CMEE=1\r")
        assert xfer(s, b"AT+CPIN?\r") == b"\r\n+CME ERROR: 10\r\n"
        xfer(s, b"AT+CMEE=2\r")
        assert xfer(s, b"AT+CPIN?\r") == b"\r\n+CME ERROR: SIM not inserted\r\n"
    finally:
        s.close()
        emu.stop()


def test_sms_prompt_flow():
    emu, s = open_emu()
    try:
        xfer(s, b"ATE0\r")
        assert xfer(s, b"AT+CMGF=1\r").endswith(b"OK\r\n")
        assert xfer(s, b'AT+CMGS="+4915112345678"\r') == b"\r\n> "
        r = xfer(s, b"hello world\x1a")
        assert r.startswith(b"\r\n+CMGS: ") and r.endswith(b"\r\n\r\nOK\r\n")
        assert emu.sms_sent == [("+4915112345678", "hello world")]
    finally:
        s.close()
        emu.stop()


def test_reboot_urcs_and_echo_back_on():
    emu, s = open_emu()
    try:
        xfer(s, b"ATE0\r")
        emu.reboot(delay=0.05)
        time.sleep(0.3)
        r = s.read(s.in_waiting or 1)
        assert b"RDY" in r or b"READY" in r
        assert xfer(s, b"AT\r") == b"AT\r\r\nOK\r\n"
    finally:
        s.close()
        emu.stop()


def test_hang_and_unhang():
    emu, s = open_emu()
    try:
        emu.hang(None)
        assert xfer(s, b"AT\r") == b""
        emu.unhang()
        assert xfer(s, b"AT\r").endswith(b"OK\r\n")
    finally:
        s.close()
        emu.stop()


def test_symlink_lifecycle(tmp_path):
    link = str(tmp_path / "ttyM")
    os.symlink("/nonexistent", link)  # a stale link gets replaced
    emu = Emulator()
    assert emu.start(link=link) == link and os.path.realpath(link) == emu.path
    emu.stop()
    assert not os.path.lexists(link)


def test_scenario_timing(tmp_path):
    sc = tmp_path / "s.scn"
    sc.write_text("# short\nat 0.2 set rsrp_dbm=-110\nat 0.4 register denied\n")
    emu = Emulator(scenario=str(sc))
    emu.start()
    try:
        time.sleep(0.1)
        assert emu.state["rsrp_dbm"] != -110
        time.sleep(0.6)
        assert emu.state["rsrp_dbm"] == -110 and emu.expected()["registration"] == "denied"
    finally:
        emu.stop()


def test_replay_blocks_in_turn_and_ate0_honoured(tmp_path):
    f = tmp_path / "r.replay"
    f.write_text("# two answers for CSQ\n> AT+CSQ\n\n+CSQ: 10,99\n\nOK\n> AT+CSQ\n\n+CSQ: 20,99\n\nOK\n")
    emu, s = open_emu(replay=str(f))
    try:
        assert xfer(s, b"AT+CSQ\r") == b"AT+CSQ\r\r\n+CSQ: 10,99\r\n\r\nOK\r\n"
        assert xfer(s, b"ATE0\r") == b"ATE0\r\r\nOK\r\n"
        assert xfer(s, b"AT+CSQ\r") == b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n"
        assert xfer(s, b"AT+CSQ\r") == b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n"
        assert xfer(s, b"AT+COPS?\r") == b"\r\nERROR\r\n"
    finally:
        s.close()
        emu.stop()


def test_play_steps_and_inject_urc():
    emu, s = open_emu()
    try:
        emu.play([(0.05, "counters", "+1000"), (0.05, "urc", "+CEREG: 2")])
        time.sleep(0.3)
        assert b"\r\n+CEREG: 2\r\n" in s.read(s.in_waiting or 1)
        assert emu.state["rx_bytes"] == 123456789 + 1000
    finally:
        s.close()
        emu.stop()


def test_ussd_and_received_sms_on_the_wire():
    emu, s = open_emu()
    try:
        xfer(s, b"ATE0\r")
        emu.ussd_reply("*123#", "Te quedan 7.44 GB")
        r = xfer(s, b'AT+CUSD=1,"*123#",15\r', wait=0.6)  # OK first, the network's answer as a URC
        assert r == b'\r\nOK\r\n\r\n+CUSD: 0,"Te quedan 7.44 GB",15\r\n'
        emu.ussd_inline = True
        assert xfer(s, b'AT+CUSD=1,"*5#",15\r') == b"\r\n+CUSD: 4\r\n\r\nOK\r\n"  # unknown code
        emu.apply("sms_reply", "22555 o2 Datenvolumen von 2821 MB")
        xfer(s, b"AT+CMGF=1\r")
        assert xfer(s, b'AT+CMGS="22555"\r') == b"\r\n> "
        r = xfer(s, b"DATA\x1a", wait=1.0)  # sent, and the network's reply arrives as +CMTI
        assert r.startswith(b"\r\n+CMGS: 1\r\n\r\nOK\r\n") and r.endswith(b'\r\n+CMTI: "SM",0\r\n')
        r = xfer(s, b"AT+CMGR=0\r")
        assert r.startswith(b'\r\n+CMGR: "REC UNREAD","o2",,"') and r.endswith(b"\r\nDatenvolumen von 2821 MB\r\n\r\nOK\r\n")
        assert b"REC READ" in xfer(s, b"AT+CMGR=0\r")
        assert xfer(s, b"AT+CMGD=0\r") == b"\r\nOK\r\n" and emu.inbox == {}
        assert xfer(s, b"AT+CMGR=0\r") == b"\r\n+CMS ERROR: 321\r\n"
        emu.apply("sms_in", "+4917012 Hallo du")
        assert emu.inbox[0][1:] == ["+4917012", emu.inbox[0][2], "Hallo du"]
        assert emu.sms_sent == [("22555", "DATA")]
    finally:
        s.close()
        emu.stop()
