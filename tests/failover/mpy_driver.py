# mpy_driver.py: runs wanwatch.failover.monitor.LinkMonitor under the real MicroPython inside the bed's
# router namespace.  usage: micropython mpy_driver.py CONFIG.json
# Prints "EV <event json>" for every event and "ST <json>" (status + own bytes) every status_s.
import gc
import sys

from wanwatch.failover.actuator import make_actuator
from wanwatch.clock import Clock
from wanwatch.compat import asyncio, dumps, loads
from wanwatch.events import EventBus
from wanwatch.failover.monitor import LinkMonitor


def main():
    with open(sys.argv[1]) as f:
        cfg = loads(f.read())
    gc.collect()
    clock = Clock()
    bus = EventBus(clock)
    bus.subscribe(lambda ev: print("EV " + dumps(ev)))
    mon = LinkMonitor(cfg, clock, bus, actuator=make_actuator(cfg, bus))
    period = cfg.get("status_s", 1)

    async def report():
        while True:
            st = mon.status()
            st["own_bytes"] = {}
            for l in cfg["links"]:
                st["own_bytes"][l["name"]] = mon.own_bytes(l["name"])
            st["t"] = clock.monotonic()
            gc.collect()
            st["heap"] = gc.mem_alloc()
            print("ST " + dumps(st))
            await asyncio.sleep(period)

    async def both():
        asyncio.create_task(report())
        await mon.run()

    asyncio.run(both())


main()
