"""Workload sources read on their own threads, so a slow endpoint never delays a tick.

Each source (a Prometheus endpoint, a k6 NDJSON file, a locust CSV prefix) has
a ``Poller`` thread that reads it once per interval with its own timeout and
turns the reading into a reset-corrected ``WorkloadSample`` (``accum.py``).
The Monitor asks ``WorkloadHub.latest(now)`` on each frame: that only copies
the newest samples, marking a source stale when its newest good read is
older than its timeout allows. A source that starts failing says so once (a
warning the Monitor turns into an event), and once again when it recovers.

A metrics URL on this machine also names the server's process: the one
listening on the URL's port (``linux/netsock.py``), looked up on the
poller's thread at start and again when that process is gone.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from numaview.linux.fsroot import FsRoot
from numaview.linux.netsock import listening_pid, local_host
from numaview.model.workload import Reading, WorkloadSample
from numaview.workload.accum import Accumulator
from numaview.workload.expo import ExpositionError, keep_lines, parse
from numaview.workload.followers import FollowError, K6Follower, LocustFollower
from numaview.workload.profiles import CustomMetrics, recognise, wanted_prefixes

MAX_BODY = 8 * 1024 * 1024  # a metrics page is KBs; more is not an exposition
PID_RECHECK_S = 10.0
KINDS = ("metrics", "k6", "locust")


class SourceError(Exception):
    """A source that cannot be read this time, said in one line."""


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """What the user named: ``--metrics URL``, ``--k6 FILE``, ``--locust PREFIX``."""

    kind: str  # one of KINDS
    target: str
    custom: CustomMetrics | None = None
    timeout_s: float = 2.0

    @property
    def port(self) -> int | None:
        if self.kind != "metrics":
            return None
        url = urllib.parse.urlsplit(self.target)
        try:
            return url.port or (443 if url.scheme == "https" else 80)
        except ValueError:
            return None

    @property
    def host(self) -> str | None:
        return urllib.parse.urlsplit(self.target).hostname if self.kind == "metrics" else None


def check_spec(spec: SourceSpec) -> str | None:
    """Why a source cannot work at all (a bad URL), or None: for the CLI's one-line error."""
    if spec.kind not in KINDS:
        return f"unknown workload source kind {spec.kind!r}"
    if spec.kind == "metrics":
        url = urllib.parse.urlsplit(spec.target)
        if url.scheme not in ("http", "https") or not url.hostname:
            return f"--metrics {spec.target}: not an http:// or https:// URL"
        if spec.port is None:
            return f"--metrics {spec.target}: bad port"
    if spec.timeout_s <= 0:
        return "a workload source's timeout must be above 0 s"
    return None


