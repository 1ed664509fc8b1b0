# modem/messages.py: USSD (27.007 AT+CUSD) and reading/deleting received SMS in text mode
# (27.005 AT+CMGR/AT+CMGD) through the manager's AT engine; for the carrier calibration
# (wanwatch/carrier.py), loaded only when it is configured. Parsers are pure.
#
# USSD: `AT+CUSD=1,"<code>",15` answers OK and the network's reply comes as
# `+CUSD: <m>[,"<text>"[,<dcs>]]` - before the OK on some modems, as a URC seconds later on most.
# The text may span lines (a line break inside the quotes) and is hex UCS2 when dcs says so.
from .vendors.generic import fields

URC_ONLY = "\x01"  # a reply prefix no line starts with: every line of the reply reaches the URC
#                    subscribers, in the order it arrived (a multi-line +CUSD stays in one piece)
MAX_LINES = 12
WAIT_S = 0.2
CUSD_STATUS = {0: "no further action", 1: "further action required", 2: "terminated by the network",
               3: "answered by another client", 4: "operation not supported", 5: "network time out"}
HEX = "0123456789abcdefABCDEF"


def _is_hex(s):
    for c in s:
        if c not in HEX:
            return False
    return True


def ucs2_dcs(dcs):
    """3GPP 23.038 CBS coding: is the text UCS2 (hex on the AT interface)?"""
    if dcs is None:
        return False
    return dcs == 0x11 or (dcs & 0xCC) == 0x48 or (dcs & 0xFC) == 0x98


def decode(s, dcs=None):
    """Text of a reply: hex UCS2 decoded when dcs says so, or when it looks like it (all hex in
    groups of 4, mostly 00xx: a modem with CSCS="UCS2" prints every text so)."""
    if len(s) >= 4 and len(s) % 4 == 0 and _is_hex(s):
        groups = len(s) // 4
        latin = 0
        for i in range(0, len(s), 4):
            if s[i:i + 2] == "00":
                latin += 1
        if ucs2_dcs(dcs) or (groups >= 2 and latin * 2 >= groups):
            out = []
            for i in range(0, len(s), 4):
                c = int(s[i:i + 4], 16)
                out.append(chr(c) if c >= 32 and not 0xD800 <= c < 0xE000 else " ")
            return "".join(out)
    return s


def parse_cusd(text):
    """(m, text or None, dcs or None) of a `+CUSD:` reply (possibly several lines joined by \\n)."""
    body = text[6:].strip() if text.startswith("+CUSD:") else text.strip()
    head, _, rest = body.partition(",")
    try:
        m = int(head.strip())
    except ValueError:
        m = None
    rest = rest.strip()
    if not rest.startswith('"'):
        return m, None, None
    end = rest.rfind('"')
    if end <= 0:  # never closed (a line lost): take what came
        return m, rest[1:], None
    tail = rest[end + 1:].strip().lstrip(",").strip()
    try:
        dcs = int(tail) if tail else None
    except ValueError:
        dcs = None
    return m, rest[1:end], dcs


def parse_cmgr(lines):
    """(sender, text) of a text-mode `+CMGR:` reply, or None."""
    head = None
    body = []
    for l in lines or ():
        if head is None:
            if l.startswith("+CMGR:"):
                head = l
        else:
            body.append(l)
    if head is None:
        return None
    f = fields(head, "+CMGR:")
    return (f[1] if len(f) > 1 else None), decode("\n".join(body))


async def ussd(mm, code, timeout):
    """{"text", "status", "error"}: the network's USSD answer to code (text None when none)."""
    from ..compat import asyncio
    got = []
    st = [False]  # the answer is complete

    def on(line):
        if st[0]:
            return
        if line.startswith("+CUSD:"):
            del got[:]
            got.append(line)
        elif not got or len(got) >= MAX_LINES:
            return
        else:
            got.append(line)  # a line break inside the quoted text
        if "\n".join(got).count('"') % 2 == 0:
            st[0] = True

    mm.on_urc(on)
    try:
        await mm.command('AT+CSCS="GSM"')  # text, not hex, on modems that honour it
        r = await mm.command('AT+CUSD=1,"%s",15' % code, timeout, URC_ONLY)
        if not r.ok:
            return {"text": None, "status": None, "error": "AT+CUSD refused: %s" % (r.text or r.code or r.final)}
        end = mm.clock.monotonic() + timeout
        while not st[0] and mm.clock.monotonic() < end:
            await asyncio.sleep(WAIT_S)
    finally:
        mm.off_urc(on)
    if not got:
        return {"text": None, "status": None, "error": "no answer within %d s" % timeout}
    m, text, dcs = parse_cusd("\n".join(got))
    if m == 1:
        await mm.command("AT+CUSD=2")  # the network opened a menu: close the session
    if text is None:
        return {"text": None, "status": m, "error": "+CUSD: %s (%s)" % (m, CUSD_STATUS.get(m, "?"))}
    return {"text": decode(text, dcs), "status": m, "error": None}


async def read_sms(mm, mem, index):
    """(sender, text) of the message at index of storage mem (text mode), or None."""
    if mem:
        await mm.command('AT+CPMS="%s"' % mem)
    r = await mm.command("AT+CMGR=%d" % index, 10, "")  # bare: the text lines carry no prefix
    if not r.ok:
        return None
    return parse_cmgr(r.lines)


async def delete_sms(mm, index):
    r = await mm.command("AT+CMGD=%d" % index)
    return r.ok
