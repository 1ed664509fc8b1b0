"""Table tests for where network.mcc/mnc, signal.rat and modem.model/firmware come from (docs/modem.md "Where
each value comes from"): real replies of tests/data/at-transcripts (whole transcripts, single `line=` vectors,
or replies of two transcripts together to show which source wins) answer a vendor driver running init,
identify and one poll on the real AT engine (values_runner.py), on CPython and on the real MicroPython.
The wanted values are the transcripts' `expect:` values (MCC in its 3-digit status form)."""
import json
import os

import pytest

from host_tools.emulator.replay import expand, format_replay, parse_replay
from tests.conftest import run_micropython
from tests.modem import transcripts as T
from tests.modem import values_runner

HERE = os.path.dirname(os.path.abspath(__file__))


def _load(tid):
    return T.load(os.path.join(T.DIR, tid + ".txt"))


def whole(tid, drop=(), pick=None):
    """The transcript's replies (every command it shows), without the commands in drop; pick {command: i}
    keeps only the i-th reply of a command (transcripts.transcript_replay)."""
    return parse_replay(T.transcript_replay(_load(tid), pick, drop))


def only(tid, *cmds):
    """Just these commands' replies of the transcript."""
    return dict((c, b) for c, b in whole(tid).items() if c in cmds)


def vector(tid, n):
    """The transcript's n-th line as the reply to the query that prints it."""
    line = T.body_lines(_load(tid))[n - 1]
    return parse_replay(format_replay(expand([(T.QUERY[line.split(":")[0] + ":"], ["", line, "", "OK"])])))


def cops_in_agent_order(tid):
    """The transcript's AT+COPS? replies as the agent asks for them: numeric format first, then long (the
    in-memory port does not model AT+COPS=3,<format>)."""
    blocks = whole(tid)["AT+COPS?"]
    numeric = [b for b in blocks if any(l.startswith("+COPS:") and l.split(",")[1:2] == ["2"] for l in b)]
    return {"AT+COPS?": numeric + [b for b in blocks if b not in numeric]}


def both(*parts):
    out = {}
    for p in parts:
        out.update(p)
    return out


QENG = 'AT+QENG="servingcell"'
EP06, EM12, RM520N = "quectel_ep06_lte_qnwinfo_qeng_qspn", "quectel_em12g_lte_asus", "quectel_rm520n_sa_qcainfo"

