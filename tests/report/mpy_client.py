# Driver run under the real micropython by tests: connect (optionally TLS) with a will, subscribe,
# publish retained online/status, echo received commands to <dev>/echo, then either disconnect or
# stay up until killed.   usage: mpy_client.py PORT DEV MODE [CA]   MODE = once | stay
import sys

from wanwatch.clock import Clock
from wanwatch.compat import asyncio
from wanwatch.report.mqtt.client import MQTTClient

port, dev, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
tls = None
if len(sys.argv) > 4:
    tls = {"ca": sys.argv[4], "server_hostname": "localhost"}


async def main():
    c = MQTTClient("127.0.0.1", port, dev, Clock(), keepalive=20, will=(dev + "/state", b"offline", True, 1),
                   ssl=tls, connect_timeout=5)
    inbox = []
    c.on_message = lambda t, p: inbox.append(p)
    try:
        await c.connect()
    except Exception as e:
        print("CONNECT-FAILED", type(e).__name__, e)
        return
    await c.subscribe(dev + "/cmd", 1)
    ok1 = await c.publish(dev + "/state", b"online", True, 1)
    ok2 = await c.publish(dev + "/status", b'{"v":1,"mpy":true}', True, 0)
    print("READY", ok1, ok2)
    while True:
        while inbox:
            await c.publish(dev + "/echo", inbox.pop(0), False, 1)
        if mode == "once":
            break
        await asyncio.sleep(0.05)
    await c.disconnect()
    print("DONE", c.bytes_sent, c.bytes_received)


asyncio.run(main())
