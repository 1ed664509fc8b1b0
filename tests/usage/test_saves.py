"""Flash saves bounded by bytes (usage.flash_save_mb, no more often than flash_min_interval_s) with a
FakeClock: the default per cap, writes per day, the loss a power cut can cause at any instant,
idle behaviour, and the pending growth carried over a kill."""
import os

import pytest

from tests.usage.helpers import MB, Rig, usage_error


@pytest.mark.parametrize("cap_mb,want_mb", [(None, 5), (100, 5), (500, 5), (1000, 10), (2000, 20),
                                            (5000, 50), (100000, 50)])
def test_default_save_bytes_is_one_percent_of_the_cap_within_5_to_50_mb(tmp_path, cap_mb, want_mb):
    r = Rig(tmp_path, cap_mb=cap_mb)
    assert r.t.save_bytes() == want_mb * MB
    r2 = Rig(tmp_path / "b", cap_mb=cap_mb, flash_save_mb=2.5)
    assert r2.t.save_bytes() == 2_500_000


def test_remote_cap_changes_the_default(tmp_path):
    r = Rig(tmp_path, cap_mb=1000)
    r.traffic(0)
    r.t.set_cap(3000)
    assert r.t.save_bytes() == 30 * MB


def count_flash_writes(r, seconds, bytes_per_sample, step=10):
    n0 = r.t.flash_writes
    worst = 0
    for _ in range(int(seconds // step)):
        r.traffic(bytes_per_sample, 0, step)
        # a power cut just before the next sample loses what is unsaved plus one sample of traffic
        worst = max(worst, r.t.unsaved_bytes() + bytes_per_sample)
    return r.t.flash_writes - n0, worst


@pytest.mark.parametrize("mbit,cap_mb", [(5, None), (5, 10000), (20, None), (20, 10000), (1, 10000)])
def test_writes_per_day_and_loss_bound_while_carrying_traffic(tmp_path, mbit, cap_mb):
    r = Rig(tmp_path, cap_mb=cap_mb, thresholds=[1000])  # no threshold saves in the way
    r.traffic(0)
    rate = mbit * 125000  # bytes/s
    writes, worst = count_flash_writes(r, 3600, rate * 10)
    S = r.t.save_bytes()
    T = r.t.settings["flash_min_interval_s"]
    bound = max(S, rate * T) + rate * r.t.settings["sample_s"]
    assert worst <= bound
    # at most one write per flash_min_interval_s, and one per S of traffic
    assert writes <= 3600 // T + 1
    assert writes >= min(3600 // T, rate * 3600 // S) - 1


def test_idle_keeps_the_periodic_behaviour(tmp_path):
    r = Rig(tmp_path, flash_save_s=900)
    r.traffic(0)
    n0 = r.t.flash_writes
    for _ in range(360):  # one hour without traffic: nothing changed, nothing written
        r.traffic(0)
    assert r.t.flash_writes == n0
    for _ in range(360):  # trickle far below flash_save_mb: the 15 min period applies
        r.traffic(100)
    assert r.t.flash_writes - n0 == 4


def test_min_interval_caps_the_write_rate(tmp_path):
    r = Rig(tmp_path, flash_save_mb=1, flash_min_interval_s=60)
    r.traffic(0)
    n0 = r.t.flash_writes
    for _ in range(60):  # 10 MB per 10 s sample: due every sample by bytes, written every 60 s
        r.traffic(10 * MB)
    assert r.t.flash_writes - n0 == 10
    assert r.t.unsaved_bytes() <= 60 * MB


def test_power_cut_at_any_sample_loses_at_most_the_bound(tmp_path):
    """Cut after every sample count 1..40 with the device re-created (the counter restarts): the
    ledger after restart is short by at most max(S, rate*T) + one sample, never more than it was."""
    rate = 2 * MB  # per 10 s sample
    for cut in range(1, 41):
        d = tmp_path / ("c%d" % cut)
        r = Rig(d, flash_save_mb=5)
        r.traffic(0)
        for _ in range(cut):
            r.traffic(rate)
        r.rx += rate // 2  # traffic after the last sample, before the cut
        true_total = r.t.status()["total_bytes"] + rate // 2
        os.remove(os.path.join(r.ram, "usage.json"))
        r.rx, r.tx, r.gen = 0, 0, r.gen + 1  # interface re-created: new ifindex, counters from 0
        r.restart()
        loaded = r.t.status()["total_bytes"]
        assert loaded <= true_total
        assert true_total - loaded <= max(5 * MB, rate / 10 * 60) + rate
        r.traffic(7000)
        assert r.t.status()["total_bytes"] == loaded + 7000  # the new counter is counted in full, once


def test_unsaved_growth_survives_a_kill(tmp_path):
    r = Rig(tmp_path, flash_save_mb=5, ram_save_s=1)
    r.traffic(0)
    r.traffic(3 * MB)  # RAM saved, flash not (below 5 MB)
    assert r.t.unsaved_bytes() == 3 * MB
    r.restart()  # killed: RAM survives; 3 MB still pending against the flash copy
    assert r.t.unsaved_bytes() == 3 * MB
    n0 = r.t.flash_writes
    r.traffic(2 * MB)
    assert r.t.flash_writes == n0 + 1 and r.t.unsaved_bytes() == 0


def test_config_checks_save_keys():
    assert usage_error({"flash_save_mb": 0}) == ("flash_save_mb", "must be a number between 0.01 and 100000, got 0")
    assert usage_error({"flash_min_interval_s": -1})[0] == "flash_min_interval_s"
    assert usage_error({"flash_save_mb": 12.5, "flash_min_interval_s": 30}) is None
    assert usage_error({"flash_save_mbb": 1})[0] == "flash_save_mbb"
