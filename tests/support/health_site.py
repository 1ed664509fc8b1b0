"""The site of the health-beyond-ping tests and bench on the namespace bed: links() (wan primary,
wwan metered backup, IPv4 targets; each link's extra keys merged in), start() (broker, the whole
agent under MicroPython, wan up), HTTP and DNS check entries with short intervals, and
status_and_wire() (the agent's next status file and, read right after it, the wire meter's
counters: the agent's own count per check type against what nftables saw)."""
import json
import os
import time

from host_tools.netbed import TARGETS
from host_tools.netbed.agent import SiteAgent, site_config
from host_tools.netbed.plan import CHECK_BODY, CHECK_NAME, CHECK_URL, RESOLVER

from tests.support.netbed_tools import kind

HTTP = {"type": "http", "url": CHECK_URL, "contains": CHECK_BODY, "interval_s": 2, "timeout_s": 2,
        "standby_interval_s": 3, "metered_interval_s": 3}
DNS = {"type": "dns", "name": CHECK_NAME, "resolver": RESOLVER, "interval_s": 2, "timeout_s": 1}


def links(primary=None, backup=None, targets=TARGETS):
    out = [{"name": "wan", "device": "wan", "role": "primary", "targets": list(targets)},
           {"name": "wwan", "device": "wwan", "role": "backup", "metered": True, "targets": list(targets)}]
    out[0].update(primary or {})
    out[1].update(backup or {})
    return out


def start(bed, tmp_path, broker=True, **kw):
    """The agent on the bed with site_config(**kw), once wan is up (broker: start the bed's
    broker first; False for a second agent on the same bed)."""
    if broker:
        bed.broker()
    a = SiteAgent(bed, site_config(bed, str(tmp_path), **kw))
    assert a.wait_until(lambda: a.seen(kind("link_state", link="wan", state="up")), 20), a.lines
    return a


def wait(a, pred, timeout, what):
    """(host time, event) of the first new event matching pred, or AssertionError naming what."""
    got = a.wait_event(pred, timeout)
    if got is None:
        raise AssertionError("no %s within %s s: %s" % (what, timeout, a.lines[-12:]))
    return got


def first_since(a, pred, since):
    """(host time, event) of the agent's first event matching pred at or after since, or None."""
    for t, ev in list(a.events):
        if t >= since and pred(ev):
            return t, ev
    return None


FAMILY_KIND = {"ipv4": "icmp4", "ipv6": "icmp6", "dns": "dns", "http": "http"}


def status_and_wire(bed, meter, timeout=12.0):
    """{link: {check kind: (agent's bytes, wire bytes)}} at the agent's next status-file write (every
    5 s): the file is polled every 20 ms and the counters read as soon as it changes."""
    path = os.path.join(bed.run_dir, "status.json")

    def stamp():
        try:
            return os.stat(path).st_mtime_ns
        except FileNotFoundError:
            return None

    old = stamp()
    end = time.monotonic() + timeout
    while stamp() == old:
        assert time.monotonic() < end, "status.json not rewritten"
        time.sleep(0.02)
    wire = meter.read()
    with open(path) as f:
        doc = json.load(f)
    out = {}
    for name, st in doc["links"].items():
        if name not in wire:
            continue
        out[name] = {}
        for fam, k in FAMILY_KIND.items():
            if isinstance(st.get(fam), dict) and "bytes" in st[fam]:
                out[name][k] = (st[fam]["bytes"], meter.total(name, k, wire))
    return out
