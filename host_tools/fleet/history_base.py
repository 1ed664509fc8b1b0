"""Fleet history, the part every backend shares: buffering, the queries, retention and downsampling.

A backend (history_sqlite.py, history_pg.py) only opens the connection, creates its schema and runs
SQL. The SQL here is written once, with `?` placeholders, in the dialect SQLite (3.25+) and
PostgreSQL share: ON CONFLICT, window functions, integer division of integer columns.
"""
import json
import time
from dataclasses import asdict, dataclass

DAY = 86400

INSERT_STATUS = ("INSERT INTO status (site, ts, active_link, on_backup, usage_total, used_pct, doc) "
                 "VALUES (?,?,?,?,?,?,?)")
# QoS 1 may deliver an event twice, and two controller processes may both store one: the unique
# key (site, boot, seq) keeps one copy
INSERT_EVENT = ("INSERT INTO events (site, boot, seq, ts, type, doc) VALUES (?,?,?,?,?,?) "
                "ON CONFLICT (site, boot, seq) DO NOTHING")
# keep the last sample of each (site, bucket) in [start, end): the state the site ended that bucket in
DOWNSAMPLE = ("DELETE FROM status WHERE {rowid} IN (SELECT {rowid} FROM (SELECT {rowid}, ROW_NUMBER() OVER "
              "(PARTITION BY site, ts / ? ORDER BY ts DESC, {rowid} DESC) AS rn FROM status WHERE ts >= ? AND ts < ?) "
              "AS ranked WHERE rn > 1)")
SET_META = "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"


@dataclass(frozen=True)
class Retention:
    """Status samples: every one for raw_days, then one per site per bucket_s until keep_days, then
    gone. Events (small, and what SLA reports are made of) are kept for event_days.
    bucket_s stays under the 15 min backup_days weighs a sample for, so thinned samples still add up
    to the time on backup."""
    raw_days: float = 7
    bucket_s: int = 300
    keep_days: float = 90
    event_days: float = 400

    def check(self):
        if not (0 < self.raw_days <= self.keep_days and 0 < self.event_days and 0 < self.bucket_s <= 900):
            raise ValueError("retention: want 0 < raw_days <= keep_days, event_days > 0, 0 < bucket_s <= 900; got %s"
                             % asdict(self))
        return self


