# failover/cellular.py: what the modem says about the cellular (metered) link, as rules the policy
# can use. Pure: fed with the modem layer's registration and signal values and monotonic time.
#   not registered / registration denied  -> not usable (costs no bytes to know)
#   roaming without allow_roaming          -> not usable (a foreign network's tariff)
#   RSRP or SINR under its threshold for sustain_s -> weak: still usable, alerted (an antenna
#   knocked over, a cell that moved: worth a technician's visit before the primary fails)

DEFAULTS = {
    "allow_roaming": True,      # a roaming SIM is usable (many M2M backup SIMs roam by design)
    "rsrp_min_dbm": -115,       # weak below this ...
    "sinr_min_db": -3,          # ... or this
    "weak_sustain_s": 60,       # ... for this long
}


class CellularRules:
    def __init__(self, cfg=None):
        c = dict(DEFAULTS)
        for k in cfg or {}:
            if cfg[k] is not None:
                c[k] = cfg[k]
        self.cfg = c
        self.weak = False
        self._weak_since = None
        self._ok_since = None

    def usable(self, net):
        """(usable, reason) from {"registered", "registration"}; unknown values count as usable (a
        broken or slow modem layer must not hide a working link: the probes judge it)."""
        reg = net.get("registered")
        state = net.get("registration")
        if state == "denied":
            return False, "registration denied"
        if reg is False:
            return False, "modem not registered"
        if state == "roaming" and not self.cfg["allow_roaming"]:
            return False, "roaming (allow_roaming is off)"
        return True, None

    def signal(self, now, rsrp, sinr):
        """Returns "weak" or "strong" when the verdict changes, else None."""
        bad = (rsrp is not None and rsrp < self.cfg["rsrp_min_dbm"]) or \
              (sinr is not None and sinr < self.cfg["sinr_min_db"])
        if bad:
            self._ok_since = None
            if self._weak_since is None:
                self._weak_since = now
            if not self.weak and now - self._weak_since >= self.cfg["weak_sustain_s"]:
                self.weak = True
                return "weak"
        else:
            self._weak_since = None
            if self.weak and rsrp is not None:
                if self._ok_since is None:
                    self._ok_since = now
                if now - self._ok_since >= self.cfg["weak_sustain_s"]:
                    self.weak = False
                    return "strong"
        return None
