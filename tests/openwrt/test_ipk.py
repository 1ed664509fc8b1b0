"""OpenWrt package: .ipk structure and control fields; installed into a temporary root and started
the way the init script starts it (MicroPython, installed bundle, installed UCI config)."""
import io
import json
import os
import re
import subprocess
import tarfile

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


def test_installed_agent_starts_like_init_script(ipk, tmp_path, broker):
    root = tmp_path / "root"
    install(ipk, str(root))
    emu = Emulator(profile="quectel-ec25")
    tty = emu.start(link=str(tmp_path / "ttyUSB2"))
    try:
        conf = (root / "etc/config/wanwatch").read_text()
        conf = conf.replace("/dev/ttyUSB2", tty).replace("mqtt.example.net", "127.0.0.1")
        conf = conf.replace("'8883'", "'%d'" % broker.port).replace("option tls '1'", "option tls '0'")
        conf = conf.replace("/etc/wanwatch", str(root / "etc/wanwatch")).replace("/var/run/wanwatch", str(root / "var/run"))
        (root / "etc/config/wanwatch").write_text(conf)
        init = (root / "etc/init.d/wanwatch").read_text()
        env_line = re.search(r"MICROPYPATH=(\S+)", init).group(1)
        mpath = ":".join(str(root) + p if p.startswith("/") else p for p in env_line.split(":"))
        env = dict(os.environ, MICROPYPATH=mpath)
        r = subprocess.run([paths.micropython(), "-m", "wanwatch", "--config", str(root / "etc/config/wanwatch"), "--once"],
                           env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout.strip().splitlines()[-1])
        assert doc["device_id"] == "router-01" and doc["modem"]["state"] == "ready"
        assert doc["modem"]["imei"] == emu.expected()["imei"]
        assert set(doc["links"]) == {"wan", "wwan"} and doc["mqtt"]["connected"] is True
    finally:
        emu.stop()
