"""Scenario files for fault injection: one step per line, `at <seconds> <action> [args]`.

  at 5 set rsrp_dbm=-110 sinr_db=2      change state keys
  at 10 register lost|denied|home|roaming|searching
  at 12 sim removed|inserted
  at 15 reboot                           RDY and boot URCs, echo back on, counters reset
  at 20 hang 10                          no answer at all for 10 s (hang without a number: forever)
  at 30 garbage 64                       random bytes on the line
  at 31 split on|off                     replies written in small random chunks
  at 40 urc_flood 200                    a burst of URCs
  at 45 counters +1000000                data counters grow (rx and tx)
  at 50 urc +CEREG: 2                    one URC line
  at 0 ussd *123# Te quedan 7.44 GB      the network's answer to a USSD code (none: +CUSD: 4)
  at 55 sms_in +491700 Your data: 2 GB   an SMS arrives (+CMTI, read with AT+CMGR)
  at 0 sms_reply 22555 o2 Datenvolumen von 2821 MB   SMS to 22555 is answered by "o2"
Lines starting with # are comments.
"""

REG = {"lost": 0, "home": 1, "searching": 2, "denied": 3, "roaming": 5}


class ScenarioError(ValueError):
    pass


def parse_scenario(path_or_text):
    text = path_or_text
    if "\n" not in path_or_text and not path_or_text.startswith("at "):
        with open(path_or_text) as f:
            text = f.read()
    steps = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 3)
        if len(parts) < 3 or parts[0] != "at":
            raise ScenarioError("line %d: expected 'at <seconds> <action> [args]': %r" % (n, line))
        try:
            t = float(parts[1])
        except ValueError:
            raise ScenarioError("line %d: bad time %r" % (n, parts[1]))
        steps.append((t, parts[2], parts[3] if len(parts) > 3 else ""))
    return sorted(steps, key=lambda s: s[0])


def apply_step(emu, action, args):
    if action == "set":
        kw = {}
        for item in args.split():
            k, _, v = item.partition("=")
            try:
                kw[k] = int(v)
            except ValueError:
                try:
                    kw[k] = float(v)
                except ValueError:
                    kw[k] = None if v == "none" else v
        emu.set(**kw)
    elif action == "register":
        stat = REG[args.strip()]
        emu.set(creg=stat, cgreg=stat, cereg=stat)
    elif action == "sim":
        emu.set(cpin=None if args.strip() == "removed" else "READY")
    elif action == "reboot":
        emu.reboot()
    elif action == "hang":
        emu.hang(float(args) if args.strip() else None)
    elif action == "garbage":
        emu.garbage(int(args or 32))
    elif action == "split":
        emu.split_writes = args.strip() == "on"
    elif action == "urc_flood":
        emu.urc_flood(int(args or 100))
    elif action == "counters":
        n = int(args.strip().lstrip("+"))
        with emu.lock:
            emu.state["rx_bytes"] += n
            emu.state["tx_bytes"] += n // 4
    elif action == "urc":
        emu.inject_urc(args)
    elif action in ("ussd", "sms_in", "sms_reply"):
        parts = args.split(None, 2 if action == "sms_reply" else 1)
        if len(parts) < (3 if action == "sms_reply" else 1):
            raise ScenarioError("%s needs %s" % (action, "NUMBER SENDER TEXT" if action == "sms_reply" else "two words"))
        if action == "ussd":
            emu.ussd_reply(parts[0], parts[1] if len(parts) > 1 and parts[1] != "none" else None)
        elif action == "sms_in":
            emu.deliver_sms(parts[0], parts[1] if len(parts) > 1 else "")
        else:
            emu.auto_reply(parts[0], parts[1], parts[2])
    else:
        raise ScenarioError("unknown action %r" % action)
