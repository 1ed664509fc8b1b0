# wakeable_driver.py: compat.Wakeable's behaviour, printed one fact per line; runs unchanged under
# MicroPython and CPython (tests/core/test_wakeable.py compares both with the expected facts).
import sys

from wanwatch.clock import Clock
from wanwatch.compat import Wakeable, asyncio

clock = Clock()


async def main():
    w = Wakeable()
    t0 = clock.monotonic()
    r = await w.wait(0.2)
    print("timeout", r, clock.monotonic() - t0 >= 0.19)

    async def waker(delay):
        await asyncio.sleep(delay)
        w.wake()
        w.wake()  # a second wake for the same wait changes nothing

    asyncio.create_task(waker(0.05))
    t0 = clock.monotonic()
    r = await w.wait(5.0)
    print("woken", r, clock.monotonic() - t0 < 1.0)
    w.wake()  # nobody waits: nothing happens, and the next wait is not cut short
    t0 = clock.monotonic()
    r = await w.wait(0.1)
    print("stale", r, clock.monotonic() - t0 >= 0.09)

    async def victim():
        try:
            await w.wait(5)
            return "finished"
        except asyncio.CancelledError:
            return "cancelled"
    t = asyncio.create_task(victim())
    await asyncio.sleep(0.05)
    t.cancel()
    try:
        r = await t
    except asyncio.CancelledError:
        r = "cancelled"
    print("cancel", r, w.task is None)
    # other sleepers are not disturbed by a wake
    order = []

    async def sleeper():
        await asyncio.sleep(0.3)
        order.append("sleeper")
    asyncio.create_task(sleeper())
    asyncio.create_task(waker(0.05))
    await w.wait(5.0)
    order.append("waiter")
    await asyncio.sleep(0.4)
    print("order", ",".join(order))


asyncio.run(main())
sys.stdout.flush()
