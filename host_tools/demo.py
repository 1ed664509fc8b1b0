"""make demo: the agent under real MicroPython (from the .mpy bundle) against the emulated modem and a
real mosquitto, with the live status table read back over MQTT.

As root it tells the story on the network bed (host_tools/netbed): a router with a fibre-like `wan`
and a metered LTE-like `wwan`, a LAN client behind it (ping, a VoIP-like UDP flow, TCP, DNS, a
download), the agent with the openwrt actuator. After about 20 s the primary's upstream dies with
its link up (a stuck PPPoE session): the table shows the failover and what the LAN client lost;
the usage bar moves while the backup carries the download; the primary heals and the agent fails
back after the hold-down. Without root (no namespaces, no raw sockets) it is the static demo on
loopback, and says why.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

from host_tools.screen import redraw

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "firmware"))
sys.path.insert(0, ROOT)

KILL_AT_S = 20      # the primary's upstream dies ...
HEAL_AT_S = 80      # ... and heals
HOLD_DOWN_S = 30
BULK_KBPS = 100     # the LAN's download while on the backup (echoed: twice that on the SIM)


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


class Screen:
    """The latest status and events as they arrive over MQTT, drawn as the console table."""

    def __init__(self, footer):
        self.latest = {}
        self.events = []
        self.footer = footer
        self.lock = threading.Lock()

    def feed(self, topic, payload):
        kind = topic.rsplit("/", 1)[-1]
        with self.lock:
            try:
                if kind in ("status", "event", "inventory"):
                    doc = json.loads(payload)
                else:
                    doc = payload.decode() if isinstance(payload, bytes) else payload
            except ValueError:
                return
            self.latest[kind] = doc
            if kind == "event":
                self.events = (self.events + [doc])[-5:]

    def draw(self):
        from wanwatch.report import table
        with self.lock:
            if "status" not in self.latest:
                return
            out = table.render(self.latest["status"], self.events)
        redraw(out + "\n" + "\n".join(self.footer()))


def static_demo(args, why=None):
    import paho.mqtt.client as mqtt
    from host_tools.localbroker import Broker

    bundle = _bundle(args)
    if bundle is None:
        return 1
    if why:
        print("wanwatch demo: %s: showing the static demo on loopback (no failover story)" % why)
        time.sleep(2)
    state = tempfile.mkdtemp(prefix="wanwatch-demo-")
    broker = Broker().start()
    emu = _emulator(args.profile)
    tty = emu.start(link=os.path.join(state, "ttyMODEM"))
    cfg_path = os.path.join(state, "wanwatch.json")
    with open(cfg_path, "w") as f:
        json.dump(demo_config(tty, broker.port, state), f, indent=1)
    screen = Screen(lambda: ["broker 127.0.0.1:%d  modem %s (%s)  state=%s  Ctrl-C to stop"
                             % (broker.port, tty, args.profile, screen.latest.get("state", "?"))])

    def on_message(client, userdata, msg):
        screen.feed(msg.topic, msg.payload)
        if msg.topic.endswith(("/status", "/event")):
            screen.draw()

    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="wanwatch-demo-viewer")
    sub.on_message = on_message
    sub.connect("127.0.0.1", broker.port)
    sub.subscribe("wanwatch/+/#", qos=1)
    sub.loop_start()
    env = dict(os.environ, MICROPYPATH=bundle + ":.frozen")
    agent = subprocess.Popen([_micropython(), "-m", "wanwatch", "--config", cfg_path],
                             env=env, stdout=open(os.path.join(state, "agent.log"), "w"), stderr=subprocess.STDOUT)
    print("wanwatch demo: agent pid %d under MicroPython from %s; config %s" % (agent.pid, bundle, cfg_path))
    try:
        rc = _run_until(args.duration, lambda: agent.poll() is None,
                        lambda: print("agent exited with %s; log:\n%s" % (
                            agent.returncode, open(os.path.join(state, "agent.log")).read()[-2000:])))
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
    return rc if rc else (0 if "status" in screen.latest else 1)


VIEWER = r"""
import json, sys
import paho.mqtt.client as mqtt
c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="wanwatch-demo-viewer")
c.on_message = lambda cl, u, m: print(json.dumps([m.topic, m.payload.decode("utf-8", "replace")]), flush=True)
c.connect(sys.argv[1], int(sys.argv[2]))
c.subscribe("wanwatch/+/#", qos=1)
c.loop_forever()
"""

BULK = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((sys.argv[1], int(sys.argv[2])))
rate = int(sys.argv[3]) * 1000
buf = b"x" * 1000
t = time.monotonic()
while True:
    try:
        s.send(buf)
        s.recv(2048) if False else None
    except OSError:
        pass
    t += 1000.0 / rate
    time.sleep(max(0.0, t - time.monotonic()))
"""


