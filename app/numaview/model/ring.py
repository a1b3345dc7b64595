"""A thread-safe, fixed-capacity ring of frames (default: one hour at the interval).

The newest ``recent_s`` seconds stay as the Frame objects the sampler made
(the charts read 300 s, the pin measures ~70 s, the detectors keep their own
30 s), so those readers get the very objects that were appended, unchanged
rows shared. Older frames are packed ``block`` at a time: pickled together,
so a row shared by frames of the block is stored once, then zlib-compressed.
A live frame holds a new tuple of ~300 row references even when no row
changed (2.4 KB) plus its CPU columns; packed, a frame costs 0.2-0.5 KB on
a 2-CPU machine with 370 processes, and an hour's ring 3.9 MB of RSS instead
of 24 MB (benchmarks/bench_ring_memory.py --real).

Packing runs inside ``append``, i.e. on the appending thread (the sampling
side), once per ``block`` frames and outside the lock: a reader never waits
for it (~6 ms a block here, 0.1 ms a frame). Reading a span that reaches into
the packed part unpacks the blocks it needs (~4 ms a block; the two last
unpacked are cached): equal frames, new objects. The UI's window(300) never
reaches it.
"""

from __future__ import annotations

import math
import operator
import pickle
import threading
import zlib
from array import array
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from numaview.model.frame import (
    CpuTable,
    Frame,
    NodeSample,
    ProcessSample,
    SamplerCost,
    SystemSample,
)
from numaview.model.workload import Histogram, WorkloadSample

DEFAULT_SPAN_S = 3600.0
# Kept as objects: the charts' window (render/history DEFAULT_WINDOW_S). Frames are
# packed only once older than the newest minus RECENT_S, so window(RECENT_S) never
# unpacks; the objects held span RECENT_S to RECENT_S + one block.
RECENT_S = 300.0
BLOCK = 60  # frames packed together
CACHED_BLOCKS = 2
ZLIB_LEVEL = 6


def capacity_for(interval_s: float, span_s: float = DEFAULT_SPAN_S) -> int:
    return max(1, math.ceil(span_s / interval_s))


# -- packing ----------------------------------------------------------------------------


def _reducer(cls: type) -> Callable[[Any], tuple[type, tuple[Any, ...]]] | None:
    """``(cls, field values)``: rebuilt by calling ``cls(*values)``.

    The dataclasses' own pickling (slots=True) calls ``fields()`` per object
    on the way out and ``object.__setattr__`` per field on the way in: twice
    the time of this. A class with a field that is not an ``__init__``
    argument keeps the default.
    """
    fs = fields(cls)
    if not all(f.init for f in fs):
        return None
    get = operator.attrgetter(*(f.name for f in fs))
    if len(fs) == 1:
        return lambda obj: (cls, (get(obj),))
    return lambda obj: (cls, get(obj))


_REDUCERS = {
    cls: r
    for cls in (
        Frame,
        CpuTable,
        NodeSample,
        SystemSample,
        ProcessSample,
        SamplerCost,
        WorkloadSample,
        Histogram,
    )
    if (r := _reducer(cls)) is not None
}


