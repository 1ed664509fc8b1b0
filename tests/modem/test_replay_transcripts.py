"""Every transcript in tests/data/at-transcripts/ replayed through the real agent: the transcript becomes a
replay file (transcripts.transcript_replay), the emulator answers from it on a pty (a command the
transcript does not contain gets a plain ERROR), `micropython -m wanwatch --config X --once` polls it with
MQTT pointed at a closed port, and every `expect:` value that has a place in the status document
(transcripts.status_targets) must be there. A few replays also run under CPython: same status.

Scenarios. The whole transcript is one replay (commands that occur several times are answered in turn);
the agent must survive it and report the port as it is (ready, or unresponsive for NOT_A_MODEM). An
expect group about one occurrence of a command (`cmd=AT+CEREG?(last)`, `sample=2`, `capture=2`, `first
... ; second ...`) gets the transcript with only that reply for the command; a group about a registration
command also leaves the other three registration commands out, since the agent reports one registration
for all four. A `line=<n>` group (vector files) is that one line as the reply to its command (`cmd=` or the
query that prints its prefix). `modem.vendor` is the file's vendor (name prefix) unless the transcript
identifies the modem itself (AT+CGMI / ATI naming that vendor): then it is `auto`, and detection is checked.

Gaps, each with its reason: SOURCE (computed: the replay lacks every reply the agent takes that field
from, e.g. no AT+CPIN? for sim.state, no identity command for modem.firmware; SOURCES lists them as the
driver reads them, the vendor's serving-cell command taken from the driver's own CELL_COMMAND), URC
(values only an unsolicited line shows: the agent takes status from polled replies, URCs only trigger
polls; a URC-form vector line is replayed as unsolicited and must not leak into the status), GAPS (listed
below; each listed key must really differ, so a fixed agent makes a stale entry fail) and KNOWN_BUGS
(strict xfail).
`python -m tests.modem.test_replay_transcripts` prints the number of values checked and every gap.
"""
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

import pytest

from host_tools.emulator import Emulator
from host_tools.emulator.replay import canonical, expand, format_replay, is_final
from tests.modem import transcripts as T
from tests.support import paths

if paths.FIRMWARE not in sys.path:  # `python -m tests.modem.test_replay_transcripts` runs without conftest
    sys.path.insert(0, paths.FIRMWARE)
from wanwatch.modem import vendors  # noqa: E402  (the drivers' own CELL_COMMAND names the cell reply)

REG_COMMANDS = ("AT+CREG?", "AT+CGREG?", "AT+CEREG?", "AT+C5GREG?")
# what the port is, where it is not a modem: no handshake is added, and the agent must say so
NOT_A_MODEM = {"generic_uart_console_garbage_not_a_modem": "unresponsive"}
# (file, expect text start) -> {status key: reason}; each key must differ from the expect value
GAPS = {
    ("generic_fibocom_fm350_spacing", "cmd=AT+GTSENRDTEMP"): {"temp_c": "no Fibocom driver (generic): temp not read"},
    ("generic_modemmanager_3gpp_vectors", "line=9"): {
        "ci": "ci ffff: MM gives 65535, the contract treats FFFF as a placeholder (None)"},
    ("quectel_em12g_lte_asus", "cmd=AT+CSQ"): {
        "rssi_dbm": "the Quectel driver reports the measured RSSI of AT+QENG (-69); CSQ's -113+2n is the fallback"},
    ("sierra_dw5811e_chain_and_gstatus", "cmd=AT+CSQ"): {
        "rssi_dbm": "the Sierra driver reports !GSTATUS PCC RxM RSSI (-74); CSQ's -113+2n is the fallback"},
    ("quectel_rm520n_sa_limsrv", "cmd=AT+QENG"): dict.fromkeys(("rat", "mcc", "mnc"), (
        "LIMSRV: camped on the cell but not registered (network.registered false, from the QENG state): the agent "
        "reports no RAT and no network PLMN while it is known not to be registered")),
}
# whole-transcript outcomes that are wrong because of an agent bug (strict xfail: fixing it fails the mark)
KNOWN_BUGS = {}  # transcript id -> reason (strict xfail); empty: the one found (wake probes) is fixed
CPYTHON_PARITY = ("generic_air724ug_sanitized_bytes", "quectel_em12g_lte_asus", "sierra_dw5811e_chain_and_gstatus",
                  "simcom_sim7906_cpsi_cmgrmi", "huawei_mm_hcsq_sysinfoex_vectors")