def bed_demo(args):
    from host_tools.netbed import SERVER, NetBed
    from host_tools.netbed.agent import SiteAgent, site_config
    from host_tools.netbed.plan import UDP_ECHO_PORT

    if _bundle(args) is None:
        return 1
    state = tempfile.mkdtemp(prefix="wanwatch-demo-")
    with NetBed() as bed:
        broker = bed.broker()
        emu = _emulator(args.profile)
        tty = emu.start(link=os.path.join(state, "ttyMODEM"))
        cfg = site_config(bed, state, failover={"hold_down_s": HOLD_DOWN_S},
                          mqtt={"host": SERVER, "port": broker.port, "status_interval_s": 2,
                                "status_interval_metered_s": 2},
                          usage={"cap_mb": 100, "sample_s": 2}, device_id="demo-bar-01")
        cfg["modem"] = {"port": tty, "vendor": "auto", "poll_s": 5}
        agent = SiteAgent(bed, cfg)
        lan = bed.lan_client()
        screen = Screen(lambda: story.lines())
        story = Story(bed, agent, lan, screen)
        viewer = subprocess.Popen(["ip", "netns", "exec", bed.i, sys.executable, "-c", VIEWER, SERVER, str(broker.port)],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        bed.procs.append(viewer)
        threading.Thread(target=_pump, args=(viewer, screen), daemon=True).start()
        bulk = subprocess.Popen(["ip", "netns", "exec", bed.l, sys.executable, "-c", BULK, SERVER,
                                 str(UDP_ECHO_PORT), str(BULK_KBPS)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        bed.procs.append(bulk)
        print("wanwatch demo: the agent (MicroPython, openwrt actuator) on the network bed; a LAN client "
              "behind the router; the primary's upstream dies at %d s and heals at %d s" % (KILL_AT_S, HEAL_AT_S))
        try:
            rc = _run_until(args.duration, lambda: agent.proc.poll() is None and not story.tick(),
                            lambda: print("agent exited: %s" % agent.lines[-10:]), draw=screen.draw)
        finally:
            lan.stop()
            emu.stop()
    print("demo stopped; agent log lines and state in %s" % state)
    return rc


class Story:
    """The script of the bed demo and the LAN client's view of it (footer lines of the screen)."""

    def __init__(self, bed, agent, lan, screen):
        self.bed, self.agent, self.lan, self.screen = bed, agent, lan, screen
        self.t0 = time.monotonic()
        self.killed = self.healed = None
        self.lost_at_failover = None
        self.lost_at_failback = None

    def tick(self):
        """Advance the story; True when it asks to stop (never: it keeps showing the live state)."""
        now = time.monotonic() - self.t0
        if self.killed is None and now >= KILL_AT_S:
            self.bed.kill_upstream("wan")
            self.killed = time.monotonic()
        if self.healed is None and now >= HEAL_AT_S:
            self.bed.heal_upstream("wan")
            self.healed = time.monotonic()
        fo = self._first("failover", self.killed)
        if fo is not None and self.lost_at_failover is None and time.monotonic() > fo + 3:
            self.lost_at_failover = self.lan.report(self.killed, fo + 2.5)
        fb = self._first("failback", self.healed)
        if fb is not None and self.lost_at_failback is None and time.monotonic() > fb + 3:
            self.lost_at_failback = self.lan.report(self.healed, fb + 2.5)
        return False

    def _first(self, kind, since):
        if since is None:
            return None
        for t, ev in list(self.agent.events):
            if ev["type"] == kind and t >= since:
                return t
        return None

    def lines(self):
        now = time.monotonic()
        out = ["=" * 78, "t=%3.0f s  " % (now - self.t0) + self._phase(now)]
        try:
            last = self.lan.report(now - 6, now - 1)
        except Exception:
            last = {}
        out.append("LAN client, last 5 s: " + "  ".join(
            "%s %s" % (k, "ok" if last[k]["lost_s"] == 0 else "LOST %.1fs" % last[k]["lost_s"])
            for k in ("ping4", "ping6", "udp4", "tcp4", "dns4") if k in last))
        if self.lost_at_failover is not None:
            out.append("failover cost the LAN: " + _lost(self.lost_at_failover))
        if self.lost_at_failback is not None:
            out.append("failback cost the LAN: " + _lost(self.lost_at_failback))
        out.append("Ctrl-C to stop")
        return out

    def _phase(self, now):
        if self.killed is None:
            return "all well; the primary's upstream dies in %.0f s" % (KILL_AT_S - (now - self.t0))
        if self.healed is None:
            return "primary's upstream DEAD (link still up), %.0f s; heals in %.0f s" % (
                now - self.killed, HEAL_AT_S - (now - self.t0))
        fb = self._first("failback", self.healed)
        if fb is None:
            return "primary healed %.0f s ago: back after the %d s hold-down of continuous health" % (
                now - self.healed, HOLD_DOWN_S)
        return "back on the primary (failback %.0f s after the heal)" % (fb - self.healed)


def _lost(rep):
    parts = ["%s %.2f s" % (k, rep[k]["lost_s"]) for k in ("ping4", "ping6", "udp4", "udp6", "tcp4", "dns4")
             if k in rep]
    return ", ".join(parts)


def _pump(proc, screen):
    for line in proc.stdout:
        try:
            topic, payload = json.loads(line)
        except ValueError:
            continue
        screen.feed(topic, payload)


def _bundle(args):
    bundle = os.path.join(ROOT, "firmware") if args.source else os.path.join(ROOT, "build", "firmware")
    if not os.path.isdir(os.path.join(bundle, "wanwatch")):
        print("no .mpy bundle in %s: run 'make build' first" % bundle, file=sys.stderr)
        return None
    return bundle


def _emulator(profile):
    from host_tools.emulator import Emulator
    try:
        return Emulator(profile=profile)
    except Exception:
        return Emulator(profile="generic")


def _run_until(duration, alive, on_dead, draw=None):
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *a: stop.update(now=True))
    t_end = time.time() + duration if duration > 0 else None
    try:
        while not stop["now"] and (t_end is None or time.time() < t_end):
            if not alive():
                on_dead()
                return 1
            if draw is not None:
                draw()
            time.sleep(0.5 if draw is None else 1.0)
    except KeyboardInterrupt:
        pass
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="make demo", description=__doc__)
    ap.add_argument("--duration", type=float, default=0, help="seconds to run (0 = until Ctrl-C)")
    ap.add_argument("--profile", default="quectel-ec25", help="emulated modem profile")
    ap.add_argument("--source", action="store_true", help="run firmware/ sources instead of the .mpy bundle")
    ap.add_argument("--static", action="store_true", help="the loopback demo even as root")
    args = ap.parse_args(argv)
    if args.static:
        return static_demo(args)
    if os.geteuid() != 0:
        return static_demo(args, "not root (the network bed needs ip netns and raw sockets)")
    from host_tools.netbed import NetBedError, require_tools
    try:
        require_tools()
    except NetBedError as e:
        return static_demo(args, str(e))
    return bed_demo(args)


if __name__ == "__main__":
    sys.exit(main())
