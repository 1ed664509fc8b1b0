"""A sustained agent scenario shared by the footprint benchmark and the small-heap test: the agent
under real MicroPython (from the .mpy bundle) against the emulated modem and a real mosquitto, with
a broker outage and a modem reboot on the way."""
import json
import os
import re
import subprocess
import time

from host_tools.emulator import Emulator
from host_tools.localbroker import Broker

from . import paths


def config(tmp, tty, port, poll_s=2):
    return {
        "device_id": "footprint-1",
        "modem": {"port": tty, "vendor": "auto", "poll_s": poll_s},
        "links": [{"name": "wan", "device": "lo", "role": "primary", "targets": ["127.0.0.1", "127.0.0.2", "127.0.0.3"]},
                  {"name": "wwan", "device": "lo", "role": "backup", "metered": True, "targets": ["127.0.0.1"]}],
        "usage": {"cap_mb": 1000},
        "mqtt": {"host": "127.0.0.1", "port": port, "status_interval_s": 5},
        "state_dir": os.path.join(tmp, "flash"), "run_dir": os.path.join(tmp, "run"),
    }


def run(tmp, bundle, seconds=30, heapsize=None, profile="quectel-ec25", poll_s=2, outage=True, reboot=True):
    """Returns dict(rc, crashed, memory_errors, peak, cpu_s, wall_s, log)."""
    os.makedirs(tmp, exist_ok=True)
    broker = Broker().start()
    emu = Emulator(profile=profile)
    tty = emu.start(link=os.path.join(tmp, "ttyMODEM"))
    cfgp = os.path.join(tmp, "site.json")
    with open(cfgp, "w") as f:
        json.dump(config(tmp, tty, broker.port, poll_s), f)
    cmd = [paths.micropython()] + (["-X", "heapsize=%s" % heapsize] if heapsize else []) + ["-m", "wanwatch", "--config", cfgp]
    env = dict(os.environ, MICROPYPATH=bundle + ":.frozen", WANWATCH_MEMSTAT="2")
    logp = os.path.join(tmp, "agent.log")
    log = open(logp, "w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    t0 = time.time()
    crashed = False
    try:
        while time.time() - t0 < seconds:
            el = time.time() - t0
            if outage and seconds * 0.3 <= el < seconds * 0.3 + 1 and broker.proc is not None:
                broker.stop()
            if outage and el >= seconds * 0.45 and broker.proc is None:
                broker.start()
            if reboot and seconds * 0.6 <= el and not getattr(emu, "_rebooted_once", False):
                emu._rebooted_once = True
                emu.reboot()
            if proc.poll() is not None:
                crashed = True
                break
            time.sleep(0.25)
        cpu = None
        try:
            with open("/proc/%d/stat" % proc.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    finally:
        proc.kill()
        proc.wait()
        log.close()
        emu.stop()
        broker.stop()
    text = open(logp).read()
    peaks = [int(x) for x in re.findall(r"memstat alloc=\d+ live=\d+ peak=(\d+)", text)]
    return {"rc": proc.returncode, "crashed": crashed, "memory_errors": text.count("MemoryError"),
            "peak": max(peaks) if peaks else None, "cpu_s": cpu, "wall_s": time.time() - t0, "log": text}
