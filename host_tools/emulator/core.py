"""Modem emulator core: a pty that answers AT commands like a real modem.

Echo is on until ATE0 (as on real modems), replies use V.250 verbose framing (\\r\\n<line>\\r\\n,
final \\r\\nOK\\r\\n), AT+CMEE selects the error form, the SMS prompt "> " has no line ending. A
profile (profiles.py) renders each command from one state dict, so tests can compare what the
agent reports with `expected()`. Faults (hang, garbage, split writes, reboot, URC floods) are
injected through the Python API or a scenario file.
"""
import os
import pty
import random
import select
import threading
import time
import tty

from . import profiles
from .replay import load_replay

CTRL_Z = 0x1A
ESC = 0x1B
SIM_SLOTS = 30  # SMS a SIM holds


class Emulator:
    def __init__(self, profile="generic", replay=None, scenario=None, seed=1):
        self.profile = profiles.get(profile)
        self.profile_name = profile
        self.state = dict(self.profile.DEFAULTS)
        self.replay = load_replay(replay) if replay else None
        self._replay_pos = {}
        self.scenario = scenario
        self.rnd = random.Random(seed)
        self.lock = threading.RLock()
        self.echo = True
        self.cmee = 0
        self.cops_format = 0
        self.hung_until = None
        self.split_writes = False
        self.urc_inside_reply = False
        self.commands = []
        self.sms_sent = []
        self._sms = None  # pending AT+CMGS number while collecting text
        self.ussd = {}           # code -> (reply text, dcs): the network's scripted USSD answers
        self.ussd_inline = False  # answer +CUSD before the OK (some modems) instead of a URC after it
        self.ussd_delay = 0.3
        self.inbox = {}          # SIM index -> [status, sender, timestamp, text]
        self.sms_replies = []    # (number, keyword, sender, text, delay): the network answers an SMS
        self._buf = b""
        self._pending_urcs = []
        self.master = self.slave = None
        self.path = None
        self.link = None
        self._stop = threading.Event()
        self._thread = None
        self._scenario_thread = None

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self, link=None):
        self.master, self.slave = pty.openpty()
        tty.setraw(self.master)
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        if link:
            if os.path.islink(link) or os.path.exists(link):
                os.remove(link)
            os.symlink(self.path, link)
            self.link = link
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        if self.scenario:
            self.run_scenario(self.scenario)
        return self.link or self.path

    @property
    def port(self):
        return self.link or self.path

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(2)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except (OSError, TypeError):
                pass
        if self.link and os.path.islink(self.link):
            os.remove(self.link)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *a):
        self.stop()

    # --- test API ------------------------------------------------------------------------------
    def set(self, **kw):
        with self.lock:
            for k, v in kw.items():
                if k not in self.state:
                    raise KeyError("unknown emulator state key %r" % k)
                self.state[k] = v

    def expected(self):
        with self.lock:
            return self.profile.expected(self.state)

    def inject_urc(self, line):
        self._write(b"\r\n" + line.encode() + b"\r\n")

    def reboot(self, delay=0.3):
        """Modem restart: echo back on, CMEE reset, boot URCs after a short delay."""
        with self.lock:
            self.echo = True
            self.cmee = 0
            self._buf = b""
            self._sms = None
            self.state["rx_bytes"] = 0
            self.state["tx_bytes"] = 0

        def boot():
            time.sleep(delay)
            for u in self.profile.BOOT_URCS:
                self.inject_urc(u)
        threading.Thread(target=boot, daemon=True).start()

    def ussd_reply(self, code, text, dcs=15):
        """The network answers AT+CUSD=1,"<code>" with text (a \n in it spans lines, as real
        networks do; dcs 72 sends it as hex UCS2). None removes the code (answer +CUSD: 4)."""
        with self.lock:
            if text is None:
                self.ussd.pop(code, None)
            else:
                self.ussd[code] = (text, dcs)

    def deliver_sms(self, sender, text):
        """An SMS arrives: stored in the first free SIM slot and announced as +CMTI: "SM",<index>.
        Returns the index, or None when the SIM is full."""
        with self.lock:
            idx = 0
            while idx in self.inbox:
                idx += 1
            if idx >= SIM_SLOTS:
                return None
            self.inbox[idx] = ["REC UNREAD", sender, time.strftime("%y/%m/%d,%H:%M:%S+00"), text]
        self.inject_urc('+CMTI: "SM",%d' % idx)
        return idx

    def auto_reply(self, number, sender, text, keyword=None, delay=0.5):
        """When an SMS to number (containing keyword, any case, if given) is sent, the network
        answers with text from sender after delay seconds."""
        with self.lock:
            self.sms_replies.append((number, keyword, sender, text, delay))

    def hang(self, seconds=None):
        self.hung_until = float("inf") if seconds is None else time.time() + seconds

    def unhang(self):
        self.hung_until = None

    def garbage(self, nbytes=32):
        self._write(bytes(self.rnd.randrange(256) for _ in range(nbytes)))

    def urc_flood(self, n=100):
        for i in range(n):
            self.inject_urc(self.profile.FLOOD_URC)

    def run_scenario(self, path_or_steps):
        from .scenario import parse_scenario
        steps = parse_scenario(path_or_steps) if isinstance(path_or_steps, str) else path_or_steps

        def play():
            t0 = time.time()
            for at, action, args in steps:
                while time.time() - t0 < at:
                    if self._stop.wait(0.05):
                        return
                self.apply(action, args)
        self._scenario_thread = threading.Thread(target=play, daemon=True)
        self._scenario_thread.start()

    def play(self, steps):
        """Run a list of (seconds, action, args) steps (same actions as scenario files)."""
        self.run_scenario(list(steps))

    def apply(self, action, args):
        from .scenario import apply_step
        apply_step(self, action, args)

    # --- serving -------------------------------------------------------------------------------
    def _write(self, data):
        if self.master is None:
            return
        try:
            if self.split_writes:
                i = 0
                while i < len(data):
                    n = self.rnd.randint(1, 7)
                    os.write(self.master, data[i:i + n])
                    i += n
                    time.sleep(0.001)
            else:
                os.write(self.master, data)
        except OSError:
            pass

    def _serve(self):
        while not self._stop.is_set():
            try:
                r, _, _ = select.select([self.master], [], [], 0.1)
            except (OSError, ValueError):
                return
            if not r:
                continue
            try:
                data = os.read(self.master, 1024)
            except OSError:
                return
            if self.hung_until is not None:
                if time.time() < self.hung_until:
                    continue  # a hung modem swallows everything
                self.hung_until = None
            self._feed(data)

    def _feed(self, data):
        for b in data:
            if self._sms is not None:
                self._sms_byte(b)
                continue
            if b in (13, 10):
                line = self._buf
                self._buf = b""
                if b == 13 and line.strip():
                    self._command(line)
                continue
            self._buf += bytes([b])

    def _sms_byte(self, b):
        if b == CTRL_Z:
            number, text = self._sms
            self._sms = None
            with self.lock:
                body = text.decode(errors="replace")
                self.sms_sent.append((number, body))
                mr = len(self.sms_sent) % 256
                due = [r for r in self.sms_replies
                       if r[0] == number and (r[1] is None or r[1].lower() in body.lower())]
            self._write(b"\r\n+CMGS: %d\r\n\r\nOK\r\n" % mr)
            for _, _, sender, reply, delay in due:
                threading.Timer(delay, self.deliver_sms, (sender, reply)).start()
        elif b == ESC:
            self._sms = None
            self._write(b"\r\nOK\r\n")
        elif b == 13:
            self._write(b"\r\n> ")
        else:
            self._sms = (self._sms[0], self._sms[1] + bytes([b]))

    def _command(self, raw):
        cmd = raw.decode(errors="replace").strip()
        with self.lock:
            self.commands.append(cmd)
            del self.commands[:-200]
            echo = self.echo
        out = raw + b"\r" if echo else b""
        if self.replay is not None:
            # replay blocks are sent back verbatim, each line CRLF-terminated (no framing added)
            for l in self._answer_replay(cmd):
                out += l.encode() + b"\r\n"
            self._write(out)
            return
        for i, part in enumerate(self._split_chain(cmd)):
            lines, final = self._answer(part)
            if final == "PROMPT":
                self._write(out + b"\r\n> ")
                return
            for l in lines:
                out += b"\r\n" + l.encode() + b"\r\n"
                if self.urc_inside_reply and self._pending_urcs:
                    out += b"\r\n" + self._pending_urcs.pop(0).encode() + b"\r\n"
            if final != "OK":
                out += b"\r\n" + final.encode() + b"\r\n"
                self._write(out)
                return
        self._write(out + b"\r\nOK\r\n")

    @staticmethod
    def _split_chain(cmd):
        if ";" not in cmd or not cmd.upper().startswith("AT") or '"' in cmd:
            return [cmd]
        parts = cmd.split(";")
        return [parts[0]] + ["AT" + p for p in parts[1:] if p]

    def error(self, code, text):
        if self.cmee == 1:
            return "+CME ERROR: %d" % code
        if self.cmee == 2:
            return "+CME ERROR: %s" % text
        return "ERROR"

    def _answer(self, cmd):
        """(info lines, final) for one command: the replay file first, then the profile."""
        u = cmd.upper()
        with self.lock:
            if u in ("ATE0", "ATE1", "ATE"):
                self.echo = u == "ATE1"
                return [], "OK"
            if u.startswith("AT+CMEE="):
                try:
                    self.cmee = int(u[8:])
                except ValueError:
                    return [], self.error(50, "incorrect parameters")
                return [], "OK"
            if u.startswith("AT+CMGS="):
                if self.state["cpin"] is None:
                    return [], "+CMS ERROR: 310"
                self._sms = (cmd.split("=", 1)[1].strip('"'), b"")
                return [], "PROMPT"
            if u.startswith(("AT+CUSD", "AT+CMGR=", "AT+CMGD=", "AT+CPMS", "AT+CMGL", "AT+CNMI")):
                return self._messages(cmd, u)
            res = self.profile.answer(self, cmd, u)
        if res is None:
            return [], "ERROR"
        return res

    def _messages(self, cmd, u):
        """USSD and the SIM's received messages (text mode), the same for every profile."""
        if self.state["cpin"] is None:
            return [], "+CMS ERROR: 310" if not u.startswith("AT+CUSD") else self.error(10, "SIM not inserted")
        if u.startswith("AT+CUSD"):
            if u == "AT+CUSD?":
                return ["+CUSD: 1"], "OK"
            args = cmd.split("=", 1)[1].split(",") if "=" in cmd else []
            if not args or args[0].strip() not in ("0", "1", "2"):
                return [], self.error(50, "incorrect parameters")
            if len(args) < 2:
                return [], "OK"  # presentation on/off, or cancel the session
            code = args[1].strip().strip('"')
            text, dcs = self.ussd.get(code, (None, None))
            if text is None:
                line = "+CUSD: 4"
            else:
                if dcs == 72:
                    text = text.encode("utf-16-be").hex().upper()
                line = '+CUSD: 0,"%s",%d' % (text, dcs)
            if self.ussd_inline:
                return [line], "OK"
            threading.Timer(self.ussd_delay, self.inject_urc, (line,)).start()
            return [], "OK"
        if u.startswith("AT+CNMI"):
            return [], "OK"
        if u.startswith("AT+CPMS"):
            n = len(self.inbox)
            return ["+CPMS: %d,%d,%d,%d,%d,%d" % (n, SIM_SLOTS, n, SIM_SLOTS, n, SIM_SLOTS)], "OK"
        if u.startswith("AT+CMGL"):
            lines = []
            for i in sorted(self.inbox):
                st, sender, ts, text = self.inbox[i]
                lines += ['+CMGL: %d,"%s","%s",,"%s"' % (i, st, sender, ts)] + text.split("\n")
            return lines, "OK"
        try:
            arg = u.split("=", 1)[1].split(",")
            idx = int(arg[0])
        except (IndexError, ValueError):
            return [], "+CMS ERROR: 321"
        if u.startswith("AT+CMGD="):
            if len(arg) > 1 and arg[1].strip() == "4":
                self.inbox.clear()
            else:
                self.inbox.pop(idx, None)
            return [], "OK"
        msg = self.inbox.get(idx)
        if msg is None:
            return [], "+CMS ERROR: 321"  # invalid memory index
        head = '+CMGR: "%s","%s",,"%s"' % (msg[0], msg[1], msg[2])
        msg[0] = "REC READ"
        return [head] + msg[3].split("\n"), "OK"

    def _answer_replay(self, cmd):
        """Lines to send for cmd from the replay file; a command not in the file gets ERROR. The same
        command appearing several times in the file is answered with its blocks in turn."""
        u = cmd.strip()
        if u.upper() in ("ATE0", "ATE1"):
            self.echo = u.upper() == "ATE1"
            if u not in self.replay:
                return ["", "OK"]
        blocks = self.replay.get(u)
        if not blocks:
            return ["", "ERROR"]
        i = self._replay_pos.get(u, 0)
        self._replay_pos[u] = min(i + 1, len(blocks) - 1)
        return blocks[i]
