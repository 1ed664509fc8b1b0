"""Fleet history: an embedded SQLite store (WAL) of status samples and events.

Writes are batched (one transaction per flush) so ingest keeps up with thousands of reports/s.
"""
import json
import sqlite3
import time

SCHEMA = """
CREATE TABLE IF NOT EXISTS status (site TEXT NOT NULL, ts INTEGER NOT NULL, active_link TEXT,
    on_backup INTEGER NOT NULL, usage_total INTEGER, used_pct REAL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS status_site_ts ON status(site, ts);
CREATE TABLE IF NOT EXISTS events (site TEXT NOT NULL, boot INTEGER, seq INTEGER, ts INTEGER,
    type TEXT, doc TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS events_key ON events(site, boot, seq);
"""


class History:
    def __init__(self, path):
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self._status = []
        self._events = []

    def add_status(self, site, doc, on_backup):
        u = doc.get("usage") or {}
        self._status.append((site, int(doc.get("ts") or time.time()), doc.get("active_link"),
                             1 if on_backup else 0, u.get("total_bytes"), u.get("used_pct"),
                             json.dumps(doc, separators=(",", ":"))))

    def add_event(self, site, ev):
        self._events.append((site, ev.get("boot"), ev.get("seq"), ev.get("ts"), ev.get("type"),
                             json.dumps(ev, separators=(",", ":"))))

    def flush(self):
        if not (self._status or self._events):
            return 0
        n = len(self._status) + len(self._events)
        with self.db:
            self.db.executemany("INSERT INTO status VALUES (?,?,?,?,?,?,?)", self._status)
            # QoS 1 may deliver an event twice: the unique key keeps one copy
            self.db.executemany("INSERT OR IGNORE INTO events VALUES (?,?,?,?,?,?)", self._events)
        self._status, self._events = [], []
        return n

    def backup_days(self, site, since_ts):
        """Days (fractional) the site carried traffic on a backup link since since_ts, from samples:
        each sample counts until the next one (capped at 15 min so gaps don't inflate it)."""
        rows = self.db.execute("SELECT ts, on_backup FROM status WHERE site=? AND ts>=? ORDER BY ts",
                               (site, since_ts)).fetchall()
        total = 0.0
        for (ts, ob), nxt in zip(rows, rows[1:] + [None]):
            if ob and nxt is not None:
                total += min(nxt[0] - ts, 900)
        return total / 86400.0

    def usage_bytes(self, site):
        row = self.db.execute("SELECT usage_total FROM status WHERE site=? AND usage_total IS NOT NULL "
                              "ORDER BY ts DESC LIMIT 1", (site,)).fetchone()
        return row[0] if row else None

    def events_for(self, site, since_ts=0, limit=100):
        rows = self.db.execute("SELECT doc FROM events WHERE site=? AND ts>=? ORDER BY boot, seq LIMIT ?",
                               (site, since_ts, limit)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def status_series(self, site, since_ts=0, limit=2000):
        """[(ts, status doc)] of a site from since_ts, ordered by ts: the newest `limit` samples."""
        rows = self.db.execute("SELECT ts, doc FROM (SELECT rowid AS r, ts, doc FROM status WHERE site=? AND ts>=? "
                               "ORDER BY ts DESC, rowid DESC LIMIT ?) ORDER BY ts, r", (site, since_ts, limit)).fetchall()
        return [(ts, json.loads(doc)) for ts, doc in rows]

    def seq_gaps(self, site):
        """Missing event seqs per boot, from the store: works when several controller processes on a
        shared subscription each saw only part of a site's events (they all write one DB)."""
        rows = self.db.execute("SELECT boot, MIN(seq), MAX(seq), COUNT(DISTINCT seq) FROM events WHERE site=? "
                               "AND seq IS NOT NULL GROUP BY boot", (site,)).fetchall()
        return {boot: (hi - lo + 1) - n for boot, lo, hi, n in rows if (hi - lo + 1) - n > 0}

    def close(self):
        self.flush()
        self.db.close()
