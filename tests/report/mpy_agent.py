# Driver run under the real micropython by tests: the reporter + outbox + commands of a device,
# without modem/links. usage: mpy_agent.py PORT DEV STATE_DIR N_EVENTS [KEY|-] [TICKS]
# TICKS: emit that many more events, one every 50 ms, while running (for broker-restart tests).
# Emits agent_start and N link_state events at once (queued on flash), then runs the reporter.
# Prints "QUEUED <seq>" when the events are on flash, "PUBLISHED <n>" as the outbox drains.
import sys

from wanwatch.clock import Clock
from wanwatch.compat import asyncio
from wanwatch.events import EventBus
from wanwatch.report.reporter import Reporter, outbox_for

port, dev, state_dir, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
key = sys.argv[5] if len(sys.argv) > 5 and sys.argv[5] != "-" else None
ticks = int(sys.argv[6]) if len(sys.argv) > 6 else 0
cfg = {"device_id": dev, "state_dir": state_dir,
       "links": [{"name": "wan", "metered": False}, {"name": "wwan", "metered": True}],
       "mqtt": {"host": "127.0.0.1", "port": port, "prefix": "wanwatch", "tls": False,
                "username": None, "password": None, "keepalive_s": 20, "connect_timeout_s": 3,
                "response_time_s": 3},
       "commands": {"key": key}}
clock = Clock()
outbox = outbox_for(cfg)
events = EventBus(clock, outbox.boot, outbox.seq)
calls = []


async def h_status(args):
    return {"uptime": int(clock.monotonic())}


async def h_failover(args):
    calls.append("force_failover")
    events.emit("failover", to=args.get("link", "wwan"), reason="command")
    return {"done": True}


commands = None
if key:
    from wanwatch.report.commands import Commands
    commands = Commands(cfg, clock, state_dir, {"status": h_status, "force_failover": h_failover}, events)

rep = None


def get_status():
    return {"v": 1, "device_id": dev, "ts": int(clock.time()), "active_link": "wan", "mqtt": rep.status()}


rep = Reporter(cfg, clock, events, get_status, lambda: {"v": 1, "device_id": dev}, commands=commands,
               outbox=outbox)
events.emit("agent_start", device_id=dev)
for i in range(n):
    events.emit("link_state", link="wan", state="down" if i % 2 else "up")
print("QUEUED", events.seq, "BOOT", events.boot)


async def watch():
    last = -1
    err = None
    while True:
        if rep.published_events != last:
            last = rep.published_events
            print("PUBLISHED", last, "QUEUE", rep.outbox.count)
        if rep.client.last_error != err:
            err = rep.client.last_error
            print("MQTT", err)
        await asyncio.sleep(0.1)


async def ticker():
    for i in range(ticks):
        await asyncio.sleep(0.05)
        events.emit("link_state", link="wwan", tick=i)
    print("TICKS DONE", events.seq)


async def main():
    await asyncio.gather(rep.run(), watch(), ticker())


asyncio.run(main())
