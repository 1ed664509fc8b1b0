"""Fleet history benchmark: rows/s written into SQLite and into PostgreSQL (a throwaway server, fsync
on) through the History API in the ingest loop's batches, the query times a site page needs, and
end-to-end reports/s of `fleet ingest` processes writing one PostgreSQL history."""
import argparse
import os
import random
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "bench"))

from bench_fleet import run as run_ingest  # noqa: E402
from host_tools.fleet.history import History  # noqa: E402
from host_tools.fleet.simulate import SimSite  # noqa: E402
from host_tools.localbroker import Broker  # noqa: E402
from host_tools.localpg import PgServer  # noqa: E402


def api_rate(target, sites, rows, batch):
    """Status docs as the simulator makes them, one event per 10 samples, flushed every `batch`."""
    rnd = random.Random(1)
    now = time.time()
    fleet = [SimSite(i, rnd, now) for i in range(sites)]
    docs = [s.status(now) for s in fleet]
    h = History(target, maintain_every_s=0)
    t0 = time.perf_counter()
    for i in range(rows):
        k = i % sites
        doc = dict(docs[k], ts=int(now) + i // sites * 60)
        h.add_status(fleet[k].id, doc, on_backup=False)
        if i % 10 == 0:
            h.add_event(fleet[k].id, fleet[k].event("link_state", now, link="wan", state="up"))
        if (i + 1) % batch == 0:
            h.flush()
    h.flush()
    dt = time.perf_counter() - t0
    t1 = time.perf_counter()
    for s in fleet[:50]:
        h.status_series(s.id, 0, 2000)
        h.events_for(s.id)
        h.backup_days(s.id, 0)
    q_ms = (time.perf_counter() - t1) / 50 * 1000
    t2 = time.perf_counter()
    h.maintain(now + 8 * 86400)  # everything is older than raw_days: the whole table thinned once
    m_s = time.perf_counter() - t2
    h.close()
    return (rows + rows // 10) / dt, q_ms, m_s


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sites", type=int, default=2000)
    ap.add_argument("--rows", type=int, default=40000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--messages", type=int, default=40000)
    args = ap.parse_args(argv)
    pg = PgServer(fsync=True).start()
    tmp = tempfile.mkdtemp(prefix="ww-bench-hist-")
    try:
        for name, target in (("SQLite (WAL)", os.path.join(tmp, "h.db")), ("PostgreSQL", pg.url)):
            rate, q_ms, m_s = api_rate(target, args.sites, args.rows, args.batch)
            print("history write, %s: %d status samples + %d events in batches of %d = %d rows/s"
                  % (name, args.rows, args.rows // 10, args.batch, rate))
            print("history queries, %s: %.1f ms per site (status_series + events_for + backup_days, %d samples/site)"
                  % (name, q_ms, args.rows // args.sites))
            print("history retention pass, %s: %.2f s to thin %d samples to one per site per 5 min"
                  % (name, m_s, args.rows))
        b = Broker().start()
        try:
            import psycopg
            for n in (1, 2):
                db = "ingest%d" % n
                with psycopg.connect(pg.url, autocommit=True) as c:
                    c.execute("CREATE DATABASE %s" % db)
                url = pg.url.rsplit("/", 1)[0] + "/" + db
                total, secs, outs = run_ingest(n, args.sites, args.messages, b.port, ["--history", url])
                with psycopg.connect(url) as c:
                    stored = c.execute("SELECT (SELECT COUNT(*) FROM status) + (SELECT COUNT(*) FROM events)").fetchone()[0]
                print("fleet ingest into PostgreSQL, %d process%s: %d reports in %.1f s = %d reports/s, %d status + event rows stored"
                      % (n, "" if n == 1 else "es", total, secs, sum(o["rate"] for o in outs), stored))
        finally:
            b.stop()
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
