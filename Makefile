# wanwatch — one Makefile for host work. It creates and uses .venv by itself.
# Main jobs: `make demo` (agent under MicroPython + emulated modem + local broker, live status)
#            `make test` (every test, with real MicroPython, mosquitto, namespaces, mpremote).
VENV     := .venv
PY       := $(VENV)/bin/python
STAMP    := $(VENV)/.installed-stamp
BOARD    ?= openwrt-quectel
PORT     ?=
DURATION ?= 0
ROMFS    ?=

.PHONY: all venv sysdeps build test demo bench package flash clean

all: build

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

venv: $(STAMP)

# System packages a fresh Debian machine lacks (mosquitto for the broker; iproute2, nftables,
# conntrack and dnsmasq-base for the test bed; postgresql for the fleet history tests; chromium
# for the dashboard's browser tests). Installed only when missing and only as root; otherwise
# the tests say what to install.
sysdeps:
	@missing=""; \
	command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing="$$missing mosquitto"; \
	command -v ip >/dev/null 2>&1 || missing="$$missing iproute2"; \
	command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || missing="$$missing nftables"; \
	command -v conntrack >/dev/null 2>&1 || [ -x /usr/sbin/conntrack ] || missing="$$missing conntrack"; \
	command -v dnsmasq >/dev/null 2>&1 || [ -x /usr/sbin/dnsmasq ] || missing="$$missing dnsmasq-base"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing system packages:$$missing (sudo apt-get install -y$$missing)"; fi; \
	fi

# BOARD picks boards/$(BOARD)/manifest.py: build, flash and package ship what it lists
build: $(STAMP)
	$(PY) -m host_tools.build --board $(BOARD)

test: $(STAMP) sysdeps
	$(PY) -m pytest -q tests

demo: $(STAMP) sysdeps build
	$(PY) -m host_tools.demo --duration $(DURATION)

bench: $(STAMP) sysdeps build
	@set -e; for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b; done

package: $(STAMP)
	$(PY) -m host_tools.cli package --board $(BOARD)

flash: $(STAMP)
	@[ -n "$(PORT)" ] || { echo "usage: make flash BOARD=<board> PORT=<device or socket://host:port>"; exit 2; }
	$(PY) -m host_tools.cli flash --board $(BOARD) --port $(PORT) $(if $(ROMFS),--romfs)

clean:
	rm -rf build .pytest_cache
