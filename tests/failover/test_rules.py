"""Pure rules with a fake clock: too little bandwidth (passive, under demand; the active test),
throttling of the metered link, and the cellular link's registration and signal rules."""
from wanwatch.failover.bandwidth import SPELL_GAP_S, BandwidthJudge
from wanwatch.failover.cellular import CellularRules

from tests.support.fakeclock import FakeClock


def feed(j, t0, seconds, bps, excess, active=True, step=2.0, start=(0, 0)):
    """Counters growing at bps (down) for `seconds`; returns (the changes, end time, counters)."""
    rx, tx = start
    changes = []
    t = t0
    while t < t0 + seconds:
        t += step
        rx += int(bps * step / 8)
        tx += int(bps * step / 80)
        ch = j.sample(t, rx, tx, excess, active)
        if ch:
            changes.append((t, ch))
    return changes, t, (rx, tx)


def test_a_line_under_min_rate_while_packets_queue_is_low_after_the_sustain():
    j = BandwidthJudge({"min_mbps": 1.0})
    j.sample(0, 0, 0, 0, True)
    ch, t, c = feed(j, 0, 60, 256000, excess=180)  # shaped to 256 kbit/s, RTT up by 180 ms
    assert [x[1] for x in ch] == ["low"] and 20 <= ch[0][0] <= 26
    assert j.status()["low"] and 240 <= j.status()["down_kbps"] <= 270
    ch, t, c = feed(j, t, 10, 5000000, excess=10, start=c)  # the line is back: no queue, 5 Mbit/s
    assert [x[1] for x in ch] == ["ok"]


class Line:
    """A link's counters and its judge on a fake clock, sampled every 2 s like the agent does."""

    def __init__(self, cfg, step=2.0):
        self.clock = FakeClock()
        self.j = BandwidthJudge(cfg)
        self.rx = self.tx = 0
        self.step = step
        self.changes = []
        self.j.sample(self.clock.monotonic(), 0, 0, 0, True)

    def run(self, seconds, bps, excess, active=True):
        """seconds of traffic at bps; excess: the RTT excess of every sample, or a function of the
        sample's index (None: no RTT evidence, e.g. the probe was lost in the queue)."""
        for i in range(int(seconds / self.step)):
            self.clock.advance(self.step)
            self.rx += int(bps * self.step / 8)
            self.tx += int(bps * self.step / 80)
            e = excess(i) if callable(excess) else excess
            ch = self.j.sample(self.clock.monotonic(), self.rx, self.tx, e, active)
            if ch:
                self.changes.append((self.clock.monotonic(), ch))
        return self.clock.monotonic()


def every_third_lost(i):
    return None if i % 3 == 2 else 180  # one probe in three lost in the shaped queue


def test_a_low_spell_survives_samples_without_queueing_evidence_and_short_pauses():
    # a primary shaped to 256 kbit/s under LAN demand: the probes that make it through the full
    # queue show +180 ms, one in three is lost (no evidence); the download pauses 6 s once
    line = Line({"min_mbps": 1.0, "sustain_s": 20})
    t0 = line.clock.monotonic()
    line.run(8, 256000, every_third_lost)
    line.run(6, 0, None)  # a pause: no traffic, no RTT rise
    line.run(40, 256000, every_third_lost)
    assert [c[1] for c in line.changes] == ["low"], line.changes
    assert 20 <= line.changes[0][0] - t0 <= 24  # the sustain from the first evidence, not from the last gap


def test_a_low_spell_restarts_when_the_rate_goes_up_the_traffic_leaves_or_the_pause_is_long():
    for name, interrupt in (("rate above the limit", (4, 5000000, 5, True)),
                            ("traffic moved away", (2, 256000, 180, False)),
                            ("long pause", (SPELL_GAP_S + 4, 0, None, True))):
        line = Line({"min_mbps": 1.0, "sustain_s": 20})
        line.run(14, 256000, 180)
        t1 = line.run(*interrupt)
        line.run(40, 256000, 180)
        assert [c[1] for c in line.changes] == ["low"], (name, line.changes)
        assert line.changes[0][0] - t1 >= 20, (name, line.changes[0][0] - t1)  # counted anew


def test_low_rate_without_any_queueing_after_the_gap_is_no_verdict():
    line = Line({"min_mbps": 1.0, "sustain_s": 20})
    line.run(2, 256000, 180)  # one sample with an RTT excursion
    line.run(120, 256000, 5)  # then a customer simply using 256 kbit/s of a fast line
    assert line.changes == [] and not line.j.low


