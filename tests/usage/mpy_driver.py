# mpy_driver.py: runs wanwatch.usage.tracker.UsageTracker under the real MicroPython for the kill and
# accuracy tests.   usage: micropython mpy_driver.py CONFIG.json MODE
#   MODE run   : sample forever (the test SIGKILLs it); events printed as "EV <json>" lines
#   MODE until : sample until the file cfg["stop_file"] exists, then one last sample, save, "STATUS <json>"
#   MODE once  : one sample, save, "STATUS <json>"
import sys

from wanwatch.clock import Clock
from wanwatch.compat import asyncio, dumps, loads
from wanwatch.events import EventBus
from wanwatch.usage.tracker import UsageTracker


def exists(path):
    try:
        open(path).close()
        return True
    except OSError:
        return False


def main():
    with open(sys.argv[1]) as f:
        cfg = loads(f.read())
    mode = sys.argv[2]
    clock = Clock()
    bus = EventBus(clock)
    bus.subscribe(lambda ev: print("EV " + dumps(ev)))
    iccid = cfg.get("iccid")
    t = UsageTracker(cfg, clock, bus, cfg["run_dir"], cfg["state_dir"], device=cfg["device"],
                     iccid_source=lambda: iccid)

    async def until():
        while not exists(cfg["stop_file"]):
            await t.tick()
            await asyncio.sleep(t.settings["sample_s"])

    if mode == "run":
        asyncio.run(t.run())
    elif mode == "until":
        asyncio.run(until())
    asyncio.run(t.tick())
    t.save(True)
    print("STATUS " + dumps(t.status()))


main()
