"""Writer: appends frames and events to a recording as they happen.

Each frame is its own transaction in WAL mode with synchronous=NORMAL: a
commit is one append to the -wal file, so a killed recorder (SIGKILL, OOM)
loses at most the frame being written, and no fsync per frame slows the
sampler. close() folds the WAL back and switches the file to rollback
journalling, so a finished recording is one self-contained file to copy.
"""

from __future__ import annotations

import contextlib
import os
import platform
import secrets
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from numaview import __version__
from numaview.model.frame import Frame, ProcessSample, process_to_dict
from numaview.model.topology import Topology
from numaview.record.format import (
    APPLICATION_ID,
    EVENT_KINDS,
    FORMAT_NAME,
    FORMAT_VERSION,
    KEYFRAME_EVERY,
    PAGE_SIZE,
    SCHEMA,
    RecordingError,
    Redactor,
    dumps,
    encode_frame,
    pack_process,
)


class Writer:
    """Creates ``path`` (mode 0600, never over an existing file) and records into it."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        topology: Topology,
        interval_s: float,
        options: Mapping[str, Any] | None = None,
        redact: bool = False,
        keyframe_every: int = KEYFRAME_EVERY,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.path = Path(path)
        self.keyframe_every = max(1, keyframe_every)
        self.redactor = Redactor(secrets.token_bytes(16)) if redact else None
        self.frames = 0
        # key -> (the sample last stored, the seq and index it was stored at)
        self._stored: dict[tuple[int, float], tuple[ProcessSample, int, int]] = {}
        try:
            # O_EXCL: never clobber; 0600 before a byte is written (SQLite gives the
            # -wal and -shm files the same mode). Frames show every command line.
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            self.conn = sqlite3.connect(self.path, isolation_level=None)
            # Big pages: a frame's blob (2-8 KB) would leave most of a 4 KB page's
            # overflow page empty; at 64 KB they pack (28 → 21 MB/hour, 256 CPUs).
            self.conn.execute(f"PRAGMA page_size={int(page_size)}")
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
            host = topology.host
            meta = {
                "format": FORMAT_NAME,
                "format_version": FORMAT_VERSION,
                "numaview_version": __version__,
                "host": host.hostname or platform.node(),
                "kernel": host.kernel or platform.release(),
                "created": repr(time.time()),
                "interval_s": repr(float(interval_s)),
                "options": dumps(dict(options or {})),
                "topology": dumps(topology.to_dict()),
                "redacted": "1" if redact else "0",
                "keyframe_every": str(self.keyframe_every),
            }
            self.conn.executescript("BEGIN;" + SCHEMA)
            self.conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            self.conn.execute("COMMIT")
        except FileExistsError:
            raise RecordingError(f"{self.path}: already exists") from None
        except (OSError, sqlite3.Error) as exc:
            raise RecordingError(f"{self.path}: cannot write: {_reason(exc)}") from None

    def add_frame(self, frame: Frame) -> int:
        """Stores one frame in its own transaction; returns its seq (1, 2, ...)."""
        seq = self.frames + 1
        key = (seq - 1) % self.keyframe_every == 0
        if key:
            self._stored.clear()
        entries: list[Any] = []
        for i, p in enumerate(frame.processes):
            last = self._stored.get(p.key)
            if last is not None and last[0] == p:
                entries.append([seq - last[1], last[2]])
                continue
            d = process_to_dict(p)
            if self.redactor is not None:
                d = self.redactor.process(d)
            entries.append(pack_process(d))
            self._stored[p.key] = (p, seq, i)
        present = {p.key for p in frame.processes}
        for k in [k for k in self._stored if k not in present]:
            del self._stored[k]  # exited: its pid may come back as another process
        blob = encode_frame(replace(frame, processes=()).to_dict(), entries)
        self._execute(
            "INSERT INTO frames (seq, time, mono, data) VALUES (?, ?, ?, ?)",
            (seq, frame.time, frame.mono, blob),
        )
        self.frames = seq
        return seq

    def add_event(
        self, kind: str, mono: float, data: Mapping[str, Any], when: float | None = None
    ) -> None:
        """``data`` is a to_dict() (PinEvent, Finding) or any JSON object; ``when`` is epoch."""
        if kind not in EVENT_KINDS:
            raise ValueError(f"event kind {kind!r}: not one of {', '.join(EVENT_KINDS)}")
        self._execute(
            "INSERT INTO events (time, mono, kind, data) VALUES (?, ?, ?, ?)",
            (time.time() if when is None else when, mono, kind, dumps(dict(data))),
        )

    def size_bytes(self) -> int:
        """The file and its WAL: what the recording takes on disk right now."""
        total = 0
        for p in (self.path, Path(f"{self.path}-wal")):
            with contextlib.suppress(OSError):
                total += p.stat().st_size
        return total

    def close(self) -> None:
        try:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.conn.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal/-shm
        except sqlite3.Error:
            pass  # frames are committed; the WAL stays next to the file and is read
        finally:
            self.conn.close()

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _execute(self, sql: str, params: tuple[Any, ...]) -> None:
        try:
            with self.conn:
                self.conn.execute("BEGIN")
                self.conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise RecordingError(f"{self.path}: cannot write: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
