"""A real mosquitto broker on a free loopback port, for the demo, tests and benchmarks."""
import os
import socket
import subprocess
import tempfile
import time

import shutil


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def mosquitto_bin():
    for cand in (shutil.which("mosquitto"), "/usr/sbin/mosquitto"):
        if cand and os.path.exists(cand):
            return cand
    raise RuntimeError("mosquitto not found: install it with 'apt-get install -y mosquitto' (make test/.ci/run do this as root)")


class Broker:
    """Start/stop/restart mosquitto on 127.0.0.1:<port>. Extra config lines (TLS listener...) allowed."""

    def __init__(self, port=None, extra_conf="", persistence=False):
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="ww-mosq-")
        self.extra_conf = extra_conf
        self.persistence = persistence
        self.proc = None
        self.log_path = os.path.join(self.dir, "mosquitto.log")

    def _write_conf(self):
        conf = os.path.join(self.dir, "mosquitto.conf")
        lines = [
            "listener %d 127.0.0.1" % self.port,
            "allow_anonymous true",
            "log_dest file %s" % self.log_path,
            "log_type all" ,
        ]
        if self.persistence:
            lines += ["persistence true", "persistence_location %s/" % self.dir]
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n" + self.extra_conf + "\n")
        return conf

    def start(self, timeout=10):
        conf = self._write_conf()
        self.proc = subprocess.Popen([mosquitto_bin(), "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("mosquitto exited: %s" % self.proc.stderr.read().decode(errors="replace"))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not listen on port %d" % self.port)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self):
        self.stop()
        return self.start()

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""
