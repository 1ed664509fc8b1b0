"""Network test bed for failover tests, benchmarks and the demo: a router namespace with `wan` and `wwan`
links to two ISP namespaces, both routed to an "internet" namespace that holds the probe targets.

    router(R) wan 10.1.0.2 --- 10.1.0.1 ispA(A) 10.3.0.1 --- 10.3.0.2 ia \\
                                                                         internet(I): targets 10.9.0.1-3
    router(R) wwan 10.2.0.2 -- 10.2.0.1 ispB(B) 10.4.0.1 --- 10.4.0.2 ib /

The internet namespace also holds SERVER (10.9.0.10), where `bed.broker()` starts a real mosquitto:
the router reaches it over whichever link carries traffic, like a real fleet broker.

No netem on this kernel: a user-space responder in I answers the echo requests (kernel replies off)
and impairs them per ISP path ("wan"/"wwan"): blackhole (link stays up: the stuck-PPPoE case),
random loss, latency + jitter, and dead targets; changed at runtime through a control file.
Shim `ifup`/`ifdown` on the router's PATH behave like netifd (route + link) and log their calls.

    with NetBed() as bed:
        bed.impair("wan", blackhole=True)
        p = bed.popen_router([...micropython...])

Everything is removed on exit (namespaces, responder, processes started through the bed).
"""
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TARGETS = ["10.9.0.1", "10.9.0.2", "10.9.0.3"]
SERVER = "10.9.0.10"  # TCP services "on the internet" (the MQTT broker); no ICMP target
LINKS = {"wan": ("10.1.0.2", "10.1.0.1", 10), "wwan": ("10.2.0.2", "10.2.0.1", 20)}
_counter = itertools.count()
HERE = os.path.dirname(os.path.abspath(__file__))

IFUP = """#!/bin/sh
# netifd-like shim: bring the link up and give it its default route back
echo "ifup $1" >> {log}
case "$1" in
{cases_up}
  *) echo "ifup: unknown interface $1" >&2; exit 1;;
esac
"""
IFDOWN = """#!/bin/sh
# netifd-like shim: drop the link's default route and take the link down
echo "ifdown $1" >> {log}
case "$1" in
{cases_down}
  *) echo "ifdown: unknown interface $1" >&2; exit 1;;
esac
"""


class NetBedError(RuntimeError):
    pass


