"""The config validator and its helpers are needed only at start: the CLI drops them once the parts
are built, so their code goes back to the heap; the one shared name check stays in names.py."""
from tests.conftest import run_micropython

CODE = """
import gc, sys
from wanwatch import cli, config
gc.collect()
before = gc.mem_alloc()
del config
cli._forget_startup_modules()
after = gc.mem_alloc()
import wanwatch
print("LOADED", [m for m in cli.STARTUP_ONLY if m in sys.modules], hasattr(wanwatch, "config"))
print("FREED", before - after)
from wanwatch import config
print("AGAIN", config.load.__name__)
"""


def test_startup_modules_are_released_and_can_come_back(mpy_bundle):
    r = run_micropython(["-c", CODE], micropypath=mpy_bundle)
    assert r.returncode == 0, r.stderr
    out = dict(l.split(" ", 1) for l in r.stdout.splitlines())
    assert out["LOADED"] == "[] False"
    assert int(out["FREED"]) > 4000, out  # config.mpy alone holds several KB of code on the heap
    assert out["AGAIN"] == "load"  # reload_config imports it again on demand


def test_one_name_rule_everywhere():
    from wanwatch.failover import actuator, hotplug, monitor
    from wanwatch.report import commands
    from wanwatch.names import is_name
    assert is_name("pppoe-wan.2") and is_name("x" * 15) and not is_name("x" * 16)
    assert not is_name("a b") and not is_name("wan;reboot") and not is_name("") and not is_name(None)
    assert is_name("d" * 64, 64) and not is_name("d" * 65, 64)
    for mod in (actuator, commands, hotplug, monitor):
        assert mod.is_name is is_name, mod
