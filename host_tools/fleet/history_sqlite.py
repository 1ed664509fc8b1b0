"""Fleet history in one SQLite file (WAL): the embedded default, for one controller host."""
import sqlite3

from .history_base import HistoryBase

# no id column: SQLite's implicit rowid tells samples apart (and files made before it stay valid)
SCHEMA = """
CREATE TABLE IF NOT EXISTS status (site TEXT NOT NULL, ts INTEGER NOT NULL, active_link TEXT,
    on_backup INTEGER NOT NULL, usage_total INTEGER, used_pct REAL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS status_site_ts ON status(site, ts);
CREATE INDEX IF NOT EXISTS status_ts ON status(ts);
CREATE TABLE IF NOT EXISTS events (site TEXT NOT NULL, boot INTEGER, seq INTEGER, ts INTEGER,
    type TEXT, doc TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS events_key ON events(site, boot, seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class SqliteHistory(HistoryBase):
    ROWID = "rowid"

    def __init__(self, path, **kw):
        super().__init__(**kw)
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def _rows(self, sql, params=()):
        return self.db.execute(sql, params).fetchall()

    def _exec(self, sql, params=()):
        return self.db.execute(sql, params).rowcount

    def _executemany(self, sql, rows):
        self.db.executemany(sql, rows)

    def _transaction(self):
        return self.db  # the connection as a context manager: commit, or roll back on error
