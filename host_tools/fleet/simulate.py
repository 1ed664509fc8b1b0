"""`fleet simulate`: a fleet of fake wanwatch sites publishing realistic status, state, inventory and
event streams (failovers, cap crossings, outages, the odd forced seq gap) for load tests."""
import json
import random
import time

import paho.mqtt.client as mqtt

OPERATORS = (("Telekom.de", "262", "01"), ("Vodafone.de", "262", "02"), ("o2 - de", "262", "03"))


class SimSite:
    def __init__(self, i, rnd, now):
        self.id = "site-%05d" % i
        self.rnd = rnd
        self.boot = 1
        self.seq = 0
        self.active = "wan"
        self.used = rnd.randint(0, 8) * 100_000_000
        self.cap = 10_000_000_000
        self.offline = False
        op = OPERATORS[i % len(OPERATORS)]
        self.op = op
        self.inventory = {"v": 1, "device_id": self.id, "board": "openwrt-quectel", "firmware_version": "0.1.0",
                          "modem_vendor": "quectel", "modem_model": "EC25", "modem_firmware": "EC25EFAR06A06M4G",
                          "imei": "8613%011d" % i, "iccid": "894901%014d" % i, "imsi": "%s%s%010d" % (op[1], op[2], i),
                          "operator": op[0],
                          "links": [{"name": "wan", "device": "pppoe-wan", "role": "primary", "metered": False,
                                     "addresses": ["100.64.%d.%d/32" % (i // 250 % 250, i % 250 + 1)]},
                                    {"name": "wwan", "device": "wwan0", "role": "backup", "metered": True,
                                     "addresses": []}]}
        self.cycle_start = int(now) - 86400 * 10
        self.cycle_end = self.cycle_start + 86400 * 30

    def status(self, now):
        wan = "down" if self.active == "wwan" else "up"
        pct = round(100.0 * self.used / self.cap, 1)
        burn = 5e6 if self.active == "wwan" else 2e4
        return {"v": 1, "device_id": self.id, "ts": int(now), "uptime_s": 1000,
                "modem": {"vendor": "quectel", "model": "EC25", "firmware": "EC25EFAR06A06M4G",
                          "imei": self.inventory["imei"], "state": "ready", "temp_c": 41, "counters": None},
                "sim": {"state": "ready", "iccid": self.inventory["iccid"], "imsi": self.inventory["imsi"]},
                "network": {"operator": self.op[0], "mcc": self.op[1], "mnc": self.op[2], "registration": "home",
                            "registered": True},
                "signal": {"rat": "LTE", "csq": 20, "rssi_dbm": -73, "rsrp_dbm": self.rnd.randint(-115, -80),
                           "rsrq_db": -10.0, "sinr_db": 12.0, "band": 20, "cell_id": 124217865, "tac": 1539,
                           "pci": 188, "earfcn": 6300, "nr": None},
                "links": {"wan": {"state": wan, "active": self.active == "wan", "rtt_ms": None if wan == "down" else 12.3,
                                  "loss_pct": 100.0 if wan == "down" else 0.0},
                          "wwan": {"state": "up" if self.active == "wwan" else "standby", "active": self.active == "wwan",
                                   "rtt_ms": 41.0, "loss_pct": 0.0}},
                "active_link": self.active,
                "usage": {"iccid": self.inventory["iccid"], "rx_bytes": self.used * 3 // 4, "tx_bytes": self.used // 4,
                          "total_bytes": self.used, "cap_bytes": self.cap, "used_pct": pct,
                          "cycle_start": self.cycle_start, "cycle_end": self.cycle_end,
                          "forecast_exhaustion": int(now + (self.cap - self.used) / burn) if self.used < self.cap else int(now),
                          "own_bytes": 12000},
                "mqtt": {"connected": True, "queued": 0, "dropped": 0}}

    def event(self, kind, now, **fields):
        self.seq += 1
        ev = {"v": 1, "type": kind, "seq": self.seq, "boot": self.boot, "ts": int(now)}
        ev.update(fields)
        return ev

    def step(self, now):
        """Advance the site's story by one report; returns a list of (subtopic, payload, retain)."""
        out = []
        r = self.rnd.random()
        if self.offline:
            if r < 0.2:
                self.offline = False
                self.boot += 1
                self.seq = 0
                out.append(("state", "online", True))
            return out
        if r < 0.01:
            self.offline = True
            return [("state", "offline", True)]
        if r < 0.03 and self.active == "wan":
            self.active = "wwan"
            out.append(("event", self.event("failover", now, **{"from": "wan", "to": "wwan", "reason": "down"}), False))
        elif r < 0.06 and self.active == "wwan":
            self.active = "wan"
            out.append(("event", self.event("failback", now, **{"from": "wwan", "to": "wan"}), False))
        elif r < 0.065:
            self.seq += 1 + self.rnd.randint(1, 3)  # forced seq gap: events lost in transit
            out.append(("event", self.event("link_state", now, link="wan", state="degraded"), False))
        if self.active == "wwan":
            before = 100.0 * self.used / self.cap
            self.used += self.rnd.randint(50, 400) * 1_000_000
            after = 100.0 * self.used / self.cap
            for th in (50, 80, 95, 100):
                if before < th <= after:
                    out.append(("event", self.event("usage_threshold", now, pct=th, iccid=self.inventory["iccid"]), False))
        out.append(("status", self.status(now), True))
        return out


def run(host, port, sites, rate, duration, prefix="wanwatch", seed=1, qos=0, out=None, max_messages=None):
    """Publish: inventory + online for every site, then `rate` reports/s for `duration` s.
    Returns the number of messages published."""
    rnd = random.Random(seed)
    now = time.time()
    fleet = [SimSite(i, rnd, now) for i in range(sites)]
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="wanwatch-sim-%d" % seed, protocol=mqtt.MQTTv5)
    c.max_queued_messages_set(0)
    c.connect(host, port)
    c.loop_start()
    n = 0

    def pub(site, sub, payload, retain):
        nonlocal n
        if not isinstance(payload, str):
            payload = json.dumps(payload, separators=(",", ":"))
        c.publish("%s/%s/%s" % (prefix, site.id, sub), payload, qos=1 if sub == "event" else qos, retain=retain)
        n += 1

    for s in fleet:
        pub(s, "inventory", s.inventory, True)
        pub(s, "state", "online", True)
        pub(s, "status", s.status(now), True)
    t0 = time.time()
    i = 0
    while time.time() - t0 < duration and (max_messages is None or n < max_messages):
        s = fleet[i % sites]
        i += 1
        for sub, payload, retain in s.step(time.time()):
            pub(s, sub, payload, retain)
        if rate and i % 50 == 0:
            ahead = i / rate - (time.time() - t0)
            if ahead > 0:
                time.sleep(ahead)
    time.sleep(0.5)
    c.loop_stop()
    c.disconnect()
    if out:
        out.write("simulated %d sites: %d messages in %.1f s\n" % (sites, n, time.time() - t0))
    return n
