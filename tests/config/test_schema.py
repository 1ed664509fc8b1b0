"""One schema per area: every key set through UCI text and through JSON, with a valid and an invalid
value each, gives the same validated config or the same one-line error, on CPython and under the
real MicroPython; the docs' tables, the shipped /etc/config/wanwatch and --print-config come from
the same schema; every accepted key is read by the agent."""
import ast
import copy
import json
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import run_micropython
from tests.support import paths
from wanwatch import config
from wanwatch.config import schema, uci

SRC = "wanwatch"
SHIPPED = os.path.join(paths.ROOT, "openwrt/wanwatch/files/etc/config/wanwatch")
SINGULAR = dict((v, k) for k, v in uci.SINGULAR.items())

BASE = {
    "device_id": "r1",
    "modem": {"port": "/dev/ttyUSB2"},
    "links": [{"name": "wan", "device": "eth0", "role": "primary",
               "checks": [{"type": "dns", "name": "check.example.net", "resolver": "192.0.2.53"},
                          {"type": "http", "url": "http://192.0.2.10/check"}]},
              {"name": "wwan", "device": "wwan0", "role": "backup", "metered": True}],
    # entry 0 has code and number, so that its method may be either
    "usage": {"calibration": [{"method": "ussd", "code": "*100#", "number": "22555", "pattern": "{num}"},
                              {"method": "sms", "number": "22555", "pattern": "used {num} {unit}"}]},
    "mqtt": {"ca": "/etc/wanwatch/ca.pem"},  # so that tls may be true
    "sms": {"numbers": ["+4917000000001"]},  # so that usage.at_cap_action may be alert_sms
    "actuator": "openwrt", "budget": {"steps": [{"at_pct": 80, "rate_mbps": 1}]},  # a budget: routing, metered
}

class _Empty:
    def __repr__(self):
        return "EMPTY"


EMPTY = _Empty()  # a value: null in JSON (or "" where "" is a value of its own), '' in UCI

# one valid and some invalid values of each type, from its limits (a new type fails here first)
SAMPLES = {
    "name": lambda lim: ("n1", ["a b", "x" * (lim + 1)]),
    "host": lambda lim: ("broker.example.net", ["a b", "-x"]),
    "ip": lambda lim: ("2001:db8::53", ["dns.example.net", "192.0.2.53:53"]),
    "addr": lambda lim: ("192.0.2.1", ["fe80::1%wan", "1.2.3"]),
    "prefix": lambda lim: ("site/a", ["a/#", "/a"]),
    "phone": lambda lim: ("+4917012345", ["12", "+49 170"]),
    "ussd": lambda lim: ("*101#", ["*101", "*1a#"]),
    "pattern": lambda lim: ("left {num} {unit}", ["{num} {num}", "{foo}"]),
    "unit": lambda lim: ("GiB", ["parsec"]),
    "key": lambda lim: ("hex:00112233445566778899aabbccddeeff", ["short", "hex:zz"]),
    "at": lambda lim: ("AT+CSQ", ["CSQ", "AT\x01"]),
    "bool": lambda lim: (None, ["maybe", "2"]),  # valid: the other one (below)
    "dest": lambda lim: ("2001:db8::/32", ["10.0.0.0/33", "pay;rm"]),
    "url": lambda lim: ("http://192.0.2.10:8080/x?y=1", ["https://192.0.2.10/", "ftp://x/", "http://a b/"]),
}


def samples(kind, lim, default):
    """(valid value, [invalid values]) of a type."""
    if kind == "int":
        lo, hi = lim
        return (hi if default != hi else lo), [hi + 1, lo - 1, lo + 0.5, "abc"]
    if kind == "num":
        lo, hi = lim
        return (hi if default != hi else lo), [hi + 1, lo - 1, "1,5", "abc"]
    if kind == "pos":
        return (2.5 if lim is None or lim >= 2.5 else lim), [0, -1, "abc"] + ([lim + 1] if lim else [])
    if kind in ("str", "secret"):
        return "abc"[:lim[1]] or "a", ["x" * (lim[1] + 1)]
    if kind == "path":
        return "/tmp/wanwatch-test", ["relative/path", "/tmp/a b", "/tmp/../etc"]
    if kind == "digits":
        return "8934", ["89x", "1" * (lim[1] + 1)]
    if kind == "choice":
        return [c for c in lim if c != default][0], ["nonsense"]
    valid, bad = SAMPLES[kind](lim)
    if kind == "bool":
        valid = not default
    return valid, bad


