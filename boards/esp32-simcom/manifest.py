# boards/esp32-simcom/manifest.py: the ESP32 + SIM7600 board. One vendor driver (its modem is
# soldered on); every area but syslog (no logd on a board: log lines go to the UART).
metadata(description="ESP32 + SIMCom SIM7600 on UART1", platform="esp32")
package("wanwatch")
require("table", "console", "commands", "sms", "checks", "budget", "calibration", "forecast")
vendor("simcom")
hardware("board.json")  # and its board module (board.json names board.py)
