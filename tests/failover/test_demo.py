"""`make demo` tells the story: as root on the network bed the primary's upstream dies after about
20 s and the screen shows the failover and what the LAN client lost; the static loopback demo
(`--static`, what a non-root user gets) still shows the live table. Both stop by themselves."""
import subprocess
import sys

import pytest

from tests.support import paths

pytestmark = pytest.mark.netns


def demo(*args, timeout=120):
    from host_tools import build
    build.build(paths.BUILD_FIRMWARE, quiet=True)  # what `make demo` runs (make build first)
    return subprocess.run([sys.executable, "-m", "host_tools.demo"] + list(args), capture_output=True, text=True,
                          timeout=timeout, cwd=paths.ROOT)


def test_bed_demo_shows_the_failover_and_the_lan_clients_view():
    r = demo("--duration", "30")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    out = r.stdout
    assert "primary's upstream DEAD" in out
    assert "failover from=wan" in out and "failover cost the LAN: ping4" in out, out[-3000:]
    assert "wwan       up         <==" in out  # the table shows the backup carrying traffic


def test_static_demo_stops_by_itself_with_the_table():
    r = demo("--static", "--duration", "12")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "Link       State" in r.stdout and "Modem   quectel" in r.stdout
