"""Tests use the host tools' local mosquitto runner."""
from host_tools.localbroker import Broker, free_port, mosquitto_bin  # noqa: F401
