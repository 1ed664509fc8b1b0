"""The footprint bench's parsers on sample output: the agent log (memstat lines, console event
echoes, status replies, MemoryErrors) and the import-cost driver's rows; the import order."""
import importlib.util
import os

from tests.support import paths, scenario

SAMPLE = """\
wanwatch: memstat alloc=258848 live=192960 peak=192960 free=843328
wanwatch: mqtt: connected to 10.9.0.10:1883
{"v":1,"type":"agent_start","seq":1,"boot":1,"ts":1796153434,"version":"0.1.0"}
{"v":1,"type":"failback","seq":2,"boot":1,"ts":1796153434,"from":"wwan","to":"wan","reason":"up","hold_down_s":6}
{"v":1,"type":"agent_start","seq":1,"boot":1,"ts":1796153434,"version":"0.1.0"}
{"v":1,"type":"failback","seq":2,"boot":1,"ts":1796153434,"from":"wwan","to":"wan","reason":"up","hold_down_s":6}
wanwatch: memstat alloc=441760 live=207904 peak=212608 free=828384
{"v":1,"type":"modem_absent","seq":4,"boot":1,"ts":1796153440,"port":"/tmp/tty","error":"MemoryError: memory allocation failed"}
{"v":1,"type":"failover","seq":5,"boot":1,"ts":1796153441,"from":"wan","to":"wwan","reason":"down","hold_down_s":6}
{"v":1,"type":"modem_absent","seq":4,"boot":1,"ts":1796153440,"port":"/tmp/tty","error":"MemoryError: memory allocation failed"}
{"v":1,"type":"failover","seq":5,"boot":1,"ts":1796153441,"from":"wan","to":"wwan","reason":"down","hold_down_s":6}
{"v":1,"device_id":"footprint-1","links":{"wan":{"state":"disabled"}},"mqtt":{"connected":false,"queued":3,"dropped":0}}
wanwatch: memstat alloc=305856 live=212352 peak=212608 free=823936
LOADED wanwatch wanwatch.agent wanwatch.modem.engine
Traceback (most recent call last):
  File "wanwatch/report/reporter.py", line 120, in run
MemoryError: memory allocation failed, allocating 480 bytes
{"v":1,"type":"failover"
"""


def test_log_parser_on_a_sample():
    log = scenario.parse(SAMPLE)
    assert log.peak() == 212608
    assert [m[1] for m in log.memstat] == [192960, 207904, 212352]
    assert sorted(log.events) == [1, 2, 4, 5]  # echoes deduplicated, the cut line ignored
    assert log.seq_gaps() == 1                 # seq 3 rolled out of the console's last 8 unseen
    # the failback came before any failover: not a failover + failback; the failover alone is
    assert log.switched() == (True, False)
    # one MemoryError line of the log + one event naming it (echoed twice, counted once)
    assert log.errors() == 2
    assert log.status["mqtt"]["connected"] is False
    assert log.loaded == {"wanwatch", "wanwatch.agent", "wanwatch.modem.engine"}
    assert log.has("modem_absent") and not log.has("modem_absent", after_seq=4)


def test_switched_needs_failover_then_failback_in_that_direction():
    ev = '{"v":1,"type":"%s","seq":%d,"boot":1,"ts":1,"from":"%s","to":"%s"}'
    wrong = scenario.parse("\n".join([ev % ("failover", 1, "wwan", "wan"), ev % ("failback", 2, "wan", "wwan")]))
    assert wrong.switched() == (False, False)
    both = scenario.parse("\n".join([ev % ("failback", 4, "wwan", "wan"), ev % ("failover", 3, "wan", "wwan")]))
    assert both.switched() == (True, True)  # ordered by seq, not by the order the lines were read
    assert scenario.parse("wanwatch: started\n").errors() == 0 and scenario.parse("").peak() is None


def _bench():
    spec = importlib.util.spec_from_file_location("bench_footprint", os.path.join(paths.ROOT, "bench", "bench_footprint.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_import_rows_separate_qstr_growth():
    out = ("qstr pool: n_pool=2, n_qstr=54, n_str_data_bytes=472, n_total_bytes=1272\n"
           "qstr pool: n_pool=2, n_qstr=55, n_str_data_bytes=485, n_total_bytes=1285\n"
           "ROW asyncio 4096 -1\n"
           "ROW termios absent -1\n"
           "qstr pool: n_pool=3, n_qstr=66, n_str_data_bytes=657, n_total_bytes=2385\n"
           "ROW wanwatch.compat 1888 -1\n")
    assert _bench().import_rows(out) == [("asyncio", 4096, 13, 1), ("wanwatch.compat", 1888, 1100, 11)]


def test_import_order_puts_dependencies_first():
    stdlib, order = _bench().import_order()
    pos = {m: i for i, m in enumerate(order)}
    assert "wanwatch.__main__" not in pos and "asyncio" in stdlib and "uasyncio" not in stdlib
    for before, after in (("wanwatch", "wanwatch.compat"), ("wanwatch.compat", "wanwatch.modem.engine"),
                          ("wanwatch.modem.vendors", "wanwatch.modem.vendors.generic"),
                          ("wanwatch.modem.vendors.generic", "wanwatch.modem.vendors.quectel"),
                          ("wanwatch.modem.serialport", "wanwatch.modem.supervisor"), ("wanwatch.failover.linkstate", "wanwatch.failover.policy"),
                          ("wanwatch.report.mqtt.codec", "wanwatch.report.mqtt.client"), ("wanwatch.report.mqtt.client", "wanwatch.report.reporter")):
        assert pos[before] < pos[after], (before, after)
