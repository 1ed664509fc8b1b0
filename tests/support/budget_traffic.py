"""LAN traffic for the budget-policy tests and bench on the NetBed: a bulk TCP download (a sender
in the internet namespace pushes as fast as TCP lets it, the LAN client receives and counts) and a
VoIP-like UDP flow (50 packets/s of 172 bytes, echoed) to its own "VoIP provider" address.

Minimal stand-ins for the bed's own download and VoIP helpers (branch bed2) until those land:
    dl = Download(bed)            # started; dl.rate_kbit(t0, t1), dl.bytes_between(t0, t1)
    v = Voip(bed)                 # started; v.report(t0, t1) -> {"sent", "ok", "loss_pct"}
    ...; dl.stop(); v.stop()
Times are time.monotonic() (CLOCK_MONOTONIC, the same in every namespace).

budget_site(bed, tmp) runs the budget story with the whole agent (tests/usage/test_budget_bed.py
asserts on what it measured, bench/bench_budget.py prints it); compare_mechanisms(bed, kbit) holds
one download with the agent's HTB commands and with an nftables policer (bench).

usage (children): python -m tests.support.budget_traffic send ADDR PORT
                  python -m tests.support.budget_traffic recv ADDR PORT
                  python -m tests.support.budget_traffic echo ADDR PORT
                  python -m tests.support.budget_traffic voip ADDR PORT
"""
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time

from tests.support.netbed_tools import kind

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VOIP = "10.9.0.20"       # the allowlisted "VoIP provider" (an address of the internet namespace)
VOIP_PORT = 7020
BULK = "10.9.0.30"       # the bulk download's server (not allowlisted)
BULK_PORT = 7030
REPORT_S = 0.1           # the receiver reports its byte count this often
VOIP_PPS = 50
VOIP_BYTES = 172         # G.711 20 ms frame + RTP header


