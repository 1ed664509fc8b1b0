# budget.py: a backup that lasts. While the metered link carries the site's traffic, the LAN's
# rate on it is limited (budget.rate_mbps), stepped down as the cap fills (budget.steps), with
# allowlisted destinations (card payments, VoIP) exempt; lifted at failback, at agent stop
# (`wanwatch --release`) and at a fresh start. See docs/usage.md (Budget policy).
#
# Mechanism: kernel traffic control, shaping (HTB), not policing. A shaper queues what is over the
# rate and lets TCP find the rate from the queue's delay; a policer (nftables `limit rate ... drop`)
# drops it, after it has crossed the metered link and been billed, and TCP refills the hole. On
# the bed at 1 and 3 Mbit/s both hold the average, but the policer threw away a third of what the
# SIM carried (bench/bench_budget.py). Downloads are shaped where they leave the router towards
# the LAN (egress of budget.lan_devices: no IFB, and the router's own traffic — probes, MQTT — never
# passes there); uploads on the egress of the metered link's device. Per device:
#   root htb 5757: (default 5757:10)
#     5757:10  exempt: allowlisted peers, the router's own LAN addresses, ICMP (uploads), non-IP
#     5757:20  limited: rate = ceil = the step's rate; leaf fq_codel (its target raised at low
#              rates), or bfifo (0.5 s, >= 128 KB) where the kernel has no fq_codel
# u32 filters pick the class: allowlist (by source for downloads, destination for uploads) and
# local addresses first, then every other IPv4/IPv6 packet into 5757:20. Only the handle 5757: is
# ever deleted (`tc qdisc del dev D root handle 5757:` fails on anyone else's qdisc); a device that
# carries a root qdisc of its own (sqm, another shaper) is left alone and the event says so.
# OpenWrt packages: tc-tiny (tc), kmod-sched-core (sch_htb, cls_u32; fq_codel is built in).
#
# Pure core: settings (BUDGET_DEFAULTS from usage/schema.py), step_for (which rate applies at a used
# share), BudgetCore (config + remote override -> wanted limit), the command lines and the parsers of `tc`/`ip` output. Edge: BudgetPolicy (one task; commands through sysrun.run,
# names through the non-blocking dns.Resolver).
from .. import log
from ..names import ip_family, is_name

HANDLE = "5757"
EXEMPT = HANDLE + ":10"
LIMITED = HANDLE + ":20"
LEAF = "5758"
EXEMPT_KBIT = 10000000   # 10 Gbit/s: the exempt class is not limited in practice
MIN_KBIT = 64
MAX_KBIT = 10000000
MAX_STEPS = 8
MAX_ALLOW = 16
MAX_ADDRS = 8            # addresses kept per allowlisted name
MAX_LOCAL = 8            # addresses of a LAN device exempted as the router's own
MTU = 1514
CMD_TIMEOUT_S = 5.0
RETRY_S = 30             # a failed apply is retried after this long

from . import schema as _schema

# the budget.* keys and their defaults are declared once, in usage/schema.py
BUDGET_DEFAULTS = dict([(e[0], e[2]) for e in _schema.BUDGET])
del _schema


def _num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _kbit(mbps):
    return int(mbps * 1000 + 0.5)


# --- settings ------------------------------------------------------------------------------------
def is_prefix(s):
    """(family, address, length) of "addr" or "addr/len", or None."""
    if not isinstance(s, str):
        return None
    a, n = s, None
    if "/" in s:
        a, n = s.split("/", 1)
        if not n.isdigit() or len(n) > 3:
            return None
        n = int(n)
    fam = ip_family(a)
    if fam is None:
        return None
    full = 32 if fam == "ipv4" else 128
    if n is None:
        n = full
    if n > full:
        return None
    return fam, a, n


def is_host(s):
    """A host name for the resolver: letters/digits/'-'/'_' labels, not all digits and dots."""
    if not isinstance(s, str) or not 1 <= len(s) <= 253:
        return False
    letters = False
    for label in s.rstrip(".").split("."):
        if not 1 <= len(label) <= 63:
            return False
        for c in label:
            if c.isalpha():
                letters = True
            elif not (c.isdigit() or c in "-_"):
                return False
    return letters


