"""The bed's addressing plan (fixed by the issue 13 design notes; shared by the topology, the shims
and the LAN client).

    L lan0 192.168.1.10 fd00:1::10 -- lan 192.168.1.1 fd00:1::1  R (router: NAT, dnsmasq)
    R wan  10.1.0.2 2001:db8:a::2 -- cust 10.1.0.1 2001:db8:a::1  A (ISP A, DNS 10.1.53.53 2001:db8:a::53)
    R wwan 10.2.0.2 2001:db8:b::2 -- cust 10.2.0.1 2001:db8:b::1  B (ISP B, DNS 10.2.53.53 2001:db8:b::53)
    A core 10.3.0.1 2001:db8:3::1 -- ia 10.3.0.2 2001:db8:3::2     I (internet)
    B core 10.4.0.1 2001:db8:4::1 -- ib 10.4.0.2 2001:db8:4::2     I
    I lo: targets 10.9.0.1-3 2001:db8:9::1-3, SERVER 10.9.0.10 2001:db8:9::10,
          VOIP 10.9.0.20 2001:db8:9::20, RESOLVER 10.9.0.53 2001:db8:9::53

Services in I: SERVER: UDP echo 7000, TCP accept 7001, HTTP 80 (/check, /generate_204,
/blob?bytes=N), bulk TCP 7002, mosquitto (bed.broker()); VOIP: UDP echo 7000, TCP accept 7001;
RESOLVER: a public resolver anyone may use (*.test.example -> SERVER / SERVER6, TTL 0).
In each ISP: the portal (PORTAL_PORT) and the faulty resolver (DNS_FAULT_PORT) the carrier
redirects its customer's traffic to (bed.http_mode, bed.dns_mode).
"""

TARGETS = ["10.9.0.1", "10.9.0.2", "10.9.0.3"]
TARGETS6 = ["2001:db8:9::1", "2001:db8:9::2", "2001:db8:9::3"]
SERVER = "10.9.0.10"        # mosquitto (bed.broker()), UDP echo, TCP accept; no ICMP target
SERVER6 = "2001:db8:9::10"
VOIP = "10.9.0.20"          # the "VoIP provider": UDP echo, TCP accept (an address to allowlist)
VOIP6 = "2001:db8:9::20"
RESOLVER = "10.9.0.53"      # a public resolver in the internet, answering anyone
RESOLVER6 = "2001:db8:9::53"
IPV6_OF = {SERVER: SERVER6, VOIP: VOIP6, RESOLVER: RESOLVER6}  # a host's IPv6 address by its IPv4 one
UDP_ECHO_PORT = 7000
TCP_PORT = 7001
HTTP_PORT = 80
BULK_PORT = 7002            # bulk TCP (bed.lan_download)
CHECK_PATH = "/check"       # GET -> 200, body CHECK_BODY + "\n" (text/plain)
CHECK_BODY = "wanwatch-ok"
CHECK_URL = "http://%s%s" % (SERVER, CHECK_PATH)
CHECK_URL6 = "http://[%s]%s" % (SERVER6, CHECK_PATH)
CHECK_NAME = "check.test.example"  # every resolver of the bed answers it (SERVER / SERVER6)
PORTAL_PORT = 8080          # in each ISP namespace: the carrier's portal / slow proxy
DNS_FAULT_PORT = 5353       # in each ISP namespace: the carrier's broken resolver (servfail, wrong)
LAN_CLIENT = ("192.168.1.10", "fd00:1::10")
LAN_ROUTER = ("192.168.1.1", "fd00:1::1")
LAN_NET = ("192.168.1.0/24", "fd00:1::/64")
TEST_DOMAIN = "test.example"  # every ISP resolver answers *.test.example with SERVER / SERVER6, TTL 0

# per uplink: router side, ISP side, the ISP's resolver, the ISP's link to the internet namespace,
# the carrier's portal URL (on its gateway; a "wrong" DNS answer of that ISP is the gateway too)
UPLINKS = {
    "wan": {"isp": "a", "addr": "10.1.0.2", "gw": "10.1.0.1", "net": "10.1.0.0/24",
            "addr6": "2001:db8:a::2", "gw6": "2001:db8:a::1", "net6": "2001:db8:a::/64", "metric": 10,
            "dns": "10.1.53.53", "dns6": "2001:db8:a::53",
            "core": ("10.3.0.1", "10.3.0.2"), "core6": ("2001:db8:3::1", "2001:db8:3::2"), "edge": "ia",
            "portal": "http://10.1.0.1/portal", "portal6": "http://[2001:db8:a::1]/portal"},
    "wwan": {"isp": "b", "addr": "10.2.0.2", "gw": "10.2.0.1", "net": "10.2.0.0/24",
             "addr6": "2001:db8:b::2", "gw6": "2001:db8:b::1", "net6": "2001:db8:b::/64", "metric": 20,
             "dns": "10.2.53.53", "dns6": "2001:db8:b::53",
             "core": ("10.4.0.1", "10.4.0.2"), "core6": ("2001:db8:4::1", "2001:db8:4::2"), "edge": "ib",
             "portal": "http://10.2.0.1/portal", "portal6": "http://[2001:db8:b::1]/portal"},
}
LINKS = {n: (u["addr"], u["gw"], u["metric"]) for n, u in UPLINKS.items()}     # as before: addr, gw, metric
LINKS6 = {n: (u["addr6"], u["gw6"], u["metric"]) for n, u in UPLINKS.items()}

# netifd interfaces of the router: name -> (device = link name, family); wan6 is IPv6 of device wan
IFACES = {"wan": ("wan", 4), "wan6": ("wan", 6), "wwan": ("wwan", 4), "wwan6": ("wwan", 6)}


def iface_plan(iface):
    """-> dict(dev, fam, addr (with prefix length), gw, metric, dns) of a netifd interface."""
    dev, fam = IFACES[iface]
    u = UPLINKS[dev]
    if fam == 4:
        return {"dev": dev, "fam": 4, "addr": u["addr"] + "/24", "gw": u["gw"], "metric": u["metric"], "dns": u["dns"]}
    return {"dev": dev, "fam": 6, "addr": u["addr6"] + "/64", "gw": u["gw6"], "metric": u["metric"], "dns": u["dns6"]}
