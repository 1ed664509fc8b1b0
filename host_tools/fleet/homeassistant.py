"""Home Assistant MQTT discovery for a site: `fleet homeassistant --site X` publishes retained
discovery configs that point Home Assistant at the agent's own retained topics.

It lives on the fleet side, not in the firmware: the agent already publishes everything Home
Assistant needs (retained `<prefix>/<id>/status`, `/state` with `offline` as last will, `/inventory`),
so a dozen config documents (~8 KB) need not be built, stored or re-sent over a metered link by
the router, and an operator turns it on per site, or changes it, without touching the device.
Configs are retained, so Home Assistant finds them whenever it (re)starts; rerun after the site's
links change.
"""
import json
import re
import sys
import threading

import paho.mqtt.client as mqtt

from .model import Fleet, primary_link

ORIGIN = {"name": "wanwatch-host fleet homeassistant"}
LINK_STATES = ["up", "degraded", "down", "standby", "unknown", "captive"]
MEASUREMENT = {"state_class": "measurement"}

# (object id, name, path in the status doc, extra config) for the site as a whole
SITE_SENSORS = (
    ("active_link", "Active link", ("active_link",), {"icon": "mdi:wan"}),
    ("rsrp", "Signal RSRP", ("signal", "rsrp_dbm"),
     dict(MEASUREMENT, device_class="signal_strength", unit_of_measurement="dBm")),
    ("sinr", "Signal SINR", ("signal", "sinr_db"), dict(MEASUREMENT, device_class="signal_strength",
                                                          unit_of_measurement="dB")),
    ("rat", "Radio access", ("signal", "rat"), {"entity_category": "diagnostic"}),
    ("operator", "Operator", ("network", "operator"), {"entity_category": "diagnostic"}),
    # the counter restarts with each billing cycle: total_increasing takes a drop as a reset
    ("data_used", "Data used", ("usage", "total_bytes"),
     {"device_class": "data_size", "unit_of_measurement": "B", "state_class": "total_increasing"}),
    ("data_used_pct", "Data cap used", ("usage", "used_pct"), dict(MEASUREMENT, unit_of_measurement="%")),
    ("data_cap", "Data cap", ("usage", "cap_bytes"), {"device_class": "data_size", "unit_of_measurement": "B"}),
)
# per link: object id suffix, name suffix, key in links.<name>, extra config
LINK_SENSORS = (
    ("state", "state", "state", {"device_class": "enum", "options": LINK_STATES}),
    ("rtt", "RTT", "rtt_ms", dict(MEASUREMENT, device_class="duration", unit_of_measurement="ms")),
    ("loss", "loss", "loss_pct", dict(MEASUREMENT, unit_of_measurement="%")),
)


