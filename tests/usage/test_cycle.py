"""Billing-cycle arithmetic: reset day/hour, short months, leap years, year end, UTC offset, and
the same answers under the real MicroPython."""
import calendar
import datetime as dt
import json

from tests.conftest import run_micropython
from wanwatch.usage import cycle


def ep(y, m, d, h=0, mi=0):
    return calendar.timegm((y, m, d, h, mi, 0))


def test_days_from_civil_matches_python_for_many_dates():
    base = dt.date(1970, 1, 1)
    for y in (1969, 1970, 1999, 2000, 2024, 2025, 2026, 2100, 2400):
        for m in range(1, 13):
            for d in (1, 15, 28, cycle.days_in_month(y, m)):
                n = (dt.date(y, m, d) - base).days
                assert cycle.days_from_civil(y, m, d) == n
                assert cycle.civil_from_days(n) == (y, m, d)


def test_reset_day_1_midnight():
    assert cycle.bounds(ep(2026, 11, 22, 23, 44), 1) == (ep(2026, 11, 1), ep(2026, 12, 1))
    assert cycle.bounds(ep(2026, 11, 1), 1) == (ep(2026, 11, 1), ep(2026, 12, 1))  # start inclusive
    assert cycle.bounds(ep(2026, 11, 1) - 1, 1) == (ep(2026, 10, 1), ep(2026, 11, 1))


def test_reset_day_31_in_february_is_the_last_day():
    # non-leap 2026: the cycle that contains Feb 28 starts then and ends on Mar 31
    assert cycle.bounds(ep(2026, 2, 20), 31) == (ep(2026, 1, 31), ep(2026, 2, 28))
    assert cycle.bounds(ep(2026, 2, 28, 5), 31) == (ep(2026, 2, 28), ep(2026, 3, 31))
    assert cycle.bounds(ep(2026, 4, 30, 1), 31) == (ep(2026, 4, 30), ep(2026, 5, 31))


def test_leap_year_february():
    assert cycle.bounds(ep(2028, 2, 28, 12), 31) == (ep(2028, 1, 31), ep(2028, 2, 29))
    assert cycle.bounds(ep(2028, 2, 29, 0), 30) == (ep(2028, 2, 29), ep(2028, 3, 30))
    assert cycle.bounds(ep(2100, 2, 28, 1), 29) == (ep(2100, 2, 28), ep(2100, 3, 29))  # 2100 not leap


def test_year_end_and_reset_hour():
    assert cycle.bounds(ep(2026, 12, 31, 23, 59), 15, 6) == (ep(2026, 12, 15, 6), ep(2027, 1, 15, 6))
    assert cycle.bounds(ep(2027, 1, 15, 5, 59), 15, 6) == (ep(2026, 12, 15, 6), ep(2027, 1, 15, 6))
    assert cycle.bounds(ep(2027, 1, 2), 1) == (ep(2027, 1, 1), ep(2027, 2, 1))
    assert cycle.bounds(ep(2026, 12, 31), 1) == (ep(2026, 12, 1), ep(2027, 1, 1))


def test_utc_offset():
    # UTC+2, reset local midnight on the 1st = 22:00 UTC on the last day of the month before
    assert cycle.bounds(ep(2026, 11, 30, 22, 30), 1, 0, 120) == (ep(2026, 11, 30, 22), ep(2026, 12, 31, 22))
    assert cycle.bounds(ep(2026, 11, 30, 21, 30), 1, 0, 120) == (ep(2026, 10, 31, 22), ep(2026, 11, 30, 22))
    # UTC-5: reset 00:00 local on the 1st = 05:00 UTC
    assert cycle.bounds(ep(2027, 1, 1, 4), 1, 0, -300) == (ep(2026, 12, 1, 5), ep(2027, 1, 1, 5))


def test_iso():
    assert cycle.iso_utc(ep(2026, 12, 1, 13, 5)) == "2026-12-01T13:05Z"


CASES = [(ep(2026, 2, 20), 31, 0, 0), (ep(2028, 2, 29, 3), 31, 2, 0), (ep(2026, 12, 31, 23), 1, 0, 60),
         (ep(2027, 1, 1), 31, 23, -600), (ep(2026, 11, 22, 23), 22, 23, 0), (ep(2099, 12, 31), 30, 0, 840)]


def test_same_answers_under_micropython(tmp_path):
    script = tmp_path / "c.py"
    script.write_text("from wanwatch.usage import cycle\nimport json\nprint(json.dumps([list(cycle.bounds(*c)) for c in %r]))\n"
                      % (CASES,))
    r = run_micropython([str(script)])
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [list(cycle.bounds(*c)) for c in CASES]
