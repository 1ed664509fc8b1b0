"""SMS fallback: pure decisions with a FakeClock, persisted rate limit, sms_sent event, and the
reporter feeding it the broker-unreachable time."""
import asyncio

from tests.support.fakeclock import FakeClock
from wanwatch.events import EventBus
from wanwatch.report.smsalert import SmsAlert

FAILOVER = {"type": "failover", "seq": 5, "from": "wan", "to": "wwan", "reason": "loss"}


def make(tmp_path, clock=None, **sms):
    clock = clock or FakeClock()
    sent = []

    async def send_sms(number, text):
        sent.append((number, text))

    cfg = {"device_id": "br-01", "sms": dict({"numbers": ["+4912345"]}, **sms)}
    bus = EventBus(clock)
    return SmsAlert(cfg, clock, bus, send_sms, str(tmp_path)), sent, bus, clock


def test_only_after_broker_down_long_enough(tmp_path):
    a, _, _, _ = make(tmp_path)
    assert a.decide(FAILOVER, None) is None  # broker up
    assert a.decide(FAILOVER, 599) is None
    text = a.decide(FAILOVER, 600)
    assert text == "wanwatch br-01: failover wan -> wwan (loss); MQTT unreachable" and len(text) <= 160


def test_which_events_alert(tmp_path):
    a, _, _, _ = make(tmp_path)
    assert a.decide({"type": "usage_threshold", "pct": 80}, 9999) is None
    assert "95%" in a.decide({"type": "usage_threshold", "pct": 95}, 9999)
    assert a.decide({"type": "usage_forecast", "exhaustion": "2026-12-01"}, 9999)
    assert a.decide({"type": "link_state"}, 9999) is None
    b, _, _, _ = make(tmp_path, numbers=[])
    assert b.decide(FAILOVER, 9999) is None  # no numbers configured


def test_rate_limit_rolling_day_persisted(tmp_path):
    a, _, _, clock = make(tmp_path, max_per_day=5)
    for _ in range(5):
        assert a.consider(FAILOVER, 9999)
    assert a.consider(FAILOVER, 9999) is None and a.suppressed == 1
    again, _, _, _ = make(tmp_path, clock=clock, max_per_day=5)  # restart: still limited
    assert again.consider(FAILOVER, 9999) is None
    clock.advance(86401)
    assert again.consider(FAILOVER, 9999)


def test_send_records_sms_sent_event(tmp_path):
    a, sent, bus, _ = make(tmp_path, numbers=["+1", "+2"])
    text = a.consider(FAILOVER, 700)
    assert asyncio.run(a.send(text, FAILOVER)) == 2
    assert [n for n, _ in sent] == ["+1", "+2"]
    ev = bus.recent[-1]
    assert ev["type"] == "sms_sent" and ev["numbers"] == 2 and ev["ok"] == 2 and ev["about"] == "failover"


def test_failed_send_counted(tmp_path):
    clock = FakeClock()

    async def broken(number, text):
        raise OSError("no modem")

    bus = EventBus(clock)
    a = SmsAlert({"sms": {"numbers": ["+1"]}}, clock, bus, broken, str(tmp_path))
    assert asyncio.run(a.send("x", FAILOVER)) == 0 and bus.recent[-1]["ok"] == 0


def test_reporter_triggers_sms_when_broker_unreachable(tmp_path):
    from tests.support.broker import free_port
    from wanwatch.report.reporter import Reporter
    clock = FakeClock()
    a, sent, bus, _ = make(tmp_path, clock=clock)
    cfg = {"device_id": "br-01", "state_dir": str(tmp_path / "st"), "links": [],
           "mqtt": {"host": "127.0.0.1", "port": free_port(), "prefix": "wanwatch", "tls": False}}

    async def main():
        r = Reporter(cfg, clock, bus, lambda: {}, lambda: {}, sms=a)
        bus.emit("failover", to="wwan")  # broker unreachable only 0 s so far
        clock.advance(601)
        bus.emit("failover", to="wwan")
        await asyncio.sleep(0.05)
        return r

    r = asyncio.run(main())
    assert len(sent) == 1 and r.outbox.count == 3  # 2 failovers + sms_sent, all queued for MQTT


CAP = {"type": "usage_threshold", "seq": 9, "boot": 2, "pct": 100, "used_pct": 100.2, "cap_bytes": 5_000_000_000}


def test_at_cap_alert_goes_with_the_broker_up_within_the_daily_bound(tmp_path):
    """usage.at_cap_action alert_sms: the tracker's hook texts at 100 % whatever the broker's state,
    shares the rolling daily bound with the fallback and never texts one event twice."""
    a, sent, bus, clock = make(tmp_path, max_per_day=2)

    async def main():
        t1 = a.alert(CAP)
        again = a.alert(CAP)  # the same event: not twice
        await asyncio.sleep(0.01)
        return t1, again

    t1, again = asyncio.run(main())
    assert t1 == "wanwatch br-01: backup SIM at 100% of its 5000 MB cap" and again is None
    assert sent == [("+4912345", t1)] and bus.recent[-1]["about"] == "usage_threshold"
    assert a.consider(FAILOVER, 9999)  # the fallback takes the second slot of the day ...
    assert asyncio.run(_alert(a, dict(CAP, seq=10))) is None and a.suppressed == 1  # ... so the bound holds
    clock.advance(86401)
    assert asyncio.run(_alert(a, dict(CAP, seq=11)))


def test_at_cap_alert_skips_an_event_the_fallback_texted(tmp_path):
    a, sent, bus, _ = make(tmp_path)
    assert a.consider(CAP, 9999)  # broker down long enough: the fallback texted this very event
    assert asyncio.run(_alert(a, CAP)) is None and len(a.sent) == 1


async def _alert(a, ev):
    r = a.alert(ev)
    await asyncio.sleep(0)
    return r
