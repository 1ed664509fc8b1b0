"""The technician's table (`wanwatch status`, the board console, `wanwatch-host console`) on
recorded status snapshots: healthy, on backup, cap 95 %, modem absent."""
import json
import os
import pty
import subprocess
import time
import tty

import pytest

from host_tools import console as host_console
from tests.conftest import run_micropython
from tests.support import paths
from wanwatch.report import console, table

SNAP = os.path.join(paths.DATA, "snapshots")
NAMES = ("healthy", "on_backup", "cap95", "modem_absent")


def snap(name):
    with open(os.path.join(SNAP, name + ".json")) as f:
        return json.load(f)


@pytest.mark.parametrize("name", NAMES)
def test_table_fits_80_columns(name):
    out = table.render(snap(name), [{"seq": 7, "type": "failover", "from": "wan", "to": "wwan"}])
    lines = out.splitlines()
    assert all(len(l) <= 80 for l in lines), [l for l in lines if len(l) > 80]
    assert "bar-rosa-01" in lines[0]
    assert "#7 failover" in out


def test_table_values():
    h = table.render(snap("healthy"))
    assert "Telekom.de (262-01)" in h and "RSRP -97 dBm" in h and "|||.." in h
    assert "wan        up         <==" in h and "11.7 ms" in h
    assert "1.00 GB of 10.00 GB (10.0 %)" in h and "[#........." in h
    b = table.render(snap("on_backup"))
    assert "wwan       up         <==" in b and "wan        down" in b and "100 %" in b
    c = table.render(snap("cap95"))
    assert "(95.0 %)" in c and "RUNS OUT EARLY" in c and "[##########]" in c
    a = table.render(snap("modem_absent"))
    assert "absent" in a and "ICCID -" in a and "RSRP -  " in a and "DISCONNECTED  queued 7" in a
    assert " 0 dBm" not in a  # unknown is "-", never 0


def test_wanwatch_status_reads_run_dir_under_micropython(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "status.json").write_text(json.dumps(snap("on_backup")))
    (run / "events.json").write_text(json.dumps([{"seq": 3, "type": "failover", "from": "wan", "to": "wwan"}]))
    r = run_micropython(["-m", "wanwatch", "status", "--run-dir", str(run)])
    assert r.returncode == 0, r.stderr
    assert "wwan       up         <==" in r.stdout and "#3 failover" in r.stdout
    r = run_micropython(["-m", "wanwatch", "status", "--json", "--run-dir", str(run)])
    assert json.loads(r.stdout)["active_link"] == "wwan"
    r = run_micropython(["-m", "wanwatch", "status", "--run-dir", str(tmp_path / "none")])
    assert r.returncode == 1 and "no status from a running agent" in r.stdout


def test_console_commands():
    st = snap("healthy")
    assert json.loads(console.handle("status --json", lambda: st))["device_id"] == "bar-rosa-01"
    assert json.loads(console.handle("wanwatch status --json", lambda: st))["v"] == 1
    assert "Link" in console.handle("status", lambda: st)
    assert "unknown command" in console.handle("reboot", lambda: st)
    assert console.handle("   ", lambda: st) == ""


def test_host_console_reads_a_board_console_over_a_serial_line(tmp_path):
    """A MicroPython line console on a pty (a board's UART), read by `wanwatch-host console`."""
    m, s = pty.openpty()
    tty.setraw(m)
    tty.setraw(s)
    code = ("import json\nfrom wanwatch.compat import asyncio\nfrom wanwatch.report.console import LineConsole\n"
            "st = json.load(open(%r))\nasyncio.run(LineConsole(lambda: st).run())\n" % os.path.join(SNAP, "cap95.json"))
    env = dict(os.environ, MICROPYPATH=paths.FIRMWARE + ":.frozen")
    proc = subprocess.Popen([paths.micropython(), "-c", code], stdin=s, stdout=s, stderr=subprocess.PIPE, env=env)
    try:
        time.sleep(0.5)

        class Ser:  # the pty's master end, standing in for the USB-serial adapter
            def reset_input_buffer(self):
                pass

            def write(self, b):
                os.write(m, b)

            def read(self, n):
                import select
                r, _, _ = select.select([m], [], [], 0.2)
                return os.read(m, n) if r else b""
        doc = host_console.read_status(Ser(), timeout=10)
        assert doc is not None and doc["usage"]["used_pct"] == 95.0
        text = table.render(doc)
        assert "RUNS OUT EARLY" in text
    finally:
        proc.kill()
        proc.wait()
        os.close(m)
        os.close(s)
