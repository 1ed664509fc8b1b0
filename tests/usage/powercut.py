"""Power cuts on a real kernel device, shared by tests/usage/test_powercut.py and bench/bench_usage.py.

A veth pair between two network namespaces, the router end named wwan0; paced UDP both ways
(flow_tool.py, one per namespace, also reads wwan0's kernel counters). The usage tracker runs
under the real MicroPython inside the router namespace (mpy_driver.py, mode run). One cut: SIGKILL
the tracker at a seeded random instant, read the kernel's counters of the dying device, delete it,
wipe the RAM dir (tmpfs is gone after a power cut), re-create the device (new ifindex, counters from
0) and start the tracker again. After every cut the state files are read:

  F_i  ledger total in the flash copy (what the restarted tracker resumes from),
  K_i  kernel bytes of every device instance so far (the truth),
  loss of cut i = (K_i - F_i) - (K_(i-1) - F_(i-1))  (traffic of the dying instance not in flash).

Checked by the callers: F_i and the RAM copy never exceed K_i (no double count), never go
backwards, and each loss is within the bound of docs/usage.md. Run as root (ip netns)."""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

from tests.support import paths
from tests.usage.helpers import read_state
from wanwatch.usage import tracker as U

HERE = os.path.dirname(os.path.abspath(__file__))
WIRE = 14 + 20 + 8  # Ethernet + IPv4 + UDP header bytes the device counts per datagram
SIZE = 1200


def sh(*args):
    r = subprocess.run(list(args), capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(args), r.stderr.strip()))
    return r.stdout


class Bed:
    def __init__(self, tag=None):
        tag = tag or "%d" % (os.getpid() % 100000)
        self.ra, self.rb = "wwc-r" + tag, "wwc-p" + tag
        self.flows = []

    def __enter__(self):
        if os.geteuid() != 0:
            raise RuntimeError("the power-cut bed needs root (ip netns)")
        sh("ip", "netns", "add", self.ra)
        try:
            sh("ip", "netns", "add", self.rb)
            for ns in (self.ra, self.rb):
                sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
                sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
                sh("ip", "-n", ns, "link", "set", "lo", "up")
            self.create()
        except Exception:
            self.__exit__()
            raise
        return self

    def __exit__(self, *a):
        for p in self.flows:
            if p.poll() is None:
                p.kill()
            p.wait()
        subprocess.run(["ip", "netns", "del", self.ra], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.rb], capture_output=True)

    def create(self):
        sh("ip", "link", "add", "wwan0", "netns", self.ra, "type", "veth", "peer", "name", "peer0", "netns", self.rb)
        sh("ip", "-n", self.ra, "addr", "add", "10.252.0.1/30", "dev", "wwan0")
        sh("ip", "-n", self.rb, "addr", "add", "10.252.0.2/30", "dev", "peer0")
        sh("ip", "-n", self.ra, "link", "set", "wwan0", "up")
        sh("ip", "-n", self.rb, "link", "set", "peer0", "up")

    def delete(self):
        sh("ip", "-n", self.ra, "link", "del", "wwan0")

    def start_flows(self, rx_bps, tx_bps):
        """rx: far end -> router (counted as wwan0 rx); tx: router -> far end."""
        tool = os.path.join(HERE, "flow_tool.py")
        for ns, port, dst, dport, rate in ((self.ra, 5401, "10.252.0.2", 5402, tx_bps),
                                           (self.rb, 5402, "10.252.0.1", 5401, rx_bps)):
            p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, tool, str(port), dst, str(dport),
                                  str(rate), str(SIZE), "wwan0"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 text=True, bufsize=1)
            assert p.stdout.readline().strip() == "ready"
            self.flows.append(p)

    def _ask(self, p, cmd):
        p.stdin.write(cmd + "\n")
        p.stdin.flush()
        return p.stdout.readline().strip()

    def traffic(self, on):
        for p in self.flows:
            assert self._ask(p, "resume" if on else "pause") == "ok"

    def stats(self):
        """(rx_bytes, tx_bytes, ifindex) of wwan0 from the kernel, read inside the router namespace."""
        rx, tx, idx = self._ask(self.flows[0], "stats").split()
        return int(rx), int(tx), int(idx)


