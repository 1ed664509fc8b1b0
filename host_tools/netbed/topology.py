"""Network test bed for failover tests, benchmarks and the demo: a LAN with one client behind a
router with two uplinks (`wan`, `wwan`) to two ISPs, both routed to an "internet". Dual stack
everywhere; addresses in plan.py.

    LAN(L) lan0 --- lan router(R) wan  --- cust ispA(A) core --- ia \\
                                    wwan --- cust ispB(B) core --- ib / internet(I)

  R  forwards both families (rp_filter 0); main table: default via 10.1.0.1 dev wan metric 10 and
     via 10.2.0.1 dev wwan metric 20, the same for IPv6 (plain default routes, as OpenWrt with
     `sourcefilter 0`); nftables `table ip nat` + `table ip6 nat` masquerade on both uplinks (fw4's
     masq/masq6); dnsmasq (no cache) on 192.168.1.1, fd00:1::1, 127.0.0.1 with netifd's
     resolv.conf.auto; the router's own resolv.conf (/etc/netns/<R>/resolv.conf) says 127.0.0.1.
     The router's qdiscs are left alone (the agent's budget policy may use them).
  A/B BCP38 (forwarded traffic from the customer with another source is dropped); a resolver
     (dnsmasq) answering *.test.example (TTL 0) to its own customers only; the carrier's boxes on
     its gateway addresses (carrier.py: a portal and a broken resolver, idle until http_mode /
     dns_mode send the customer's traffic there by nft DNAT); the line's shaper (shape()).
  I  ICMP/ICMPv6 targets; SERVER: mosquitto (bed.broker()), UDP echo 7000, TCP accept 7001,
     HTTP 80 (web.py: GET /check -> 200 "wanwatch-ok\\n", /generate_204 -> 204, /blob?bytes=N),
     bulk TCP 7002 (bulk.py); VOIP (the "VoIP provider"): UDP echo 7000, TCP accept 7001;
     RESOLVER (dnsmasq, anyone may ask: *.test.example -> SERVER / SERVER6, TTL 0); a user-space
     echo responder with impairment per ISP path and a request log.

No netem on this kernel: the responder impairs echo replies per ISP path ("wan"/"wwan"):
blackhole, random loss, latency + jitter, dead targets (ICMP only). kill_upstream() makes an ISP
drop everything of its customer (both families) while ARP/ND keep working: a stuck PPPoE session.
netifd-like `ifup`/`ifdown` shims on the router's PATH (shims.py) log their calls (actions()).

Checks beyond ping (what the carrier does to its customer: the router itself, bound to the
link's device or not, and the LAN behind its NAT alike):
  http_mode(link, mode, delay_s=None)  tcp/80 to any address: "normal", "portal302" (302 to
      UPLINKS[link]["portal"]?url=...), "portal200" (200, a portal page without CHECK_BODY),
      "slow" (the real answer, delay_s late: default 5 s). New connections; ICMP, DNS, other
      ports untouched.
  dns_mode(link, mode, intercept=False)  the ISP's resolver (udp+tcp 53): "ok", "drop",
      "servfail", "wrong" (every A/AAAA -> the ISP's gateway); intercept=True: the customer's
      DNS to any resolver (RESOLVER too). Takes effect at the next query.
  intercepts(link) -> {"http", "http6", "dns", "dns6"}: connections / queries caught so far.
  shape(link, down_kbit=None, up_kbit=None), unshape(link), shaping(link) -> settings + counters.
  lan_download(server=SERVER, port=BULK_PORT, rate_kbit=None, direction="down") -> bulk.Download:
      .rate_kbit(t0=None, t1=None, direction="down") goodput from byte timestamps, .stats(),
      .wait_bytes(n), .stop(); reconnects when its connection breaks.
  lan_client(udp_server=VOIP): the LAN's fixed 5-tuple UDP flows go to VOIP / VOIP6;
      c.rtts(kind, t0, t1) round-trip times (ms) of any kind.
  http_get(url, where="router", dev=None, timeout=10.0), dns_query(server, name, qtype="A",
      where="router", dev=None, timeout=2.0): one probe from a namespace -> dict.
  http_log(where="internet" | link), dns_log("internet"): what the servers saw.

Shaping: tc TBF in the ISP, downlink on the egress of its customer-facing `cust`, uplink on the
egress of its `core` towards the internet (not ingress policing: this kernel has no `police`
action, and a line queues rather than polices). Parameters (tbf_params): bucket max(2 frames,
5 ms at the rate); queue limit max(6 full frames, 100 ms at the rate): a moderate tail-drop
queue like a DSL line's. Measured (tests/netbed/test_shaping.py): 256 kbit/s down -> LAN TCP
goodput 236-237 kbit/s (92-93 %: Ethernet/IP/TCP headers and the pings), pings under load
median 80-97 ms, max 175-195 ms (idle 0.3 ms); 1000 kbit/s up -> 931-937 kbit/s, median 46-60 ms,
max 86-93 ms.

DNS: the ISP resolvers' IPv6 addresses lie inside the uplinks' own prefixes (2001:db8:a::53 in
wan's /64), so the router always reaches them over their own link, whatever the default route;
the IPv4 ones follow the default route. dnsmasq (2.90, OpenWrt's defaults: no strict-order, no
all-servers) forwards each new query to the one server that answered first when it last asked
all of them, and asks all again only every 20 s or 50 queries, when a client retransmits the same
query, or after re-reading its resolv file. So after a plain route change it keeps asking a dead
line's resolver for up to 20 s; reload_router_dns() (rewriting resolv.conf.auto, as netifd does
on interface events) makes it ask them all at its next query. Which server wins that race is
not fixed (nearly always the first of the file; under load sometimes wwan's IPv6 one).

Kernel notes (6.18): masquerade entries whose output interface changes are dropped with the
packet that changed it (nf_nat_oif_changed): a flow's next packet creates a new entry NATed to the
new uplink's address, so a fixed 5-tuple UDP flow follows a route change losing one packet (a TCP
flow is reset: the server does not know the new address; lan_download reconnects). A new
veth's IPv6 is usable only after the kernel's linkwatch marked it UP (up to 1 s): the bed waits
for it before it returns. Traffic control here: qdiscs tbf, htb, ingress, pfifo/bfifo (no netem,
fq_codel, sfq, cake, prio); classifiers u32 and bpf only (no fw, flower, matchall); actions mirred
only (no police, gact, skbedit); ifb present.

    with NetBed() as bed:
        bed.kill_upstream("wan")
        bed.http_mode("wwan", "portal302")
        bed.shape("wan", down_kbit=256)
        c = bed.lan_client(udp_server=VOIP)
        d = bed.lan_download()
        p = bed.popen_router([...micropython...])

Everything is removed on close (namespaces, processes, /etc/netns/<R>, the temporary dir).
"""
import ipaddress
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from . import shims
from .child import child_env
from .plan import (BULK_PORT, DNS_FAULT_PORT, HTTP_PORT, IFACES, LAN_CLIENT, LAN_ROUTER, LINKS, LINKS6, PORTAL_PORT,
                   RESOLVER, RESOLVER6, SERVER, SERVER6, TARGETS, TARGETS6, TCP_PORT, TEST_DOMAIN, UDP_ECHO_PORT,
                   UPLINKS, VOIP, VOIP6)
