"""`wanwatch-host fleet <watch|alerts|inventory|history|maintain|simulate|ingest|homeassistant>`."""
import argparse
import json
import os
import sys
import threading
import time

from ..screen import redraw
from . import alerts, history, homeassistant, inventory, simulate, watch
from .history import History
from .model import Fleet, on_backup
from .notices import command as notices_command


class Ingestor:
    """MQTT messages -> Fleet model (+ history, + alerts). Thread-safe: paho calls on_message from its
    network thread while the main thread renders."""

    def __init__(self, prefix, history=None, alerter=None, shared=False):
        self.fleet = Fleet(prefix, track_gaps=not shared)
        self.history = history
        self.alerter = alerter
        self.lock = threading.Lock()
        self.last_msg = time.time()

    def on_message(self, client, userdata, msg):
        with self.lock:
            self.last_msg = time.time()
            res = self.fleet.ingest(msg.topic, msg.payload)
            if res is None:
                return
            site, kind, doc = res
            if self.history is not None:
                if kind == "status":
                    self.history.add_status(site.device_id, doc, on_backup(site))
                elif kind == "event":
                    self.history.add_event(site.device_id, doc)
            if self.alerter is not None and kind in ("status", "state", "event", "inventory"):
                self.alerter.evaluate(site)

    def settle(self, quiet_s=1.0, max_s=30.0):
        """Wait until no message arrived for quiet_s (retained messages delivered)."""
        t0 = time.time()
        while time.time() - t0 < max_s and time.time() - self.last_msg < quiet_s:
            time.sleep(0.1)


def _connect(args, ing, suffix):
    from .mqttio import client
    c = client("wanwatch-fleet-%s-%d" % (suffix, os.getpid()), ing.on_message, args.host, args.port, args.prefix,
               share=getattr(args, "share", None))
    c.loop_start()
    return c


def _common(ap):
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=1883)
    ap.add_argument("--prefix", default="wanwatch")


def _month_start(now):
    t = time.gmtime(now)
    return int(time.mktime((t.tm_year, t.tm_mon, 1, 0, 0, 0, 0, 0, 0)) - time.timezone)


def cmd_watch(args):
    hist = History(args.db) if args.db else None
    ing = Ingestor(args.prefix, hist, shared=bool(args.share))
    c = _connect(args, ing, "watch")
    try:
        ing.settle(args.settle)
        while True:
            with ing.lock:
                if hist:
                    hist.flush()
                now = time.time()
                text = watch.render(ing.fleet, hist, now, _month_start(now))
            if args.once:
                print(text)
                return 0
            redraw(text)
            time.sleep(args.interval)
    except KeyboardInterrupt:
        return 0
    finally:
        c.loop_stop()
        if hist:
            hist.close()


def cmd_alerts(args):
    try:
        rules = alerts.load_rules(args.rules)
    except alerts.RulesError as e:
        print("fleet alerts: %s" % e, file=sys.stderr)
        return 2
    hist = History(args.db) if args.db else None
    ing = Ingestor(args.prefix, hist, shared=bool(args.share))
    ing.alerter = alerts.Alerter(rules, ing.fleet, time.time)
    c = _connect(args, ing, "alerts")
    t0 = time.time()
    try:
        while not args.duration or time.time() - t0 < args.duration:
            time.sleep(0.5)
            if hist:
                with ing.lock:
                    hist.flush()
    except KeyboardInterrupt:
        pass
    finally:
        c.loop_stop()
        if hist:
            hist.close()
    return 0


def cmd_inventory(args):
    contacts = notices_command.contacts_or_exit(args.contacts) if args.contacts else None
    ing = Ingestor(args.prefix)
    c = _connect(args, ing, "inv")
    ing.settle(args.settle)
    c.loop_stop()
    text = (inventory.to_csv if args.format == "csv" else inventory.to_markdown)(ing.fleet, contacts)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
        print("wrote %d sites to %s" % (sum(1 for s in ing.fleet.sites.values() if s.inventory), args.out))
    else:
        sys.stdout.write(text)
    return 0


