"""UsageTracker ledgers with a FakeClock: status shape, SIM swap, cycles, thresholds across
restarts, remote hooks, own traffic, persistence (kill vs power cut)."""
import asyncio
import json
import os

from tests.usage.helpers import MB, Rig, ep, usage_error
from tests.support.fakeclock import FakeClock
from wanwatch.usage import tracker as U

KEYS = {"iccid", "rx_bytes", "tx_bytes", "total_bytes", "cap_bytes", "used_pct", "cycle_start",
        "cycle_end", "forecast_exhaustion", "own_bytes", "remaining_bytes", "carrier_used_bytes",
        "carrier_remaining_bytes", "carrier_at", "forecast_rate_bps"}


def test_status_shape_before_and_after_samples(tmp_path):
    r = Rig(tmp_path)
    st = r.t.status()
    assert set(st) == KEYS
    assert st["iccid"] is None and st["total_bytes"] is None and st["cap_bytes"] is None
    assert st["used_pct"] is None and st["forecast_exhaustion"] is None
    assert (st["cycle_start"], st["cycle_end"]) == (ep(2026, 11, 1), ep(2026, 12, 1))
    r.traffic(0)  # baseline
    r.traffic(3000, 1000)
    st = r.t.status()
    assert set(st) == KEYS
    assert st == {"iccid": r.iccid, "rx_bytes": 3000, "tx_bytes": 1000, "total_bytes": 4000, "cap_bytes": None,
                  "used_pct": None, "cycle_start": ep(2026, 11, 1), "cycle_end": ep(2026, 12, 1),
                  "forecast_exhaustion": None, "own_bytes": 0, "remaining_bytes": None,
                  "carrier_used_bytes": None, "carrier_remaining_bytes": None, "carrier_at": None,
                  "forecast_rate_bps": None}
    r2 = Rig(tmp_path / "b", cap_mb=1)
    r2.traffic(0)
    r2.traffic(250_000)
    assert r2.t.status()["used_pct"] == 25.0 and r2.t.status()["cap_bytes"] == 1_000_000


def test_sim_swap_new_ledger_old_kept_bounded(tmp_path):
    r = Rig(tmp_path, max_ledgers=2)
    r.traffic(0)
    r.traffic(5000)
    a = r.iccid
    r.iccid = "8944500000000000002"
    r.traffic(700)
    st = r.t.status()
    assert st["iccid"] == r.iccid and st["total_bytes"] == 700
    assert r.t.ledger(a)["rx"] == 5000
    r.iccid = a  # swapped back: resumes
    r.traffic(100)
    assert r.t.status()["total_bytes"] == 5100
    r.iccid = "8944500000000000003"
    r.traffic(1)
    assert r.t.ledger("8944500000000000002") is None  # least recently used dropped
    assert r.t.ledger(a)["rx"] == 5100
    # the swap is on flash at once, with both ledgers
    ic = [L["iccid"] for L in r.file("flash")["ledgers"]]
    assert ic == ["8944500000000000003", a]
    r.restart()
    assert r.t.status()["iccid"] == "8944500000000000003"


def test_unknown_iccid_is_adopted_when_the_modem_reports_it(tmp_path):
    r = Rig(tmp_path)
    real = r.iccid
    r.iccid = None
    r.traffic(0)
    r.traffic(1000)
    assert r.t.status()["iccid"] is None and r.t.status()["total_bytes"] == 1000
    r.iccid = real
    r.traffic(10)
    assert r.t.status()["iccid"] == real and r.t.status()["total_bytes"] == 1010
    assert len(r.t.ledgers) == 1


def test_counter_reset_wrap_and_recreation_through_the_tracker(tmp_path):
    r = Rig(tmp_path)
    r.traffic(0)
    r.rx = 2 ** 32 - 1000
    r.t.sample(r.iccid, r.rx, r.tx, "kernel:wwan0", r.gen)  # jump counted (plausible in 10 s)
    before = r.t.status()["rx_bytes"]
    r.clock.advance(10)
    r.t.sample(r.iccid, 500, r.tx, "kernel:wwan0", r.gen)  # 32-bit wrap
    assert r.t.status()["rx_bytes"] == before + 1500
    r.clock.advance(10)
    r.t.sample(r.iccid, 300, r.tx, "kernel:wwan0", 11)  # device re-created
    assert r.t.status()["rx_bytes"] == before + 1800
    r.clock.advance(10)
    r.t.sample(r.iccid, 100, r.tx, "kernel:wwan0", 11)  # reset in place
    assert r.t.status()["rx_bytes"] == before + 1900


