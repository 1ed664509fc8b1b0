"""The same usage scenario under the real MicroPython and CPython gives identical events and status."""
import json
import subprocess
import sys
import os

from tests.conftest import run_micropython
from tests.support import paths

SCRIPT = os.path.join(paths.TESTS, "usage", "scenario.py")


def norm(text):
    return [json.loads(l) for l in text.splitlines() if l.strip()]


def test_micropython_and_cpython_agree(tmp_path):
    r = run_micropython([SCRIPT, str(tmp_path / "mpy")])
    assert r.returncode == 0, r.stderr
    c = subprocess.run([sys.executable, SCRIPT, str(tmp_path / "cpy")], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=paths.FIRMWARE))
    assert c.returncode == 0, c.stderr
    a, b = norm(r.stdout), norm(c.stdout)
    assert a == b
    kinds = [x.get("type") for x in a if isinstance(x, dict) and "type" in x]
    assert kinds == ["usage_forecast", "usage_threshold", "usage_cap_changed", "usage_reset"]
    st = [x for x in a if isinstance(x, dict) and "total_bytes" in x and "type" not in x]
    # 200 x 6.25 MB across a 32-bit wrap, counted exactly
    assert st[0]["iccid"] == "A1" and st[0]["rx_bytes"] == 200 * 6250000 and st[0]["tx_bytes"] == 2000
    assert st[1]["iccid"] == "B2" and st[1]["rx_bytes"] == 1000  # new SIM, re-created device
    assert st[2]["iccid"] == "A1" and st[2]["total_bytes"] == 0 and st[2]["cycle_start"] == 1796083200
    assert a[-1] == [[1793491200, 1796083200, 1250002000, 2000, 0]]  # the archived November cycle
