"""Accuracy on a real kernel device: a veth pair between two network namespaces, the near end named
wwan0. The tracker runs under the real MicroPython inside the router namespace and reads
/sys/class/net/wwan0/statistics; known UDP traffic goes both ways; the ledger must match the bytes
the far ends received (payload + per-packet UDP/IPv4/Ethernet headers) within 1 %."""
import json
import os
import subprocess
import sys
import time

import pytest

from tests.support import paths

pytestmark = pytest.mark.netns

HDR = 14 + 20 + 8  # Ethernet + IPv4 + UDP: what the device counts per datagram beyond the payload


def sh(*args):
    r = subprocess.run(list(args), capture_output=True, text=True)
    assert r.returncode == 0, "%s: %s" % (" ".join(args), r.stderr)
    return r.stdout


@pytest.fixture
def veth():
    if os.geteuid() != 0:
        pytest.fail("the accuracy test needs root (ip netns)")
    tag = "%d" % (os.getpid() % 100000)
    ra, rb = "wwu-r" + tag, "wwu-p" + tag
    sh("ip", "netns", "add", ra)
    try:
        sh("ip", "netns", "add", rb)
        for ns in (ra, rb):
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", "wwan0", "netns", ra, "type", "veth", "peer", "name", "peer0", "netns", rb)
        sh("ip", "-n", ra, "addr", "add", "10.251.0.1/30", "dev", "wwan0")
        sh("ip", "-n", rb, "addr", "add", "10.251.0.2/30", "dev", "peer0")
        sh("ip", "-n", ra, "link", "set", "wwan0", "up")
        sh("ip", "-n", rb, "link", "set", "peer0", "up")
        yield ra, rb
    finally:
        subprocess.run(["ip", "netns", "del", ra], capture_output=True)
        subprocess.run(["ip", "netns", "del", rb], capture_output=True)


def transfer(src_ns, dst_ns, dst_ip, port, count, size):
    tool = os.path.join(paths.TESTS, "usage", "udp_tool.py")
    rx = subprocess.Popen(["ip", "netns", "exec", dst_ns, sys.executable, tool, "recv", dst_ip, str(port), str(count)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert rx.stdout.readline().strip() == "ready"
    sh("ip", "netns", "exec", src_ns, sys.executable, tool, "send", dst_ip, str(port), str(count), str(size))
    out, err = rx.communicate(timeout=30)
    got = json.loads(out)
    assert got["n"] == count, "datagrams lost on the veth: %r" % got
    return got["payload"] + got["n"] * HDR


def test_kernel_counters_match_traffic_within_one_percent(tmp_path, veth):
    ra, rb = veth
    cfg = {"usage": {"sample_s": 0.05, "ram_save_s": 0.5, "source": "kernel"},
           "run_dir": str(tmp_path / "run"), "state_dir": str(tmp_path / "flash"), "device": "wwan0",
           "iccid": "8944509999999999999", "stop_file": str(tmp_path / "stop")}
    cfg_path = tmp_path / "cfg.json"
    cfg_path.write_text(json.dumps(cfg))
    env = dict(os.environ, MICROPYPATH=paths.FIRMWARE + ":.frozen")
    drv = subprocess.Popen(["ip", "netns", "exec", ra, paths.micropython(),
                            os.path.join(paths.TESTS, "usage", "mpy_driver.py"), str(cfg_path), "until"],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        state = tmp_path / "flash" / "usage.json"
        for _ in range(200):  # the first sample (the baseline) is saved at once
            if state.exists():
                break
            time.sleep(0.02)
        assert state.exists(), drv.stderr.read() if drv.poll() is not None else "driver did not start"
        sent_tx = transfer(ra, rb, "10.251.0.2", 5301, 2500, 1200)  # 3 MB router -> far end
        sent_rx = transfer(rb, ra, "10.251.0.1", 5302, 1500, 1000)  # 1.5 MB far end -> router
        time.sleep(0.2)
        (tmp_path / "stop").write_text("")
        out, err = drv.communicate(timeout=30)
    finally:
        if drv.poll() is None:
            drv.kill()
    assert drv.returncode == 0, err
    st = json.loads([l for l in out.splitlines() if l.startswith("STATUS ")][0][7:])
    assert st["iccid"] == "8944509999999999999"
    assert abs(st["tx_bytes"] - sent_tx) <= 0.01 * sent_tx, (st, sent_tx)
    assert abs(st["rx_bytes"] - sent_rx) <= 0.01 * sent_rx, (st, sent_rx)
    assert st["total_bytes"] == st["rx_bytes"] + st["tx_bytes"]
    print("ledger", st["tx_bytes"], st["rx_bytes"], "expected", sent_tx, sent_rx)
