"""Thread pools' reads within a tick's budget of files, and their kept descriptors.

A pool of 250 threads is 250 stat files a tick (and a status for each thread
that ran); 120 such pools are 30,000 files, ~200 ms. So a tick reads at most
``SamplerOptions.thread_files`` of them (order: ``PoolReader.read``), and a
pool read tick after tick keeps its stat files open (linux/taskdir.py), within
a share of the open-file limit that all pools draw from.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter

from numaview.linux.fsroot import FsRoot
from numaview.linux.keptfiles import ProcFiles
from numaview.linux.taskdir import forget
from numaview.sampler.process_state import Interner, ProcState, SamplerOptions
from numaview.sampler.threadreader import read_threads

# A process whose threads are to be read this tick: (it, its rank, refresh their
# status, its text of /proc/PID/status, must: a first read or a reread,
# and the switch rates its threads gave last time).
Pool = tuple[ProcState, int, bool, str, bool, tuple[float | None, float | None]]


class PoolReader:
    """The thread reads of the pools a tick wants read, and their descriptors."""

    def __init__(
        self,
        fs: FsRoot,
        intern: Interner,
        num: Callable[[float | None], float | None],
        options: SamplerOptions,
    ) -> None:
        self.fs, self.intern, self.num, self.options = fs, intern, num, options
        self.tick = 0
        self.room = [ProcFiles.room()]  # descriptors all pools may still keep
        self.holders: dict[int, ProcState] = {}  # by id: pools holding kept descriptors

    def read(self, pools: list[Pool], tick: int, mono: float) -> None:
        """The thread reads of this tick's pools, within ``thread_files`` files.

        First reads and rereads always. Then the pool that waited longest, if it
        waited a whole rotation (even when it alone is over the budget: so no
        pool starves); the busiest pools, by rank, up to half the budget; the
        others that waited a rotation, the longest waiting first; then the
        busiest again with what is left. The busiest pools are read every tick
        (what the user watches is fresh) and the rest take turns; with none
        waiting, the busiest is read even when it alone is over the budget. A
        pool left out keeps its last thread table (its rates then cover the
        time since it was read) and moves up a turn.
        """
        limit = self.options.thread_files
        every = max(self.options.refresh_every, 1)
        self.tick = tick
        if limit <= 0:
            for pool in pools:
                self._read_one(pool, mono)
            return
        busiest = sorted((p for p in pools if not p[4]), key=itemgetter(1))
        waited = sorted(
            (p for p in busiest if tick - p[0].threads_tick >= every),
            key=lambda p: p[0].threads_tick,
        )
        left = [limit]
        done: set[int] = set()

        def take(group: list[Pool], cap: int) -> None:
            for pool in group:
                proc, refresh = pool[0], pool[2]
                if id(proc) in done:
                    continue
                st = proc.st
                assert st is not None
                # Last time's files, or one per thread (and a status each when refreshing).
                guess = proc.thread_files or st.num_threads * (2 if refresh else 1)
                if guess > left[0] - (limit - cap) and left[0] < limit:
                    continue  # the pools behind may be smaller
                done.add(id(proc))
                left[0] -= self._read_one(pool, mono)

        for pool in pools:
            if pool[4]:
                done.add(id(pool[0]))
                left[0] -= self._read_one(pool, mono)
        take(waited[:1], limit)  # the longest waiting: it gets the one pool over budget
        take(busiest, limit // 2)
        take(waited, limit)
        take(busiest, limit)
        # Pools that wait: their threads' switch rates as last read, not the main thread's.
        for proc, *_, before in pools:
            if id(proc) not in done and proc.threads_mono is not None:
                proc.ctx_rates = before

    def _read_one(self, pool: Pool, mono: float) -> int:
        """Read one pool's threads; the files that took."""
        proc, _rank, refresh, text, _must, _before = pool
        st = proc.st
        assert st is not None
        steady = proc.threads_tick == self.tick - 1  # read last tick too: keep descriptors
        room = self.room if steady else None
        rates = read_threads(self.fs, self.intern, self.num, proc, st, mono, refresh, text, room)
        if proc.thread_fds:
            self.holders[id(proc)] = proc
        proc.threads_tick = self.tick
        if rates is not None:
            proc.ctx_rates = rates  # all threads', not the main thread's
        return proc.thread_files

    def settle(self, tick: int) -> None:
        """After a tick: pools not read in it give their descriptors back."""
        for holder, held in [kv for kv in self.holders.items() if kv[1].threads_tick != tick]:
            forget(held.thread_fds, self.room)
            del self.holders[holder]

    def drop(self, proc: ProcState) -> None:
        """A process that is gone: its descriptors are closed."""
        forget(proc.thread_fds, self.room)
        self.holders.pop(id(proc), None)
