"""The history API against SQLite and a real PostgreSQL: the same queries, events stored once,
retention and downsampling on an injected clock, several processes sharing one PostgreSQL history."""
import json
import os
import subprocess
import sys
import time

import paho.mqtt.client as mqtt
import pytest

from host_tools.fleet import cli
from host_tools.fleet.history import History
from host_tools.fleet.history_base import DAY, Retention

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_backup_days_usage_and_events_stored_once(history_target):
    h = History(history_target)
    for i in range(10):
        h.add_status("s", {"ts": 1000 + i * 600, "active_link": "wwan" if i < 5 else "wan",
                           "usage": {"total_bytes": i * 1000}}, on_backup=i < 5)
    h.add_event("s", {"seq": 1, "boot": 1, "ts": 1000, "type": "failover"})
    h.add_event("s", {"seq": 1, "boot": 1, "ts": 1000, "type": "failover"})  # duplicate delivery, same batch
    assert h.flush() == 12
    h.add_event("s", {"seq": 1, "boot": 1, "ts": 1000, "type": "failover"})  # ... and in a later batch
    h.add_event("s", {"seq": 2, "boot": 1, "ts": 1100, "type": "failback"})
    h.flush()
    assert abs(h.backup_days("s", 0) - 5 * 600 / DAY) < 1e-9
    assert abs(h.backup_days("s", 1000 + 3 * 600) - 2 * 600 / DAY) < 1e-9
    assert h.usage_bytes("s") == 9000 and h.usage_bytes("nobody") is None
    assert [e["type"] for e in h.events_for("s")] == ["failover", "failback"]
    assert [e["seq"] for e in h.events_for("s", since_ts=1050)] == [2]
    h.close()


def test_sqlite_history_is_wal(tmp_path):
    h = History(str(tmp_path / "h.db"))
    assert h.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # readers don't block the ingest
    h.close()


def test_events_order_by_boot_then_seq_and_gaps(history_target):
    h = History(history_target)
    for boot, seq in ((2, 1), (1, 3), (1, 1), (2, 2), (1, 6), (1, 2)):  # arrival order scrambled
        h.add_event("s", {"seq": seq, "boot": boot, "ts": 100 * boot + seq, "type": "t"})
    h.add_event("other", {"seq": 9, "boot": 1, "ts": 1, "type": "t"})
    h.flush()
    assert [(e["boot"], e["seq"]) for e in h.events_for("s")] == [(1, 1), (1, 2), (1, 3), (1, 6), (2, 1), (2, 2)]
    assert len(h.events_for("s", limit=2)) == 2
    assert h.seq_gaps("s") == {1: 2} and h.seq_gaps("other") == {}
    h.close()


def test_status_series_most_recent_oldest_first(history_target):
    h = History(history_target)
    for i in (3, 0, 4, 1, 2):
        h.add_status("s", {"ts": 1000 + i * 60, "n": i, "links": {"wan": {"rtt_ms": 10 + i}}}, on_backup=False)
    h.add_status("t", {"ts": 1000, "n": 99}, on_backup=False)
    h.flush()
    series = h.status_series("s")
    assert [ts for ts, _ in series] == [1000, 1060, 1120, 1180, 1240]
    assert [doc["n"] for _, doc in series] == [0, 1, 2, 3, 4] and series[1][1]["links"]["wan"]["rtt_ms"] == 11
    assert [d["n"] for _, d in h.status_series("s", since_ts=1120)] == [2, 3, 4]
    assert [d["n"] for _, d in h.status_series("s", limit=2)] == [3, 4]
    assert h.status_series("nobody") == []
    h.close()


def _hour_of_samples(h, site, start, on_backup):
    for k in range(60):  # one a minute
        h.add_status(site, {"ts": start + 60 * k, "k": k}, on_backup=on_backup)


def test_retention_thins_then_deletes_on_injected_clock(history_target):
    now = [400 * DAY]
    h = History(history_target, clock=lambda: now[0], maintain_every_s=3600)
    t_raw, t_thin, t_old = now[0] - DAY, now[0] - 30 * DAY, now[0] - 120 * DAY  # all on 5-min boundaries
    _hour_of_samples(h, "s", t_raw, False)
    _hour_of_samples(h, "s", t_thin, True)
    _hour_of_samples(h, "s", t_old, False)
    _hour_of_samples(h, "t", t_thin, False)
    h.add_event("s", {"seq": 1, "boot": 1, "ts": int(now[0] - 500 * DAY), "type": "old"})
    h.add_event("s", {"seq": 2, "boot": 1, "ts": int(now[0] - 300 * DAY), "type": "kept"})
    h.flush()  # not due yet: the first pass comes a minute after opening
    assert len(h.status_series("s", limit=10000)) == 180
    now[0] += 61
    h.flush()  # due: the ingest loop's flush runs the pass (defaults: 7 d raw, 5 min to 90 d, events 400 d)
    series = h.status_series("s", limit=10000)
    raw = [ts for ts, _ in series if ts >= t_raw]
    thin = [(ts, d["k"]) for ts, d in series if t_thin <= ts < t_thin + 3600]
    assert len(raw) == 60 and not [ts for ts, _ in series if ts < t_thin]
    # one per 5 min, the bucket's last sample
    assert thin == [(t_thin + 60 * k, k) for k in range(4, 60, 5)]
    assert len(h.status_series("t", limit=10000)) == 12
    assert [e["type"] for e in h.events_for("s")] == ["kept"]
    # thinned samples still add up to the hour on backup: 11 intervals of 5 min, the last sample
    # counted until the next one (29 days on) capped at 15 min; raw it was 59 min + 15 min
    assert abs(h.backup_days("s", t_thin) * DAY - (11 * 300 + 900)) < 1e-6
    # nothing left to do: a second pass changes nothing
    assert h.maintain() == {"status_deleted": 0, "status_thinned": 0, "events_deleted": 0}
    h.close()


