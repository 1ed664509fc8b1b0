"""Fleet fixtures: one real PostgreSQL server per session (a fresh database per test), and a
history target parametrized over SQLite and PostgreSQL. No PostgreSQL is a failure, never a skip."""
import itertools

import pytest

from host_tools.localpg import PgServer

_dbs = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server():
    srv = PgServer().start()  # raises with an install hint when the server binaries are missing
    yield srv
    srv.stop()


@pytest.fixture
def pg_url(pg_server):
    import psycopg
    name = "t%d" % next(_dbs)
    with psycopg.connect(pg_server.url, autocommit=True) as c:
        c.execute("CREATE DATABASE %s" % name)
    return pg_server.url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgresql"])
def history_target(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "h.db")
    return request.getfixturevalue("pg_url")
