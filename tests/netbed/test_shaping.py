"""Bandwidth on the bed (bed.shape: TBF in the ISP; bed.lan_download: bulk TCP from the LAN): a
shaped line gives a LAN transfer its rate within 15 % in each direction while the LAN's pings wait
longer under load but within the shaper's bounded queue; the router's own download through the
shaped device is slowed the same way and the other line is not; unshaping restores the line.
Measured figures are printed (pytest -s)."""
import statistics
import time

import pytest

from host_tools.netbed import NetBed
from host_tools.netbed.plan import LINKS, LINKS6, SERVER, SERVER6
from tests.support.netbed_tools import wait_all_ok

pytestmark = pytest.mark.netns

WARMUP_S = 2.0   # slow start overshoots the small queue: measure after it settled
WINDOW_S = 6.0


@pytest.fixture(scope="module")
def bed():
    with NetBed() as b:
        yield b


@pytest.fixture
def pings(bed):
    c = bed.lan_client(kinds=("ping4",))
    wait_all_ok(c, c.kinds)
    yield c
    c.stop()
    for link in ("wan", "wwan"):
        bed.unshape(link)


def idle_rtts(c, s=1.5):
    t = time.monotonic()
    time.sleep(s + 1.0)  # + the client's answer timeout: every sample settled
    return c.rtts("ping4", t, t + s)


def loaded(bed, c, kbit, direction, server):
    """A bulk transfer through the shaped line: (goodput in the window, RTTs of the pings sent in it)."""
    d = bed.lan_download(server=server, direction=direction)
    try:
        d.wait_bytes(1, direction=direction)
        t0 = time.monotonic() + WARMUP_S
        time.sleep(WARMUP_S + WINDOW_S)
        rate = d.rate_kbit(t0, t0 + WINDOW_S, direction)
        assert d.stats()["connections"] == 1, d.stats()
    finally:
        d.stop()
    time.sleep(1.0)
    return rate, c.rtts("ping4", t0, t0 + WINDOW_S)


def report(what, kbit, rate, idle, load, shaper):
    print("%s shaped to %d kbit/s: goodput %.0f kbit/s (%.1f %%); ping RTT idle median %.1f ms, under load "
          "median %.1f / p90 %.1f / max %.1f ms (%d pings); queue %s ms, drops %d" % (
              what, kbit, rate, 100.0 * rate / kbit, statistics.median(idle), statistics.median(load),
              sorted(load)[int(len(load) * 0.9)], max(load), len(load), shaper["queue_ms"], shaper["drops"]))


@pytest.mark.parametrize("direction,kbit,server", [("down", 256, SERVER), ("up", 1000, SERVER6)])
def test_shaped_line_gives_the_rate_and_a_bounded_queue(bed, pings, direction, kbit, server):
    idle = idle_rtts(pings)
    bed.shape("wan", **{direction + "_kbit": kbit})
    shaper = bed.shaping("wan")[direction]
    assert shaper["rate_kbit"] == kbit and bed.shaping("wan")["up" if direction == "down" else "down"] is None
    rate, load = loaded(bed, pings, kbit, direction, server)
    shaper = bed.shaping("wan")[direction]
    report(direction, kbit, rate, idle, load, shaper)
    assert 0.85 * kbit <= rate <= 1.15 * kbit
    assert len(load) >= 0.8 * WINDOW_S / 0.05  # the pings get through, late
    assert statistics.median(load) >= statistics.median(idle) + 10.0  # they queue behind the transfer
    assert max(load) <= shaper["queue_ms"] + 100.0                    # but never longer than the queue holds
    assert shaper["sent_bytes"] >= rate * 1000 / 8 * WINDOW_S
    bed.unshape("wan")
    assert bed.shaping("wan") == {"down": None, "up": None}
    # unshaped: a transfer paced at 16x the shaped rate gets it, and the pings are fast again
    d = bed.lan_download(server=server, direction=direction, rate_kbit=16 * kbit)
    d.wait_bytes(1, direction=direction)
    t = time.monotonic()
    time.sleep(3.0)
    free = d.rate_kbit(t + 0.5, t + 2.5, direction)
    d.stop()
    time.sleep(1.0)
    after = pings.rtts("ping4", t + 0.5, t + 2.5)
    print("unshaped, paced at %d kbit/s: %.0f kbit/s; ping RTT median %.1f ms" % (16 * kbit, free, statistics.median(after)))
    assert free >= 0.85 * 16 * kbit
    assert statistics.median(after) < statistics.median(idle) + 5.0


def test_the_routers_own_download_through_a_shaped_device(bed, pings):
    bed.shape("wwan", down_kbit=1000)
    n = 125000  # 1 s at the rate
    slow = bed.http_get("http://%s/blob?bytes=%d" % (SERVER, n), dev="wwan")
    fast = bed.http_get("http://%s/blob?bytes=%d" % (SERVER, n), dev="wan")
    lan = pings.rtts("ping4", time.monotonic() - 3, time.monotonic() - 1)
    print("GET of %d bytes bound to wwan (shaped to 1000 kbit/s): %.2f s (%.0f kbit/s); wan: %.3f s" % (
        n, slow["elapsed_s"], n * 8 / 1000 / slow["elapsed_s"], fast["elapsed_s"]))
    assert slow["bytes"] == fast["bytes"] == n
    assert 0.9 <= slow["elapsed_s"] <= 1.5
    assert fast["elapsed_s"] < 0.3
    assert lan and statistics.median(lan) < 5  # the LAN's line (wan) is not the shaped one


def test_a_lan_transfer_follows_a_route_switch(bed):
    """What a failover does to the LAN's bulk TCP: the masquerade entry is re-bound to the new
    uplink's address, the server resets the flow, the downloader reconnects over the new line."""
    down = bed.lan_download(server=SERVER, rate_kbit=2000)
    up = bed.lan_download(server=SERVER6, rate_kbit=2000, direction="up")
    try:
        down.wait_bytes(1)
        up.wait_bytes(1, "up")
        time.sleep(1.0)
        ts = time.monotonic()
        for fam, table in (("-4", LINKS), ("-6", LINKS6)):
            r = bed.run_router(["ip", fam, "route", "replace", "default", "via", table["wwan"][1], "dev", "wwan",
                                "metric", "5"])
            assert r.returncode == 0, r.stderr
        time.sleep(3.5)
        rates = {"down": down.rate_kbit(ts + 1.5, ts + 3.5), "up": up.rate_kbit(ts + 1.5, ts + 3.5, "up")}
        stats = {"down": down.stats(), "up": up.stats()}
        print("after the switch:", rates, stats)
        assert all(st["connections"] == 2 for st in stats.values()), stats
        assert all(r >= 0.85 * 2000 for r in rates.values()), rates
        for fam, link in (("ipv4", LINKS["wwan"][0]), ("ipv6", LINKS6["wwan"][0])):
            out = bed.conntrack("-L", "-f", fam, "-p", "tcp", "--dport", "7002", "--state", "ESTABLISHED")
            assert "dst=%s " % link in out, out  # the new connection is NATed to wwan's address
    finally:
        down.stop()
        up.stop()
        for fam, table in (("-4", LINKS), ("-6", LINKS6)):
            bed.run_router(["ip", fam, "route", "del", "default", "via", table["wwan"][1], "dev", "wwan", "metric", "5"])
