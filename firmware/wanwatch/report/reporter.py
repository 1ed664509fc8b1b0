# reporter.py: everything the agent says over MQTT (topics in docs/contracts.md §3).
#   <base> = <mqtt.prefix>/<device_id>
#   <base>/state      retained "online" after every connect; "offline" is the will (retained, QoS 1)
#                     keepalive: mqtt.keepalive_s (60), mqtt.keepalive_metered_s (300) on a metered link
#   <base>/inventory  retained, QoS 1, after every connect
#   <base>/status     retained; QoS 1 after connect, then QoS 0 every status_interval_s (60 s), or
#                     every status_interval_metered_s (300 s) while the active link is metered
#   <base>/event      every event, QoS 1, from the flash outbox: removed only after PUBACK
#   <base>/cmd        signed commands in (commands.py); results out on <base>/cmd/result (QoS 1)
# Events are published at once and strictly in order (one in flight: ordering beats throughput on
# a link that sees a few events a day). Delivery is at-least-once: a controller de-duplicates on
# (boot, seq) and detects loss as a seq gap (see docs/mqtt.md).
#
# Anyone who can publish on <base>/cmd can make the device answer, so answers to commands that did
# not run (rejected, busy, too large, commands off) share a budget of REJECTS_PER_MIN a minute;
# beyond it they are dropped (counted, logged once a minute) before any task or buffer is made for
# them. Results of commands that ran always go out (signed, nonce-limited by commands.py). An
# oversize retained command is answered once, not again after every reconnect.
from .. import log
from ..compat import asyncio, dumps, exc_text
from .mqtt.client import DNS_TIMEOUT_S, Budget, MQTTClient
from ..names import is_ip
from .outbox import Outbox

CMD_CONCURRENCY = 2
REJECTS_PER_MIN = 10
EVENT_STATUS_DELAY_S = 2


_log = log.Logger("mqtt")


def outbox_for(cfg, new_boot=True):
    """The agent's outbox (opens the journal; new_boot increments the persisted boot counter)."""
    m = cfg.get("mqtt") or {}
    return Outbox(cfg["state_dir"] + "/outbox", max_entries=m.get("outbox_max_entries", 500),
                  max_bytes=m.get("outbox_max_bytes", 32768), new_boot=new_boot)