def cmd_history(args):
    h = History(args.db)
    for ev in h.events_for(args.site, args.since, args.limit):
        print(json.dumps(ev, sort_keys=True))
    print("backup days since %d: %.2f; last usage: %s bytes" % (
        args.since, h.backup_days(args.site, args.since), h.usage_bytes(args.site)))
    return 0


def cmd_simulate(args):
    simulate.run(args.host, args.port, args.sites, args.rate, args.duration, args.prefix, args.seed, out=sys.stdout)
    return 0


def cmd_ingest(args):
    """Consume until --count reports arrived (or --duration), print reports/s: used by the benchmark."""
    ing = Ingestor(args.prefix, History(args.db) if args.db else None, shared=bool(args.share))
    c = _connect(args, ing, "ingest")
    print("ready", flush=True)
    first = None
    t_end = time.time() + args.duration
    while time.time() < t_end:
        with ing.lock:
            n = ing.fleet.reports
            if ing.history is not None:
                ing.history.flush()
        if n and first is None:
            first = (time.time(), n)
        if args.count and n >= args.count:
            break
        if first is not None and time.time() - ing.last_msg > 3:
            break  # the stream ended (e.g. a shared subscription gave us only part of it)
        time.sleep(0.05)
    c.loop_stop()
    if ing.history is not None:
        ing.history.close()  # writes what arrived since the last flush
    dt = ing.last_msg - first[0] if first else 0
    rate = (n - first[1]) / dt if dt > 0 else 0
    print(json.dumps({"reports": n, "seconds": round(dt, 3), "rate": round(rate), "sites": len(ing.fleet.sites),
                      "bad": ing.fleet.bad}), flush=True)
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="wanwatch-host fleet", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("watch", help="live table of all sites, attention first")
    _common(p)
    p.add_argument("--db", "--history", dest="db", help="history: SQLite file or postgresql:// URL (enables trends)")
    p.add_argument("--once", action="store_true")
    p.add_argument("--interval", type=float, default=5)
    p.add_argument("--settle", type=float, default=1.0)
    p.add_argument("--share", help="MQTT 5 shared-subscription group")
    p.set_defaults(fn=cmd_watch)
    p = sub.add_parser("alerts", help="turn conditions into webhook/e-mail/stdout notifications")
    _common(p)
    p.add_argument("--rules", required=True)
    p.add_argument("--db", "--history", dest="db")
    p.add_argument("--duration", type=float, default=0)
    p.add_argument("--share")
    p.set_defaults(fn=cmd_alerts)
    p = sub.add_parser("inventory", help="export every site's inventory")
    _common(p)
    p.add_argument("--format", choices=("csv", "md"), default="csv")
    p.add_argument("--contacts", help="customer contacts file (JSON/CSV): adds each site's contact")
    p.add_argument("--out")
    p.add_argument("--settle", type=float, default=1.0)
    p.set_defaults(fn=cmd_inventory)
    p = sub.add_parser("history", help="query the history")
    p.add_argument("--db", "--history", dest="db", required=True)
    p.add_argument("--site", required=True)
    p.add_argument("--since", type=int, default=0)
    p.add_argument("--limit", type=int, default=100)
    p.set_defaults(fn=cmd_history)
    p = sub.add_parser("simulate", help="publish a simulated fleet")
    _common(p)
    p.add_argument("--sites", type=int, default=100)
    p.add_argument("--rate", type=float, default=200, help="reports/s (0 = as fast as possible)")
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(fn=cmd_simulate)
    p = sub.add_parser("ingest", help="consume reports and print the ingest rate (benchmark)")
    _common(p)
    p.add_argument("--count", type=int, default=0)
    p.add_argument("--duration", type=float, default=60)
    p.add_argument("--share")
    p.add_argument("--db", "--history", dest="db")
    p.set_defaults(fn=cmd_ingest)
    notices_command.add_parser(sub, _common)
    history.add_cli(sub)
    homeassistant.add_cli(sub, _common)
    from . import serve  # imports aiohttp only when the command runs
    p = sub.add_parser("serve", help="web dashboard, JSON API and Prometheus /metrics")
    _common(p)
    serve.add_arguments(p)
    args = ap.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
