"""Every emulator profile: ModemSupervisor.once() on CPython with the vendor driver (auto-detected) reports
what the profile's expected() says, for every key expected() gives."""
import asyncio

import pytest

from host_tools.emulator import Emulator
from host_tools.emulator.profiles import PROFILES
from tests.support.fakeclock import FakeClock
from wanwatch.events import EventBus
from wanwatch.modem.supervisor import ModemSupervisor

SECTIONS = {"vendor": "modem", "model": "modem", "firmware": "modem", "imei": "modem", "temp_c": "modem",
            "counters": "modem", "iccid": "sim", "imsi": "sim", "operator": "network", "mcc": "network",
            "mnc": "network", "registration": "network", "registered": "network"}


def once(port, vendor="auto"):
    cfg = {"modem": {"port": port, "baud": 115200, "vendor": vendor, "poll_s": 1}}
    clock = FakeClock()
    events = EventBus(clock) if _bus_takes_clock() else EventBus()
    supervisor = ModemSupervisor(cfg, clock, events)
    asyncio.run(supervisor.once())
    return supervisor.status()


def _bus_takes_clock():
    import inspect
    return len(inspect.signature(EventBus.__init__).parameters) > 1


def check(st, exp):
    for k, v in exp.items():
        have = st[SECTIONS[k]][k] if k in SECTIONS else st["signal"][k]
        if k == "nr" and v is not None:
            for nk, nv in v.items():
                assert have[nk] == nv, ("nr", nk, have, v)
            continue
        assert have == v, (k, have, v)


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_once_matches_expected(name):
    emu = Emulator(profile=name)
    port = emu.start()
    try:
        st = once(port)
        assert st["modem"]["state"] == "ready"
        exp = emu.expected()
        check(st, exp)
        assert st["modem"]["vendor"] == (exp["vendor"])
    finally:
        emu.stop()


@pytest.mark.parametrize("name", ["quectel-rm500q", "ublox-sara-r5", "sierra-em7455", "telit-le910"])
def test_once_not_registered_gives_nulls(name):
    emu = Emulator(profile=name)
    emu.state["cereg"] = 2
    emu.state["cgreg"] = 2
    emu.state["creg"] = 2
    port = emu.start()
    try:
        st = once(port)
        assert st["network"]["registration"] == "searching" and st["network"]["registered"] is False
        for k in ("rat", "rsrp_dbm", "rsrq_db", "sinr_db", "tac", "cell_id"):
            assert st["signal"][k] is None, (k, st["signal"])
        assert st["network"]["mcc"] is None
    finally:
        emu.stop()
