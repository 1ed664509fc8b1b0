"""Home Assistant discovery against a real mosquitto: the retained configs appear under
homeassistant/, and their templates, rendered with Jinja2 as Home Assistant does, read the right
values out of a real status document."""
import json
import random
import threading
import time

import paho.mqtt.client as mqtt
from jinja2.sandbox import ImmutableSandboxedEnvironment

from host_tools.fleet import cli
from host_tools.fleet.simulate import SimSite


def retained(port, pattern, settle=0.7):
    """Every retained message under pattern: {topic: payload}."""
    got, last = {}, [time.time()]
    subscribed = threading.Event()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-ha-reader", protocol=mqtt.MQTTv5)
    c.on_connect = lambda cl, u, f, r, p: cl.subscribe(pattern, qos=1)
    c.on_subscribe = lambda *a: subscribed.set()

    def on_message(cl, u, msg):
        last[0] = time.time()
        if msg.retain:
            got[msg.topic] = msg.payload.decode()

    c.on_message = on_message
    c.connect("127.0.0.1", port)
    c.loop_start()
    assert subscribed.wait(5)
    while time.time() - last[0] < settle:
        time.sleep(0.05)
    c.disconnect()
    c.loop_stop()
    return got


def render(template, payload):
    return ImmutableSandboxedEnvironment().from_string(template).render(value_json=json.loads(payload))


def test_discovery_configs_point_at_the_agents_status(broker):
    site = SimSite(3, random.Random(1), time.time())
    site.active = "wwan"  # on backup: wan down, wwan up
    status = site.status(time.time())
    status["links"]["wwan"]["rtt_ms"] = None  # not known: Home Assistant must show unknown, not 0
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-pub", protocol=mqtt.MQTTv5)
    pub.connect("127.0.0.1", broker.port)
    pub.loop_start()
    for sub, doc in (("inventory", site.inventory), ("status", status), ("state", "online")):
        pub.publish("wanwatch/%s/%s" % (site.id, sub), doc if isinstance(doc, str) else json.dumps(doc),
                    qos=1, retain=True).wait_for_publish(5)
    pub.loop_stop()
    pub.disconnect()

    assert cli.main(["homeassistant", "--port", str(broker.port), "--site", site.id]) == 0
    configs = {t: json.loads(p) for t, p in retained(broker.port, "homeassistant/#").items()}
    node = "wanwatch_site-00003"
    expect = {  # object id -> value Home Assistant shows for this status
        "active_link": "wwan", "rsrp": str(status["signal"]["rsrp_dbm"]), "sinr": "12.0", "rat": "LTE",
        "operator": site.op[0], "data_used": str(site.used), "data_used_pct": str(status["usage"]["used_pct"]),
        "data_cap": "10000000000",
        "link_wan_state": "down", "link_wan_rtt": "None", "link_wan_loss": "100.0",
        "link_wwan_state": "up", "link_wwan_rtt": "None", "link_wwan_loss": "0.0",
        "on_backup": "ON"}
    topics = {"homeassistant/%s/%s/%s/config" % ("binary_sensor" if o == "on_backup" else "sensor", node, o): o
              for o in expect}
    assert set(configs) == set(topics)
    payload = json.dumps(status)
    for topic, obj in topics.items():
        cfg = configs[topic]
        assert cfg["state_topic"] == "wanwatch/site-00003/status"
        assert (cfg["availability_topic"], cfg["payload_available"], cfg["payload_not_available"]) == (
            "wanwatch/site-00003/state", "online", "offline")  # the agent's last will makes it unavailable
        assert cfg["unique_id"] == "%s_%s" % (node, obj)
        assert cfg["device"] == {"identifiers": [node], "name": "site-00003", "manufacturer": "wanwatch",
                                 "model": "openwrt-quectel / EC25", "sw_version": "0.1.0",
                                 "serial_number": site.inventory["imei"]}
        assert render(cfg["value_template"], payload) == expect[obj], obj
    assert configs[next(t for t, o in topics.items() if o == "link_wan_state")]["options"] == [
        "up", "degraded", "down", "standby", "unknown", "captive"]
    assert configs[next(t for t, o in topics.items() if o == "data_used")]["device_class"] == "data_size"
    # the simple form for the value sensors: a JSON path into the status document
    assert configs["homeassistant/sensor/%s/link_wan_state/config" % node]["value_template"] == \
        "{{ value_json.links.wan.state }}"
    # back on the primary: the same config reads OFF
    back = dict(status, active_link="wan")
    assert render(configs["homeassistant/binary_sensor/%s/on_backup/config" % node]["value_template"],
                  json.dumps(back)) == "OFF"

    assert cli.main(["homeassistant", "--port", str(broker.port), "--site", site.id, "--remove"]) == 0
    assert retained(broker.port, "homeassistant/#") == {}


def test_no_status_no_configs(broker, capsys):
    assert cli.main(["homeassistant", "--port", str(broker.port), "--site", "ghost", "--wait", "0.5"]) == 2
    assert "no retained status for ghost" in capsys.readouterr().err
    assert retained(broker.port, "homeassistant/#", settle=0.3) == {}


def test_link_names_that_are_no_identifiers_and_no_inventory():
    from host_tools.fleet.homeassistant import configs
    from host_tools.fleet.model import Fleet
    f = Fleet()
    status = {"ts": 1, "active_link": "lte-2", "links": {"fibre.1": {"state": "down", "rtt_ms": None},
                                                         "lte-2": {"state": "up", "rtt_ms": 40.5}}}
    f.ingest("wanwatch/shop.7/status", json.dumps(status).encode())
    docs = dict(configs(f.sites["shop.7"]))
    by_obj = {t.split("/")[3]: d for t, d in docs.items()}
    assert {t.split("/")[2] for t in docs} == {"wanwatch_shop_7"}  # topic levels: [a-zA-Z0-9_-] only
    assert render(by_obj["link_lte-2_rtt"]["value_template"], json.dumps(status)) == "40.5"
    assert render(by_obj["link_fibre_1_state"]["value_template"], json.dumps(status)) == "down"
    assert by_obj["link_fibre_1_state"]["state_topic"] == "wanwatch/shop.7/status"
    # no inventory: the first link is taken for the primary, as the fleet view does
    assert render(by_obj["on_backup"]["value_template"], json.dumps(status)) == "ON"
    assert "model" not in by_obj["on_backup"]["device"]
