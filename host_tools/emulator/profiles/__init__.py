"""Emulator profiles: how each modem family answers, rendered from one state dict. One module per
vendor (generic.py: plain 27.007 and the shared base); PROFILES here is the one registry of them.
Each profile's VENDOR is the driver name a correct agent reports for it, and `expected(state)` the
status-contract values a correct parser must report for the same state."""
from .generic import Generic
from .huawei import HuaweiME909
from .quectel import QuectelEC25, QuectelRM500Q
from .sierra import SierraEM7455
from .simcom import SimcomA7670E, SimcomSIM7600
from .telit import TelitLE910
from .ublox import UbloxSaraR5

PROFILES = {}
for _profile in (Generic, QuectelEC25, QuectelRM500Q, SimcomSIM7600, SimcomA7670E, HuaweiME909, UbloxSaraR5,
                 TelitLE910, SierraEM7455):
    PROFILES[_profile.NAME] = _profile


def get(name):
    try:
        return PROFILES[name]()
    except KeyError:
        raise ValueError("unknown emulator profile %r (have: %s)" % (name, ", ".join(sorted(PROFILES))))
