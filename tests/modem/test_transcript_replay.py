"""The transcript -> replay converter (transcripts.exchanges / transcript_replay) on real transcripts of each
log kind: what each command is answered with, and what is left out."""
import os

from host_tools.emulator.replay import parse_replay
from tests.modem import transcripts as T


def replay(name, **kw):
    return parse_replay(T.transcript_replay(T.load(os.path.join(T.DIR, name + ".txt")), **kw))


def test_chain_split_and_rendered_ok():
    b = replay("sierra_dw5811e_chain_and_gstatus")  # sms_tool chain, final printed as 'K
    assert [blk[1] for blk in b["AT+COPS?"]] == ['+COPS: 0,0,"Orange nju",7', '+COPS: 0,2,"26003",7']
    assert b["AT+CREG?"] == [["", '+CREG: 2,1,"FFFE","23E3E34",7', "", "OK"]] and b["AT+COPS=3,2"] == [["", "OK"]]
    g = b["AT!GSTATUS?"][0]
    assert g[0] == "!GSTATUS:" and g[-1] == "OK" and "SINR (dB):     -2.6" in g
    assert b["AT"] == [["", "OK"]] and b["AT+CMEE=2"] == [["", "OK"]]  # the handshake the capture lacks


def test_sent_marks_echo_after_reset_and_truncation():
    b = replay("quectel_ec21j_boot_sim_busy_reset")  # "<- " sent, "-> " received, "(...)" ignored, (millis)
    first = b["AT+CGREG?"][0]
    assert first[:4] == ["+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE", "RDY"]
    assert first[-3:] == ["AT+CGREG?", "+CGREG: 0,1", "OK"]  # the echo is back after the reset: kept
    assert [x[-1] for x in b["AT+CPIN?"]] == ["OK", "+CME ERROR: 10", "+CME ERROR: 10", "+CME ERROR: 14", "OK"]
    assert b["AT"] == [[")", "OK"]] and b["AT+QSCLK=1"] == [["ERROR"]]
    assert b["AT+CGREG?"][-1] == ["+CPIN: READY", "+QUSIM: 1"]  # log ends before the answer: no final made up
    assert "AT+CMEE=2" in b and not any("(" in l and l.endswith(")") for x in b.values() for blk in x for l in blk)


def test_bare_replies_get_their_query():
    b = replay("generic_marvell_cesq_no_space")  # results only, no echo, no OK
    assert b["AT+CSQ"] == [["", "+CSQ:99,99", "", "OK"], ["", "+CSQ:99,99", "", "OK"]]
    assert b["AT+CEREG?"] == [["", '+CEREG: 2,1,"3584","00ef4a08",7', "", "OK"]] and "AT^SYSINFO" in b
    b = replay("quectel_rm500q_nsa_old_firmware")  # mmcli response over three lines, qmicli output around it
    assert b['AT+QENG="servingcell"'] == [["", '+QENG: "servingcell","NOCONN"',
                                           '+QENG: "LTE","FDD",1,01,1A2D001,1,1575,3,3,3,1,-70,-9,-46,25,-',
                                           '+QENG:"NR5G-NSA",1,01,500,-75,180,-11', "", "OK"]]
    assert "RSSI: '-47 dBm'" not in str(b)
    b = replay("quectel_eg25g_lte_qeng_openqti")  # "+QENG:" wrapped onto the next line in the source
    assert b['AT+QENG="servingcell"'][0][0].startswith('+QENG: "servingcell","NOCONN","LTE"')


def test_echo_collapsed_but_ubxlib_attempts_kept():
    b = replay("simcom_sim7670g_creg_csq_error")  # the sketch prints each command, the modem echoes it
    assert [x[1] for x in b["AT+CSQ"]] == ["+CSQ: 99,99", "+CSQ: 21,0"] and len(b["AT+CREG?"]) == 2
    assert not any("Wait for the modem" in l for x in b.values() for blk in x for l in blk)
    b = replay("ublox_sara_r422_cme_sim_busy")  # ubxlib: command lines as sent; 4 probes unanswered
    assert b["AT"] == [[], [], [], [], ["", "OK"], ["", "OK"]]
    assert [x[-1] for x in b["AT&C1"]] == ["+CME ERROR: SIM busy", "+CME ERROR: SIM busy", "ERROR"]


def test_boot_urcs_and_host_text():
    b = replay("quectel_eg25_boot_urcs_eg25manager")  # journal: only the Response: [...] lines are modem output
    assert b["AT"][0] == ["RDY", "+CPIN: READY", "+QUSIM: 1", "+CFUN: 4", "+QIND: SMS DONE", "RDY", "+CPIN: SIM PIN",
                          "+CFUN: 1", "", "OK"]
    assert b["AT"][1] == ["", "OK"]
    b = replay("simcom_sim7000g_cpsi_catm1")  # TinyGSM "[millis] ..." and "###" lines are the host's
    assert list(b) == ["AT", "AT+CMEE=2", "AT+CPSI?"] and b["AT"] == [["", "OK"]]


def test_not_a_modem_and_pick_drop():
    b = replay("generic_uart_console_garbage_not_a_modem", handshake=False)
    assert list(b) == ["AT"] and b["AT"][0][:2] == ["ncorrec", "Login incorrect"] and b["AT"][1] == ["AT"]
    assert not any(T.is_final(l) for blk in b["AT"] for l in blk)
    b = replay("simcom_sim7000g_cfun_urc_inside_response", pick={"AT+CEREG?": -1}, drop=("AT+CGREG?",))
    assert b["AT+CEREG?"] == [["", "+CEREG: 0,0", "", "OK"]] and "AT+CGREG?" not in b