def test_no_demand_no_verdict_and_slow_traffic_that_does_not_queue_is_fine():
    j = BandwidthJudge({"min_mbps": 1.0})
    j.sample(0, 0, 0, 0, True)
    ch, _, _ = feed(j, 0, 120, 256000, excess=5)  # a customer using 256 kbit/s of a fast line
    assert ch == [] and not j.low
    ch, _, _ = feed(j, 200, 120, 256000, excess=200, active=False)  # not carrying the LAN's traffic
    assert ch == []


def test_a_quarter_of_what_it_delivered_before_is_low_without_any_configured_rate():
    j = BandwidthJudge({})
    j.sample(0, 0, 0, 0, True)
    ch, t, c = feed(j, 0, 30, 8000000, excess=5)  # it carried 8 Mbit/s without queueing
    assert ch == [] and j.best_bps >= 7.9e6
    ch, t, c = feed(j, t, 40, 1000000, excess=120, start=c)  # now 1 Mbit/s and queueing
    assert [x[1] for x in ch] == ["low"]


def test_an_idle_low_link_clears_after_clear_s_or_by_the_active_test():
    j = BandwidthJudge({"min_mbps": 1.0, "clear_s": 60})
    j.sample(0, 0, 0, 0, True)
    ch, t, c = feed(j, 0, 40, 200000, excess=200)
    assert j.low
    ch, t2, _ = feed(j, t, 70, 0, excess=None, active=False, start=c)  # traffic moved away
    assert [x[1] for x in ch] == ["ok"] and ch[0][0] - t >= 60
    k = BandwidthJudge({"min_mbps": 1.0, "test_url": "http://10.9.0.10/blob?bytes=262144"})
    k.sample(0, 0, 0, 0, True)
    feed(k, 0, 40, 200000, excess=200)
    assert k.low and k.test_due(100, metered=False) and not k.test_due(100, metered=True)
    assert k.test_result(100, 262144, 4.0) is None  # 524 kbit/s: still under 1 Mbit/s
    assert not k.test_due(130, False) and k.test_due(160, False)  # every 60 s while low
    assert k.test_result(160, 262144, 0.5) == "ok"  # 4.2 Mbit/s
    assert not k.test_due(200, False) and k.test_due(160 + 900, False)


def test_a_metered_link_pinned_at_a_low_ceiling_is_throttled():
    j = BandwidthJudge({}, metered=True)
    j.sample(0, 0, 0, 0, True)
    ch, t, c = feed(j, 0, 20, 128000, excess=300)
    assert ("throttled" in [x[1] for x in ch]) and j.throttled
    ch, t, c = feed(j, t, 30, 6000000, excess=60, start=c)
    assert "unthrottled" in [x[1] for x in ch]
    free = BandwidthJudge({}, metered=False)
    free.sample(0, 0, 0, 0, True)
    ch, _, _ = feed(free, 0, 20, 128000, excess=300)
    assert "throttled" not in [x[1] for x in ch]


def test_counters_that_restart_are_no_sample():
    j = BandwidthJudge({"min_mbps": 1})
    j.sample(0, 10 ** 9, 10 ** 8, 0, True)
    assert j.sample(2, 100, 100, 200, True) is None and j.down_bps is None  # re-created device


def test_cellular_registration_and_roaming_rules():
    r = CellularRules()
    assert r.usable({}) == (True, None)  # nothing known yet: the probes judge
    assert r.usable({"registered": True, "registration": "home"}) == (True, None)
    assert r.usable({"registered": False, "registration": "searching"}) == (False, "modem not registered")
    assert r.usable({"registered": False, "registration": "denied"}) == (False, "registration denied")
    assert r.usable({"registered": True, "registration": "roaming"}) == (True, None)
    strict = CellularRules({"allow_roaming": False})
    assert strict.usable({"registered": True, "registration": "roaming"}) == (False, "roaming (allow_roaming is off)")


def test_weak_signal_needs_to_last_and_so_does_the_recovery():
    r = CellularRules({"weak_sustain_s": 60})
    assert r.signal(0, -118, 5) is None and r.signal(59, -119, 5) is None
    assert r.signal(61, -120, 5) == "weak" and r.weak
    assert r.signal(70, -100, 10) is None  # one good reading is not enough
    assert r.signal(131, -100, 10) == "strong" and not r.weak
    assert r.signal(200, -100, -6) is None and r.signal(261, -100, -6) == "weak"  # SINR alone
    assert r.signal(300, None, None) is None and r.weak  # no reading: no verdict change
