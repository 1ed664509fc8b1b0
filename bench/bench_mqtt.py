"""MQTT traffic of one device: bytes per status report including MQTT, TCP/IP (and optional TLS)
overhead, and MB/month at the default rates on and off the metered link.

MQTT bytes are measured: a real MQTTClient talks to a local mosquitto and its byte counters give
the exact MQTT packet sizes for a realistic status document. TCP/IP overhead is counted
analytically: every MQTT packet travels in its own segment (IPv4 20 B + TCP 20 B + timestamp
option 12 B = 52 B) and is answered by a pure ACK (52 B) unless it carries a response; TLS 1.2
AES-GCM adds 29 B per record. Run: .venv/bin/python bench/bench_mqtt.py
"""
import asyncio
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "firmware"), ROOT]

from host_tools.localbroker import Broker  # noqa: E402
from wanwatch.report import status as statusdoc  # noqa: E402
from wanwatch.clock import Clock  # noqa: E402
from wanwatch.compat import dumps  # noqa: E402
from wanwatch.report.mqtt.client import MQTTClient  # noqa: E402

SEG = 52  # IPv4 + TCP + timestamps
TLS_REC = 29
MONTH_S = 30 * 86400
LINKS = [{"name": "wan"}, {"name": "wwan"}]


def sample_status():
    modem = {"modem": {"vendor": "quectel", "model": "EC25", "firmware": "EC25EFAR06A06M4G", "imei": "866834040000000",
                       "state": "ready", "temp_c": 41, "counters": {"rx_bytes": 123456789, "tx_bytes": 23456789}},
             "sim": {"state": "ready", "iccid": "8949022200000000000", "imsi": "262011234567890"},
             "network": {"operator": "Telekom.de", "mcc": "262", "mnc": "01", "registration": "home", "registered": True},
             "signal": {"rat": "LTE", "csq": 21, "rssi_dbm": -71, "rsrp_dbm": -97, "rsrq_db": -11, "sinr_db": 12,
                        "band": "B3", "cell_id": 26378241, "tac": 41001, "pci": 312, "earfcn": 1300}}
    links = {"links": {"wan": {"state": "up", "active": True, "rtt_ms": 12.4, "loss_pct": 0.0},
                       "wwan": {"state": "standby", "active": False, "rtt_ms": 48.0, "loss_pct": 0.0}},
             "active_link": "wan"}
    usage = {"iccid": "8949022200000000000", "rx_bytes": 523456789, "tx_bytes": 83456789, "total_bytes": 606913578,
             "cap_bytes": 10737418240, "used_pct": 5.65, "cycle_start": "2026-11-01", "cycle_end": "2026-12-01",
             "forecast_exhaustion": None, "own_bytes": 1234567}
    return statusdoc.build("branch-0042", 1790000000, 86400, modem=modem, links=links, usage=usage,
                           mqtt={"connected": True, "queued": 0, "dropped": 0}, link_names=[l["name"] for l in LINKS])


async def measure(port):
    doc = dumps(sample_status())
    ev = dumps({"v": 1, "type": "link_state", "seq": 1234, "boot": 7, "ts": 1790000000, "link": "wan",
                "state": "down", "rtt_ms": None, "loss_pct": 100})
    c = MQTTClient("127.0.0.1", port, "wanwatch-branch-0042", Clock(), keepalive=60,
                   will=("wanwatch/branch-0042/state", b"offline", True, 1))
    m = {}

    def snap():
        return c.bytes_sent, c.bytes_received

    await c.connect()
    a = snap()
    await c.publish("wanwatch/branch-0042/status", doc, True, 0)
    await asyncio.sleep(0.2)
    b = snap()
    m["status"] = (b[0] - a[0], b[1] - a[1])
    await c.publish("wanwatch/branch-0042/event", ev, False, 1)
    e = snap()
    m["event"] = (e[0] - b[0], e[1] - b[1])
    from wanwatch.report.mqtt import codec
    await c._send(codec.pingreq())
    await asyncio.sleep(0.2)
    p = snap()
    m["ping"] = (p[0] - e[0], p[1] - e[1])
    await c.disconnect()
    m["doc_bytes"] = len(doc)
    m["event_json"] = len(ev)
    return m


def wire(tx, rx, packets_out, packets_in, tls=False):
    """Bytes on the wire for an exchange: MQTT bytes + a segment per packet + a pure ACK for every
    packet not answered by a packet of the other side."""
    acks = max(packets_out - packets_in, 0) + max(packets_in - packets_out, 0)
    extra = (packets_out + packets_in + acks) * SEG
    if tls:
        extra += (packets_out + packets_in) * TLS_REC
    return tx + rx + extra


def main():
    b = Broker().start()
    try:
        m = asyncio.run(measure(b.port))
    finally:
        b.stop()
    st_tx, st_rx = m["status"]
    ev_tx, ev_rx = m["event"]
    pg_tx, pg_rx = m["ping"]
    print("status JSON document: %d B; MQTT PUBLISH (QoS 0, retained): %d B" % (m["doc_bytes"], st_tx))
    for tls in (False, True):
        label = "TLS" if tls else "plain"
        status_w = wire(st_tx, st_rx, 1, 0, tls)
        event_w = wire(ev_tx, ev_rx, 1, 1, tls)
        ping_w = wire(pg_tx, pg_rx, 1, 1, tls)
        print("[%s] per status report on the wire: %d B; per event (QoS 1 + PUBACK): %d B; per ping: %d B"
              % (label, status_w, event_w, ping_w))
        # defaults: off metered status 60 s + keepalive 60 s; on metered status 300 s + keepalive
        # 300 s (mqtt.keepalive_metered_s); the last row shows the metered link with keepalive 60 s
        rows = (("off metered (defaults)", 60, 60), ("on metered (defaults)", 300, 300),
                ("on metered, keepalive 60", 300, 60))
        for name, interval, keepalive in rows:
            # the client pings after keepalive/4 without inbound traffic; QoS 0 status gets no reply
            pings = MONTH_S / (keepalive / 4.0)
            statuses = MONTH_S / interval
            total = statuses * status_w + pings * ping_w
            print("  %-26s status %3d s, keepalive %3d s: %6.1f MB/month (status %5.1f + pings %5.1f)"
                  % (name, interval, keepalive, total / 1e6, statuses * status_w / 1e6, pings * ping_w / 1e6))
    print("events: %d B each on the wire (plain); 100 events/month = %.3f MB" % (wire(ev_tx, ev_rx, 1, 1), 100 * wire(ev_tx, ev_rx, 1, 1) / 1e6))


if __name__ == "__main__":
    main()