def test_rollover_archives_and_rearms(tmp_path):
    clock = FakeClock(ep(2026, 2, 27, 23, 0))
    r = Rig(tmp_path, clock=clock, cap_mb=1, reset_day=31, reset_hour=0)
    r.traffic(0)
    r.traffic(600_000)
    assert [e["pct"] for e in r.kinds("usage_threshold")] == [50]
    r.t.set_cap(2)
    st = r.t.status()
    assert (st["cycle_start"], st["cycle_end"]) == (ep(2026, 1, 31), ep(2026, 2, 28))
    clock.advance(3600)  # now 2026-02-28 00:00:10: new cycle (31 -> last day of February)
    r.traffic(1000)
    st = r.t.status()
    assert (st["cycle_start"], st["cycle_end"]) == (ep(2026, 2, 28), ep(2026, 3, 31))
    assert st["cap_bytes"] == 1_000_000  # set_cap lasted until the end of its cycle
    assert st["total_bytes"] == 0
    L = r.t.ledger(r.iccid)
    assert L["hist"][-1][:4] == [ep(2026, 1, 31), ep(2026, 2, 28), 601_000, 0]
    r.traffic(600_000)
    assert [e["pct"] for e in r.kinds("usage_threshold")] == [50, 50]  # once per cycle


def test_year_end_rollover(tmp_path):
    clock = FakeClock(ep(2026, 12, 31, 23, 59, 30))
    r = Rig(tmp_path, clock=clock)
    r.traffic(0)
    r.traffic(100)
    r.traffic(100, step=60)  # 2027-01-01 00:00:40
    st = r.t.status()
    assert (st["cycle_start"], st["cycle_end"]) == (ep(2027, 1, 1), ep(2027, 2, 1))
    assert r.t.ledger(r.iccid)["hist"][-1][2] == 200  # the sample spanning midnight: old cycle


def test_clock_not_set_then_ntp(tmp_path):
    clock = FakeClock(946684800)  # 2000-01-01: router clock before NTP
    r = Rig(tmp_path, clock=clock)
    r.traffic(0)
    r.traffic(100)
    assert r.t.status()["cycle_start"] is None
    clock.set_epoch(ep(2026, 11, 22, 10))
    r.traffic(100)
    st = r.t.status()
    assert st["cycle_start"] == ep(2026, 11, 1) and st["total_bytes"] == 200


def test_thresholds_once_per_cycle_and_not_after_restart(tmp_path):
    r = Rig(tmp_path, cap_mb=10)
    r.traffic(0)
    for _ in range(12):
        r.traffic(1 * MB)
    pcts = [e["pct"] for e in r.kinds("usage_threshold")]
    assert pcts == [50, 80, 95, 100]
    ev = r.kinds("usage_threshold")[-1]
    assert ev["action"] == "none" and ev["iccid"] == r.iccid and ev["cap_bytes"] == 10 * MB
    # crossing was on flash before it was announced
    assert sorted(r.file("flash")["ledgers"][0]["crossed"]) == [50, 80, 95, 100]
    for _ in range(3):
        r.restart()
        r.traffic(1 * MB)
    assert [e["pct"] for e in r.kinds("usage_threshold")] == [50, 80, 95, 100]
    # power cut: RAM state gone, flash alone still remembers the crossings
    os.remove(os.path.join(r.ram, "usage.json"))
    r.restart(boot="boot-2")
    r.traffic(1 * MB)
    assert [e["pct"] for e in r.kinds("usage_threshold")] == [50, 80, 95, 100]


def test_custom_thresholds_and_at_cap_action_hook(tmp_path):
    r = Rig(tmp_path, cap_mb=1, thresholds=[90, 100], at_cap_action="alert_sms")
    got = []
    r.t.at_cap_hook = got.append
    r.traffic(0)
    r.traffic(1_200_000)  # both at once, in order
    assert [e["pct"] for e in r.kinds("usage_threshold")] == [90, 100]
    assert got and got[0]["pct"] == 100 and got[0]["action"] == "alert_sms"