class _Chunks:
    """A pickler's file: the pieces it writes, joined once."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.write = self.parts.append


def pack(frames: list[Frame]) -> bytes:
    """Frames as one blob: each object shared between them stored once, compressed."""
    out = _Chunks()
    p = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)
    p.dispatch_table = _REDUCERS  # type: ignore[assignment]
    p.dump(frames)
    return zlib.compress(b"".join(out.parts), ZLIB_LEVEL)


def unpack(blob: bytes) -> list[Frame]:
    frames: list[Frame] = pickle.loads(zlib.decompress(blob))
    return frames


class _Block:
    """Packed frames, with their clocks and sequence numbers to search without unpacking."""

    __slots__ = ("blob", "monos", "seqs")

    def __init__(self, frames: list[Frame]) -> None:
        self.blob = pack(frames)
        self.monos = array("d", (f.mono for f in frames))
        self.seqs = array("q", (f.seq for f in frames))

    def __len__(self) -> int:
        return len(self.monos)


Stop = Callable[[float, int], bool]  # (mono, seq) -> whether to stop walking back here


class RingBuffer:
    """The sampling side appends; the UI and detectors read copies, never waiting on packing."""

    def __init__(self, capacity: int, recent_s: float = RECENT_S, block: int = BLOCK) -> None:
        if capacity < 1:
            raise ValueError("ring capacity must be at least 1")
        if block < 1:
            raise ValueError("block must be at least 1")
        self._capacity = capacity
        self.recent_s = recent_s
        self.block = block
        self._recent: deque[Frame] = deque()
        self._blocks: deque[_Block] = deque()  # oldest first, all older than _recent
        self._skip = 0  # frames of _blocks[0] already evicted
        self._len = 0
        self._lock = threading.Lock()
        self._packing = False  # True while a block is packed, or for good after a failure
        self.pack_error: str | None = None
        self._cache: OrderedDict[int, tuple[_Block, list[Frame]]] = OrderedDict()

    @property
    def capacity(self) -> int:
        return self._capacity

    def append(self, frame: Frame) -> None:
        with self._lock:
            self._recent.append(frame)
            self._len += 1
            while self._len > self._capacity:
                self._evict_oldest()
            chunk = self._due() if not self._packing else None
            if chunk is not None:
                self._packing = True
        if chunk is not None:
            self._pack(chunk)

    def _evict_oldest(self) -> None:
        self._len -= 1
        if not self._blocks:
            self._recent.popleft()
            return
        self._skip += 1
        if self._skip == len(self._blocks[0]):
            gone = self._blocks.popleft()
            self._cache.pop(id(gone), None)
            self._skip = 0

    def _due(self) -> list[Frame] | None:
        """The oldest ``block`` frames, once all of them are older than the recent span.

        The newest frame is never packed, so ``latest()`` is always an object.
        """
        recent, n = self._recent, self.block
        if len(recent) <= n or recent[n - 1].mono >= recent[-1].mono - self.recent_s:
            return None
        return [recent[i] for i in range(n)]

    def _pack(self, chunk: list[Frame]) -> None:
        try:
            packed = _Block(chunk)  # the slow part, outside the lock
        except Exception as exc:  # say, a frame field pickle refuses: keep objects, never fail
            with self._lock:
                self.pack_error = f"{type(exc).__name__}: {exc}"  # packing stays off
            return
        with self._lock:
            self._packing = False
            recent = self._recent
            # clear() (or another appender's eviction) may have run meanwhile
            if len(recent) > len(chunk) and all(recent[i] is f for i, f in enumerate(chunk)):
                for _ in chunk:
                    recent.popleft()
                self._blocks.append(packed)

    # -- reading ------------------------------------------------------------------------

    def _unpacked(self, b: _Block) -> list[Frame]:
        key = id(b)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit[0] is b:
                self._cache.move_to_end(key)
                return hit[1]
        frames = unpack(b.blob)
        with self._lock:
            self._cache[key] = (b, frames)
            while len(self._cache) > CACHED_BLOCKS:
                self._cache.popitem(last=False)
        return frames

    def _take(self, stop_for: Callable[[Frame], Stop] | None) -> list[Frame]:
        """Walking back from the newest frame, those before the first that ``stop`` accepts.

        ``stop_for(newest)`` makes ``stop``; None: every frame. Oldest first.
        """
        spans: list[tuple[_Block, int, int]] = []  # (block, lo, hi), newest first
        newer: list[Frame] = []
        with self._lock:
            if not self._recent:
                return []
            stop = None if stop_for is None else stop_for(self._recent[-1])
            for f in reversed(self._recent):
                if stop is not None and stop(f.mono, f.seq):
                    break
                newer.append(f)
            else:
                last = len(self._blocks) - 1
                for k in range(last, -1, -1):
                    b = self._blocks[k]
                    first = self._skip if k == 0 else 0
                    lo = first
                    if stop is not None:
                        monos, seqs = b.monos, b.seqs
                        for i in range(len(b) - 1, first - 1, -1):
                            if stop(monos[i], seqs[i]):
                                lo = i + 1
                                break
                    if lo < len(b):
                        spans.append((b, lo, len(b)))
                    if lo > first:
                        break
        newer.reverse()
        out: list[Frame] = []
        for b, lo, hi in reversed(spans):
            out.extend(self._unpacked(b)[lo:hi])
        out.extend(newer)
        return out

    def latest(self) -> Frame | None:
        with self._lock:
            return self._recent[-1] if self._recent else None

    def frames(self) -> list[Frame]:
        """Every frame held, oldest first."""
        return self._take(None)

    def window(self, seconds: float) -> list[Frame]:
        """Frames of the last ``seconds`` (by the sampler's monotonic clock), oldest first."""

        def stop_for(newest: Frame) -> Stop:
            since = newest.mono - seconds
            return lambda mono, _seq: mono < since

        return self._take(stop_for)

    def after(self, seq: int) -> list[Frame]:
        """Frames newer than ``seq``, oldest first: what a consumer that skipped some missed."""
        return self._take(lambda _newest: lambda _mono, s: s <= seq)

    def clear(self) -> None:
        with self._lock:
            self._recent.clear()
            self._blocks.clear()
            self._cache.clear()
            self._skip = 0
            self._len = 0

    def packed(self) -> tuple[int, int]:
        """Frames stored packed and their blobs' bytes (the oldest block counted whole)."""
        with self._lock:
            return sum(len(b) for b in self._blocks), sum(len(b.blob) for b in self._blocks)

    def __len__(self) -> int:
        return self._len
