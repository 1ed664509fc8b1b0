"""The network test bed (root, ip netns): a LAN client behind a router with two uplinks to two ISPs
that lead to an "internet" namespace. Used by the failover tests, the benchmarks and `make demo`.

    topology.py  NetBed (namespaces, NAT, BCP38, resolvers, kill_upstream, portal / DNS faults,
                 shaping, shims, observation)
    plan.py      the addressing plan          shims.py   ifup/ifdown/uci/logger on the router's PATH
    responder.py ICMP/ICMPv6 echo responder   servers.py UDP echo + TCP accept in the internet
    web.py       HTTP server in the internet  carrier.py an ISP's portal and broken resolver
    bulk.py      bulk TCP server + the LAN's download (bed.lan_download())
    lanclient.py the LAN traffic generator (bed.lan_client())
    probe.py     one HTTP GET / DNS query from a namespace (bed.http_get(), bed.dns_query())
    child.py     helper processes answering JSON lines
"""
from .plan import (CHECK_BODY, CHECK_NAME, CHECK_URL, CHECK_URL6, IFACES, LINKS, LINKS6, RESOLVER, RESOLVER6, SERVER,
                   SERVER6, TARGETS, TARGETS6, VOIP, VOIP6)
from .topology import NetBed, NetBedError, require_tools

__all__ = ["CHECK_BODY", "CHECK_NAME", "CHECK_URL", "CHECK_URL6", "IFACES", "LINKS", "LINKS6", "RESOLVER", "RESOLVER6",
           "SERVER", "SERVER6", "TARGETS", "TARGETS6", "VOIP", "VOIP6", "NetBed", "NetBedError", "require_tools"]