from .web import read_log

__all__ = ["NetBed", "NetBedError", "require_tools", "TARGETS", "TARGETS6", "SERVER", "SERVER6", "LINKS", "LINKS6"]

_counter = itertools.count()
ROOT = shims.ROOT
NETNS_ETC = "/etc/netns"
TOOLS = {"ip": "iproute2", "tc": "iproute2", "nft": "nftables", "conntrack": "conntrack", "dnsmasq": "dnsmasq-base"}

NAT = """table {fam} nat {{
\tchain masq {{
\t\ttype nat hook postrouting priority 100; policy accept;
\t\toifname {{ "wan", "wwan" }} masquerade
\t}}
}}
"""

# BCP38 on forwarded traffic only (the customer's link-local ND must reach the ISP); the resolver
# answers the ISP's own customers only.
ISP = """table inet isp {{
\tchain forward_cust {{
\t\ttype filter hook forward priority 0; policy accept;
\t\tiifname "cust" ip saddr != {net} counter drop comment "bcp38"
\t\tiifname "cust" ip6 saddr != {net6} counter drop comment "bcp38_6"
\t}}
\tchain input_dns {{
\t\ttype filter hook input priority 0; policy accept;
\t\tip daddr {dns} ip saddr != {net} counter drop comment "dns_foreign"
\t\tip6 daddr {dns6} ip6 saddr != {net6} counter drop comment "dns_foreign6"
\t}}
}}
"""

# "upstream dead, link up": everything from and to the customer dropped, but neighbour discovery
# (ARP is not IP: untouched) so the router's link and neighbour entries stay as they are.
KILL = """table inet kill {
\tchain from_cust {
\t\ttype filter hook prerouting priority -300; policy accept;
\t\tiifname "cust" icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
\t\tiifname "cust" icmp type echo-request counter drop comment "echo"
\t\tiifname "cust" icmpv6 type echo-request counter drop comment "echo6"
\t\tiifname "cust" counter drop
\t}
\tchain to_cust {
\t\ttype filter hook postrouting priority 300; policy accept;
\t\toifname "cust" icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
\t\toifname "cust" counter drop
\t}
}
"""


# The carrier's interception (bed.http_mode): its customer's HTTP (tcp/80, any destination) goes to
# its portal on the gateway. A NAT rule: connections already set up keep their way.
PORTAL = """table inet portal {{
\tchain pre {{
\t\ttype nat hook prerouting priority -100; policy accept;
\t\tiifname "cust" ip saddr {net} tcp dport 80 counter dnat ip to {gw}:{port} comment "http"
\t\tiifname "cust" ip6 saddr {net6} tcp dport 80 counter dnat ip6 to [{gw6}]:{port} comment "http6"
\t}}
}}
"""

# bed.dns_mode: the customer's DNS (udp and tcp 53) to the ISP's resolver (intercept: to any
# resolver) dropped, or redirected to the carrier's broken resolver on the gateway.
DNS_FAULT = """table inet dnsfault {{
\tchain pre {{
\t\ttype {kind} hook prerouting priority {prio}; policy accept;
\t\tiifname "cust" ip saddr {net} {to4}meta l4proto {{ udp, tcp }} th dport 53 counter {verdict4} comment "dns"
\t\tiifname "cust" ip6 saddr {net6} {to6}meta l4proto {{ udp, tcp }} th dport 53 counter {verdict6} comment "dns6"
\t}}
}}
"""
HTTP_MODES = ("normal", "portal302", "portal200", "slow")
DNS_MODES = ("ok", "drop", "servfail", "wrong")

