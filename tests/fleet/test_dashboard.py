"""`fleet serve` end to end: a simulated fleet behind a real mosquitto, the dashboard process, a real
headless chromium. Every wait is on a condition (a selector, an SSE update, an API answer)."""
import json
import os
import random
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import paho.mqtt.client as mqtt
import pytest
from prometheus_client.parser import text_string_to_metric_families

from host_tools.fleet import cli
from host_tools.fleet.simulate import SimSite
from tests.support import paths
from tests.support.broker import Broker
from tests.support.browser import chromium

TOKEN = "test-operator-token-0123"
SITES = 12
SAMPLES = 9
EVIL = "<img src=x onerror=window.__xss=1>"  # a site id is whatever the device put in its topic
IMG = os.path.join(paths.ROOT, "docs", "img")


def wait_for(pred, timeout=15, what="condition"):
    t_end = time.time() + timeout
    while time.time() < t_end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s" % what)


class SimFleet:
    """SimSites published by hand, so each test knows exactly what every site sent."""

    def __init__(self, port):
        rnd = random.Random(16)
        self.base = int(time.time()) - SAMPLES * 60
        self.sims = [SimSite(i, rnd, self.base) for i in range(SITES)]
        self.last = {}
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-dash-pub", protocol=mqtt.MQTTv5)
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()

    def pub(self, site_id, sub, payload, retain=True):
        data = payload if isinstance(payload, str) else json.dumps(payload)
        self.c.publish("wanwatch/%s/%s" % (site_id, sub), data, qos=1, retain=retain).wait_for_publish(5)

    def status(self, sim, ts):
        doc = sim.status(ts)
        self.last[sim.id] = doc
        self.pub(sim.id, "status", doc)
        return doc

    def event(self, sim, kind, ts, **fields):
        self.pub(sim.id, "event", sim.event(kind, ts, **fields), retain=False)

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


