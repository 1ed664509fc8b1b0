# actuator.py: makes the policy's choice real by routing — never by taking a link down, so every
# link keeps being probed at its full rate (probes leave by their device, SO_BINDTODEVICE) and a
# switch costs the customer nothing but a route change.
#
# The kernel's main table stays what netifd (or the admin) makes it: each link's default routes
# with their metrics. The agent adds, for IPv4 and IPv6 alike:
#   rule 30000  lookup main suppress_prefixlength 0   main's specific routes (LAN, connected) win
#   rule 30001+i to <DNS server of link i> lookup 30001+i   an ISP's resolver is always asked
#                                                      through that ISP (it answers only its own)
#   rule 30100  lookup 30100                          table 30100 = the active link's default route
# A switch is one atomic `ip route replace default ... table 30100` per family (a family the
# active link lacks gets an `unreachable` default: clients fall back to the other family at once
# instead of sending into a dead line), then the old link's NAT entries are removed (conntrack,
# only those whose reply goes to the old link's addresses). Stopping the agent (`wanwatch
# --release`, the init script's service_stopped) or its next start removes all of it, so traffic
# falls back to the main table: netifd's own choice.
#
# Commands: `ip` (iproute2: OpenWrt package ip-full), `conntrack` (package conntrack), and on
# OpenWrt `ifup IFACE` (netifd) to restart a stuck session and `touch -c` of netifd's
# resolv.conf.auto after a switch (so dnsmasq re-tests its servers). They run through sysrun.run(): in the
# background, awaited with a timeout, so a hung command never stalls a probe. Names come from the
# validated config (names.is_name), addresses from `ip`'s output only after names.ip_family.
from .. import sysrun
from .link import as_links
from ..names import ip_family, is_name, is_path

RULE_MAIN = 30000
TABLE_LINK = 30001      # + link index (per-link table, for DNS pinning)
TABLE_ACTIVE = 30100
MAX_LINKS = 99
FAMILIES = (("ipv4", "-4"), ("ipv6", "-6"))
CMD_TIMEOUT_S = 5.0


def parse_default_route(lines, dev):
    """Route spec ("via GW dev DEV" or "dev DEV") of the first default route in `ip route show
    default dev DEV` output, or None. netifd's IPv6 defaults are source-specific ("default from
    PREFIX via ..."): the copy drops the source, so NAT66'd LAN traffic follows it too."""
    for line in lines:
        w = line.split()
        if not w or w[0] != "default":
            continue
        if "via" in w:
            gw = w[w.index("via") + 1]
            if not ip_family(gw):
                continue
            return "via %s dev %s" % (gw, dev)
        return "dev %s" % dev
    return None


def parse_addresses(lines):
    """{"ipv4": [...], "ipv6": [...]} global addresses from `ip -o addr show dev DEV`."""
    out = {"ipv4": [], "ipv6": []}
    for line in lines:
        w = line.split()
        for kind, fam in (("inet", "ipv4"), ("inet6", "ipv6")):
            if kind in w:
                a = w[w.index(kind) + 1].split("/")[0]
                if ip_family(a) and "global" in w and len(out[fam]) < 8:
                    out[fam].append(a)
    return out


def parse_resolv_auto(text):
    """{interface: [servers]} from netifd's resolv.conf.auto ("# Interface wan" then
    "nameserver X" lines)."""
    out = {}
    cur = None
    for line in text.split("\n"):
        w = line.split()
        if len(w) >= 3 and w[0] == "#" and w[1] == "Interface":
            cur = w[2]
            out.setdefault(cur, [])
        elif cur is not None and len(w) >= 2 and w[0] == "nameserver" and ip_family(w[1]):
            if len(out[cur]) < 8:
                out[cur].append(w[1])
    return out


def _fam_of(a):
    return "ipv6" if ":" in a else "ipv4"


class NoneActuator:
    """Monitor and report only: the policy's choice is reported as active_link, nothing changes."""
    kind = "none"
    restarts_sessions = False

    def __init__(self, links, events, run_dir="/tmp", fcfg=None, runner=None):
        self.links = as_links(links)
        self.events = events
        self.run_dir = run_dir
        self.failover_cfg = fcfg or {}
        self.runner = runner or sysrun.run

    async def setup(self, active):
        return True

    async def activate(self, to, frm):
        """Move traffic from frm to to; True when done."""
        return True

    async def refresh(self, name):
        return None

    async def restart_session(self, name):
        return None

    async def release(self):
        return True

    async def _run(self, action, link, cmds):
        """Run a command batch (one background shell); an `actuation` event says how it went."""
        rc, lines = await self.runner("\n".join(cmds), self.run_dir, CMD_TIMEOUT_S)
        ok = rc == 0
        ev = {"action": action, "link": link, "cmd": "; ".join(cmds)[:200], "ok": ok, "rc": rc}
        if not ok and lines:
            ev["error"] = lines[-1][:120]
        if self.events is not None:
            self.events.emit("actuation", **ev)
        return ok, lines


