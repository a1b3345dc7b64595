"""Reader: a recording's topology, frames (by seq, by time, in order) and events.

Read-only, so replaying a recording that is still being written (or was left
by a killed recorder, its -wal beside it) is safe. Any damage, from a
truncated copy to flipped bytes, ends in one RecordingError that says which
frames are still good, never in a traceback from sqlite3, zlib, lzma or json.
"""

from __future__ import annotations

import json
import lzma
import os
import sqlite3
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from numaview.model.frame import Frame
from numaview.model.topology import Topology
from numaview.record.format import (
    FORMAT_MAJOR,
    FORMAT_NAME,
    RecordingError,
    clock_label,
    decode_frame,
    parse_version,
    unpack_process,
)

DAMAGE = (
    sqlite3.DatabaseError,
    zlib.error,
    lzma.LZMAError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
)


@dataclass(frozen=True, slots=True)
class Event:
    time: float
    mono: float
    kind: str
    data: dict[str, Any]


class Reader:
    """Opens ``path`` read-only; refuses files that are not recordings or too new."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise RecordingError(f"{self.path}: no such file")
        uri = f"file:{quote(str(self.path.resolve()))}?mode=ro"
        try:
            # Another thread may read (ReplaySource's playback thread and the UI
            # take turns under its lock); sqlite3 itself is serialized.
            self.conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
        except sqlite3.Error as exc:
            raise RecordingError(f"{self.path}: cannot open: {exc}") from None
        try:
            self.meta = self._read_meta()
            self.topology = Topology.from_dict(json.loads(self.meta["topology"]))
            self.interval_s = float(self.meta.get("interval_s", "1"))
        except RecordingError:
            self.conn.close()
            raise
        except (*DAMAGE, json.JSONDecodeError) as exc:
            self.conn.close()
            raise RecordingError(f"{self.path}: recording header unreadable ({exc})") from None
        # Rows of the frame decoded last, by where they are stored: the next
        # frame in order refers mostly to these.
        self._rows: dict[tuple[int, int], dict[str, Any]] = {}

    def _read_meta(self) -> dict[str, str]:
        try:
            rows = self._meta_rows()
        except sqlite3.DatabaseError as exc:
            if "malformed" in str(exc):
                raise RecordingError(f"{self.path}: recording damaged ({exc})") from None
            why = "not an SQLite file" if "not a database" in str(exc) else str(exc)
            raise RecordingError(f"{self.path}: not a numaview recording ({why})") from None
        meta = {str(k): str(v) for k, v in rows}
        if meta.get("format") != FORMAT_NAME or "format_version" not in meta:
            raise RecordingError(f"{self.path}: not a numaview recording (no recording header)")
        try:
            major, _minor = parse_version(meta["format_version"])
        except ValueError:
            raise RecordingError(
                f"{self.path}: unknown recording format {meta['format_version']!r}"
            ) from None
        if major > FORMAT_MAJOR:
            raise RecordingError(
                f"{self.path}: recording format {meta['format_version']} is newer than this"
                f" numaview reads ({FORMAT_MAJOR}.x); a newer numaview can replay it"
            )
        return meta

    def _meta_rows(self) -> list[tuple[str, str]]:
        try:
            return self.conn.execute("SELECT key, value FROM meta").fetchall()
        except sqlite3.DatabaseError as exc:
            if "malformed" not in str(exc):
                raise
        # A truncated copy: its header counts more pages than the file has, and
        # SQLite refuses the whole file unless told to read what is there (only
        # a flag on this read-only connection; it writes nothing).
        self.conn.execute("PRAGMA writable_schema=ON")
        return self.conn.execute("SELECT key, value FROM meta").fetchall()

    # -- size and time span ---------------------------------------------------

    def __len__(self) -> int:
        return int(self._one("SELECT count(*) FROM frames") or 0)

    @property
    def first_time(self) -> float | None:
        return self._one("SELECT min(time) FROM frames")  # type: ignore[no-any-return]

    @property
    def last_time(self) -> float | None:
        return self._one("SELECT max(time) FROM frames")  # type: ignore[no-any-return]

    # -- frames ------------------------------------------------------------------

    def __iter__(self) -> Iterator[Frame]:
        return (f for _, f in self.entries())

    def frames_between(self, t0: float, t1: float) -> Iterator[Frame]:
        """Frames with t0 <= time <= t1, in order (through the time index)."""
        return (f for _, f in self.entries(t0, t1))

    def entries(
        self, t0: float | None = None, t1: float | None = None
    ) -> Iterator[tuple[int, Frame]]:
        """(seq, frame) in order; stops with a RecordingError at the first damaged frame."""
        where, args = "", ()  # type: tuple[str, tuple[float, ...]]
        if t0 is not None or t1 is not None:  # through the time index
            lo = float("-inf") if t0 is None else t0
            hi = float("inf") if t1 is None else t1
            where, args = " WHERE time >= ? AND time <= ?", (lo, hi)
        last: tuple[int, float] | None = None
        count = 0
        try:
            # Row by row, not fetchall: in a truncated file every frame before the
            # missing pages is still delivered.
            cursor = self.conn.execute(f"SELECT seq, data FROM frames{where} ORDER BY seq", args)
            for seq, blob in cursor:
                frame = self._decode(seq, blob)
                yield seq, frame
                last, count = (seq, frame.time), count + 1
        except DAMAGE as exc:
            raise self._damaged(last, count, exc) from None

    def frame_by_seq(self, seq: int) -> Frame:
        """Frame number ``seq`` (1 is the first); IndexError if there is none."""
        try:
            row = self.conn.execute("SELECT data FROM frames WHERE seq = ?", (seq,)).fetchone()
            if row is None:
                raise IndexError(f"no frame {seq} in {self.path}")
            return self._decode(seq, row[0])
        except IndexError:
            raise
        except DAMAGE as exc:
            raise RecordingError(f"{self.path}: frame {seq} is damaged ({exc})") from None

    def seq_at(self, t: float) -> int | None:
        """The frame on screen at time ``t``: the last one at or before it (else the first)."""
        seq = self._one("SELECT seq FROM frames WHERE time <= ? ORDER BY time DESC LIMIT 1", (t,))
        if seq is None:
            seq = self._one("SELECT seq FROM frames ORDER BY time LIMIT 1")
        return None if seq is None else int(seq)

    def frame_at(self, t: float) -> Frame | None:
        seq = self.seq_at(t)
        return None if seq is None else self.frame_by_seq(seq)

    # -- events ------------------------------------------------------------------

    def events(self, kind: str | None = None) -> list[Event]:
        sql = "SELECT time, mono, kind, data FROM events"
        args: tuple[Any, ...] = ()
        if kind is not None:
            sql, args = sql + " WHERE kind = ?", (kind,)
        try:
            rows = self.conn.execute(sql + " ORDER BY time, id", args).fetchall()
            return [Event(float(t), float(m), str(k), json.loads(d)) for t, m, k, d in rows]
        except DAMAGE as exc:
            raise RecordingError(f"{self.path}: events damaged ({exc})") from None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- decoding -----------------------------------------------------------------

    def _decode(self, seq: int, blob: bytes) -> Frame:
        d = decode_frame(blob)
        rows: dict[tuple[int, int], dict[str, Any]] = {}
        origins: list[tuple[int, int]] = []
        wanted: dict[int, set[int]] = {}
        for i, entry in enumerate(d["processes"]):
            if isinstance(entry, dict):
                origin = (seq, i)
                rows[origin] = unpack_process(entry)
            else:
                back, index = entry
                origin = (seq - int(back), int(index))
                if origin in self._rows:
                    rows[origin] = self._rows[origin]
                else:
                    wanted.setdefault(origin[0], set()).add(origin[1])
            origins.append(origin)
        for other, indexes in wanted.items():
            row = self.conn.execute("SELECT data FROM frames WHERE seq = ?", (other,)).fetchone()
            if row is None:
                raise ValueError(f"frame {seq} refers to missing frame {other}")
            stored = decode_frame(row[0])["processes"]
            for index in indexes:
                entry = stored[index]
                if not isinstance(entry, dict):
                    raise ValueError(f"frame {seq} refers to a reference in frame {other}")
                rows[(other, index)] = unpack_process(entry)
        d["processes"] = [rows[o] for o in origins]
        frame = Frame.from_dict(d)
        self._rows = rows
        return frame

    def _damaged(
        self, last: tuple[int, float] | None, count: int, exc: BaseException
    ) -> RecordingError:
        if last is None:
            return RecordingError(f"{self.path}: recording damaged at its first frame ({exc})")
        seq, t = last
        return RecordingError(
            f"{self.path}: recording damaged after frame {seq} ({clock_label(t)});"
            f" the {count} frames before it are readable"
        )

    def _one(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        try:
            row = self.conn.execute(sql, args).fetchone()
        except sqlite3.DatabaseError as exc:
            raise RecordingError(f"{self.path}: recording damaged ({exc})") from None
        return None if row is None else row[0]
