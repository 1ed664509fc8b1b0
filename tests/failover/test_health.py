"""Health beyond ping on the bed, the whole agent under the real MicroPython with the LAN client
behind the router: a backup whose carrier serves a captive portal while ICMP answers, a primary
shaped to 256 kbit/s under LAN demand, a resolver failing while ICMP works."""
import time

import pytest

from host_tools.netbed import SERVER

from tests.support.health_site import DNS, HTTP, links, start
from tests.support.netbed_tools import kind

pytestmark = pytest.mark.netns

HOLD = 5


def test_a_backup_behind_a_captive_portal_is_never_failed_over_to(bed, tmp_path):
    a = start(bed, tmp_path, links=links(backup={"checks": [HTTP]}), failover={"hold_down_s": HOLD})
    assert a.wait_until(lambda: a.seen(kind("link_state", link="wwan", state="standby")), 20), a.lines
    bed.http_mode("wwan", "portal302")  # the SIM's credit is gone: every web request goes to top-up
    t, ev = a.wait_event(kind("captive", link="wwan"), 20)
    assert "redirected (302)" in ev["reason"] and "credit or allowance" in ev["message"]
    assert a.wait_event(kind("link_state", link="wwan", state="captive"), 5) or \
        a.seen(kind("link_state", link="wwan", state="captive"))
    bed.kill_upstream("wan")  # now the primary dies: nowhere to go
    assert a.wait_event(kind("all_links_down"), 15)
    time.sleep(3)
    assert a.of_type("failover") == []
    assert "dev wan" in bed.run_router(["ip", "-4", "route", "show", "table", "30100"]).stdout
    bed.http_mode("wwan", "normal")  # topped up: the backup is usable again and takes over
    assert a.wait_event(kind("captive_cleared", link="wwan"), 20)
    t_fo, fo = a.wait_event(kind("failover"), 20)
    assert fo["to"] == "wwan"


def test_a_page_without_the_expected_text_is_a_portal_too(bed, tmp_path):
    a = start(bed, tmp_path, links=links(backup={"checks": [HTTP]}))
    assert a.wait_until(lambda: a.seen(kind("link_state", link="wwan", state="standby")), 20), a.lines
    bed.http_mode("wwan", "portal200")
    t, ev = a.wait_event(kind("captive", link="wwan"), 20)
    assert "without 'wanwatch-ok'" in ev["reason"]


def test_a_shaped_primary_under_demand_is_degraded_and_left_then_taken_back(bed, tmp_path):
    bw = {"min_mbps": 1, "sustain_s": 6, "test_url": "http://%s/blob?bytes=262144" % SERVER, "test_interval_s": 15}
    a = start(bed, tmp_path, links=links(primary={"bandwidth": bw}), failover={"hold_down_s": HOLD})
    c = bed.lan_client()
    dl = bed.lan_download(rate_kbit=20000)  # the customers want far more than the line will give
    time.sleep(4)
    t0 = time.monotonic()
    bed.shape("wan", down_kbit=256)  # a DSL line resynced at 256 kbit/s: every ping still answers
    t_low, ev = a.wait_event(kind("bandwidth", link="wan", verdict="low"), 40)
    assert ev["down_kbps"] < 400, ev
    t_fo, fo = a.wait_event(kind("failover"), 15)
    assert (fo["from"], fo["reason"]) == ("wan", "degraded")
    print("shaped primary: bandwidth verdict %.1f s after shaping, failover %.1f s" % (t_low - t0, t_fo - t0))
    time.sleep(3)
    assert dl.rate_kbit(time.monotonic() - 2, time.monotonic()) > 2000  # the LAN's download moved
    # still shaped: the active test (the primary no longer carries the demand) keeps it low
    time.sleep(HOLD + 8)
    assert a.of_type("failback") == []
    bed.unshape("wan")
    t_ok, _ = a.wait_event(kind("bandwidth", link="wan", verdict="ok"), 40)
    t_fb, fb = a.wait_event(kind("failback"), HOLD + 15)
    assert fb["to"] == "wan"
    dl.stop()
    c.stop()


def test_dns_failing_while_icmp_works_takes_the_link_out(bed, tmp_path):
    a = start(bed, tmp_path, links=links(primary={"checks": [DNS]}), failover={"hold_down_s": HOLD})
    assert a.wait_until(lambda: a.seen(kind("link_state", link="wwan", state="standby")), 20)
    time.sleep(3)
    bed.dns_mode("wan", "drop", intercept=True)  # the ISP swallows every DNS query; ICMP is untouched
    t, ev = a.wait_event(kind("link_state", link="wan", state="down"), 20)
    assert ev["families"]["ipv4"] == "up" and ev["families"]["dns"] == "down", ev
    t_fo, fo = a.wait_event(kind("failover"), 10)
    assert fo["to"] == "wwan"
    bed.dns_mode("wan", "ok")
    assert a.wait_event(kind("failback"), 30)
