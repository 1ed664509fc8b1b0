"""Fleet history: open the store a `--history` target names (a SQLite file, the embedded default,
or a postgresql:// URL shared by several controller processes), and the `fleet maintain` command.

Both backends have one API (history_base.HistoryBase): add_status, add_event, flush, backup_days,
usage_bytes, events_for, status_series, seq_gaps, retention/set_retention, maintain, close.
"""
import dataclasses
import json
import sys

PG_SCHEMES = ("postgresql://", "postgres://")


def is_pg(target):
    return str(target).startswith(PG_SCHEMES)


def History(target, **kw):
    """A history for a path (SQLite) or a postgresql:// URL; kw: clock, maintain_every_s."""
    if is_pg(target):
        from .history_pg import PgHistory
        return PgHistory(target, **kw)
    from .history_sqlite import SqliteHistory
    return SqliteHistory(target, **kw)


def cmd_maintain(args):
    h = History(args.history, maintain_every_s=0)
    try:
        pol = h.retention()
        given = {k: getattr(args, k) for k in ("raw_days", "bucket_s", "keep_days", "event_days")
                 if getattr(args, k) is not None}
        if given:
            pol = dataclasses.replace(pol, **given)
            try:
                h.set_retention(pol)  # stored with the history: every process sharing it applies it
            except ValueError as e:
                print("fleet maintain: %s" % e, file=sys.stderr)
                return 2
        done = {} if args.show else h.maintain()
        print(json.dumps({"retention": dataclasses.asdict(pol), "done": done}, sort_keys=True))
        return 0
    finally:
        h.close()


def add_cli(sub):
    p = sub.add_parser("maintain", help="apply (and optionally set) the history's retention: thin and delete old rows")
    p.add_argument("--history", "--db", dest="history", required=True, help="SQLite file or postgresql:// URL")
    p.add_argument("--raw-days", type=float, help="keep every status sample this long")
    p.add_argument("--bucket-s", type=int, help="then one sample per site per this many seconds (<= 900)")
    p.add_argument("--keep-days", type=float, help="delete status samples older than this")
    p.add_argument("--event-days", type=float, help="delete events older than this")
    p.add_argument("--show", action="store_true", help="print (and store) the policy, delete nothing")
    p.set_defaults(fn=cmd_maintain)
