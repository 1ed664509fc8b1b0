# boards/openwrt-simcom/manifest.py: the same build as openwrt-quectel (the full agent); only the
# board description differs.
include("../openwrt-quectel/manifest.py")
metadata(description="OpenWrt router with a SIMCom SIM7600: the full agent")
hardware("board.json")
