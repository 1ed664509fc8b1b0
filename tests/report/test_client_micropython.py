"""The same client under the real micropython: retained publish read back by paho, the will seen
by paho when the process is SIGKILLed, and TLS (mbedTLS) with CA verification."""
import os
import signal
import subprocess
import time

from tests.conftest import run_micropython
from tests.report.helpers import Peer
from tests.support import paths

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "mpy_client.py")


def spawn_micropython(args):
    env = dict(os.environ, MICROPYPATH=paths.FIRMWARE + ":.frozen")
    return subprocess.Popen([paths.micropython(), SCRIPT] + [str(a) for a in args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_line(proc, prefix, timeout=20):
    deadline = time.time() + timeout
    lines = []
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith(prefix):
            return line
    raise AssertionError("no %r from micropython: %s %s" % (prefix, lines, proc.stderr.read() if proc.poll() is not None else ""))


def test_micropython_publishes_retained_and_paho_reads_it(broker):
    r = run_micropython([SCRIPT, str(broker.port), "mp1", "once"], timeout=30)
    assert r.returncode == 0 and "READY True True" in r.stdout, r.stdout + r.stderr
    peer = Peer(broker.port, ["mp1/state", "mp1/status"])
    peer.wait(lambda: peer.payloads("mp1/state") and peer.payloads("mp1/status"), what="retained")
    assert peer.payloads("mp1/state") == [b"online"]  # graceful disconnect: no will
    assert peer.payloads("mp1/status") == [b'{"v":1,"mpy":true}']
    peer.close()


def test_will_fires_when_micropython_client_is_killed(broker):
    peer = Peer(broker.port, ["mp2/state", "mp2/echo"])
    proc = spawn_micropython([broker.port, "mp2", "stay"])
    try:
        wait_line(proc, "READY")
        peer.publish("mp2/cmd", b"hello", 1)  # round trip through the micropython client
        peer.wait(lambda: peer.payloads("mp2/echo") == [b"hello"], what="echo")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        peer.wait(lambda: peer.payloads("mp2/state")[-1:] == [b"offline"], what="will")
        assert peer.payloads("mp2/state") == [b"online", b"offline"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        peer.close()