# --- scenarios -----------------------------------------------------------------------------------------
class Scenario:
    """One replay file and the config vendor the agent runs with; exs are its exchanges (for the rules)."""

    def __init__(self, t, text, exs, vendor):
        self.t = t
        self.text = text
        self.exs = exs
        self.vendor = vendor
        self.key = (vendor, text)

    def has(self, cmds, prefix=None, test=None):
        for c, lines in self.exs:
            if c in cmds:
                if prefix is None:
                    return True
                for l in lines:
                    if l.strip().startswith(prefix) and (test is None or test(l)):
                        return True
        return False


def vendor_for(t, exs):
    """The file's vendor; 'auto' when the transcript's own identification names it."""
    v = t.id.split("_")[0]
    ident = " ".join(l for c, lines in exs if c in ("AT+CGMI", "ATI") for l in lines).upper().replace("-", "")
    return "auto" if v != "generic" and v.upper() in ident else v


def samples(e):
    """'cmd=X first a=1 ; second a=2' -> [pairs of sample 1, pairs of sample 2] (the selector carries over)."""
    parts = e.text.split(" ; ")
    if len(parts) == 1:
        return [e.pairs]
    head = [(k, v) for k, v in e.pairs if k in ("cmd", "line", "urc", "sample", "capture", "log")]
    return [T.split_pairs(p) if i == 0 else head[:1] + T.split_pairs(p) for i, p in enumerate(parts)]