class Reporter:
    def __init__(self, cfg, clock, events, get_status, get_inventory, commands=None, sms=None, outbox=None):
        m = cfg["mqtt"]
        self.cfg = cfg
        self.mqtt_cfg = m
        self.clock = clock
        self.events = events
        self.get_status = get_status
        self.get_inventory = get_inventory
        self.commands = commands
        self.sms = sms
        self.base = "%s/%s" % (m["prefix"], cfg["device_id"])
        self.client_id = m.get("client_id") or "wanwatch-" + cfg["device_id"]
        self.status_interval = m.get("status_interval_s", 60)
        self.metered_interval = m.get("status_interval_metered_s", 300)
        self.outbox = outbox if outbox is not None else outbox_for(cfg)
        self.resolver = None  # the broker's host name: resolved without blocking (dns.py)
        if not is_ip(m["host"]):
            from ..dns import Resolver
            server = m.get("resolver")  # None: the nameservers of /etc/resolv.conf
            self.resolver = Resolver(clock, [server] if server else None,
                                     timeout=min(DNS_TIMEOUT_S, m.get("connect_timeout_s", 10)))
        # continue the persisted numbering (harmless when the agent already built the bus from it)
        events.boot = self.outbox.boot
        if self.outbox.seq > events.seq:
            events.seq = self.outbox.seq
        events.subscribe(self._on_event)
        self.client = self._make_client(self.client_id, (self.base + "/state", b"offline", True, 1))
        self.client.on_up = self._on_up
        self.client.on_down = self._on_down
        self.client.on_message = self._on_message
        self.client.on_oversize = self._on_oversize
        self.client.before_connect = self._choose_keepalive
        self.keepalive = m.get("keepalive_s", 60)
        self.keepalive_metered = m.get("keepalive_metered_s", 300)
        self._wake = asyncio.Event()
        self._birth_due = True
        self._next_status = 0.0
        self._last_inventory = None
        self._down_since = clock.monotonic()  # unreachable until the first connect
        self._extra_bytes = 0
        self._cmd_busy = 0
        self._rejects = Budget(clock, REJECTS_PER_MIN, 60)
        self.rejects_dropped = 0  # answers to rejected commands not sent (over the budget)
        self._answered_retained = None  # (size, id) of the oversize retained command answered
        self.published_events = 0

    def _make_client(self, client_id, will, timeout=None):
        m = self.mqtt_cfg
        tls = None
        if m.get("tls"):
            tls = {"ca": m.get("ca"), "cert": m.get("cert"), "key": m.get("key"),
                   "server_hostname": m.get("server_hostname")}
        return MQTTClient(m["host"], m["port"], client_id, self.clock, keepalive=m.get("keepalive_s", 60),
                          will=will, username=m.get("username"), password=m.get("password"), ssl=tls,
                          connect_timeout=timeout or m.get("connect_timeout_s", 10),
                          response_time=timeout or m.get("response_time_s", 10), resolver=self.resolver)

    # --- fragments --------------------------------------------------------------------------------
    def status(self):
        return {"connected": self.client.connected, "queued": self.outbox.count, "dropped": self.outbox.dropped}

    @property
    def own_bytes(self):
        """MQTT bytes sent + received (TLS/TCP/IP overhead not included; see bench/bench_mqtt.py)."""
        return self.client.bytes_sent + self.client.bytes_received + self._extra_bytes

    def down_for(self):
        """Seconds the broker has been unreachable, or None while connected."""
        if self._down_since is None:
            return None
        return self.clock.monotonic() - self._down_since

    # --- hooks ----------------------------------------------------------------------------------
    def _on_event(self, ev):
        try:
            self.outbox.append(ev)
        except OSError as e:  # flash full/failing: the event is lost, say so
            self.outbox.dropped += 1
            _log.error("outbox write failed: %s", exc_text(e))
        # an event means the state changed: refresh the retained status soon (coalesced), so a
        # controller never shows a status older than the last event
        soon = self.clock.monotonic() + EVENT_STATUS_DELAY_S
        if self._next_status > soon:
            self._next_status = soon
        self._wake.set()
        if self.sms is not None:
            text = self.sms.consider(ev, self.down_for())
            if text:
                asyncio.create_task(self.sms.send(text, ev))

    def _on_up(self):
        self._birth_due = True
        self._down_since = None
        self._wake.set()
        _log.info("connected to %s:%s", self.mqtt_cfg["host"], self.mqtt_cfg["port"])

    def _on_down(self, reason):
        if self._down_since is None:
            self._down_since = self.clock.monotonic()
        _log.warning("link down: %s", reason)

    def _on_message(self, topic, payload):
        if topic != self.base + "/cmd":
            return None
        if self.commands is None:
            return self._reject({"id": None, "ok": False, "error": "commands not enabled on this device"})
        if self._cmd_busy >= CMD_CONCURRENCY:
            return self._reject({"id": None, "ok": False, "error": "busy: too many commands in progress"})
        self._cmd_busy += 1
        return self._run_command(payload)

    def _on_oversize(self, topic, size, head, retain):
        """A command the client streamed past unread (over its packet limit): answer it."""
        if topic != self.base + "/cmd":
            return None
        if self.commands is None:
            return self._reject({"id": None, "ok": False, "error": "commands not enabled on this device"})
        doc = self.commands.too_large(size, head)
        if retain:  # delivered again at every subscribe: one answer is enough
            seen = (size, doc["id"])
            if seen == self._answered_retained:
                return None
            self._answered_retained = seen
        return self._reject(doc)

    def _reject(self, doc):
        """The answer to a command that did not run, if the budget allows (else None)."""
        if self._rejects.take():
            return self._reply(doc)
        self.rejects_dropped += 1
        if self._rejects.missed == 1:
            _log.warning("more than %d rejected commands a minute: further answers dropped", REJECTS_PER_MIN)
        return None

    async def _run_command(self, payload):
        try:
            doc = await self.commands.handle(payload)
        finally:
            self._cmd_busy -= 1
        payload = None  # up to 4 KB: not held while the answer waits for its PUBACK
        answer = self._reply(doc) if doc.get("ok") else self._reject(doc)
        if answer is not None:
            await answer

    async def _reply(self, doc):
        try:
            await self.client.publish(self.base + "/cmd/result", dumps(doc), False, 1)
        except Exception as e:
            _log.warning("command result not sent: %s", exc_text(e))

    def _metered(self, doc):
        active = doc.get("active_link") if isinstance(doc, dict) else None
        for l in self.cfg.get("links") or []:
            if l.get("name") == active and l.get("metered"):
                return True
        return False

    def _choose_keepalive(self, client):
        """Pings dominate the traffic of an idle link (bench/bench_mqtt.py): on a metered link use
        the longer keepalive. Applied per connection; a failover breaks the TCP session anyway."""
        try:
            metered = self._metered(self.get_status())
        except Exception:
            metered = False
        client.keepalive = self.keepalive_metered if metered else self.keepalive

    # --- publishing -----------------------------------------------------------------------------
    def _interval(self, doc):
        return self.metered_interval if self._metered(doc) else self.status_interval

    async def _publish_status(self, qos):
        # inventory changes rarely (modem identified, SIM swapped): republish it retained when it did
        inv = dumps(self.get_inventory())
        if inv != self._last_inventory:
            if not await self.client.publish(self.base + "/inventory", inv, True, 1):
                return False
            self._last_inventory = inv
        doc = self.get_status()
        ok = await self.client.publish(self.base + "/status", dumps(doc), True, qos)
        if ok:
            self._next_status = self.clock.monotonic() + self._interval(doc)
        return ok

    async def _birth(self):
        c = self.client
        if not await c.publish(self.base + "/state", b"online", True, 1):
            return False
        self._last_inventory = None  # always part of the birth
        return await self._publish_status(1)

    async def _flush_events(self):
        c = self.client
        while c.connected:
            ev = self.outbox.peek()
            if ev is None:
                return
            if not await c.publish(self.base + "/event", dumps(ev), False, 1):
                return  # link died: the event stays queued and goes again after reconnect
            self.outbox.ack()
            self.published_events += 1

    async def _step(self):
        self._wake.clear()
        c = self.client
        if c.connected and self._birth_due:
            if await self._birth():
                self._birth_due = False
        if c.connected and not self._birth_due:
            await self._flush_events()
            if c.connected and self.clock.monotonic() >= self._next_status:
                await self._publish_status(0)
        wait = 1.0
        if c.connected and not self._birth_due:
            wait = max(0.05, self._next_status - self.clock.monotonic())
        try:
            await asyncio.wait_for(self._wake.wait(), wait)
        except asyncio.TimeoutError:
            pass

    async def _publisher(self):
        while True:
            try:
                await self._step()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                _log.error("publisher: %s", exc_text(e))
                await asyncio.sleep(1)

    async def run(self):
        """Forever: keep the connection (client supervisor) and publish. Never raises."""
        if self.commands is not None:
            await self.client.subscribe(self.base + "/cmd", 1)  # remembered; sent on every connect
        await asyncio.gather(self.client.run(), self._publisher())

    async def stop(self):
        """Graceful shutdown: say offline ourselves (DISCONNECT suppresses the will)."""
        try:
            if self.client.connected:
                await self.client.publish(self.base + "/state", b"offline", True, 1)
            await self.client.disconnect()
        except Exception as e:
            _log.warning("stop: %s", exc_text(e))

    async def once(self, status_doc, timeout):
        """--once: connect, publish the retained status, disconnect, all within timeout s.
        Uses its own client id so a running daemon is not kicked off; no will, no state change.
        Returns False when the broker is unreachable."""
        c = self._make_client(self.client_id + "-once", None, timeout)

        async def go():
            await c.connect()
            ok = await c.publish(self.base + "/status", dumps(status_doc), True, 1)
            await c.disconnect()
            return ok

        try:
            return bool(await asyncio.wait_for(go(), timeout))
        except Exception as e:
            _log.warning("broker not reached: %s", exc_text(e))
            return False
        finally:
            c._dead("once done")
            self._extra_bytes += c.bytes_sent + c.bytes_received
