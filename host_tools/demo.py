"""make demo: the agent under real MicroPython (from the .mpy bundle) against the emulated modem and a
local mosquitto, with the live status table read back over MQTT.

Everything runs on loopback: the emulator on a pty, mosquitto on a free 127.0.0.1 port, the agent's
probes against 127.0.0.1 on `lo` (raw ICMP needs root; without it the links show as unknown).
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "firmware"))
sys.path.insert(0, ROOT)


def _micropython():
    here = os.path.join(os.path.dirname(sys.executable), "micropython")
    return here if os.path.exists(here) else "micropython"


def demo_config(tty, port, state):
    return {
        "device_id": "demo-bar-01",
        "board": "openwrt-quectel",
        "modem": {"port": tty, "baud": 115200, "vendor": "auto", "poll_s": 5},
        "links": [
            {"name": "wan", "device": "lo", "role": "primary", "metered": False,
             "targets": ["127.0.0.1", "127.0.0.2", "127.0.0.3"]},
            {"name": "wwan", "device": "lo", "role": "backup", "metered": True,
             "targets": ["127.0.0.1", "127.0.0.2", "127.0.0.3"]},
        ],
        "actuator": "none",
        "usage": {"cap_mb": 2048, "reset_day": 1},
        "mqtt": {"host": "127.0.0.1", "port": port, "prefix": "wanwatch", "status_interval_s": 5},
        "state_dir": os.path.join(state, "flash"),
        "run_dir": os.path.join(state, "run"),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(prog="make demo", description=__doc__)
    ap.add_argument("--duration", type=float, default=0, help="seconds to run (0 = until Ctrl-C)")
    ap.add_argument("--profile", default="quectel-ec25", help="emulated modem profile")
    ap.add_argument("--source", action="store_true", help="run firmware/ sources instead of the .mpy bundle")
    args = ap.parse_args(argv)

    import paho.mqtt.client as mqtt
    from host_tools.emulator import Emulator
    from host_tools.localbroker import Broker
    from wanwatch import table

    bundle = os.path.join(ROOT, "firmware") if args.source else os.path.join(ROOT, "build", "firmware")
    if not os.path.isdir(os.path.join(bundle, "wanwatch")):
        print("no .mpy bundle in %s: run 'make build' first" % bundle, file=sys.stderr)
        return 1
    state = tempfile.mkdtemp(prefix="wanwatch-demo-")
    broker = Broker().start()
    try:
        emu = Emulator(profile=args.profile)
    except Exception:
        emu = Emulator(profile="generic")
    tty = emu.start(link=os.path.join(state, "ttyMODEM"))
    cfg_path = os.path.join(state, "wanwatch.json")
    with open(cfg_path, "w") as f:
        json.dump(demo_config(tty, broker.port, state), f, indent=1)

    latest = {}

    def on_message(client, userdata, msg):
        kind = msg.topic.rsplit("/", 1)[-1]
        try:
            latest[kind] = json.loads(msg.payload) if kind in ("status", "event", "inventory") else msg.payload.decode()
        except ValueError:
            return
        if kind == "event":
            latest.setdefault("events", []).append(latest["event"])
            latest["events"] = latest["events"][-5:]
        if kind in ("status", "event"):
            redraw()

    def redraw():
        if "status" not in latest:
            return
        out = table.render(latest["status"], latest.get("events"))
        sys.stdout.write("\x1b[2J\x1b[H" if sys.stdout.isatty() else "\n")
        sys.stdout.write(out + "\n")
        sys.stdout.write("broker 127.0.0.1:%d  modem %s (%s)  state=%s  Ctrl-C to stop\n"
                         % (broker.port, tty, args.profile, latest.get("state", "?")))
        sys.stdout.flush()

    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="wanwatch-demo-viewer")
    sub.on_message = on_message
    sub.connect("127.0.0.1", broker.port)
    sub.subscribe("wanwatch/+/#", qos=1)
    sub.loop_start()

    env = dict(os.environ, MICROPYPATH=bundle + ":.frozen")
    agent = subprocess.Popen([_micropython(), "-X", "heapsize=256K", "-m", "wanwatch", "--config", cfg_path],
                             env=env, stdout=open(os.path.join(state, "agent.log"), "w"), stderr=subprocess.STDOUT)
    print("wanwatch demo: agent pid %d under MicroPython from %s; config %s" % (agent.pid, bundle, cfg_path))
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *a: stop.update(now=True))
    t_end = time.time() + args.duration if args.duration > 0 else None
    try:
        while not stop["now"] and (t_end is None or time.time() < t_end):
            if agent.poll() is not None:
                print("agent exited with %s; log:\n%s" % (agent.returncode, open(os.path.join(state, "agent.log")).read()[-2000:]))
                return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        agent.terminate()
        try:
            agent.wait(5)
        except subprocess.TimeoutExpired:
            agent.kill()
        sub.loop_stop()
        emu.stop()
        broker.stop()
    print("demo stopped; logs in %s" % state)
    return 0 if "status" in latest else 1


if __name__ == "__main__":
    sys.exit(main())
