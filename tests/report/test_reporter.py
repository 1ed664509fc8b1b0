"""Reporter end to end: birth messages, events in order across a broker restart, SIGKILL of a
micropython device with queued events, will, seq-gap detection by a controller, --once."""
import asyncio
import json
import os
import signal
import subprocess
import time

import paho.mqtt.client as mqtt

from tests.report.helpers import Peer, mini_bundle, persistent_broker
from tests.support import paths
from tests.support.broker import free_port
from wanwatch.clock import Clock
from wanwatch.events import EventBus
from wanwatch.report.reporter import Reporter, outbox_for

HERE = os.path.dirname(os.path.abspath(__file__))
AGENT = os.path.join(HERE, "mpy_agent.py")
HEAP = "96K"  # MQTT side alone on the 64-bit unix port: needs 84K (see docs/mqtt.md, memory)


def cfg_for(port, dev, state_dir, **mqtt_extra):
    m = {"host": "127.0.0.1", "port": port, "prefix": "wanwatch", "tls": False, "username": None,
         "password": None, "keepalive_s": 10, "connect_timeout_s": 2, "response_time_s": 2}
    m.update(mqtt_extra)
    return {"device_id": dev, "state_dir": state_dir, "mqtt": m, "commands": {}, "sms": {},
            "links": [{"name": "wan", "metered": False}, {"name": "wwan", "metered": True}]}


def make_reporter(cfg, active="wan", commands=None):
    clock = Clock()
    ob = outbox_for(cfg)
    events = EventBus(clock, ob.boot, ob.seq)
    box = {}

    def status():
        return {"v": 1, "device_id": cfg["device_id"], "active_link": active, "mqtt": box["r"].status()}

    r = Reporter(cfg, clock, events, status, lambda: {"v": 1, "device_id": cfg["device_id"], "board": "t"},
                 commands=commands(clock, events) if commands else None, outbox=ob)
    box["r"] = r
    return r, events


class Controller:
    """How a fleet controller consumes events: de-duplicate on (boot, seq), flag gaps in seq.
    seq is monotonic per device across boots, so any jump > 1 is loss (explained by the device's
    mqtt.dropped counter in its status)."""

    def __init__(self):
        self.last = None
        self.seen = set()
        self.gaps = []
        self.events = []

    def feed(self, ev):
        key = (ev["boot"], ev["seq"])
        if key in self.seen:
            return  # at-least-once delivery: duplicate
        self.seen.add(key)
        if self.last is not None and ev["seq"] > self.last + 1:
            self.gaps.append((self.last + 1, ev["seq"] - 1))
        if self.last is None or ev["seq"] > self.last:
            self.last = ev["seq"]
        self.events.append(ev)