class RoutingActuator(NoneActuator):
    """openwrt and linux-route: policy rules + tables as described at the top."""
    kind = "linux-route"

    def __init__(self, links, events, run_dir="/tmp", fcfg=None, runner=None):
        NoneActuator.__init__(self, links, events, run_dir, fcfg, runner)
        for l in self.links:
            for n in [l.device] + l.interfaces:
                if not is_name(n):
                    raise ValueError("invalid link device/interface %r" % (n,))
        self.index = {}
        for l in self.links:
            self.index[l.name] = l.index
        self.routes = {}    # name -> {"ipv4": spec or None, "ipv6": spec or None}
        self.addrs = {}     # name -> {"ipv4": [...], "ipv6": [...]}
        self.dns = {}       # name -> [servers] pinned to the link
        self.active = None

    def _link(self, name):
        return self.links[self.index[name]]

    # --- reading what netifd / the admin set up ---------------------------------------------------
    async def _read(self, name):
        dev = self._link(name).device
        cmds = []
        for fam, opt in FAMILIES:
            cmds.append("echo @%s; ip %s route show default dev %s table main" % (fam, opt, dev))
        cmds.append("echo @addr; ip -o addr show dev %s" % dev)
        rc, lines = await self.runner("\n".join(cmds), self.run_dir, CMD_TIMEOUT_S, 64)
        parts = {}
        cur = None
        for line in lines:
            if line.startswith("@"):
                cur = line[1:].strip()
                parts[cur] = []
            elif cur is not None:
                parts[cur].append(line)
        routes = {}
        for fam, _ in FAMILIES:
            routes[fam] = parse_default_route(parts.get(fam, ()), dev)
        self.routes[name] = routes
        self.addrs[name] = parse_addresses(parts.get("addr", ()))
        self.dns[name] = self._dns_servers(name)
        return routes

    def _dns_servers(self, name):
        path = self.failover_cfg.get("resolv_file")
        if not path:
            return []
        try:
            with open(path) as f:
                text = f.read(8192)
        except OSError:
            return []
        table = parse_resolv_auto(text)
        out = []
        for iface in self._link(name).interfaces:
            for a in table.get(iface, ()):
                if a not in out:
                    out.append(a)
        return out

    # --- command lines ------------------------------------------------------------------------
    def _flush_cmds(self):
        out = []
        for _, opt in FAMILIES:
            for prio in [RULE_MAIN] + [TABLE_LINK + i for i in range(len(self.links))] + [TABLE_ACTIVE]:
                out.append("while ip %s rule del priority %d 2>/dev/null; do :; done" % (opt, prio))
            for t in [TABLE_LINK + i for i in range(len(self.links))] + [TABLE_ACTIVE]:
                out.append("ip %s route flush table %d 2>/dev/null" % (opt, t))
        return out

    def _active_cmds(self, name):
        out = []
        r = self.routes.get(name) or {}
        for fam, opt in FAMILIES:
            spec = r.get(fam)
            if spec:
                out.append("ip %s route replace default %s table %d" % (opt, spec, TABLE_ACTIVE))
            else:
                out.append("ip %s route replace unreachable default table %d" % (opt, TABLE_ACTIVE))
        return out

    def _dns_nudge(self):
        """After a switch the router's dnsmasq must stop asking the resolver it picked last (maybe
        behind a dead line): it sticks to one for up to 20 s, but re-reads its resolv file when it
        sees the file written and then asks all its servers at once — what netifd's own interface
        events do. dnsmasq built with inotify (OpenWrt's is) watches for a close after writing,
        one without it for a new mtime: the file is opened for appending and closed (nothing
        written, so no race with netifd writing it) and touched."""
        path = self.failover_cfg.get("resolv_file")
        if not path or not is_path(path):
            return []
        try:
            import os
            os.stat(path)
            open(path, "a").close()
        except OSError:
            return []
        return ["touch -c %s" % path]

    def _link_cmds(self, name):
        """The link's own table and the rules that send its DNS servers through it."""
        i = self.index[name]
        if i >= MAX_LINKS:
            return []
        t = TABLE_LINK + i
        out = []
        r = self.routes.get(name) or {}
        for fam, opt in FAMILIES:
            out.append("while ip %s rule del priority %d 2>/dev/null; do :; done" % (opt, t))
            if r.get(fam):
                out.append("ip %s route replace default %s table %d" % (opt, r[fam], t))
            else:
                out.append("ip %s route flush table %d 2>/dev/null" % (opt, t))
        for a in self.dns.get(name) or ():
            if r.get(_fam_of(a)):
                out.append("ip %s rule add priority %d to %s lookup %d"
                           % ("-6" if _fam_of(a) == "ipv6" else "-4", t, a, t))
        return out

    # --- the actuator interface ---------------------------------------------------------------
    async def setup(self, active):
        """Remove what an earlier run left, then install the rules with `active` carrying traffic."""
        for l in self.links:
            await self._read(l.name)
        cmds = self._flush_cmds()
        for _, opt in FAMILIES:
            cmds.append("ip %s rule add priority %d lookup main suppress_prefixlength 0" % (opt, RULE_MAIN))
            cmds.append("ip %s rule add priority %d lookup %d" % (opt, TABLE_ACTIVE, TABLE_ACTIVE))
        for l in self.links:
            cmds += self._link_cmds(l.name)
        cmds += self._active_cmds(active)
        ok, _ = await self._run("setup", active, cmds)
        if ok:
            self.active = active
        return ok

    async def activate(self, to, frm):
        await self._read(to)
        if not (self.routes.get(to) or {}).get("ipv4") and not (self.routes.get(to) or {}).get("ipv6"):
            if self.events is not None:
                self.events.emit("actuation", action="route", link=to, ok=False,
                                 error="no default route on %s" % self._link(to).device)
            return False
        ok, _ = await self._run("route", to, self._active_cmds(to))
        if not ok:
            return False
        self.active = to
        after = self._dns_nudge()  # only now: dnsmasq's next queries must take the new route
        if frm is not None and frm != to and self.failover_cfg.get("flush_conntrack", True):
            after += self._conntrack_cmds(frm)
        if after:
            await self._run("after-switch", frm, after)
        return True

    def _conntrack_cmds(self, name):
        """Remove the NAT entries whose replies go to the old link's addresses — only those: a flow
        masqueraded on the old link is re-created on the new one by its next packet, everything
        else (LAN-internal flows, the new link's) is left alone."""
        cmds = []
        for fam in ("ipv4", "ipv6"):
            for a in (self.addrs.get(name) or {}).get(fam, ()):
                cmds.append("conntrack -D -f %s --reply-dst %s >/dev/null 2>&1; :" % (fam, a))
        return cmds

    async def refresh(self, name):
        """netifd changed the link (ifup, ifupdate: new address, gateway, DNS): copy it again."""
        if name not in self.index:
            return None
        await self._read(name)
        cmds = self._link_cmds(name)
        if name == self.active:
            cmds += self._active_cmds(name)
        ok, _ = await self._run("refresh", name, cmds)
        return ok

    async def release(self):
        ok, _ = await self._run("release", None, self._flush_cmds())
        self.active = None
        return ok


class OpenWrtActuator(RoutingActuator):
    """Routing as above, plus session restarts through netifd."""
    kind = "openwrt"
    restarts_sessions = True

    async def restart_session(self, name):
        """`ifup` of an interface that is up makes netifd renegotiate it (a new PPPoE session or
        DHCP lease): the remedy for a session stuck on a dead line."""
        ifaces = self._link(name).interfaces
        ok, _ = await self._run("restart", name, ["ifup %s" % i for i in ifaces])
        return ok


def make_actuator(cfg, events=None, runner=None, links=None):
    kind = cfg.get("actuator", "none")
    links = links or cfg["links"]
    run_dir = cfg.get("run_dir") or "/tmp"
    fcfg = cfg.get("failover") or {}
    from .linkstate import FAILOVER_DEFAULTS, settings
    fcfg = settings(fcfg, FAILOVER_DEFAULTS)
    if kind == "openwrt":
        return OpenWrtActuator(links, events, run_dir, fcfg, runner)
    if kind == "linux-route":
        return RoutingActuator(links, events, run_dir, fcfg, runner)
    return NoneActuator(links, events, run_dir, fcfg, runner)

