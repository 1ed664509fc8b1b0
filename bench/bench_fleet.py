"""Fleet ingest benchmark (the broker drops QoS 0 reports a slow consumer cannot take; the
figure is what the consumer sustained). Fleet ingest benchmark: reports/s consumed by one fleet process, and by two processes sharing the
load through an MQTT 5 shared subscription, with 2 000 simulated sites on a local mosquitto."""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from host_tools.localbroker import Broker  # noqa: E402


def run(consumers, sites, messages, port, extra=()):
    """extra: more `fleet ingest` options (bench_history.py adds --history)."""
    share = ["--share", "bench"] if consumers > 1 else []
    procs = [subprocess.Popen([sys.executable, "-m", "host_tools.fleet.cli", "ingest", "--port", str(port),
                               "--count", str(messages), "--duration", "60"] + share + list(extra),
                              cwd=ROOT, stdout=subprocess.PIPE, text=True) for _ in range(consumers)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    # publishers: one process per core's worth of load, flooding QoS 0 status/event reports
    pubs = 2
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from host_tools.fleet import simulate\n"
            "simulate.run('127.0.0.1', %d, %d, 0, 60, seed=%%d, max_messages=%d)\n") % (ROOT, port, sites, messages // 2)
    pp = [subprocess.Popen([sys.executable, "-c", code % (i + 1)], cwd=ROOT) for i in range(pubs)]
    outs = [json.loads(p.stdout.readlines()[-1]) for p in procs]
    for p in pp:
        p.wait()
    total = sum(o["reports"] for o in outs)
    secs = max(o["seconds"] for o in outs)
    return total, secs, outs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sites", type=int, default=2000)
    ap.add_argument("--messages", type=int, default=60000)
    args = ap.parse_args(argv)
    b = Broker().start()
    try:
        res = {}
        for n in (1, 2):
            total, secs, outs = run(n, args.sites, args.messages, b.port)
            rate = sum(o["rate"] for o in outs)
            res[n] = rate
            published = args.messages + 2 * 3 * args.sites  # + inventory/state/status per site per publisher
            print("fleet ingest, %d process%s: %d of %d published reports in %.1f s = %d reports/s (%d sites)"
                  % (n, "" if n == 1 else "es", total, published, secs, rate, args.sites))
        print("fleet ingest scaling 1 -> 2 processes (shared subscription): x%.2f" % (res[2] / max(res[1], 1)))
    finally:
        b.stop()


if __name__ == "__main__":
    main()