def _sh(args, check=True):
    r = subprocess.run(args, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise NetBedError("%s failed: %s" % (" ".join(args), (r.stderr or r.stdout).strip()))
    return r


def require_tools():
    if os.geteuid() != 0:
        raise NetBedError("the network test bed needs root (ip netns, raw sockets): run the tests as root")
    if not shutil.which("ip"):
        raise NetBedError("'ip' not found: apt-get install -y iproute2")


class NetBed:
    def __init__(self, prefix=None):
        self.prefix = prefix or "wwt%d_%d" % (os.getpid(), next(_counter))
        self.r, self.a, self.b, self.i = (self.prefix + s for s in ("r", "a", "b", "i"))
        self.tmp = None
        self.procs = []
        self.responder = None
        self.ctl = {}

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

    def _ns(self, ns, *args, check=True):
        return _sh(["ip", "netns", "exec", ns] + list(args), check=check)

    def _build(self):
        for ns in (self.r, self.a, self.b, self.i):
            _sh(["ip", "netns", "add", ns])
            self._ns(ns, "ip", "link", "set", "dev", "lo", "up")
            for k in ("all", "default"):
                self._ns(ns, "sysctl", "-qw", "net.ipv4.conf.%s.rp_filter=0" % k)
        for ns in (self.a, self.b):
            self._ns(ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        self._ns(self.i, "sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1")
        self._veth(self.r, "wan", "10.1.0.2/24", self.a, "cust", "10.1.0.1/24")
        self._veth(self.r, "wwan", "10.2.0.2/24", self.b, "cust", "10.2.0.1/24")
        self._veth(self.a, "core", "10.3.0.1/24", self.i, "ia", "10.3.0.2/24")
        self._veth(self.b, "core", "10.4.0.1/24", self.i, "ib", "10.4.0.2/24")
        for t in TARGETS + [SERVER]:
            self._ns(self.i, "ip", "addr", "add", t + "/32", "dev", "lo")
        self._ns(self.i, "ip", "route", "add", "10.1.0.0/24", "via", "10.3.0.1")
        self._ns(self.i, "ip", "route", "add", "10.2.0.0/24", "via", "10.4.0.1")
        self._ns(self.a, "ip", "route", "add", "10.9.0.0/24", "via", "10.3.0.2")
        self._ns(self.b, "ip", "route", "add", "10.9.0.0/24", "via", "10.4.0.2")
        for name, (_, gw, metric) in LINKS.items():
            self._ns(self.r, "ip", "route", "add", "default", "via", gw, "dev", name, "metric", str(metric))
        self._shims()
        self.ctl_path = os.path.join(self.tmp, "impair.json")
        self._write_ctl()
        self.responder = subprocess.Popen(
            ["ip", "netns", "exec", self.i, sys.executable, os.path.join(HERE, "responder.py"),
             self.ctl_path, "ia=wan", "ib=wwan"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.responder.stdout.readline()
        if line.strip() != "ready":
            raise NetBedError("ICMP responder failed: " + self.responder.stderr.read()[-400:])

    def _veth(self, ns1, d1, a1, ns2, d2, a2):
        _sh(["ip", "-n", ns1, "link", "add", d1, "type", "veth", "peer", "name", d2, "netns", ns2])
        for ns, d, a in ((ns1, d1, a1), (ns2, d2, a2)):
            self._ns(ns, "sysctl", "-qw", "net.ipv4.conf.%s.rp_filter=0" % d, check=False)
            self._ns(ns, "ip", "addr", "add", a, "dev", d)
            self._ns(ns, "ip", "link", "set", "dev", d, "up")

    def _shims(self):
        self.bin = os.path.join(self.tmp, "bin")
        os.mkdir(self.bin)
        self.action_log = os.path.join(self.tmp, "actions.log")
        open(self.action_log, "w").close()
        up, down = [], []
        for name, (_, gw, metric) in LINKS.items():
            up.append("  %s) ip link set dev %s up && ip route replace default via %s dev %s metric %d;;"
                      % (name, name, gw, name, metric))
            down.append("  %s) ip route del default dev %s 2>/dev/null; ip link set dev %s down;;" % (name, name, name))
        for fname, text in (("ifup", IFUP.format(log=self.action_log, cases_up="\n".join(up))),
                            ("ifdown", IFDOWN.format(log=self.action_log, cases_down="\n".join(down)))):
            p = os.path.join(self.bin, fname)
            with open(p, "w") as f:
                f.write(text)
            os.chmod(p, 0o755)

    def close(self):
        for p in self.procs + ([self.responder] if self.responder else []):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL) if getattr(p, "_own_pgrp", False) else p.kill()
                except OSError:
                    pass
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    pass
        self.procs = []
        self.responder = None
        for ns in (self.r, self.a, self.b, self.i):
            r = _sh(["ip", "netns", "pids", ns], check=False)
            for pid in r.stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
            _sh(["ip", "netns", "del", ns], check=False)
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    # --- control -------------------------------------------------------------------------------
    def _write_ctl(self):
        tmp = self.ctl_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.ctl, f)
        os.replace(tmp, self.ctl_path)

    def impair(self, path, blackhole=False, loss=0.0, delay_ms=0, jitter_ms=0):
        """Set the impairment of one ISP path ("wan" or "wwan"); no arguments = clean."""
        self.ctl[path] = {"blackhole": blackhole, "loss": loss, "delay_ms": delay_ms, "jitter_ms": jitter_ms}
        self._write_ctl()

    def dead_targets(self, addrs):
        self.ctl["dead"] = list(addrs)
        self._write_ctl()

    def broker(self, port=1883):
        """A real mosquitto on SERVER:port in the internet namespace (started; stop()/start() for an
        outage). Killed with the namespace on close()."""
        from host_tools.localbroker import Broker
        return Broker(port=port, host=SERVER, netns=self.i).start()

    def actions(self):
        with open(self.action_log) as f:
            return [l.strip() for l in f if l.strip()]

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
        return subprocess.run(["ip", "netns", "exec", self.r] + list(cmd), env=self.router_env(),
                              capture_output=True, text=True, timeout=timeout)

    def write_file(self, name, text):
        p = os.path.join(self.tmp, name)
        with open(p, "w") as f:
            f.write(text)
        return p
