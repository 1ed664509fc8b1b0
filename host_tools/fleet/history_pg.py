"""Fleet history in PostgreSQL: several controller processes (hosts) share one history, kept long.

Needs psycopg 3 (`pip install 'wanwatch-host[pg]'`). The queries are history_base's; only the
schema, the placeholder style and the locks are PostgreSQL's own.
"""
import functools

from .history_base import HistoryBase

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS status (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, site TEXT NOT NULL, "
    "ts BIGINT NOT NULL, active_link TEXT, on_backup SMALLINT NOT NULL, usage_total BIGINT, "
    "used_pct DOUBLE PRECISION, doc TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS status_site_ts ON status(site, ts)",
    "CREATE INDEX IF NOT EXISTS status_ts ON status(ts)",
    "CREATE TABLE IF NOT EXISTS events (site TEXT NOT NULL, boot BIGINT, seq BIGINT, ts BIGINT, type TEXT, "
    "doc TEXT NOT NULL)",
    "CREATE UNIQUE INDEX IF NOT EXISTS events_key ON events(site, boot, seq)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)
# advisory lock keys (any constant bigint, private to wanwatch)
SCHEMA_LOCK = 0x77616E01
MAINTAIN_LOCK = 0x77616E02


@functools.lru_cache(maxsize=64)
def _pg(sql):
    """history_base writes `?` (no query holds a literal ?); psycopg wants %s."""
    return sql.replace("?", "%s")


class PgHistory(HistoryBase):
    ROWID = "id"

    def __init__(self, url, **kw):
        try:
            import psycopg
        except ImportError:
            raise RuntimeError("a postgresql:// history needs psycopg 3: pip install 'wanwatch-host[pg]'")
        super().__init__(**kw)
        # autocommit: a read does not leave the session idle in a transaction; writes open one
        self.db = psycopg.connect(url, autocommit=True, application_name="wanwatch-fleet")
        with self.db.transaction():
            # processes starting together would race CREATE ... IF NOT EXISTS (a unique violation
            # in the catalog): one at a time
            self.db.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            for stmt in SCHEMA:
                self.db.execute(stmt)

    def _rows(self, sql, params=()):
        return self.db.execute(_pg(sql), params).fetchall()

    def _exec(self, sql, params=()):
        return self.db.execute(_pg(sql), params).rowcount

    def _executemany(self, sql, rows):
        with self.db.cursor() as cur:
            cur.executemany(_pg(sql), rows)  # psycopg 3 pipelines these: one round trip per batch

    def _transaction(self):
        return self.db.transaction()

    def _maintenance_lock(self):
        # every controller runs the pass on its timer; the one that gets the lock does it, the
        # others skip rather than queue behind it to repeat the same deletes
        return self.db.execute("SELECT pg_try_advisory_xact_lock(%s)", (MAINTAIN_LOCK,)).fetchone()[0]
