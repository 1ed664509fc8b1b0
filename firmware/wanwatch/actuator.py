# actuator.py: makes the policy's choice real. openwrt: netifd's ifup/ifdown (ifdown of a stuck
# PPPoE tears the session down, so a recovery trial starts from a fresh session); linux-route:
# default-route metrics via `ip route`; none: monitor and report only.
# Commands run through os.system (MicroPython has no subprocess). Every name is validated against
# [A-Za-z0-9_.-]{1,15} before it reaches a command line, so no shell string is built from input.
# ifup/ifdown/ip return within milliseconds (netifd works asynchronously), so the short block of
# os.system is accepted; it happens only on a switch, never per probe.
import os

from .names import is_name


def _run(cmd):
    """Exit status of a shell command (os.system returns a wait status on Unix)."""
    st = os.system(cmd)
    if st > 255:
        st = st >> 8
    return st


class NoneActuator:
    """Monitor and report only: the policy's choice is reported as active_link, nothing changes."""
    kind = "none"
    probe_inactive = True

    def __init__(self, links, events, system=None):
        self.links = links
        self.events = events
        self.system = system or _run
        self.down = {}

    def _cmd(self, action, link, argv):
        for a in argv[1:]:
            if not is_name(a):
                self.events.emit("actuation", action=action, link=link, ok=False, error="invalid name")
                return False
        rc = self.system(" ".join(argv) + " >/dev/null 2>&1")
        ok = rc == 0
        self.events.emit("actuation", action=action, link=link, cmd=" ".join(argv), ok=ok, rc=rc)
        return ok

    def activate(self, to, frm):
        """Move traffic from frm to to; True when done."""
        return True

    def trial_up(self, name):
        return True

    def trial_down(self, name):
        return True

    def is_down(self, name):
        return bool(self.down.get(name))


class OpenWrtActuator(NoneActuator):
    kind = "openwrt"
    probe_inactive = False  # the old link is ifdown'd: failback goes through a recovery trial

    def activate(self, to, frm):
        if self.down.get(to):
            if not self._cmd("ifup", to, ["ifup", to]):
                return False
            self.down[to] = False
        if frm is not None and not self.down.get(frm):
            # failback keeps the backup up but unused (higher metric): warm standby
            if self.role(frm) == "backup":
                return True
            if not self._cmd("ifdown", frm, ["ifdown", frm]):
                return False
            self.down[frm] = True
        return True

    def role(self, name):
        for l in self.links:
            if l["name"] == name:
                return l.get("role")
        return None

    def trial_up(self, name):
        ok = self._cmd("ifup", name, ["ifup", name])
        if ok:
            self.down[name] = False
        return ok

    def trial_down(self, name):
        ok = self._cmd("ifdown", name, ["ifdown", name])
        if ok:
            self.down[name] = True
        return ok


class LinuxRouteActuator(NoneActuator):
    """Both links stay up; the active one gets the lowest default-route metric."""
    kind = "linux-route"
    probe_inactive = True
    ACTIVE_METRIC = 5
    BASE_METRIC = 100

    def __init__(self, links, events, system=None, tmpdir="/tmp"):
        NoneActuator.__init__(self, links, events, system)
        self.tmpdir = tmpdir

    def gateway(self, dev):
        """Gateway of dev's default route (`ip route show default dev DEV` into a temp file)."""
        if not is_name(dev):
            return None
        from .sysrun import output_lines
        for line in output_lines("ip -4 route show default dev %s" % dev, "rt-" + dev, self.tmpdir, self.system):
            p = line.split()
            if "via" in p:
                return p[p.index("via") + 1]
        return None

    def activate(self, to, frm):
        ok = True
        # demote the others first: IPv4 refuses a second default route with the same metric
        order = []
        for i in range(len(self.links)):
            if self.links[i]["name"] != to:
                order.append(i)
        for i in range(len(self.links)):
            if self.links[i]["name"] == to:
                order.append(i)
        for i in order:
            l = self.links[i]
            dev = l["device"]
            metric = self.ACTIVE_METRIC if l["name"] == to else self.BASE_METRIC + i
            gw = self.gateway(dev)
            if gw is not None:
                for part in gw.split("."):
                    if not part.isdigit():
                        gw = None
                        break
            if gw is None:
                continue  # no default route on this link (down): nothing to re-rank
            # delete + add: `replace` matches on metric too and would leave the old route behind
            self._cmd("route", l["name"], ["ip", "-4", "route", "del", "default", "dev", dev])
            if not self._cmd("route", l["name"], ["ip", "-4", "route", "add", "default", "via", gw,
                                                  "dev", dev, "metric", str(metric)]):
                ok = False
        return ok


def make_actuator(cfg, events=None, system=None):
    kind = cfg.get("actuator", "none")
    links = cfg["links"]
    if kind == "openwrt":
        return OpenWrtActuator(links, events, system)
    if kind == "linux-route":
        return LinuxRouteActuator(links, events, system)
    return NoneActuator(links, events, system)
