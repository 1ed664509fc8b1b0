"""The core and the prober on both runtimes: real MicroPython (64K heap, .mpy bundle) runs the same
state-machine scenario as CPython; the prober works under CPython too (add_reader path); without
root the monitor reports a clear error instead of crashing."""
import json
import os
import shutil
import subprocess
import sys

from tests.conftest import run_micropython
from tests.support import paths
from host_tools.netbed import NetBed

SCENARIO = r"""
import sys
from wanwatch.failover.linkstate import LinkState
from wanwatch.compat import dumps
ls = LinkState("wan", 3)
t = 0.0
out = []
seq = [[5.0, 6.0, 7.0]] * 5 + [[None, None, None]] * 6 + [[5.0, None, 7.0]] * 4
for r in seq:
    ch = ls.on_round(t, r)
    if ch:
        out.append([round(t, 1), ch])
    t += max(ls.round_timeout() if None in r else 0.01, ls.next_delay())
print(dumps({"changes": out, "status": ls.status(), "quorum": ls.quorum()}))
"""


def test_state_machine_same_on_micropython_and_cpython(mpy_bundle, tmp_path):
    script = tmp_path / "scn.py"
    script.write_text(SCENARIO)
    r = run_micropython([str(script)], micropypath=mpy_bundle, heapsize="64K")
    assert r.returncode == 0, r.stderr + r.stdout
    c = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=paths.FIRMWARE))
    assert c.returncode == 0, c.stderr
    assert json.loads(r.stdout) == json.loads(c.stdout)
    assert [s for _, s in json.loads(r.stdout)["changes"]] == ["up", "down", "up"]


NOROOT = r"""
from wanwatch.clock import Clock
from wanwatch.compat import asyncio, dumps
from wanwatch.events import EventBus
from wanwatch.failover.monitor import LinkMonitor
c = Clock()
cfg = {"links": [{"name": "wan", "device": "wan", "role": "primary", "targets": ["127.0.0.1"]}]}
m = LinkMonitor(cfg, c, EventBus(c))
asyncio.run(m.probe_once())
print(dumps(m.status()))
"""


# uid/gid 65534 (nobody) with every capability gone but CAP_DAC_READ_SEARCH, which lets it read the
# checkout, its .venv and the Python install behind it wherever they live (a clone under /root or a
# `mktemp -d` is 0700; so is pyenv's /root/.pyenv): only reading, never writing, and no CAP_NET_RAW.
# (setpriv itself execs with root's capabilities, so without this only the first file was reachable.)
NOBODY_READING = ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all,+dac_read_search",
                  "--ambient-caps=-all,+dac_read_search", "--bounding-set=-all,+dac_read_search"]


def test_probe_once_without_root_reports_clear_error(mpy_bundle, tmp_path):
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv not found: apt-get install -y util-linux"
    r = subprocess.run([setpriv] + NOBODY_READING + [paths.micropython(), "-c", NOROOT],
                       capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, MICROPYPATH=mpy_bundle + ":.frozen"))
    assert r.returncode == 0, r.stderr + r.stdout
    st = json.loads(r.stdout)
    assert st["links"]["wan"]["state"] == "unknown"
    assert st["note"].startswith("raw ICMP sockets need root (CAP_NET_RAW)")


CPY_PROBE = r"""
import asyncio, json, sys
sys.path.insert(0, sys.argv[1])
from wanwatch.failover.probe import Prober
async def main():
    p = Prober("wan", 0x4242)
    r1 = await p.round(["10.9.0.1", "10.9.0.2", "10.9.0.3"], 1.0)
    p2 = Prober("wwan", 0x4243)
    r2 = await p2.round(["10.9.0.1", "10.9.0.9"], 0.3)
    print(json.dumps({"wan": r1, "wwan": r2, "sent": p.sent_bytes, "recv": p.recv_bytes}))
asyncio.run(main())
"""


def test_prober_under_cpython_in_router_namespace(tmp_path):
    with NetBed() as bed:
        bed.impair("wwan", delay_ms=20)
        script = bed.write_file("cpy_probe.py", CPY_PROBE)
        r = bed.run_router([sys.executable, script, paths.FIRMWARE])
        assert r.returncode == 0, r.stderr
        d = json.loads(r.stdout)
        assert all(x is not None and 0 < x < 500 for x in d["wan"])
        assert d["wwan"][0] >= 20 and d["wwan"][1] is None  # 10.9.0.9 does not exist
        assert d["sent"] == 3 * 28 and d["recv"] == 3 * 28