def durable_peer(port, topics, cid):
    """paho subscriber with a persistent session: the broker queues QoS 1 events for it."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid, clean_session=False)
    msgs = []
    c.on_message = lambda cl, u, m: msgs.append((m.topic, m.payload, m.retain))
    c.on_connect = lambda cl, u, f, rc, p=None: [cl.subscribe(t, 1) for t in topics]
    c.reconnect_delay_set(0.2, 1)
    c.connect("127.0.0.1", port, 10)
    c.loop_start()
    return c, msgs


def wait(pred, timeout=20, what="condition"):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def test_birth_then_events_in_order_through_broker_restart(tmp_path):
    b = persistent_broker()
    peer, msgs = durable_peer(b.port, ["wanwatch/r1/#"], "ctl-r1")
    try:
        wait(lambda: peer.is_connected(), what="peer")
        time.sleep(0.3)
        cfg = cfg_for(b.port, "r1", str(tmp_path / "st"))

        async def main():
            r, events = make_reporter(cfg)
            task = asyncio.create_task(r.run())
            loop = asyncio.get_running_loop()
            for i in range(40):
                events.emit("link_state", link="wan", i=i)
                await asyncio.sleep(0.03)
                if i == 12:
                    await loop.run_in_executor(None, b.stop)  # broker dies mid-stream
                if i == 25:
                    await loop.run_in_executor(None, b.start)
            t0 = time.monotonic()
            while r.outbox.count and time.monotonic() - t0 < 30:
                await asyncio.sleep(0.1)
            st = r.status()
            await r.stop()
            task.cancel()
            return st, events.seq

        st, last_seq = asyncio.run(main())
        assert st["queued"] == 0 and st["dropped"] == 0
        wait(lambda: len({json.loads(p)["seq"] for t, p, _ in msgs if t.endswith("/event")}) == 40,
             what="all events at the controller")
        ctl = Controller()
        for t, p, _ in msgs:
            if t.endswith("/event"):
                ctl.feed(json.loads(p))
        seqs = [e["seq"] for e in ctl.events]
        assert seqs == list(range(1, 41)) and ctl.gaps == []  # in order, no gap, no loss
        topics = [t for t, _, _ in msgs]
        assert "wanwatch/r1/inventory" in topics and "wanwatch/r1/status" in topics
        # the offline state was acknowledged by the broker before stop() returned, but its delivery
        # to the controller is asynchronous: wait for it instead of reading the list at once
        wait(lambda: [p for t, p, _ in msgs if t == "wanwatch/r1/state"][-1:] == [b"offline"],
             what="offline state at the controller")
        states = [p for t, p, _ in msgs if t == "wanwatch/r1/state"]
        assert states[0] == b"online" and states[-1] == b"offline"
    finally:
        peer.loop_stop()
        peer.disconnect()
        b.stop()


def test_status_doc_retained_and_interval_follows_metered_link(tmp_path, broker):
    cfg = cfg_for(broker.port, "r2", str(tmp_path / "st"))
    r, events = make_reporter(cfg)
    assert r._interval({"active_link": "wan"}) == 60
    assert r._interval({"active_link": "wwan"}) == 300
    assert r._interval({"active_link": None}) == 60
    cfg2 = cfg_for(broker.port, "r2", str(tmp_path / "st2"), status_interval_s=1, status_interval_metered_s=7)
    r2, _ = make_reporter(cfg2)
    assert r2._interval({"active_link": "wwan"}) == 7
    r._choose_keepalive(r.client)
    assert r.client.keepalive == 10  # cfg keepalive_s on the unmetered link
    r_lte, _ = make_reporter(cfg_for(broker.port, "r2m", str(tmp_path / "st3"), keepalive_metered_s=240), active="wwan")
    r_lte._choose_keepalive(r_lte.client)
    assert r_lte.client.keepalive == 240

    live = Peer(broker.port, ["wanwatch/r2/status"], client_id="live")

    async def main():
        task = asyncio.create_task(r2.run())
        await asyncio.sleep(2.6)  # birth status + periodic ones every 1 s
        own = r2.own_bytes
        await r2.stop()
        task.cancel()
        return own

    own = asyncio.run(main())
    assert own > 0
    late = Peer(broker.port, ["wanwatch/r2/status", "wanwatch/r2/inventory"], client_id="late")
    late.wait(lambda: late.payloads("wanwatch/r2/status") and late.payloads("wanwatch/r2/inventory"))
    doc = json.loads(late.payloads("wanwatch/r2/status")[0])
    assert doc["device_id"] == "r2" and doc["mqtt"]["connected"] is True
    late.close()
    assert len(live.payloads("wanwatch/r2/status")) >= 3  # birth + periodic
    live.close()


def test_controller_detects_forced_seq_gap(tmp_path, broker):
    port = broker.port
    peer = Peer(port, ["wanwatch/r3/event"])
    cfg = cfg_for(free_port(), "r3", str(tmp_path / "st"), outbox_max_entries=3)  # broker unreachable

    async def main():
        r, events = make_reporter(cfg)
        for i in range(10):
            events.emit("link_state", i=i)  # only 3 fit: 7 oldest dropped
        st = r.status()
        r.mqtt_cfg["port"] = port
        r.client.port = port
        task = asyncio.create_task(r.run())
        t0 = time.monotonic()
        while r.outbox.count and time.monotonic() - t0 < 15:
            await asyncio.sleep(0.05)
        events.emit("link_state", i=10)
        await asyncio.sleep(0.5)
        await r.stop()
        task.cancel()
        return st

    st = asyncio.run(main())
    assert st == {"connected": False, "queued": 3, "dropped": 7}
    peer.wait(lambda: len(peer.payloads("wanwatch/r3/event")) == 4)
    ctl = Controller()
    for p in peer.payloads("wanwatch/r3/event"):
        ctl.feed(json.loads(p))
    assert [e["seq"] for e in ctl.events] == [8, 9, 10, 11]
    # the controller starts at seq 8: it knows 1..7 exist because seq is monotonic; with a
    # previous event it flags the hole explicitly:
    ctl2 = Controller()
    ctl2.feed({"boot": 1, "seq": 1})
    for p in peer.payloads("wanwatch/r3/event"):
        ctl2.feed(json.loads(p))
    assert ctl2.gaps == [(2, 7)]
    peer.close()


def test_once_true_with_broker_false_without(tmp_path, broker):
    cfg = cfg_for(broker.port, "r4", str(tmp_path / "st"))
    r, _ = make_reporter(cfg)
    assert asyncio.run(r.once({"v": 1, "device_id": "r4"}, 5)) is True
    late = Peer(broker.port, ["wanwatch/r4/status", "wanwatch/r4/state"], client_id="late4")
    late.wait(lambda: late.payloads("wanwatch/r4/status"))
    assert late.payloads("wanwatch/r4/state") == []  # --once does not claim online
    late.close()
    cfg2 = cfg_for(free_port(), "r5", str(tmp_path / "st5"))
    r2, _ = make_reporter(cfg2)
    t0 = time.monotonic()
    assert asyncio.run(r2.once({"v": 1}, 2)) is False
    assert time.monotonic() - t0 < 10


def test_sigkilled_micropython_device_delivers_queued_events_after_restart(tmp_path):
    """Device (real micropython, .mpy modules, -X heapsize=HEAP) queues events while the broker is
    down, is SIGKILLed, restarts with the broker up: every queued event arrives, in order, seq
    continuous across boots; the will reports offline after the kill."""
    bundle = mini_bundle(str(tmp_path / "mpy"), drivers=("mpy_agent",))
    b = persistent_broker()
    port = b.port
    b.stop()  # broker down while the device queues
    state = str(tmp_path / "dev")
    env = dict(os.environ, MICROPYPATH=bundle + ":.frozen")
    p = subprocess.Popen([paths.micropython(), "-X", "heapsize=" + HEAP, "-m", "mpy_agent", str(port), "k1", state, "20"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    assert line.startswith("QUEUED 21 BOOT 1"), line + p.stderr.read()
    time.sleep(0.3)
    p.send_signal(signal.SIGKILL)
    p.wait()
    b.start()
    peer, msgs = durable_peer(port, ["wanwatch/k1/#"], "ctl-k1")
    p2 = None
    try:
        wait(lambda: peer.is_connected(), what="peer")
        time.sleep(0.3)
        p2 = subprocess.Popen([paths.micropython(), "-X", "heapsize=" + HEAP, "-m", "mpy_agent", str(port), "k1", state, "2"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert p2.stdout.readline().startswith("QUEUED 24 BOOT 2")
        wait(lambda: len([1 for t, _, _ in msgs if t.endswith("/event")]) >= 24, what="all events")
        ctl = Controller()
        for t, pl, _ in msgs:
            if t.endswith("/event"):
                ctl.feed(json.loads(pl))
        assert [e["seq"] for e in ctl.events] == list(range(1, 25)) and ctl.gaps == []
        assert [e["boot"] for e in ctl.events] == [1] * 21 + [2] * 3
        wait(lambda: [pl for t, pl, _ in msgs if t == "wanwatch/k1/state"][-1:] == [b"online"], what="online")
        p2.send_signal(signal.SIGKILL)
        p2.wait()
        wait(lambda: [pl for t, pl, _ in msgs if t == "wanwatch/k1/state"][-1:] == [b"offline"], what="will")
    finally:
        if p2 and p2.poll() is None:
            p2.kill()
        peer.loop_stop()
        peer.disconnect()
        b.stop()


def test_micropython_device_streams_through_broker_restart(tmp_path):
    """The real target runtime: events emitted every 50 ms while the broker is stopped and
    restarted; the controller gets every one, in order, no gap."""
    bundle = mini_bundle(str(tmp_path / "mpy"), drivers=("mpy_agent",))
    b = persistent_broker()
    peer, msgs = durable_peer(b.port, ["wanwatch/s1/event"], "ctl-s1")
    env = dict(os.environ, MICROPYPATH=bundle + ":.frozen")
    dev = None
    try:
        wait(lambda: peer.is_connected(), what="peer")
        time.sleep(0.3)
        dev = subprocess.Popen([paths.micropython(), "-X", "heapsize=" + HEAP, "-m", "mpy_agent", str(b.port), "s1",
                                str(tmp_path / "st"), "0", "-", "60"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        b.stop()
        time.sleep(1.5)
        b.start()
        try:
            wait(lambda: len({json.loads(p)["seq"] for _, p, _ in msgs}) >= 61, 30, "all events")
        except AssertionError:  # say what the device saw (a MemoryError, a refused connect...)
            dev.kill()
            out, err = dev.communicate()
            got = sorted({json.loads(p)["seq"] for _, p, _ in msgs})
            raise AssertionError("controller got seq %s\ndevice stdout:\n%s\nstderr:\n%s" % (got, out, err[-2000:]))
        ctl = Controller()
        for _, pl, _ in msgs:
            ctl.feed(json.loads(pl))
        assert [e["seq"] for e in ctl.events] == list(range(1, 62)) and ctl.gaps == []
    finally:
        if dev is not None:
            dev.kill()
            dev.wait()
        peer.loop_stop()
        peer.disconnect()
        b.stop()
