"""The whole agent (`micropython -m wanwatch --config site.json`, .mpy bundle) in a NetBed's router
namespace, as a router runs it: its log lines are read on a thread and every `event ...` line
(the agent logs each event) becomes an event stamped with the host's monotonic clock, so tests can
line events up with what the LAN client saw. Shared by the continuity tests, the bench and the demo.
"""
import json
import os
import re

from tests.support import paths
from tests.support.netbed_agent import RouterProcess, firmware_bundle

EVENT = re.compile(r"wanwatch: event (\w+)(.*)$")
FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\[[^\]]*\]|\{[^}]*\}|\S+)')


def parse_event(line):
    """{"type": ..., field: value} from a `wanwatch: event TYPE k=v ...` log line, else None."""
    m = EVENT.search(line)
    if not m:
        return None
    ev = {"type": m.group(1)}
    for k, v in FIELD.findall(m.group(2)):
        try:
            ev[k] = json.loads(v)
        except ValueError:
            ev[k] = v
    return ev


def site_config(bed, tmp, actuator="openwrt", failover=None, probe=None, mqtt=None, links=None, **extra):
    """A site on the bed: wan (wan + wan6, IPv4 and IPv6 targets) preferred, wwan metered backup."""
    from host_tools.netbed import SERVER, TARGETS, TARGETS6
    if links is None:
        links = [{"name": "wan", "device": "wan", "role": "primary", "interfaces": ["wan", "wan6"],
                  "targets": list(TARGETS) + list(TARGETS6)},
                 {"name": "wwan", "device": "wwan", "role": "backup", "metered": True,
                  "interfaces": ["wwan", "wwan6"], "targets": list(TARGETS) + list(TARGETS6)}]
    cfg = {"device_id": "site-1", "modem": {"port": os.path.join(tmp, "no-modem")}, "links": links,
           "actuator": actuator, "failover": failover or {}, "probe": probe or {},
           "mqtt": mqtt or {"host": SERVER, "port": 1883},
           "state_dir": os.path.join(tmp, "flash"), "run_dir": bed.run_dir}
    cfg["failover"].setdefault("resolv_file", bed.resolv_auto)
    cfg.update(extra)
    return cfg


class SiteAgent(RouterProcess):
    """The full agent on the bed. events: [(host monotonic, event dict)]."""

    def __init__(self, bed, cfg, heapsize=None):
        path = bed.write_file("site-%d.json" % id(self), json.dumps(cfg))
        cmd = [paths.micropython()]
        if heapsize:
            cmd += ["-X", "heapsize=%s" % heapsize]
        RouterProcess.__init__(self, bed, cmd + ["-m", "wanwatch", "--config", path],
                               env={"MICROPYPATH": firmware_bundle(bed) + ":.frozen"})

    def _line(self, now, line):
        ev = parse_event(line)
        if ev is not None:
            self._event(now, ev)
        RouterProcess._line(self, now, line)
