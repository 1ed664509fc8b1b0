# boards/openwrt-quectel/manifest.py: what an OpenWrt router's build ships (host_tools/manifest.py
# has the functions). The full agent: every area and every vendor driver, since a router may get
# another modem; this is the OpenWrt package's default (WANWATCH_BOARD in openwrt/wanwatch/Makefile).
metadata(description="OpenWrt router with a Quectel EC25: the full agent", platform="openwrt")
package("wanwatch")
require("table", "console", "commands", "sms", "checks", "budget", "calibration", "forecast", "syslog")
vendor("quectel", "simcom", "huawei", "sierra", "ublox", "telit")
hardware("board.json")
