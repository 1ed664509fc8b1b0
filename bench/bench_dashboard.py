"""Dashboard page time for a 2 000-site fleet: the server's time to render `/` (HTML) and
`/api/sites` (JSON), and the same pages plus `/metrics` and one site page fetched over HTTP from the
aiohttp server (median and P95 of repeated requests). The Fleet model is filled directly with
simulated sites' inventory, state and a full in-memory ring of status samples each."""
import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from host_tools.fleet import sitedata, webpages  # noqa: E402
from host_tools.fleet.cli import Ingestor  # noqa: E402
from host_tools.fleet.memhistory import PER_SITE_DEFAULT, MemoryHistory  # noqa: E402
from host_tools.fleet.simulate import SimSite  # noqa: E402
from host_tools.fleet.web import Dashboard, serve, to_json  # noqa: E402
from host_tools.fleet.webauth import TokenAuth  # noqa: E402


def populate(sites, samples, now):
    history = MemoryHistory(per_site=samples)
    ing = Ingestor("wanwatch", history)
    rnd = random.Random(5)
    sims = [SimSite(i, rnd, now) for i in range(sites)]
    for s in sims:
        ing.fleet.ingest("wanwatch/%s/inventory" % s.id, json.dumps(s.inventory).encode())
        ing.fleet.ingest("wanwatch/%s/state" % s.id, b"online")
    for k in range(samples):  # one sample per site every 6 minutes
        for s in sims:
            if rnd.random() < 0.01:
                s.active = "wwan" if s.active == "wan" else "wan"
            doc = s.status(now - (samples - k) * 360)
            history.add_status(s.id, doc)
    for s in sims:  # the model holds the latest report, as after live ingest
        ing.fleet.ingest("wanwatch/%s/status" % s.id, json.dumps(s.status(now)).encode())
    return ing, history


def ring_bytes(history):
    """Memory held by the ring's samples: the JSON bytes plus their tuple, float and bytes headers."""
    total = n = 0
    for ring in history.sites.values():
        for sample in ring.samples:
            total += sys.getsizeof(sample) + sys.getsizeof(sample[0]) + sys.getsizeof(sample[1])
            n += 1
    return total, n


def stats_ms(times):
    times = sorted(times)
    return statistics.median(times) * 1e3, times[min(len(times) - 1, int(len(times) * 0.95))] * 1e3


def timed(fn, n):
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


async def over_http(ing, history, paths, n):
    import aiohttp
    dash = Dashboard(ing, history, TokenAuth(None))
    stop = asyncio.Event()
    bound = asyncio.get_running_loop().create_future()
    server = asyncio.create_task(serve(dash, "127.0.0.1", 0, lambda h, p: bound.set_result(p), stop))
    port = await bound
    res = {}
    async with aiohttp.ClientSession() as session:
        for path in paths:
            times, size = [], 0
            for _ in range(n):
                t0 = time.perf_counter()
                async with session.get("http://127.0.0.1:%d%s" % (port, path)) as r:
                    body = await r.read()
                    assert r.status == 200, (path, r.status)
                times.append(time.perf_counter() - t0)
                size = len(body)
            res[path] = (times, size)
    stop.set()
    await server
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sites", type=int, default=2000)
    ap.add_argument("--samples", type=int, default=PER_SITE_DEFAULT, help="status samples per site in the ring")
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args(argv)
    now = time.time()
    t0 = time.perf_counter()
    ing, history = populate(args.sites, args.samples, now)
    print("dashboard bench: %d sites, %d status samples each, filled in %.1f s"
          % (args.sites, args.samples, time.perf_counter() - t0))
    held, n = ring_bytes(history)
    print("in-memory ring: %.1f MB for %d samples = %d bytes/sample" % (held / 1e6, n, held // max(n, 1)))
    fleet = ing.fleet
    for name, fn in (("/ (HTML)", lambda: webpages.sites_page(sitedata.sites(fleet, time.time()))),
                     ("/api/sites (JSON)", lambda: to_json(sitedata.sites(fleet, time.time())))):
        med, p95 = stats_ms(timed(fn, args.repeat))
        print("server render %-18s median %.1f ms, P95 %.1f ms" % (name, med, p95))
    paths = ["/", "/api/sites", "/metrics", "/site/site-00042"]
    for path, (times, size) in asyncio.run(over_http(ing, history, paths, args.repeat)).items():
        med, p95 = stats_ms(times)
        print("HTTP GET %-18s median %.1f ms, P95 %.1f ms, %d kB" % (path, med, p95, size // 1024))


if __name__ == "__main__":
    main()