def keys():
    """(path, entry) of every key of the schema: ("probe", "timeout_s"), ("links", 0, "device") ..."""
    for e in schema.TOP:
        kind = e[1].lstrip("!")
        if kind == "section":
            for e2 in e[3]:
                if e2[1].lstrip("!") == "entries":
                    for e3 in e2[3][0]:  # calibration: entry 0 (ussd), the sms keys also on entry 1
                        yield (e[0], e2[0], 1 if e3[0] in ("text", "sender") else 0, e3[0]), e3
                else:
                    yield (e[0], e2[0]), e2
        elif kind == "entries":
            for e2 in e[3][0]:
                k2 = e2[1].lstrip("!")
                if k2 == "entries":  # a link's checks: entry 0 a dns one, entry 1 an http one
                    for e3 in e2[3][0]:
                        yield (e[0], 0, e2[0], 1 if e3[0] in ("url", "status", "contains") else 0, e3[0]), e3
                elif k2 == "section":  # a link's bandwidth, cellular
                    for e3 in e2[3]:
                        yield (e[0], 0, e2[0], e3[0]), e3
                else:
                    yield (e[0], 0, e2[0]), e2
        else:
            yield (e[0],), e


def cases():
    """(id, path, value, expect): expect 'ok' or 'error'; value EMPTY is null in JSON, '' in UCI."""
    out = []
    for path, e in keys():
        kind, required = e[1].lstrip("!"), e[1][0] == "!"
        name = ".".join(str(p) for p in path)
        if kind == "list":
            v, bad = samples(e[3][0], e[3][1], None)
            valid = [v] * max(e[3][2], 1)
            out.append((name + "=valid", path, valid, "ok"))
            out.append((name + "=null", path, None, "ok"))  # UCI: no `list` line
            if e[3][2] == 0:  # (UCI cannot write an empty list: that is no list lines, the default)
                out.append((name + "=empty-list", path, [], "ok"))
            out.append((name + "=too-many", path, [v] * (e[3][3] + 1), "error"))
            for i, b in enumerate(bad):
                out.append((name + "=bad%d" % i, path, [v, b], "error"))
            continue
        v, bad = samples(kind, e[3], e[2])
        if path == ("links", 0, "name"):
            out.append((name + "=valid", path, v, "ok"))  # (an empty section name is another error)
            out.extend((name + "=bad%d" % i, path, b, "error") for i, b in enumerate(bad))
            continue
        out.append((name + "=valid", path, v, "ok"))
        out.append((name + "=empty", path, EMPTY, "error" if required else "ok"))
        for i, b in enumerate(bad):
            out.append((name + "=bad%d" % i, path, b, "error"))
    return [(n, p, v, EXPECT.get(n, x)) for n, p, v, x in out]


# rules between keys: calibration 0 is a ussd one, which needs its code
EXPECT = {"usage.calibration.0.code=empty": "error",
          # a dns check needs its name and resolver, an http check its URL
          "links.0.checks.0.name=empty": "error", "links.0.checks.0.resolver=empty": "error",
          "links.0.checks.1.url=empty": "error",
          "actuator=empty": "error"}  # the budget needs a routing actuator


def with_value(path, value, empty=EMPTY):
    """BASE with the value at path; an EMPTY value becomes `empty` (null or "" for JSON)."""
    raw = copy.deepcopy(BASE)
    d = raw
    for p in path[:-1]:
        d = d.setdefault(p, {}) if isinstance(p, str) else d[p]
    d[path[-1]] = empty if value is EMPTY else value
    return raw