# bed.shape(): TBF on the ISP's egress towards the customer (down) and towards the internet (up).
# A shaped DSL line's moderate queue: it holds SHAPE_QUEUE_S at the rate, and never less than
# SHAPE_QUEUE_MIN full frames (below ~730 kbit/s the floor rules: at 256 kbit/s 284 ms, at
# 64 kbit/s 1.1 s, as a throttled line has); TCP fills it and then loses a packet (tail drop).
MTU_FRAME = 1514          # a full Ethernet frame as TBF counts it (IP 1500 + 14)
SHAPE_QUEUE_S = 0.1
SHAPE_QUEUE_MIN = 6
SHAPE_BURST_S = 0.005     # the bucket: 5 ms at the rate, at least two full frames
SHAPE_BURST_MIN = 2


def tbf_params(kbit):
    """(rate kbit/s, bucket bytes, queue limit bytes) of a shaped line."""
    bps = kbit * 1000 / 8
    return kbit, int(max(SHAPE_BURST_MIN * MTU_FRAME, bps * SHAPE_BURST_S)), int(max(SHAPE_QUEUE_MIN * MTU_FRAME, bps * SHAPE_QUEUE_S))


class NetBedError(RuntimeError):
    pass


def _sh(args, check=True, input=None, timeout=30):
    r = subprocess.run(args, capture_output=True, text=True, input=input, timeout=timeout)
    if check and r.returncode != 0:
        raise NetBedError("%s failed: %s" % (" ".join(args), (r.stderr or r.stdout).strip()))
    return r


def require_tools():
    if os.geteuid() != 0:
        raise NetBedError("the network test bed needs root (ip netns, raw sockets): run the tests as root")
    missing = [pkg for tool, pkg in TOOLS.items() if not shutil.which(tool)]
    if missing:
        raise NetBedError("missing tools for the test bed: apt-get install -y %s (make sysdeps does it)" % " ".join(missing))


def _norm(addr):
    return str(ipaddress.ip_address(addr))


