# Runs under real MicroPython and CPython alike: a vendor driver (init, identify, one poll) on the real AT
# engine over an in-memory port that answers each command with its replay blocks (replay.parse_replay form:
# lines sent back CRLF-terminated, several blocks in turn staying on the last, an unknown command gets
# ERROR). Prints one JSON document {case id: status}. Usage: values_runner.py <cases.json>
import sys
import json

from wanwatch.clock import Clock
from wanwatch.compat import asyncio
from wanwatch.modem import vendors
from wanwatch.modem.engine import ATEngine


class ReplayPort:
    def __init__(self, replies):
        self.replies = replies
        self.turn = {}
        self.out = bytearray()
        self.ready = asyncio.Event()
        self.sent = []

    async def read(self):
        while not self.out:
            self.ready.clear()
            await self.ready.wait()
        data = bytes(self.out)
        self.out = bytearray()
        return data

    async def write(self, data):
        cmd = bytes(data).decode().strip()
        self.sent.append(cmd)
        blocks = self.replies.get(cmd)
        if not blocks:
            lines = ["", "OK"] if cmd in ("AT", "ATE0", "AT+CMEE=2") else ["", "ERROR"]
        else:
            i = self.turn.get(cmd, 0)
            self.turn[cmd] = min(i + 1, len(blocks) - 1)
            lines = blocks[i]
        for line in lines:
            self.out.extend(line.encode() + b"\r\n")
        self.ready.set()

    def close(self):
        pass


async def poll_once(vendor, replies):
    driver_class = vendors.load(vendor)
    port = ReplayPort(replies)
    clock = Clock()
    at = ATEngine(port, clock, driver_class)
    reader = asyncio.create_task(at.run())
    driver = driver_class(at, clock)
    try:
        if await driver.init():
            await driver.identify()
            await driver.poll()
        return driver.status()
    finally:
        reader.cancel()


def run(cases):
    out = {}
    for case in cases:
        out[case["id"]] = asyncio.run(poll_once(case["vendor"], case["replies"]))
    return out


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    print(json.dumps(run(cases)))