def _quote(v):
    if v is True or v is False:
        return "'%s'" % ("1" if v else "0")
    s = repr(v) if isinstance(v, (int, float)) else v
    return ('"%s"' if "'" in s else "'%s'") % s


def _lines(d, out, skip=()):
    for k, v in d.items():
        if k in skip or v is None:
            continue
        if v is EMPTY:
            out.append("\toption %s ''" % k)
        elif isinstance(v, list):
            out.extend("\tlist %s %s" % (SINGULAR.get(k, k), _quote(x)) for x in v)
        else:
            out.append("\toption %s %s" % (k, _quote(v)))


def to_uci(raw):
    """The UCI text of a raw config (the JSON shape), as a user would write it."""
    sections = [e[0] for e in schema.TOP if e[1].lstrip("!") in ("section", "entries")]
    out = ["config wanwatch 'main'"]
    _lines(raw, out, skip=sections)
    for e in schema.TOP:
        if e[1] == "section" and e[0] in raw:
            out.append("config %s '%s'" % (e[0], e[0]))
            _lines(raw[e[0]], out, skip=("calibration", "steps"))
    checks = []
    for link in raw.get("links") or ():
        out.append("config link %s" % _quote(link["name"]))
        _lines(link, out, skip=("name", "checks", "bandwidth", "cellular"))
        for sec in ("bandwidth", "cellular"):  # UCI sections do not nest: <section>_<key> options
            _lines(dict(("%s_%s" % (sec, k), v) for k, v in (link.get(sec) or {}).items()), out)
        checks += [(link["name"], c) for c in link.get("checks") or ()]
    for i, (name, c) in enumerate(checks):
        out.append("config check 'k%d'" % i)
        out.append("\toption link %s" % _quote(name))
        _lines(c, out)
    for i, c in enumerate((raw.get("usage") or {}).get("calibration") or ()):
        out.append("config calibration 'c%d'" % i)
        _lines(c, out)
    for i, c in enumerate((raw.get("budget") or {}).get("steps") or ()):
        out.append("config step 's%d'" % i)
        _lines(c, out)
    return "\n".join(out) + "\n"


def outcome(fn):
    try:
        return ["ok", fn()]
    except config.ConfigError as e:
        return ["error", str(e)]


def json_text(path, value):
    """JSON of the config with the value set; an EMPTY on a key where "" is a value is ""."""
    e = dict(keys())[path]
    kind = e[1].lstrip("!")
    text_empty = kind in uci.EMPTY_IS_A_VALUE and e[3][0] == 0
    return json.dumps(with_value(path, value, "" if text_empty else None))


def uci_text(path, value):
    return to_uci(with_value(path, value))  # EMPTY: option <key> ''


CASES = cases()


def test_the_walk_covers_every_key_and_type():
    got = set(".".join(str(p) for p in path) for path, _ in keys())
    assert {"device_id", "log_level", "probe.timeout_s", "failover.hold_down_s", "links.0.targets",
            "usage.calibration.0.code", "usage.calibration.1.sender", "mqtt.password", "commands.key",
            "sms.numbers", "recovery.reboot", "console.enabled"} <= got
    assert len(got) == len(list(keys())) > 100
    assert len(CASES) > 500


@pytest.mark.parametrize("name,path,value,expect", CASES, ids=[c[0] for c in CASES])
def test_uci_and_json_give_the_same_config_or_the_same_error(name, path, value, expect):
    j = outcome(lambda: config.validate(config.parse_text(json_text(path, value), SRC), SRC))
    u = outcome(lambda: config.validate(config.parse_text(uci_text(path, value), SRC), SRC))
    assert j == u, (uci_text(path, value), j, u)
    assert j[0] == expect, j
    if expect == "error":  # one line naming this key (or an item of it) in plain words
        key = ".".join(("[%d]" % p if isinstance(p, int) else p) for p in path).replace(".[", "[")
        assert j[1].startswith("config error: %s: %s" % (SRC, key)) and "\n" not in j[1], j[1]
        assert ">=" not in j[1] and "> 0" not in j[1]
    elif value is not EMPTY and value is not None:
        d = j[1]
        for p in path:
            d = d[p]
        assert d == value


