"""Shared pytest fixtures: real micropython, real mosquitto, the .mpy bundle, a fake clock.

Missing tools are failures with an install hint, never skips.
"""
import os
import subprocess
import sys

import pytest

from tests.support import paths
from tests.support.broker import Broker
from tests.support.fakeclock import FakeClock

if paths.FIRMWARE not in sys.path:
    sys.path.insert(0, paths.FIRMWARE)


@pytest.fixture(scope="session")
def micropython_bin():
    return paths.micropython()


@pytest.fixture(scope="session")
def mpy_bundle():
    """build/firmware compiled once per session with mpy-cross 1.23; returns its directory."""
    from host_tools import build
    out = os.path.join(paths.ROOT, "build", "test-bundle")
    build.build(out, quiet=True)
    return out


@pytest.fixture
def broker():
    b = Broker().start()
    yield b
    b.stop()


@pytest.fixture
def fake_clock():
    return FakeClock()


def run_micropython(args, micropypath=paths.FIRMWARE, timeout=60, heapsize=None, env=None, **kw):
    """Run the real micropython binary with MICROPYPATH set; returns CompletedProcess (text)."""
    e = dict(os.environ)
    # MICROPYPATH replaces the default path, which holds ".frozen" (asyncio, json... live there)
    if ".frozen" not in micropypath.split(":"):
        micropypath = micropypath + ":.frozen"
    e["MICROPYPATH"] = micropypath
    if env:
        e.update(env)
    cmd = [paths.micropython()]
    if heapsize:
        cmd += ["-X", "heapsize=%s" % heapsize]
    return subprocess.run(cmd + list(args), env=e, capture_output=True, text=True, timeout=timeout, **kw)
