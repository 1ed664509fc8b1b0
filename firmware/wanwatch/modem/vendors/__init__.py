# modem/vendors/: one module per vendor driver and this registry, the only list of vendors (modem/schema.py
# takes its choices from NAMES). Each driver describes itself (generic.py, GenericDriver): marks for
# auto-detection, URC prefixes, bare and slow commands, boot marks, reset and recovery commands, its
# serving-cell query. Modules are imported only when needed, so a router with a Quectel modem never
# holds the SIMCom parsers in its heap; a build that leaves a vendor file out falls back to generic.
NAMES = ("generic", "quectel", "simcom", "huawei", "sierra", "ublox", "telit")


def _module(name):
    import sys
    full = __name__ + "." + name
    try:
        __import__(full)
        return sys.modules[full]
    except ImportError:  # not in this build
        return None


def _forget(name):
    """Drop a vendor module imported only to read its MARKS: its code goes back to the heap."""
    import sys
    sys.modules.pop(__name__ + "." + name, None)
    try:
        delattr(sys.modules[__name__], name)
    except (AttributeError, KeyError):  # MicroPython raises KeyError for a missing one
        pass


def load(name):
    """Driver class for a vendor name; the generic driver for an unknown name or a missing file."""
    module = _module(name) if name in NAMES and name != "generic" else None
    if module is None or not hasattr(module, "Driver"):
        from .generic import GenericDriver
        return GenericDriver
    return module.Driver


def detect(text):
    """The driver class whose MARKS occur in text (AT+CGMI / ATI replies), else the generic driver.
    Vendors are looked at one at a time; one that does not match is dropped again."""
    import sys
    text = (text or "").upper()
    if text.strip():
        for name in NAMES[1:]:
            loaded = (__name__ + "." + name) in sys.modules
            module = _module(name)
            if module is None:
                continue
            driver = getattr(module, "Driver", None)
            for mark in getattr(driver, "MARKS", ()):
                if mark in text:
                    return driver
            if not loaded:  # imported just to read its MARKS
                _forget(name)
    from .generic import GenericDriver
    return GenericDriver
