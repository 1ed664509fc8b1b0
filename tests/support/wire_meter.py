"""What the router's own checks cost on the wire, counted by nftables in the bed's router
namespace: WireMeter(bed) adds `table inet wiremeter` with counters on the output and input hooks
(the router's own packets only: the LAN's traffic is forwarded and never passes them) per uplink
device and check type:

    icmp4  echo requests out, echo replies in          icmp6  the same over ICMPv6
    dns    UDP to / from port 53 of the given resolvers (the DNS check's; not the router's
           dnsmasq, which asks the ISPs' resolvers)
    http   TCP to / from port 80 of the given servers (the HTTP check's target)

The counters count IP packets (IP header and everything above, as the agent counts its own bytes).
meter.read() -> {dev: {kind: {"out", "in": bytes, "out_pkts", "in_pkts": packets, "syn": TCP
connections opened (http)}}};
meter.total(dev, kind) -> bytes both ways; meter.reset() starts them at 0 (read() counts from
the last reset).
"""
import json

from host_tools.netbed.plan import RESOLVER, RESOLVER6, SERVER, SERVER6

KINDS = ("icmp4", "icmp6", "dns", "http")
ZERO = {"out": 0, "in": 0, "out_pkts": 0, "in_pkts": 0, "syn": 0}


def _rules(dev, resolvers, servers):
    r4 = ", ".join(a for a in resolvers if ":" not in a)
    r6 = ", ".join(a for a in resolvers if ":" in a)
    s4 = ", ".join(a for a in servers if ":" not in a)
    s6 = ", ".join(a for a in servers if ":" in a)
    out = [
        ('oifname "%s" icmp type echo-request' % dev, "icmp4", "out"),
        ('iifname "%s" icmp type echo-reply' % dev, "icmp4", "in"),
        ('oifname "%s" icmpv6 type echo-request' % dev, "icmp6", "out"),
        ('iifname "%s" icmpv6 type echo-reply' % dev, "icmp6", "in"),
    ]
    for fam, dst, src in (("ip", r4, None), ("ip6", r6, None)):
        if dst:
            out.append(('oifname "%s" %s daddr { %s } udp dport 53' % (dev, fam, dst), "dns", "out"))
            out.append(('iifname "%s" %s saddr { %s } udp sport 53' % (dev, fam, dst), "dns", "in"))
    for fam, dst in (("ip", s4), ("ip6", s6)):
        if dst:
            out.append(('oifname "%s" %s daddr { %s } tcp dport 80' % (dev, fam, dst), "http", "out"))
            out.append(('iifname "%s" %s saddr { %s } tcp sport 80' % (dev, fam, dst), "http", "in"))
            out.append(('oifname "%s" %s daddr { %s } tcp dport 80 tcp flags & (syn | ack) == syn' % (dev, fam, dst),
                        "http", "syn"))
    return out


class WireMeter:
    def __init__(self, bed, devices=("wan", "wwan"), resolvers=(RESOLVER, RESOLVER6), servers=(SERVER, SERVER6)):
        self.bed = bed
        out, inp = [], []
        for dev in devices:
            for match, kind, way in _rules(dev, resolvers, servers):
                line = '\t\t%s counter comment "%s %s %s"' % (match, dev, kind, way)
                (inp if way == "in" else out).append(line)
        text = ("table inet wiremeter {\n\tchain out {\n\t\ttype filter hook output priority -300; policy accept;\n"
                + "\n".join(out) + "\n\t}\n\tchain in {\n\t\ttype filter hook input priority -300; policy accept;\n"
                + "\n".join(inp) + "\n\t}\n}\n")
        self.devices = tuple(devices)
        self.base = None
        bed.run_router(["nft", "delete", "table", "inet", "wiremeter"])
        path = bed.write_file("wiremeter.nft", text)
        r = bed.run_router(["nft", "-f", path])
        assert r.returncode == 0, r.stderr

    def read(self):
        now = self._raw()
        if self.base is None:
            return now
        return {d: {k: {w: now[d][k][w] - self.base[d][k][w] for w in now[d][k]} for k in KINDS} for d in self.devices}

    def _raw(self):
        r = self.bed.run_router(["nft", "-j", "list", "table", "inet", "wiremeter"])
        assert r.returncode == 0, r.stderr
        got = {d: {k: dict(ZERO) for k in KINDS} for d in self.devices}
        for item in json.loads(r.stdout)["nftables"]:
            rule = item.get("rule")
            if not rule or not rule.get("comment"):
                continue
            dev, kind, way = rule["comment"].split()
            c = next(e["counter"] for e in rule["expr"] if "counter" in e)
            if way == "syn":  # connections opened (counted in "out" too)
                got[dev][kind]["syn"] += c["packets"]
                continue
            got[dev][kind][way] += c["bytes"]
            got[dev][kind][way + "_pkts"] += c["packets"]
        return got

    def total(self, dev, kind, doc=None):
        c = (doc or self.read())[dev][kind]
        return c["out"] + c["in"]

    def reset(self):
        self.base = self._raw()  # `nft reset counters` leaves anonymous rule counters alone