def tracker(bed, cfg_path):
    env = dict(os.environ, MICROPYPATH=paths.FIRMWARE + ":.frozen")
    return subprocess.Popen(["ip", "netns", "exec", bed.ra, paths.micropython(), os.path.join(HERE, "mpy_driver.py"),
                             cfg_path, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def bound(usage, rate):
    """Worst-case loss of one power cut (docs/usage.md): max(S, rate*T) + rate*sample_s."""
    S = usage["flash_save_mb"] * U.MB
    return max(S, rate * usage["flash_min_interval_s"]) + rate * usage["sample_s"]


def run_cuts(tmp, cuts, seed, rx_bps, tx_bps, usage, hold=(0.2, 1.2), log=None):
    """`cuts` power cuts at seeded random instants; returns a dict of per-cut figures and checks
    (the caller asserts). usage: the tracker's usage.* config (flash_save_mb etc.)."""
    tmp = str(tmp)
    run_dir, state_dir = os.path.join(tmp, "run"), os.path.join(tmp, "flash")
    cfg = {"usage": dict(usage, source="kernel"), "run_dir": run_dir, "state_dir": state_dir,
           "device": "wwan0", "iccid": "8944507777777777777", "stop_file": os.path.join(tmp, "stop")}
    cfg_path = os.path.join(tmp, "cfg.json")
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    ram_file, flash_file = os.path.join(run_dir, "usage.json"), os.path.join(state_dir, "usage.json")
    rnd = random.Random(seed)
    out = {"losses": [], "double": [], "backwards": [], "events": [], "errors": [], "ifindex_reused": 0}
    t0 = time.monotonic()
    with Bed() as bed:
        bed.start_flows(rx_bps, tx_bps)  # paused: the first sample is the baseline of a quiet device
        p = tracker(bed, cfg_path)
        for _ in range(500):
            if os.path.exists(flash_file):
                break
            time.sleep(0.01)
        rx, tx, idx = bed.stats()
        k_done = -(rx + tx)  # bytes before the baseline are not the ledger's
        prev_f = prev_deficit = 0
        bed.traffic(True)
        for i in range(cuts):
            time.sleep(rnd.uniform(*hold))
            p.send_signal(signal.SIGKILL)  # the power cut: the tracker and the device die together
            so, se = p.communicate(timeout=30)
            rx, tx, idx = bed.stats()
            k = k_done + rx + tx
            if "Traceback" in so + se or "Error" in so + se:
                out["errors"].append(so + se)
            out["events"] += [json.loads(l[3:]) for l in so.splitlines() if l.startswith("EV ")]
            ram, flash = read_state(ram_file), read_state(flash_file)
            f = U.total_of([flash])
            seen = U.total_of([ram, flash])
            if seen > k:
                out["double"].append((i, seen - k))
            if f < prev_f or seen < prev_f:
                out["backwards"].append((i, prev_f, f, seen))
            deficit = k - f
            out["losses"].append(deficit - prev_deficit)
            prev_f, prev_deficit, k_done = f, deficit, k
            bed.delete()
            shutil.rmtree(run_dir, ignore_errors=True)
            bed.create()
            if bed.stats()[2] == idx:
                out["ifindex_reused"] += 1
            p = tracker(bed, cfg_path)
            if log and (i + 1) % 50 == 0:
                log("  %d cuts, %.0f s" % (i + 1, time.monotonic() - t0))
        # the end: traffic stops, the tracker is killed once more (RAM kept) and one last sample
        # of the quiet device ("once") gives the ledger's total, to compare with the kernel's
        bed.traffic(False)
        time.sleep(0.2)
        p.send_signal(signal.SIGKILL)
        p.communicate(timeout=30)
        env = dict(os.environ, MICROPYPATH=paths.FIRMWARE + ":.frozen")
        r = subprocess.run(["ip", "netns", "exec", bed.ra, paths.micropython(), os.path.join(HERE, "mpy_driver.py"),
                            cfg_path, "once"], env=env, capture_output=True, text=True, timeout=60)
        rx, tx, idx = bed.stats()
        out["kernel_total"] = k_done + rx + tx
        st = [l for l in r.stdout.splitlines() if l.startswith("STATUS ")]
        out["ledger_total"] = json.loads(st[0][7:])["total_bytes"] if st else None
        flash = read_state(flash_file)
        out["crossed"] = flash["ledgers"][0]["crossed"] if flash else []
        if r.returncode:
            out["errors"].append(r.stdout + r.stderr)
        out["events"] += [json.loads(l[3:]) for l in r.stdout.splitlines() if l.startswith("EV ")]
    out["seconds"] = time.monotonic() - t0
    return out