def _check_steps(steps, rate_key, lo, hi):
    """Reason text for a bad steps list (a remote command's), else None."""
    if not isinstance(steps, list) or len(steps) > MAX_STEPS:
        return "must be a list of at most %d {at_pct, %s} objects" % (MAX_STEPS, rate_key)
    seen = []
    for s in steps:
        if not isinstance(s, dict) or sorted(s) != sorted(["at_pct", rate_key]):
            return "each step must be {at_pct, %s}" % rate_key
        p, r = s["at_pct"], s[rate_key]
        if not _num(p) or not 0 < p <= 1000:
            return "at_pct must be a number in (0, 1000]"
        if not _num(r) or not lo <= r <= hi:
            return "%s must be a number between %s and %s" % (rate_key, lo, hi)
        if p in seen:
            return "two steps at %s%%" % p
        seen.append(p)
    return None


def settings(raw):
    """budget.* with defaults (raw already validated)."""
    s = {}
    for k in BUDGET_DEFAULTS:
        v = (raw or {}).get(k)
        d = BUDGET_DEFAULTS[k]
        s[k] = (list(d) if isinstance(d, tuple) else d) if v is None else v
    if s["steps"] is None:
        s["steps"] = []
    if s["allow"] is None:
        s["allow"] = []
    return s


def enabled(cfg):
    """A budget is configured: a rate or steps (the policy part is built only then)."""
    b = cfg.get("budget") or {}
    return b.get("rate_mbps") is not None or bool(b.get("steps"))


# --- remote command ------------------------------------------------------------------------------
ACTIONS = ("lift", "set", "resume")


def check_command(args):
    """Reason text for bad `budget` command args, else None. {action: lift | resume} or
    {action: set, rate_kbit: int|null, steps: [{at_pct, rate_kbit}] (optional)}."""
    a = args.get("action")
    if a not in ACTIONS:
        return "action must be one of " + ", ".join(ACTIONS)
    if a != "set":
        if "rate_kbit" in args or "steps" in args:
            return "%s takes no rate_kbit or steps" % a
        return None
    if "rate_kbit" not in args:
        return "set needs rate_kbit (null: none until a step applies)"
    r = args["rate_kbit"]
    if r is not None and (not isinstance(r, int) or isinstance(r, bool) or not MIN_KBIT <= r <= MAX_KBIT):
        return "rate_kbit must be an integer %d..%d or null" % (MIN_KBIT, MAX_KBIT)
    if "steps" in args:
        why = _check_steps(args["steps"], "rate_kbit", MIN_KBIT, MAX_KBIT)
        if why:
            return "steps: " + why
        for s in args["steps"]:
            if not isinstance(s["rate_kbit"], int) or not isinstance(s["at_pct"], int):
                return "steps: at_pct and rate_kbit must be integers"
    if r is None and not args.get("steps"):
        return "set with neither a rate nor steps: use lift"
    return None


# --- pure core -----------------------------------------------------------------------------------
def step_for(base_kbit, steps, used_pct):
    """(rate_kbit or None, at_pct or None) in force at used_pct: the step with the highest at_pct
    reached, else the base rate. steps: [(at_pct, kbit)] sorted by at_pct; used_pct None (no cap)
    reaches no step."""
    rate, at = base_kbit, None
    if used_pct is not None:
        for pct, kbit in steps:
            if used_pct >= pct:
                rate, at = kbit, pct
    return rate, at