# (id, vendor, replies, {status path: wanted}); the id says which reply the value must come from
CASES = [
    # --- network.mcc/mnc: COPS numeric > QSPN RPLMN > QNWINFO > serving cell (QENG, CPSI, #RFSTS) ---------
    ("mcc-qnwinfo-when-cops-long-only", "quectel", whole(EM12, drop=(QENG,)),
     {"network.mcc": "262", "network.mnc": "03", "network.operator": "freenet freenet"}),
    ("mcc-qeng-when-nothing-else", "quectel", only(EP06, QENG),
     {"network.mcc": "222", "network.mnc": "88", "signal.rat": "LTE", "network.registered": True}),
    ("mcc-qspn-rplmn", "quectel", only(RM520N, "AT+QSPN"),
     {"network.mcc": "310", "network.mnc": "260", "network.operator": "T-Mobile"}),
    ("mcc-qeng-sa", "quectel", only(RM520N, QENG),
     {"network.mcc": "310", "network.mnc": "260", "signal.rat": "NR5G-SA", "signal.cell_id": 39613121108}),
    ("mcc-qeng-sa-space-in-field", "quectel", whole("quectel_rm5xx_sa_space_in_field_c5greg", drop=("AT+QSPN",
                                                                                                  "AT+QNWINFO")),
     {"network.mcc": "515", "network.mnc": "66", "signal.rat": "NR5G-SA", "network.registration": "home"}),
    ("mcc-qeng-mcc-001-printed-as-1", "quectel", whole("quectel_rm500q_nsa_old_firmware"),
     {"network.mcc": "001", "network.mnc": "01", "signal.rat": "NR5G-NSA", "signal.nr.pci": 500}),
    ("mcc-qeng-emtc-vector", "quectel", vector("quectel_ec200_bg95_qeng_ardupilot", 3),
     {"network.mcc": "505", "network.mnc": "01", "signal.rat": "LTE-M"}),
    ("mcc-qeng-lte-vector", "quectel", vector("quectel_ec200_bg95_qeng_ardupilot", 1),
     {"network.mcc": "505", "network.mnc": "02", "signal.rat": "LTE", "signal.sinr_db": -9.4}),
    ("mcc-cpsi-catm1", "simcom", whole("simcom_sim7000g_cpsi_catm1"),
     {"network.mcc": "310", "network.mnc": "410", "signal.rat": "LTE-M"}),
    ("mcc-cpsi-tenths", "simcom", whole("simcom_sim7906_cpsi_cmgrmi"),
     {"network.mcc": "250", "network.mnc": "02", "signal.rat": "LTE", "signal.rsrp_dbm": -88.9}),
    ("mcc-cpsi-vector", "simcom", vector("simcom_sim7600_sim7070_cpsi_ardupilot", 2),
     {"network.mcc": "505", "network.mnc": "01", "signal.rat": "LTE-M"}),
    ("mcc-rfsts", "telit", whole("telit_le910c1_rfsts"),
     {"network.mcc": "286", "network.mnc": "01", "network.operator": "Turkcell", "signal.rat": "LTE"}),
    ("mcc-cops-numeric-beats-qeng", "quectel", both(only(EP06, QENG),
                                                    cops_in_agent_order("sierra_dw5811e_chain_and_gstatus")),
     {"network.mcc": "260", "network.mnc": "03", "network.operator": "Orange nju"}),
    ("mcc-qspn-beats-qnwinfo-and-qeng", "quectel", both(only(EP06, QENG), only(EM12, "AT+QNWINFO"),
                                                        only(RM520N, "AT+QSPN")),
     {"network.mcc": "310", "network.mnc": "260"}),
    ("mcc-qnwinfo-beats-qeng", "quectel", both(only(EP06, QENG), only(EM12, "AT+QNWINFO")),
     {"network.mcc": "262", "network.mnc": "03"}),
    ("mcc-none-while-limsrv", "quectel", whole("quectel_rm520n_sa_limsrv"),
     {"network.mcc": None, "network.mnc": None, "signal.rat": None, "network.registered": False,
      "signal.rsrp_dbm": -72}),
    # --- signal.rat: serving cell > COPS AcT > QNWINFO > CxREG AcT; null only when known not registered ------
    ("rat-qeng-sa-without-cxreg", "quectel", whole(RM520N),
     {"signal.rat": "NR5G-SA", "network.registered": True, "network.registration": None}),
    ("rat-qeng-nsa-beats-cops-act", "quectel", both(whole("quectel_rm500q_nsa_old_firmware"), only(EM12, "AT+COPS?")),
     {"signal.rat": "NR5G-NSA"}),
    ("rat-cops-act", "quectel", only(EM12, "AT+COPS?"), {"signal.rat": "LTE"}),
    ("rat-qnwinfo-nr5g", "quectel", only(RM520N, "AT+QNWINFO"), {"signal.rat": "NR5G-SA", "network.mcc": "310"}),
    ("rat-hcsq-lte", "huawei", vector("huawei_mm_hcsq_sysinfoex_vectors", 1),
     {"signal.rat": "LTE", "signal.rssi_dbm": -91}),
    ("rat-hcsq-wcdma", "huawei", vector("huawei_mm_hcsq_sysinfoex_vectors", 2), {"signal.rat": "UMTS"}),
    ("rat-gstatus-emm-registered", "sierra", whole("sierra_em7455_gstatus_tabs_idle"),
     {"signal.rat": "LTE", "network.registered": True, "modem.temp_c": 53}),
    ("rat-and-mcc-none-when-cereg-says-not-registered", "simcom",
     both(only("simcom_sim7000g_cpsi_catm1", "AT+CPSI?"),
          whole("simcom_sim7000g_cfun_urc_inside_response", pick={"AT+CEREG?": -1, "AT+CGREG?": -1})),
     {"signal.rat": None, "network.mcc": None, "network.registered": False, "network.registration": "not_registered",
      "signal.rsrp_dbm": -113}),
    # --- modem.model / firmware: AT+CGMM/AT+GMM, AT+CGMR/AT+GMR > ATI ------------------------------------
    ("model-ati-quectel-unkeyed", "quectel", whole(EM12),
     {"modem.model": "EM12", "modem.firmware": "EM12GPAR01A21M4G", "network.mcc": "262", "signal.rat": "LTE"}),
    ("model-ati-single-line", "simcom", whole("simcom_sim7000g_cfun_urc_inside_response"),
     {"modem.model": "SIM7000G R1529", "modem.firmware": None}),
    ("model-gmm", "ublox", whole("ublox_sara_r410m_cops_act8"),
     {"modem.model": "SARA-R410M-02B", "network.registration": "roaming", "signal.rat": "LTE-M"}),
    ("model-gmm-beats-ati", "quectel", both(only(EM12, "ATI"), only("ublox_sara_r410m_cops_act8", "AT+GMM")),
     {"modem.model": "SARA-R410M-02B", "modem.firmware": "EM12GPAR01A21M4G"}),
]


def value(status, path):
    v = status
    for k in path.split("."):
        v = v.get(k) if isinstance(v, dict) else None
    return v


def check(results):
    for cid, _, _, want in CASES:
        st = results[cid]
        assert st["modem"]["state"] == "ready", (cid, st["modem"])
        got = dict((p, value(st, p)) for p in want)
        assert got == want, (cid, got, want)


def cases_json():
    return [{"id": cid, "vendor": vendor, "replies": replies} for cid, vendor, replies, _ in CASES]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_value_source_cpython(case):
    cid, vendor, replies, want = case
    st = values_runner.run([{"id": cid, "vendor": vendor, "replies": replies}])[cid]
    assert st["modem"]["state"] == "ready", st["modem"]
    assert dict((p, value(st, p)) for p in want) == want


def test_same_on_micropython(tmp_path):
    f = tmp_path / "cases.json"
    f.write_text(json.dumps(cases_json()))
    r = run_micropython([os.path.join(HERE, "values_runner.py"), str(f)], timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    mp = json.loads(r.stdout)
    check(mp)
    cp = values_runner.run(cases_json())
    for cid in mp:
        for section in ("modem", "sim", "network", "signal"):
            assert mp[cid][section] == cp[cid][section], (cid, section)


def test_cases_use_real_replies():
    """Every case is answered from transcript lines (no reply is made up here)."""
    for cid, _, replies, _ in CASES:
        assert replies, cid
