# wanwatch: LTE branch-router agent (MicroPython unix port, MicroPython boards, CPython for tests).
VERSION = "0.1.0"
