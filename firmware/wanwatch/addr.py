# addr.py: IP address literals: the check that lets an address reach a command line (`ip`,
# `conntrack`) or a probe socket, and which family it belongs to. Pure string checks: MicroPython
# has no ipaddress module and no inet_pton.
HEX = "0123456789abcdefABCDEF"


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


def is_ipv6(s):
    """An IPv6 literal (RFC 4291 text forms, optional trailing dotted IPv4); no zone, no prefix."""
    if not isinstance(s, str) or not 2 <= len(s) <= 45 or ":" not in s:
        return False
    if s.count("::") > 1:
        return False
    groups = 8
    tail = s.rsplit(":", 1)[1]
    if "." in tail:
        if not is_ipv4(tail):
            return False
        s = s[:len(s) - len(tail)] + "0:0"
    if "::" in s:
        head, rest = s.split("::")
        parts = (head.split(":") if head else []) + (rest.split(":") if rest else [])
        if len(parts) > groups - 1:
            return False
    else:
        parts = s.split(":")
        if len(parts) != groups:
            return False
    for p in parts:
        if not 1 <= len(p) <= 4:
            return False
        for c in p:
            if c not in HEX:
                return False
    return True


def family(s):
    """"ipv4", "ipv6" or None."""
    if is_ipv4(s):
        return "ipv4"
    if is_ipv6(s):
        return "ipv6"
    return None


def is_ip(s):
    return family(s) is not None
