"""Building replay files from captured AT traffic (host_tools/emulator/replay.py: expand, format_replay)."""
from host_tools.emulator import Emulator
from host_tools.emulator.replay import canonical, expand, format_replay, parse_replay, reply_prefix, split_chain
from tests.emulator.test_core import xfer
import serial


def test_canonical_and_chains():
    assert canonical(' at+qeng="servingcell" ') == 'AT+QENG="servingcell"'
    assert split_chain('at+qnwinfo;+qeng="servingcell";+qspn') == ["AT+QNWINFO", 'AT+QENG="servingcell"', "AT+QSPN"]
    assert split_chain('AT+CMGS="a;b";E0') == ['AT+CMGS="a;b"', "ATE0"]
    assert (reply_prefix("AT^HCSQ?"), reply_prefix("AT!GSTATUS?"), reply_prefix("ATI9"), reply_prefix("AT&C1")) == \
        ("^HCSQ:", "!GSTATUS:", None, None)


def test_chain_reply_goes_to_its_sub_commands():
    # sierra_dw5811e: the two +COPS? reads take one line each, the set commands print nothing
    ex = expand([("AT+CPIN?;+CSQ;+COPS=3,0;+COPS?;+COPS=3,2;+COPS?", [
        "+CPIN: READY", "", "+CSQ: 19,99", "", '+COPS: 0,0,"Orange nju",7', "", '+COPS: 0,2,"26003",7', "", "OK"])])
    assert [c for c, _ in ex] == ["AT+CPIN?", "AT+CSQ", "AT+COPS=3,0", "AT+COPS?", "AT+COPS=3,2", "AT+COPS?"]
    assert ex[3][1] == ["", '+COPS: 0,0,"Orange nju",7', "", "OK"] and ex[5][1][1] == '+COPS: 0,2,"26003",7'
    assert ex[2][1] == ["", "OK"] and ex[0][1][-1] == "OK"
    # a chain whose tool dropped the final: every answered sub-command gets OK
    ex = expand([("at+c5greg=2;+c5greg?", ['+C5GREG: 2,1,"114000","100072000",11'])])
    assert ex == [("AT+C5GREG=2", ["", "OK"]), ("AT+C5GREG?", ["", '+C5GREG: 2,1,"114000","100072000",11', "", "OK"])]


def test_missing_final_added_only_to_answered_replies():
    ex = dict(expand([("AT+QTEMP", ["+QTEMP: 38,255,255", ""]), ("AT+CGREG?", ["+CPIN: READY", "+QUSIM: 1"]),
                      ("AT+CMEE=2", []), ("AT+CPIN?", ["+CME ERROR: 10"]), ("AT", ["Password:"])]))
    assert ex["AT+QTEMP"] == ["+QTEMP: 38,255,255", "", "OK"]
    assert ex["AT+CGREG?"] == ["+CPIN: READY", "+QUSIM: 1"]  # truncated capture: stays unanswered
    assert ex["AT+CMEE=2"] == [] and ex["AT+CPIN?"] == ["+CME ERROR: 10"] and ex["AT"] == ["Password:"]


def test_format_handshake_preamble_and_parse_back():
    text = format_replay(expand([("AT+CSQ", ["+CSQ: 9,99", "OK"]), ("AT+CSQ", ["+CSQ: 10,99", "OK"])]),
                         preamble=["RDY", "", "+CPIN: READY"], comment="from a test")
    b = parse_replay(text)
    assert text.startswith("# from a test\n")
    assert b["AT"] == [["RDY", "+CPIN: READY", "", "OK"], ["", "OK"]]  # boot lines once, with the first AT
    assert b["AT+CMEE=2"] == [["", "OK"]] and [x[0] for x in b["AT+CSQ"]] == ["+CSQ: 9,99", "+CSQ: 10,99"]
    b = parse_replay(format_replay([("AT", ["garbage"])], handshake=False))
    assert b == {"AT": [["garbage"]]}
    assert parse_replay(format_replay([("AT+CMGS=1", ["> ", "+CMGS: 3", "OK"])]))["AT+CMGS=1"] == [["+CMGS: 3", "OK"]]


def test_emulator_answers_a_built_replay(tmp_path):
    f = tmp_path / "r.replay"
    f.write_text(format_replay(expand([("at+qnwinfo;+qspn", ['+QNWINFO: "FDD LTE","22288","LTE BAND 7",3350',
                                                            '+QSPN: "spusu","spusu","spusu",0,"22288"'])])))
    emu = Emulator(replay=str(f))
    s = serial.Serial(emu.start(), timeout=0.5)
    try:
        assert xfer(s, b"ATE0\r") == b"ATE0\r\r\nOK\r\n"
        assert xfer(s, b"AT+QSPN\r") == b'\r\n+QSPN: "spusu","spusu","spusu",0,"22288"\r\n\r\nOK\r\n'
        assert xfer(s, b"AT+CMEE=2\r") == b"\r\nOK\r\n"
        assert xfer(s, b"AT+CEREG?\r") == b"\r\nERROR\r\n"  # not in the capture: plain ERROR
    finally:
        s.close()
        emu.stop()
