"""The recording format: one SQLite file, its schema and the frame encoding.

SQLite because a recording must outlive the numaview that made it: any
``sqlite3 FILE 'select ...'`` reads it, a killed writer loses at most the frame
being written (WAL, one transaction per frame), and frames are found by time
through an index instead of by scanning. docs/recording.md has the schema and
the comparison with atop's raw files and JSON lines.

A frame is stored as compressed JSON of ``Frame.to_dict()`` in a compact
but lossless shape: per-CPU rows and per-thread rows as columns (the keys are
not repeated per row), and a process row that equals the one stored for the same
(pid, start time) in an earlier frame as a reference ``[back, index]``: frame
``seq - back``, position ``index`` of its ``processes`` list. References never
reach behind the last key frame (every ``keyframe_every`` frames all rows are
stored), so decoding one frame touches a bounded set of frames and a damaged
frame spoils at most the frames up to the next key frame.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Mapping
from typing import Any

# major.minor: a newer major is refused, a newer minor read. 2: workload; 2.1: GPUs
FORMAT_VERSION = "2.1"
FORMAT_MAJOR = 2
APPLICATION_ID = 0x4E554D41  # "NUMA" in the SQLite header: `file` can tell it apart
FORMAT_NAME = "numaview-recording"
KEYFRAME_EVERY = 600  # frames (10 min at 1 Hz); key frames cost ~1 % of the size
ZLIB_LEVEL = 6
# Large frames are raw LZMA2 (preset 0) behind a one-byte tag "L" when that is
# smaller: ~18 % below zlib -6 for ~1 ms more a frame, which brings a 256-CPU
# machine under 20 MB/hour. Small frames stay zlib (untagged: they start with
# 0x78), where LZMA2's overhead makes it larger. Both are read.
LZMA_TAG = b"L"
LZMA_FROM_BYTES = 32 * 1024  # below this much JSON, LZMA2 loses to zlib (measured)
PAGE_SIZE = 65536  # SQLite's largest: frames pack without half-empty overflow pages
EVENT_KINDS = ("pin", "mark", "sampler-error", "finding", "compare", "plan")

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE frames (seq INTEGER PRIMARY KEY, time REAL NOT NULL, mono REAL NOT NULL,
                     data BLOB NOT NULL);
CREATE INDEX frames_time ON frames (time);
CREATE TABLE events (id INTEGER PRIMARY KEY, time REAL NOT NULL, mono REAL NOT NULL,
                     kind TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX events_time ON events (time);
"""


class RecordingError(Exception):
    """A recording that cannot be read or written, said in one line for the user."""


def clock_label(t: float) -> str:
    """HH:MM:SS local time: where a damaged recording stopped, in the user's terms."""
    return time.strftime("%H:%M:%S", time.localtime(t))


def parse_version(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    keys = list(rows[0]) if rows else []
    return {k: [r.get(k) for r in rows] for k in keys}


def _rows(cols: Mapping[str, list[Any]]) -> list[dict[str, Any]]:
    keys = list(cols)
    n = len(cols[keys[0]]) if keys else 0
    return [{k: cols[k][i] for k in keys} for i in range(n)]


def pack_process(d: dict[str, Any]) -> dict[str, Any]:
    """Threads as columns: a busy process's thread rows are most of a frame's bytes."""
    threads = d.get("thread_samples")
    if threads is None:
        return d
    return {**d, "thread_samples": _columns(threads)}


def unpack_process(d: dict[str, Any]) -> dict[str, Any]:
    threads = d.get("thread_samples")
    if isinstance(threads, dict):
        return {**d, "thread_samples": _rows(threads)}
    return d


def encode_frame(d: dict[str, Any], processes: list[Any]) -> bytes:
    """``d`` is Frame.to_dict(); ``processes`` its rows already packed or references."""
    raw = dumps({**d, "cpus": _columns(d["cpus"]), "processes": processes}).encode()
    packed = zlib.compress(raw, ZLIB_LEVEL)
    if len(raw) < LZMA_FROM_BYTES:
        return packed  # small frames: zlib is smaller and cheaper
    import lzma  # loaded with the first large frame written, not with every Monitor

    filters = [{"id": lzma.FILTER_LZMA2, "preset": 0}]
    tagged = LZMA_TAG + lzma.compress(raw, format=lzma.FORMAT_RAW, filters=filters)
    return tagged if len(tagged) < len(packed) else packed


def decompress(blob: bytes) -> bytes:
    """A stored frame blob's JSON bytes, whichever codec wrote it."""
    if blob[:1] == LZMA_TAG:
        import lzma

        filters = [{"id": lzma.FILTER_LZMA2, "preset": 0}]
        return lzma.decompress(blob[1:], format=lzma.FORMAT_RAW, filters=filters)
    return zlib.decompress(blob)


def decode_frame(blob: bytes) -> dict[str, Any]:
    """The stored dict, CPU rows restored; process entries still packed or references."""
    d: dict[str, Any] = json.loads(decompress(blob))
    if not isinstance(d, dict):
        raise ValueError("frame is not an object")
    if isinstance(d.get("cpus"), dict):
        d["cpus"] = _rows(d["cpus"])
    return d


class Redactor:
    """Hides command lines and user names with a salt that is never stored.

    Salted, so a short secret (``--password hunter2``) cannot be found by
    hashing guesses; the same within one recording, so a process can still be
    followed from frame to frame.
    """

    def __init__(self, salt: bytes) -> None:
        self.salt = salt

    def _hash(self, text: str) -> str:
        import hashlib  # OpenSSL's libcrypto: only for a --redact recording

        return hashlib.sha256(self.salt + text.encode()).hexdigest()[:12]

    def cmdline(self, cmdline: str | None) -> str | None:
        if not cmdline:
            return cmdline
        first, _, rest = cmdline.partition(" ")
        return f"{first} #{self._hash(rest)}" if rest else first

    def user(self, user: str | None) -> str | None:
        return None if user is None else f"user#{self._hash(user)}"

    def process(self, d: dict[str, Any]) -> dict[str, Any]:
        return {**d, "cmdline": self.cmdline(d.get("cmdline")), "user": self.user(d.get("user"))}
