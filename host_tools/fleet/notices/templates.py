"""Customer notice texts: one JSON file per language beside this module (en.json is the reference),
rendered with the site's figures. A key missing in a language falls back to English; an unknown
language is English. Pure apart from reading the files once."""
import json
import os
import string
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = "en"
KINDS = ("on_backup", "on_backup_plain", "runout", "cap", "cap_full", "restored")
PARTS = ("subject", "text", "sms")

_cache = {}


def languages():
    """Codes of the language files shipped (it, en, ...)."""
    return sorted(f[:-5] for f in os.listdir(HERE) if f.endswith(".json"))


def load(lang):
    if lang not in _cache:
        with open(os.path.join(HERE, lang + ".json"), encoding="utf-8") as f:
            _cache[lang] = json.load(f)
    return _cache[lang]


def flat(doc, prefix=""):
    """{"units": {"hours": ".."}} -> {"units.hours": ".."}: the key set the tests compare."""
    out = {}
    for k, v in doc.items():
        if isinstance(v, dict):
            out.update(flat(v, prefix + k + "."))
        else:
            out[prefix + k] = v
    return out


def placeholders(text):
    return sorted({field for _, field, _, _ in string.Formatter().parse(text) if field is not None})


def pick_language(lang):
    """A contact's language code ("it", "it-IT", "IT") -> a shipped language; English otherwise."""
    have = languages()
    code = (lang or "").strip().lower().replace("_", "-")
    for c in (code, code.split("-")[0]):
        if c in have:
            return c
    return REFERENCE


def _get(lang, dotted):
    for l in (lang, REFERENCE):
        node = load(l)
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, str):
            return node
    raise KeyError(dotted)


def duration(lang, seconds):
    """Plain words for a span: "less than an hour", "about 5 hours", "about 2 days"."""
    s = max(0, seconds)
    if s < 3600:
        return _get(lang, "units.under_hour")
    if s < 5400:
        return _get(lang, "units.hour_one")
    if s < 20 * 3600:
        return _get(lang, "units.hours").format(n=round(s / 3600))
    if s < 36 * 3600:
        return _get(lang, "units.day_one")
    return _get(lang, "units.days").format(n=round(s / 86400))


def one_line(value, limit=200):
    """A value fit for a mail header: control characters (CR/LF above all) become spaces, runs of
    spaces collapse, length is bounded. Names come from files and sites we do not control."""
    s = "".join(" " if unicodedata.category(c).startswith("C") else c for c in str(value))
    return " ".join(s.split())[:limit]


def render(kind, lang, values):
    """{"lang", "subject", "text", "sms"} for one notice. values: name, provider (None: the
    language's default), left/reset/duration in seconds, pct. Values are inserted as they are:
    str.format does not interpret braces inside a value."""
    lang = pick_language(lang)
    v = {"name": one_line(values.get("name") or "", 80), "pct": "" if values.get("pct") is None else str(values["pct"])}
    v["provider"] = one_line(values.get("provider") or _get(lang, "provider_default"), 80)
    for k in ("left", "reset", "duration"):
        v[k] = duration(lang, values[k]) if values.get(k) is not None else ""
    out = {"kind": kind, "lang": lang}
    for part in PARTS:
        out[part] = _get(lang, "messages.%s.%s" % (kind, part)).format_map(v)
    out["subject"] = one_line(out["subject"])
    return out