class HistoryBase:
    ROWID = "rowid"  # the column that tells two samples of one site and ts apart

    def __init__(self, clock=time.time, maintain_every_s=3600):
        self.clock = clock
        self.maintain_every_s = maintain_every_s
        # the first pass a minute after opening: a controller process cleans up soon after it starts,
        # a one-shot query command (`fleet history`) is gone before then
        self._next_maintain = clock() + min(60, maintain_every_s or 0)
        self._downsampled_to = 0  # below this, this process already thinned the samples
        self._status = []
        self._events = []

    # -- backend hooks ------------------------------------------------------------------------
    def _rows(self, sql, params=()):
        raise NotImplementedError

    def _exec(self, sql, params=()):
        """Run one statement, return its rowcount."""
        raise NotImplementedError

    def _executemany(self, sql, rows):
        raise NotImplementedError

    def _transaction(self):
        raise NotImplementedError

    def _maintenance_lock(self):
        """Inside the maintenance transaction: True when this process should do the pass."""
        return True

    # -- writes -------------------------------------------------------------------------------
    def add_status(self, site, doc, on_backup):
        u = doc.get("usage") or {}
        self._status.append((site, int(doc.get("ts") or self.clock()), doc.get("active_link"),
                             1 if on_backup else 0, u.get("total_bytes"), u.get("used_pct"),
                             json.dumps(doc, separators=(",", ":"))))

    def add_event(self, site, ev):
        self._events.append((site, ev.get("boot"), ev.get("seq"), ev.get("ts"), ev.get("type"),
                             json.dumps(ev, separators=(",", ":"))))

    def flush(self):
        """Write what was added in one transaction (ingest keeps up with thousands of reports/s);
        run the retention pass when it is due. Returns the rows written."""
        n = len(self._status) + len(self._events)
        if n:
            with self._transaction():
                if self._status:
                    self._executemany(INSERT_STATUS, self._status)
                if self._events:
                    self._executemany(INSERT_EVENT, self._events)
            self._status, self._events = [], []
        if self.maintain_every_s and self.clock() >= self._next_maintain:
            self.maintain()
        return n

    # -- queries ------------------------------------------------------------------------------
    def backup_days(self, site, since_ts):
        """Days (fractional) the site carried traffic on a backup link since since_ts, from samples:
        each sample counts until the next one (capped at 15 min so gaps don't inflate it)."""
        rows = self._rows("SELECT ts, on_backup FROM status WHERE site=? AND ts>=? ORDER BY ts", (site, since_ts))
        total = 0.0
        for (ts, ob), nxt in zip(rows, rows[1:] + [None]):
            if ob and nxt is not None:
                total += min(nxt[0] - ts, 900)
        return total / DAY

    def usage_bytes(self, site):
        rows = self._rows("SELECT usage_total FROM status WHERE site=? AND usage_total IS NOT NULL "
                          "ORDER BY ts DESC LIMIT 1", (site,))
        return rows[0][0] if rows else None

    def events_for(self, site, since_ts=0, limit=100):
        rows = self._rows("SELECT doc FROM events WHERE site=? AND ts>=? ORDER BY boot, seq LIMIT ?",
                          (site, since_ts, limit))
        return [json.loads(r[0]) for r in rows]

    def status_series(self, site, since_ts=0, limit=2000):
        """[(ts, status doc)] of a site from since_ts, oldest first, at most limit samples (the most
        recent ones when there are more)."""
        rows = self._rows("SELECT ts, doc FROM status WHERE site=? AND ts>=? ORDER BY ts DESC, %s DESC LIMIT ?"
                          % self.ROWID, (site, since_ts, limit))
        return [(ts, json.loads(doc)) for ts, doc in reversed(rows)]

    def seq_gaps(self, site):
        """Missing event seqs per boot, from the store: works when several controller processes on a
        shared subscription each saw only part of a site's events (they all write one DB)."""
        rows = self._rows("SELECT boot, MIN(seq), MAX(seq), COUNT(DISTINCT seq) FROM events WHERE site=? "
                          "AND seq IS NOT NULL GROUP BY boot", (site,))
        return {boot: (hi - lo + 1) - n for boot, lo, hi, n in rows if (hi - lo + 1) - n > 0}

    # -- retention ----------------------------------------------------------------------------
    def retention(self):
        """The policy stored with the history (one for every process sharing it), or the default."""
        rows = self._rows("SELECT value FROM meta WHERE key=?", ("retention",))
        return Retention(**json.loads(rows[0][0])) if rows else Retention()

    def set_retention(self, policy):
        with self._transaction():
            self._exec(SET_META, ("retention", json.dumps(asdict(policy.check()))))

    def maintain(self, now=None):
        """Delete samples past keep_days and events past event_days, thin samples older than raw_days
        to one per site per bucket. Returns the row counts, or None when another process holds the
        pass."""
        now = self.clock() if now is None else now
        self._next_maintain = now + (self.maintain_every_s or 0)
        pol = self.retention()
        b = pol.bucket_s
        # cut on bucket boundaries so a bucket is never thinned in two halves
        raw_cut = int(now - pol.raw_days * DAY) // b * b
        keep_cut = int(now - pol.keep_days * DAY) // b * b
        start = max(keep_cut, self._downsampled_to)
        with self._transaction():
            if not self._maintenance_lock():
                return None
            done = {"status_deleted": self._exec("DELETE FROM status WHERE ts < ?", (keep_cut,)),
                    "status_thinned": self._exec(DOWNSAMPLE.format(rowid=self.ROWID), (b, start, raw_cut))
                    if start < raw_cut else 0,
                    "events_deleted": self._exec("DELETE FROM events WHERE ts < ?", (int(now - pol.event_days * DAY),))}
        self._downsampled_to = raw_cut
        return done

    def close(self):
        self.flush()
        self.db.close()
