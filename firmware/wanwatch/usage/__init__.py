# usage/: the backup SIM's data: counters, billing cycles, the ledger and its saves, carrier
# calibration.
