"""wanwatch-host sign: make (and optionally send) a signed remote command for a device.

    wanwatch-host sign --key KEY --cmd NAME [--args JSON] [--id ID] [--ts EPOCH] [--nonce N]
                       [--publish --device ID [--host H] [--port P] [--prefix P] [--timeout S]]

Prints the signed JSON. With --publish it sends it to <prefix>/<device>/cmd with paho-mqtt (QoS 1),
waits for the matching <prefix>/<device>/cmd/result and prints it; exit 0 when ok, 1 when the
device rejected it, 3 on timeout. The canonical form and key rules are those of
firmware/wanwatch/commands.py (reimplemented here so the host does not import firmware code; a
test checks that both sides agree).
"""
import argparse
import binascii
import hashlib
import hmac
import json
import os
import sys
import threading
import time


def canonical(obj):
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, str):
        out = []
        for ch in obj:
            if ch in '"\\':
                out.append("\\" + ch)
            elif ord(ch) < 0x20:
                out.append("\\u%04x" % ord(ch))
            else:
                out.append(ch)
        return '"' + "".join(out) + '"'
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(canonical(v) for v in obj) + "]"
    if isinstance(obj, dict):
        return "{" + ",".join(canonical(k) + ":" + canonical(obj[k]) for k in sorted(obj)) + "}"
    raise ValueError("unsupported value %r (numbers in commands must be integers)" % (obj,))


def parse_key(text):
    if text.startswith("hex:"):
        key = binascii.unhexlify(text[4:])
    else:
        key = text.encode()
    if len(key) < 16:
        raise ValueError("key must be at least 16 bytes")
    return key


def signed(key, cmd, args=None, cid=None, ts=None, nonce=None):
    msg = {"id": cid or binascii.hexlify(os.urandom(6)).decode(),
           "ts": int(time.time()) if ts is None else int(ts),
           "nonce": nonce or binascii.hexlify(os.urandom(12)).decode(),
           "cmd": cmd, "args": args or {}}
    msg["sig"] = hmac.new(parse_key(key), canonical(msg).encode(), hashlib.sha256).hexdigest()
    return msg


def publish_and_wait(msg, host, port, prefix, device, timeout):
    import paho.mqtt.client as mqtt
    base = "%s/%s" % (prefix, device)
    got = {}
    done = threading.Event()
    subscribed = threading.Event()

    def on_connect(c, u, flags, rc, props=None):
        c.subscribe(base + "/cmd/result", 1)

    def on_subscribe(c, u, mid, rcs, props=None):
        subscribed.set()

    def on_message(c, u, m):
        try:
            doc = json.loads(m.payload)
        except ValueError:
            return
        if isinstance(doc, dict) and doc.get("id") == msg["id"]:
            got["doc"] = doc
            done.set()

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="wanwatch-sign-" + msg["id"])
    c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_message
    c.connect(host, port, 30)
    c.loop_start()
    try:
        if not subscribed.wait(timeout):
            return None
        c.publish(base + "/cmd", json.dumps(msg, separators=(",", ":")), 1).wait_for_publish(timeout)
        done.wait(timeout)
        return got.get("doc")
    finally:
        c.loop_stop()
        c.disconnect()


def main(argv=None):
    ap = argparse.ArgumentParser(prog="wanwatch-host sign", description="sign a remote command")
    ap.add_argument("--key", required=True, help='device key: text, or "hex:<hex>"')
    ap.add_argument("--cmd", required=True)
    ap.add_argument("--args", default="{}", help="JSON object of arguments (integers only)")
    ap.add_argument("--id")
    ap.add_argument("--ts", type=int)
    ap.add_argument("--nonce")
    ap.add_argument("--publish", action="store_true")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=1883)
    ap.add_argument("--prefix", default="wanwatch")
    ap.add_argument("--device")
    ap.add_argument("--timeout", type=float, default=15)
    a = ap.parse_args(argv)
    try:
        args = json.loads(a.args)
        if not isinstance(args, dict):
            raise ValueError("--args must be a JSON object")
        msg = signed(a.key, a.cmd, args, a.id, a.ts, a.nonce)
    except ValueError as e:
        print("wanwatch-host sign: %s" % e, file=sys.stderr)
        return 2
    print(json.dumps(msg, separators=(",", ":")))
    if not a.publish:
        return 0
    if not a.device:
        print("wanwatch-host sign: --publish needs --device", file=sys.stderr)
        return 2
    doc = publish_and_wait(msg, a.host, a.port, a.prefix, a.device, a.timeout)
    if doc is None:
        print("wanwatch-host sign: no result within %ss" % a.timeout, file=sys.stderr)
        return 3
    print(json.dumps(doc, separators=(",", ":")))
    return 0 if doc.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
