"""Recovery ladder: pure decisions with a fake clock, persisted across restarts, bounded reboots; the same
scenario gives the same steps on the real MicroPython."""
import json
import os

from tests.conftest import run_micropython
from tests.support.fakeclock import FakeClock
from wanwatch.modem.recovery import Recovery, settings

HERE = os.path.dirname(os.path.abspath(__file__))


def drive(rec, clock, seconds, answered, registered, every=30):
    out = []
    t = 0
    while t < seconds:
        d = rec.observe(answered, registered)
        if d:
            out.append((int(clock.time() - 1_790_000_000), d[0]))
        clock.advance(every)
        t += every
    return out


def test_defaults_and_bad_values():
    s = settings({"reattach_after_s": "x", "reboot": 1, "step_wait_s": 10, "bogus": 1})
    assert s["reattach_after_s"] == 600 and s["reboot"] is False and s["step_wait_s"] == 10


def test_not_registered_ladder_without_reboot():
    c = FakeClock()
    r = Recovery({}, c)
    steps = drive(r, c, 3600, True, False)
    assert [s for _, s in steps][:2] == ["reattach", "reset"]
    assert steps[0][0] == 600 and steps[1][0] == 900
    # the ladder starts again, slower each round: bounded
    assert [s for _, s in steps][2:4] == ["reattach", "reset"] and steps[2][0] - steps[1][0] >= 600
    long = drive(r, c, 86400, True, False)
    assert len(long) <= 2 * 86400 // 2400 + 2


def test_power_and_reboot_when_available_and_configured():
    c = FakeClock()
    r = Recovery({"reboot": True}, c, has_power=True)
    assert [s for _, s in drive(r, c, 3600, True, False)][:4] == ["reattach", "reset", "power", "reboot"]


def test_no_answer_resyncs_first_then_skips_reattach():
    c = FakeClock()
    r = Recovery({}, c)
    steps = drive(r, c, 1200, False, False)
    names = [s for _, s in steps]
    assert names[0] == "resync" and "reattach" not in names and "reset" in names
    assert names.index("reset") > 0 and steps[names.index("reset")][0] >= 120


def test_recovery_ends_episode():
    c = FakeClock()
    r = Recovery({}, c)
    drive(r, c, 700, True, False)
    assert r.taken == ["reattach"]
    assert r.observe(True, True) is None and r.episode is None and r.taken == []


def test_reboots_at_most_three_per_day_and_persisted(tmp_path):
    p = str(tmp_path / "recovery.json")
    c = FakeClock()
    boots = 0
    for _ in range(6):  # six router restarts in a row, each a fresh Recovery reading the file
        r = Recovery({"reboot": True, "reattach_after_s": 60, "step_wait_s": 60}, c, p)
        got = drive(r, c, 600, True, False)
        boots += sum(1 for _, s in got if s == "reboot")
        # the router came back; the modem still is not registered
    assert boots == 3
    d = json.load(open(p))
    assert len(d["reboots"]) == 3
    c.advance(86400)
    r = Recovery({"reboot": True, "reattach_after_s": 60, "step_wait_s": 60}, c, p)
    assert "reboot" in [s for _, s in drive(r, c, 1200, True, False)]


def test_ladder_resumes_after_restart(tmp_path):
    p = str(tmp_path / "recovery.json")
    c = FakeClock()
    r = Recovery({}, c, p)
    drive(r, c, 700, True, False)
    r2 = Recovery({}, c, p)
    assert r2.taken == ["reattach"]
    assert [s for _, s in drive(r2, c, 600, True, False)] == ["reset"]


def test_garbage_state_file_is_ignored(tmp_path):
    p = tmp_path / "recovery.json"
    p.write_text("{not json")
    c = FakeClock()
    r = Recovery({}, c, str(p))
    assert r.episode is None and r.observe(True, True) is None


MP_SCRIPT = r"""
from wanwatch.modem.recovery import Recovery
class C:
    t = 1790000000.0
    def time(self): return self.t
    def monotonic(self): return self.t
c = C()
r = Recovery({"reboot": True}, c, None, True)
out = []
for i in range(200):
    d = r.observe(i > 150, False)
    if d: out.append(d[0])
    c.t += 30
print(",".join(out))
"""


def test_same_decisions_on_micropython(tmp_path):
    f = tmp_path / "rec.py"
    f.write_text(MP_SCRIPT)
    p = run_micropython([str(f)])
    assert p.returncode == 0, p.stderr
    c = FakeClock()
    r = Recovery({"reboot": True}, c, None, True)
    out = []
    for i in range(200):
        d = r.observe(i > 150, False)
        if d:
            out.append(d[0])
        c.advance(30)
    assert p.stdout.strip() == ",".join(out)
    assert out[0] == "resync" and "reboot" in out
