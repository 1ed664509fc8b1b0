# syslog.py: the datagram sink of log.py for --syslog SOCKET (logd's /dev/log on OpenWrt): one
# "<PRI>wanwatch[pid]: text" datagram per line, facility daemon, non-blocking, never raising.
# Separate from log.py so that boards, which never log to syslog, do not load it.
import sys

from .log import FACILITY, IDENT, WARNING, to_stderr


def _pid():
    try:
        import os
        return os.getpid()
    except (ImportError, AttributeError):  # MicroPython's os has no getpid
        pass
    try:
        with open("/proc/self/stat") as f:
            return int(f.read(32).split()[0])
    except (OSError, ValueError, IndexError):
        return None


def unix_address(path):
    """The address of a unix socket for sendto(): CPython takes the path; MicroPython's unix port
    takes the raw struct sockaddr_un (sun_family in host byte order, then the path, NUL-ended)."""
    if sys.implementation.name != "micropython":
        return path
    import struct
    import socket
    raw = path.encode()
    if len(raw) > 107:
        raise ValueError("socket path longer than 107 bytes")
    return struct.pack("H", getattr(socket, "AF_UNIX", 1)) + raw + b"\0"


class Syslog:
    """Datagrams to a syslog socket (logd on OpenWrt). send() says whether the line went."""

    def __init__(self, path):
        import socket
        self.path = path
        self.addr = unix_address(path)
        pid = _pid()
        self.head = "%s[%d]: " % (IDENT, pid) if pid else IDENT + ": "
        self.sock = socket.socket(getattr(socket, "AF_UNIX", 1), socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sent = 0
        self.fallbacks = 0     # lines that went to stderr instead
        self.failing = False   # the last send failed: its reason was said once on stderr

    def send(self, sev, line):
        try:
            self.sock.sendto(("<%d>%s%s" % (FACILITY | sev, self.head, line)).encode(), self.addr)
        except Exception as e:  # no logd (ENOENT, ECONNREFUSED) or its queue is full (EAGAIN)
            self.fallbacks += 1
            if not self.failing:
                self.failing = True
                to_stderr(WARNING, "log: syslog socket %s: %s: %s; lines go to stderr until it takes them"
                          % (self.path, type(e).__name__, e))
            return False
        self.failing = False
        self.sent += 1
        return True

    def close(self):
        try:
            self.sock.close()
        except Exception:
            pass
