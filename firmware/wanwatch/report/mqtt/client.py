# mqtt/client.py: asyncio MQTT 3.1.1 client (QoS 0/1) for MicroPython and CPython.
# Protocol bytes come from codec.py; this file only owns the connection: connect with timeouts,
# keepalive and dead-link detection, QoS 1 PUBACK tracking with DUP retransmission, re-subscribe,
# and a supervisor (run) that reconnects forever with jittered exponential backoff.
#
# Every network operation is bounded by connect_timeout or response_time, so a slow or dead
# broker never stalls the event loop. That includes DNS: socket.getaddrinfo blocks the whole
# process on MicroPython (and the shipped config names the broker by host name), so a host name
# goes through dns.Resolver instead: a non-blocking UDP query awaited under a deadline, answers
# cached for their TTL, the last good address used when the resolver fails. IP literals skip it;
# getaddrinfo only ever sees a literal (asyncio.open_connection calls it), which needs no query.
#
# Inbound packets are hostile input (see codec.py): one that is malformed, over max_packet or not
# meant for a client is discarded with a one-line log (rate-limited) and the connection stays; a
# discarded QoS 1 PUBLISH is still acknowledged when its packet id can be read, so the broker does
# not hold it in flight or resend it. Only lost framing (a Remaining Length of 5+ bytes) drops the
# connection. An oversize PUBLISH reaches on_oversize(topic, payload_len, head, retain) instead of
# on_message: the reporter answers an oversize command from that.
#
# Sessions are clean (clean_session=1): the broker holds nothing for us between connections, so
# subscriptions are re-sent on every connect and unacknowledged QoS 1 messages are the caller's to
# re-publish (the reporter's outbox does that from flash). Delivery is at-least-once.
import random

from ... import log
from ...compat import IS_MICROPYTHON, asyncio, exc_text
from ...names import is_ip
from . import codec

BACKOFF_MIN_S = 1
BACKOFF_MAX_S = 60
STABLE_S = 30  # a connection that lived this long resets the backoff
MAX_REPUBS = 2  # DUP retransmissions of a QoS 1 message before the link is declared dead
DNS_TIMEOUT_S = 5  # at most this (and at most connect_timeout) for resolving a host name
DISCARD_LOG_MAX = 5  # discarded inbound packets logged per DISCARD_LOG_WINDOW_S, the rest counted
DISCARD_LOG_WINDOW_S = 60
RX_BYTES = 512  # one socket read; the parser keeps what a packet needs across reads

_log = log.Logger("mqtt")


def der_file(path, kind=""):
    """DER bytes of the first PEM block in path whose label contains kind (DER files pass through)."""
    with open(path, "rb") as f:
        data = f.read()
    if b"-----BEGIN" not in data:
        return data
    import binascii
    pos = 0
    while True:
        i = data.find(b"-----BEGIN", pos)
        if i < 0:
            raise ValueError("no PEM %s block in %s" % (kind or "", path))
        eol = data.find(b"-----", i + 10)
        label = data[i + 10:eol]
        start = data.find(b"\n", eol) + 1
        end = data.find(b"-----END", start)
        if start <= 0 or end < 0:
            raise ValueError("truncated PEM in %s" % path)
        pos = end + 8
        if kind and kind.encode() not in label:
            continue
        body = b"".join(data[start:end].split())
        return binascii.a2b_base64(body)


def _call(fn, *args):
    """Run a user hook; a coroutine result is scheduled. Hooks must never break the client."""
    if fn is None:
        return
    try:
        r = fn(*args)
        if r is not None and hasattr(r, "send"):
            asyncio.create_task(r)
    except Exception as e:
        _log.error("hook failed: %s", exc_text(e))


class Budget:
    """At most n uses per window_s (fixed windows, clock.monotonic()); take() says whether one is
    left. missed counts the refusals since the last granted use (read it before take() for a
    "+N not logged"; 1 after take() is the first refusal since then)."""

    def __init__(self, clock, n, window_s):
        self.clock = clock
        self.allowance = n
        self.window_s = window_s
        self.start = None
        self.used = 0
        self.missed = 0

    def take(self):
        now = self.clock.monotonic()
        if self.start is None or now - self.start >= self.window_s:
            self.start = now
            self.used = 0
        if self.used < self.allowance:
            self.used += 1
            self.missed = 0
            return True
        self.missed += 1
        return False


