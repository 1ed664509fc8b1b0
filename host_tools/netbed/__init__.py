"""The network test bed (root, ip netns): a LAN client behind a router with two uplinks to two ISPs
that lead to an "internet" namespace. Used by the failover tests, the benchmarks and `make demo`.

    topology.py  NetBed (namespaces, NAT, BCP38, resolvers, kill_upstream, shims, observation)
    plan.py      the addressing plan          shims.py   ifup/ifdown/uci/logger on the router's PATH
    responder.py ICMP/ICMPv6 echo responder   servers.py UDP echo + TCP accept in the internet
    lanclient.py the LAN traffic generator (bed.lan_client())
"""
from .plan import IFACES, LINKS, LINKS6, SERVER, SERVER6, TARGETS, TARGETS6
from .topology import NetBed, NetBedError, require_tools

__all__ = ["IFACES", "LINKS", "LINKS6", "SERVER", "SERVER6", "TARGETS", "TARGETS6", "NetBed", "NetBedError",
           "require_tools"]
