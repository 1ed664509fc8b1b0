# usage/schema.py: the config keys of the backup SIM's data usage (usage.*) and of its carrier
# calibrations (usage.calibration[]), each declared once: (key, type, default, limits) and its one
# line of documentation in the comment (the format: config/schema.py). Loaded at start-up only:
# tracker.py and carrier.py derive their DEFAULTS from it, the CLI drops it afterwards.
CAL_TIMEOUTS = {"ussd": 30, "sms": 180}  # calibration.timeout_s when it is null, by method

CALIBRATION = (
    ("method", "!choice", None, ("ussd", "sms")),  # ask the carrier by USSD (`AT+CUSD`) or by an SMS exchange
    ("code", "ussd", None, None),  # ussd (required there): the code, `0-9 * # +` ending in `#`, sent as
    # `AT+CUSD=1,"<code>",15`; quote it in UCI, an unquoted `#` starts a comment
    ("number", "phone", None, None),  # sms (required there): `text` goes to this number; the reply arrives as
    # `+CMTI`, is read with `AT+CMGR` (text mode) and deleted
    ("text", "str", "", (0, 160)),  # sms: the keyword (may be empty)
    ("sender", "str", None, (1, 20)),  # sms: the reply's originator must contain this (any case); other SMS stay on
    # the SIM
    ("pattern", "!pattern", None, None),  # where the figure is in the reply: `{num}` once, maybe `{unit}` (the
    # pattern language: docs/usage.md, Patterns)
    ("value", "choice", "remaining", ("remaining", "used")),  # what the figure is: the remaining or the used
    # allowance
    ("unit", "unit", "MB", None),  # unit of the figure when the pattern has no `{unit}`
    ("iccid_prefix", "digits", "", (0, 20)),  # digits the SIM's ICCID starts with (`""`: any SIM)
    ("interval_s", "num", 21600, (1, 2592000)),  # at most one attempt per SIM in this time (persisted, so a restart
    # loop cannot ask more often; below an hour only for tests: carriers may throttle)
    ("near_pct", "num", 5, (0, 100)),  # also ask when the estimate is within this many percent of the next
    # threshold
    ("timeout_s", "num", None, (1, 600)),  # how long to wait for the answer; null: 30 s for ussd, 180 s for sms
)

USAGE = (
    ("cap_mb", "pos", None, None),  # allowance of the backup SIM per cycle, decimal MB (1 MB = 10^6 bytes, as
    # carriers bill); null: no cap, no thresholds, no forecast
    ("reset_day", "int", 1, (1, 31)),  # day of month the cycle starts (31 = last day of shorter months, 29/30
    # likewise in February)
    ("reset_hour", "int", 0, (0, 23)),  # local hour of the reset
    ("utc_offset_min", "int", 0, (-840, 840)),  # fixed local offset from UTC in minutes; no DST rules on the router
    ("thresholds", "list", (50, 80, 95, 100), ("pos", 1000, 1, 10)),  # percentages of the cap that raise
    # `usage_threshold`, once per crossing per cycle
    ("at_cap_action", "choice", "none", ("none", "alert_sms")),  # `alert_sms`: at 100 % also text `sms.numbers`
    # (required then); never cuts traffic
    ("sample_s", "num", 10, (0.01, 3600)),  # counter sampling period
    ("ram_save_s", "num", 60, (0.01, 86400)),  # state save period to `run_dir` (RAM)
    ("flash_save_s", "num", 900, (0.01, 604800)),  # state save period to `state_dir` (flash) when something changed
    ("flash_save_mb", "num", None, (0.01, 100000)),  # flash save as soon as the ledger grew by this much; null: 1 %
    # of the cap, 5..50 MB (5 MB without a cap)
    ("flash_min_interval_s", "num", 60, (0.01, 86400)),  # ... but not more often than this (power-cut loss <=
    # max(S, rate x T) + rate x sample_s)
    ("source", "choice", "auto", ("auto", "kernel", "modem")),  # counters: `auto` (the kernel's of the metered
    # device, else the modem's), `kernel` or `modem`
    ("max_ledgers", "int", 4, (1, 16)),  # SIM ledgers kept (the least recently used is dropped)
    ("max_rate_mbps", "num", 2000, (1, 100000)),  # plausibility limit: a counter jump above twice this rate is a
    # glitch, not counted
    ("sys_root", "path", "/sys/class/net", (1, 128)),  # where device statistics are read (tests point it at a fake
    # tree)
    ("calibration", "entries", None, (CALIBRATION, 1, 4, "calibration")),  # carrier calibrations (UCI: one `config
    # calibration '<name>'` section each); null: none
)

BUDGET_STEP = (
    ("at_pct", "!pos", None, 1000),  # from this share of the cap on ...
    ("rate_mbps", "!num", None, (0.064, 10000)),  # ... this limit (the highest step reached applies)
)

BUDGET = (
    ("rate_mbps", "num", None, (0.064, 10000)),  # LAN rate limit on the metered link while it carries traffic
    # (each direction); null: none until a step applies
    ("steps", "entries", None, (BUDGET_STEP, 0, 8, "step")),  # the limit as the cap fills (UCI: one `config step
    # '<name>'` section each)
    ("allow", "list", (), ("dest", None, 0, 16)),  # destinations never limited (the card terminal's, the VoIP
    # provider's): addresses, prefixes (a.b.c.d/n, x::/n) or host names
    ("lan_devices", "list", ("br-lan",), ("name", 15, 1, 4)),  # LAN-side devices whose egress carries the
    # downloads
    ("upload", "bool", True, None),  # also limit uploads (egress of the metered link's device)
    ("check_s", "num", 5, (0.1, 3600)),  # period of the re-check of the used share of the cap
    ("resolve_s", "num", 300, (1, 86400)),  # period of the re-resolution of allowlisted host names
)
