"""The vendor registry and the drivers' self-description: one list of vendors (modem/vendors NAMES, used by
config and the emulator's profiles), detection from each driver's MARKS, the AT engine taking a vendor's
dialect from the driver and knowing no vendor string itself, and the shared PLMN / ATI parsers."""
import os
import sys

import pytest

from host_tools.emulator.profiles import PROFILES
from tests.modem import transcripts as T
from tests.support import paths
from wanwatch.modem import vendors
from wanwatch.modem.engine import ATEngine
from wanwatch.modem.vendors.generic import GenericDriver, parse_ati, split_plmn

SELF_DESCRIPTION = ("URC_PREFIXES", "BOOT_MARKS", "BARE_COMMANDS", "SLOW_COMMANDS", "REPLY_PREFIXES")


class _Clock:
    def monotonic(self):
        return 0.0


def test_one_vendor_list():
    from wanwatch.modem.schema import MODEM
    assert [e[3] for e in MODEM if e[0] == "vendor"] == [("auto",) + vendors.NAMES]  # modem.vendor's choices
    for name in vendors.NAMES:
        assert vendors.load(name).NAME == name
    assert vendors.load("nokia") is GenericDriver
    assert set(p.VENDOR for p in PROFILES.values()) == set(vendors.NAMES)  # a profile for every driver


@pytest.mark.parametrize("name", vendors.NAMES[1:])
def test_detect_by_marks(name):
    driver = vendors.load(name)
    assert driver.MARKS
    for mark in driver.MARKS:
        assert vendors.detect("Manufacturer: %s Inc.\nModel: X" % mark.lower()) is driver
    assert vendors.detect("") is GenericDriver and vendors.detect("Foo Modems Ltd") is GenericDriver


def test_detect_drops_the_vendors_it_imported_only_to_look():
    saved = dict((n, m) for n, m in sys.modules.items() if n.startswith("wanwatch.modem.vendors."))
    try:
        for name in vendors.NAMES[1:]:
            sys.modules.pop("wanwatch.modem.vendors." + name, None)
        assert vendors.detect("TELIT") is vendors.load("telit")
        loaded = set(n.rsplit(".", 1)[1] for n in sys.modules if n.startswith("wanwatch.modem.vendors."))
        assert loaded == {"generic", "telit"}, loaded
    finally:
        sys.modules.update(saved)
        for n, m in saved.items():
            setattr(vendors, n.rsplit(".", 1)[1], m)


def test_engine_knows_no_vendor_string():
    with open(os.path.join(paths.FIRMWARE, "wanwatch", "modem", "engine.py")) as f:
        code = "\n".join(l.split("#")[0] for l in f.read().splitlines())  # comments may name vendors
    for name in vendors.NAMES[1:]:
        driver = vendors.load(name)
        strings = [driver.RESET_COMMAND, driver.CELL_COMMAND] + list(driver.MARKS)
        for attr in SELF_DESCRIPTION:
            for item in getattr(driver, attr):
                strings.extend(item if isinstance(item, tuple) else (item,))
        for s in strings:
            if isinstance(s, str) and s not in ("AT+CFUN=1,1",):  # 27.007's own reset is generic
                assert '"%s' % s not in code, (name, s)


def test_engine_speaks_the_drivers_dialect():
    e = ATEngine(None, _Clock())
    assert e.prefix_for("AT!GSTATUS?") == "!GSTATUS:" and e.prefix_for("AT+CICCID") == "+CICCID:"
    assert e.timeout_for("AT+COPS=?") == 180.0
    boots = []
    e.on_reboot(lambda: boots.append(1))
    e.feed(b"\r\nRDY\r\n")
    assert boots == []  # RDY means nothing in 27.007
    e.use(vendors.load("quectel"))
    e.feed(b"\r\nRDY\r\n")
    assert boots == [1]
    e.use(vendors.load("sierra"))
    assert e.prefix_for("AT!GSTATUS?") == ""
    e.use(vendors.load("simcom"))
    assert e.prefix_for("AT+CICCID") == "+ICCID:"
    cur = e.begin("ATI")
    e.feed(b"\r\n*ATREADY: 1\r\nSIM7000G R1529\r\nOK\r\n")  # a SIMCom boot URC inside a bare reply
    assert cur.resp.lines == ["SIM7000G R1529"]


@pytest.mark.parametrize("name", vendors.NAMES)
def test_recovery_commands_come_from_the_driver(name):
    driver = vendors.load(name)
    assert driver.recovery_commands("reset") == ((driver.RESET_COMMAND, driver.RESET_TIMEOUT_S),)
    assert [c for c, _ in driver.recovery_commands("resync")] == ["AT", "ATE0"]
    assert [c for c, _ in driver.recovery_commands("reattach")] == ["AT+CFUN=0", "AT+CFUN=1"]
    assert driver.recovery_commands("power") == ()


# (printed PLMN, the second field where the reply prints MCC and MNC apart) -> (mcc, mnc)
PLMNS = [
    (("26201",), ("262", "01")),          # COPS numeric
    (("310260",), ("310", "260")),        # QNWINFO / QSPN RPLMN (RM520N)
    (("250-02",), ("250", "02")),         # CPSI (SIM7906)
    (("286 01",), ("286", "01")),         # #RFSTS (LE910C1)
    (("515", "66"), ("515", "66")),       # QENG (RM5xx SA)
    (("1", "01"), ("001", "01")),         # QENG of old RM500Q firmware: MCC 001 printed as 1
    (("000 00",), (None, None)),          # #RFSTS when not camped
    (("fff", "fff"), (None, None)),       # UCGED placeholders
    (("2620",), (None, None)), (("262", "1"), (None, None)), (("",), (None, None)), ((None,), (None, None)),
]


@pytest.mark.parametrize("args,want", PLMNS)
def test_split_plmn(args, want):
    assert split_plmn(*args) == want


def _ati(tid):
    t = T.load(os.path.join(T.DIR, tid + ".txt"))
    block = T.blocks_for(T.clean_lines(t), "ATI")[0]
    return [l for l in block if l.strip() and l != "OK"]


def test_parse_ati_from_transcripts():
    assert parse_ati(_ati("quectel_em12g_lte_asus"), None, ("QUECTEL",)) == {
        "manufacturer": "Quectel", "model": "EM12", "firmware": "EM12GPAR01A21M4G"}
    assert parse_ati(_ati("simcom_sim7000g_cfun_urc_inside_response"), None, ("SIMCOM",)) == {
        "manufacturer": None, "model": "SIM7000G R1529", "firmware": None}
    # the same unkeyed lines with the AT+CGMI answer known, and the emulator's generic ATI
    assert parse_ati(["Quectel", "EM12"], "Quectel")["model"] == "EM12"
    assert parse_ati(["Quectel"], None, ("QUECTEL",))["model"] is None  # a manufacturer line alone


def test_parse_ati_keyed_form():
    # the keyed layout SIMCom/Huawei/Sierra document for ATI (with +GCAP and IMEI lines the status ignores)
    lines = ["Manufacturer: SIMCOM INCORPORATED", "Model: SIMCOM_SIM7600E-H", "Revision: SIM7600M22_V2.0",
             "IMEI: 862636051234567", "+GCAP: +CGSM"]
    assert parse_ati(lines) == {"manufacturer": "SIMCOM INCORPORATED", "model": "SIMCOM_SIM7600E-H",
                                "firmware": "SIM7600M22_V2.0"}
