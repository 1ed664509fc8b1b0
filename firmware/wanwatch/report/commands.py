# commands.py: signed remote commands arriving on <prefix>/<device_id>/cmd.
#
# Message: JSON object {id, ts, nonce, cmd, args, sig} (args optional). sig = lowercase hex of
# HMAC-SHA256(key, canonical(message without "sig")). canonical() is compact JSON with object keys
# sorted by code point, strings escaped only for '"', '\\' and control characters (non-ASCII is
# kept as UTF-8), integers in decimal, no floats. It is built by hand because dict order and
# json.dumps escaping differ between MicroPython and CPython. host_tools/sign.py implements the
# same rules for the signing side.
#
# Key (config commands.key): "hex:<hex digits>" is raw bytes, anything else is the UTF-8 text
# itself; at least 16 bytes. No key = commands disabled (every command rejected).
#
# A command is executed only if, in this order: payload <= 1024 bytes, valid JSON with exactly the
# known fields, good signature, ts within +-window_s (300) of clock.time(), nonce never seen (bounded
# persisted cache), known command, valid args. Any failure returns {id, ok:false, error} and runs
# nothing. The nonce is persisted before the handler runs, so a crash cannot open a replay.
# A payload too large to parse (here: > 1024 bytes; or one the MQTT client streamed past unread,
# over its 4 KiB packet limit) is answered by too_large() with the id found in its first bytes, if
# any: unverified, it only addresses the answer.
from . import hmac256
from .hmac256 import parse_key  # commands.key's rule, in the small module the validator also reads
from .. import log, store
from ..compat import asyncio, exc_text, loads
from ..names import is_name

MAX_PAYLOAD = 1024
MAX_NONCES = 64
ID_HEAD = 128  # bytes at the start of a too-large payload searched for its "id"
FIELDS = ("id", "ts", "nonce", "cmd", "args", "sig")

_log = log.Logger("commands")

# read-only AT queries the `at` command may run; anything else is refused
DEFAULT_AT_ALLOW = (
    "AT", "ATI", "AT+CGMI", "AT+CGMM", "AT+CGMR", "AT+CGSN", "AT+CIMI", "AT+CCID", "AT+ICCID",
    "AT+QCCID", "AT+CSQ", "AT+CESQ", "AT+CREG?", "AT+CGREG?", "AT+CEREG?", "AT+C5GREG?", "AT+COPS?",
    "AT+CPIN?", "AT+CFUN?", "AT+CGDCONT?", "AT+CGACT?", "AT+CGPADDR", "AT+QNWINFO", "AT+QCSQ",
    'AT+QENG="SERVINGCELL"', "AT+QTEMP", "AT+QSPN", "AT+CPSI?", "AT^SYSINFOEX", "AT^HCSQ?",
    "AT!GSTATUS?", "AT+UCGED?", "AT#RFSTS", "AT#SERVINFO",
)

# command -> ((arg, kind, required), ...)
SCHEMAS = {
    "status": (),
    "force_failover": (("link", "name", False),),
    "failback": (),
    "set_cap": (("cap_mb", "cap", True),),
    "reset_usage": (),
    "modem_reset": (),
    "reload_config": (),
    "at": (("command", "at", True),),
    "budget": (("action", "budget", True), ("rate_kbit", "budget", False), ("steps", "budget", False)),
}


class CommandError(Exception):
    pass


def canonical(obj, depth=0):
    """The exact text that is signed (see header)."""
    if depth > 8:
        raise CommandError("nesting too deep")
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, str):
        out = ['"']
        for ch in obj:
            if ch == '"' or ch == "\\":
                out.append("\\" + ch)
            elif ord(ch) < 0x20:
                out.append("\\u%04x" % ord(ch))
            else:
                out.append(ch)
        out.append('"')
        return "".join(out)
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join([canonical(v, depth + 1) for v in obj]) + "]"
    if isinstance(obj, dict):
        parts = []
        for k in sorted(obj):
            if not isinstance(k, str):
                raise CommandError("object keys must be strings")
            parts.append(canonical(k) + ":" + canonical(obj[k], depth + 1))
        return "{" + ",".join(parts) + "}"
    raise CommandError("unsupported value type %s (numbers must be integers)" % type(obj).__name__)


