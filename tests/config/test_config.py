"""Config contract: defaults filled in, every bad input is one line naming file, key and reason."""
import json
import os

import pytest

from tests.conftest import run_micropython
from wanwatch import config

GOOD = {
    "device_id": "shop-1",
    "modem": {"port": "/dev/ttyUSB2"},
    "links": [{"name": "wan", "device": "pppoe-wan", "role": "primary"},
              {"name": "wwan", "device": "wwan0", "role": "backup", "metered": True, "targets": ["1.1.1.1"]}],
}


def write(tmp_path, obj, name="c.json"):
    p = tmp_path / name
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return str(p)


def test_defaults_filled(tmp_path):
    cfg = config.load(write(tmp_path, GOOD))
    assert cfg["modem"] == {"port": "/dev/ttyUSB2", "baud": 115200, "vendor": "auto", "poll_s": 30}
    assert cfg["links"][0]["targets"] == config.DEFAULT_TARGETS and cfg["links"][0]["metered"] is False
    assert cfg["actuator"] == "none"
    assert cfg["usage"]["cap_mb"] is None and cfg["usage"]["reset_day"] == 1
    assert cfg["mqtt"]["host"] == "127.0.0.1" and cfg["mqtt"]["port"] == 1883 and cfg["mqtt"]["prefix"] == "wanwatch"
    assert cfg["state_dir"] == "/var/lib/wanwatch"
    assert cfg["log_level"] == "info"


def test_log_level(tmp_path):
    for lvl in ("error", "warning", "info", "debug"):
        assert config.load(write(tmp_path, dict(GOOD, log_level=lvl)))["log_level"] == lvl
    uci = "config wanwatch 'main'\n\toption device_id 'r1'\n\toption log_level 'debug'\n" \
          "config modem 'modem'\n\toption port '/dev/x'\n" \
          "config link 'wan'\n\toption device 'eth0'\n\toption role 'primary'\n"
    assert config.load(write(tmp_path, uci, "wanwatch"))["log_level"] == "debug"
    with pytest.raises(config.ConfigError) as ei:
        config.load(write(tmp_path, uci.replace("'debug'", "'warn'"), "wanwatch"))
    assert str(ei.value).endswith(": log_level: must be one of error, warning, info, debug, got 'warn'")


def test_mqtt_resolver(tmp_path):
    assert config.load(write(tmp_path, GOOD))["mqtt"]["resolver"] is None  # /etc/resolv.conf
    for ip in ("192.0.2.53", "2001:db8::53", "fe80::1%br-lan"):
        assert config.load(write(tmp_path, dict(GOOD, mqtt={"resolver": ip})))["mqtt"]["resolver"] == ip
    uci = "config wanwatch 'main'\n\toption device_id 'r1'\nconfig modem 'modem'\n\toption port '/dev/x'\n" \
          "config link 'wan'\n\toption device 'eth0'\n\toption role 'primary'\n" \
          "config mqtt 'mqtt'\n\toption host 'mqtt.example.net'\n\toption resolver '192.168.1.1'\n"
    cfg = config.load(write(tmp_path, uci, "wanwatch"))
    assert cfg["mqtt"]["host"] == "mqtt.example.net" and cfg["mqtt"]["resolver"] == "192.168.1.1"


def test_tls_default_port(tmp_path):
    c = dict(GOOD, mqtt={"tls": True})
    assert config.load(write(tmp_path, c))["mqtt"]["port"] == 8883


