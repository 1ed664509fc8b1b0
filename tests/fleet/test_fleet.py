"""Fleet side against a real mosquitto: watch, alerts (webhook + SMTP), inventory, seq gaps."""
import http.server
import io
import json
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from host_tools.fleet import alerts, cli, inventory, simulate
from host_tools.fleet.history import History
from host_tools.fleet.model import Fleet


def publisher(port):
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-pub", protocol=mqtt.MQTTv5)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def pub(c, topic, doc, retain=False):
    payload = doc if isinstance(doc, str) else json.dumps(doc)
    c.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)


def test_simulated_sites_in_watch_and_inventory(broker, capsys, tmp_path):
    simulate.run("127.0.0.1", broker.port, sites=25, rate=500, duration=1.0, seed=7)
    db = str(tmp_path / "h.db")
    rc = cli.main(["watch", "--port", str(broker.port), "--once", "--db", db, "--settle", "0.7"])
    out = capsys.readouterr().out
    assert rc == 0
    for i in range(25):
        assert "site-%05d" % i in out
    assert "25 sites" in out
    rc = cli.main(["inventory", "--port", str(broker.port), "--format", "md", "--settle", "0.7"])
    md = capsys.readouterr().out
    rows = [l for l in md.splitlines() if l.startswith("| site-")]
    assert len(rows) == 25 and "EC25" in md and "pppoe-wan" in md
    out_csv = tmp_path / "inv.csv"
    cli.main(["inventory", "--port", str(broker.port), "--format", "csv", "--out", str(out_csv), "--settle", "0.7"])
    assert len(out_csv.read_text().strip().splitlines()) == 26


def test_attention_order_and_seq_gap():
    f = Fleet()
    base = {"v": 1, "ts": 100, "links": {"wan": {"state": "up"}, "wwan": {"state": "standby"}}, "active_link": "wan",
            "usage": {"used_pct": 10.0, "forecast_exhaustion": None, "cycle_end": 1000}}
    inv = {"links": [{"name": "wan", "role": "primary"}, {"name": "wwan", "role": "backup"}]}
    for dev in ("a-ok", "b-backup", "c-offline", "d-cap", "e-gap"):
        f.ingest("wanwatch/%s/inventory" % dev, json.dumps(inv).encode())
        doc = json.loads(json.dumps(base))
        if dev == "b-backup":
            doc["active_link"] = "wwan"
            doc["links"]["wan"]["state"] = "down"
        if dev == "d-cap":
            doc["usage"]["used_pct"] = 85.0
        f.ingest("wanwatch/%s/status" % dev, json.dumps(doc).encode())
        f.ingest("wanwatch/%s/state" % dev, b"offline" if dev == "c-offline" else b"online")
    for seq in (1, 2, 5, 5, 6):  # 3 and 4 lost; 5 redelivered (QoS 1 duplicate) is not a gap
        f.ingest("wanwatch/e-gap/event", json.dumps({"seq": seq, "boot": 1, "type": "x"}).encode())
    f.ingest("wanwatch/e-gap/event", json.dumps({"seq": 1, "boot": 2, "type": "agent_start"}).encode())  # reboot: no gap
    order = [s.device_id for s in f.ranked()]
    assert order == ["c-offline", "b-backup", "d-cap", "e-gap", "a-ok"]
    assert f.sites["e-gap"].gaps == 1 and f.sites["e-gap"].missing == 2
    assert f.attention(f.sites["a-ok"]) == []
    assert f.ingest("wanwatch/x/status", b"{garbage") is None and f.bad == 1