class MQTTClient:
    def __init__(self, host, port, client_id, clock, keepalive=60, will=None, username=None,
                 password=None, ssl=None, connect_timeout=10, response_time=10, max_inflight=4,
                 max_packet=codec.DEFAULT_MAX_PACKET, resolver=None):
        if ssl is not None and not ssl.get("ca"):
            raise ValueError("mqtt tls needs a CA file (ssl['ca']); unverified TLS is not offered")
        self.host = host
        self.port = port
        self.client_id = client_id
        self.clock = clock
        self.keepalive = keepalive
        self.will = will
        self.username = username
        self.password = password
        self.tls = ssl
        self.connect_timeout = connect_timeout
        self.response_time = response_time
        self.max_inflight = max_inflight
        self.max_packet = max_packet
        self.on_message = None  # fn(topic:str, payload:bytes)
        self.on_oversize = None  # fn(topic:str, payload_len:int, head:bytes, retain:bool), not read
        self.on_up = None  # fn()
        self.on_down = None  # fn(reason:str)
        self.before_connect = None  # fn(client): last chance to adjust e.g. keepalive
        self.bytes_sent = 0
        self.bytes_received = 0
        self.connects = 0
        self.discarded = 0  # inbound packets discarded (malformed, oversize, unexpected)
        self._discard_log = Budget(clock, DISCARD_LOG_MAX, DISCARD_LOG_WINDOW_S)
        self.last_error = None
        # dns.Resolver for a host name (None: one on /etc/resolv.conf is made at the first connect)
        self.resolver = resolver
        self.address = None  # the address of the last connection attempt
        self._subs = []  # [(filter, qos)] re-sent on every connect
        self._pid = 0
        self._pending = {}  # pid -> [Event, result]
        self._reader = None
        self._writer = None
        self._tasks = []
        self._gen = 0  # connection generation: stale tasks of an old connection are ignored
        self._connected = False
        self._accepted = -1  # generation whose CONNACK accepted us: publishing is possible
        self._stopped = False
        self._down = asyncio.Event()
        self._slot = asyncio.Event()
        self._wlock = asyncio.Lock()
        self._connack = None
        self._connack_ev = None
        self._last_rx = self._last_tx = self._last_ping = 0.0

    @property
    def connected(self):
        return self._connected

    # --- connection ---------------------------------------------------------------------------
    async def _resolve(self):
        """The broker's address; a host name through the resolver (bounded, never blocking)."""
        if is_ip(self.host):
            return self.host
        r = self.resolver
        if r is None:
            from ...dns import Resolver  # loaded only when the broker has a host name
            r = self.resolver = Resolver(self.clock, timeout=min(DNS_TIMEOUT_S, self.connect_timeout))
        stale = r.stale
        try:
            ip = await r.resolve(self.host)  # raises DNSError (a ValueError) if never resolved
        except ValueError as e:
            raise OSError(str(e))
        if r.stale != stale:
            _log.warning("%s; using the last good address %s", r.last_error, ip)
        return ip

    def _ssl_context(self):
        import ssl as _ssl
        t = self.tls
        ctx = _ssl.SSLContext(_ssl.PROTOCOL_TLS_CLIENT)
        if IS_MICROPYTHON:
            # MicroPython's mbedTLS build only parses DER: convert PEM files ourselves (first block)
            ctx.load_verify_locations(cadata=der_file(t["ca"]))
            if t.get("cert"):
                ctx.load_cert_chain(der_file(t["cert"]), der_file(t.get("key") or t["cert"], "KEY"))
        else:
            ctx.load_verify_locations(cafile=t["ca"])
            if t.get("cert"):
                ctx.load_cert_chain(t["cert"], t.get("key"))
        ctx.verify_mode = _ssl.CERT_REQUIRED
        return ctx

    async def connect(self):
        """One bounded connection attempt. Returns True, or raises OSError/MQTTError."""
        if self._connected:
            return True
        self._dead("reconnect")
        self._down = asyncio.Event()
        _call(self.before_connect, self)
        ip = self.address = await self._resolve()
        if self.tls:
            ctx = self._ssl_context()
            opening = asyncio.open_connection(ip, self.port, ssl=ctx,
                                              server_hostname=self.tls.get("server_hostname") or self.host)
        else:
            opening = asyncio.open_connection(ip, self.port)
        try:
            reader, writer = await asyncio.wait_for(opening, self.connect_timeout)
        except asyncio.TimeoutError:
            raise OSError("connect to %s:%d timed out" % (self.host, self.port))
        self._gen += 1
        gen = self._gen
        self._reader, self._writer = reader, writer
        self._parser = codec.Parser(self.max_packet)
        self._connack = None
        self._connack_ev = asyncio.Event()
        now = self.clock.monotonic()
        self._last_rx = self._last_tx = self._last_ping = now
        self._tasks = [asyncio.create_task(self._read_loop(reader, gen))]
        pkt = codec.connect(self.client_id, self.keepalive, True, self.will, self.username, self.password)
        if not await self._send(pkt, gen):
            raise OSError("connect: " + str(self.last_error))
        if not await self._wait(self._connack_ev, self.connect_timeout) or self._connack is None:
            self._dead("no CONNACK within %ss" % self.connect_timeout, gen)
            raise OSError("connect: " + str(self.last_error))
        rc = self._connack
        if rc:
            self._dead("connection refused: " + codec.CONNACK_REASONS.get(rc, "code %d" % rc), gen)
            raise OSError(self.last_error)
        # publishing works from here on: a hook answering a retained message that arrives during
        # the re-subscribe below must not find the client "not connected"
        self._accepted = gen
        for topic, qos in self._subs:
            if not await self._subscribe_now(topic, qos, gen):
                self._dead("re-subscribe to %s failed" % topic, gen)
                raise OSError(str(self.last_error))
        if gen != self._gen:
            raise OSError("connect: " + str(self.last_error))
        self._tasks.append(asyncio.create_task(self._keepalive_loop(gen)))
        self._connected = True
        self.connects += 1
        self.last_error = None
        _call(self.on_up)
        return True

    async def disconnect(self):
        """Graceful close: DISCONNECT (the broker discards the will) and stop run()."""
        self._stopped = True
        self._connected = False  # a graceful close is not a "down" event
        self._accepted = -1  # nothing more goes out before the DISCONNECT
        if self._writer is not None:
            await self._send(codec.disconnect(), self._gen)
        self._dead("disconnected by client")

    def _dead(self, reason, gen=None):
        """Tear the current connection down (idempotent; stale generations are ignored)."""
        if gen is not None and gen != self._gen:
            return
        w = self._writer
        if w is None:
            return
        self._writer = self._reader = None
        self._gen += 1
        was = self._connected
        self._connected = False
        self.last_error = reason
        for pid in self._pending:
            self._pending[pid][0].set()  # waiters see no result and give up
        self._slot.set()
        if self._connack_ev is not None:
            self._connack_ev.set()
        cur = asyncio.current_task()
        for t in self._tasks:
            if t is not cur:
                try:
                    t.cancel()
                except Exception:
                    pass
        self._tasks = []
        asyncio.create_task(self._close(w))
        self._down.set()
        if was:
            _call(self.on_down, reason)

    async def _close(self, w):
        try:
            w.close()
            await asyncio.wait_for(w.wait_closed(), 2)
        except BaseException:  # includes timeout/cancel: the socket is gone either way
            pass

    # --- I/O ------------------------------------------------------------------------------------
    async def _send(self, pkt, gen=None):
        if gen is None:
            gen = self._gen
        async with self._wlock:
            w = self._writer
            if w is None or gen != self._gen:
                return False
            try:
                w.write(pkt)
                await asyncio.wait_for(w.drain(), self.response_time)
            except Exception as e:
                self._dead("write failed: " + exc_text(e), gen)
                return False
        self.bytes_sent += len(pkt)
        self._last_tx = self.clock.monotonic()
        return True

    async def _wait(self, ev, timeout):
        try:
            await asyncio.wait_for(ev.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    async def _read_loop(self, reader, gen):
        try:
            # MicroPython's Stream reads into one buffer for the connection's life: a fresh
            # 512-byte bytes per read fragments a small heap while the outbox drains.
            rx = bytearray(RX_BYTES) if hasattr(reader, "readinto") else None
            while gen == self._gen:
                if rx is None:
                    data = await reader.read(RX_BYTES)
                else:
                    n = await reader.readinto(rx)
                    if n is None:  # TLS: a record not yet complete (read() loops on this itself)
                        continue
                    data = memoryview(rx)[:n] if n else b""
                if not data:
                    raise OSError("connection closed by broker")
                self.bytes_received += len(data)
                self._last_rx = self.clock.monotonic()
                self._parser.feed(data)
                while gen == self._gen:
                    p = self._parser.next()  # MQTTError only when the framing is lost
                    if p is None:
                        break
                    why = await self._inbound(p, gen)
                    if why is not None:
                        self._discard(why)
        except Exception as e:
            self._dead("read: " + exc_text(e), gen)

    def _discard(self, why):
        """One line per discarded packet, at most DISCARD_LOG_MAX a minute (a flood is counted)."""
        self.discarded += 1
        budget = self._discard_log
        missed = budget.missed
        if budget.take():
            more = " (+%d more not logged)" % missed if missed else ""
            _log.warning("discarded inbound %s%s", why[:160], more)

    async def _inbound(self, p, gen):
        """Act on one framed packet; returns why it was discarded, or None."""
        try:
            pkt = codec.decode(p[0], p[1], p[2])
        except codec.MQTTError as e:
            if p[0] == codec.PUBLISH:
                pid = codec.publish_pid(p[1], p[2])
                if pid:  # acknowledged all the same: the broker must not keep it in flight
                    await self._send(codec.puback(pid), gen)
            return "%s of %d bytes: %s" % (codec.NAMES[p[0]], len(p[2]), e)
        kind = pkt[0]
        if kind == codec.PUBLISH:
            topic, payload, qos, pid = pkt[1], pkt[2], pkt[3], pkt[6]
            if qos == 2:
                return "QoS 2 PUBLISH on %r (subscriptions are QoS 0/1)" % topic[:80]
            if qos == 1:
                await self._send(codec.puback(pid), gen)
            _call(self.on_message, topic, payload)
        elif kind == codec.PUBACK or kind == codec.SUBACK:
            entry = self._pending.get(pkt[1])
            if entry is not None:
                entry[1] = pkt[2] if kind == codec.SUBACK else True
                entry[0].set()
        elif kind == codec.CONNACK:
            if self._connack_ev is None or self._connack_ev.is_set():
                return "CONNACK on a connection that has one"
            self._connack = pkt[2]
            self._connack_ev.set()
        elif kind == codec.OVERSIZE:
            return await self._oversize(pkt, gen)
        elif kind != codec.PINGRESP and kind != codec.UNSUBACK:
            return "%s from the broker (not sent to clients, or QoS 2)" % codec.NAMES[kind]
        return None

    async def _oversize(self, pkt, gen):
        """A packet over max_packet, already streamed past: acknowledge it if it was a QoS 1
        PUBLISH, tell on_oversize, say what it was."""
        ptype, length, topic, plen, qos, retain, pid = pkt[1:8]
        what = "%s of %d bytes (over the %d-byte limit)" % (codec.NAMES[ptype], length, self.max_packet)
        if ptype != codec.PUBLISH:
            return what
        if qos == 1 and pid:
            await self._send(codec.puback(pid), gen)
        if qos > 1:
            return what + " with QoS %d" % qos
        if topic is None:
            return what + ", topic not kept (over %d bytes, not UTF-8 or a wildcard)" % codec.TOPIC_KEEP
        _call(self.on_oversize, topic, plen, pkt[8], retain)
        return what + " on %r" % topic[:80]

    async def _keepalive_loop(self, gen):
        ka = self.keepalive
        if not ka:
            return
        period = ka / 4.0
        tick = min(1.0, period / 2)
        try:
            while gen == self._gen:
                await asyncio.sleep(tick)
                now = self.clock.monotonic()
                if now - self._last_rx > ka:
                    self._dead("nothing received from broker for %ss" % ka, gen)
                    return
                idle = now - self._last_tx >= period or now - self._last_rx >= period
                if idle and now - self._last_ping >= period:
                    self._last_ping = now
                    await self._send(codec.pingreq(), gen)
        except Exception as e:
            self._dead("keepalive: " + exc_text(e), gen)

    # --- operations ---------------------------------------------------------------------------
    def _next_pid(self):
        while True:
            self._pid = self._pid % 0xFFFF + 1
            if self._pid not in self._pending:
                return self._pid

    async def publish(self, topic, payload, retain=False, qos=0):
        """True when sent (QoS 0) or acknowledged (QoS 1); False when not connected or the link
        died meanwhile. Bad arguments raise codec.MQTTError (a ValueError)."""
        codec._check_topic(topic)  # bad arguments raise even while disconnected
        if qos not in (0, 1):
            raise codec.MQTTError("only QoS 0 and 1 are supported")
        if not self._connected and self._accepted != self._gen:
            return False
        if not qos:
            return await self._send(codec.publish(topic, payload, 0, retain))
        while len(self._pending) >= self.max_inflight:
            self._slot.clear()
            if not await self._wait(self._slot, self.response_time) or self._accepted != self._gen:
                return False
        gen = self._gen
        pid = self._next_pid()
        pkt = codec.publish(topic, payload, 1, retain, False, pid)
        entry = [asyncio.Event(), None]
        self._pending[pid] = entry
        try:
            for attempt in range(MAX_REPUBS + 1):
                if attempt:
                    entry[0] = asyncio.Event()
                    pkt = bytes((pkt[0] | 0x08,)) + pkt[1:]  # DUP: same pid, same bytes
                if not await self._send(pkt, gen):
                    return False
                await self._wait(entry[0], self.response_time)
                if entry[1]:
                    return True
                if gen != self._gen:
                    return False
            self._dead("no PUBACK for packet %d after %d tries" % (pid, MAX_REPUBS + 1), gen)
            return False
        finally:
            self._pending.pop(pid, None)
            self._slot.set()

    async def subscribe(self, topic, qos=1):
        """Remember the subscription (re-sent on reconnect) and send it now if connected.
        Returns True when the broker granted it now, False when not connected or refused."""
        if qos not in (0, 1):
            raise codec.MQTTError("subscribe qos must be 0 or 1")
        codec.subscribe(1, [(topic, qos)])  # validate before remembering
        found = False
        for t, q in self._subs:
            if t == topic:
                found = True
        if not found:
            self._subs.append((topic, qos))
        if not self._connected:
            return False
        return await self._subscribe_now(topic, qos, self._gen)

    async def _subscribe_now(self, topic, qos, gen):
        pid = self._next_pid()
        entry = [asyncio.Event(), None]
        self._pending[pid] = entry
        try:
            if not await self._send(codec.subscribe(pid, [(topic, qos)]), gen):
                return False
            if not await self._wait(entry[0], self.response_time):
                self._dead("no SUBACK within %ss" % self.response_time, gen)
                return False
            return bool(entry[1]) and entry[1][0] != 0x80
        finally:
            self._pending.pop(pid, None)

    # --- supervisor -----------------------------------------------------------------------------
    async def run(self):
        """Stay connected forever: connect, wait for the link to die, back off, repeat. Never
        raises (only cancellation ends it)."""
        delay = BACKOFF_MIN_S
        failed = 0  # connection attempts failed in a row: the first is a warning, the rest debug
        while not self._stopped:
            up_at = None
            try:
                await self.connect()
                up_at = self.clock.monotonic()
                failed = 0
                await self._down.wait()
            except asyncio.CancelledError:
                self._dead("cancelled")
                raise
            except Exception as e:
                self._dead("connect failed: " + exc_text(e))
                self.last_error = "connect failed: " + exc_text(e)
                failed += 1
                if failed == 1:
                    _log.warning("cannot reach the broker at %s:%s: %s (retrying, backoff up to %d s)",
                                 self.host, self.port, exc_text(e), BACKOFF_MAX_S)
                else:
                    _log.debug("connect attempt %d to %s:%s: %s", failed, self.host, self.port, exc_text(e))
            if self._stopped:
                break
            if up_at is not None and self.clock.monotonic() - up_at >= STABLE_S:
                delay = BACKOFF_MIN_S
            # jitter spreads a fleet's reconnects after a broker restart
            try:
                await asyncio.sleep(delay * (0.5 + random.random() / 2))
            except asyncio.CancelledError:
                raise
            except Exception:
                pass
            if up_at is None or self.clock.monotonic() - up_at < STABLE_S:
                delay = min(delay * 2, BACKOFF_MAX_S)
