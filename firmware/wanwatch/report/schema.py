# report/schema.py: the config keys of everything the agent says and hears: the MQTT link
# (mqtt.*), signed remote commands (commands.*), the SMS fallback (sms.*) and the technician
# console (console.*), each declared once: (key, type, default, limits) and its one line of
# documentation in the comment (the format: config/schema.py). Loaded at start-up only: the
# reporter, commands and SMS alert take their defaults from it, the CLI drops it afterwards.
MQTT = (
    ("host", "host", "127.0.0.1", None),  # broker: IP address or host name
    ("port", "int", None, (1, 65535)),  # broker port; null: 1883, 8883 with `tls`
    ("resolver", "ip", None, None),  # DNS server (IPv4/IPv6) for a host name in `host`; null: the nameservers of
    # /etc/resolv.conf. Resolved without blocking, cached for its TTL, last good address kept
    ("prefix", "prefix", "wanwatch", None),  # topic prefix: `<prefix>/<device_id>/status` ...
    ("client_id", "str", None, (1, 64)),  # MQTT client id; null: `wanwatch-<device_id>`
    ("tls", "bool", False, None),  # TLS to the broker (the certificate chain and host name are verified)
    ("ca", "str", None, (1, 255)),  # CA file (PEM or DER); required with `tls`: no unverified TLS
    ("cert", "str", None, (1, 255)),  # client certificate file (TLS client authentication)
    ("key", "str", None, (1, 255)),  # the client certificate's private key file; null: in the `cert` file
    ("server_hostname", "host", None, None),  # name the broker's certificate must carry; null: `host`
    ("username", "str", None, (1, 255)),  # MQTT user name; null: none
    ("password", "secret", None, (1, 255)),  # MQTT password; null: none (masked by --print-config)
    ("keepalive_s", "int", 60, (0, 65535)),  # MQTT keepalive (0: none)
    ("keepalive_metered_s", "int", 300, (0, 65535)),  # keepalive of connections made while the active link is
    # metered
    ("status_interval_s", "num", 60, (1, 86400)),  # retained status period
    ("status_interval_metered_s", "num", 300, (1, 86400)),  # ... while the active link is metered
    ("connect_timeout_s", "num", 10, (1, 300)),  # TCP/TLS connect and CONNACK wait (also bounds the DNS lookup)
    ("response_time_s", "num", 10, (1, 300)),  # bound of a write and of the PUBACK/SUBACK wait (a QoS 1 publish is
    # then sent again)
    ("outbox_max_entries", "int", 500, (1, 100000)),  # events kept on flash until the broker acknowledges them
    ("outbox_max_bytes", "int", 32768, (2048, 10000000)),  # ... and their bytes (the oldest are dropped, counted)
)

COMMANDS = (
    ("key", "key", None, None),  # per-device HMAC-SHA256 key of signed commands: text or `hex:<hex digits>`, at
    # least 16 bytes; null: commands off (masked by --print-config)
    ("window_s", "int", 300, (1, 86400)),  # a command's `ts` must be within +-this of the device clock
    ("timeout_s", "num", 60, (1, 3600)),  # time limit of one command's handler
    ("at_allow", "list", None, ("at", None, 1, 64)),  # AT commands the `at` command may run; null: read-only
    # identification and status queries (`AT+CSQ`, `AT+COPS?` ...)
)

SMS = (
    ("numbers", "list", (), ("phone", None, 0, 10)),  # recipients of the SMS fallback and of the at-cap SMS; empty:
    # none
    ("after_s", "num", 600, (0, 604800)),  # the broker unreachable this long before an alert goes by SMS
    ("max_per_day", "int", 5, (1, 100)),  # SMS alerts in any rolling 24 h (persisted)
    ("min_pct", "num", 95, (0, 1000)),  # a `usage_threshold` below this percentage is not texted
    ("events", "list", ("failover", "usage_threshold", "usage_forecast"), ("name", 32, 1, 16)),  # event types
    # texted while the broker is unreachable
)

CONSOLE = (
    ("enabled", "bool", False, None),  # boards: a line console on the UART answering `status`, `status --json`,
    # `events`
)


def settings(section, table):
    """A config section with every key of its table, a missing or null one at its default. A
    validated section has them all already and is returned as it is; parts built directly (tests)
    get a copy with the defaults filled in."""
    section = section or {}
    out = None
    for e in table:
        if e[0] not in section or (section[e[0]] is None and e[2] is not None):
            if out is None:
                out = dict(section)
            out[e[0]] = e[2]
    return section if out is None else out
