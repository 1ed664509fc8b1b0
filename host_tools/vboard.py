"""A virtual MicroPython board for flashing tests and demos: the unix port's REPL on a pty, bridged
to a TCP listener on 127.0.0.1, with its own directory as the board's filesystem. mpremote reaches
it with `mpremote connect socket://127.0.0.1:PORT resume ...` (the unix port has no soft reset)."""
import os
import pty
import select
import socket
import subprocess
import sys
import threading
import tty


def _micropython():
    here = os.path.join(os.path.dirname(sys.executable), "micropython")
    return here if os.path.exists(here) else "micropython"


class VirtualBoard:
    def __init__(self, fs_dir):
        self.fs = fs_dir
        os.makedirs(fs_dir, exist_ok=True)
        self.proc = None
        self.port = None
        self._stop = threading.Event()

    def start(self):
        m, s = pty.openpty()
        tty.setraw(m)
        self.master = m
        env = dict(os.environ, MICROPYPATH=".frozen:" + os.path.join(self.fs, "lib") + ":" + self.fs)
        self.proc = subprocess.Popen([_micropython(), "-i"], stdin=s, stdout=s, stderr=s, cwd=self.fs, env=env)
        os.close(s)
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        self.srv.settimeout(0.2)
        self.port = self.srv.getsockname()[1]
        threading.Thread(target=self._bridge, daemon=True).start()
        return "socket://127.0.0.1:%d" % self.port

    def _bridge(self):
        while not self._stop.is_set():
            try:
                c, _ = self.srv.accept()
            except (socket.timeout, OSError):
                continue
            with c:
                while not self._stop.is_set():
                    try:
                        r, _, _ = select.select([c, self.master], [], [], 0.2)
                        if c in r:
                            d = c.recv(4096)
                            if not d:
                                break
                            os.write(self.master, d)
                        if self.master in r:
                            c.sendall(os.read(self.master, 4096))
                    except OSError:
                        break

    def stop(self):
        self._stop.set()
        if self.proc:
            self.proc.kill()
            self.proc.wait()
        try:
            self.srv.close()
            os.close(self.master)
        except OSError:
            pass


def main(argv=None):
    import argparse
    import time
    ap = argparse.ArgumentParser(prog="python -m host_tools.vboard", description=__doc__)
    ap.add_argument("fs", help="directory holding the board's filesystem")
    args = ap.parse_args(argv)
    b = VirtualBoard(args.fs)
    print(b.start(), flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        b.stop()


if __name__ == "__main__":
    main()
