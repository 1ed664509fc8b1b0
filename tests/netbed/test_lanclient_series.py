"""The LAN client's per-kind sample store and its report arithmetic (pure: no namespaces)."""
from host_tools.netbed.lanclient import FAIL, OK, Series


def series(results, period=0.1, t0=100.0):
    s = Series()
    for n, r in enumerate(results):
        idx = s.add(t0 + n * period)
        if r is not None:
            s.set(idx, OK if r else FAIL)
    return s


def test_report_counts_lost_seconds_and_longest_gap():
    # ok ok fail fail fail ok ok pending
    s = series([1, 1, 0, 0, 0, 1, 1, None])
    r = s.report(100.0, 100.8, 0.1)
    assert (r["sent"], r["ok"]) == (7, 4)               # the pending sample is left out
    assert r["lost_s"] == 0.3
    assert r["longest_gap_s"] == 0.4                    # 100.1 -> 100.5
    assert s.report(100.25, 100.45, 0.1) == {"sent": 2, "ok": 0, "lost_s": 0.2, "longest_gap_s": 0.2}
    assert s.first_ok_after(100.15) == 100.5
    assert s.first_ok_after(100.65) is None             # only the pending one after it


def test_trim_keeps_indexes_valid():
    s = series([1] * 10)
    s.trim(100.45)
    assert len(s.t) == 5 and s.base == 5
    idx = s.add(101.0)
    assert idx == 10
    s.set(idx, OK)
    s.set(2, FAIL)                                      # trimmed away: ignored
    assert s.report(100.0, 102.0, 0.1)["ok"] == 6
