# names.py: the one check for names that reach a command line or a topic (links, devices, ids),
# and for IP address literals (probe targets, the broker, the DNS resolver).
# [A-Za-z0-9_.-]{1,maxlen}: safe as one shell argument, so no shell string is built from input.
# Its own tiny module so the long-lived parts need not keep the config validator loaded.
# An IP literal is what socket.getaddrinfo turns into an address without asking DNS, so only a
# string these functions accept is ever handed to getaddrinfo (it also takes "1.2.3" or "0x7f.1",
# which are not accepted here).
NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"
HEX = "0123456789abcdefABCDEF"


def is_name(s, maxlen=15):
    if not isinstance(s, str) or not 1 <= len(s) <= maxlen:
        return False
    for c in s:
        if c not in NAME_CHARS:
            return False
    return True


def is_ipv4(s):
    if not isinstance(s, str):
        return False
    parts = s.split(".")
    if len(parts) != 4:
        return False
    for p in parts:
        if not p or len(p) > 3 or not p.isdigit() or int(p) > 255:
            return False
    return True


def _groups(part):
    """Number of 16-bit groups in one side of '::' (an IPv4 tail counts 2), or -1 if malformed."""
    if not part:
        return 0
    gs = part.split(":")
    n = 0
    for i in range(len(gs)):
        g = gs[i]
        if i == len(gs) - 1 and "." in g:
            if not is_ipv4(g):
                return -1
            n += 2
            continue
        if not 1 <= len(g) <= 4:
            return -1
        for c in g:
            if c not in HEX:
                return -1
        n += 1
    return n


def is_ipv6(s, zone=True):
    """RFC 4291 text form, with an optional IPv4 tail and (zone=True) a %zone of name characters."""
    if not isinstance(s, str) or not 2 <= len(s) <= 64:
        return False
    if "%" in s:
        s, z = s.split("%", 1)
        if not zone or not is_name(z):
            return False
    if ":" not in s:
        return False
    if "::" in s:
        head, tail = s.split("::", 1)
        if "::" in tail or head.endswith(":") or tail.startswith(":"):
            return False
        h, t = _groups(head), _groups(tail)
        if h < 0 or t < 0 or (head and "." in head):
            return False
        return h + t <= 7
    return _groups(s) == 8


def is_ip(s):
    return is_ipv4(s) or is_ipv6(s)


def ip_family(s):
    """"ipv4", "ipv6" or None for an address literal without a zone (probe targets, addresses read
    from `ip` that go into a command line)."""
    if is_ipv4(s):
        return "ipv4"
    if is_ipv6(s, zone=False):
        return "ipv6"
    return None


PATH_CHARS = NAME_CHARS + "/"


def is_path(s, maxlen=128):
    """An absolute file path of name characters only: safe as one shell argument."""
    if not isinstance(s, str) or not 2 <= len(s) <= maxlen or s[0] != "/" or ".." in s:
        return False
    for c in s:
        if c not in PATH_CHARS:
            return False
    return True
