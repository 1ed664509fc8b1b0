"""A real mosquitto broker on a free loopback port, for the demo, tests and benchmarks; or, with
`netns`, on an address inside a network namespace (the test bed's "internet")."""
import os
import socket
import subprocess
import sys
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


_CONNECT = "import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 0.2).close()"


class Broker:
    """Start/stop/restart mosquitto on 127.0.0.1:<port>. Extra config lines (TLS listener...) allowed.
    netns: run it inside that network namespace (`ip netns exec`), listening on `host` there."""

    def __init__(self, port=None, extra_conf="", persistence=False, host="127.0.0.1", netns=None):
        self.host = host
        self.netns = netns
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="ww-mosq-")
        # mosquitto started as root drops to its own user: without this it can write neither its
        # log (log() would stay empty) nor a persistence db here
        os.chmod(self.dir, 0o777)
        self.extra_conf = extra_conf
        self.persistence = persistence
        self.proc = None
        self.log_path = os.path.join(self.dir, "mosquitto.log")

    def _write_conf(self):
        conf = os.path.join(self.dir, "mosquitto.conf")
        lines = [
            "listener %d %s" % (self.port, self.host),
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
        wrap = ["ip", "netns", "exec", self.netns] if self.netns else []
        self.proc = subprocess.Popen(wrap + [mosquitto_bin(), "-c", conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("mosquitto exited: %s" % self.proc.stderr.read().decode(errors="replace"))
            if self._listening():
                return self
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not listen on %s:%d" % (self.host, self.port))

    def _listening(self):
        if self.netns:  # the namespace's addresses are reachable only from inside it
            r = subprocess.run(["ip", "netns", "exec", self.netns, sys.executable, "-c", _CONNECT,
                                self.host, str(self.port)], capture_output=True)
            return r.returncode == 0
        try:
            socket.create_connection((self.host, self.port), timeout=0.2).close()
            return True
        except OSError:
            return False

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
