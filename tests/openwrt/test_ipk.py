"""OpenWrt package: .ipk structure and control fields; installed into a temporary root and started
the way the init script starts it (MicroPython, installed bundle, installed UCI config)."""
import io
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tarfile
import threading
import time

import pytest

from host_tools import package
from host_tools.emulator import Emulator
from tests.support import paths


def members(blob):
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as t:
        return {m.name: (m, t.extractfile(m).read() if m.isfile() else None) for m in t.getmembers()}


@pytest.fixture(scope="module")
def ipk(tmp_path_factory):
    return package.build(str(tmp_path_factory.mktemp("pkg")))


def test_ipk_structure_and_control(ipk):
    assert os.path.basename(ipk) == "wanwatch_%s_all.ipk" % package.version()
    outer = members(open(ipk, "rb").read())
    assert set(outer) == {"./debian-binary", "./control.tar.gz", "./data.tar.gz"}
    assert outer["./debian-binary"][1] == b"2.0\n"
    ctl = members(outer["./control.tar.gz"][1])
    control = ctl["./control"][1].decode()
    fields = dict(l.split(": ", 1) for l in control.strip().splitlines())
    assert fields["Package"] == "wanwatch" and fields["Architecture"] == "all"
    assert "micropython" in fields["Depends"] and fields["Version"] == package.version()
    assert int(fields["Installed-Size"]) > 10000
    assert ctl["./conffiles"][1] == b"/etc/config/wanwatch\n"
    post = ctl["./postinst"][1].decode()
    assert 'IPKG_INSTROOT' in post and "enable" in post and ctl["./postinst"][0].mode & 0o111
    data = members(outer["./data.tar.gz"][1])
    for must in ("./etc/config/wanwatch", "./etc/init.d/wanwatch", "./etc/hotplug.d/iface/30-wanwatch",
                 "./usr/bin/wanwatch", "./usr/lib/wanwatch/wanwatch/__main__.mpy", "./usr/lib/wanwatch/wanwatch/agent.mpy"):
        assert must in data, must
    assert data["./etc/init.d/wanwatch"][0].mode & 0o111
    assert all(m.uid == 0 and m.gid == 0 for m, _ in data.values())
    init = data["./etc/init.d/wanwatch"][1].decode()
    assert "USE_PROCD=1" in init and "procd_add_reload_trigger" in init and "respawn" in init
    assert "procd_set_param stdout 1" in init
    # the agent's own lines go to logd's socket with their priority (--syslog /dev/log)
    assert re.search(r'procd_set_param command "\$PROG" -m wanwatch --config "\$CONF" --syslog /dev/log\n', init)
    assert "service_stopped()" in init and "--release" in init  # stopping hands routing back to netifd
    # the run dir comes from UCI (main.run_dir), as in the hotplug hook
    assert "uci -q get wanwatch.main.run_dir" in init and '${run_dir:-/var/run/wanwatch}' in init
    hook = data["./etc/hotplug.d/iface/30-wanwatch"][1].decode()
    assert "uci -q get wanwatch.main.run_dir" in hook


def test_ipk_is_reproducible(tmp_path):
    a = package.build(str(tmp_path / "a"))
    b = package.build(str(tmp_path / "b"))
    assert open(a, "rb").read() == open(b, "rb").read()


def install(ipk, root):
    """What `opkg install -o ROOT` does with the payload: unpack data.tar.gz into ROOT."""
    outer = members(open(ipk, "rb").read())
    with tarfile.open(fileobj=io.BytesIO(outer["./data.tar.gz"][1]), mode="r:gz") as t:
        t.extractall(root)


def installed_config(root, tty, broker_port, **options):
    """The shipped /etc/config/wanwatch, pointed at this host: the emulated modem (or a missing
    port), a local broker, state and run dirs inside root; options: more `main` options."""
    conf = (root / "etc/config/wanwatch").read_text()
    conf = conf.replace("/dev/ttyUSB2", tty).replace("mqtt.example.net", "127.0.0.1")
    conf = conf.replace("'8883'", "'%d'" % broker_port).replace("option tls '1'", "option tls '0'")
    conf = conf.replace("/etc/wanwatch", str(root / "etc/wanwatch")).replace("/var/run/wanwatch", str(root / "var/run"))
    main = "config wanwatch 'main'\n" + "".join("\toption %s '%s'\n" % kv for kv in sorted(options.items()))
    conf = conf.replace("config wanwatch 'main'\n", main)
    (root / "etc/config/wanwatch").write_text(conf)
    return str(root / "etc/config/wanwatch")


def procd_instance(root):
    """The command line and environment procd gets from the installed init script's start_service()
    (`procd_set_param command` / `env`), relocated into root as `opkg -o ROOT` would place them:
    $PROG is the router's MicroPython (this host's), $CONF and every other absolute path are
    under root."""
    init = (root / "etc/init.d/wanwatch").read_text()
    prog = re.search(r"^PROG=(\S+)$", init, re.M).group(1)
    conf = re.search(r"^CONF=(\S+)$", init, re.M).group(1)
    assert prog == "/usr/bin/micropython" and conf == "/etc/config/wanwatch"
    cmd = []
    for word in shlex.split(re.search(r"procd_set_param command (.+)", init).group(1)):
        if word == "$PROG":
            cmd.append(paths.micropython())
        elif word == "$CONF":
            cmd.append(str(root) + conf)
        else:
            cmd.append(str(root) + word if word.startswith("/") else word)
    env = {}
    for kv in shlex.split(re.search(r"procd_set_param env (.+)", init).group(1)):
        k, v = kv.split("=", 1)
        env[k] = ":".join(str(root) + p if p.startswith("/") else p for p in v.split(":"))
    return cmd, env