class BudgetCore:
    """What limit the site should have: config (base rate + steps) or a remote override (lifted, or
    another rate/steps) that lasts until the metered link stops carrying traffic (failback) or the
    billing cycle rolls over."""

    def __init__(self, s):
        self.base = _kbit(s["rate_mbps"]) if s["rate_mbps"] is not None else None
        self.steps = sorted([(x["at_pct"], _kbit(x["rate_mbps"])) for x in s["steps"]])
        self.override = None  # None | "lift" | (base kbit or None, steps)

    def configured(self):
        return self.base is not None or bool(self.steps)

    def command(self, args):
        """Apply a checked command; returns the override now in force (None: config)."""
        a = args["action"]
        if a == "lift":
            self.override = "lift"
        elif a == "resume":
            self.override = None
        else:
            steps = self.steps
            if "steps" in args:
                steps = sorted([(x["at_pct"], x["rate_kbit"]) for x in args["steps"]])
            self.override = (args["rate_kbit"], steps)
        return self.override

    def end_override(self):
        had = self.override is not None
        self.override = None
        return had

    def wanted(self, carrying, used_pct):
        """(rate_kbit or None, at_pct or None): the limit for now. carrying: the metered link
        carries the site's traffic."""
        if not carrying or self.override == "lift":
            return None, None
        if self.override is not None:
            return step_for(self.override[0], self.override[1], used_pct)
        return step_for(self.base, self.steps, used_pct)


