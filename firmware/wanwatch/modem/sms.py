# modem/sms.py: text-mode SMS over the AT engine (27.005): AT+CMGF=1, AT+CSCS="GSM", AT+CMGS="<da>",
# the "> " prompt, the text, Ctrl-Z. One message, never split: a longer text is shortened visibly.
# Failures come back as a result, never as an exception (the SMS fallback counts them).
SMS_MAX = 160


def sms_number_ok(number):
    if not isinstance(number, str) or not 3 <= len(number) <= 20:
        return False
    body = number[1:] if number.startswith("+") else number
    return body.isdigit()


def sms_text(text):
    """One single SMS of GSM-safe text: printable ASCII only (a CR would open a new prompt), and
    over 160 characters shortened visibly with '...' instead of split silently."""
    out = []
    for c in str(text):
        o = ord(c)
        if c in "\r\n\t":
            out.append(" ")
        elif 32 <= o < 127 and c not in "[]{}\\^~|`":  # GSM-7 escape characters cost two septets
            out.append(c)
        else:
            out.append("?")
    s = "".join(out).strip()
    if len(s) > SMS_MAX:
        s = s[:SMS_MAX - 3] + "..."
    return s


async def send_sms(at, number, text):
    """-> {"ok", "mr", "error", "text"}. at: the ATEngine, or None when the modem is not open."""
    if not sms_number_ok(number):
        return {"ok": False, "mr": None, "error": "invalid number %r" % (number,), "text": None}
    if at is None:
        return {"ok": False, "mr": None, "error": "modem not available", "text": None}
    body = sms_text(text)
    r = await at.command("AT+CMGF=1")
    if not r.ok:
        return {"ok": False, "mr": None, "error": "text mode refused: %s" % (r.text or r.code or r.final), "text": body}
    await at.command('AT+CSCS="GSM"')
    r = await at.command_with_prompt('AT+CMGS="%s"' % number, body.encode() + b"\x1a")
    mr = None
    for line in r.lines:
        if line.startswith("+CMGS:"):
            try:
                mr = int(line[6:].strip())
            except ValueError:
                pass
    if r.ok:
        return {"ok": True, "mr": mr, "error": None, "text": body}
    return {"ok": False, "mr": None, "error": "%s %s" % (r.final, r.code if r.code is not None else (r.text or "")),
            "text": body}
