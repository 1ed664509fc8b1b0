"""Fixtures shared by the failover tests on the namespace bed."""
import pytest

from host_tools.netbed import NetBed


@pytest.fixture
def bed():
    """A fresh bed (router, two ISPs, LAN client) per test, torn down after it."""
    with NetBed() as b:
        yield b
