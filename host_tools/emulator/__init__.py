"""The modem emulator: `Emulator(profile, replay=None, scenario=None).start(link=None) -> path`."""
from .core import Emulator  # noqa: F401
