# outbox.py: events kept on flash until the broker acknowledged them (PUBACK), in order, bounded.
# Also the persistent home of the event counters: `boot` (incremented at every start) and the
# last `seq`, so EventBus numbering stays monotonic across restarts.
#
# One append-only journal file, one record per line:
#   M {"boot":b,"seq":s,"dropped":d}   first line, written only by compaction
#   E {event json}                     an event queued (append)
#   D                                  the oldest queued event was acknowledged (append)
#   X                                  the oldest queued event was dropped to stay in bounds (append)
# Live events = the E records after as many E records as there are D/X records: deletion only ever
# happens at the head, so a count is enough and RAM use does not grow with the queue (we keep the
# head's file offset, never the queue itself).
#
# Crash safety (SIGKILL at any instant): appends only ever add bytes at the end; a torn last line
# has no newline and is ignored on replay (a torn E was never accepted; a torn D/X only means one
# duplicate delivery). Compaction streams the live records into journal.tmp and renames it over
# the journal, so a reader sees the old or the new file, never a mix.
#
# Flash writes: one small append per event and one 2-byte append per acknowledgement; one
# compaction (rewrite of the live records only) at each start and whenever the dead part of the
# journal exceeds `slack` bytes (default 8 KiB, i.e. about every 40 delivered events).
import os

from .. import store
from ..compat import dumps, loads

JOURNAL = "journal"


class Outbox:
    def __init__(self, dirpath, max_entries=500, max_bytes=32768, max_line=2048, slack=8192, new_boot=True):
        self.dir = dirpath
        self.path = dirpath + "/" + JOURNAL
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_line = max_line
        self.slack = slack
        self.boot = 0
        self.seq = 0
        self.dropped = 0
        self.count = 0  # live events
        self.bytes = 0  # bytes of live E lines
        self.corrupt = 0  # unreadable lines skipped at replay
        self._head_off = None  # file offset of the oldest live E line
        self._head = None  # (dict, line length) cache of the head
        self._size = 0  # journal size
        store.makedirs(dirpath)
        self._replay()
        if new_boot:
            self.boot += 1
        self._compact()

    # --- replay / compaction -------------------------------------------------------------------
    def _lines(self):
        """(offset, line bytes) of complete lines; a torn tail (no newline) is not yielded."""
        try:
            f = open(self.path, "rb")
        except OSError:
            return
        off = 0
        try:
            while True:
                line = f.readline()
                if not line or not line.endswith(b"\n"):
                    return
                yield off, line
                off += len(line)
        finally:
            f.close()

    def _replay(self):
        entries = 0
        removed = 0
        for off, line in self._lines():
            kind = line[:1]
            if kind == b"E":
                # counted even when unreadable: D/X records refer to E records by position; a
                # corrupt live one is dropped (and counted) when it reaches the head
                entries += 1
                try:
                    s = loads(line[2:]).get("seq")
                except (ValueError, AttributeError):
                    self.corrupt += 1
                    continue
                if isinstance(s, int) and s > self.seq:
                    self.seq = s
            elif kind == b"D":
                removed += 1
            elif kind == b"X":
                removed += 1
                self.dropped += 1
            elif kind == b"M":
                try:
                    m = loads(line[2:])
                    self.boot = int(m.get("boot", 0))
                    self.seq = max(self.seq, int(m.get("seq", 0)))
                    self.dropped = int(m.get("dropped", 0))
                except (ValueError, AttributeError, TypeError):
                    self.corrupt += 1
            else:
                self.corrupt += 1
        self._skip = removed if removed < entries else entries

    def _compact(self):
        """Rewrite the journal as M + live E lines (streamed: no queue in RAM), then rename.
        Live = after replay, all but the first _skip E records; at run time, the E records from the
        head offset on (or none when the queue is empty)."""
        skip = self._skip
        start = 0
        if self._size:
            start = self._head_off if self.count else self._size
        tmp = self.path + ".tmp"
        meta = b"M " + dumps({"boot": self.boot, "seq": self.seq, "dropped": self.dropped}).encode() + b"\n"
        count = 0
        nbytes = 0
        with open(tmp, "wb") as out:
            out.write(meta)
            for off, line in self._lines():
                if line[:1] != b"E" or off < start:
                    continue
                if skip:
                    skip -= 1
                    continue
                out.write(line)
                count += 1
                nbytes += len(line)
            try:
                out.flush()
                os.fsync(out.fileno())  # CPython; MicroPython unix has no fsync (see docs)
            except (AttributeError, OSError):
                pass
        os.rename(tmp, self.path)
        self._skip = 0
        self.count = count
        self.bytes = nbytes
        self._size = len(meta) + nbytes
        self._head_off = len(meta) if count else None
        self._head = None

    # --- queue operations ----------------------------------------------------------------------
    def _append(self, data):
        with open(self.path, "ab") as f:
            f.write(data)
        self._size += len(data)

    def append(self, ev):
        """Queue an event (dict with seq). False (and counted as dropped) if it cannot fit at all."""
        s = ev.get("seq")
        if isinstance(s, int) and s > self.seq:
            self.seq = s
        line = b"E " + dumps(ev).encode() + b"\n"
        if len(line) > self.max_line or len(line) > self.max_bytes:
            self.dropped += 1
            return False
        while self.count and (self.count + 1 > self.max_entries or self.bytes + len(line) > self.max_bytes):
            self._remove(b"X\n")
            self.dropped += 1
        if self._head_off is None:
            self._head_off = self._size
        self._append(line)
        self.count += 1
        self.bytes += len(line)
        return True

    def peek(self):
        """The oldest unacknowledged event (dict), or None. An unreadable head record (flash
        corruption) is dropped and counted rather than blocking the queue forever."""
        while self.count:
            if self._head is None:
                with open(self.path, "rb") as f:
                    f.seek(self._head_off)
                    line = f.readline()
                if not line:
                    raise OSError("outbox journal shorter than expected")
                try:
                    ev = loads(line[2:]) if line[:1] == b"E" else None
                except ValueError:
                    ev = None
                self._head = (ev, len(line))
                if ev is None:
                    self.corrupt += 1
                    self.dropped += 1
                    self._remove(b"X\n")
                    continue
            return self._head[0]
        return None

    def ack(self):
        """The head event was delivered: remove it."""
        if self.count:
            self._remove(b"D\n")
            if self._size - self.bytes > self.slack + 64:
                self._compact()

    def _remove(self, rec):
        if self._head is None:
            self.peek()
            if not self.count:
                return
        length = self._head[1]
        self._append(rec)
        self.count -= 1
        self.bytes -= length
        self._head = None
        if not self.count:
            self._head_off = None
            return
        # next live E line: the first E record after the old head (D/X records are skipped)
        off = self._head_off + length
        with open(self.path, "rb") as f:
            f.seek(off)
            while True:
                line = f.readline()
                if not line:
                    raise OSError("outbox journal inconsistent")
                if line[:1] == b"E":
                    break
                off += len(line)
        self._head_off = off

    def status(self):
        return {"queued": self.count, "dropped": self.dropped}
