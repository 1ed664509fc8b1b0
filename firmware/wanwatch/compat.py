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


async def sleep(seconds):
    await asyncio.sleep(seconds)


async def wait_for(coro, timeout):
    return await asyncio.wait_for(coro, timeout)


def exc_text(e):
    """One-line text of an exception (MicroPython has no traceback module by default)."""
    return "%s: %s" % (type(e).__name__, e)
