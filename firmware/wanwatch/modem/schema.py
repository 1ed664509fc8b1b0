# modem/schema.py: the config keys of the modem (modem.*) and of its recovery ladder (recovery.*),
# each declared once: (key, type, default, limits) and its one line of documentation in the
# comment (the format: config/schema.py). Loaded at start-up (the CLI drops it afterwards) and by
# recovery.py, which takes its DEFAULTS from RECOVERY.
from .vendors import NAMES

MODEM = (
    ("port", "!str", None, (1, 128)),  # serial device of the modem's AT port (`/dev/ttyUSB2`; a board's UART:
    # `uart1`)
    ("baud", "int", 115200, (300, 4000000)),  # ignored by USB ttys
    ("vendor", "choice", "auto", ("auto",) + NAMES),  # driver; `auto` detects it from `AT+CGMI` (and `ATI`)
    ("poll_s", "num", 30, (1, 3600)),  # signal/registration poll period
)

RECOVERY = (
    ("enabled", "bool", True, None),  # run the ladder: resync, reattach, reset, power, reboot
    ("reattach_after_s", "num", 600, (0, 604800)),  # answering but not registered this long: `AT+CFUN=0` /
    # `AT+CFUN=1`
    ("step_wait_s", "num", 300, (0, 604800)),  # still failing this long after a step: the next one (doubling per
    # round, up to 8x)
    ("resync_every_s", "num", 60, (0, 86400)),  # no answer: `AT`, `ATE0` again this often
    ("unresponsive_s", "num", 120, (0, 604800)),  # no answer this long: skip reattach, go on to reset
    ("reboot", "bool", False, None),  # last step: reboot the router
    ("max_reboots_per_day", "int", 3, (0, 10)),  # router reboots in any 24 h (persisted across reboots)
    ("resume_window_s", "num", 3600, (0, 604800)),  # a restart within this resumes the ladder where it was
)