def leaf_params(kbit):
    """(fq_codel target us, interval us, bfifo limit bytes) for a limited class of kbit: CoDel's
    5 ms target is raised to 1.5 MTU times at low rates (a 1514-byte frame takes 12 ms at 1 Mbit/s),
    the interval by as much; the fallback FIFO holds 0.5 s, at least two 64 KB GSO packets."""
    ser = MTU * 8 * 1000 // kbit  # serialization time of one frame, us
    target = max(5000, ser * 3 // 2)
    interval = 100000 + (target - 5000)
    limit = max(kbit * 1000 // 16, 131072)
    return target, interval, limit


def _match(fam, field, entry):
    return "match %s %s %s/%d" % ("ip" if fam == "ipv4" else "ip6", field, entry[1], entry[2])


def shape_cmds(dev, kbit, field, exempt, icmp=False, fresh=True):
    """Command lines (for a `set -e` script) that put the limit on dev's egress. fresh: dev has
    the kernel's default root qdisc, ours is installed; else ours is there (HTB cannot change its
    own parameters: only the classes, the leaf and the filters are replaced). field: "src"
    (downloads, LAN egress) or "dst" (uploads); exempt: [(family, address, length)] validated
    entries; icmp: ICMP/ICMPv6 exempt too (the agent's probes leave there)."""
    if not is_name(dev) or field not in ("src", "dst") or not MIN_KBIT <= kbit <= MAX_KBIT:
        raise ValueError("budget: bad shaping arguments")
    target, interval, limit = leaf_params(kbit)
    q = "%s:" % HANDLE
    out = ["tc qdisc replace dev %s root handle %s htb default 10" % (dev, q)] if fresh else []
    out += ["tc class replace dev %s parent %s classid %s htb rate %dkbit ceil %dkbit burst 125000 cburst 125000 "
            "quantum 60000" % (dev, q, EXEMPT, EXEMPT_KBIT, EXEMPT_KBIT),
            "tc class replace dev %s parent %s classid %s htb rate %dkbit ceil %dkbit quantum %d"
            % (dev, q, LIMITED, kbit, kbit, MTU),
            "tc qdisc replace dev %s parent %s handle %s: fq_codel limit 1000 memory_limit 4194304 target %dus "
            "interval %dus 2>/dev/null || tc qdisc replace dev %s parent %s handle %s: bfifo limit %d"
            % (dev, LIMITED, LEAF, target, interval, dev, LIMITED, LEAF, limit),
            "tc filter del dev %s parent %s 2>/dev/null || :" % (dev, q)]
    filt = "tc filter add dev %s parent %s prio %d protocol %s u32 %s flowid %s"
    for e in exempt:
        fam = e[0]
        if is_prefix("%s/%d" % (e[1], e[2])) is None:
            raise ValueError("budget: bad exempt entry %r" % (e,))
        prio, proto = (1, "ip") if fam == "ipv4" else (2, "ipv6")
        out.append(filt % (dev, q, prio, proto, _match(fam, field, e), EXEMPT))
    if icmp:
        out.append(filt % (dev, q, 3, "ip", "match ip protocol 1 0xff", EXEMPT))
        out.append(filt % (dev, q, 4, "ipv6", "match ip6 protocol 58 0xff", EXEMPT))
    out.append(filt % (dev, q, 5, "ip", "match u32 0 0", LIMITED))
    out.append(filt % (dev, q, 6, "ipv6", "match u32 0 0", LIMITED))
    return out


def clear_cmds(devs):
    """Remove our qdisc (only ours: the handle must match) from each device."""
    return ["tc qdisc del dev %s root handle %s: 2>/dev/null || :" % (d, HANDLE) for d in devs if is_name(d)]


def release_devices(cfg):
    """The devices a limit may be on: the configured (or default) LAN devices and every metered
    link's device."""
    b = cfg.get("budget") or {}
    out = list(b.get("lan_devices") or BUDGET_DEFAULTS["lan_devices"])
    for l in cfg.get("links") or ():
        if l.get("metered") and l.get("device") not in out:
            out.append(l["device"])
    return out


def read_cmds(devs):
    """One batch reading each device's root qdisc and addresses, sections marked "@dev"."""
    out = []
    for d in devs:
        if is_name(d):
            out.append("echo @%s; tc qdisc show dev %s root 2>/dev/null; ip -o addr show dev %s 2>/dev/null" % (d, d, d))
    return out


def parse_read(lines):
    """{dev: {"qdisc": "ours" | "default" | "<kind> <handle>" | None, "local": [(fam, addr, len)]}}
    from read_cmds' output. A root qdisc with handle 0: (noqueue, fq_codel, mq, pfifo_fast: the
    kernel's defaults) is "default"; 5757: is ours; any other belongs to someone else."""
    out = {}
    cur = None
    for line in lines:
        if line.startswith("@"):
            cur = line[1:].strip()
            out[cur] = {"qdisc": None, "local": []}
            continue
        if cur is None:
            continue
        w = line.split()
        if len(w) >= 3 and w[0] == "qdisc" and "root" in w:
            h = w[2]
            out[cur]["qdisc"] = "ours" if h == HANDLE + ":" else "default" if h == "0:" else "%s %s" % (w[1], h)
            continue
        for kind in ("inet", "inet6"):
            if kind in w and len(out[cur]["local"]) < MAX_LOCAL:
                e = is_prefix(w[w.index(kind) + 1])
                if e is not None and e not in out[cur]["local"]:
                    out[cur]["local"].append(e)
    return out


# --- edge ----------------------------------------------------------------------------------------
_log = log.Logger("budget")


class BudgetPolicy:
    """The budget policy on the router. carrying(): the metered link carries the site's traffic
    (the policy's active link is metered); usage(): the usage tracker's status(); tracker: where
    the forecast's rate limit is set (optional)."""

    def __init__(self, cfg, clock, events, links, carrying, usage, tracker=None, runner=None, resolver=None):
        from .. import sysrun
        self.s = settings(cfg.get("budget"))
        self.clock = clock
        self.events = events
        self.carrying = carrying
        self.usage = usage
        self.tracker = tracker
        self.runner = runner or sysrun.run
        self.run_dir = cfg.get("run_dir") or "/tmp"
        self.core = BudgetCore(self.s)
        self.link = None
        for l in links:
            if l.metered:
                self.link = l
                break
        self.lan = list(self.s["lan_devices"])
        self.devices = self.lan + ([self.link.device] if self.link is not None and self.s["upload"] else [])
        self.static = []   # allowlisted addresses/prefixes as (fam, addr, len)
        self.names = []
        for a in self.s["allow"]:
            e = is_prefix(a)
            if e is not None:
                self.static.append(e)
            else:
                self.names.append(a)
        self.resolved = {}  # name -> [(fam, addr, len)], last good answer
        self._resolve_at = None
        self.resolver = resolver
        self.applied = None   # (kbit, exempt tuple) in force, None: no limit
        self.step_pct = None
        self.reason = None
        self.since = None
        self.error = None
        self.skipped = {}     # dev -> foreign qdisc left alone
        self._retry_at = None
        self._cycle = None
        self._was_carrying = False
        self._kicked = False
        from ..compat import Wakeable
        self._wake = Wakeable()

    # --- public ---------------------------------------------------------------------------------
    def kick(self):
        self._kicked = True
        self._wake.wake()

    def status(self):
        k = self.applied[0] if self.applied else None
        ov = self.core.override
        return {"state": "limited" if self.applied else "lifted" if ov == "lift" and self._was_carrying else "off",
                "rate_mbps": k / 1000.0 if k else None, "step_pct": self.step_pct if self.applied else None,
                "reason": self.reason, "since": self.since,
                "override": None if ov is None else "lift" if ov == "lift" else "set", "error": self.error}

    async def command(self, args):
        """The signed `budget` command (args checked by check_command): lift, set or resume; lasts
        until failback or the cycle rollover. Refused while the metered link carries no traffic."""
        why = check_command(args)
        if why:
            raise ValueError(why)
        if not self._carrying():
            raise ValueError("the metered link does not carry traffic: nothing to change")
        self.core.command(args)
        await self.tick("command: " + args["action"])
        return self.status()

    async def run(self):
        """Forever; never raises. Removes a limit an earlier run left, then follows the policy."""
        try:
            await self.clear_stale()
        except Exception as e:
            _log.warning("start: %s", e)
        while True:
            self._kicked = False
            try:
                await self.tick()
            except Exception as e:
                from ..compat import exc_text
                _log.warning("tick: %s", exc_text(e))
            if not self._kicked:  # a kick during the tick is not lost
                await self._wake.wait(self.s["check_s"])

    async def release(self):
        """Remove the limit (agent stop); True when the commands ran."""
        rc, _ = await self.runner("\n".join(clear_cmds(self.devices)), self.run_dir, CMD_TIMEOUT_S)
        if self.applied is not None:
            self._lifted("agent stop")
        return rc == 0

    # --- internals ------------------------------------------------------------------------------
    def _carrying(self):
        try:
            return bool(self.carrying())
        except Exception:
            return False

    async def clear_stale(self):
        rc, lines = await self.runner("\n".join(read_cmds(self.devices)), self.run_dir, CMD_TIMEOUT_S, 64)
        state = parse_read(lines)
        ours = [d for d in self.devices if (state.get(d) or {}).get("qdisc") == "ours"]
        if ours:
            await self.runner("\n".join(clear_cmds(ours)), self.run_dir, CMD_TIMEOUT_S)
            self.events.emit("budget", action="lifted", link=self.link.name if self.link else None,
                             rate_mbps=None, reason="left by an earlier run on " + ",".join(ours), ok=True)

    def _used(self):
        try:
            u = self.usage() or {}
        except Exception:
            return None, None
        return u.get("used_pct"), u.get("cycle_start")

    async def tick(self, why=None):
        now = self.clock.monotonic()
        carrying = self._carrying() and self.link is not None
        used, cycle = self._used()
        ended = None
        if self._was_carrying and not carrying:
            ended = "failback: %s no longer carries traffic" % self.link.name
        elif self._cycle is not None and cycle is not None and cycle != self._cycle:
            ended = "billing cycle rolled over"
        if ended and self.core.end_override():
            why = why or ended
        self._cycle = cycle
        self._was_carrying = carrying
        kbit, at = self.core.wanted(carrying, used)
        if kbit is None:
            if self.applied is not None:
                await self._lift(why or ended or ("command: lift" if self.core.override == "lift" else "no step applies"))
            return
        exempt = await self._exempt(now)
        want = (kbit, tuple(exempt))
        if want == self.applied and at == self.step_pct:
            return
        if self._retry_at is not None and now < self._retry_at and why is None:
            return  # the last apply failed: not again before RETRY_S
        await self._apply(kbit, at, exempt, used, why)

    async def _exempt(self, now):
        if self.names and (self._resolve_at is None or now >= self._resolve_at):
            self._resolve_at = now + self.s["resolve_s"]
            await self._resolve()
        out = list(self.static)
        for n in self.names:
            for e in self.resolved.get(n, ()):
                if e not in out:
                    out.append(e)
        return out

    async def _resolve(self):
        if self.resolver is None:
            from ..dns import Resolver
            self.resolver = Resolver(self.clock, timeout=3.0, attempts=1)
        from ..dns import DNSError
        for n in self.names:
            try:
                addrs, _ = await self.resolver.lookup_all(n)
            except (DNSError, OSError) as e:
                _log.warning("allow %s: %s (keeping %d known addresses)", n, e, len(self.resolved.get(n, ())))
                continue
            got = []
            for a in addrs[:MAX_ADDRS]:
                e = is_prefix(a)
                if e is not None:
                    got.append(e)
            self.resolved[n] = got

    async def _apply(self, kbit, at, exempt, used, why):
        rc, lines = await self.runner("\n".join(read_cmds(self.devices)), self.run_dir, CMD_TIMEOUT_S, 64)
        state = parse_read(lines)
        cmds = []
        skipped = {}
        for d in self.devices:
            st = state.get(d) or {}
            q = st.get("qdisc")
            if q is None:
                skipped[d] = "no such device"
                continue
            if q not in ("ours", "default"):
                skipped[d] = "has a qdisc of its own (%s): not touched" % q
                continue
            if d in self.lan:
                local = [e for e in st.get("local") or () if e not in exempt]
                if any(e[0] == "ipv6" for e in local):
                    local.append(("ipv6", "fe80::", 10))
                cmds += shape_cmds(d, kbit, "src", list(exempt) + local, fresh=q == "default")
            else:
                cmds += shape_cmds(d, kbit, "dst", exempt, icmp=True, fresh=q == "default")
        ok = True
        err = None
        if cmds:
            rc, out = await self.runner("set -e\n" + "\n".join(cmds), self.run_dir, CMD_TIMEOUT_S)
            ok = rc == 0
            if not ok:
                err = (out[-1] if out else "rc %s" % rc)[:120]
        if skipped and not [d for d in self.devices if d not in skipped]:
            ok = False
        self.skipped = skipped
        prev = self.applied[0] if self.applied else None
        action = "applied" if prev is None else "stepped"
        if why is None:
            if prev is None:
                why = "%s carries traffic" % self.link.name
            elif at is not None and at != self.step_pct:
                why = "used %s%% reached the %s%% step" % (used, at)
            elif prev != kbit:
                why = "cap changed: used %s%%" % used
            else:
                why = "allowlist changed"
        ev = {"action": action, "link": self.link.name, "rate_mbps": kbit / 1000.0,
              "prev_rate_mbps": prev / 1000.0 if prev else None, "step_pct": at, "used_pct": used,
              "reason": why, "ok": ok, "exempt": len(exempt)}
        if err or skipped:
            ev["error"] = err or "; ".join(["%s %s" % (d, skipped[d]) for d in skipped])[:160]
        repeat = ev.get("error") is not None and ev.get("error") == self.error
        self.error = ev.get("error")
        if not ok:
            self._retry_at = self.clock.monotonic() + RETRY_S
            if not repeat:  # a failure that stays is one event, not one per retry
                self.events.emit("budget", **ev)
            return
        self._retry_at = None
        if self.applied is None:
            self.since = int(self.clock.time())
        self.applied = (kbit, tuple(exempt))
        self.step_pct = at
        self.reason = why
        self._set_forecast(kbit)
        self.events.emit("budget", **ev)

    def _set_forecast(self, kbit):
        if self.tracker is None:
            return
        if kbit is None:
            self.tracker.rate_limit = None
        else:
            b = kbit * 125.0  # bytes/s
            self.tracker.rate_limit = (b, b if self.s["upload"] else None)

    async def _lift(self, why):
        rc, out = await self.runner("\n".join(clear_cmds(self.devices)), self.run_dir, CMD_TIMEOUT_S)
        self._lifted(why, rc == 0, None if rc == 0 else (out[-1] if out else "rc %s" % rc)[:120])

    def _lifted(self, why, ok=True, err=None):
        prev = self.applied[0] if self.applied else None
        self.applied = None
        self.step_pct = None
        self.reason = why
        self.since = int(self.clock.time())
        self.error = err
        self._set_forecast(None)
        ev = {"action": "lifted", "link": self.link.name if self.link else None, "rate_mbps": None,
              "prev_rate_mbps": prev / 1000.0 if prev else None, "reason": why, "ok": ok}
        if err:
            ev["error"] = err
        self.events.emit("budget", **ev)