# --- children -----------------------------------------------------------------------------------
def _send(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(8)
    print("ready", flush=True)
    buf = b"\0" * 65536

    def serve(c):
        try:
            while True:
                c.sendall(buf)
        except OSError:
            c.close()

    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def _recv(addr, port):
    """Connect (again after any error) and print "<monotonic> <total bytes>" every REPORT_S."""
    total = 0
    nxt = time.monotonic()
    print("ready", flush=True)
    while True:
        try:
            s = socket.create_connection((addr, port), timeout=2)
            s.settimeout(REPORT_S)
            while True:
                try:
                    n = len(s.recv(65536))
                    if n == 0:
                        break
                    total += n
                except socket.timeout:
                    pass
                now = time.monotonic()
                if now >= nxt:
                    print("%.4f %d" % (now, total), flush=True)
                    nxt = now + REPORT_S
        except OSError:
            time.sleep(0.2)
            print("%.4f %d" % (time.monotonic(), total), flush=True)


def _echo(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    print("ready", flush=True)
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(data, peer)


def _voip(addr, port):
    """Send seq-numbered datagrams at VOIP_PPS; print "s <seq> <send time>" and "r <seq>"."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((addr, port))
    s.setblocking(False)
    print("ready", flush=True)
    seq = 0
    t = time.monotonic()
    pad = b"\0" * (VOIP_BYTES - 4)
    while True:
        now = time.monotonic()
        if now >= t:
            try:
                s.send(struct.pack("!I", seq) + pad)
                print("s %d %.4f" % (seq, now), flush=True)
            except OSError:
                print("s %d %.4f" % (seq, now), flush=True)
            seq += 1
            t += 1.0 / VOIP_PPS
        while True:
            try:
                data = s.recv(2048)
            except OSError:
                break
            if len(data) >= 4:
                print("r %d" % struct.unpack("!I", data[:4])[0], flush=True)
        time.sleep(0.002)


# --- parent side --------------------------------------------------------------------------------
def _child(bed, ns, role, addr, port):
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-m", "tests.support.budget_traffic",
                          role, addr, str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env, cwd=ROOT)
    bed.procs.append(p)
    if p.stdout.readline().strip() != "ready":
        raise RuntimeError("%s failed: %s" % (role, p.stderr.read()[-400:]))
    return p


def _add_address(bed, addr):
    r = bed.run_in(bed.i, ["ip", "addr", "add", addr + "/32", "dev", "lo"])
    if r.returncode != 0 and "File exists" not in r.stderr and "already assigned" not in r.stderr:
        raise RuntimeError(r.stderr)


def mtu_sized(bed):
    """The internet side sends MTU-sized packets, as a carrier delivers them: without this the
    sender's TSO/GSO bursts (up to 64 KB per skb) cross every veth of the bed whole, and one drop
    at the router loses 40 packets at once."""
    for dev in ("ia", "ib"):
        r = bed.run_in(bed.i, ["ip", "link", "set", "dev", dev, "gso_max_segs", "1"])
        if r.returncode:
            raise RuntimeError(r.stderr)


class Download:
    """A bulk TCP download from BULK to the LAN client, counted by the client; sent_counts():
    (bytes sent, bytes sent again) of the sender's TCP (ss)."""

    def __init__(self, bed, addr=BULK, port=BULK_PORT):
        mtu_sized(bed)
        self.bed = bed
        _add_address(bed, addr)
        self.sender = _child(bed, bed.i, "send", addr, port)
        self.samples = []  # (monotonic, total bytes)
        self.recv = _child(bed, bed.l, "recv", addr, port)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.recv.stdout:
            w = line.split()
            if len(w) == 2:
                self.samples.append((float(w[0]), int(w[1])))

    def _at(self, t):
        """Total bytes received by time t (the last report at or before t)."""
        best = 0
        for ts, n in list(self.samples):
            if ts > t:
                break
            best = n
        return best

    def sent_counts(self):
        return _sender_counts(self.bed)

    def bytes_between(self, t0, t1):
        return self._at(t1) - self._at(t0)

    def rate_kbit(self, t0, t1):
        return self.bytes_between(t0, t1) * 8 / 1000.0 / (t1 - t0)

    def stop(self):
        for p in (self.recv, self.sender):
            if p.poll() is None:
                p.kill()
                p.wait(5)


class Voip:
    """A VoIP-like UDP flow from the LAN client to VOIP, echoed there."""

    def __init__(self, bed, addr=VOIP, port=VOIP_PORT):
        _add_address(bed, addr)
        self.echo = _child(bed, bed.i, "echo", addr, port)
        self.sent = {}   # seq -> send time
        self.got = set()
        self.flow = _child(bed, bed.l, "voip", addr, port)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.flow.stdout:
            w = line.split()
            if len(w) == 3 and w[0] == "s":
                self.sent[int(w[1])] = float(w[2])
            elif len(w) == 2 and w[0] == "r":
                self.got.add(int(w[1]))

    def report(self, t0, t1):
        """Packets sent in [t0, t1) and how many came back (ask at least a second after t1)."""
        seqs = [s for s, t in list(self.sent.items()) if t0 <= t < t1]
        ok = len([s for s in seqs if s in self.got])
        n = len(seqs)
        return {"sent": n, "ok": ok, "loss_pct": round(100.0 * (n - ok) / n, 2) if n else None}

    def stop(self):
        for p in (self.flow, self.echo):
            if p.poll() is None:
                p.kill()
                p.wait(5)


# --- the budget story with the whole agent ----------------------------------------------------
HOLD = 5
CAP_MB = 20000
HEADROOM = 8 * 10 ** 6            # bytes below the 80 % step at the start
RATE, STEP = 3000, 1000           # kbit/s
OBSERVED = 500000                 # bytes/s of the seeded history (4 Mbit/s)


def seed_ledger(state_dir):
    """usage.json on "flash": used = 80 % of the cap minus HEADROOM, of it the last 7 h at OBSERVED
    bytes/s (93 % received); cycle bounds null (fixed by the agent)."""
    now = int(time.time())
    h = now // 3600
    used = CAP_MB * 10 ** 6 * 80 // 100 - HEADROOM
    hb = [[h - i, OBSERVED * 3600] for i in range(7, 0, -1)] + [[h, OBSERVED * (now - h * 3600)]]
    led = {"iccid": None, "gen": 0, "start": None, "end": None, "rx": used * 93 // 100,
           "tx": used - used * 93 // 100, "own": 0, "crossed": [50], "fc": 0, "cap": None, "cap_at": None,
           "since": (h - 7) * 3600, "hb": hb, "hist": [], "cal": None, "ct": None, "cg": 0, "raw": None}
    os.makedirs(state_dir, exist_ok=True)
    with open(os.path.join(state_dir, "usage.json"), "w") as f:
        json.dump({"v": 1, "seq": 1, "ledgers": [led]}, f)


def _status(bed):
    with open(os.path.join(bed.run_dir, "status.json")) as f:
        return json.load(f)


def fresh_status(bed):
    """(the next status file the agent writes (every 5 s), monotonic time it was seen)."""
    path = os.path.join(bed.run_dir, "status.json")
    old = _status(bed)["uptime_s"] if os.path.exists(path) else None
    end = time.monotonic() + 12
    while time.monotonic() < end:
        if os.path.exists(path):
            doc = _status(bed)
            if doc["uptime_s"] != old:  # uptime moves on by the period between writes
                return doc, time.monotonic()
        time.sleep(0.1)
    raise AssertionError("status.json not rewritten")


def qdiscs(bed):
    out = {}
    for d in ("lan", "wwan"):
        out[d] = bed.run_router(["tc", "qdisc", "show", "dev", d]).stdout
        out[d + " classes"] = bed.run_router(["tc", "class", "show", "dev", d]).stdout
    return out


KEY = "budget-bed-key-0001"


def command(bed, args):
    """A signed `budget` command published to the broker from the internet side (as the fleet
    would); -> (exit code of `wanwatch-host sign --publish`: 0 ok, 1 rejected, its output)."""
    exe = os.path.join(os.path.dirname(sys.executable), "wanwatch-host")
    from host_tools.netbed import SERVER
    r = bed.run_in(bed.i, [exe, "sign", "--key", KEY, "--cmd", "budget", "--args", json.dumps(args), "--publish",
                           "--host", SERVER, "--port", "1883", "--prefix", "wanwatch", "--device", "site-1"],
                   timeout=30)
    return r.returncode, r.stdout + r.stderr


def _wait(a, pred, timeout, what):
    got = a.wait_event(pred, timeout)
    if got is None:
        raise AssertionError("no %s within %s s: %s" % (what, timeout, a.lines[-12:]))
    return got


def budget_site(bed, tmp):
    """The primary dies, the metered backup takes over with the budget policy on, a LAN download
    and the allowlisted VoIP flow run through both limits, the primary heals. Returns what was
    measured: events, held rates and their windows, VoIP reports, status documents, qdiscs."""
    from host_tools.netbed.agent import SiteAgent, site_config
    bed.broker()
    seed_ledger(os.path.join(tmp, "flash"))
    cfg = site_config(bed, tmp, failover={"hold_down_s": HOLD},
                      usage={"cap_mb": CAP_MB, "sample_s": 1, "thresholds": [50, 95]},
                      budget={"rate_mbps": RATE / 1000, "steps": [{"at_pct": 80, "rate_mbps": STEP / 1000}],
                              "allow": [VOIP], "lan_devices": ["lan"], "check_s": 0.5},
                      commands={"key": KEY})
    a = SiteAgent(bed, cfg)
    r = {"agent": a}
    try:
        if not a.wait_until(lambda: a.seen(kind("link_state", link="wan", state="up")) and
                            a.seen(kind("link_state", link="wwan", state="standby")), 20):
            raise AssertionError("agent not settled: %s" % a.lines[-12:])
        r["qdiscs_before"] = qdiscs(bed)
        r["before"] = fresh_status(bed)[0]
        end = time.monotonic() + 15
        while not r["before"]["mqtt"]["connected"] and time.monotonic() < end:
            r["before"] = fresh_status(bed)[0]
        r["cmd_before"] = command(bed, {"action": "lift"})  # on the primary: nothing to lift
        bed.kill_upstream("wan")
        r["t_fo"], r["failover"] = _wait(a, kind("failover"), 10, "failover")
        r["t_ap"], r["applied"] = _wait(a, kind("budget", action="applied"), 5, "budget applied")
        r["qdiscs_limited"] = qdiscs(bed)
        voip, dl = Voip(bed), Download(bed)
        r["limited"] = fresh_status(bed)[0]  # still at 3 Mbit/s (the step is 8 MB away)
        c0 = dl.sent_counts()
        r["t_st"], r["stepped"] = _wait(a, kind("budget", action="stepped"), 60, "budget stepped")
        c1 = dl.sent_counts()
        r["w_rate"] = (r["t_ap"] + 3.0, r["t_st"] - 0.5)
        time.sleep(3.0)
        r["s0"], m0 = fresh_status(bed)
        time.sleep(10.0)
        r["s1"], m1 = fresh_status(bed)
        c2 = dl.sent_counts()
        r["w_step"] = (r["t_st"] + 3.0, time.monotonic() - 0.5)
        r["resent_pct"] = [100.0 * (y[1] - x[1]) / max(1, y[0] - x[0]) for x, y in ((c0, c1), (c1, c2))]
        r["grown_bps"] = (r["s1"]["usage"]["total_bytes"] - r["s0"]["usage"]["total_bytes"]) / (m1 - m0)
        time.sleep(1.2)
        for w in ("w_rate", "w_step"):
            r["held_" + w] = dl.rate_kbit(*r[w])
            r["voip_" + w] = voip.report(*r[w])
        dl.stop()
        # the operator lifts the limit remotely, then sets another rate (until the failback)
        r["cmd_lift"] = command(bed, {"action": "lift"})
        r["cmd_lifted"] = _wait(a, kind("budget", action="lifted"), 10, "budget lifted by command")[1]
        r["qdiscs_cmd_lifted"] = qdiscs(bed)
        r["cmd_set"] = command(bed, {"action": "set", "rate_kbit": 2000, "steps": []})
        r["cmd_applied"] = _wait(a, kind("budget", action="applied"), 10, "budget set by command")[1]
        bed.heal_upstream("wan")
        r["t_fb"], r["failback"] = _wait(a, kind("failback"), HOLD + 15, "failback")
        r["t_li"], r["lifted"] = _wait(a, kind("budget", action="lifted"), 5, "budget lifted")
        r["qdiscs_after"] = qdiscs(bed)
        r["nft_after"] = bed.run_router(["nft", "list", "ruleset"]).stdout
        voip.stop()
    finally:
        a.stop()
    return r


# --- shaping or policing -----------------------------------------------------------------------
def _sender_counts(bed):
    """(bytes_sent, bytes_retrans) of the bulk sender's connections (ss -ti in the internet)."""
    out = bed.run_in(bed.i, ["ss", "-tinH", "state", "established", "sport", "= :%d" % BULK_PORT]).stdout
    sent = retrans = 0
    for w in out.split():
        if w.startswith("bytes_sent:"):
            sent += int(w.split(":")[1])
        elif w.startswith("bytes_retrans:"):
            retrans += int(w.split(":")[1])
    return sent, retrans


def compare_mechanisms(bed, kbit, secs=12):
    """One LAN download over wan held to kbit by the agent's own HTB commands, then by an nftables
    policer (limit rate over ... drop) in the forward hook: {mechanism: (LAN kbit/s, % of the
    bytes the sender put on the uplink that it had to send again)}, both past the slow start. A retransmitted byte crossed
    the (metered) uplink twice: the router dropped the first copy after it was paid for."""
    sys.path.insert(0, os.path.join(ROOT, "firmware"))
    from wanwatch.usage.budget import clear_cmds, shape_cmds
    htb = shape_cmds("lan", kbit, "src", [("ipv4", "192.168.1.1", 24)])
    police = ("nft add table inet pol; nft add chain inet pol police '{ type filter hook forward priority 0; }'; "
              "nft add rule inet pol police iifname wan oifname lan limit rate over %d kbytes/second drop" % (kbit // 8))
    out = {}
    for name, on, off in (("htb", "\n".join(htb), "\n".join(clear_cmds(["lan"]))),
                          ("nft policer", police, "nft delete table inet pol")):
        r = bed.run_router(["sh", "-ec", on])
        if r.returncode:
            raise RuntimeError(r.stderr)
        dl = Download(bed)
        time.sleep(3)  # past the slow start's overshoot
        s0, t0 = dl.sent_counts(), time.monotonic()
        time.sleep(secs)
        s1, t1 = dl.sent_counts(), time.monotonic()
        sent, retrans = s1[0] - s0[0], s1[1] - s0[1]
        out[name] = (dl.rate_kbit(t0, t1), 100.0 * retrans / sent if sent else None)
        dl.stop()
        bed.run_router(["sh", "-c", off])
    return out


if __name__ == "__main__":
    {"send": _send, "recv": _recv, "echo": _echo, "voip": _voip}[sys.argv[1]](sys.argv[2], int(sys.argv[3]))
