# modem/: drivers for the modem's AT port. A generic 27.007 base plus one file per vendor family.
DRIVERS = ("generic", "quectel", "simcom", "huawei", "sierra", "ublox", "telit")

# substrings of +CGMI / ATI text -> driver name
_VENDOR_MARKS = (("QUECTEL", "quectel"), ("SIMCOM", "simcom"), ("SIMTECH", "simcom"), ("HUAWEI", "huawei"),
                 ("SIERRA", "sierra"), ("U-BLOX", "ublox"), ("UBLOX", "ublox"), ("TELIT", "telit"))


def detect_vendor(cgmi_text, ati_text=""):
    text = ((cgmi_text or "") + " " + (ati_text or "")).upper()
    for mark, name in _VENDOR_MARKS:
        if mark in text:
            return name
    return "generic"


def load_driver(name):
    """Driver class for a vendor name; imported lazily so only the needed vendor costs RAM."""
    if name not in DRIVERS or name == "generic":
        from .generic import GenericDriver
        return GenericDriver
    try:
        import sys
        __import__("wanwatch.modem." + name)
        return sys.modules["wanwatch.modem." + name].Driver
    except (ImportError, AttributeError):
        from .generic import GenericDriver
        return GenericDriver