BAD = [
    ({k: v for k, v in GOOD.items() if k != "device_id"}, "device_id", "is required"),
    (dict(GOOD, device_id="a b"), "device_id", "must be"),
    (dict(GOOD, modem={}), "modem.port", "is required"),
    (dict(GOOD, modem={"port": "/dev/x", "baud": "fast"}), "modem.baud", "integer"),
    (dict(GOOD, modem={"port": "/dev/x", "vendor": "nokia"}), "modem.vendor", "must be one of"),
    (dict(GOOD, links=[]), "links", "at least one"),
    (dict(GOOD, links=[{"name": "wan;reboot", "device": "eth0", "role": "primary"}]), "links[0].name", "must be"),
    (dict(GOOD, links=[{"name": "wan", "device": "eth0", "role": "main"}]), "links[0].role", "primary or backup"),
    (dict(GOOD, links=[{"name": "wan", "device": "eth0", "role": "primary", "targets": ["1.2.3"]}]), "links[0].targets[0]", "IPv4"),
    (dict(GOOD, links=GOOD["links"] + [GOOD["links"][0]]), "links[2].name", "duplicate"),
    (dict(GOOD, actuator="shell"), "actuator", "must be one of"),
    (dict(GOOD, usage={"cap_mb": -5}), "usage.cap_mb", "> 0"),
    (dict(GOOD, usage={"reset_day": 32}), "usage.reset_day", "between 1 and 31"),
    (dict(GOOD, usage={"flash_save_mb": 0}), "usage.flash_save_mb", "between 0.01 and 100000"),
    (dict(GOOD, usage={"flash_min_interval_s": "1m"}), "usage.flash_min_interval_s", "must be a number"),
    (dict(GOOD, usage={"flash_save": 5}), "usage.flash_save", "unknown key"),
    (dict(GOOD, usage={"at_cap_action": "block"}), "usage.at_cap_action", "none, alert_sms"),
    (dict(GOOD, usage={"at_cap_action": "alert_sms"}), "usage.at_cap_action", "needs sms.numbers"),
    (dict(GOOD, usage={"at_cap_action": "alert_sms", "thresholds": [50, 90]}, sms={"numbers": ["+4917012"]}),
     "usage.thresholds", "add 100"),
    (dict(GOOD, usage={"calibration": {"method": "ussd"}}), "usage.calibration", "list of 1-4"),
    (dict(GOOD, usage={"calibration": [{"method": "ussd", "code": "*123#", "pattern": "left {num} {num}"}]}),
     "usage.calibration[0].pattern", "{num} exactly once"),
    (dict(GOOD, usage={"calibration": [{"method": "sms", "number": "22555", "pattern": "{num}", "unit": "MiB",
                                        "timeout_s": 0}]}), "usage.calibration[0].timeout_s", "between 1 and 600"),
    (dict(GOOD, mqtt={"port": 70000}), "mqtt.port", "between"),
    (dict(GOOD, mqtt={"prefix": "a/#"}), "mqtt.prefix", "wildcards"),
    (dict(GOOD, mqtt={"tls": "yes"}), "mqtt.tls", "true or false"),
    (dict(GOOD, mqtt={"resolver": "dns.example.net"}), "mqtt.resolver", "IPv4 or IPv6 address"),
    (dict(GOOD, mqtt={"resolver": "192.0.2.53:5353"}), "mqtt.resolver", "IPv4 or IPv6 address"),
    (dict(GOOD, mqtt={"resolver": "[2001:db8::53]"}), "mqtt.resolver", "IPv4 or IPv6 address"),
    (dict(GOOD, mqtt={"resolver": 53}), "mqtt.resolver", "must be a string"),
    (dict(GOOD, mqqt={"host": "x"}), "mqqt", "unknown key"),
    (dict(GOOD, probe={"interval_s": 0}), "probe.interval_s", "must be a number"),
    (dict(GOOD, probe={"interval": 1}), "probe.interval", "unknown key"),
    (dict(GOOD, failover={"hold_down_s": "2m"}), "failover.hold_down_s", "must be a number"),
    (dict(GOOD, failover={"flush_conntrack": 1}), "failover.flush_conntrack", "must be true or false"),
    (dict(GOOD, failover={"resolv_file": "/tmp/a;reboot"}), "failover.resolv_file", "must be an absolute path"),
    (dict(GOOD, links=[{"name": "wan", "device": "wan", "role": "primary", "targets": ["fe80::1%wan"]}]),
     "links[0].targets[0]", "must be an IPv4 or IPv6 address"),
    (dict(GOOD, links=[{"name": "wan", "device": "wan", "role": "primary", "interfaces": ["wan", "wan;x"]}]),
     "links[0].interfaces[1]", "must be 1-15 characters"),
    (dict(GOOD, links=[{"name": "wan", "device": "wan", "role": "primary"},
                       {"name": "wwan", "device": "wwan", "role": "backup", "interfaces": ["wan"]}]),
     "links[1].interfaces[0]", "already belongs to link 'wan'"),
    (dict(GOOD, recovery={"reboot": "yes"}), "recovery.reboot", "true or false"),
    (dict(GOOD, log_level="verbose"), "log_level", "must be one of error, warning, info, debug, got 'verbose'"),
    (dict(GOOD, log_level=7), "log_level", "must be a string"),
    (dict(GOOD, recovery={"reattach_after": 5}), "recovery.reattach_after", "unknown key"),
]


