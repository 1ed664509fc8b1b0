# restarts.py: when to restart the session of a dead link whose interface stays up (a stuck PPPoE
# session, a DHCP lease to a dead gateway). Pure, fed with monotonic time. netifd's `ifup` of an up
# interface renegotiates it; that is worth trying early (first_s after the link went down), then
# ever more rarely (doubling up to max_s) so a long outage costs a bounded number of attempts.
# Customers are never routed into the link for it: routing follows the probes, not the session.


class SessionRestarts:
    def __init__(self, first_s=30, max_s=600):
        self.first_s = first_s
        self.max_s = max_s
        self.down_since = None
        self.attempts = 0
        self.next_at = None

    def observe(self, now, state):
        """The link's state. Only a healthy link resets the schedule: a restart itself passes
        through "unknown" (the interface is re-judged), which must not start the count again."""
        if state in ("up", "standby"):
            self.down_since = None
            self.attempts = 0
            self.next_at = None
        elif state == "down" and self.down_since is None:
            self.down_since = now
            self.next_at = now + self.first_s

    def due(self, now):
        return self.first_s > 0 and self.next_at is not None and now >= self.next_at

    def started(self, now):
        """A restart was made: the next one waits twice as long as the last gap (≤ max_s).
        Returns the seconds until the next one."""
        self.attempts += 1
        gap = self.first_s
        for _ in range(self.attempts):
            gap *= 2
            if gap >= self.max_s:
                gap = self.max_s
                break
        self.next_at = now + gap
        return gap