def test_installed_agent_starts_like_init_script(ipk, tmp_path, broker):
    root = tmp_path / "root"
    install(ipk, str(root))
    emu = Emulator(profile="quectel-ec25")
    tty = emu.start(link=str(tmp_path / "ttyUSB2"))
    try:
        conf = installed_config(root, tty, broker.port)
        _, penv = procd_instance(root)
        env = dict(os.environ, **penv)
        r = subprocess.run([paths.micropython(), "-m", "wanwatch", "--config", conf, "--once"],
                           env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        assert doc["device_id"] == "router-01" and doc["modem"]["state"] == "ready"
        assert doc["modem"]["imei"] == emu.expected()["imei"]
        assert set(doc["links"]) == {"wan", "wwan"} and doc["mqtt"]["connected"] is True
    finally:
        emu.stop()


# --- the logging path: what `logread -e wanwatch` shows ------------------------------------------
SEVERITY = ("emerg", "alert", "crit", "err", "warn", "notice", "info", "debug")  # logread's names
FACILITY = {0: "kern", 1: "user", 3: "daemon"}


def logread(datagrams):
    """What logd makes of the datagrams it received, as `logread` prints them (without its
    timestamp): 'daemon.err wanwatch[1234]: links: ...'."""
    out = []
    for d in datagrams:
        m = re.match(r"<(\d+)>(.*)$", d.decode(), re.S)
        assert m, d
        pri = int(m.group(1))
        out.append("%s.%s %s" % (FACILITY.get(pri >> 3, str(pri >> 3)), SEVERITY[pri & 7], m.group(2)))
    return out


class FakeLogd:
    """A unix datagram socket at ROOT/dev/log standing in for logd, read on a thread."""

    def __init__(self, path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.1)
        self.got = []
        self.stopped = False
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        while not self.stopped:
            try:
                self.got.append(self.sock.recv(4096))
            except socket.timeout:
                pass

    def wait(self, cond, timeout):
        end = time.time() + timeout
        while time.time() < end and not cond(logread(list(self.got))):
            time.sleep(0.1)
        return logread(list(self.got))

    def close(self):
        self.stopped = True
        self.t.join(2)
        self.sock.close()


def test_init_script_logging_reaches_logd_with_priorities(ipk, tmp_path):
    """The installed package's daemon started as procd starts it (the init script's command and
    env, stdin /dev/null, stdout and stderr captured), with logd's socket at ROOT/dev/log: no
    modem on the port, no broker, the shipped links on devices this host does not have. Each
    line arrives as a datagram with its priority, facility daemon, tagged wanwatch[pid]; nothing
    is left for procd's stdout (info) / stderr (err) capture to mislabel."""
    from host_tools.localbroker import free_port
    root = tmp_path / "root"
    install(ipk, str(root))
    installed_config(root, str(tmp_path / "ttyUSB2"), free_port(), actuator="none")  # never the host's routes
    cmd, penv = procd_instance(root)
    assert cmd[-2:] == ["--syslog", str(root) + "/dev/log"]
    logd = FakeLogd(str(root) + "/dev/log")
    proc = subprocess.Popen(cmd, env=dict(os.environ, **penv), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    want = ("daemon.err ", "daemon.warn ", "daemon.info ")
    try:
        lines = logd.wait(lambda ls: all(any(l.startswith(w) for l in ls) for w in want), 30)
    finally:
        proc.send_signal(signal.SIGTERM)  # procd's stop
        out, err = proc.communicate(timeout=10)
        logd.close()
    text = "\n".join(lines)
    print("\n".join(["logread -e wanwatch"] + lines))
    tag = "wanwatch[%d]: " % proc.pid
    assert all(l.split(" ", 1)[1].startswith(tag) for l in lines), text
    assert "daemon.info %sevent agent_start device_id=router-01 version=" % tag in text
    assert "daemon.info %sevent modem_absent " % tag in text
    assert "daemon.err %slinks: cannot bind probe socket to device " % tag in text  # pppoe-wan, wwan0
    assert ("daemon.warn %smqtt: cannot reach the broker at 127.0.0.1:" % tag) in text
    assert not [l for l in lines if l.startswith("daemon.debug ")], text  # log_level: info by default
    assert out == "" and err == "", (out, err)  # nothing went the procd-capture way


def test_init_script_log_level_from_uci(ipk, tmp_path):
    """`option log_level 'debug'` in the installed UCI file turns the debug lines on in logd;
    'error' leaves only the errors."""
    from host_tools.localbroker import free_port
    root = tmp_path / "root"
    install(ipk, str(root))
    cmd, penv = procd_instance(root)
    logd = FakeLogd(str(root) + "/dev/log")
    try:
        for level, cond in (("debug", lambda ls: any(l.startswith("daemon.debug ") for l in ls)),
                            ("error", lambda ls: any(l.startswith("daemon.err ") for l in ls))):
            shutil.rmtree(str(root / "etc"))
            install(ipk, str(root))
            installed_config(root, str(tmp_path / "ttyUSB2"), free_port(), actuator="none", log_level=level)
            del logd.got[:]
            proc = subprocess.Popen(cmd, env=dict(os.environ, **penv), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                lines = logd.wait(cond, 30)
                if level == "error":
                    time.sleep(1)  # the info and warning lines would have come by now
                    lines = logread(list(logd.got))
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.communicate(timeout=10)
            assert cond(lines), (level, lines)
            if level == "error":
                assert all(l.startswith("daemon.err ") for l in lines), lines
    finally:
        logd.close()
