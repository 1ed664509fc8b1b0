# boards/esp32-simcom/board.py: what differs on the ESP32 + SIMCom board (hardware only; needs an
# ESP32 to run). Loaded by wanwatch.board when board.json names "module": "board.py".
#   power_toggle(): pulse PWRKEY to switch the modem off/on (last modem-recovery step before reboot)
#   open_uart():    the modem's AT port on UART1
#   uplinks:        WiFi (network.WLAN) primary, cellular over network.PPP(uart) as backup
import time

try:
    import machine
    import network
except ImportError:  # not on an ESP32: the module stays importable for tests of its description
    machine = network = None

PINS = {"pwrkey": 4, "pwrkey_active": 1, "pwrkey_pulse_ms": 1500}


def power_toggle(pins=PINS):
    """SIM7600 PWRKEY: hold active ≥ 500 ms to power on, ≥ 2.5 s to power off; 1.5 s toggles."""
    if machine is None:
        raise OSError("power_toggle needs the ESP32 hardware")
    p = machine.Pin(pins["pwrkey"], machine.Pin.OUT)
    p.value(pins["pwrkey_active"])
    time.sleep_ms(pins["pwrkey_pulse_ms"])
    p.value(1 - pins["pwrkey_active"])
    return True


def open_uart(cfg):
    if machine is None:
        raise OSError("open_uart needs the ESP32 hardware")
    u = cfg["modem"].get("uart") or {"id": 1, "tx": 27, "rx": 26}
    return machine.UART(u["id"], baudrate=cfg["modem"]["baud"], tx=u["tx"], rx=u["rx"], timeout=0)


class Uplinks:
    """Actuator for the board: 'up'/'down' on WiFi and PPP interfaces instead of ifup/ifdown."""

    def __init__(self, uart=None):
        self.wlan = network.WLAN(network.STA_IF) if network else None
        self.ppp = network.PPP(uart) if (network and uart is not None and hasattr(network, "PPP")) else None

    def up(self, name):
        iface = self.wlan if name == "wifi" else self.ppp
        if iface is None:
            return False
        iface.active(True)
        if name == "ppp":
            iface.connect()
        return True

    def down(self, name):
        iface = self.wlan if name == "wifi" else self.ppp
        if iface is None:
            return False
        iface.active(False)
        return True
