# usage/forecast.py: when the backup SIM's allowance runs out at the current burn. The burn rate is
# the bytes of the ledger's last 24 hourly buckets over the time they cover (at least 6 h of
# observation: a short burst is not a trend), held to the budget policy's rate limit when one is in
# force; a `usage_forecast` event warns once per trend when the projection falls before the cycle
# ends. An optional area (features.py): a board manifest may leave it out, and the tracker then
# reports forecast_exhaustion null and counts, thresholds and saves exactly as before.
from . import cycle

HOUR = 3600
DAY = 86400
WINDOW_S = DAY          # burn rate = bytes of the last 24 hourly buckets / time covered
MIN_OBS_S = 6 * HOUR    # no forecast from less observation (a short burst is not a trend)
CLEAR_S = DAY           # a forecast warning clears when the projection moves > 1 day past the end


def limited_rate(rate, rx, tx, limit):
    """The burn rate (bytes/s) a forecast may assume under a rate limit (budget policy): the
    observed rate split by the ledger's rx/tx share, each direction no faster than its limit
    (bytes/s; None = that direction is not limited). A forecast from the unlimited past would
    run out far too early."""
    if not limit or rate is None:
        return rate
    tot = rx + tx
    share = rx / tot if tot > 0 else 1.0
    out = 0.0
    for part, lim in ((rate * share, limit[0]), (rate * (1.0 - share), limit[1])):
        out += part if lim is None or part < lim else lim
    return out


def rate(L, now, limit):
    """Bytes/s of the ledger L over the window, or None with less than MIN_OBS_S of observation."""
    horizon = now - WINDOW_S
    tot = 0
    for h, b in L["hb"]:
        if (h + 1) * HOUR > horizon:
            tot += b
    start = L["since"] if L["since"] is not None else now
    if start < horizon:
        start = horizon
    cov = now - start
    if cov < MIN_OBS_S:
        return None
    return limited_rate(tot / cov, L["rx"], L["tx"], limit)


def exhaustion(L, cap, used, now, limit):
    """Epoch seconds when `used` reaches `cap` at the current rate (when it was reached, once it
    is), or None."""
    if L is None or not cap:
        return None
    if used >= cap:
        return L["cap_at"] if L["cap_at"] is not None else now
    r = rate(L, now, limit)
    if not r:
        return None
    return now + int((cap - used) / r)


def warn(tracker, L, now, cap, used, fc):
    """The `usage_forecast` event, once per trend (L["fc"] persisted before it is announced)."""
    if not cap or used >= cap:
        return
    if not L["fc"] and fc is not None and L["end"] is not None and fc < L["end"]:
        L["fc"] = 1
        tracker._ver += 1
        tracker.save(True)
        tracker.events.emit("usage_forecast", iccid=L["iccid"], exhaustion=cycle.iso_utc(fc),
                            exhaustion_ts=fc, cycle_end=L["end"],
                            rate_bps=int(rate(L, now, tracker.rate_limit) or 0),
                            used_pct=tracker._used_pct(L, cap), total_bytes=L["rx"] + L["tx"], used_bytes=used,
                            cap_bytes=cap)
    elif L["fc"] and (fc is None or L["end"] is None or fc > L["end"] + CLEAR_S):
        L["fc"] = 0  # the burn slowed down: a new trend may warn again
        tracker._ver += 1