def test_set_cap_and_reset_emit_audit_events_and_persist(tmp_path):
    r = Rig(tmp_path, cap_mb=10)
    r.traffic(0)
    r.traffic(9 * MB)
    assert [e["pct"] for e in r.kinds("usage_threshold")] == [50, 80]
    st = r.t.set_cap(20)
    assert st["cap_bytes"] == 20 * MB and st["used_pct"] == 45.0
    ev = r.kinds("usage_cap_changed")[-1]
    assert ev["cap_bytes"] == 20 * MB and ev["previous_cap_bytes"] == 10 * MB and ev["until"] == st["cycle_end"]
    r.traffic(2 * MB)  # 55 % of the new cap: 50 fires again (re-armed against the new cap)
    assert [e["pct"] for e in r.kinds("usage_threshold")] == [50, 80, 50]
    r.restart()
    assert r.t.status()["cap_bytes"] == 20 * MB
    assert r.t.reset() is True
    ev = r.kinds("usage_reset")[-1]
    assert ev["previous_total_bytes"] == 11 * MB and ev["iccid"] == r.iccid
    assert r.t.status()["total_bytes"] == 0
    assert r.t.reset("nope") is False
    r.restart()  # the reset wins over the larger RAM/flash copies from before
    assert r.t.status()["total_bytes"] == 0
    r.traffic(1000)
    assert r.t.status()["total_bytes"] == 1000
    try:
        r.t.set_cap(-1)
        assert False
    except ValueError:
        pass


def test_own_bytes(tmp_path):
    r = Rig(tmp_path)
    r.t.add_own(100)  # before any ledger: kept for it
    r.traffic(0)
    r.t.add_own(250)
    r.traffic(5000)
    assert r.t.status()["own_bytes"] == 350
    r.traffic(1, step=60)  # the RAM save is due: own bytes are persisted with it
    r.restart()
    assert r.t.status()["own_bytes"] == 350


def test_kill_resumes_from_the_counter_baseline(tmp_path):
    r = Rig(tmp_path, ram_save_s=60, flash_save_s=900)
    r.traffic(0)
    for _ in range(7):
        r.traffic(1000, 10)  # 70 s: one RAM save happened
    # killed now; traffic continues while the agent is down
    r.rx += 50_000
    r.clock.advance(30)
    r.restart()
    r.traffic(1)
    assert r.t.status()["total_bytes"] == 7 * 1010 + 50_001  # nothing lost


def test_power_cut_loses_at_most_the_byte_bound(tmp_path):
    r = Rig(tmp_path, ram_save_s=60, flash_save_s=900)
    r.traffic(0)
    rate = 1_000_000  # bytes per 10 s sample: flash saved every 60 s (flash_min_interval_s)
    for _ in range(200):
        r.traffic(rate)
    true_total = r.t.status()["total_bytes"]
    # power cut: RAM dir gone, kernel counter restarts from 0 after the reboot
    os.remove(os.path.join(r.ram, "usage.json"))
    r.rx, r.tx = 0, 0
    r.restart(boot="boot-2")
    loaded = r.t.status()["total_bytes"]
    assert true_total - loaded <= max(5 * MB, 6 * rate) + rate  # max(flash_save_mb, rate * 60 s) + a sample
    assert loaded <= true_total
    r.traffic(5000)  # new boot: the whole new counter is new traffic
    assert r.t.status()["total_bytes"] == loaded + 5000


def test_larger_of_ram_and_flash_per_ledger():
    a = {"iccid": "A", "gen": 0, "rx": 100, "tx": 0, "own": 0, "crossed": [50]}
    a2 = {"iccid": "A", "gen": 0, "rx": 90, "tx": 0, "own": 0, "crossed": [80]}
    b = {"iccid": "B", "gen": 1, "rx": 5, "tx": 0, "own": 0}
    b2 = {"iccid": "B", "gen": 0, "rx": 500, "tx": 0, "own": 0}
    seq, ls = U.merge_docs([{"v": 1, "seq": 5, "ledgers": [a2, b]}, {"v": 1, "seq": 9, "ledgers": [b2, a]},
                            None, {"v": 2}, "junk"])
    assert seq == 9
    assert [(L["iccid"], L["rx"]) for L in ls] == [("B", 5), ("A", 100)]
    assert sorted(ls[1]["crossed"]) == [50, 80]


