# mp_footprint.py: heap measurements inside the real MicroPython for bench_footprint.py.
# MICROPYPATH=<bundle>:.frozen micropython bench/mp_footprint.py MODE ...
#   imports MOD ...                 heap cost of importing each module, in the order given
#                                   (dependency order: each row is that module's own cost), with
#                                   the qstr pool state after each
#   poll TTY VENDOR N               bytes allocated by each of N modem poll cycles (driver.poll()
#                                   against the emulated modem, after init + identify)
#   probe DEVICE N TARGET ...       bytes allocated by each of N probe rounds (Prober.round() on all
#                                   targets + LinkState.on_round(), as the link monitor does it)
#   agent --config FILE             the agent exactly as `-m wanwatch --config FILE`, plus a line
#                                   "LOADED <modules>" every 5 s (which firmware modules it holds)
# Allocation is counted two ways with the collector disabled during the measured step:
# gc.mem_alloc() delta and micropython.mem_total() delta (total bytes ever requested; this build
# has MICROPY_MEM_STATS). One line per row: "ROW <name> <gc bytes> <mem_total bytes>".
import gc
import sys

try:
    from micropython import mem_total
except ImportError:
    def mem_total():
        return -1


def imports(mods):
    # after each import: the heap row, preceded by micropython.qstr_info()'s line (printed straight
    # to stdout, no heap), so the host can separate qstr pool growth (shared, allocated in
    # doubling chunks) from the module's own objects. Printing makes only garbage, and every
    # measurement starts after gc.collect().
    from micropython import qstr_info
    qstr_info()
    for m in mods:
        gc.collect()
        a = gc.mem_alloc()
        try:
            __import__(m)
        except ImportError:
            print("ROW %s absent -1" % m)
            continue
        gc.collect()
        d = gc.mem_alloc() - a
        qstr_info()
        print("ROW %s %d -1" % (m, d))
    gc.collect()
    print("TOTAL_LIVE %d" % gc.mem_alloc())


async def _measure(n, step):
    res = [0] * (2 * n)
    for i in range(n):
        gc.collect()
        gc.disable()
        a, t = gc.mem_alloc(), mem_total()
        await step()
        res[2 * i], res[2 * i + 1] = gc.mem_alloc() - a, mem_total() - t
        gc.enable()
    for i in range(n):
        print("ROW %d %d %d" % (i + 1, res[2 * i], res[2 * i + 1]))


def poll(tty, vendor, n):
    from wanwatch.clock import Clock
    from wanwatch.compat import asyncio
    from wanwatch.modem import vendors
    from wanwatch.modem.engine import ATEngine
    from wanwatch.modem.serialport import open_port

    async def main():
        clock = Clock()
        port = await open_port(tty, 115200)
        driver = vendors.load(vendor)
        at = ATEngine(port, clock, driver)
        reader = asyncio.create_task(at.run())
        drv = driver(at, clock)
        if not await drv.init():
            print("ERROR modem did not answer init")
            return
        await drv.identify()
        await drv.poll()  # the first poll fills the status; measured cycles are the steady ones
        await _measure(n, drv.poll)
        st = drv.status()
        print("CHECK registered=%s rsrp=%s" % (st["network"]["registered"], st["signal"]["rsrp_dbm"]))
        reader.cancel()
        port.close()

    asyncio.run(main())


def probe(device, n, targets):
    from wanwatch.clock import Clock
    from wanwatch.compat import asyncio
    from wanwatch.failover.linkstate import LinkState
    from wanwatch.failover.probe import Prober

    async def main():
        clock = Clock()
        p = Prober(device, 0x4242)
        ls = LinkState(device, len(targets), {}, {})
        answered = [0]

        async def one():
            rtts = await p.round(targets, ls.round_timeout())
            ls.on_round(clock.monotonic(), rtts)
            for r in rtts:
                if r is not None:
                    answered[0] += 1
        for _ in range(5):  # warm: window, baseline and address cache filled, receiver task running
            await one()
        answered[0] = 0
        await _measure(n, one)
        print("CHECK answered=%d of %d state=%s" % (answered[0], n * len(targets), ls.state))
        p.close()

    asyncio.run(main())


def agent(argv):
    import wanwatch.agent as ag
    from wanwatch.cli import main as cli_main
    from wanwatch.compat import asyncio
    memstat = ag._memstat

    async def memstat_and_modules(period):  # the agent starts this task when WANWATCH_MEMSTAT is set
        asyncio.create_task(memstat(period))
        while True:
            print("LOADED " + " ".join(sorted(k for k in sys.modules if k.startswith("wanwatch"))))
            await asyncio.sleep(5)
    ag._memstat = memstat_and_modules
    sys.exit(cli_main(argv))


def main(argv):
    mode = argv[0]
    if mode == "agent":
        agent(argv[1:])
    elif mode == "imports":
        imports(argv[1:])
    elif mode == "poll":
        poll(argv[1], argv[2], int(argv[3]))
    elif mode == "probe":
        probe(argv[1], int(argv[2]), argv[3:])
    else:
        print("ERROR unknown mode %s" % mode)


main(sys.argv[1:])
