# mpy_resolver.py GOOD_PORT SILENT_PORT REFUSED_PORT TIMEOUT: dns.Resolver against a real dnsmasq
# (127.0.0.1:GOOD_PORT), a server that never answers (127.0.0.1:SILENT_PORT, with a second dnsmasq
# behind it at 127.0.0.2:SILENT_PORT) and a port nobody listens on, printed as one JSON object
# per step. Runs unchanged under MicroPython and CPython (tests/dns/test_resolver.py). While each
# step runs, a ticker task sleeps 20 ms in a loop and records the longest gap between its
# wake-ups: the event loop's longest stall during that step, in ms.
import sys

from wanwatch.clock import Clock
from wanwatch.compat import asyncio, dumps
from wanwatch.dns import DNSError, Resolver

good, silent, refused, timeout = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
clock = Clock()
gap = [0.0]


async def ticker():
    last = clock.monotonic()
    while True:
        await asyncio.sleep(0.02)
        now = clock.monotonic()
        if now - last > gap[0]:
            gap[0] = now - last
        last = now


async def step(what, r, name):
    await asyncio.sleep(0.05)  # the ticker is running
    gap[0] = 0.0
    q0, s0 = r.queries, r.stale
    t0 = clock.monotonic()
    try:
        addr, err = await r.resolve(name), None
    except DNSError as e:
        addr, err = None, str(e)
    ms = int((clock.monotonic() - t0) * 1000)
    await asyncio.sleep(0.05)  # one more tick after the resolve, so a stall at its end is seen
    print(dumps({"step": what, "addr": addr, "error": err, "ms": ms,
                 "queries": r.queries - q0, "stale": r.stale - s0, "max_gap_ms": int(gap[0] * 1000),
                 "last_error": r.last_error}))


async def main():
    t = asyncio.create_task(ticker())
    # TTLs clamped to 1 s, so the answer runs out within the run
    r = Resolver(clock, ["127.0.0.1"], port=good, timeout=timeout, min_ttl=1, max_ttl=1, hosts=None)
    await step("answer", r, "broker.test")
    await step("cached", r, "BROKER.test.")
    await step("cname", r, "mqtt.test")
    await step("aaaa_only", r, "v6only.test")
    await step("nxdomain", r, "nope.test")
    await step("literal", r, "192.0.2.7")
    await asyncio.sleep(1.1)  # broker.test's answer expires
    r.port = silent  # the resolver goes silent (a dead line behind it)
    await step("silent_known", r, "broker.test")
    await step("silent_known_again", r, "broker.test")  # served stale without asking
    await step("silent_unknown", r, "other.test")
    r.port = refused
    await step("refused_unknown", r, "other.test")
    # the first server is silent, the second answers
    await step("second_server", Resolver(clock, ["127.0.0.1", "127.0.0.2"], port=silent, timeout=timeout,
                                         hosts=None), "broker.test")
    t.cancel()


asyncio.run(main())
