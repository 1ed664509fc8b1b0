# Driver run under the real micropython by the hostile-input tests and bench: a device's reporter +
# client + signed commands (no modem/links) facing a broker that may be hostile.
#   usage: mpy_hostile.py PORT DEV STATE_DIR KEY
# Status every second; also subscribed to fz/# (QoS 0) so fuzzed topics reach the client through a
# real broker. The reconnect backoff is shortened (0.2 -> 0.5 s) so that cases which lose the
# framing cost little time. Every handler only records that it ran: nothing here may run.
# Prints one "STATS {json}" line every 0.5 s: client counters, commands executed/rejected, answers
# dropped by the budget, and the live heap after gc.collect() (mem; peak since start).
import gc
import json
import sys

from wanwatch.clock import Clock
from wanwatch.report.commands import Commands
from wanwatch.compat import asyncio
from wanwatch.events import EventBus
from wanwatch.report.mqtt import client as mqttclient
from wanwatch.report.reporter import Reporter, outbox_for

port, dev, state_dir, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
mqttclient.BACKOFF_MIN_S = 0.2
mqttclient.BACKOFF_MAX_S = 0.5
cfg = {"device_id": dev, "state_dir": state_dir, "links": [{"name": "wan", "metered": False}],
       "mqtt": {"host": "127.0.0.1", "port": port, "prefix": "wanwatch", "tls": False, "username": None,
                "password": None, "keepalive_s": 20, "connect_timeout_s": 3, "response_time_s": 3,
                "status_interval_s": 1},
       "commands": {"key": key}}
clock = Clock()
outbox = outbox_for(cfg)
events = EventBus(clock, outbox.boot, outbox.seq)
ran = []


async def handler(args):
    ran.append(1)
    return {"ran": len(ran)}


commands = Commands(cfg, clock, state_dir, {"status": handler, "force_failover": handler,
                                            "failback": handler, "reset_usage": handler}, events)
rep = None


def get_status():
    return {"v": 1, "device_id": dev, "ts": int(clock.time()), "active_link": "wan", "mqtt": rep.status()}


rep = Reporter(cfg, clock, events, get_status, lambda: {"v": 1, "device_id": dev}, commands=commands,
               outbox=outbox)
c = rep.client
seen = {"received": 0, "oversize": 0}


def counted(name, hook):
    def fn(*args):
        seen[name] += 1
        return hook(*args)
    return fn


c.on_message = counted("received", c.on_message)
c.on_oversize = counted("oversize", c.on_oversize)


async def stats():
    peak = 0
    while True:
        gc.collect()
        mem = gc.mem_alloc()
        if mem > peak:
            peak = mem
        print("STATS " + json.dumps({
            "connects": c.connects, "connected": c.connected, "received": seen["received"],
            "oversize": seen["oversize"], "discarded": c.discarded, "ran": len(ran),
            "executed": commands.executed, "rejected": commands.rejected,
            "rejects_dropped": rep.rejects_dropped, "mem": mem, "peak": peak}))
        await asyncio.sleep(0.5)


async def main():
    await c.subscribe("fz/#", 0)
    await asyncio.gather(rep.run(), stats())


asyncio.run(main())
