"""Exhaustion forecast from the last 24 h of hourly buckets: early warning for a steady burn, no
warning for a low burn, once per cycle unless it clears, not repeated after a restart."""
from tests.support.fakeclock import FakeClock
from tests.usage.helpers import MB, Rig, ep

DAY = 86400


def test_steady_burn_warns_at_least_three_days_ahead(tmp_path):
    clock = FakeClock(ep(2026, 11, 1, 0, 0, 5))
    r = Rig(tmp_path, clock=clock, ram_save_s=3600, flash_save_s=86400, cap_mb=10_000)
    r.traffic(0)
    r.burn(500 * MB * 22, 22 * DAY)  # 500 MB/day: the cap is reached on day 20 (Nov 21)
    fc = r.kinds("usage_forecast")
    assert len(fc) == 1
    ev = fc[0]
    true_exhaustion = ep(2026, 11, 21)
    assert ev["exhaustion_ts"] - ev["ts"] >= 3 * DAY
    assert abs(ev["exhaustion_ts"] - true_exhaustion) < 2 * DAY
    assert ev["exhaustion"].startswith("2026-11-2") and ev["cycle_end"] == ep(2026, 12, 1)
    assert ev["cap_bytes"] == 10_000 * MB and ev["iccid"] == r.iccid
    # the status carries the projection meanwhile; past the cap it is when the cap was reached
    st = r.t.status()
    assert st["used_pct"] >= 100 and abs(st["forecast_exhaustion"] - true_exhaustion) < DAY


def test_burn_starting_mid_cycle_still_warns_early(tmp_path):
    clock = FakeClock(ep(2026, 11, 1, 0, 0, 5))
    r = Rig(tmp_path, clock=clock, ram_save_s=3600, flash_save_s=86400, cap_mb=15_000)
    r.traffic(0)
    r.burn(0, 12 * DAY, step=3600)  # primary line fine for 12 days
    r.burn(1000 * MB * 10, 10 * DAY)  # failover: 1 GB/day -> cap on Nov 28
    fc = r.kinds("usage_forecast")
    assert len(fc) == 1
    assert fc[0]["exhaustion_ts"] - fc[0]["ts"] >= 3 * DAY
    assert fc[0]["ts"] < ep(2026, 11, 14)


def test_low_burn_never_warns(tmp_path):
    clock = FakeClock(ep(2026, 11, 1, 0, 0, 5))
    r = Rig(tmp_path, clock=clock, ram_save_s=3600, flash_save_s=86400, cap_mb=10_000)
    r.traffic(0)
    r.burn(100 * MB * 29, 29 * DAY, step=1800)
    assert r.kinds("usage_forecast") == []
    st = r.t.status()
    assert st["forecast_exhaustion"] > st["cycle_end"]


def test_warning_clears_when_the_burn_stops_and_is_not_repeated_after_restart(tmp_path):
    clock = FakeClock(ep(2026, 11, 1, 0, 0, 5))
    r = Rig(tmp_path, clock=clock, ram_save_s=3600, flash_save_s=86400, cap_mb=10_000)
    r.traffic(0)
    r.burn(2000 * MB, 1 * DAY)  # 2 GB/day: warns
    assert len(r.kinds("usage_forecast")) == 1
    r.restart()
    r.burn(2000 * MB, 1 * DAY)
    assert len(r.kinds("usage_forecast")) == 1  # persisted flag: not again after a restart
    r.burn(0, 2 * DAY, step=3600)  # primary back: burn rate falls to 0, the warning clears
    assert r.t.status()["forecast_exhaustion"] is None
    r.burn(2000 * MB, 1 * DAY)  # a new failover trend warns again
    assert len(r.kinds("usage_forecast")) == 2


def test_no_cap_no_forecast(tmp_path):
    clock = FakeClock(ep(2026, 11, 1, 0, 0, 5))
    r = Rig(tmp_path, clock=clock, ram_save_s=3600, flash_save_s=86400)
    r.traffic(0)
    r.burn(5000 * MB, 2 * DAY)
    assert r.kinds("usage_forecast") == [] and r.t.status()["forecast_exhaustion"] is None
