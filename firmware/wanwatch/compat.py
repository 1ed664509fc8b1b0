# compat.py: the few differences between MicroPython and CPython, in one place.
import sys

IS_MICROPYTHON = sys.implementation.name == "micropython"

try:
    import asyncio
except ImportError:  # pragma: no cover - very old MicroPython
    import uasyncio as asyncio  # noqa: F401

import json


def dumps(obj):
    """Compact JSON (no spaces) on both runtimes; MicroPython < 1.20 lacks separators."""
    try:
        return json.dumps(obj, separators=(",", ":"))
    except TypeError:
        return json.dumps(obj)


def loads(text):
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = bytes(text).decode()
    return json.loads(text)


def exc_text(e):
    """One-line text of an exception (MicroPython has no traceback module by default)."""
    return "%s: %s" % (type(e).__name__, e)


class Wakeable:
    """One task waits up to `timeout` seconds for wake(); wait() says whether it was woken.
    asyncio.wait_for allocates a task, a closure and an exception on every call (≈1.2 KB on the
    unix port), and the AT engine and the prober wait like this many times a minute. On MicroPython
    the waiter simply sleeps and wake() moves it to the front of the run queue, which is what
    Task.cancel() does minus the exception. The waker checks its own condition; a wake() with
    nobody waiting does nothing, so callers test their flag before and after waiting."""

    def __init__(self):
        self.task = None
        self.woken = False
        if not IS_MICROPYTHON:
            self.ev = asyncio.Event()

    async def wait(self, timeout):
        self.woken = False
        if IS_MICROPYTHON:
            self.task = asyncio.current_task()
            try:
                await asyncio.sleep(timeout)
            finally:
                self.task = None
            return self.woken
        self.ev.clear()
        self.task = True
        try:
            await asyncio.wait_for(self.ev.wait(), timeout)
        except asyncio.TimeoutError:
            pass
        finally:
            self.task = None
        return self.woken

    def wake(self):
        t = self.task
        if t is None or self.woken:
            return
        self.woken = True
        if IS_MICROPYTHON:
            q = asyncio.core._task_queue
            q.remove(t)
            q.push(t)
        else:
            self.ev.set()


# readable(sock) / writable(sock): await until a non-blocking socket has something to read (or an
# error to report) / can be written (a non-blocking connect finished), without blocking or
# spinning the loop. Bound them with asyncio.wait_for; cancelling one unregisters the socket. One
# waiter per socket and direction at a time.
if IS_MICROPYTHON:
    def readable(sock):
        # asyncio's IO queue polls registered streams in the scheduler's own poll() call; a
        # generator, not a coroutine: awaiting it yields the queue entry to the scheduler
        yield asyncio.core._io_queue.queue_read(sock)

    def writable(sock):
        yield asyncio.core._io_queue.queue_write(sock)
else:
    async def _ready(sock, write):
        loop = asyncio.get_event_loop()
        fut = loop.create_future()
        fd = sock.fileno()

        def ready():
            if not fut.done():
                fut.set_result(None)
        (loop.add_writer if write else loop.add_reader)(fd, ready)
        try:
            await fut
        finally:
            (loop.remove_writer if write else loop.remove_reader)(fd)

    def readable(sock):
        return _ready(sock, False)

    def writable(sock):
        return _ready(sock, True)
