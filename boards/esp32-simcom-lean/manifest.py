# boards/esp32-simcom-lean/manifest.py: the same hardware as esp32-simcom with the smallest build:
# the core (modem, failover, usage counting and thresholds, MQTT reports) and the SIMCom driver.
# No status table, console, commands, SMS, checks, budget, calibration, forecast or syslog: a config
# that asks for one gets `config error: ...: needs the <area> area, which is not in this build`.
metadata(description="ESP32 + SIMCom SIM7600, lean: core and the SIMCom driver only", platform="esp32")
package("wanwatch")
vendor("simcom")
hardware("../esp32-simcom/board.json")
