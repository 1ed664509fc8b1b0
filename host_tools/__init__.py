"""wanwatch host tools (CPython)."""
