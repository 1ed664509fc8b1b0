"""The network test bed (root, ip netns): a router namespace between a LAN and two ISPs that lead to
an "internet" namespace. Used by the failover tests, the benchmarks and `make demo`.
See host_tools/netbed/topology.py."""
from .topology import LINKS, SERVER, TARGETS, NetBed, NetBedError, require_tools

__all__ = ["LINKS", "SERVER", "TARGETS", "NetBed", "NetBedError", "require_tools"]
