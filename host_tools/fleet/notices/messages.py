"""Site state -> the rendered customer messages (pure). `due` is what the sender uses; `preview`
is what an operator (CLI, dashboard) looks at before turning notices on."""
from ..alerts import Dedup
from . import decide, templates
from .contacts import Contact
from .settings import Settings

# figures a preview of every message uses where the site's state has none (marked "sample")
SAMPLE = {"left": 2 * 86400, "reset": 20 * 86400, "pct": 80, "duration": 3 * 3600}


def _render(kind, values, contact, settings, lang):
    return templates.render(kind, lang or contact.lang, dict(values, name=contact.name, provider=settings.provider))


def due(dedup, site, contact, settings, now, known=None, lang=None):
    """The messages to send for this report of the site; advances the de-duplication book."""
    known = known or decide.known_conditions(settings)
    held = {c for c in known if (site.device_id, c) in dedup.active}
    conds = decide.conditions(site, settings, now, held)
    return [_render(kind, values, contact, settings, lang)
            for kind, values in decide.step(dedup, site.device_id, conds, known, now)]


def preview(site, contact=None, now=0, lang=None, settings=None, every=False):
    """The messages that would go out for the site's state now (as for a site nothing was told to
    yet), or with every=True one of each kind with the site's figures (made-up ones marked
    "sample": True). contact None: an unnamed one (name = the site id). Returns a list of
    {"kind", "lang", "subject", "text", "sms"[, "sample"]}. Pure: pass the time in."""
    settings = settings or Settings()
    contact = contact or Contact(site.device_id, site.device_id)
    if not every:
        return due(Dedup(0), site, contact, settings, now, lang=lang)
    figures = {}
    for values in decide.conditions(site, settings, now).values():
        figures.update({k: v for k, v in values.items() if v is not None and k != "full"})
    u = (site.status or {}).get("usage") or {}
    if u.get("cycle_end") is not None:
        figures.setdefault("reset", u["cycle_end"] - now)
    if u.get("forecast_exhaustion") is not None and u.get("cap_bytes"):
        figures.setdefault("left", u["forecast_exhaustion"] - now)
    out = []
    for kind in templates.KINDS:
        wanted = {"on_backup": ("left",), "runout": ("left",), "cap": ("pct", "reset"), "cap_full": ("reset",),
                  "restored": ("duration",)}.get(kind, ())
        values = {k: figures.get(k, SAMPLE[k]) for k in wanted}
        msg = _render(kind, values, contact, settings, lang)
        if any(k not in figures for k in wanted):
            msg["sample"] = True
        out.append(msg)
    return out
