"""Hotplug hook -> agent: the shipped hook script writes validated records; the watcher turns them
into `iface` events and hands them to the link monitor."""
import json
import os
import subprocess

from host_tools.netbed import shims
from tests.support import paths
from tests.support.fakeclock import FakeClock
from wanwatch.events import EventBus
from wanwatch.failover.hotplug import HotplugWatcher

HOOK = os.path.join(paths.ROOT, "openwrt/wanwatch/files/etc/hotplug.d/iface/30-wanwatch")


def run_hook(run_dir, action, iface, device=""):
    """The shipped hook as it is, with a `uci` on PATH that names run_dir as wanwatch.main.run_dir
    (the bed's shim) and logger silenced."""
    bin_dir = os.path.join(run_dir, "bin")
    shims.write_uci(bin_dir, run_dir, os.path.join(bin_dir, "calls.log"))
    script = open(HOOK).read().replace("logger ", ": ")
    env = dict(os.environ, ACTION=action, INTERFACE=iface, DEVICE=device, PATH=bin_dir + ":" + os.environ["PATH"])
    subprocess.run(["sh", "-c", script], env=env, check=True)


def test_hook_reads_run_dir_from_uci_and_falls_back(tmp_path):
    run_hook(str(tmp_path), "ifup", "wan", "eth1")
    assert open(tmp_path / "bin" / "calls.log").read() == "uci -q get wanwatch.main.run_dir\n"
    assert '"interface":"wan"' in (tmp_path / "iface.events").read_text()
    # no run_dir from uci (no uci at all): the default /var/run/wanwatch, pointed here for the test
    fallback = tmp_path / "fallback"
    fallback.mkdir()
    script = open(HOOK).read().replace("logger ", ": ").replace("dir=/var/run/wanwatch", "dir=%s" % fallback)
    assert "dir=%s" % fallback in script
    env = dict(os.environ, ACTION="ifdown", INTERFACE="wwan", DEVICE="wwan0", PATH="/usr/bin:/bin")
    subprocess.run(["sh", "-c", script], env=env, check=True)
    assert '"interface":"wwan"' in (fallback / "iface.events").read_text()


def test_hook_and_watcher(tmp_path):
    run = str(tmp_path)
    clock = FakeClock()
    ev = EventBus(clock)
    seen = []
    w = HotplugWatcher(run, clock, ev, on_iface=seen.append)
    run_hook(run, "ifdown", "wan", "pppoe-wan")
    run_hook(run, "ifup", "wwan", "wwan0")
    run_hook(run, "ifup", "wan;reboot", "x")       # invalid interface name: the hook drops it
    run_hook(run, "frobnicate", "wan", "x")        # unknown action: dropped
    with open(os.path.join(run, "iface.events"), "a") as f:
        f.write('{"action":"ifup","interface":"$(reboot)","device":"x"}\nnot json\n')  # forged lines
    got = w.poll()
    assert [(r["action"], r["interface"], r["device"]) for r in got] == [("ifdown", "wan", "pppoe-wan"), ("ifup", "wwan", "wwan0")]
    assert seen == got
    assert [e["type"] for e in ev.recent] == ["iface", "iface"]
    assert w.poll() == []                          # consumed once
    open(os.path.join(run, "iface.events"), "w").close()  # the hook truncates a big file
    run_hook(run, "ifup", "wan", "pppoe-wan")
    assert [r["interface"] for r in w.poll()] == ["wan"]


def test_partial_line_waits(tmp_path):
    clock = FakeClock()
    w = HotplugWatcher(str(tmp_path), clock, EventBus(clock))
    p = tmp_path / "iface.events"
    p.write_text('{"action":"ifup","interface":"wan","dev')
    assert w.poll() == []
    with open(p, "a") as f:
        f.write('ice":"eth0"}\n')
    assert w.poll()[0]["device"] == "eth0"
