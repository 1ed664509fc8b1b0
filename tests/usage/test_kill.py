"""SIGKILL the tracker under the real MicroPython (64 KiB heap, .mpy bundle) at random moments, over
100 times, while a fake kernel counter grows fast: after every kill every state file parses and the
ledger total never goes backwards; at the end the ledger equals the counter growth exactly and no
threshold event was ever announced twice."""
import json
import os
import random
import signal
import subprocess
import threading
import time

import pytest

from tests.support import paths
from tests.usage.helpers import read_state
from wanwatch.usage import tracker as U

KILLS = 110


MODULES = ("__init__", "compat", "log", "store", "events", "clock", "usage/__init__", "usage/cycle", "usage/counters",
           "usage/tracker", "usage/schema")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """A private .mpy bundle of the modules the driver imports, compiled with mpy-cross 1.23 (the
    shared build/test-bundle may be rebuilt by a concurrent session, and unrelated modules that are
    work in progress must not break this test)."""
    out = tmp_path_factory.mktemp("bundle")
    os.makedirs(str(out / "wanwatch" / "usage"))
    for m in MODULES:
        subprocess.run([paths.mpy_cross(), "-o", str(out / "wanwatch" / (m + ".mpy")),
                        os.path.join(paths.FIRMWARE, "wanwatch", m + ".py")], check=True)
    return str(out)


class FakeCounter(threading.Thread):
    """Grows /sys-like rx/tx files (atomic renames, as the kernel never shows a torn value)."""

    def __init__(self, root):
        super().__init__(daemon=True)
        self.dir = os.path.join(root, "wwan0")
        os.makedirs(os.path.join(self.dir, "statistics"))
        with open(os.path.join(self.dir, "ifindex"), "w") as f:
            f.write("7\n")
        self.rx, self.tx = 5_000_000, 700_000
        self.stop = threading.Event()
        self.write()

    def write(self):
        for name, v in (("rx_bytes", self.rx), ("tx_bytes", self.tx)):
            p = os.path.join(self.dir, "statistics", name)
            with open(p + ".w", "w") as f:
                f.write("%d\n" % v)
            os.replace(p + ".w", p)

    def run(self):
        rnd = random.Random(7)
        while not self.stop.is_set():
            self.rx += rnd.randrange(0, 40_000)  # ~10 MB/s
            self.tx += rnd.randrange(0, 4_000)
            self.write()
            time.sleep(0.002)


def start(cfg_path, bundle, mode):
    env = dict(os.environ, MICROPYPATH=bundle + ":.frozen")
    return subprocess.Popen([paths.micropython(), "-X", "heapsize=128K", os.path.join(paths.TESTS, "usage", "mpy_driver.py"),
                             cfg_path, mode], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkill_never_loses_or_corrupts(tmp_path, bundle):
    sysroot = str(tmp_path / "sys")
    ctr = FakeCounter(sysroot)
    cfg = {"usage": {"cap_mb": 40, "sample_s": 0.01, "ram_save_s": 0.02, "flash_save_s": 0.15,
                     "sys_root": sysroot},
           "run_dir": str(tmp_path / "run"), "state_dir": str(tmp_path / "flash"), "device": "wwan0",
           "iccid": "8944501234567890123", "stop_file": str(tmp_path / "stop")}
    cfg_path = str(tmp_path / "cfg.json")
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    ram_file = os.path.join(cfg["run_dir"], "usage.json")
    flash_file = os.path.join(cfg["state_dir"], "usage.json")
    base_rx, base_tx = ctr.rx, ctr.tx
    p = start(cfg_path, bundle, "once")  # first start: the baseline
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, (out, err)
    ctr.start()
    rnd = random.Random(1234)
    events = []
    last_total = last_flash = 0
    try:
        for i in range(KILLS):
            p = start(cfg_path, bundle, "run")
            time.sleep(rnd.uniform(0.01, 0.25))
            p.send_signal(signal.SIGKILL)
            out, err = p.communicate(timeout=30)
            assert p.returncode == -signal.SIGKILL, (p.returncode, out, err)  # tracebacks go to stdout
            assert "Traceback" not in out + err and "Error" not in out + err, (out, err)
            events += [json.loads(l[3:]) for l in out.splitlines() if l.startswith("EV ")]
            ram, flash = read_state(ram_file), read_state(flash_file)
            assert flash is not None
            total = U.total_of([ram, flash])
            assert total >= last_total, "ledger went backwards after kill %d" % i
            ftotal = U.total_of([flash])
            assert ftotal >= last_flash, "flash ledger went backwards after kill %d" % i
            last_total, last_flash = total, ftotal
    finally:
        ctr.stop.set()
        ctr.join()
        if p.poll() is None:
            p.kill()
    p = start(cfg_path, bundle, "once")
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, (out, err)
    st = json.loads([l for l in out.splitlines() if l.startswith("STATUS ")][0][7:])
    # kills lose nothing: every byte of counter growth is in the ledger, exactly once
    assert st["rx_bytes"] == ctr.rx - base_rx and st["tx_bytes"] == ctr.tx - base_tx
    assert st["total_bytes"] > 40_000_000  # the cap was passed during the kills
    pcts = [e["pct"] for e in events if e["type"] == "usage_threshold"]
    pcts += [json.loads(l[3:])["pct"] for l in out.splitlines() if l.startswith("EV ")]
    assert len(pcts) == len(set(pcts)), "a threshold was announced twice: %r" % pcts
    assert sorted(read_state(flash_file)["ledgers"][0]["crossed"]) == [50, 80, 95, 100]
    assert not [n for n in os.listdir(cfg["state_dir"]) if n not in ("usage.json", "usage.json.tmp")]
