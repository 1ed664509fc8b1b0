"""Notices to the site's customer: templates, the pure decide/render core on a fake clock, and a
simulated failover + cap crossing through a real mosquitto to a test SMTP server and webhook."""
import email
import io
import json
import random
import time

import pytest

from host_tools.fleet import alerts, cli, inventory
from host_tools.fleet.alerts import Dedup
from host_tools.fleet.model import Fleet
from host_tools.fleet.notices import templates
from host_tools.fleet.notices.contacts import Contact, ContactsError, load_contacts
from host_tools.fleet.notices.engine import Notices
from host_tools.fleet.notices.messages import due, preview
from host_tools.fleet.notices.settings import Settings, SettingsError, check_settings
from host_tools.fleet.simulate import SimSite
from tests.fleet.test_fleet import pub, publisher, smtp_server, wait_for, webhook  # noqa: F401 (fixtures)
from tests.support.fakeclock import FakeClock

CAP = 4 * 10**12  # with the simulator's backup burn (5 MB/s) 10 % used lasts about 8 days
# GSM 03.38 basic alphabet: an SMS in it holds 160 characters (one outside it: 70)
GSM7 = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
           "¿abcdefghijklmnopqrstuvwxyzäöñüà")


def sim_site(i=1, now=1_790_000_000):
    s = SimSite(i, random.Random(i), now)
    s.cap = CAP
    s.used = CAP // 10
    return s


def feed(fleet, s, now):
    fleet.ingest("wanwatch/%s/inventory" % s.id, json.dumps(s.inventory))
    fleet.ingest("wanwatch/%s/status" % s.id, json.dumps(s.status(now)))
    return fleet.sites[s.id]


# --- templates ---------------------------------------------------------------------------------

def test_every_language_file_has_the_same_keys_and_placeholders():
    ref = templates.flat(templates.load("en"))
    assert {"messages.%s.%s" % (k, p) for k in templates.KINDS for p in templates.PARTS} <= set(ref)
    langs = templates.languages()
    assert {"en", "it"} <= set(langs)
    for lang in langs:
        keys = templates.flat(templates.load(lang))
        assert set(keys) == set(ref), lang
        for k, text in keys.items():
            assert templates.placeholders(text) == templates.placeholders(ref[k]), (lang, k)
            assert all(p.isidentifier() for p in templates.placeholders(text)), (lang, k)


def test_sms_fits_one_gsm_message_in_every_language():
    values = {"name": "Bar Centrale", "left": 3 * 86400, "reset": 20 * 86400, "pct": 80, "duration": 5 * 3600}
    for lang in templates.languages():
        for kind in templates.KINDS:
            sms = templates.render(kind, lang, values)["sms"]
            assert len(sms) <= 160 and set(sms) <= GSM7, (lang, kind, sms)


def test_unknown_language_is_english_and_a_missing_key_falls_back(monkeypatch):
    assert templates.pick_language("de") == "en" and templates.pick_language("IT-it") == "it"
    assert templates.render("restored", "xx", {"name": "A", "duration": 7200})["text"].startswith("Hello A,")
    it = json.loads(json.dumps(templates.load("it")))
    del it["messages"]["restored"]["sms"]
    monkeypatch.setitem(templates._cache, "it", it)
    m = templates.render("restored", "it", {"name": "A", "duration": 7200})
    assert m["subject"].endswith("è tornata") and m["sms"].startswith("A: good news")


def test_durations_in_plain_words():
    words = [templates.duration("en", s) for s in (60, 4000, 5 * 3600, 26 * 3600, 2.4 * 86400)]
    assert words == ["less than an hour", "about an hour", "about 5 hours", "about a day", "about 2 days"]
    assert templates.duration("it", 3 * 86400) == "circa 3 giorni"