def test_same_outcomes_under_micropython(tmp_path):
    """The validator and the UCI parser are firmware: the real micropython gives the same results."""
    texts, want = [], []
    for name, path, value, expect in CASES:
        for text in (json_text(path, value), uci_text(path, value)):
            texts.append(text)
            want.append(outcome(lambda: config.validate(config.parse_text(text, SRC), SRC)))
    (tmp_path / "cases.json").write_text(json.dumps(texts))
    script = tmp_path / "run.py"
    script.write_text(
        "import json\n"
        "from wanwatch import config\n"
        "for text in json.loads(open(%r).read()):\n"
        "    try:\n"
        "        r = ['ok', config.validate(config.parse_text(text, %r), %r)]\n"
        "    except config.ConfigError as e:\n"
        "        r = ['error', str(e)]\n"
        "    print(json.dumps(r))\n" % (str(tmp_path / "cases.json"), SRC, SRC))
    r = run_micropython([str(script)], timeout=300, heapsize="16M")  # the cases file is read whole
    assert r.returncode == 0, r.stderr[-2000:]
    got = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(got) == len(want)
    for text, g, w in zip(texts, got, want):
        assert g == json.loads(json.dumps(w)), text


def test_uci_booleans_and_list_forms():
    base = to_uci(BASE)
    for word, value in (("1", True), ("true", True), ("on", True), ("yes", True), ("enabled", True),
                        ("0", False), ("FALSE", False), ("off", False), ("no", False), ("disabled", False)):
        cfg = config.validate(uci.parse_uci(base + "config console 'console'\n\toption enabled '%s'\n" % word))
        assert cfg["console"]["enabled"] is value
    # `list target` (the documented form) and `list targets` (the JSON name) both fill targets
    for form in ("target", "targets"):
        text = base.replace("config link 'wan'", "config link 'wan'\n\tlist %s '192.0.2.9'" % form)
        assert config.validate(uci.parse_uci(text))["links"][0]["targets"] == ["192.0.2.9"]


def test_docs_tables_match_the_schema():
    from host_tools import configdoc
    assert configdoc.rewrite(check=True) == [], "run: .venv/bin/python -m host_tools.configdoc"
    text = open(os.path.join(paths.ROOT, "docs/contracts.md")).read()
    for path, _ in keys():
        shown = ".".join(("[]" if isinstance(p, int) else p) for p in path).replace(".[]", "[]")
        assert "`%s`" % shown in text, shown  # every key is in the contract's tables


def uncommented(text):
    """The shipped file with every commented-out option and section switched on."""
    return re.sub(r"(?m)^(\t?)#(\t?)(config|option|list) ", r"\1\2\3 ", text)


def test_shipped_uci_lists_every_option():
    raw = uci.parse_uci(uncommented(open(SHIPPED).read()))
    for path, e in keys():
        if path[0] == "links" and len(path) == 5:  # in one of the checks
            assert any(path[-1] in c for l in raw["links"] for c in l.get("checks") or ()), path
        elif path[0] == "links" and len(path) == 4:  # in a link's bandwidth or cellular options
            assert any(path[-1] in (l.get(path[2]) or {}) for l in raw["links"]), path
        elif path[0] == "links":  # in one of the links (the name is the section's)
            assert path[-1] == "name" or any(path[-1] in l for l in raw["links"]), path
        elif path[:2] == ("usage", "calibration"):  # in one of the calibrations
            assert any(path[-1] in c for c in raw["usage"]["calibration"]), path
        elif path[:2] == ("budget", "steps"):  # in one of the steps
            assert any(path[-1] in c for c in raw["budget"]["steps"]), path
        else:
            assert path[-1] in (raw[path[0]] if len(path) == 2 else raw), path