def _slug(text):
    """Discovery topic levels and unique ids: Home Assistant accepts [a-zA-Z0-9_-]."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)


def value_path(*keys):
    """`value_json.links.wan.state`; a key that is no identifier goes in brackets. A null value
    renders as `None`, which Home Assistant shows as unknown."""
    out = "value_json"
    for k in keys:
        out += ".%s" % k if k.isidentifier() else "[%s]" % json.dumps(k)
    return out


def configs(site, prefix="wanwatch", discovery_prefix="homeassistant", version=None):
    """[(discovery topic, config dict)] for one site (a model.Site with its status, and its
    inventory when known)."""
    inv = site.inventory or {}
    node = "wanwatch_" + _slug(site.device_id)
    base = "%s/%s" % (prefix, site.device_id)
    model = " / ".join(x for x in (inv.get("board"), inv.get("modem_model")) if x) or None
    device = {"identifiers": [node], "name": site.device_id, "manufacturer": "wanwatch", "model": model,
              "sw_version": inv.get("firmware_version"), "serial_number": inv.get("imei")}
    common = {"state_topic": base + "/status", "availability_topic": base + "/state",
              "payload_available": "online", "payload_not_available": "offline",
              "device": {k: v for k, v in device.items() if v is not None},
              "origin": dict(ORIGIN, **({"sw_version": version} if version else {}))}
    out = []

    def add(component, object_id, name, template, extra):
        doc = dict(common, name=name, unique_id="%s_%s" % (node, object_id), value_template=template)
        doc.update(extra)
        out.append(("%s/%s/%s/%s/config" % (discovery_prefix, component, node, object_id), doc))

    for object_id, name, path, extra in SITE_SENSORS:
        add("sensor", object_id, name, "{{ %s }}" % value_path(*path), extra)
    for link in sorted(((site.status or {}).get("links") or {})):
        for suffix, name, key, extra in LINK_SENSORS:
            add("sensor", "link_%s_%s" % (_slug(link), suffix), "%s %s" % (link, name),
                "{{ %s }}" % value_path("links", link, key), extra)
    primary = primary_link(site)
    if primary:
        # the fleet's own rule (model.on_backup): carrying traffic on anything but the primary
        add("binary_sensor", "on_backup", "On backup",
            "{{ 'ON' if value_json.active_link and value_json.active_link != %s else 'OFF' }}" % json.dumps(primary),
            {"device_class": "problem"})
    return out


def _version():
    from importlib import metadata
    try:
        return metadata.version("wanwatch-host")
    except metadata.PackageNotFoundError:
        return None


def fetch_site(host, port, prefix, device_id, wait_s):
    """A connected client, and the site with its retained status (None without one) and inventory
    (if it has one)."""
    fleet = Fleet(prefix)
    have = {"status": threading.Event(), "inventory": threading.Event()}

    def on_connect(cl, userdata, flags, reason, props):
        cl.subscribe([("%s/%s/%s" % (prefix, device_id, sub), 1) for sub in ("status", "inventory", "state")])

    def on_message(cl, userdata, msg):
        res = fleet.ingest(msg.topic, msg.payload)
        if res is not None and res[1] in have:
            have[res[1]].set()

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="wanwatch-fleet-ha-%s" % _slug(device_id),
                    protocol=mqtt.MQTTv5)
    c.on_connect, c.on_message = on_connect, on_message
    c.connect(host, port, keepalive=30)
    c.loop_start()
    if not have["status"].wait(wait_s):
        return c, None
    have["inventory"].wait(1.0)  # retained messages come together: a short grace, not a second timeout
    return c, fleet.sites.get(device_id)


def cmd_homeassistant(args):
    c, site = fetch_site(args.host, args.port, args.prefix, args.site, args.wait)
    try:
        if site is None:
            print("fleet homeassistant: no retained status for %s on %s:%d" % (args.site, args.host, args.port),
                  file=sys.stderr)
            return 2
        docs = configs(site, args.prefix, args.discovery_prefix, _version())
        for topic, doc in docs:
            # an empty retained payload is how Home Assistant is told to drop an entity
            payload = "" if args.remove else json.dumps(doc, separators=(",", ":"))
            c.publish(topic, payload, qos=1, retain=True).wait_for_publish(10)
        print("%s %d Home Assistant discovery configs for %s under %s/" % (
            "removed" if args.remove else "published", len(docs), args.site, args.discovery_prefix))
        return 0
    finally:
        c.disconnect()  # first: the network thread then ends at once, not at its next 1 s select
        c.loop_stop()


def add_cli(sub, common):
    p = sub.add_parser("homeassistant", help="publish Home Assistant MQTT discovery configs for a site")
    common(p)
    p.add_argument("--site", required=True, help="device id")
    p.add_argument("--discovery-prefix", default="homeassistant")
    p.add_argument("--wait", type=float, default=5.0, help="seconds to wait for the site's retained status")
    p.add_argument("--remove", action="store_true", help="clear the configs (Home Assistant drops the entities)")
    p.set_defaults(fn=cmd_homeassistant)