def sign(key, msg):
    """Signature for msg (dict without sig) with key bytes."""
    return hmac256.hexdigest(key, canonical(msg))


def recover_id(head):
    """The "id" string of a JSON command from its first bytes (`{"id":"c1",...`, as
    `wanwatch-host sign` writes it), or None: not there, escaped, not 1-64 printable characters."""
    i = head.find(b'"id"')
    if i < 0:
        return None
    j = _after_space(head, i + 4)
    if j >= len(head) or head[j] != 0x3A:  # ':'
        return None
    j = _after_space(head, j + 1)
    if j >= len(head) or head[j] != 0x22:  # '"'
        return None
    k = head.find(b'"', j + 1)
    if k < 0 or not 1 <= k - j - 1 <= 64:
        return None
    raw = head[j + 1:k]
    for b in raw:
        if b < 0x20 or b == 0x5C or b == 0x7F:  # control characters, backslash (escapes)
            return None
    try:
        return bytes(raw).decode()
    except UnicodeError:
        return None


def _after_space(buf, j):
    while j < len(buf) and buf[j] in (0x20, 0x09, 0x0A, 0x0D):
        j += 1
    return j


def too_large_error(size):
    return "payload too large (%d > %d bytes)" % (size, MAX_PAYLOAD)


class Commands:
    def __init__(self, cfg, clock, state_dir, handlers, events=None):
        from . import schema  # the commands.* defaults (loaded at start-up only)
        c = schema.settings(cfg.get("commands"), schema.COMMANDS)
        self.clock = clock
        self.key = parse_key(c["key"])
        self.window_s = c["window_s"]
        allow = c["at_allow"] or DEFAULT_AT_ALLOW
        self.at_allow = [a.upper() for a in allow]
        self.handlers = handlers or {}
        self.events = events
        self.timeout_s = c["timeout_s"]
        self.path = state_dir + "/cmd_nonces.json"
        store.makedirs(state_dir)
        n = store.read_json(self.path, [])
        self.nonces = n if isinstance(n, list) else []
        self.executed = 0
        self.rejected = 0
        self._authentic = False

    # --- validation (pure apart from the clock) ---------------------------------------------------
    def check(self, payload):
        """(msg, None) when the command may run, else (msg_or_None, reason)."""
        if self.key is None:
            return None, "commands disabled: no valid commands.key configured"
        if len(payload) > MAX_PAYLOAD:
            return None, too_large_error(len(payload))
        try:
            msg = loads(payload)
        except Exception:  # ValueError, UnicodeError, RuntimeError (deep nesting on MicroPython)
            return None, "malformed JSON"
        if not isinstance(msg, dict):
            return None, "command must be a JSON object"
        for k in msg:
            if k not in FIELDS:
                return msg, "unexpected field %r" % k
        cid = msg.get("id")
        if not isinstance(cid, str) or not 1 <= len(cid) <= 64:
            return msg, "id must be a string of 1-64 characters"
        ts = msg.get("ts")
        if isinstance(ts, bool) or not isinstance(ts, int):
            return msg, "ts must be an integer (epoch seconds)"
        nonce = msg.get("nonce")
        if not isinstance(nonce, str) or not 8 <= len(nonce) <= 64:
            return msg, "nonce must be a string of 8-64 characters"
        if not isinstance(msg.get("cmd"), str):
            return msg, "cmd must be a string"
        if "args" in msg and not isinstance(msg["args"], dict):
            return msg, "args must be an object"
        sig = msg.get("sig")
        if not isinstance(sig, str) or len(sig) != 64:
            return msg, "sig must be 64 hex characters"
        body = {}
        for k in msg:
            if k != "sig":
                body[k] = msg[k]
        try:
            want = sign(self.key, body)
        except CommandError as e:
            return msg, "malformed args: %s" % e
        if not hmac256.equal(want, sig.lower()):
            return msg, "bad signature"
        self._authentic = True
        now = self.clock.time()
        if abs(now - ts) > self.window_s:
            return msg, "timestamp outside +-%ds of device time" % self.window_s
        for n in self.nonces:
            if n[0] == nonce:
                return msg, "replayed nonce"
        cmd = msg["cmd"]
        if cmd not in SCHEMAS:
            return msg, "unknown command %r" % cmd[:32]
        err = self._check_args(cmd, msg.get("args") or {})
        if err:
            return msg, "bad args: " + err
        return msg, None

    def _check_args(self, cmd, args):
        schema = SCHEMAS[cmd]
        names = [s[0] for s in schema]
        for k in args:
            if k not in names:
                return "unknown argument %r for %s" % (k[:32], cmd)
        if cmd == "budget":  # the budget policy owns its command's rules
            from ..usage.budget import check_command
            return check_command(args)
        for name, kind, required in schema:
            if name not in args:
                if required:
                    return "%s needs %r" % (cmd, name)
                continue
            v = args[name]
            if kind == "name" and not is_name(v):
                return "%s must be a link name" % name
            if kind == "cap":
                if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= 10000000):
                    return "cap_mb must be an integer 1..10000000 or null"
            if kind == "at":
                if not isinstance(v, str) or v.strip().upper() not in self.at_allow:
                    return "AT command not in the read-only allowlist"
        return None

    def _remember(self, nonce, ts):
        """Persist the nonce before execution. Entries older than 2 windows can no longer pass the
        ts check and are forgotten; if the cache is full of fresh ones we refuse (rate limit)."""
        now = self.clock.time()
        keep = [n for n in self.nonces if abs(now - n[1]) <= 2 * self.window_s]
        if len(keep) >= MAX_NONCES:
            return False
        keep.append([nonce, ts])
        self.nonces = keep
        store.write_json(self.path, keep)
        return True

    # --- execution ------------------------------------------------------------------------------
    def too_large(self, size, head):
        """The answer to a command payload of size bytes over MAX_PAYLOAD of which only head (its
        first bytes) is known; nothing runs. {id, cmd: null, ok: false, error}: the id as found in
        head, or null and the error says so."""
        self.rejected += 1
        if self.key is None:
            return {"id": None, "cmd": None, "ok": False, "error": "commands disabled: no valid commands.key configured"}
        cid = recover_id(bytes(head[:ID_HEAD]))
        err = too_large_error(size)
        if cid is None:
            err += "; no id in its first %d bytes" % ID_HEAD
        return {"id": cid, "cmd": None, "ok": False, "error": err}

    async def handle(self, payload):
        """Validate and run one command; returns the result document (never raises)."""
        payload = bytes(payload)
        if len(payload) > MAX_PAYLOAD:
            return self.too_large(len(payload), payload[:ID_HEAD])
        self._authentic = False
        msg, err = self.check(payload)
        authentic = self._authentic  # read now: another command may run while this one awaits
        cid = msg.get("id") if isinstance(msg, dict) and isinstance(msg.get("id"), str) else None
        cmd = msg.get("cmd") if isinstance(msg, dict) and isinstance(msg.get("cmd"), str) else None
        if err is None and not self._remember(msg["nonce"], msg["ts"]):
            err = "too many commands: try again later"
        if err is None and cmd not in self.handlers:
            err = "command %s not supported on this device" % cmd
        result = None
        if err is None:
            try:
                result = await asyncio.wait_for(self.handlers[cmd](msg.get("args") or {}), self.timeout_s)
            except asyncio.TimeoutError:
                err = "timed out after %ss" % self.timeout_s
            except Exception as e:
                err = "failed: " + exc_text(e)
        doc = {"id": cid, "cmd": cmd, "ok": err is None}
        if err is None:
            self.executed += 1
            doc["result"] = result
        else:
            self.rejected += 1
            doc["error"] = err
        # only signed commands become events: forged traffic must not flood the outbox
        if self.events is not None and authentic:
            try:
                fields = {"id": cid, "cmd": cmd[:32], "ok": err is None}
                if err:
                    fields["error"] = err[:120]
                self.events.emit("command", **fields)
            except Exception as e:
                _log.error("event failed: %s", exc_text(e))
        return doc