@pytest.mark.parametrize("raw,key,reason", BAD)
def test_bad_config_names_key(tmp_path, raw, key, reason):
    path = write(tmp_path, raw)
    with pytest.raises(config.ConfigError) as ei:
        config.load(path)
    line = str(ei.value)
    assert "\n" not in line
    assert line.startswith("config error: %s: %s: " % (path, key)), line
    assert reason in line


def test_unreadable_and_garbage(tmp_path):
    with pytest.raises(config.ConfigError) as ei:
        config.load(str(tmp_path / "nope.json"))
    assert "cannot read" in str(ei.value)
    with pytest.raises(config.ConfigError) as ei:
        config.load(write(tmp_path, "{not json"))
    assert "not valid JSON" in str(ei.value)
    with pytest.raises(config.ConfigError) as ei:
        config.load(write(tmp_path, "[1, 2]"))
    assert "neither JSON" in str(ei.value)


def test_same_errors_under_micropython(tmp_path):
    """The validator is firmware: MicroPython must give the same one-line errors."""
    cases = []
    for i, (raw, key, reason) in enumerate(BAD):
        cases.append((write(tmp_path, raw, "bad%d.json" % i), key, reason))
    good = write(tmp_path, GOOD, "good.json")
    script = tmp_path / "check.py"
    script.write_text(
        "from wanwatch import config\n"
        "import json\n"
        "cases = json.loads(%r)\n"
        "cfg = config.load(%r)\n"
        "assert cfg['modem']['baud'] == 115200\n"
        "for path, key, reason in cases:\n"
        "    try:\n"
        "        config.load(path)\n"
        "        print('NOERROR', path)\n"
        "    except config.ConfigError as e:\n"
        "        s = str(e)\n"
        "        ok = s.startswith('config error: %%s: %%s: ' %% (path, key)) and reason in s\n"
        "        print('OK' if ok else 'BAD ' + s)\n" % (json.dumps(cases), good))
    r = run_micropython([str(script)])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split()
    assert lines.count("OK") == len(BAD), r.stdout


def test_usage_keys_accepted(tmp_path):
    cal = [{"method": "ussd", "code": "*133#", "pattern": "Te quedan {num} {unit}", "iccid_prefix": "8934"},
           {"method": "sms", "number": "+4922555", "text": "DATA", "sender": "o2", "value": "used",
            "pattern": "Datenvolumen von {num} {unit}", "unit": "GB", "interval_s": 43200, "near_pct": 2,
            "timeout_s": 300}]
    raw = dict(GOOD, usage={"cap_mb": 5000, "flash_save_mb": 20, "flash_min_interval_s": 120,
                            "at_cap_action": "alert_sms", "calibration": cal}, sms={"numbers": ["+4917000000001"]})
    cfg = config.load(write(tmp_path, raw))
    assert cfg["usage"]["flash_save_mb"] == 20 and cfg["usage"]["calibration"] == cal
