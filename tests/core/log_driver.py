# log_driver.py: wanwatch.log under either runtime (micropython or python).
#   usage: log_driver.py DIR  (DIR/log and DIR/full are unix datagram sockets bound by the test;
#   DIR/full is never read; DIR/missing does not exist)
# The log lines go where the logger sends them (stderr, the sockets); stdout gets one "RESULT"
# line per check, so the test compares both runtimes line by line.
import sys

from wanwatch import log

DIR = sys.argv[1]


class Counted:
    """An argument that counts how often it was formatted."""
    n = 0

    def __str__(self):
        Counted.n += 1
        return "counted"


def result(*words):
    print("RESULT " + " ".join(str(w) for w in words))


mqtt = log.Logger("mqtt")
c = Counted()

# stderr at the default level: debug skipped without formatting its arguments
log.setup("info")
mqtt.debug("skipped %s", c)
mqtt.info("shown %s", c)
mqtt.warning("warned %d", 1)
mqtt.error("failed")
log.info("event agent_start device_id=x version=0.1.0")
log.info("x" * 300)
log.info("two\nlines\r")
log.info("bad %d", "format")
log.info(ValueError("not a string"))
result("formatted", Counted.n)

# warning level: info and debug gone
log.setup("warning")
mqtt.info("hidden")
mqtt.debug("hidden")
mqtt.warning("kept")

# syslog with every level
log.setup("debug", DIR + "/log")
mqtt.error("to syslog %s", "e")
mqtt.warning("to syslog w")
mqtt.info("to syslog i")
mqtt.debug("to syslog d")
log.info("event modem_ready vendor=generic")
result("syslog", log._syslog.sent, log._syslog.fallbacks)

# no logd: every line on stderr, the reason said once
log.setup("info", DIR + "/missing")
mqtt.info("fallback 1")
mqtt.warning("fallback 2")
result("missing", log._syslog.sent, log._syslog.fallbacks)

# logd's queue full (nobody reads DIR/full): what does not fit goes to stderr, nothing blocks
log.setup("info", DIR + "/full")
for i in range(1000):
    mqtt.info("flood %d", i)
s = log._syslog
result("full", s.sent + s.fallbacks, s.sent > 0, s.fallbacks > 0)

log.setup("info")
result("done")
