"""SMS through the modem layer against the emulator, and a signed remote command going through the
whole agent (broker -> commands -> usage -> status/event)."""
import asyncio
import json
import os
import subprocess
import time

import paho.mqtt.client as mqtt

from host_tools.emulator import Emulator
from tests.e2e.test_agent_slice import StatusWatcher, site_config
from tests.support import paths
from tests.support.fakeclock import FakeClock
from wanwatch.events import EventBus
from wanwatch.modem.supervisor import ModemSupervisor


def test_send_sms_text_mode_and_visible_shortening(tmp_path):
    emu = Emulator(profile="generic")
    tty = emu.start(link=str(tmp_path / "tty"))
    clock = FakeClock()
    mm = ModemSupervisor({"modem": {"port": tty, "baud": 115200, "vendor": "auto", "poll_s": 30}}, clock, EventBus(clock))

    async def go():
        await mm._open()
        await mm._setup()
        try:
            ok = await mm.send_sms("+4917012345678", "wan down at bar-1\r\nfailover to wwan")
            long = await mm.send_sms("+4917012345678", "x" * 300)
            bad = await mm.send_sms("+49 170; AT+CFUN=0", "hi")
            emu.set(cpin=None)
            nosim = await mm.send_sms("+4917012345678", "hi")
            return ok, long, bad, nosim
        finally:
            mm._close()

    try:
        ok, long, bad, nosim = asyncio.run(go())
    finally:
        emu.stop()
    assert ok["ok"] and ok["mr"] == 1
    assert emu.sms_sent[0] == ("+4917012345678", "wan down at bar-1  failover to wwan")
    assert long["ok"] and len(emu.sms_sent[1][1]) == 160 and emu.sms_sent[1][1].endswith("...")
    assert not bad["ok"] and "invalid number" in bad["error"]
    assert not nosim["ok"] and len(emu.sms_sent) == 2


def test_signed_set_cap_through_the_agent(tmp_path, broker, mpy_bundle):
    from host_tools import sign
    emu = Emulator(profile="generic")
    emu.start(link=str(tmp_path / "ttyMODEM"))
    key = "0123456789abcdef0123"
    cfg = site_config(tmp_path, emu.port, broker.port, commands={"key": key})
    env = dict(os.environ, MICROPYPATH=mpy_bundle + ":.frozen")
    w = StatusWatcher(broker.port)
    proc = subprocess.Popen([paths.micropython(), "-m", "wanwatch", "--config", cfg], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        assert w.wait("state", 30) == b"online"
        time.sleep(1)
        doc = sign.signed(key, "set_cap", {"cap_mb": 5000})
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="e2e-cmd")
        pub.connect("127.0.0.1", broker.port)
        pub.loop_start()
        pub.publish("wanwatch/e2e-shop/cmd", json.dumps(doc), qos=1).wait_for_publish(5)
        res = json.loads(w.wait("cmd/result", 20))
        assert res["id"] == doc["id"] and res["ok"] is True, res
        deadline = time.time() + 20
        while time.time() < deadline:
            st = json.loads(w.msgs["status"][-1][0])
            if st["usage"]["cap_bytes"] == 5000 * 10 ** 6:
                break
            time.sleep(0.3)
        assert st["usage"]["cap_bytes"] == 5000 * 10 ** 6
        events = [json.loads(p)["type"] for p, _ in w.msgs.get("event", [])]
        assert "usage_cap_changed" in events
        # the same signed message again is a replay: rejected, nothing executed
        n = len(w.msgs["cmd/result"])
        pub.publish("wanwatch/e2e-shop/cmd", json.dumps(doc), qos=1).wait_for_publish(5)
        deadline = time.time() + 10
        while time.time() < deadline and len(w.msgs["cmd/result"]) == n:
            time.sleep(0.1)
        res2 = json.loads(w.msgs["cmd/result"][-1][0])
        assert res2["ok"] is False and "nonce" in res2["error"]
        pub.loop_stop()
    finally:
        proc.kill()
        proc.wait()
        emu.stop()
        w.stop()


def test_sms_fallback_when_broker_unreachable(tmp_path, mpy_bundle):
    """Broker unreachable, then the backup SIM crosses 95 % of its cap: the agent texts the
    configured number through the modem (the emulator records the SMS) and logs an sms_sent event."""
    from host_tools.localbroker import free_port
    emu = Emulator(profile="generic")
    emu.start(link=str(tmp_path / "ttyMODEM"))
    cfg = site_config(tmp_path, emu.port, free_port(),
                      usage={"cap_mb": 0.002, "sample_s": 1}, sms={"numbers": ["+4917000000001"], "after_s": 1})
    env = dict(os.environ, MICROPYPATH=mpy_bundle + ":.frozen")
    proc = subprocess.Popen([paths.micropython(), "-m", "wanwatch", "--config", cfg], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 90
        while time.time() < deadline and not emu.sms_sent:
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(0.5)
        assert emu.sms_sent, "no SMS sent"
        number, text = emu.sms_sent[0]
        assert number == "+4917000000001" and "e2e-shop" in text and len(text) <= 160
        time.sleep(6)  # the RAM event file is rewritten every 5 s
        with open(tmp_path / "run" / "events.json") as f:
            types = [e["type"] for e in json.load(f)]
        assert "sms_sent" in types
    finally:
        proc.kill()
        proc.wait()
        emu.stop()
