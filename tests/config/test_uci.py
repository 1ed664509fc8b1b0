"""UCI config: the router's native config maps onto the JSON shape; bad files give one clear line."""
import pytest

from tests.conftest import run_micropython
from wanwatch import config
from wanwatch.config import uci

SHIPPED = "openwrt/wanwatch/files/etc/config/wanwatch"


def test_shipped_uci_config_validates():
    cfg = config.load(SHIPPED)
    assert cfg["device_id"] == "router-01" and cfg["actuator"] == "openwrt"
    assert cfg["modem"] == {"port": "/dev/ttyUSB2", "baud": 115200, "vendor": "auto", "poll_s": 30}
    assert [l["name"] for l in cfg["links"]] == ["wan", "wwan"]
    assert cfg["links"][1] == {"name": "wwan", "device": "wwan0", "role": "backup", "metered": True,
                               "interfaces": ["wwan"], "targets": ["1.1.1.1", "8.8.8.8", "9.9.9.9"], "checks": []}
    assert cfg["links"][0]["interfaces"] == ["wan", "wan6"]  # IPv4 and IPv6 of the primary switch together
    assert cfg["mqtt"]["tls"] is True and cfg["mqtt"]["port"] == 8883
    assert cfg["usage"]["cap_mb"] == 10000


def test_quoting_comments_lists():
    raw = uci.parse_uci("""
package wanwatch
config wanwatch main   # trailing comment
\toption device_id "shop 1"
config usage
\tlist thresholds '50'
\tlist thresholds 90
""")
    assert raw["device_id"] == "shop 1" and raw["usage"]["thresholds"] == [50, 90]


def test_usage_save_calibration_and_cap_sms_keys():
    raw = uci.parse_uci("""
config usage 'usage'
	option cap_mb '5000'
	option flash_save_mb '12.5'
	option flash_min_interval_s '30'
	option at_cap_action 'alert_sms'
config sms 'sms'
	list numbers '+4917000000001'
config calibration 'digi'
	option method 'ussd'
	option code '*133#'
	option pattern 'Te quedan {num} {unit}'
	option iccid_prefix '8934'
config calibration 'o2'
	option method 'sms'
	option number '22555'
	option text 'DATA'
	option value 'used'
	option pattern 'Datenvolumen von {num} {unit}'
	option interval_s '43200'
	option near_pct '2.5'
	option timeout_s '300'
""")
    u = raw["usage"]
    assert u["flash_save_mb"] == 12.5 and u["flash_min_interval_s"] == 30 and u["at_cap_action"] == "alert_sms"
    assert [c["method"] for c in u["calibration"]] == ["ussd", "sms"]
    assert u["calibration"][0]["code"] == "*133#" and u["calibration"][0]["iccid_prefix"] == "8934"
    assert u["calibration"][1]["interval_s"] == 43200 and u["calibration"][1]["near_pct"] == 2.5
    raw.update({"device_id": "r1", "modem": {"port": "/dev/ttyUSB2"},
                "links": [{"name": "wwan", "device": "wwan0", "role": "backup"}]})
    assert config.validate(raw)["usage"]["calibration"][1]["timeout_s"] == 300
    # an unquoted USSD code loses its '#' to the comment: said, not sent as *133
    bad = uci.parse_uci("config calibration 'c'\n\toption method 'ussd'\n\toption code *133#\n"
                        "\toption pattern '{num}'\n")
    raw["usage"] = bad["usage"]
    with pytest.raises(config.ConfigError) as ei:
        config.validate(raw, "wanwatch")
    assert str(ei.value).startswith("config error: wanwatch: usage.calibration[0].code: ") and "ending in #" in str(ei.value)


@pytest.mark.parametrize("text,key,reason", [
    ("config usage 'usage'\n\toption flash_save_mb 'lots'\n", "usage.flash_save_mb", "number"),
    ("config link\n\toption device eth0\n", "link", "need a name"),
    ("config link 'wan'\n\toption metered maybe\n", "link.wan.metered", "0/1"),
    ("config mqtt 'mqtt'\n\toption port 'http'\n", "mqtt.port", "number"),
    ("option device_id x\n", "line 1", "outside a config section"),
    ("config wanwatch 'main'\n\toption device_id 'unterminated\n", "line 2", "unterminated quote"),
    ("config weather 'x'\n", "weather", "unknown section type"),
    ("config wanwatch main\n\tfrobnicate yes\n", "line 2", "unknown statement"),
])
def test_bad_uci_names_key(tmp_path, text, key, reason):
    p = tmp_path / "wanwatch"
    p.write_text(text)
    with pytest.raises(config.ConfigError) as ei:
        config.load(str(p))
    s = str(ei.value)
    assert s.startswith("config error: %s: %s: " % (p, key)) and reason in s, s


def test_uci_under_micropython():
    r = run_micropython(["-c", "from wanwatch import config\nc = config.load(%r)\nprint(c['links'][1]['metered'], c['mqtt']['port'], c['modem']['port'])" % SHIPPED])
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "8883", "/dev/ttyUSB2"]


def test_load_board_by_name_and_path_under_both_runtimes():
    import os, subprocess, sys
    from tests.support import paths
    code = ("from wanwatch import board\n"
            "b = board.load_board('boards/esp32-simcom/board.json')\n"
            "print(b['name'], b['modem']['vendor'], sorted(board.hooks(b)))\n"
            "print(board.load_board('openwrt-quectel')['name'], board.load_board('nope'))\n")
    env = dict(os.environ, MICROPYPATH="firmware:.frozen", PYTHONPATH="firmware")
    for exe in (paths.micropython(), sys.executable):
        r = subprocess.run([exe, "-c", code], env=env, capture_output=True, text=True, timeout=20, cwd=paths.ROOT)
        assert r.returncode == 0, r.stderr
        assert "esp32-simcom simcom ['open_uart', 'power_toggle']" in r.stdout
        assert "openwrt-quectel None" in r.stdout
