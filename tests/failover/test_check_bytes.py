"""What the agent counts as its own bytes per check type (links.<name>.<family>.bytes in the status
file: what a metered SIM's usage is charged with) against what nftables counts on the wire in the
router namespace, the whole agent under the real MicroPython on the bed: ICMP (both families) and
DNS are counted exactly, HTTP (TCP estimated per segment) within 8 %. Both links: wan carrying the
traffic, wwan metered in standby (sparse checks, here with short intervals)."""
import time

import pytest

from host_tools.netbed import TARGETS, TARGETS6

from tests.support.health_site import DNS, HTTP, links, start, status_and_wire
from tests.support.netbed_tools import kind
from tests.support.wire_meter import WireMeter

pytestmark = pytest.mark.netns

WINDOW_S = 40
# a probe round may be under way when the status is written (the wire has seen its request, the
# agent not yet its answer, or the other way round): at most one round per family may differ
ROUND_BYTES = {"icmp4": 3 * 56, "icmp6": 3 * 96, "dns": 160}


def test_own_bytes_per_check_type_match_the_wire(bed, tmp_path):
    meter = WireMeter(bed)  # before the agent: its every packet is counted
    both = list(TARGETS) + list(TARGETS6)
    site = links(primary={"targets": both, "interfaces": ["wan", "wan6"], "checks": [DNS, HTTP]},
                 backup={"targets": both, "interfaces": ["wwan", "wwan6"],
                         "checks": [dict(DNS, standby_interval_s=3), HTTP]})
    a = start(bed, tmp_path, links=site, probe={"standby_interval_s": 2})
    assert a.wait_until(lambda: a.seen(kind("link_state", link="wwan", state="standby")), 20), a.lines
    time.sleep(WINDOW_S)
    got = status_and_wire(bed, meter)
    print(got)
    for link in ("wan", "wwan"):
        assert set(got[link]) == {"icmp4", "icmp6", "dns", "http"}, got
        for k, (own, wire) in got[link].items():
            assert wire > 0, (link, k, got)
            if k == "http":
                assert abs(own - wire) <= 0.08 * wire, (link, k, own, wire)
            else:
                assert abs(own - wire) <= ROUND_BYTES[k], (link, k, own, wire)
    assert a.of_type("link_state") and not a.seen(kind("link_state", state="down")), a.lines
