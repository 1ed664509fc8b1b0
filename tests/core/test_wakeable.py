"""compat.Wakeable (the AT engine's and the prober's wait-with-timeout without wait_for's per-call
task): timeout, early wake, stale wakes ignored, cancellation, other sleepers undisturbed — the same
under the real MicroPython (where it moves the sleeping task in asyncio's run queue) and CPython."""
import os
import subprocess
import sys

from tests.conftest import run_micropython
from tests.support import paths

DRIVER = os.path.join(paths.TESTS, "core", "wakeable_driver.py")
WANT = ["timeout False True", "woken True True", "stale False True", "cancel cancelled True",
        "order waiter,sleeper"]


def test_micropython():
    r = run_micropython([DRIVER])
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:5] == WANT, r.stdout


def test_cpython():
    r = subprocess.run([sys.executable, DRIVER], capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, PYTHONPATH=paths.FIRMWARE))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:5] == WANT, r.stdout