def test_values_cannot_break_out_of_a_header_or_a_template():
    m = templates.render("cap", "en", {"name": "Evil\r\nBcc: x@example.invalid {pct} {0.__class__}", "pct": 50,
                                       "reset": 86400})
    assert "\n" not in m["subject"] and "\r" not in m["subject"]
    assert "Evil Bcc: x@example.invalid {pct} {0.__class__}" in m["subject"]  # inserted verbatim, not formatted


# --- the pure core on a fake clock -------------------------------------------------------------

def kinds(dedup, site, contact, settings, clock):
    return [(m["kind"], m["lang"]) for m in due(dedup, site, contact, settings, clock.time())]


def test_failover_cap_runout_restored_once_each_with_quiet_period():
    clock = FakeClock()
    settings = Settings(quiet_s=600)
    dedup = Dedup(settings.quiet_s)
    f = Fleet()
    s = sim_site()
    contact = Contact(s.id, "Bar Centrale", "it")

    def report(advance=60, **changes):
        clock.advance(advance)
        for k, v in changes.items():
            setattr(s, k, v)
        return kinds(dedup, feed(f, s, clock.time()), contact, settings, clock)

    assert report() == []                              # on the main line, 10 % used: nothing to tell
    assert report(active="wwan") == [("on_backup", "it")]
    assert report() == [] and report() == []           # still on the backup: told once
    assert report(used=CAP * 52 // 100) == [("cap", "it")]
    assert report(used=CAP * 53 // 100) == []
    assert report(used=CAP * 81 // 100) == [("cap", "it")]
    assert report(used=CAP * 99 // 100) == [("runout", "it")]  # 40 GB at 5 MB/s: about 2 hours
    assert report(used=CAP) == [("cap_full", "it")]
    assert report(active="wan") == [("restored", "it")]
    assert report(active="wwan") == []                 # flapping within the quiet period: not again
    assert report(active="wan") == []                  # and no second "restored"
    assert report(advance=700, active="wwan") == [("on_backup", "it")]


def test_a_jump_tells_the_highest_threshold_only_and_a_wobble_does_not_repeat():
    clock = FakeClock()
    settings = Settings(quiet_s=0)
    dedup = Dedup(0)
    f = Fleet()
    s = sim_site()
    contact = Contact(s.id, "Studio Rossi", "en")
    s.used = CAP * 85 // 100
    msgs = due(dedup, feed(f, s, clock.time()), contact, settings, clock.time())
    assert [m["kind"] for m in msgs] == ["cap"] and "85%" in msgs[0]["subject"]
    for pct in (79.5, 81, 79, 82):  # a carrier calibration moves the figure around 80
        clock.advance(60)
        s.used = int(CAP * pct / 100)
        assert due(dedup, feed(f, s, clock.time()), contact, settings, clock.time()) == []


def test_on_backup_says_how_long_it_lasts_or_stays_plain():
    now = 1_790_000_000
    s = sim_site(now=now)
    s.active = "wwan"
    site = feed(Fleet(), s, now)
    [it] = preview(site, Contact(s.id, "Bar Centrale", "it"), now)
    assert it["kind"] == "on_backup" and "la riserva durerà circa 8 giorni" in it["text"]
    assert "Il nostro tecnico" in it["text"] and it["subject"].startswith("Bar Centrale: ")
    [en] = preview(site, Contact(s.id, "Bar Centrale", "it"), now, lang="en")
    assert "the backup will last about 8 days" in en["text"]
    s.cap = 10**15  # lasts past the renewal: no forecast worth telling
    [plain] = preview(feed(Fleet(), s, now), None, now)
    assert plain["kind"] == "on_backup_plain" and plain["lang"] == "en" and plain["text"].startswith("Hello %s," % s.id)
    every = preview(feed(Fleet(), s, now), None, now, every=True)
    assert [m["kind"] for m in every] == list(templates.KINDS)
    assert [m["kind"] for m in every if m.get("sample")] == ["cap", "restored"]  # 0 % used, never restored
    assert "the backup will last about" in every[0]["text"] and "run out in about" in every[2]["text"]


# --- contacts and settings ---------------------------------------------------------------------

def test_contacts_from_json_and_csv(tmp_path):
    j = tmp_path / "c.json"
    j.write_text(json.dumps({"bar-1": {"name": "Bar Centrale", "lang": "it", "email": "marco@bar.example",
                                       "sms_webhook": "http://127.0.0.1:1/sms", "phone": "+39 333 1234567",
                                       "notices": True},
                             "dent-2": {"name": "Studio Rossi"}}))
    c = tmp_path / "c.csv"
    c.write_text("site,name,lang,email,phone,sms_webhook,notices\n"
                 "bar-1,Bar Centrale,it,marco@bar.example,+39 333 1234567,http://127.0.0.1:1/sms,yes\n"
                 "dent-2,Studio Rossi,,,,,\n")
    assert load_contacts(str(j)) == load_contacts(str(c))
    assert load_contacts(str(c))["dent-2"] == Contact("dent-2", "Studio Rossi")  # en, notices off
    for bad, msg in (({"name": "A", "notice": True}, "unknown field notice"),
                     ({"name": "A", "email": "a@b.example\r\nBcc: c@d.example"}, "not one address"),
                     ({"name": "A", "notices": True}, "nothing|no email"),
                     ({"name": "A", "notices": "yes"}, "true or false"),
                     ({"name": ""}, "name")):
        j.write_text(json.dumps({"s": bad}))
        with pytest.raises(ContactsError, match=msg):
            load_contacts(str(j))


def test_inventory_carries_the_contacts():
    f = Fleet()
    for i in (1, 2):
        feed(f, sim_site(i), 1_790_000_000)
    contacts = {"site-00001": Contact("site-00001", "Bar | Centrale", "it", ("m@bar.example",), notices=True)}
    md = inventory.to_markdown(f, contacts).splitlines()
    assert md[0].endswith("| contact_name | contact_lang | contact_email | contact_sms | notices |")
    assert md[2].endswith("| Bar \\| Centrale | it | m@bar.example |  | on |") and md[3].endswith("|  |  |  |  |  |")
    assert inventory.to_csv(f).splitlines()[0].endswith(",links")  # without contacts: as before


def test_notices_section_checked_with_the_rules(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps({"s": {"name": "A", "email": "a@b.example", "notices": True}}))
    rules = {"notifiers": {"log": {"type": "stdout"}}, "rules": [], "notices": {"contacts": "c.json"}}
    with pytest.raises(alerts.RulesError, match="no 'mail' notifier"):
        alerts.check_rules(json.loads(json.dumps(rules)), base_dir=str(tmp_path))
    rules["notices"]["mail"] = "log"
    with pytest.raises(alerts.RulesError, match="smtp notifier"):
        alerts.check_rules(json.loads(json.dumps(rules)), base_dir=str(tmp_path))
    with pytest.raises(SettingsError, match="unknown key"):
        check_settings({"contacts": "c.json", "quiet": 5}, str(tmp_path))


# --- sending ------------------------------------------------------------------------------------

def write_rules(tmp_path, smtp_port, contacts, **notices):
    (tmp_path / "contacts.json").write_text(json.dumps(contacts))
    rules = {"quiet_s": 600,
             "notifiers": {"mail": {"type": "smtp", "host": "127.0.0.1", "port": smtp_port,
                                    "from": "noc@isp.example", "to": ["noc@isp.example"]},
                           "log": {"type": "stdout"}},
             "rules": [],
             "notices": dict({"contacts": "contacts.json", "mail": "mail", "copy": ["log"],
                              "provider": "Rete Rossi"}, **notices)}
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules))
    return alerts.load_rules(str(path))


def mail_of(raw):
    msg = email.message_from_string(raw, policy=email.policy.default)
    return msg["To"], msg["Subject"], msg.get_content(), msg


def test_simulated_failover_and_cap_through_smtp_and_webhook(broker, smtp_server, webhook, tmp_path):
    smtp_port, mails = smtp_server
    hook_url, hooks = webhook
    sites = {"site-00001": sim_site(1), "site-00002": sim_site(2), "site-00003": sim_site(3)}
    contacts = {"site-00001": {"name": "Bar Centrale", "lang": "it", "email": "marco@bar.example",
                               "sms_webhook": hook_url, "phone": "+39 333 1234567", "notices": True},
                "site-00002": {"name": "Dental Care", "lang": "de-DE", "email": "desk@dental.example",
                               "notices": True},  # no German file: English
                "site-00003": {"name": "Pizzeria", "lang": "it", "email": "p@pizza.example"}}  # notices off
    rules = write_rules(tmp_path, smtp_port, contacts, quiet_s=3 * 3600)  # customers: at most one a few hours
    clock = FakeClock()
    log = io.StringIO()
    ing = cli.Ingestor("wanwatch")
    ing.alerter = alerts.Alerter(rules, ing.fleet, clock.time, out=log)
    from host_tools.fleet.mqttio import client
    sub = client("test-notices", ing.on_message, port=broker.port)
    sub.loop_start()
    p = publisher(broker.port)
    sent = 0

    def report(advance=60, **changes):
        nonlocal sent
        clock.advance(advance)
        for s in sites.values():
            for k, v in changes.items():
                setattr(s, k, v)
            pub(p, "wanwatch/%s/status" % s.id, s.status(clock.time()))
        sent += len(sites)
        assert wait_for(lambda: ing.fleet.reports >= sent)

    try:
        for s in sites.values():  # retained: delivered once the subscription is in place
            pub(p, "wanwatch/%s/inventory" % s.id, s.inventory, True)
            pub(p, "wanwatch/%s/state" % s.id, "online", True)
        sent = 2 * len(sites)
        assert wait_for(lambda: ing.fleet.reports >= sent)
        report()
        assert mails == [] and hooks == []
        report(active="wwan")          # the simulated failover
        report()
        report()
        assert wait_for(lambda: len(mails) == 2) and len(hooks) == 1
        by_to = {mail_of(m)[0]: mail_of(m) for m in mails}
        _, subj, body, _ = by_to["marco@bar.example"]
        assert subj == "Bar Centrale: internet funziona con la linea di riserva"
        assert "la riserva durerà circa 8 giorni" in body and body.rstrip().endswith("Rete Rossi")
        _, subj, body, msg = by_to["desk@dental.example"]
        assert subj == "Dental Care: your internet is running on the backup line" and msg["Content-Language"] == "en"
        assert "the backup will last about 8 days" in body
        assert hooks[0]["to"] == "+39 333 1234567" and hooks[0]["kind"] == "on_backup" and hooks[0]["lang"] == "it"
        assert hooks[0]["text"].startswith("Bar Centrale: linea internet principale guasta")

        report(used=CAP * 81 // 100)   # a cap crossing: 50 and 80 at once, the 80 one is told
        report(used=CAP * 82 // 100)
        assert wait_for(lambda: len(mails) == 4) and len(hooks) == 2
        subjects = sorted(mail_of(m)[1] for m in mails[2:])
        assert subjects == ["Bar Centrale: dati di riserva del mese a quota 81%",
                            "Dental Care: 81% of this month's backup data used"]
        assert "a quota 81%" in hooks[1]["text"] and "circa 20 giorni" in hooks[1]["text"]

        report(advance=7000, active="wan")  # the main line is back: told once
        report()
        assert wait_for(lambda: len(mails) == 6) and len(hooks) == 3
        restored = {mail_of(m)[0]: mail_of(m)[2] for m in mails[4:]}
        assert "Siete stati sulla riserva per circa 2 ore" in restored["marco@bar.example"]  # 7,240 s
        assert "You were on the backup for about 2 hours" in restored["desk@dental.example"]

        report(active="wwan")          # flapping inside the quiet period (2 h after): nothing more
        report(active="wan")
        assert not wait_for(lambda: len(mails) > 6 or len(hooks) > 3, timeout=1.0)
        assert all("p@pizza.example" not in m for m in mails)  # notices off: never written to
        copies = [json.loads(line) for line in log.getvalue().splitlines()]
        assert [c["condition"] for c in copies if c["site"] == "site-00001"] == ["on_backup", "cap", "restored"]
        assert all(c["channels"] == ["email", "sms"] for c in copies if c["site"] == "site-00001")
    finally:
        p.loop_stop()
        sub.loop_stop()


def test_no_header_injection_from_site_or_contact_names(smtp_server, tmp_path):
    smtp_port, mails = smtp_server
    evil = "bar\r\nBcc: victim@example.invalid"
    rules = write_rules(tmp_path, smtp_port, {evil: {"name": "Bar\r\nBcc: victim@example.invalid\r\n\r\nbody",
                                                    "email": "marco@bar.example", "notices": True}})
    clock = FakeClock()
    engine = Notices(rules["notices"], clock.time, {"log": alerts.Notifier({"type": "stdout"}, io.StringIO())})
    s = sim_site()
    s.id, s.active = evil, "wwan"
    f = Fleet()
    site = f.site(evil)
    site.inventory, site.status = s.inventory, s.status(clock.time())
    assert [m["kind"] for m in engine.evaluate(site)] == ["on_backup"]
    assert wait_for(lambda: len(mails) == 1)
    to, subject, body, msg = mail_of(mails[0])
    assert msg["Bcc"] is None and to == "marco@bar.example"
    assert subject == "Bar Bcc: victim@example.invalid body: your internet is running on the backup line"
    assert msg["X-Wanwatch-Site"] == "bar Bcc: victim@example.invalid"


def test_what_was_told_survives_a_controller_restart(tmp_path):
    rules = write_rules(tmp_path, 1, {"site-00001": {"name": "Bar", "sms_webhook": "http://127.0.0.1:9/x",
                                                     "notices": True}}, state="told.json")
    clock = FakeClock()
    s = sim_site()
    s.active = "wwan"
    f = Fleet()
    site = feed(f, s, clock.time())
    first = Notices(rules["notices"], clock.time, {"log": alerts.Notifier({"type": "stdout"}, io.StringIO())})
    assert [m["kind"] for m in first.evaluate(site)] == ["on_backup"] and first.failed == 1  # port 9: refused
    clock.advance(3600)
    again = Notices(rules["notices"], clock.time, {"log": alerts.Notifier({"type": "stdout"}, io.StringIO())})
    assert again.evaluate(site) == []
    s.active = "wan"
    assert [m["kind"] for m in again.evaluate(feed(f, s, clock.time()))] == ["restored"]
    site.state = "offline"
    s.active = "wwan"
    assert again.evaluate(feed(f, s, clock.time())) == []  # an offline router's status is not news


def test_preview_command(broker, capsys, tmp_path):
    now = time.time()  # the command reads the real clock: the simulated cycle must be around it
    s = sim_site(now=now)
    s.active = "wwan"
    (tmp_path / "c.csv").write_text("site,name,lang,email,notices\n%s,Bar Centrale,it,m@bar.example,no\n" % s.id)
    p = publisher(broker.port)
    try:
        pub(p, "wanwatch/%s/inventory" % s.id, s.inventory, True)
        pub(p, "wanwatch/%s/status" % s.id, s.status(now), True)
    finally:
        p.loop_stop()
    args = ["notices", "preview", "--port", str(broker.port), "--site", s.id, "--contacts", str(tmp_path / "c.csv"),
            "--settle", "0.5"]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "notices are off" in out and "=== on_backup (it) -> e-mail m@bar.example" in out
    assert "Subject: Bar Centrale: internet funziona con la linea di riserva" in out
    assert cli.main(args + ["--lang", "en", "--all"]) == 0
    out = capsys.readouterr().out
    assert out.count("=== ") == len(templates.KINDS) and "Subject: Bar Centrale: your main internet line is back" in out
    assert cli.main(args[:-4] + ["--site", "nowhere", "--settle", "0.5"]) == 1
