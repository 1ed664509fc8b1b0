# failover/link.py: one uplink as the rest of the agent sees it, built once from the validated
# config: its name, device, netifd interfaces, role, whether it is metered, its probe targets per
# address family, its place in the priority order. Everyone asks the Link instead of scanning the
# config's link list for "is this one metered", "its targets", "its role".
from ..names import ip_family

FAMILIES = ("ipv4", "ipv6")


class Link:
    def __init__(self, index, raw):
        self.index = index
        self.name = raw["name"]
        self.device = raw["device"]
        self.role = raw.get("role")
        self.metered = bool(raw.get("metered"))
        self.interfaces = list(raw.get("interfaces") or [self.name])
        self.targets = {}               # family -> [addresses], only families that have targets
        for fam in FAMILIES:
            t = [a for a in raw.get("targets") or () if ip_family(a) == fam]
            if t:
                self.targets[fam] = t
        self.bandwidth = raw.get("bandwidth") or None   # bandwidth.DEFAULTS keys, validated
        self.cellular = raw.get("cellular") or None     # cellular.DEFAULTS keys (metered links)
        self.checks = {}                # check type -> [validated check specs]
        for spec in raw.get("checks") or ():
            self.checks.setdefault(spec["type"], []).append(spec)

    @property
    def preferred(self):
        return self.index == 0

    @property
    def standby(self):
        """A metered backup waits in standby (sparse checks) while it carries no traffic."""
        return self.metered and self.index > 0

    def families(self):
        return [fam for fam in FAMILIES if fam in self.targets]


def as_links(items):
    """Links from the config's link list (dicts) or an already built list of Links."""
    out = []
    for i in range(len(items)):
        l = items[i]
        out.append(l if isinstance(l, Link) else Link(i, l))
    return out


def by_name(links, name):
    for l in links:
        if l.name == name:
            return l
    return None