def test_shipped_uci_with_every_option_passes_check_under_micropython(tmp_path):
    full = tmp_path / "wanwatch"
    full.write_text(uncommented(open(SHIPPED).read()))
    for f in (SHIPPED, str(full)):
        r = run_micropython(["-m", "wanwatch", "--config", f, "--check"])
        assert r.returncode == 0 and r.stdout.strip() == "config ok: %s" % f, (r.stdout, r.stderr)
    # what is commented out is the default: switching it all on changes nothing but the examples
    cfg, every = config.load(SHIPPED), config.load(str(full))
    examples = {"usage.calibration", "mqtt.resolver", "mqtt.cert", "mqtt.key", "commands.at_allow", "sms.numbers"}
    for sec in ("probe", "failover", "usage", "mqtt", "commands", "sms", "recovery", "console"):
        for k in cfg[sec]:
            if "%s.%s" % (sec, k) not in examples:
                assert cfg[sec][k] == every[sec][k], (sec, k)


def test_print_config_is_json_with_the_secrets_masked(tmp_path):
    raw = copy.deepcopy(BASE)
    raw["mqtt"].update({"username": "site-7", "password": "hunter2-secret"})
    raw["commands"] = {"key": "device-secret-key-0001"}
    p = tmp_path / "site.json"
    p.write_text(json.dumps(raw))
    want = config.load(str(p))
    for run in (lambda: run_micropython(["-m", "wanwatch", "--config", str(p), "--print-config"]),
                lambda: subprocess.run([sys.executable, "-m", "wanwatch", "--config", str(p), "--print-config"],
                                       capture_output=True, text=True, timeout=60,
                                       env=dict(os.environ, PYTHONPATH=paths.FIRMWARE))):
        r = run()
        assert r.returncode == 0, r.stderr
        assert "hunter2" not in r.stdout and "device-secret" not in r.stdout
        got = json.loads(r.stdout)
        assert got["mqtt"]["password"] == "***" and got["commands"]["key"] == "***"
        assert got["mqtt"]["username"] == "site-7"
        assert list(got) == [e[0] for e in schema.TOP]  # schema order, every section
        got["mqtt"]["password"], got["commands"]["key"] = want["mqtt"]["password"], want["commands"]["key"]
        assert got == want
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(dict(raw, mqtt={"keepalive": 5})))
    r = run_micropython(["-m", "wanwatch", "--config", str(bad), "--print-config"])
    assert r.returncode == 2 and r.stdout == "" and r.stderr.startswith("config error: %s: mqtt.keepalive: " % bad)


def _imports(rel):
    tree = ast.parse(open(os.path.join(paths.FIRMWARE, "wanwatch", rel)).read())
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom):
            out.update("%s%s.%s" % ("." * n.level, n.module or "", a.name) for a in n.names)
        elif isinstance(n, ast.Import):
            out.update(a.name for a in n.names)
    return out


def test_no_import_cycle_between_config_and_uci():
    assert _imports("config/uci.py") == {".error.ConfigError", ".schema.TOP", "..failover.schema.CHECK"}
    assert all(re.match(r"^\.\.[a-z]+\.schema$", i) for i in _imports("config/schema.py"))  # the areas' tables
    assert _imports("config/error.py") == set()
    for area in ("modem", "failover", "usage", "report"):  # the areas' schemas import no config code
        assert not [i for i in _imports(area + "/schema.py") if "config" in i], area


NOT_READ_YET = set()


def test_every_accepted_key_is_read_by_the_agent():
    """A key is accepted only when something reads it: each key name is a string in the code of the
    agent outside the config package and the schemas (a key that is only planned is not in the schema)."""
    code = []
    for dirpath, _, files in os.walk(os.path.join(paths.FIRMWARE, "wanwatch")):
        for f in files:
            rel = os.path.relpath(os.path.join(dirpath, f), paths.FIRMWARE)
            if f.endswith(".py") and f != "schema.py" and not rel.startswith("wanwatch/config"):
                code.append(open(os.path.join(dirpath, f)).read())
    code = "\n".join(code)
    unread = [".".join(str(p) for p in path) for path, e in keys()
              if '"%s"' % e[0] not in code and e[0] not in NOT_READ_YET]
    assert unread == []