def occurrence(pairs, cmd, blocks):
    """Which reply of cmd the sample is about: None (the replay as a whole) or an index into blocks."""
    keys = dict(pairs)
    o = None
    e = T.Expect("", pairs)
    if e.ordinal:
        o = e.ordinal
    for k, v in pairs:
        if v == "" and k.strip("()") in ("first", "second", "middle", "last"):
            o = k.strip("()")
    for sel in ("sample", "capture", "attempt"):
        if o is None and sel in keys:
            o = keys[sel]
    if o is None or len(blocks) < 2:
        return None
    if o.startswith("format"):
        for i, b in enumerate(blocks):
            if any(l.startswith("+COPS:") and _cops_format(l) == o[6:] for l in b):
                return i
    named = {"first": 0, "second": 1, "last": len(blocks) - 1, "middle": len(blocks) // 2}
    if o in named:
        return named[o]
    return int(o) - 1 if o.isdigit() and int(o) <= len(blocks) else None


def _cops_format(line):
    f = line.split(":", 1)[1].split(",")
    return f[1].strip() if len(f) > 1 else None


def plan(t):
    """-> the whole-transcript scenario and [(expect group, sample pairs, scenario, kind)]; kind is line,
    urc-line (a vector line in URC form, replayed unsolicited), urc (a URC of the session), cmd or file."""
    exs = T.replay_parts(t)[1]
    vendor = vendor_for(t, exs)
    modem = t.id not in NOT_A_MODEM
    whole = Scenario(t, T.transcript_replay(t, handshake=modem), exs, vendor)
    body = T.body_lines(t)
    out = []
    for e in t.expects:
        for pairs in samples(e):
            keys = dict(pairs)
            cmd = T.Expect("", pairs).cmd
            cmd = canonical(cmd) if cmd else None
            if "line" in keys:
                line = body[int(keys["line"]) - 1]
                if keys.get("urc") == "true":
                    out.append((e, pairs, Scenario(t, format_replay([], [line]), [], vendor), "urc-line"))
                    continue
                c = cmd or T.QUERY[line.split(":")[0] + ":"]
                one = expand([(c, ["", line] + ([] if is_final(line) else ["", "OK"]))])
                out.append((e, pairs, Scenario(t, format_replay(one), one, vendor), "line"))
            elif "urc" in keys and cmd is None:
                out.append((e, pairs, whole, "urc"))
            elif cmd:
                blocks = [lines for c, lines in exs if c == cmd]
                i = occurrence(pairs, cmd, blocks)
                drop = [c for c in REG_COMMANDS if c != cmd] if cmd in REG_COMMANDS else ()
                pick = {cmd: i} if i is not None else None
                if pick or drop:
                    sc = Scenario(t, T.transcript_replay(t, pick, drop, modem), T.select(exs, pick, drop), vendor)
                    out.append((e, pairs, sc, "cmd"))
                else:
                    out.append((e, pairs, whole, "cmd"))
            else:
                out.append((e, pairs, whole, "file"))
    return whole, out


PLANS = [plan(T.load(p)) for p in T.all_files()]


# --- running the agent ---------------------------------------------------------------------------------
def site(d, port, vendor):
    cfg = {"device_id": "replay", "modem": {"port": port, "vendor": vendor},
           "links": [{"name": "wan", "device": "lo", "role": "primary", "targets": ["127.0.0.1"]}],
           "mqtt": {"host": "127.0.0.1", "port": 1}, "state_dir": d + "/flash", "run_dir": d + "/run"}
    path = d + "/site.json"
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path


def run_agent(sc, runtime="micropython"):
    """-> (exit code, status document or None, stderr, commands the agent sent)."""
    with tempfile.TemporaryDirectory() as d:
        with open(d + "/r.replay", "w") as f:
            f.write(sc.text)
        emu = Emulator(replay=d + "/r.replay")
        port = emu.start()
        try:
            cfg = site(d, port, sc.vendor)
            if runtime == "micropython":
                cmd = [paths.micropython(), "-m", "wanwatch", "--config", cfg, "--once"]
                env = dict(os.environ, MICROPYPATH=paths.FIRMWARE + ":.frozen")
            else:
                cmd = [sys.executable, "-m", "wanwatch", "--config", cfg, "--once"]
                env = dict(os.environ, PYTHONPATH=paths.FIRMWARE)
            r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
            doc = None
            out = r.stdout.strip().splitlines()
            if r.returncode == 0 and out:
                doc = json.loads(out[-1])
            return r.returncode, doc, r.stderr, list(emu.commands)
        finally:
            emu.stop()


def run_all():
    """Every distinct scenario once, in parallel (the agents mostly wait on the pty) -> {key: run_agent()}."""
    scenarios = {}
    for whole, checks in PLANS:
        scenarios[whole.key] = whole
        for _, _, sc, _ in checks:
            scenarios[sc.key] = sc
    with ThreadPoolExecutor(max_workers=4) as ex:
        return dict(zip(scenarios, ex.map(run_agent, scenarios.values())))


@pytest.fixture(scope="module")
def results():
    return run_all()


# --- the checks ----------------------------------------------------------------------------------------
# status field -> the replies the agent reads it from (docs/modem.md "Where each value comes from"), each as
# (description, test of the scenario); "cell" is the vendor driver's own serving-cell command (CELL_COMMAND)
def _reply(cmds, prefix="", test=None):
    """One of cmds got a reply line with prefix (passing test) that is not its final result."""
    def said(line):
        return line.strip() and not is_final(line.strip()) and (test is None or test(line))
    return lambda sc: sc.has(cmds, prefix, said)


def _vendor(name, check):
    return lambda sc: sc.t.id.split("_")[0] == name and check(sc)


def _cell(sc):
    cell = vendors.load(sc.t.id.split("_")[0]).CELL_COMMAND
    return cell is not None and _reply((cell,))(sc)


def _reg(sc):
    return any(sc.has((c,), c[2:-1] + ":") for c in REG_COMMANDS)


COPS_NUMERIC = ("AT+COPS? numeric", _reply(("AT+COPS?",), "+COPS:", lambda l: _cops_format(l) == "2"))
SERVING_CELL = ("the vendor's serving-cell reply", _cell)
SOURCES = {
    ("network", "mcc"): (COPS_NUMERIC, ("Quectel AT+QSPN", _vendor("quectel", _reply(("AT+QSPN",), "+QSPN:"))),
                         ("Quectel AT+QNWINFO", _vendor("quectel", _reply(("AT+QNWINFO",), "+QNWINFO:"))),
                         SERVING_CELL),
    ("network", "operator"): (("AT+COPS? long",
                               _reply(("AT+COPS?",), "+COPS:", lambda l: _cops_format(l) in ("0", "1"))),
                              ("Quectel AT+QSPN", _vendor("quectel", _reply(("AT+QSPN",), "+QSPN:"))),
                              ("Telit #RFSTS", _vendor("telit", _cell))),
    ("network", "registration"): (("AT+CxREG?", _reg),),
    ("network", "registered"): (("AT+CxREG?", _reg), ("Quectel QENG state", _vendor("quectel", _cell)),
                                ("Sierra !GSTATUS EMM state", _vendor("sierra", _cell))),
    ("signal", "rat"): (SERVING_CELL,
                        ("AT+COPS? AcT", _reply(("AT+COPS?",), "+COPS:", lambda l: l.count(",") >= 3)),
                        ("Quectel AT+QNWINFO", _vendor("quectel", _reply(("AT+QNWINFO",), "+QNWINFO:"))),
                        ("AT+CxREG?", _reg)),
    ("sim", "state"): (("AT+CPIN?", lambda sc: sc.has(("AT+CPIN?",))),),
    ("sim", "imsi"): (("AT+CIMI once AT+CPIN? says READY",
                       lambda sc: sc.has(("AT+CIMI",)) and sc.has(("AT+CPIN?",), "+CPIN: READY")),),
    ("modem", "model"): (("AT+CGMM/AT+GMM/ATI", _reply(("AT+CGMM", "AT+GMM", "ATI"))),),
    ("modem", "firmware"): (("AT+CGMR/AT+GMR", _reply(("AT+CGMR", "AT+GMR"))),
                            ("ATI Revision:", _reply(("ATI",), "Revision:"))),
    ("modem", "imei"): (("AT+CGSN", lambda sc: sc.has(("AT+CGSN",))),),
}
SOURCES[("network", "mnc")] = SOURCES[("network", "mcc")]


def source_gap(sc, path):
    """Why the agent cannot know the field from this replay (no reply it reads it from is there), or None."""
    sources = SOURCES.get(path)
    if sources is None or any(test(sc) for _, test in sources):
        return None
    return "SOURCE: not in the replay: %s comes from %s" % (".".join(path), ", ".join(d for d, _ in sources))


def gap_for(t, e):
    for (fid, start), keys in GAPS.items():
        if t.id == fid and e.text.startswith(start):
            return keys
    return {}


def check_sample(t, e, pairs, sc, kind, res):
    """-> (checked values, gaps [(key, reason)]); asserts every other status value."""
    rc, doc, err, _ = res[sc.key]
    assert rc == 0 and doc is not None, "%s: agent failed (%s): %s" % (t.id, rc, err[-500:])
    keys = dict(pairs)
    listed = gap_for(t, e)
    checked, gaps, bad = 0, [], []
    for k, v in pairs:
        targets = T.status_targets(k, v, keys)
        if not targets:
            continue
        k2 = k.rstrip("~")
        fields = ", ".join(".".join(p) for p, _, _ in targets)
        wrong = [(p, w, T.status_value(doc, p)) for p, w, a in targets if not T.same(w, T.status_value(doc, p), a)]
        if kind in ("urc", "urc-line"):
            gaps.append((k2, "URC: the agent takes %s from polled replies, URCs only trigger a poll" % fields))
        elif k2 in listed:
            assert wrong, "%s: %s=%s now matches: remove the GAPS entry" % (t.id, k2, v)
            gaps.append((k2, listed[k2]))
        elif wrong and all(source_gap(sc, p) for p, _, _ in wrong):
            gaps.append((k2, source_gap(sc, wrong[0][0])))
        elif wrong:
            bad.extend((k2, ".".join(p), w, h) for p, w, h in wrong)
        else:
            checked += 1
    assert not bad, "%s %r: status differs (key, field, want, have): %r\nreplay:\n%s" % (t.id, e.text, bad, sc.text)
    if kind == "urc-line":
        assert doc["network"]["registration"] is None and doc["network"]["registered"] is None, \
            "%s: the unsolicited %r was taken for a reply: %r" % (t.id, e.text, doc["network"])
    return checked, gaps


def params():
    out = []
    for whole, checks in PLANS:
        for i, (e, pairs, sc, kind) in enumerate(checks):
            out.append(pytest.param(whole.t, e, pairs, sc, kind, id="%s#%d" % (whole.t.id, i + 1)))
    return out


@pytest.mark.parametrize("t,e,pairs,sc,kind", params())
def test_expect_through_once(results, t, e, pairs, sc, kind):
    check_sample(t, e, pairs, sc, kind, results)


def whole_params():
    out = []
    for whole, _ in PLANS:
        bug = KNOWN_BUGS.get(whole.t.id)
        marks = [pytest.mark.xfail(strict=True, raises=AssertionError, reason=bug)] if bug else []
        out.append(pytest.param(whole, id=whole.t.id, marks=marks))
    return out


@pytest.mark.parametrize("whole", whole_params())
def test_whole_transcript_replay(results, whole):
    """The agent survives every whole transcript (boot URCs, RDY, echo after a reset, garbage, log junk),
    detects the vendor where the transcript identifies the modem, and says what the port is."""
    rc, doc, err, sent = results[whole.key]
    assert rc == 0 and doc is not None, err[-500:]
    assert doc["mqtt"]["connected"] is False
    want = NOT_A_MODEM.get(whole.t.id, "ready")
    assert doc["modem"]["state"] == want, (whole.t.id, doc["modem"], sent)
    if want == "ready":
        assert doc["modem"]["vendor"] == whole.t.id.split("_")[0], (whole.t.id, whole.vendor, doc["modem"])
    else:
        assert doc["modem"]["vendor"] is None and all(v is None for v in doc["signal"].values()), doc


@pytest.mark.parametrize("name", CPYTHON_PARITY)
def test_cpython_parity(results, name):
    """The same replay under CPython (PYTHONPATH=firmware python -m wanwatch) gives the same status."""
    whole = [w for w, _ in PLANS if w.t.id == name][0]
    rc, doc, err, _ = run_agent(whole, "cpython")
    assert rc == 0 and doc is not None, err[-500:]
    mp = results[whole.key][1]
    for section in ("modem", "sim", "network", "signal"):
        assert doc[section] == mp[section], (section, doc[section], mp[section])


def test_tables_name_real_groups():
    ids = set(w.t.id for w, _ in PLANS)
    for fid, start in GAPS:
        assert any(w.t.id == fid and any(e.text.startswith(start) for e, _, _, _ in c) for w, c in PLANS), (fid, start)
    for fid in list(NOT_A_MODEM) + list(KNOWN_BUGS) + list(CPYTHON_PARITY):
        assert fid in ids, fid


def report(results):
    """-> (values checked, [(file, expect, key, reason)]) over every group: what `python -m` prints."""
    checked, gaps = 0, []
    for whole, checks in PLANS:
        for e, pairs, sc, kind in checks:
            n, g = check_sample(whole.t, e, pairs, sc, kind, results)
            checked += n
            gaps.extend((whole.t.id, e.text, k, why) for k, why in g)
    return checked, gaps


if __name__ == "__main__":  # python -m tests.modem.test_replay_transcripts: the checked values and the gaps
    res = run_all()
    n, gaps = report(res)
    groups = sum(len(c) for _, c in PLANS)
    print("%d transcripts, %d groups/samples, %d scenarios, %d status values checked through --once, %d gaps"
          % (len(PLANS), groups, len(res), n, len(gaps)))
    for g in gaps:
        print("  %s | %s | %s | %s" % (g[0], g[1][:60], g[2], g[3]))