def http(url, token=None, method="GET"):
    req = urllib.request.Request(url, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def api(env, path):
    status, body, _ = http(env["url"] + path, TOKEN)
    assert status == 200, (path, status, body[:200])
    return json.loads(body)


@pytest.fixture(scope="module", params=["ring", "sqlite"])
def env(request, tmp_path_factory):
    """The dashboard over the in-memory ring, and over an SQLite --history."""
    broker = Broker().start()
    tmp = tmp_path_factory.mktemp("dash")
    token_file = tmp / "token"
    token_file.write_text(TOKEN + "\n")
    fleet = SimFleet(broker.port)
    for sim in fleet.sims:
        fleet.pub(sim.id, "inventory", sim.inventory)
        fleet.pub(sim.id, "state", "offline" if sim.id == "site-00003" else "online")
    fleet.pub(EVIL, "inventory", {"operator": "<script>window.__xss=2</script>", "links": []})
    fleet.pub(EVIL, "state", "online")
    err = open(tmp / "serve.err", "w+")
    history = ["--history", str(tmp / "h.db")] if request.param == "sqlite" else []
    proc = subprocess.Popen([sys.executable, "-m", "host_tools.fleet.cli", "serve", "--port", str(broker.port),
                             "--listen", "127.0.0.1:0", "--token-file", str(token_file)] + history,
                            cwd=paths.ROOT, stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        line = proc.stdout.readline()
        m = re.search(r"listening on (http://127\.0\.0\.1:\d+)/", line)
        assert m, "serve did not start: %r %s" % (line, open(tmp / "serve.err").read())
        e = {"url": m.group(1), "fleet": fleet, "proc": proc, "tmp": tmp}
        # subscribed once the retained inventories are in
        wait_for(lambda: api(e, "/api/sites")["total"] == SITES + 1, what="retained inventories")
        sims = {s.id: s for s in fleet.sims}
        for i in range(SAMPLES):
            ts = fleet.base + i * 60
            story = sims["site-00001"]  # fails over at sample 4 and back at sample 7: a timeline to draw
            if i == 4:
                story.active = "wwan"
                fleet.event(story, "failover", ts, **{"from": "wan", "to": "wwan", "reason": "down"})
            if i == 7:
                story.active = "wan"
                fleet.event(story, "failback", ts, **{"from": "wwan", "to": "wan"})
            sims["site-00004"].active = "wwan"  # on backup all along
            for sim in fleet.sims:
                fleet.status(sim, ts)
        wait_for(lambda: all(len(api(e, "/api/site/" + s.id)["series"]["rsrp_dbm"]) == SAMPLES for s in fleet.sims),
                 what="every sample stored")
        yield e
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        finally:
            fleet.close()
            broker.stop()
            err.close()


@pytest.fixture(scope="module")
def browser(env):
    with chromium(env["tmp"] / "profile") as ctx:
        yield ctx


def signed_in(browser, env):
    page = browser.new_page()
    resp = page.goto(env["url"] + "/?token=" + TOKEN)  # first load: cookie set, token out of the URL
    assert resp.status == 200 and "token=" not in page.url
    page.wait_for_selector("body[data-live='1']")  # the SSE snapshot arrived: updates from here on are live
    return page


def dom_order(page):
    return page.eval_on_selector_all("#sites-body tr", "rows => rows.map(r => r.dataset.site)")


def test_sites_list_in_attention_order_with_counts_and_filter(env, browser):
    page = signed_in(browser, env)
    data = api(env, "/api/sites")
    assert dom_order(page) == [r["site"] for r in data["sites"]]  # Fleet.ranked: the order of `fleet watch`
    assert dom_order(page)[0] == "site-00003"  # offline comes first
    assert page.get_attribute("tr[data-site='site-00004']", "data-flags").split()[0] == "on_backup"
    for cond, n in data["counts"].items():
        assert page.text_content("[data-count='%s']" % cond) == str(n)
    assert data["counts"]["offline"] == 1 and data["counts"]["on_backup"] >= 1
    assert [r["site"] for r in api(env, "/api/sites?condition=offline")["sites"]] == ["site-00003"]
    assert [r["site"] for r in api(env, "/api/sites?q=site-00011")["sites"]] == ["site-00011"]
    # a site-supplied id full of markup shows as text and runs nothing
    assert page.text_content("tr[data-site='%s'] td.site" % EVIL.replace("'", "\\'")) == EVIL
    assert page.evaluate("window.__xss") is None
    page.fill("#filter", "site-0000")
    page.wait_for_function("document.getElementById('shown').textContent === '10 of %d sites'" % (SITES + 1))
    page.fill("#filter", "")
    page.click("button[data-condition='offline']")
    assert page.eval_on_selector_all("#sites-body tr:not([hidden])", "r => r.map(x => x.dataset.site)") == ["site-00003"]
    page.click("button[data-condition='offline']")
    page.fill("#filter", "site-")  # the README screenshot: the simulated sites, the filter in use
    page.wait_for_function("document.getElementById('shown').textContent === '%d of %d sites'" % (SITES, SITES + 1))
    os.makedirs(IMG, exist_ok=True)
    page.screenshot(path=os.path.join(IMG, "dashboard.png"))
    page.close()


def test_failover_appears_live_without_reload(env, browser):
    page = signed_in(browser, env)
    page.evaluate("window.__probe = 'same document'")
    updates = int(page.get_attribute("body", "data-updates"))
    sim = next(s for s in env["fleet"].sims if s.id == "site-00006")
    assert "on_backup" not in page.get_attribute("tr[data-site='site-00006']", "data-flags")
    sim.active = "wwan"
    now = int(time.time())
    env["fleet"].event(sim, "failover", now, **{"from": "wan", "to": "wwan", "reason": "down"})
    env["fleet"].status(sim, now)
    page.wait_for_selector("tr[data-site='site-00006'][data-flags~='on_backup']")
    assert page.evaluate("window.__probe") == "same document"
    assert int(page.get_attribute("body", "data-updates")) > updates
    assert page.text_content("tr[data-site='site-00006'] td.active").startswith("wwan")
    data = api(env, "/api/sites")
    page.wait_for_function("n => document.querySelector(\"[data-count='on_backup']\").textContent === String(n)",
                           arg=data["counts"]["on_backup"])
    assert dom_order(page) == [r["site"] for r in data["sites"]]  # it moved up with the others on backup
    page.close()


def _path_points(d):
    return len(re.findall(r"[ML]-?\d", d))


def test_site_page_charts_with_data(env, browser):
    page = signed_in(browser, env)
    page.click("tr[data-site='site-00001'] td.site a")
    page.wait_for_selector("section.charts svg")
    titles = page.eval_on_selector_all("svg.chart > title", "t => t.map(x => x.textContent)")
    assert titles == ["link states", "RTT (ms)", "loss (%)", "signal RSRP (dBm)", "signal SINR (dB)", "data used (GB)"]
    paths_ = page.eval_on_selector_all("svg.line-chart path.series", "p => p.map(x => [x.closest('svg').querySelector"
                                       "('title').textContent, x.dataset.series, +x.dataset.points, x.getAttribute('d')])")
    by = {(t, s): (n, d) for t, s, n, d in paths_}
    for key in (("signal RSRP (dBm)", "RSRP"), ("signal SINR (dB)", "SINR"), ("data used (GB)", "used"),
                ("RTT (ms)", "wwan"), ("loss (%)", "wan")):
        n, d = by[key]
        assert n == SAMPLES and _path_points(d) == SAMPLES, key
    n, d = by[("RTT (ms)", "wan")]  # no RTT while wan was down (samples 4-6): the line breaks there
    assert n == SAMPLES - 3 and d.count("M") == 2
    assert ("data used (GB)", "forecast") in by and page.locator("svg line.hline").count() == 1
    states = page.eval_on_selector_all("svg.state-band rect.state", "r => r.map(x => x.dataset.state)")
    assert states.count("down") == 1 and "up" in states and "standby" in states
    assert page.locator("svg.line-chart text.ytick").count() >= 5 * 3  # axes are labelled
    assert page.locator("svg.line-chart text.xtick").count() >= 5
    kinds = page.eval_on_selector_all("table.timeline tbody tr td:nth-child(3)", "t => t.map(x => x.textContent)")
    assert kinds == ["failback", "failover"]
    inv = page.text_content("dl.inventory")
    sim = env["fleet"].sims[1]
    for value in (sim.inventory["imei"], sim.inventory["iccid"], "quectel EC25"):
        assert value in inv
    assert "100.64.0.2/32" in page.text_content("table.inv-links")
    page.screenshot(path=os.path.join(IMG, "site.png"), full_page=True)
    page.close()


def test_metrics_carry_what_the_sites_sent(env):
    status, text, headers = http(env["url"] + "/metrics", TOKEN)
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    got = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            got[(s.name, tuple(sorted(s.labels.items())))] = s.value
    for site_id, doc in env["fleet"].last.items():
        site = (("site", site_id),)
        assert got[("wanwatch_signal_rsrp_dbm", site)] == doc["signal"]["rsrp_dbm"]
        assert got[("wanwatch_signal_sinr_db", site)] == doc["signal"]["sinr_db"]
        assert got[("wanwatch_usage_bytes", site)] == doc["usage"]["total_bytes"]
        assert got[("wanwatch_usage_cap_bytes", site)] == doc["usage"]["cap_bytes"]
        assert got[("wanwatch_last_report_timestamp_seconds", site)] == doc["ts"]
        assert got[("wanwatch_on_backup", site)] == (1.0 if doc["active_link"] == "wwan" else 0.0)
        for name, link in doc["links"].items():
            ll = tuple(sorted(site + (("link", name),)))
            assert got[("wanwatch_link_up", ll)] == (0.0 if link["state"] == "down" else 1.0)
            assert got[("wanwatch_link_loss_ratio", ll)] == pytest.approx(link["loss_pct"] / 100)
            if link["rtt_ms"] is None:
                assert ("wanwatch_link_rtt_seconds", ll) not in got
            else:
                assert got[("wanwatch_link_rtt_seconds", ll)] == pytest.approx(link["rtt_ms"] / 1000)
    assert got[("wanwatch_site_online", (("site", "site-00003"),))] == 0.0
    assert got[("wanwatch_sites", ())] == SITES + 1


def test_access_without_the_token_is_refused(env, browser):
    for path in ("/", "/site/site-00001", "/api/sites", "/api/site/site-00001", "/metrics", "/events"):
        status, body, headers = http(env["url"] + path)
        assert status == 401, path
        assert "data-site" not in body and "Telekom" not in body and "<svg" not in body  # no site data
        assert headers["WWW-Authenticate"].startswith("Bearer")
        assert http(env["url"] + path, "wrong-token-wrong-token")[0] == 401
    assert http(env["url"] + "/api/sites", TOKEN)[0] == 200
    assert http(env["url"] + "/api/sites?token=" + TOKEN)[0] == 200  # what an EventSource without cookie can do
    assert http(env["url"] + "/static/dashboard.js")[0] == 200  # no secrets there: the login page needs the css
    page = browser.new_page()
    page.context.clear_cookies()
    resp = page.goto(env["url"] + "/")
    assert resp.status == 401
    assert page.locator("form.login").count() == 1 and page.locator("tr[data-site]").count() == 0
    assert "Telekom" not in page.content()
    page.fill("input[name=token]", "not-the-token-at-all")
    page.click("button[type=submit]")
    page.wait_for_selector("p.error")
    assert page.locator("tr[data-site]").count() == 0
    page.fill("input[name=token]", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_selector("body[data-live='1']")
    assert page.locator("tr[data-site]").count() == SITES + 1
    page.close()


def test_non_loopback_without_token_refused(capsys, monkeypatch):
    monkeypatch.delenv("WANWATCH_TOKEN", raising=False)
    for listen in ("0.0.0.0:8080", "192.0.2.10:8080", "[::]:8080", "dashboard.example:8080"):
        assert cli.main(["serve", "--listen", listen]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "refusing to listen" in err and "token" in err
    assert cli.main(["serve", "--listen", "0.0.0.0:8080", "--token", "short"]) == 2
    assert "at least" in capsys.readouterr().err
