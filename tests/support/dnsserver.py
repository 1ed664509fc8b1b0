"""DNS servers for tests: a real dnsmasq on a loopback address, and a silent one that reads every
query and never answers (a resolver behind a dead line)."""
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

INSTALL_HINT = "install it with 'apt-get install -y dnsmasq-base' (make test/.ci/run do this as root)"


def dnsmasq_bin():
    for cand in (shutil.which("dnsmasq"), "/usr/sbin/dnsmasq"):
        if cand and os.path.exists(cand):
            return cand
    raise RuntimeError("dnsmasq not found: " + INSTALL_HINT)


def free_udp_port(host="127.0.0.1"):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def raw_query(name, qtype=1, qid=0x1234):
    """A query built here, independently of the firmware's codec."""
    pkt = qid.to_bytes(2, "big") + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    for label in name.split("."):
        pkt += bytes([len(label)]) + label.encode()
    return pkt + b"\x00" + qtype.to_bytes(2, "big") + b"\x00\x01"


def ask(host, port, name, qtype=1, qid=0x1234, timeout=2.0):
    """One raw exchange with a server: the response bytes (raises socket.timeout)."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(raw_query(name, qtype, qid), (host, port))
        return s.recvfrom(4096)[0]


class Dnsmasq:
    """dnsmasq answering from its own records only (no upstream, no /etc/hosts): host_records are
    (name, ipv4 or None, ipv6 or None), cnames (alias, target); every other name under .test is
    NXDOMAIN. ttl is the TTL of every local answer. Every query is logged (queries())."""

    def __init__(self, host_records=(("broker.test", "127.0.0.1", None),), cnames=(), ttl=60,
                 host="127.0.0.1", port=None):
        self.host = host
        self.port = port or free_udp_port(host)
        self.host_records = host_records
        self.cnames = cnames
        self.ttl = ttl
        self.dir = tempfile.mkdtemp(prefix="ww-dnsmasq-")
        self.log_path = os.path.join(self.dir, "dnsmasq.log")
        self.proc = None

    def start(self, timeout=10):
        args = [dnsmasq_bin(), "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                "--bind-interfaces", "--listen-address=%s" % self.host, "--port=%d" % self.port,
                "--local=/test/", "--local-ttl=%d" % self.ttl, "--pid-file=", "--cache-size=0",
                "--log-queries", "--log-facility=%s" % self.log_path]
        for name, v4, v6 in self.host_records:
            args.append("--host-record=" + ",".join([name] + [a for a in (v4, v6) if a]))
        for alias, target in self.cnames:
            args.append("--cname=%s,%s" % (alias, target))
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("dnsmasq exited: %s" % self.proc.stderr.read().decode(errors="replace"))
            try:
                ask(self.host, self.port, "ready.test", timeout=0.2)
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("dnsmasq did not answer on %s:%d" % (self.host, self.port))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def queries(self, name=None):
        """Logged query lines (e.g. 'query[A] broker.test from 127.0.0.1'), optionally for one name."""
        try:
            with open(self.log_path) as f:
                lines = [l.split(": ", 1)[-1].strip() for l in f if "query[" in l]
        except OSError:
            return []
        return [l for l in lines if name is None or (" %s " % name) in l]


class SilentDNS:
    """A UDP socket on host:port that reads every datagram and drops it: a resolver that never
    answers. `received` counts the queries."""

    def __init__(self, host="127.0.0.1", port=None):
        self.host = host
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port or 0))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.1)
        self.received = 0
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        while not self._stop:
            try:
                self.sock.recvfrom(4096)
                self.received += 1
            except socket.timeout:
                pass
            except OSError:
                return

    def received_wait(self, n, timeout=2.0):
        """`received` once it reaches n (or after timeout): the thread counts asynchronously."""
        deadline = time.time() + timeout
        while self.received < n and time.time() < deadline:
            time.sleep(0.01)
        return self.received

    def stop(self):
        self._stop = True
        self._thread.join(2)
        self.sock.close()