class NetBed:
    """The bed as a context manager. prefix: namespace name prefix (default unique per process
    and bed: wwt<pid>_<n>; namespaces <prefix>l r a b i = LAN, router, ISP A, ISP B, internet,
    also as bed.l ... bed.i). router_dnsmasq_args: extra options of the router's dnsmasq (for
    example ["--all-servers"]). bed.tmp holds logs and control files; bed.run_dir is the run dir
    the `uci` shim names; bed.bin is put first on PATH of the router's processes."""

    def __init__(self, prefix=None, router_dnsmasq_args=()):
        self.prefix = prefix or "wwt%d_%d" % (os.getpid(), next(_counter))
        self.l, self.r, self.a, self.b, self.i = (self.prefix + s for s in ("l", "r", "a", "b", "i"))
        self.isp = {"wan": self.a, "wwan": self.b}
        self.router_dnsmasq_args = list(router_dnsmasq_args)
        self.tmp = None
        self.procs = []       # processes started for tests (popen_router, lan_client): killed on close
        self.daemons = {}     # the bed's own: responder, servers, dnsmasq-<ns>
        self.responder = None
        self.ctl = {}
        self.netns_etc = None

    # --- lifecycle -----------------------------------------------------------------------------
    def __enter__(self):
        require_tools()
        self.tmp = tempfile.mkdtemp(prefix=self.prefix + "-")
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def _ns(self, ns, *args, check=True, timeout=30):
        return _sh(["ip", "netns", "exec", ns] + list(args), check=check, timeout=timeout)

    def _ip(self, ns, lines):
        """Several `ip` commands in one namespace (ip -batch)."""
        _sh(["ip", "-n", ns, "-batch", "-"], input="\n".join(lines) + "\n")

    def _nft(self, ns, text, name):
        path = os.path.join(self.tmp, "%s-%s.nft" % (name, ns))
        with open(path, "w") as f:
            f.write(text)
        self._ns(ns, "nft", "-f", path)

    def _build(self):
        spaces = (self.l, self.r, self.a, self.b, self.i)
        for ns in spaces:
            _sh(["ip", "netns", "add", ns])
            self._ns(ns, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
                     "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
        self._ns(self.i, "sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1", "net.ipv6.icmp.echo_ignore_all=1")
        for ns in (self.r, self.a, self.b):  # before the devices exist: they inherit it
            self._ns(ns, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1",
                     "net.ipv6.conf.default.forwarding=1")
        self._veth(self.l, "lan0", self.r, "lan")
        for name, u in UPLINKS.items():
            isp = self.isp[name]
            self._veth(self.r, name, isp, "cust")
            self._veth(isp, "core", self.i, u["edge"])
        self._addresses()
        self._wait_links_up()
        for fam in ("ip", "ip6"):
            self._nft(self.r, NAT.format(fam=fam), "nat-" + fam)
        for name, u in UPLINKS.items():
            self._nft(self.isp[name], ISP.format(**u), "isp")
        self.run_dir = os.path.join(self.tmp, "run")
        os.mkdir(self.run_dir)
        self.resolv_auto = os.path.join(self.tmp, "resolv.conf.auto")
        with open(self.resolv_auto, "w") as f:
            f.write(shims.resolv_conf_auto())
        self._shims()
        self._router_resolv_conf()
        self.ctl_path = os.path.join(self.tmp, "impair.json")
        self.request_log = os.path.join(self.tmp, "requests.log")
        self._write_ctl()
        # the Python daemons start together; each says "ready" once its sockets are bound
        self._daemon("responder", self.i, [sys.executable, "-m", "host_tools.netbed.responder", self.ctl_path,
                                           self.request_log] + ["%s=%s" % (u["edge"], n) for n, u in UPLINKS.items()])
        self._daemon("servers", self.i, [sys.executable, "-m", "host_tools.netbed.servers", str(UDP_ECHO_PORT),
                                         str(TCP_PORT), SERVER, SERVER6, VOIP, VOIP6])
        self.http_logs = {"internet": os.path.join(self.tmp, "http-internet.log")}
        self._daemon("web", self.i, [sys.executable, "-m", "host_tools.netbed.web", self.http_logs["internet"],
                                     str(HTTP_PORT), SERVER, SERVER6])
        self._daemon("bulk", self.i, [sys.executable, "-m", "host_tools.netbed.bulk", "serve", str(BULK_PORT),
                                      SERVER, SERVER6])
        self.carrier = {}
        self.shaped = {name: {"down": None, "up": None} for name in UPLINKS}
        for name, u in UPLINKS.items():
            self.carrier[name] = {"http": "normal", "delay_s": 5.0, "dns": "ok", "intercept": False}
            self._write_carrier(name)
            self.http_logs[name] = os.path.join(self.tmp, "carrier-%s.log" % name)
            self._daemon("carrier-" + name, self.isp[name], [
                sys.executable, "-m", "host_tools.netbed.carrier", self._carrier_path(name), self.http_logs[name],
                u["gw"], u["gw6"], u["portal"], u["portal6"]])
        self.dns_logs = {}
        for name, u in UPLINKS.items():
            self._dnsmasq(name, self.isp[name], [u["dns"], u["dns6"]],
                          ["--no-resolv", "--address=/%s/%s" % (TEST_DOMAIN, SERVER),
                           "--address=/%s/%s" % (TEST_DOMAIN, SERVER6), "--local-ttl=0"])
        self._dnsmasq("internet", self.i, [RESOLVER, RESOLVER6],
                      ["--no-resolv", "--address=/%s/%s" % (TEST_DOMAIN, SERVER),
                       "--address=/%s/%s" % (TEST_DOMAIN, SERVER6), "--local-ttl=0"])
        self._dnsmasq("router", self.r, ["127.0.0.1", LAN_ROUTER[0], LAN_ROUTER[1]],
                      ["--resolv-file=" + self.resolv_auto] + self.router_dnsmasq_args)
        for name, p in self.daemons.items():
            if not name.startswith("dnsmasq-"):
                self._await_ready(name)
        self.responder = self.daemons["responder"]
        for name in self.dns_logs:
            self._wait_pidfile(name)

    def _veth(self, ns1, d1, ns2, d2):
        _sh(["ip", "-n", ns1, "link", "add", d1, "type", "veth", "peer", "name", d2, "netns", ns2])
        for ns, d in ((ns1, d1), (ns2, d2)):
            self._ns(ns, "sysctl", "-qw", "net.ipv4.conf.%s.rp_filter=0" % d)

    def _addresses(self):
        def addrs(dev, a4, a6):
            return ["addr add %s dev %s" % (a4, dev), "addr add %s dev %s nodad" % (a6, dev), "link set dev %s up" % dev]
        cmds = {ns: ["link set dev lo up"] for ns in (self.l, self.r, self.a, self.b, self.i)}
        cmds[self.l] += addrs("lan0", LAN_CLIENT[0] + "/24", LAN_CLIENT[1] + "/64")
        cmds[self.l] += ["route add default via %s" % LAN_ROUTER[0], "route add default via %s" % LAN_ROUTER[1]]
        cmds[self.r] += addrs("lan", LAN_ROUTER[0] + "/24", LAN_ROUTER[1] + "/64")
        for name, u in UPLINKS.items():
            isp = self.isp[name]
            cmds[self.r] += addrs(name, u["addr"] + "/24", u["addr6"] + "/64")
            cmds[isp] += addrs("cust", u["gw"] + "/24", u["gw6"] + "/64")
            cmds[isp] += addrs("core", u["core"][0] + "/24", u["core6"][0] + "/64")
            cmds[isp] += ["addr add %s/32 dev lo" % u["dns"], "addr add %s/128 dev cust nodad" % u["dns6"],
                          "route add 10.9.0.0/24 via %s" % u["core"][1],
                          "route add 2001:db8:9::/64 via %s" % u["core6"][1]]
            cmds[self.i] += addrs(u["edge"], u["core"][1] + "/24", u["core6"][1] + "/64")
            cmds[self.i] += ["route add %s via %s" % (u["net"], u["core"][0]),
                             "route add %s via %s" % (u["net6"], u["core6"][0])]
        for t in TARGETS + [SERVER, VOIP, RESOLVER]:
            cmds[self.i].append("addr add %s/32 dev lo" % t)
        for t in TARGETS6 + [SERVER6, VOIP6, RESOLVER6]:
            cmds[self.i].append("addr add %s/128 dev lo nodad" % t)
        for ns, lines in cmds.items():
            self._ip(ns, lines)
        routes = []
        for name, u in UPLINKS.items():  # after every address: the gateways must be on-link
            routes += ["route add default via %s dev %s metric %d" % (u["gw"], name, u["metric"]),
                       "route add default via %s dev %s metric %d" % (u["gw6"], name, u["metric"])]
        self._ip(self.r, routes)

    def _wait_links_up(self, timeout=5.0):
        """The kernel marks a new veth's operstate UP from its linkwatch work, which runs at most
        once a second; until then IPv6 on that device is not configured and the first neighbour
        solicitations are dropped (the first IPv6 packets wait a 1 s retransmission). IPv4 does
        not wait for it."""
        end = time.monotonic() + timeout
        while True:
            down = []
            for ns in (self.l, self.r, self.a, self.b, self.i):
                for line in _sh(["ip", "-n", ns, "-o", "link", "show"]).stdout.splitlines():
                    dev = line.split(":")[1].strip().split("@")[0]
                    if dev != "lo" and "state UP" not in line:
                        down.append(dev)
            if not down:
                return
            if time.monotonic() > end:
                raise NetBedError("links not up after %.0f s: %s" % (timeout, down))
            time.sleep(0.02)

    def _shims(self):
        self.bin = os.path.join(self.tmp, "bin")
        self.action_log = os.path.join(self.tmp, "actions.log")
        self.syslog_path = os.path.join(self.tmp, "syslog")
        open(self.action_log, "w").close()
        shims.write_all(self.bin, self.action_log, os.path.join(self.tmp, "ifstate"), os.path.join(self.tmp, "heal"),
                        self.resolv_auto, self.run_dir, self.syslog_path, self.isp)

    def _router_resolv_conf(self):
        """`ip netns exec R` bind-mounts /etc/netns/R/resolv.conf over /etc/resolv.conf."""
        d = os.path.join(NETNS_ETC, self.r)
        for attempt in range(3):  # another bed may be removing an empty /etc/netns just now
            try:
                os.makedirs(d)
                break
            except FileNotFoundError:
                if attempt == 2:
                    raise
        self.netns_etc = d
        self.set_router_resolver("127.0.0.1")

    def _daemon(self, name, ns, cmd):
        self.daemons[name] = subprocess.Popen(["ip", "netns", "exec", ns] + cmd, stdout=subprocess.PIPE,
                                              stderr=subprocess.PIPE, text=True, env=child_env(), cwd=ROOT)

    def _await_ready(self, name):
        p = self.daemons[name]
        line = p.stdout.readline()
        if line.strip() != "ready":
            raise NetBedError("%s failed: %s" % (name, p.stderr.read()[-600:]))

    def _dnsmasq(self, name, ns, listen, extra):
        log = os.path.join(self.tmp, "dnsmasq-%s.log" % name)
        pid = os.path.join(self.tmp, "dnsmasq-%s.pid" % name)
        self.dns_logs[name] = log
        self._daemon("dnsmasq-" + name, ns, [
            "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--user=root", "--group=root",
            "--pid-file=" + pid, "--log-facility=" + log, "--log-queries", "--no-hosts", "--cache-size=0",
            "--bind-interfaces"] + ["--listen-address=" + a for a in listen] + extra)

    def _wait_pidfile(self, name, timeout=10):
        """dnsmasq writes its pid file after its sockets are bound."""
        pid = os.path.join(self.tmp, "dnsmasq-%s.pid" % name)
        p = self.daemons["dnsmasq-" + name]
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if p.poll() is not None:
                raise NetBedError("dnsmasq (%s) exited: %s" % (name, p.stderr.read()[-600:]))
            if os.path.exists(pid) and os.path.getsize(pid) > 0:
                return
            time.sleep(0.02)
        raise NetBedError("dnsmasq (%s) did not start" % name)

    def close(self):
        for p in self.procs + list(self.daemons.values()):
            if p.poll() is None:
                try:
                    p.kill()
                except OSError:
                    pass
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    pass
        self.procs = []
        self.daemons = {}
        self.responder = None
        for ns in (self.l, self.r, self.a, self.b, self.i):
            r = _sh(["ip", "netns", "pids", ns], check=False)
            for pid in r.stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
            _sh(["ip", "netns", "del", ns], check=False)
        if self.netns_etc:
            shutil.rmtree(self.netns_etc, ignore_errors=True)
            self.netns_etc = None
            try:
                os.rmdir(NETNS_ETC)  # only when empty: no other bed (or anyone) uses it
            except OSError:
                pass
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    # --- impairment ----------------------------------------------------------------------------
    def _write_ctl(self):
        tmp = self.ctl_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.ctl, f)
        os.replace(tmp, self.ctl_path)

    def impair(self, path, blackhole=False, loss=0.0, delay_ms=0, jitter_ms=0):
        """Echo replies of one ISP path ("wan" or "wwan"), both families; no arguments = clean.
        ICMP only: other traffic is not affected (kill_upstream() is for all traffic)."""
        self.ctl[path] = {"blackhole": blackhole, "loss": loss, "delay_ms": delay_ms, "jitter_ms": jitter_ms}
        self._write_ctl()

    def dead_targets(self, addrs):
        """These targets (IPv4 or IPv6) never answer, on every path."""
        self.ctl["dead"] = [_norm(a) for a in addrs]
        self._write_ctl()

    def kill_upstream(self, link, heal_on_restart=False):
        """The ISP of `link` drops everything from and to its customer, both families, its
        resolver included; ARP and neighbour discovery still work, so the link and the router's
        routes stay up (a stuck PPPoE session). heal_on_restart: the next `ifup` of an up
        interface of that link (a new session) heals it."""
        self.heal_upstream(link)
        self._nft(self.isp[link], KILL, "kill")
        if heal_on_restart:
            open(os.path.join(self.tmp, "heal", link), "w").close()

    def heal_upstream(self, link):
        self._ns(self.isp[link], "nft", "delete", "table", "inet", "kill", check=False)
        try:
            os.unlink(os.path.join(self.tmp, "heal", link))
        except FileNotFoundError:
            pass

    def upstream_killed(self, link):
        return self._ns(self.isp[link], "nft", "list", "table", "inet", "kill", check=False).returncode == 0

    def killed_echoes(self, link):
        """Echo requests (both families) the ISP of `link` dropped since kill_upstream(): once the
        LAN's traffic has moved to the other link, these are the router's own probes."""
        c = self._counters(self.isp[link], "kill")
        return c.get("echo", 0) + c.get("echo6", 0)

    def isp_drops(self, link):
        """Packets the ISP of `link` dropped so far: {"bcp38", "bcp38_6", "dns_foreign", "dns_foreign6"}."""
        return self._counters(self.isp[link], "isp")

    def _counters(self, ns, table):
        """{comment: packets} of the commented counting rules of `table inet TABLE` ({} if absent)."""
        r = self._ns(ns, "nft", "-j", "list", "table", "inet", table, check=False)
        if r.returncode != 0:
            return {}
        out = {}
        for item in json.loads(r.stdout)["nftables"]:
            rule = item.get("rule")
            if rule and rule.get("comment"):
                out[rule["comment"]] = next(e["counter"]["packets"] for e in rule["expr"] if "counter" in e)
        return out

    # --- the carrier: portal, DNS, shaping ----------------------------------------------------
    def _carrier_path(self, link):
        return os.path.join(self.tmp, "carrier-%s.json" % link)

    def _write_carrier(self, link):
        path = self._carrier_path(link)
        with open(path + ".tmp", "w") as f:
            json.dump(self.carrier[link], f)
        os.replace(path + ".tmp", path)

    def http_mode(self, link, mode, delay_s=None):
        """What the ISP of `link` does with its customer's HTTP (tcp/80 to any address, from the
        router itself or the LAN, both families): "normal" (passes), "portal302" (302 Found to
        its portal, UPLINKS[link]["portal"]?url=...), "portal200" (200 with a portal page that
        lacks CHECK_BODY), "slow" (the real answer, relayed by the carrier's proxy delay_s after
        the request arrived; default 5 s). ICMP, DNS and other ports are untouched. Applies to
        new connections (an open one keeps its way)."""
        if mode not in HTTP_MODES:
            raise NetBedError("http mode %r: one of %s" % (mode, ", ".join(HTTP_MODES)))
        isp, u = self.isp[link], UPLINKS[link]
        self.carrier[link]["http"] = mode
        if delay_s is not None:
            self.carrier[link]["delay_s"] = float(delay_s)
        self._write_carrier(link)  # before the rule: the portal reads it at each request
        self._ns(isp, "nft", "delete", "table", "inet", "portal", check=False)
        if mode != "normal":
            self._nft(isp, PORTAL.format(port=PORTAL_PORT, **u), "portal")

    def dns_mode(self, link, mode, intercept=False):
        """The resolver of the ISP of `link` (u["dns"], u["dns6"]; UDP and TCP) for its customer:
        "ok", "drop" (no answer), "servfail" (SERVFAIL to everything), "wrong" (every A / AAAA
        answer is the ISP's gateway, TTL 0). intercept=True: the carrier does it to its
        customer's DNS to any resolver (RESOLVER too), as carriers with transparent DNS do.
        Takes effect at the next query (the ISP forgets its DNS conntrack entries)."""
        if mode not in DNS_MODES:
            raise NetBedError("dns mode %r: one of %s" % (mode, ", ".join(DNS_MODES)))
        isp, u = self.isp[link], UPLINKS[link]
        self.carrier[link].update(dns=mode, intercept=bool(intercept))
        self._write_carrier(link)
        self._ns(isp, "nft", "delete", "table", "inet", "dnsfault", check=False)
        if mode != "ok":
            to4 = "" if intercept else "ip daddr %s " % u["dns"]
            to6 = "" if intercept else "ip6 daddr %s " % u["dns6"]
            if mode == "drop":
                kind, prio, v4, v6 = "filter", -150, "drop", "drop"
            else:
                kind, prio = "nat", -100
                v4 = "dnat ip to %s:%d" % (u["gw"], DNS_FAULT_PORT)
                v6 = "dnat ip6 to [%s]:%d" % (u["gw6"], DNS_FAULT_PORT)
            self._nft(isp, DNS_FAULT.format(kind=kind, prio=prio, to4=to4, to6=to6, verdict4=v4, verdict6=v6, **u),
                      "dnsfault")
        for fam in ("ipv4", "ipv6"):
            self._ns(isp, "conntrack", "-D", "-f", fam, "-p", "udp", "--orig-port-dst", "53", check=False)

    def intercepts(self, link):
        """Packets the ISP of `link` intercepted so far under the current modes: {"http",
        "http6"} (connections sent to the portal) and {"dns", "dns6"} (queries dropped or sent
        to the broken resolver); a mode change starts them at 0."""
        isp = self.isp[link]
        return dict(self._counters(isp, "portal"), **self._counters(isp, "dnsfault"))

    def shape(self, link, down_kbit=None, up_kbit=None):
        """Shapes the line of `link` in its ISP (tc TBF, tbf_params: a moderate tail-drop queue):
        down_kbit on the ISP's egress towards the customer (everything the customer receives,
        router and LAN), up_kbit on its egress towards the internet (everything the customer
        sends beyond the ISP); None leaves that direction unshaped (removes its shaping). Rates
        count Ethernet frames: TCP goodput is about 95 % of them."""
        isp = self.isp[link]
        for d, dev, kbit in (("down", "cust", down_kbit), ("up", "core", up_kbit)):
            if kbit:
                rate, burst, limit = tbf_params(int(kbit))
                self._ns(isp, "tc", "qdisc", "replace", "dev", dev, "root", "tbf", "rate", "%dkbit" % rate,
                         "burst", str(burst), "limit", str(limit))
                self.shaped[link][d] = {"rate_kbit": rate, "burst": burst, "limit": limit,
                                        "queue_ms": round(limit * 8 / rate, 1)}
            else:
                self._ns(isp, "tc", "qdisc", "del", "dev", dev, "root", check=False)
                self.shaped[link][d] = None

    def unshape(self, link):
        self.shape(link)

    def shaping(self, link):
        """{"down": ..., "up": ...} of `link`'s shaper: None when unshaped, else {"rate_kbit",
        "burst", "limit" (bytes), "queue_ms" (a full queue's wait), and the qdisc's counters
        "sent_bytes", "drops", "overlimits", "backlog_bytes"}."""
        out = {}
        for d, dev in (("down", "cust"), ("up", "core")):
            conf = self.shaped[link][d]
            if conf is None:
                out[d] = None
                continue
            q = json.loads(self._ns(self.isp[link], "tc", "-s", "-j", "qdisc", "show", "dev", dev, "root").stdout)[0]
            out[d] = dict(conf, sent_bytes=q.get("bytes"), drops=q.get("drops"), overlimits=q.get("overlimits"),
                          backlog_bytes=q.get("backlog"))
        return out

    # --- observation ---------------------------------------------------------------------------
    def probe_times(self, path, target=None, since=None):
        """CLOCK_MONOTONIC arrival times (time.monotonic() of any namespace) of the echo requests
        (both families, not the LAN client's) that reached the internet over `path`, optionally
        only to `target` and at or after `since`. A request the ISP dropped (kill_upstream) never
        arrives; impair() applies after the arrival is logged."""
        target = _norm(target) if target else None
        out = []
        with open(self.request_log) as f:
            for line in f:
                parts = line.split()
                if len(parts) != 3 or parts[1] != path or (target and parts[2] != target):
                    continue
                t = float(parts[0])
                if since is None or t >= since:
                    out.append(t)
        return out

    def actions(self, tools=("ifup", "ifdown")):
        """Shim calls in order, e.g. "ifdown wan"; tools=None: also uci and logger calls (the hotplug
        script's)."""
        with open(self.action_log) as f:
            lines = [l.strip() for l in f if l.strip()]
        return [l for l in lines if tools is None or l.split()[0] in tools]

    def hotplug_records(self):
        """The records the real hotplug script wrote into run_dir/iface.events (parsed JSON)."""
        try:
            with open(os.path.join(self.run_dir, "iface.events")) as f:
                return [json.loads(l) for l in f if l.strip()]
        except FileNotFoundError:
            return []

    def syslog(self):
        """What went to `logger` on the router (the hotplug script's lines)."""
        try:
            with open(self.syslog_path) as f:
                return [l.rstrip("\n") for l in f]
        except FileNotFoundError:
            return []

    def dns_log(self, which):
        """dnsmasq's query log: which = "router", "wan" (ISP A's resolver) or "wwan"."""
        with open(self.dns_logs[which]) as f:
            return f.read()

    def http_log(self, where="internet"):
        """Requests answered so far, oldest first: where="internet" (the web server on SERVER:
        {"t", "client", "method", "path", "status", "bytes"}) or a link name (its carrier:
        {"t", "kind": "http" | "dns", "client", "mode", ...} of each intercepted request).
        t is CLOCK_MONOTONIC."""
        return read_log(self.http_logs[where])

    def dns_upstream(self):
        """The upstream server the router's dnsmasq sent its latest ordinary query to (it keeps
        using the server that answered first when it last asked them all), or None."""
        per = {}
        for line in self.dns_log("router").splitlines():
            parts = line.split()
            if "forwarded" in parts and len(parts) >= 2 and parts[-2] == "to":
                name = parts[parts.index("forwarded") + 1]
                per.setdefault(name, []).append(parts[-1])
        singles = [s[0] for s in per.values() if len(s) == 1]
        return singles[-1] if singles else None

    def reload_router_dns(self):
        """Rewrite resolv.conf.auto (same content, new file) as netifd does on every interface
        event: the router's dnsmasq re-reads it and asks all servers with its next query."""
        with open(self.resolv_auto) as f:
            text = f.read()
        with open(self.resolv_auto + ".tmp", "w") as f:
            f.write(text)
        os.replace(self.resolv_auto + ".tmp", self.resolv_auto)

    def conntrack(self, *args):
        """`conntrack ARGS` in the router namespace -> stdout (e.g. "-L", "-p", "udp")."""
        return self._ns(self.r, "conntrack", *args).stdout

    # --- the router ----------------------------------------------------------------------------
    def set_router_resolver(self, addr):
        """The nameserver of the router's /etc/resolv.conf (default 127.0.0.1: its dnsmasq).
        Written in place: the bind mount of running processes sees it too."""
        with open(os.path.join(self.netns_etc, "resolv.conf"), "w") as f:
            f.write("nameserver %s\n" % addr)

    def ifup(self, iface):
        """`ifup IFACE` on the router's console (the shim: netifd-like, fires hotplug)."""
        return self._shim("ifup", iface)

    def ifdown(self, iface):
        return self._shim("ifdown", iface)

    def _shim(self, cmd, iface):
        if iface not in IFACES:
            raise NetBedError("unknown interface %r (know %s)" % (iface, ", ".join(IFACES)))
        r = self.run_router([os.path.join(self.bin, cmd), iface])
        if r.returncode != 0:
            raise NetBedError("%s %s failed: %s" % (cmd, iface, r.stderr.strip()))
        return r

    def broker(self, port=1883):
        """A real mosquitto on SERVER:port in the internet namespace (started; stop()/start() for an
        outage). Killed with the namespace on close()."""
        from host_tools.localbroker import Broker
        return Broker(port=port, host=SERVER, netns=self.i).start()

    def lan_client(self, **kw):
        """Start the LAN traffic generator (lanclient.LanClient; kinds=..., keep_s=...)."""
        from .lanclient import LanClient
        return LanClient(self, **kw)

    def lan_download(self, server=SERVER, port=BULK_PORT, rate_kbit=None, direction="down"):
        """A bulk TCP transfer from the LAN client's namespace to the bulk server (SERVER or
        SERVER6, BULK_PORT): direction "down", "up" or "both"; rate_kbit paces the sender (None:
        as fast as TCP goes; on an unshaped path that is a CPU core). Reconnects when the
        connection breaks. -> bulk.Download: rate_kbit(t0, t1, direction), stats(),
        wait_bytes(n), stop()."""
        from .bulk import Download
        return Download(self, server, port, rate_kbit, direction)

    def _probe(self, where, args, timeout):
        ns = {"router": self.r, "lan": self.l}.get(where, where)
        r = self.run_in(ns, [sys.executable, "-m", "host_tools.netbed.probe"] + [str(a) for a in args],
                        timeout=timeout + 10, env=child_env())
        if r.returncode != 0:
            raise NetBedError("probe %s failed: %s" % (" ".join(map(str, args)), r.stderr[-600:]))
        return json.loads(r.stdout)

    def http_get(self, url, where="router", dev=None, timeout=10.0):
        """One GET from where ("router", "lan" or a namespace), bound to device dev (the router's
        "wan" / "wwan", as the agent's check) or routed -> {"status" (None: no answer), "headers"
        (lower-case names), "body", "bytes", "elapsed_s", "error"}."""
        return self._probe(where, ["http", url, dev or "-", timeout], timeout)

    def dns_query(self, server, name, qtype="A", where="router", dev=None, timeout=2.0):
        """One UDP query ("A" or "AAAA") to server from where, bound to dev or routed ->
        {"rcode" (None: no answer in time), "addrs", "elapsed_s", "error"}."""
        return self._probe(where, ["dns", server, name, qtype, dev or "-", timeout], timeout)

    # --- processes in the router namespace ----------------------------------------------------
    def router_env(self, extra=None):
        env = dict(os.environ)
        env["PATH"] = self.bin + ":" + env.get("PATH", "/usr/bin:/bin")
        if extra:
            env.update(extra)
        return env

    def popen_router(self, cmd, env=None, **kw):
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        p = subprocess.Popen(["ip", "netns", "exec", self.r] + list(cmd), env=self.router_env(env),
                             text=True, **kw)
        self.procs.append(p)
        return p

    def run_router(self, cmd, timeout=30):
        return self.run_in(self.r, cmd, timeout, env=self.router_env())

    def run_in(self, ns, cmd, timeout=30, env=None):
        """A command in one of the bed's namespaces (bed.l, bed.r, bed.a, bed.b, bed.i)."""
        return subprocess.run(["ip", "netns", "exec", ns] + list(cmd), env=env, capture_output=True, text=True,
                              timeout=timeout)

    def write_file(self, name, text):
        p = os.path.join(self.tmp, name)
        with open(p, "w") as f:
            f.write(text)
        return p
