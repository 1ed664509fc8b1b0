"""`wanwatch-host console PORT`: the live status table from a device's serial console.

PORT is a serial device (/dev/ttyUSB0) or any pyserial URL (socket://host:port, rfc2217://...).
Every few seconds it sends `wanwatch status --json` — understood by a router's shell (the
`wanwatch` command) and by a board's line console alike — takes the last JSON line of the answer
and renders it with the same table the device prints (wanwatch.report.table).
"""
import argparse
import json
import os
import sys
import time

from host_tools.screen import redraw

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "firmware"))


def read_status(ser, timeout=3.0):
    ser.reset_input_buffer()
    ser.write(b"wanwatch status --json\r\n")
    buf = b""
    deadline = time.time() + timeout
    doc = None
    while time.time() < deadline:
        chunk = ser.read(4096)
        if chunk:
            buf += chunk
            for line in buf.replace(b"\r", b"\n").split(b"\n"):
                line = line.strip()
                if line.startswith(b"{") and line.endswith(b"}"):
                    try:
                        d = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(d, dict) and d.get("v") == 1:
                        doc = d
            if doc is not None:
                return doc
    return None


def main(argv=None):
    import serial
    from wanwatch.report import table
    ap = argparse.ArgumentParser(prog="wanwatch-host console", description=__doc__)
    ap.add_argument("port")
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--interval", type=float, default=5)
    ap.add_argument("--once", action="store_true", help="print one table and exit")
    args = ap.parse_args(argv)
    ser = serial.serial_for_url(args.port, baudrate=args.baud, timeout=0.2)
    try:
        while True:
            doc = read_status(ser)
            if doc is None:
                print("no status from %s (is wanwatch running there?)" % args.port)
                if args.once:
                    return 1
            else:
                text = table.render(doc)
                if args.once:
                    print(text)
                    return 0
                redraw(text)
            time.sleep(args.interval)
    except KeyboardInterrupt:
        return 0
    finally:
        ser.close()


if __name__ == "__main__":
    sys.exit(main())