def test_unreadable_state_files_are_ignored(tmp_path):
    r = Rig(tmp_path)
    r.traffic(0)
    r.traffic(1000)
    r.t.save(True)
    with open(os.path.join(r.ram, "usage.json"), "w") as f:
        f.write('{"v":1,"seq":99,"ledgers":[{"iccid":')
    r.restart()
    assert r.t.status()["total_bytes"] == 1000


def test_run_never_raises_and_uses_sources(tmp_path):
    clock = FakeClock(ep(2026, 11, 10))
    from wanwatch.events import EventBus
    calls = {"n": 0}

    def bad_counters():
        calls["n"] += 1
        if calls["n"] % 2:
            raise OSError("modem gone")
        return (calls["n"] * 1000, 0)

    t = U.UsageTracker({"usage": {"sample_s": 0.01, "source": "modem"}}, clock, EventBus(clock),
                       str(tmp_path / "r"), str(tmp_path / "f"), counters_source=bad_counters,
                       iccid_source=lambda: "89440001", boot_id=None)

    async def go():
        task = asyncio.ensure_future(t.run())
        for _ in range(20):
            clock.advance(1)
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(go())
    assert calls["n"] >= 6
    assert t.status()["iccid"] == "89440001" and t.status()["total_bytes"] > 0

    async def acounters():
        return (5, 6)
    t2 = U.UsageTracker({"usage": {"source": "auto"}}, clock, EventBus(clock), str(tmp_path / "r2"),
                        str(tmp_path / "f2"), counters_source=acounters, device="nonexistent0", boot_id=None)
    assert asyncio.run(t2.read_counters()) == (5, 6, "modem", None)
    t3 = U.UsageTracker({"usage": {}}, clock, EventBus(clock), str(tmp_path / "r3"), str(tmp_path / "f3"),
                        device="lo", boot_id=None)
    assert asyncio.run(t3.read_counters())[2] == "kernel:lo"


def test_config_reports_bad_usage_keys():
    assert usage_error({}) is None
    for bad, key in (({"reset_hour": 24}, "reset_hour"), ({"thresholds": [50, -1]}, "thresholds[1]"),
                     ({"at_cap_action": "cut"}, "at_cap_action"), ({"utc_offset_min": "x"}, "utc_offset_min"),
                     ({"flash_save_s": 0}, "flash_save_s")):
        assert usage_error(bad)[0] == key, bad


def test_placeholder_merges_into_an_existing_ledger_of_the_same_sim(tmp_path):
    r = Rig(tmp_path)
    real = r.iccid
    r.traffic(0)
    r.traffic(1000)
    r.iccid = "8944500000000000009"
    r.traffic(10)
    r.t.ledgers[0]["iccid"] = None  # as if this ledger had been started before the ICCID was known
    r.iccid = real
    r.traffic(5)
    assert [L["iccid"] for L in r.t.ledgers] == [real]
    assert r.t.status()["total_bytes"] == 1015


def test_auto_source_does_not_fall_back_to_modem_when_the_counted_device_vanishes(tmp_path):
    root = tmp_path / "sys"
    (root / "wwan0" / "statistics").mkdir(parents=True)

    def put(rx, tx, idx):
        (root / "wwan0" / "statistics" / "rx_bytes").write_text(str(rx))
        (root / "wwan0" / "statistics" / "tx_bytes").write_text(str(tx))
        (root / "wwan0" / "ifindex").write_text(str(idx))

    clock = FakeClock(ep(2026, 11, 10))
    from wanwatch.events import EventBus
    t = U.UsageTracker({"usage": {"sys_root": str(root)}}, clock, EventBus(clock), str(tmp_path / "r"),
                       str(tmp_path / "f"), counters_source=lambda: (10 ** 9, 10 ** 9), device="wwan0",
                       iccid_source=lambda: "8944", boot_id=None)
    put(100, 100, 5)
    asyncio.run(t.tick())
    put(600, 100, 5)
    clock.advance(10)
    asyncio.run(t.tick())
    import shutil
    shutil.rmtree(root / "wwan0")  # modem reboot: device gone
    clock.advance(10)
    asyncio.run(t.tick())
    (root / "wwan0" / "statistics").mkdir(parents=True)
    put(300, 50, 6)  # re-created, counted from zero
    clock.advance(10)
    asyncio.run(t.tick())
    assert (t.status()["rx_bytes"], t.status()["tx_bytes"]) == (800, 50)