class Hook(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


@pytest.fixture
def webhook():
    Hook.received = []
    srv = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield "http://127.0.0.1:%d/hook" % srv.server_port, Hook.received
    srv.shutdown()


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller
    got = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            got.append(envelope.content.decode(errors="replace"))
            return "250 OK"

    from host_tools.localbroker import free_port
    ctl = Controller(Handler(), hostname="127.0.0.1", port=free_port())
    ctl.start()
    yield ctl.port, got
    ctl.stop()


def wait_for(pred, timeout=10):
    t = time.time() + timeout
    while time.time() < t:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_alerts_fire_once_and_recover(broker, webhook, smtp_server, tmp_path):
    url, hooks = webhook
    smtp_port, mails = smtp_server
    rules = alerts.check_rules({
        "quiet_s": 0,
        "notifiers": {"hook": {"type": "webhook", "url": url},
                      "mail": {"type": "smtp", "host": "127.0.0.1", "port": smtp_port, "to": ["noc@example.invalid"]}},
        "rules": [{"condition": "on_backup", "notify": ["hook", "mail"]},
                  {"condition": "cap", "pct": 95, "notify": ["hook"]},
                  {"condition": "offline", "notify": ["hook"]},
                  {"condition": "seq_gap", "notify": ["hook"]}]})
    ing = cli.Ingestor("wanwatch")
    ing.alerter = alerts.Alerter(rules, ing.fleet, time.time)
    from host_tools.fleet.mqttio import client
    sub = client("test-alerts", ing.on_message, port=broker.port)
    sub.loop_start()
    p = publisher(broker.port)
    try:
        time.sleep(0.3)
        inv = {"links": [{"name": "wan", "role": "primary"}, {"name": "wwan", "role": "backup"}]}
        pub(p, "wanwatch/bar-1/inventory", inv, True)
        st = {"v": 1, "ts": 1, "active_link": "wwan", "links": {"wan": {"state": "down"}, "wwan": {"state": "up"}},
              "usage": {"used_pct": 96.0}}
        for _ in range(3):  # the condition persists over several reports: one alert only
            pub(p, "wanwatch/bar-1/status", st)
        assert wait_for(lambda: len(hooks) >= 2)
        time.sleep(0.5)
        assert sorted(h["condition"] for h in hooks) == ["cap", "on_backup"]
        assert all(h["kind"] == "alert" and h["site"] == "bar-1" for h in hooks)
        assert wait_for(lambda: len(mails) == 1) and "on_backup" in mails[0]
        st2 = dict(st, active_link="wan", links={"wan": {"state": "up"}, "wwan": {"state": "standby"}})
        st2["usage"] = {"used_pct": 96.0}
        pub(p, "wanwatch/bar-1/status", st2)
        assert wait_for(lambda: any(h["kind"] == "recovered" for h in hooks))
        rec = [h for h in hooks if h["kind"] == "recovered"]
        assert [h["condition"] for h in rec] == ["on_backup"]
        assert wait_for(lambda: len(mails) == 2) and "recovered" in mails[1]
        for seq in (1, 2, 4):
            pub(p, "wanwatch/bar-1/event", {"seq": seq, "boot": 1, "type": "link_state"})
        assert wait_for(lambda: any(h["condition"] == "seq_gap" for h in hooks))
        gap = [h for h in hooks if h["condition"] == "seq_gap"]
        assert len(gap) == 1 and gap[0]["missing_events"] == 1
        pub(p, "wanwatch/bar-1/state", "offline", True)
        assert wait_for(lambda: any(h["condition"] == "offline" for h in hooks))
        pub(p, "wanwatch/bar-1/state", "online", True)
        assert wait_for(lambda: any(h["condition"] == "offline" and h["kind"] == "recovered" for h in hooks))
    finally:
        p.loop_stop()
        sub.loop_stop()


def test_quiet_period_suppresses_flapping():
    f = Fleet()
    now = [1000.0]
    out = io.StringIO()
    rules = alerts.check_rules({"quiet_s": 600, "notifiers": {"o": {"type": "stdout"}},
                                "rules": [{"condition": "offline", "notify": ["o"]}]})
    a = alerts.Alerter(rules, f, lambda: now[0], out=out)
    for i in range(6):
        f.ingest("wanwatch/s/state", b"offline" if i % 2 == 0 else b"online")
        a.evaluate(f.sites["s"])
        now[0] += 60
    kinds = [(n["kind"], n["condition"]) for n in a.notes]
    assert kinds == [("alert", "offline"), ("recovered", "offline")]
    assert len(out.getvalue().splitlines()) == 2


def test_bad_rules_rejected(tmp_path):
    with pytest.raises(alerts.RulesError, match="condition"):
        alerts.check_rules({"rules": [{"condition": "weather"}]})
    with pytest.raises(alerts.RulesError, match="unknown notifier"):
        alerts.check_rules({"rules": [{"condition": "offline", "notify": ["pager"]}]})
    p = tmp_path / "r.json"
    p.write_text("{nope")
    assert cli.main(["alerts", "--rules", str(p)]) == 2


def test_shared_subscription_splits_load(broker, tmp_path):
    """Two consumers in one $share group together see each report exactly once."""
    h = History(str(tmp_path / "shared.db"))
    ings = [cli.Ingestor("wanwatch", h, shared=True), cli.Ingestor("wanwatch", h, shared=True)]
    from host_tools.fleet.mqttio import client
    subs = [client("share-%d" % i, ing.on_message, port=broker.port, share="ctl") for i, ing in enumerate(ings)]
    for s in subs:
        s.loop_start()
    time.sleep(0.5)
    p = publisher(broker.port)
    for i in range(200):
        seq = i // 10 + 1
        if i % 10 == 3 and seq == 7:
            continue  # site s3 loses its event 7: a real gap
        p.publish("wanwatch/s%d/event" % (i % 10), json.dumps({"seq": seq, "boot": 1, "type": "t"}), qos=1)
    assert wait_for(lambda: sum(i.fleet.reports for i in ings) >= 199)
    time.sleep(0.3)
    p.loop_stop()
    for s in subs:
        s.loop_stop()
    counts = [i.fleet.reports for i in ings]
    assert sum(counts) == 199 and min(counts) > 0
    # no false gaps from the split, the real one found in the shared store
    assert all(s.gaps == 0 for i in ings for s in i.fleet.sites.values())
    with ings[0].lock, ings[1].lock:
        h.flush()
    assert h.seq_gaps("s3") == {1: 1} and h.seq_gaps("s4") == {}
