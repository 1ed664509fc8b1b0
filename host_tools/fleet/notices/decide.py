"""Which customer notice a site's state calls for (pure: state, settings and the time in; the
de-duplication book is the only thing it changes).

Conditions per site: on_backup, runout (on the backup and its data runs out within runout_h at
the forecast rate), cap:<pct> for each threshold reached. A condition is told when it starts (same
de-duplication and quiet period as the operator alerts); the end of an announced on_backup is told
as "restored". At most one start is told per report, the most useful one (on_backup, then a full
cap, then runout, then the highest cap threshold): a customer who just got "you are on the
backup, it lasts about 3 hours" does not need a second message about the same thing.
A condition already told holds with some slack (runout until 1.5 x runout_h, a cap threshold until
2 points below it), so a forecast or a carrier calibration wobbling at a limit does not repeat it.
"""
from ..model import on_backup


RUNOUT_SLACK = 1.5
CAP_SLACK_PCT = 2.0


def conditions(site, settings, now, held=()):
    """{condition: values} holding now; values feed the templates (seconds, pct). held: the
    conditions that held at the last report (they get the slack)."""
    st = site.status or {}
    u = st.get("usage") or {}
    out = {}
    pct, cap = u.get("used_pct"), u.get("cap_bytes")
    fe, ce = u.get("forecast_exhaustion"), u.get("cycle_end")
    reset = ce - now if ce is not None else None
    left = fe - now if fe is not None and cap else None
    if left is not None and ce is not None and fe >= ce:
        left = None  # lasts past the renewal: no forecast worth telling
    backup = on_backup(site)
    if backup:
        out["on_backup"] = {"left": left}
        limit = settings.runout_h * 3600 * (RUNOUT_SLACK if "runout" in held else 1)
        if left is not None and left <= limit and (pct is None or pct < 100):
            out["runout"] = {"left": left}
    if pct is not None:
        for th in settings.cap_pct:
            if pct >= th - (CAP_SLACK_PCT if "cap:%g" % th in held else 0):
                out["cap:%g" % th] = {"pct": int(pct) if pct < 100 else 100, "reset": reset, "full": th >= 100}
    return out


def _priority(cond, values):
    if cond == "on_backup":
        return (0, 0)
    if cond.startswith("cap:") and values["full"]:
        return (1, 0)
    if cond == "runout":
        return (2, 0)
    return (3, -float(cond[4:]))


def _kind(cond, values):
    if cond == "on_backup":
        return "on_backup" if values["left"] is not None else "on_backup_plain"
    if cond.startswith("cap:"):
        return "cap_full" if values["full"] else "cap"
    return cond


def step(dedup, site_id, conds, known, now):
    """Advance the book for one site. conds: conditions() now; known: every condition name this site
    may have (so one that stopped holding is cleared). Returns [(kind, values)] to tell."""
    told = []
    for cond in sorted(known - set(conds)):
        duration = dedup.clear((site_id, cond), now)
        if cond == "on_backup" and duration is not None:
            told.append(("restored", {"duration": duration}))
    started = [c for c in sorted(conds) if dedup.start((site_id, c), now)]
    if started:
        best = min(started, key=lambda c: _priority(c, conds[c]))
        told.append((_kind(best, conds[best]), conds[best]))
    return told


def known_conditions(settings):
    return {"on_backup", "runout"} | {"cap:%g" % th for th in settings.cap_pct}