def test_retention_policy_is_shared_by_every_process(history_target, capsys):
    a = History(history_target, maintain_every_s=0)
    b = History(history_target, maintain_every_s=0)
    assert b.retention() == Retention()
    a.set_retention(Retention(raw_days=2, bucket_s=900, keep_days=10, event_days=30))
    assert b.retention() == Retention(raw_days=2, bucket_s=900, keep_days=10, event_days=30)
    with pytest.raises(ValueError, match="raw_days <= keep_days"):
        a.set_retention(Retention(raw_days=20, keep_days=10))
    now = time.time()
    for age_days in (1, 5, 5, 20):
        a.add_status("s", {"ts": int(now - age_days * DAY)}, on_backup=False)
    a.flush()
    a.close()
    b.close()
    assert cli.main(["maintain", "--history", history_target, "--event-days", "60"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["retention"] == {"raw_days": 2, "bucket_s": 900, "keep_days": 10, "event_days": 60}
    assert out["done"] == {"status_deleted": 1, "status_thinned": 1, "events_deleted": 0}
    assert cli.main(["maintain", "--history", history_target, "--bucket-s", "3600"]) == 2


def _wait_subscribed(broker, client_ids, timeout=10):
    """The ingest processes subscribe after they connect: publish only once the broker has both."""
    t_end = time.time() + timeout
    while time.time() < t_end:
        log = broker.log()
        if all(("%s 1 $share/ctl/wanwatch/+/event" % cid) in log for cid in client_ids):
            return
        time.sleep(0.05)
    raise AssertionError("ingest processes did not subscribe:\n" + broker.log()[-2000:])


def test_two_controller_processes_share_one_postgresql_history(broker, pg_url):
    """Two `fleet ingest` processes in one $share group write one PostgreSQL history: every event
    once (QoS 1 redeliveries may reach either process), every status sample, the real gap found."""
    procs = [subprocess.Popen([sys.executable, "-m", "host_tools.fleet.cli", "ingest", "--port", str(broker.port),
                               "--share", "ctl", "--history", pg_url, "--duration", "60"],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "ready"
        _wait_subscribed(broker, ["wanwatch-fleet-ingest-%d" % p.pid for p in procs])
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-pub", protocol=mqtt.MQTTv5)
        c.connect("127.0.0.1", broker.port)
        c.loop_start()
        sent_status = 0
        for seq in range(1, 31):
            for s in range(20):
                if s == 7 and seq == 13:
                    continue  # site-7 loses event 13: a real gap
                ev = json.dumps({"v": 1, "type": "link_state", "seq": seq, "boot": 1, "ts": 1000 + seq})
                copies = 2 if seq % 5 == 0 else 1  # every 5th event redelivered
                for _ in range(copies):
                    c.publish("wanwatch/site-%d/event" % s, ev, qos=1)
                if seq % 10 == 0:
                    c.publish("wanwatch/site-%d/status" % s, json.dumps({"v": 1, "ts": 1000 + seq, "active_link": "wan"}),
                              qos=1).wait_for_publish(5)
                    sent_status += 1
        c.loop_stop()
        c.disconnect()
        outs = [json.loads(p.communicate(timeout=60)[0].strip().splitlines()[-1]) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0, 0]
    published = 20 * 30 - 1 + 20 * 6 + sent_status
    assert sum(o["reports"] for o in outs) == published and min(o["reports"] for o in outs) > 0
    h = History(pg_url)
    counts = h._rows("SELECT COUNT(*), COUNT(DISTINCT (site, boot, seq)) FROM events")[0]
    assert counts == (20 * 30 - 1, 20 * 30 - 1)
    assert h._rows("SELECT COUNT(*) FROM status")[0][0] == sent_status == 60
    assert h.seq_gaps("site-7") == {1: 1} and all(h.seq_gaps("site-%d" % s) == {} for s in range(20) if s != 7)
    assert [e["seq"] for e in h.events_for("site-3")] == list(range(1, 31))
    h.close()
