# failover/schema.py: the config keys of the uplinks (links[]), their health checks (probe.*) and
# the failover decisions (failover.*), each declared once: (key, type, default, limits) and its one
# line of documentation in the comment (the format: config/schema.py). Loaded at start-up only:
# linkstate.py derives PROBE_DEFAULTS / FAILOVER_DEFAULTS from it, the CLI drops it afterwards.
CHECK = (
    ("type", "!choice", None, ("dns", "http")),  # `dns`: a query through the link; `http`: a GET through the link
    ("name", "str", None, (1, 253)),  # dns: the name to look up
    ("resolver", "ip", None, None),  # dns: the resolver to ask (through the link)
    ("expect", "addr", None, None),  # dns: the address the answer must hold (null: any answer)
    ("qtype", "choice", None, ("A", "AAAA")),  # dns: the record type (default: from `expect`, else A)
    ("url", "url", None, 256),  # http: a plain http:// URL (no TLS: a handshake would block the loop)
    ("status", "int", None, (100, 599)),  # http: the expected status (default 200)
    ("contains", "str", None, (1, 128)),  # http: text the page must hold; a page without it is a captive portal
    ("interval_s", "pos", None, 86400),  # round period (default dns 10, http 30)
    ("timeout_s", "pos", None, 60),  # answer wait (default dns 2, http 5)
    ("standby_interval_s", "pos", None, 604800),  # metered backup in standby (default 3600)
    ("metered_interval_s", "pos", None, 86400),  # metered link carrying traffic (default 300)
)

BANDWIDTH = (
    ("min_mbps", "pos", None, 100000),  # below this while the customers want more: degraded
    ("expected_mbps", "pos", None, 100000),  # the contract's downlink; a quarter of it under demand: degraded
    ("queue_ms", "pos", 50, 10000),  # RTT above the baseline that says packets queue (demand exceeds the line)
    ("sustain_s", "pos", 20, 3600),  # a low rate must hold this long
    ("clear_s", "pos", 60, 86400),  # an idle link's low verdict lapses after this (without an active test)
    ("throttle_kbps", "pos", 1000, 1000000),  # metered: a rate pinned under this under demand is throttling
    ("test_url", "url", None, 256),  # active test (unmetered links): a plain-HTTP object to download
    ("test_bytes", "int", 262144, (16384, 104857600)),  # ... this much of it
    ("test_interval_s", "pos", 900, 86400),  # ... this often (at most 60 s apart while low)
)

CELLULAR = (
    ("allow_roaming", "bool", True, None),  # a roaming SIM is usable (many M2M backup SIMs roam by design)
    ("rsrp_min_dbm", "num", -115, (-160, -40)),  # weak below this RSRP ...
    ("sinr_min_db", "num", -3, (-30, 50)),  # ... or this SINR ...
    ("weak_sustain_s", "pos", 60, 86400),  # ... for this long: `signal_weak` (still usable)
)

LINK = (
    ("name", "!name", None, 15),  # OpenWrt interface name (`wan`, `wwan`); UCI: the section name of `config link
    # 'wan'`
    ("device", "!name", None, 15),  # kernel device (`pppoe-wan`, `wwan0`)
    ("role", "!choice", None, ("primary", "backup")),  # reported in the inventory; the priority is the order of the
    # links
    ("metered", "bool", False, None),  # the backup SIM: sparse checks in standby, its traffic counted against
    # `usage.cap_mb`
    ("targets", "list", ("1.1.1.1", "8.8.8.8", "9.9.9.9"), ("addr", None, 1, 16)),  # probe targets; the address
    # families they cover are the families watched, and both switch together
    ("interfaces", "list", None, ("name", 15, 1, 8)),  # netifd interfaces on the link's device (`wan`, `wan6`):
    # hotplug events and session restarts; default: the link's name
    ("checks", "entries", None, (CHECK, 0, 8, "check")),  # DNS and HTTP checks beyond ICMP (UCI: `config check
    # '<name>'` sections with `option link '<link>'`)
    ("bandwidth", "section", None, BANDWIDTH),  # too little bandwidth as a degradation
    ("cellular", "section", None, CELLULAR),  # registration and signal rules of a metered (cellular) link
)

PROBE = (
    ("interval_s", "pos", 1.0, 3600),  # round period on an unmetered link (costs nothing on the SIM)
    ("timeout_s", "pos", 0.8, 60),  # reply wait of a normal round (ceiling of the adaptive wait)
    ("timeout_min_s", "pos", 0.25, 60),  # floor of the adaptive reply wait (= `timeout_s`: fixed waits)
    ("burst_rounds", "int", 3, (1, 20)),  # confirmation rounds after a failed one (down = 1 + 3 failed rounds)
    ("burst_interval_s", "pos", 0.3, 60),  # minimum spacing of burst rounds
    ("burst_timeout_s", "pos", 0.5, 60),  # reply wait of a burst round (ceiling of the adaptive wait); fixed wait
    # of a verification
    ("up_rounds", "int", 3, (1, 100)),  # consecutive good rounds from down to up
    ("quorum", "int", None, (1, 16)),  # targets that must answer; null: 1 if there are at most 2, else 2 (of the
    # live targets)
    ("dead_target_rounds", "int", 5, (1, 1000)),  # a target silent this many rounds while others answer is dead
    # (left out)
    ("payload_bytes", "int", 0, (0, 1232)),  # ICMP payload; 0: 28 B (IPv6: 48 B) per echo at the IP layer
    ("standby_interval_s", "pos", 300, 86400),  # sparse check of a metered backup in standby
    ("metered_active_interval_s", "pos", 10, 3600),  # round period while a metered link carries the traffic
)

FAILOVER = (
    ("window_s", "pos", 30, 3600),  # quality window (loss, RTT)
    ("min_samples", "int", 20, (1, 1000)),  # samples in the window before loss or RTT may call a link degraded
    ("degraded_loss_pct", "pos", 25, 100),  # loss % that degrades a link (> 10 so that 10 % random loss never
    # does)
    ("recover_loss_pct", "num", 10, (0, 100)),  # loss % at or below which a degraded link recovers
    ("degraded_sustain_s", "pos", 10, 3600),  # the window must look bad this long (a sliding window has excursions)
    ("degraded_rtt_ms", "pos", 150, 60000),  # median RTT above the learnt baseline + this = degraded
    ("recover_rtt_ms", "pos", 75, 60000),  # median RTT at or below baseline + this = recovered
    ("hold_down_s", "pos", 120, 86400),  # failback hold-down, doubled per flap
    ("hold_down_max_s", "pos", 1800, 604800),  # ... up to this
    ("flap_window_s", "pos", 3600, 604800),  # a failover this soon after a failback is a flap
    ("stable_reset_s", "pos", 86400, 2592000),  # on the primary this long: the hold-down goes back to `hold_down_s`
    ("verify_fresh_s", "pos", 5, 3600),  # a burst verification of the target link is trusted this long
    ("verify_retry_s", "pos", 10, 3600),  # a failed verification is retried after this
    ("session_restart_s", "num", 30, (0, 86400)),  # a dead link with its interface up: first session restart (0:
    # never)
    ("session_restart_max_s", "num", 600, (0, 86400)),  # ... then doubling up to this
    ("flush_conntrack", "bool", True, None),  # after a switch, drop the NAT entries bound to the old link's
    # addresses
    ("resolv_file", "path", "/tmp/resolv.conf.d/resolv.conf.auto", (0, 128)),  # netifd's DNS servers per interface
    # (DNS rules, dnsmasq nudge); `""`: no DNS rules
)
