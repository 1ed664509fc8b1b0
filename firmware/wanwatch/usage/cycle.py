# cycle.py: billing-cycle arithmetic on epoch seconds (UTC plus an optional fixed offset).
# Pure integer functions: MicroPython has no datetime, and time.gmtime/mktime use a different
# epoch on some ports, so civil dates are computed here from a day count (proleptic Gregorian,
# eras of 400 years = 146097 days, months counted from March so the leap day comes last).
DAY = 86400


def days_from_civil(y, m, d):
    """Days since 1970-01-01 of the civil date y-m-d."""
    if m <= 2:
        y -= 1
    era = y // 400
    yoe = y - era * 400                       # year of era, 0..399
    mp = (m + 9) % 12                         # March = 0 ... February = 11
    doy = (153 * mp + 2) // 5 + d - 1         # day of the March-based year
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468        # 719468 = days from 0000-03-01 to 1970-01-01


def civil_from_days(z):
    """(y, m, d) of a day count since 1970-01-01 (inverse of days_from_civil)."""
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y = yoe + era * 400
    if m <= 2:
        y += 1
    return y, m, d


def is_leap(y):
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def days_in_month(y, m):
    if m == 2:
        return 29 if is_leap(y) else 28
    return 30 if m in (4, 6, 9, 11) else 31


def _shift_month(y, m, k):
    n = y * 12 + (m - 1) + k
    return n // 12, n % 12 + 1


def reset_moment(y, m, day, hour=0, offset_min=0):
    """Epoch of the cycle reset in month y-m: local day `day` (clamped to the month's last day, so
    31 means 'last day' in short months) at `hour`:00 local, local = UTC + offset_min."""
    d = day if day <= days_in_month(y, m) else days_in_month(y, m)
    return days_from_civil(y, m, d) * DAY + hour * 3600 - offset_min * 60


def bounds(now, day, hour=0, offset_min=0):
    """(start, end) epoch ints of the billing cycle containing `now`: start <= now < end."""
    now = int(now)
    y, m, _ = civil_from_days((now + offset_min * 60) // DAY)
    cand = reset_moment(y, m, day, hour, offset_min)
    if now >= cand:
        ny, nm = _shift_month(y, m, 1)
        return cand, reset_moment(ny, nm, day, hour, offset_min)
    py, pm = _shift_month(y, m, -1)
    return reset_moment(py, pm, day, hour, offset_min), cand


def iso_utc(epoch):
    """'YYYY-MM-DDTHH:MMZ' for events and SMS texts (minute precision is enough for a forecast)."""
    epoch = int(epoch)
    y, m, d = civil_from_days(epoch // DAY)
    s = epoch % DAY
    return "%04d-%02d-%02dT%02d:%02dZ" % (y, m, d, s // 3600, (s % 3600) // 60)
