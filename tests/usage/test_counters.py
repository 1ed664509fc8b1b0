"""CounterAccumulator: steady counting, 32-bit wraps, resets, device re-creation, glitches; sysfs reader."""
from wanwatch.usage.counters import WRAP32, CounterAccumulator, read_sys


def test_first_reading_is_a_baseline_then_deltas():
    a = CounterAccumulator()
    assert a.feed(1000, 50, "kernel:wwan0", 7) == (0, 0)
    assert a.feed(1500, 80, "kernel:wwan0", 7) == (500, 30)
    assert a.feed(1500, 80, "kernel:wwan0", 7) == (0, 0)


def test_32bit_wrap_counts_across_the_wrap():
    a = CounterAccumulator()
    a.feed(WRAP32 - 1000, WRAP32 - 10, "modem")
    assert a.feed(500, 20, "modem") == (1500, 30)
    assert a.feed(700, 20, "modem") == (200, 0)


def test_reset_counts_new_value_from_zero():
    a = CounterAccumulator()
    a.feed(10_000_000, 5_000_000, "modem")
    # modem rebooted: counter restarted, 4000 new bytes since
    assert a.feed(4000, 100, "modem") == (4000, 100)
    assert a.feed(5000, 100, "modem") == (1000, 0)


def test_device_recreated_new_ifindex_counts_new_counter():
    a = CounterAccumulator()
    a.feed(3_000_000, 1_000_000, "kernel:wwan0", 5)
    # re-created and already past the old value: only the ifindex tells
    assert a.feed(3_500_000, 1_200_000, "kernel:wwan0", 9) == (3_500_000, 1_200_000)
    assert a.feed(3_600_000, 1_200_000, "kernel:wwan0", 9) == (100_000, 0)


def test_source_change_rebaselines_and_none_keeps_baseline():
    a = CounterAccumulator()
    a.feed(100, 100, "kernel:wwan0", 1)
    assert a.feed(None, None, "kernel:wwan0") == (0, 0)
    assert a.feed(300, 100, "kernel:wwan0", 1) == (200, 0)
    assert a.feed(9_999_999, 5, "modem") == (0, 0)
    assert a.feed(10_000_099, 5, "modem") == (100, 0)


def test_implausible_jump_is_not_counted():
    a = CounterAccumulator()
    a.feed(100, 100, "modem")
    assert a.feed(100 + 10 ** 12, 150, "modem", max_delta=10 ** 9) == (0, 50)
    assert a.feed(100 + 10 ** 12 + 5, 150, "modem", max_delta=10 ** 9) == (5, 0)


def test_snapshot_restore_round_trip():
    a = CounterAccumulator()
    a.feed(100, 200, "kernel:wwan0", 3)
    b = CounterAccumulator()
    s = a.snapshot()
    b.restore(s["src"], s["gen"], s["rx"], s["tx"])
    assert b.feed(150, 260, "kernel:wwan0", 3) == (50, 60)


def test_read_sys_from_a_fake_root(tmp_path):
    d = tmp_path / "wwan0" / "statistics"
    d.mkdir(parents=True)
    (d / "rx_bytes").write_text("12345\n")
    (d / "tx_bytes").write_text("678\n")
    (tmp_path / "wwan0" / "ifindex").write_text("4\n")
    assert read_sys("wwan0", str(tmp_path)) == (12345, 678, 4)
    assert read_sys("nope0", str(tmp_path)) is None
    assert read_sys("lo")[2] == 1  # the real /sys