def fetch(url: str, timeout_s: float, limit: int = MAX_BODY) -> str:
    """The endpoint's body within ``timeout_s`` in all (connect and every read), or SourceError."""
    # http.client, email and ssl (~2 MB) only for a --metrics source, at its first read
    import http.client
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout_s
    req = urllib.request.Request(
        url,
        headers={
            "Accept": "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
            "User-Agent": "numaview",
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            chunks: list[bytes] = []
            size = 0
            while True:
                if time.monotonic() > deadline:
                    raise SourceError(f"no complete answer within {timeout_s:g} s")
                chunk = resp.read(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise SourceError(f"answer larger than {limit // (1024 * 1024)} MB")
                chunks.append(chunk)
    except urllib.error.HTTPError as exc:
        raise SourceError(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        text = reason.strerror if isinstance(reason, OSError) and reason.strerror else reason
        raise SourceError(f"cannot connect: {text}") from None
    except TimeoutError:
        raise SourceError(f"no answer within {timeout_s:g} s") from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise SourceError(f"{type(exc).__name__}: {exc}") from None
    return b"".join(chunks).decode("utf-8", errors="replace")


class Poller:
    """One source on its own thread: read every interval, keep the newest sample."""

    def __init__(
        self,
        spec: SourceSpec,
        root: FsRoot,
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
        window_s: float = 5.0,
    ) -> None:
        self.spec = spec
        self.root = root
        self.interval_s = interval_s
        self.clock = clock
        self.accum = Accumulator(spec.target, window_s=window_s)
        self._follower: K6Follower | LocustFollower | None = None
        if spec.kind == "k6":
            self._follower = K6Follower(spec.target)
        elif spec.kind == "locust":
            self._follower = LocustFollower(spec.target)
        self._local = spec.kind == "metrics" and local_host(spec.host or "")
        self._prefixes = wanted_prefixes(spec.custom)
        self._pid: int | None = None
        self._pid_checked: float | None = None
        self._lock = threading.Lock()
        self._sample = WorkloadSample(spec.target, "", None)
        self._failing: str | None = None
        self._warnings: list[tuple[str, str]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the thread ------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name=f"numaview-workload {self.spec.target}", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def set_interval(self, seconds: float) -> None:
        self.interval_s = seconds

    def _run(self) -> None:
        next_at = self.clock()
        while not self._stop.is_set():
            self.poll()
            next_at += self.interval_s
            now = self.clock()
            if next_at < now:  # a slow read: skip the reads it missed, do not bunch up
                next_at = now + self.interval_s
            self._stop.wait(max(0.0, next_at - now))

    # -- one read ----------------------------------------------------------------------

    def read(self) -> Reading:
        """One reading of the source, or SourceError with the reason."""
        if self._follower is not None:
            try:
                return self._follower.read()
            except FollowError as exc:
                raise SourceError(str(exc)) from None
        text = fetch(self.spec.target, self.spec.timeout_s)
        try:
            wanted = keep_lines(text, self._prefixes)
            return recognise(parse(wanted or text), self.spec.custom)
        except ExpositionError as exc:
            raise SourceError(str(exc)) from None

    def poll(self) -> WorkloadSample:
        """Read once now (the thread calls this; tests and ``pin --measure`` may too)."""
        try:
            reading = self.read()
        except SourceError as exc:
            sample = self.accum.failed(str(exc), self.clock())
            self._say_failing(str(exc))
        except Exception as exc:  # never let a source kill its thread: say it
            sample = self.accum.failed(f"{type(exc).__name__}: {exc}", self.clock())
            self._say_failing(f"{type(exc).__name__}: {exc}")
        else:
            sample = self.accum.add(reading, self.clock(), self._server_pid())
            self._say_working(reading.server)
        with self._lock:
            self._sample = sample
        return sample

    def _server_pid(self) -> int | None:
        port = self.spec.port
        if not self._local or port is None:
            return None
        now = self.clock()
        gone = self._pid is not None and not self.root.exists(f"proc/{self._pid}")
        due = self._pid is None and (
            self._pid_checked is None or now - self._pid_checked >= PID_RECHECK_S
        )
        if gone or due:
            self._pid_checked = now
            hint = () if self._pid is None else (self._pid,)
            self._pid = listening_pid(self.root, port, hint)
        return self._pid

    def _say_failing(self, why: str) -> None:
        with self._lock:
            if self._failing is None:
                self._warnings.append(("warning", f"{self.spec.target}: {why}"))
            self._failing = why

    def _say_working(self, server: str) -> None:
        with self._lock:
            if self._failing is not None:
                self._warnings.append(
                    ("information", f"{self.spec.target}: {server} answers again")
                )
            self._failing = None

    # -- what the Monitor takes ----------------------------------------------------------

    def stale_after_s(self) -> float:
        return max(3 * self.interval_s, self.interval_s + self.spec.timeout_s + 0.5)

    def latest(self, now: float) -> WorkloadSample:
        with self._lock:
            s = self._sample
        stale = s.mono is None or now - s.mono > self.stale_after_s()
        return s if stale == s.stale else replace(s, stale=stale)

    def warnings(self) -> list[tuple[str, str]]:
        """(severity, text) said since the last call: a failure once, a recovery once."""
        with self._lock:
            out, self._warnings = self._warnings, []
        return out


class WorkloadHub:
    """Every source's poller; the Monitor's one way to the load test's figures."""

    def __init__(
        self,
        specs: Iterable[SourceSpec],
        root: FsRoot | None = None,
        interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        window_s: float = 5.0,
    ) -> None:
        self.root = root or FsRoot("/")
        self.pollers = [Poller(s, self.root, interval_s, clock, window_s) for s in specs]

    def __bool__(self) -> bool:
        return bool(self.pollers)

    def start(self) -> None:
        for p in self.pollers:
            p.start()

    def stop(self) -> None:
        for p in self.pollers:
            p.stop()

    def set_interval(self, seconds: float) -> None:
        for p in self.pollers:
            p.set_interval(seconds)

    def latest(self, now: float) -> tuple[WorkloadSample, ...]:
        return tuple(p.latest(now) for p in self.pollers)

    def warnings(self) -> list[tuple[str, str]]:
        return [w for p in self.pollers for w in p.warnings()]
