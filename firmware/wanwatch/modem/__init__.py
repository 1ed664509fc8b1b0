# modem/: the modem layer. engine.py (AT engine), serialport.py (the AT port as a byte stream),
# supervisor.py (ModemSupervisor: open, detect, initialise, poll, recover), recovery.py (the recovery
# ladder's decisions), sms.py (text-mode SMS), vendors/ (the generic 27.007 driver, one file per vendor
# and the vendor registry). Nothing here imports the rest of the agent but compat and store.
