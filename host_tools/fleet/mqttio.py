"""paho-mqtt 2 (MQTT 5) plumbing shared by the fleet commands: connect, subscribe, optional shared
subscription group."""
import paho.mqtt.client as mqtt

TOPICS = ("status", "state", "inventory", "event")


def topics(prefix, share=None):
    subs = ["%s/+/%s" % (prefix, t) for t in TOPICS]
    if share:
        subs = ["$share/%s/%s" % (share, s) for s in subs]
    return subs


def client(client_id, on_message, host="127.0.0.1", port=1883, prefix="wanwatch", share=None,
           username=None, password=None):
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if username:
        c.username_pw_set(username, password)

    def on_connect(cl, userdata, flags, reason, props):
        for t in topics(prefix, share):
            cl.subscribe(t, qos=1)

    c.on_connect = on_connect
    c.on_message = on_message
    c.connect(host, port, keepalive=30)
    return c
