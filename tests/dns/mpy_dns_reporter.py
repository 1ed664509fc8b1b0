# mpy_dns_reporter.py CONFIG STATE_DIR: the agent's MQTT side (config.load -> Reporter -> MQTTClient
# -> dns.Resolver) with the broker given by host name, run under the real micropython by
# tests/dns/test_mqtt_dns.py. Answers are kept 1 s instead of min_ttl's 30 s, so a reconnect asks
# the resolver again. A ticker task sleeping 20 ms records the event loop's longest stall.
# Prints "UP <n> <address>" at every connect, "MQTT <error>" when the client's error changes,
# "LOOKUPS <queries> <stale>" when the resolver's counters change, and after the second connect
# (or 40 s) "MAXGAP <ms>", then stops.
import sys

from wanwatch import config
from wanwatch.clock import Clock
from wanwatch.compat import asyncio
from wanwatch.events import EventBus
from wanwatch.report.reporter import Reporter

cfg = config.load(sys.argv[1])
cfg["state_dir"] = sys.argv[2]
clock = Clock()
events = EventBus(clock)
rep = None


def status():
    return {"v": 1, "device_id": cfg["device_id"], "active_link": "wan", "mqtt": rep.status()}


rep = Reporter(cfg, clock, events, status, lambda: {"v": 1, "device_id": cfg["device_id"]})
rep.resolver.min_ttl = rep.resolver.max_ttl = 1
ups = []
gap = [0.0]


def on_up(prev=rep.client.on_up):
    prev()
    ups.append(rep.client.address)
    print("UP", len(ups), rep.client.address)


rep.client.on_up = on_up


async def ticker():
    last = clock.monotonic()
    while True:
        await asyncio.sleep(0.02)
        now = clock.monotonic()
        gap[0] = max(gap[0], now - last)
        last = now


async def watch():
    err, counts, done_at = None, None, None
    t0 = clock.monotonic()
    while clock.monotonic() - t0 < 40:
        if rep.client.last_error != err:
            err = rep.client.last_error
            print("MQTT", err)
        c = (rep.resolver.queries, rep.resolver.stale)
        if c != counts:
            counts = c
            print("LOOKUPS", c[0], c[1])
        if len(ups) >= 2 and done_at is None:
            done_at = clock.monotonic()
        if done_at is not None and clock.monotonic() - done_at > 1:
            break
        await asyncio.sleep(0.05)
    print("MAXGAP", int(gap[0] * 1000))
    await rep.stop()


async def main():
    tasks = [asyncio.create_task(rep.run()), asyncio.create_task(ticker())]
    await watch()
    for t in tasks:
        t.cancel()


asyncio.run(main())
